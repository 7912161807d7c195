package oops

import "strings"

// cloneSuffixes are the suffixes compilers append to a function's name when
// they emit a copy of it: GCC's interprocedural clones (.isra, .constprop,
// .part), its hot/cold split (.cold), LTO's and clang's renames (.lto_priv,
// .llvm, .__uniq, .localalias). Each may be followed by a ".N" counter, and
// they stack ("foo.isra.0.cold.12"). A bare ".N" is also stripped: GCC
// numbers local symbols that way ("__key.0", "regoff.33580"). The list is
// the one rule for every comparison of function names: titles, signatures,
// the knowledge base and the checks.
var cloneSuffixes = []string{
	".isra", ".constprop", ".part", ".cold", ".llvm", ".lto_priv", ".localalias", ".__uniq",
}

// StripCloneSuffixes returns fn without the compiler's clone suffixes
// (cloneSuffixes, each with an optional ".N" counter, repeatedly from the
// end), so that a function and its clones compare equal. A name that is
// nothing but a suffix is left alone.
func StripCloneSuffixes(fn string) string {
	if strings.IndexByte(fn, '.') < 0 {
		return fn
	}
	for {
		t := trimCounter(fn)
		for _, s := range cloneSuffixes {
			if len(t) > len(s) && strings.HasSuffix(t, s) {
				t = t[:len(t)-len(s)]
				break
			}
		}
		if t == fn {
			return fn
		}
		fn = t
	}
}

// trimCounter removes one trailing ".N" (digits) from fn, if fn has more
// before it.
func trimCounter(fn string) string {
	i := len(fn)
	for i > 0 && fn[i-1] >= '0' && fn[i-1] <= '9' {
		i--
	}
	if i == len(fn) || i < 2 || fn[i-1] != '.' {
		return fn
	}
	return fn[:i-1]
}

// syscallPrefixes reduce a syscall's entry points and wrappers to the names
// syzkaller's titles use (its stripFramePrefixes): the per-architecture
// entry stubs keep "sys_" ("__x64_sys_read" is "sys_read"); the old SyS_
// wrappers, the bare "sys_" body that architectures without entry stubs
// call, and the inner wrappers name the syscall alone ("__do_sys_read",
// "__se_sys_read" and "ksys_read" are "read"). The first prefix that
// matches, with something after it, is replaced.
var syscallPrefixes = []struct{ prefix, with string }{
	{"SyS_", ""},
	{"compat_SyS_", ""},
	{"__x64_sys_", "sys_"},
	{"__ia32_sys_", "sys_"},
	{"__x32_sys_", "sys_"},
	{"__arm64_sys_", "sys_"},
	{"__s390x_sys_", "sys_"},
	{"__s390_sys_", "sys_"},
	{"__riscv_sys_", "sys_"},
	{"__powerpc_sys_", "sys_"},
	{"sys_", ""},
	{"__se_sys_", ""},
	{"__do_sys_", ""},
	{"__do_compat_sys_", ""},
	{"__se_compat_sys_", ""},
	{"ksys_", ""},
}

// canonicalFunc turns a frame's function into the name a title uses: clone
// suffixes stripped, syscall wrappers reduced by syscallPrefixes.
func canonicalFunc(fn string) string {
	fn = StripCloneSuffixes(fn)
	for _, p := range syscallPrefixes {
		if len(fn) > len(p.prefix) && strings.HasPrefix(fn, p.prefix) {
			return p.with + fn[len(p.prefix):]
		}
	}
	return fn
}
