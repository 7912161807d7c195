package ktypes_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/ktypes"
	"github.com/ktriage/ktriage/triage"
)

// The structs the triage and the crash(8)-style commands read: every
// member path of each must lie where the kernel's own BTF says.
var layoutStructs = []string{
	"sk_buff", "skb_shared_info", "skb_frag_struct", "bio_vec", "sk_buff_head",
	"sock", "sock_common", "socket", "inet_sock", "inet_connection_sock", "tcp_sock", "udp_sock", "unix_sock",
	"net_device", "netdev_queue", "Qdisc", "in_device", "net", "dst_entry", "rtable", "neighbour",
	"file", "files_struct", "fdtable", "inode", "dentry", "super_block", "path",
	"task_struct", "thread_struct", "pt_regs", "mm_struct", "vm_area_struct", "cred", "nsproxy",
	"pid", "upid", "pid_namespace", "rq", "cfs_rq", "sched_entity",
	"module", "kobject", "device", "list_head", "hlist_node", "rb_node",
	"page", "folio", "kmem_cache", "slab", "kmem_cache_cpu", "kmem_cache_node",
	"uts_namespace", "new_utsname", "timer_list", "work_struct", "percpu_ref",
}

// loadDebug loads the DWARF of the kernel of a vmcore set once for all
// tests of the package (about a second), and gives the dump its BTF is
// read from: the /proc/vmcore ELF, unfiltered.
func loadDebug(t *testing.T, set string) (*ktypes.DWARF, vmcores.Entry) {
	t.Helper()
	s := vmcores.Require(t, set)
	e := s.Lookup(t, "elf-proc-vmcore")
	path := refdebug.Vmlinux(t, s, e)
	loadedMu.Lock()
	defer loadedMu.Unlock()
	l, ok := loaded[path]
	if !ok {
		start := time.Now()
		l.dw, l.err = ktypes.LoadDWARF(path)
		l.took = time.Since(start)
		loaded[path] = l
		if l.err == nil {
			types, vars := l.dw.Names()
			t.Logf("%s: loaded in %v, %d type names, %d variables", l.dw.Source(), l.took, types, vars)
		}
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.dw, e
}

type loadedDWARF struct {
	dw   *ktypes.DWARF
	err  error
	took time.Duration
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]loadedDWARF{}
)

