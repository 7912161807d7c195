package oops

import "testing"

// TestFunctionNames covers the name normalisers: StripCloneSuffixes with
// every kind of clone suffix, alone, with a counter and stacked, and the
// names that must stay as they are; canonicalFunc with each kind of
// syscall prefix.
func TestFunctionNames(t *testing.T) {
	for _, fn := range []struct {
		name  string
		f     func(string) string
		cases []struct{ in, want string }
	}{
		{"StripCloneSuffixes", StripCloneSuffixes, []struct{ in, want string }{
			{"skb_put", "skb_put"},
			{"tcp_write_xmit.isra.0", "tcp_write_xmit"},
			{"__skb_checksum.isra.3", "__skb_checksum"},
			{"foo.constprop.0", "foo"},
			{"foo.part.11", "foo"},
			{"__list_del_entry_valid.cold", "__list_del_entry_valid"},
			{"foo.cold.12", "foo"},
			{"bar.llvm.1234567890123", "bar"},
			{"baz.lto_priv.0", "baz"},
			{"qux.localalias", "qux"},
			{"quux.__uniq.123456789", "quux"},
			{"__key.0", "__key"},
			{"regoff.33580", "regoff"},
			{"foo.constprop.3.isra.1", "foo"},
			{"foo.isra.0.constprop.0", "foo"},
			{"foo.isra.0.part.0", "foo"},
			{"foo.part.0.cold.12", "foo"},
			{"foo.constprop.0.cold", "foo"},
			{"isra_handler", "isra_handler"},
			{"cold", "cold"},
			{".cold", ".cold"},
			{".0", ".0"},
			{"foo.", "foo."},
			{"", ""},
		}},
		{"canonicalFunc", canonicalFunc, []struct{ in, want string }{
			{"tcp_sendmsg", "tcp_sendmsg"},
			{"SyS_read", "read"},
			{"compat_SyS_ioctl", "ioctl"},
			{"__x64_sys_read", "sys_read"},
			{"__ia32_sys_read", "sys_read"},
			{"__arm64_sys_read.cold", "sys_read"},
			{"__x64_compat_sys_ioctl", "__x64_compat_sys_ioctl"},
			{"sys_read", "read"},
			{"__se_sys_read", "read"},
			{"__do_sys_read.isra.0", "read"},
			{"__do_compat_sys_ioctl", "ioctl"},
			{"__se_compat_sys_ioctl", "ioctl"},
			{"ksys_read", "read"},
			{"sys_", "sys_"},
			{"__x64_sys_", "__x64_sys_"},
			{"SyS_", "SyS_"},
		}},
	} {
		for _, c := range fn.cases {
			if got := fn.f(c.in); got != c.want {
				t.Errorf("%s(%q) = %q, want %q", fn.name, c.in, got, c.want)
			}
		}
	}
}