// dumpBTF reads the kernel's BTF out of the dump's memory, between
// __start_BTF and __stop_BTF.
func dumpBTF(t *testing.T, path string) *ktypes.BTF {
	t.Helper()
	b, err := ktypes.LoadBTF(dumpBTFRaw(t, path), "BTF of "+filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dumpBTFRaw(t *testing.T, path string) []byte {
	t.Helper()
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	syms, err := k.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	start, ok1 := syms.Lookup("__start_BTF")
	stop, ok2 := syms.Lookup("__stop_BTF")
	if !ok1 || !ok2 || stop <= start || stop-start > 64<<20 {
		t.Fatalf("%s: __start_BTF %#x (%v), __stop_BTF %#x (%v)", path, start, ok1, stop, ok2)
	}
	raw := make([]byte, stop-start)
	if n, err := k.ReadVirt(raw, start); err != nil || n != len(raw) {
		t.Fatalf("%s: BTF at %#x: read %d of %d: %v", path, start, n, len(raw), err)
	}
	return raw
}

// memberPaths lists every member path of a struct or union as C names
// them: members of anonymous structs and unions at their parent's level,
// nested named structs and unions walked into ("sk_common.skc_daddr"), and
// the first element of arrays of structs ("frags[0].bv_len"). Pointers are
// not followed.
func memberPaths(t btf.Type, prefix string, depth int, out *[]string) {
	if depth > 16 {
		return
	}
	var members []btf.Member
	switch c := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		members = c.Members
	case *btf.Union:
		members = c.Members
	default:
		return
	}
	for _, m := range members {
		if m.Name == "" {
			memberPaths(m.Type, prefix, depth+1, out)
			continue
		}
		p := prefix + m.Name
		*out = append(*out, p)
		inner := btf.UnderlyingType(m.Type)
		if a, ok := inner.(*btf.Array); ok && a.Nelems > 0 {
			switch btf.UnderlyingType(a.Type).(type) {
			case *btf.Struct, *btf.Union:
				*out = append(*out, p+"[0]")
				memberPaths(a.Type, p+"[0].", depth+1, out)
			}
			continue
		}
		memberPaths(m.Type, p+".", depth+1, out)
	}
}

// TestDWARFAgainstBTF holds the DWARF of the debug vmlinux to the BTF the
// same kernel carries in the dump: for every member path of the structs the
// triage reads, the offset, bitfield width and size must agree, and the
// type names too.
func TestDWARFAgainstBTF(t *testing.T) {
	for _, set := range vmcores.Sets {
		t.Run(set, func(t *testing.T) { dwarfAgainstBTF(t, set) })
	}
}

func dwarfAgainstBTF(t *testing.T, set string) {
	dw, e := loadDebug(t, set)
	raw := dumpBTFRaw(t, e.Path)
	bt, err := ktypes.LoadBTF(raw, "BTF of "+e.Path)
	if err != nil {
		t.Fatal(err)
	}

	var paths, agree, names, flat, structs int
	for _, name := range layoutStructs {
		bs, err := bt.Type("struct " + name)
		if err != nil {
			// A struct this kernel does not have (skb_frag_struct
			// was renamed) must be missing from both.
			if _, derr := dw.Type("struct " + name); derr == nil || !errors.Is(err, ktypes.ErrNotFound) {
				t.Errorf("struct %s: BTF: %v; DWARF: %v", name, err, derr)
			}
			continue
		}
		ds, err := dw.Type("struct " + name)
		if err != nil {
			t.Errorf("struct %s: in BTF, DWARF: %v", name, err)
			continue
		}
		structs++
		bsz, _ := btf.Sizeof(bs)
		dsz, _ := btf.Sizeof(ds)
		if bsz != dsz {
			t.Errorf("struct %s: size %d in BTF, %d in DWARF", name, bsz, dsz)
		}
		p, a, n, f, diffs := comparePaths(bs, ds)
		if p == 0 {
			t.Errorf("struct %s: no members in BTF", name)
		}
		for _, d := range diffs {
			t.Errorf("struct %s: %s", name, d)
		}
		paths, agree, names, flat = paths+p, agree+a, names+n, flat+f
	}
	t.Logf("agreement: %d structs, %d/%d member paths agree on offset, bitfield width and size; %d/%d on type name (%d multi-dimensional arrays BTF flattens)",
		structs, agree, paths, names, paths-flat, flat)
	if structs < 30 {
		t.Errorf("only %d structs compared", structs)
	}
	if agree != paths || names != paths-flat {
		t.Errorf("%d of %d member paths disagree, %d type names", paths-agree, paths, paths-flat-names)
	}

	// The variables kernel BTF records (the per-cpu ones) must have the
	// same type in the DWARF.
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var nvars, vagree int
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		v, ok := typ.(*btf.Var)
		if !ok {
			continue
		}
		nvars++
		d, err := dw.Var(v.Name)
		if err != nil {
			t.Errorf("per-cpu %s: %v", v.Name, err)
			continue
		}
		bs, berr := btf.Sizeof(v.Type)
		ds, derr := btf.Sizeof(d)
		if bn, dn := ktypes.TypeName(v.Type), ktypes.TypeName(d); bn != dn || bs != ds || berr != nil || derr != nil {
			t.Errorf("per-cpu %s: BTF %s (%d bytes, %v), DWARF %s (%d bytes, %v)", v.Name, bn, bs, berr, dn, ds, derr)
			continue
		}
		vagree++
	}
	t.Logf("agreement: %d/%d variables of the BTF have the same type and size in the DWARF", vagree, nvars)
	if nvars < 100 {
		t.Errorf("only %d variables in BTF", nvars)
	}
}

// comparePaths compares every member path of bs (BTF) with the same path
// in ds (DWARF): offset, bitfield width, size and type name. A
// multi-dimensional array is one dimension in BTF (pahole multiplies the
// dimensions: folios[4][2][5] is folios[40]) and nested in DWARF, as C
// declares it: such a member is compared by offset and size only and
// counted in flat, and the paths inside it are left out.
func comparePaths(bs, ds btf.Type) (paths, agree, names, flat int, diffs []string) {
	var ps []string
	memberPaths(bs, "", 0, &ps)
	var skip string
	for _, p := range ps {
		if skip != "" && strings.HasPrefix(p, skip) {
			continue
		}
		paths++
		bf, berr := ktypes.Member(bs, p)
		df, derr := ktypes.Member(ds, p)
		if berr != nil || derr != nil {
			diffs = append(diffs, fmt.Sprintf("%s: BTF %v, DWARF %v", p, berr, derr))
			continue
		}
		bsz, berr := btf.Sizeof(bf.Type)
		dsz, derr := btf.Sizeof(df.Type)
		if bf.Offset != df.Offset || bf.BitfieldSize != df.BitfieldSize || bsz != dsz || (berr == nil) != (derr == nil) {
			diffs = append(diffs, fmt.Sprintf("%s: BTF bit %d width %d size %d (%v), DWARF bit %d width %d size %d (%v)",
				p, bf.Offset, bf.BitfieldSize, bsz, berr, df.Offset, df.BitfieldSize, dsz, derr))
			continue
		}
		agree++
		if da, ok := btf.UnderlyingType(df.Type).(*btf.Array); ok {
			if _, nested := btf.UnderlyingType(da.Type).(*btf.Array); nested {
				flat++
				skip = p + "["
				continue
			}
		}
		if ktypes.TypeName(bf.Type) == ktypes.TypeName(df.Type) {
			names++
		}
	}
	return paths, agree, names, flat, diffs
}

// TestDWARFAllStructs compares every struct and union the kernel's BTF
// names once (a name BTF holds twice is two unrelated types of two units,
// and DWARF's index keeps one of them) with the DWARF's of that name.
func TestDWARFAllStructs(t *testing.T) {
	if testing.Short() {
		t.Skip("compares ~10000 types")
	}
	dw, e := loadDebug(t, vmcores.Set61)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(dumpBTFRaw(t, e.Path)))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		union bool
		name  string
	}
	seen := map[key][]btf.Type{}
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		switch c := typ.(type) {
		case *btf.Struct:
			if c.Name != "" {
				seen[key{false, c.Name}] = append(seen[key{false, c.Name}], c)
			}
		case *btf.Union:
			if c.Name != "" {
				seen[key{true, c.Name}] = append(seen[key{true, c.Name}], c)
			}
		}
	}
	var types, typesAgree, dup, paths, agree, names, flat int
	var bad, local []string
	for k, ts := range seen {
		if len(ts) > 1 {
			dup++
			continue
		}
		kind := "struct "
		if k.union {
			kind = "union "
		}
		ds, err := dw.Type(kind + k.name)
		if errors.Is(err, ktypes.ErrNotFound) {
			// Types a function body defines are not indexed (reading
			// every function's DIEs would cost the index most of its
			// speed): in 6.1, 8 helpers' local structs (bts_record, sg,
			// h_misc …), none a crash dump reader needs.
			local = append(local, k.name)
			continue
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s%s: %v", kind, k.name, err))
			types++
			continue
		}
		types++
		bsz, _ := btf.Sizeof(ts[0])
		dsz, _ := btf.Sizeof(ds)
		p, a, n, f, diffs := comparePaths(ts[0], ds)
		paths, agree, names, flat = paths+p, agree+a, names+n, flat+f
		if bsz == dsz && len(diffs) == 0 {
			typesAgree++
		} else {
			bad = append(bad, fmt.Sprintf("%s%s: size %d/%d, %v", kind, k.name, bsz, dsz, diffs[:min(len(diffs), 3)]))
		}
	}
	slices.Sort(bad)
	for _, b := range bad[:min(len(bad), 20)] {
		t.Log(b)
	}
	slices.Sort(local)
	t.Logf("agreement: %d/%d structs and unions agree in size and every member path (%d names held twice in BTF left out, %d defined in function bodies not indexed: %v); %d/%d member paths agree, %d/%d on type name (%d multi-dimensional arrays BTF flattens)",
		typesAgree, types, dup, len(local), local, agree, paths, names, paths-flat, flat)
	if types < 5000 || typesAgree != types || agree != paths || names != paths-flat {
		t.Errorf("%d of %d types disagree", types-typesAgree, types)
	}
	if len(local)*200 > types {
		t.Errorf("%d types missing from the DWARF index", len(local))
	}
}

// TestDWARFVars types the globals and per-cpu variables the triage reads
// from the DWARF, and holds the per-cpu ones to the BTF's own variable
// records.
func TestDWARFVars(t *testing.T) {
	dw, e := loadDebug(t, vmcores.Set61)
	bt := dumpBTF(t, e.Path)
	for _, c := range []struct{ name, want string }{
		{"init_task", "struct task_struct"},
		{"modules", "struct list_head"},
		{"init_net", "struct net"},
		{"init_uts_ns", "struct uts_namespace"},
		{"jiffies", "volatile long unsigned int"},
		{"runqueues", "struct rq"},                  // per-cpu
		{"current_task", "struct task_struct *"},    // per-cpu
		{"__per_cpu_offset", "long unsigned int ["}, // [NR_CPUS], whatever NR_CPUS is
		{"saved_command_line", "char *"},
		{"linux_banner", "const const char ["}, // GCC qualifies the array
	} {
		got, err := dw.Var(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if n := ktypes.TypeName(got); !strings.HasPrefix(n, c.want) {
			t.Errorf("%s: %s, want %s", c.name, n, c.want)
		}
	}
	// Declared without a length, defined with one: the definition's type.
	if v, err := dw.Var("linux_banner"); err == nil {
		if a, ok := btf.UnderlyingType(v).(*btf.Array); !ok || a.Nelems < 16 {
			t.Errorf("linux_banner: %s, want the defined length", ktypes.TypeName(v))
		}
	}
	// A multi-dimensional array: nested in DWARF as C declares it
	// (list_head folios[MAX_NR_GENS][ANON_AND_FILE][MAX_NR_ZONES]), one
	// dimension in BTF; element [1][1][2] is element 17 of the flat one.
	if dl, err := dw.Type("struct lru_gen_struct"); err != nil {
		t.Errorf("lru_gen_struct: %v", err)
	} else if bl, err := bt.Type("struct lru_gen_struct"); err != nil {
		t.Errorf("lru_gen_struct in BTF: %v", err)
	} else {
		df, derr := ktypes.Member(dl, "folios")
		de, eerr := ktypes.Member(dl, "folios[1][1][2].prev")
		be, berr := ktypes.Member(bl, "folios[17].prev")
		if derr != nil || eerr != nil || berr != nil {
			t.Errorf("folios: %v %v %v", derr, eerr, berr)
		} else if got := ktypes.TypeName(df.Type); got != "struct list_head [4][2][5]" || de.Offset != be.Offset || de.Offset != df.Offset+(17*16+8)*8 {
			t.Errorf("folios: DWARF %s, [1][1][2].prev at bit %d; BTF folios[17].prev at bit %d", got, de.Offset, be.Offset)
		}
	}
	// The per-cpu variables are the ones kernel BTF records itself.
	for _, name := range []string{"runqueues", "current_task", "hardirq_stack_ptr", "cpu_number"} {
		b, berr := bt.Var(name)
		d, derr := dw.Var(name)
		if berr != nil || derr != nil {
			t.Errorf("%s: BTF %v, DWARF %v", name, berr, derr)
			continue
		}
		bs, _ := btf.Sizeof(b)
		ds, _ := btf.Sizeof(d)
		if ktypes.TypeName(b) != ktypes.TypeName(d) || bs != ds {
			t.Errorf("%s: BTF %s (%d bytes), DWARF %s (%d bytes)", name, ktypes.TypeName(b), bs, ktypes.TypeName(d), ds)
		}
	}
	if _, err := dw.Var("no_such_variable_here"); !errors.Is(err, ktypes.ErrNotFound) {
		t.Errorf("unknown variable: %v", err)
	}
	if _, err := dw.Type("struct no_such_struct_here"); !errors.Is(err, ktypes.ErrNotFound) {
		t.Errorf("unknown struct: %v", err)
	}
	// Kinds are told apart: "page" is the struct, a bare typedef name
	// resolves, a base type too.
	for name, want := range map[string]string{
		"page": "struct page", "atomic_t": "atomic_t", "unsigned int": "unsigned int",
		"enum pid_type": "enum pid_type", "union bpf_attr": "union bpf_attr", "u64": "u64",
	} {
		got, err := dw.Type(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if ktypes.TypeName(got) != want {
			t.Errorf("%s: %s, want %s", name, ktypes.TypeName(got), want)
		}
	}
}

// TestLoadDWARFRefusesGarbage: a file that is not an ELF, or an ELF
// without DWARF, gives an error naming it.
func TestLoadDWARFRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	elfNoDWARF := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 57)...)
	elfNoDWARF[16] = 2    // ET_EXEC
	elfNoDWARF[18] = 0x3e // EM_X86_64
	elfNoDWARF[20] = 1    // EV_CURRENT
	elfNoDWARF[52] = 64   // e_ehsize
	for name, data := range map[string][]byte{
		"empty":         nil,
		"text":          []byte("not an ELF file at all\n"),
		"short-elf":     []byte("\x7fELF\x02\x01"),
		"elf-no-dwarf":  elfNoDWARF,
		"elf-bad-shoff": append(append([]byte(nil), elfNoDWARF[:40]...), append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, elfNoDWARF[48:]...)...),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := ktypes.LoadDWARF(p)
		if err == nil {
			d.Close()
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
	if _, err := ktypes.LoadDWARF(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestDWARFGoBinary reads the DWARF of a program the Go toolchain builds
// here, so the conversion is tested where no vmlinux is at hand: Go's
// linker writes compressed DWARF sections, with structs, pointers, arrays,
// typedefs and function types.
func TestDWARFGoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	dir := t.TempDir()
	src := "package main\n\ntype point struct {\n\tX, Y int32\n\tName [3]string\n\tNext *point\n\tF func(int) error\n}\n\nvar Global point\n\nfunc main() { Global.X = 1; println(Global.X) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n\ngo 1.21\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "p")
	cmd := exec.Command(goBin, "build", "-o", exe, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("go build: %v\n%s", err, out)
	}
	d, err := ktypes.LoadDWARF(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.Contains(d.Source(), exe) {
		t.Errorf("Source %q does not name %s", d.Source(), exe)
	}
	typ, err := d.Type("struct main.point")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := typ.(*btf.Struct); !ok || s.Size != 4+4+3*16+8+8 {
		t.Fatalf("main.point: %v", typ)
	}
	for _, c := range []struct {
		path string
		bit  uint64
		size uint32
		name string
	}{
		{"X", 0, 4, "int32"},
		{"Y", 32, 4, "int32"},
		{"Name", 64, 48, "struct string [3]"},
		{"Name[2].len", 64 + 2*128 + 64, 8, "int"},
		{"Next", 64 + 3*128, 8, "main.point *"}, // Go names types by typedefs
	} {
		f, err := ktypes.Member(typ, c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		size, _ := btf.Sizeof(f.Type)
		if f.Offset != c.bit || uint32(size) != c.size || ktypes.TypeName(f.Type) != c.name {
			t.Errorf("%s: bit %d size %d %s, want %d %d %s", c.path, f.Offset, size, ktypes.TypeName(f.Type), c.bit, c.size, c.name)
		}
	}
	if v, err := d.Var("main.Global"); err != nil || ktypes.TypeName(v) != "main.point" {
		t.Errorf("main.Global: %v %v", v, err)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	if _, err := d.Type("struct main.point"); err == nil {
		t.Error("Type after Close: no error")
	}
}

// TestDWARFModule reads a module's DWARF (a relocatable .ko, whose DWARF
// needs its relocations applied): crashnet.ko, which tools/make-example.sh
// builds for the generated dumps' kernel. Its sk_buff must be the
// vmlinux's, member for member.
func TestDWARFModule(t *testing.T) {
	kos, _ := filepath.Glob(filepath.Join(vmcores.CacheDir(), "..", "example", "crashnet-*", "crashnet.ko"))
	if len(kos) == 0 {
		t.Skip("no crashnet.ko beside the vmcores (tools/make-example.sh builds it)")
	}
	m, err := ktypes.LoadDWARF(kos[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	priv, err := m.Type("struct crashnet_priv")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]uint64{"tx_ring": 0, "min_frame": 64, "use_ring": 96} {
		if f, err := ktypes.Member(priv, path); err != nil || f.Offset != want {
			t.Errorf("crashnet_priv.%s: bit %d (%v), want %d", path, f.Offset, err, want)
		}
	}
	mskb, err := m.Type("struct sk_buff")
	if err != nil {
		t.Fatal(err)
	}
	dw, e := loadDebug(t, vmcores.Set61)
	if filepath.Base(filepath.Dir(kos[0])) != "crashnet-"+e.Kernel {
		t.Skipf("%s is not built for %s", kos[0], e.Kernel)
	}
	vskb, err := dw.Type("struct sk_buff")
	if err != nil {
		t.Fatal(err)
	}
	paths, agree, _, _, diffs := comparePaths(vskb, mskb)
	if paths < 100 || agree != paths {
		t.Errorf("sk_buff of crashnet.ko and vmlinux: %d/%d paths agree: %v", agree, paths, diffs[:min(len(diffs), 5)])
	}
}
