package kview_test

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

func openFixture(t *testing.T, name string) *kview.View {
	t.Helper()
	path := testshared.Path(t, "fixtures/vmcore/"+name+"/vmcore.kdump-d31")
	_, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	return kview.New(k)
}

// crashSKB reads crash-skb.txt: the `rd skbcsum_bad_skb` word and the
// sk_buff members crash(8) printed with the debug vmlinux.
func crashSKB(t *testing.T) (skb uint64, members map[string]uint64) {
	t.Helper()
	f, err := os.Open(testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/crash-skb.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	members = map[string]uint64{}
	rd := regexp.MustCompile(`^[0-9a-f]{16}:\s+([0-9a-f]{16})`)
	mem := regexp.MustCompile(`^\s*(\w+) = (0x[0-9a-f]+|\d+)`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := rd.FindStringSubmatch(sc.Text()); m != nil {
			skb, _ = strconv.ParseUint(m[1], 16, 64)
		} else if m := mem.FindStringSubmatch(sc.Text()); m != nil {
			n, err := strconv.ParseUint(m[2], 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			members[m[1]] = n
		}
	}
	if skb == 0 || len(members) < 8 {
		t.Fatalf("crash-skb.txt: skb %#x, %d members", skb, len(members))
	}
	return skb, members
}

// TestCrashSKB: the module global skbcsum_bad_skb, found through the
// module's own symbol table, holds the skb crash(8) read, and BTF from the
// dump decodes that sk_buff to every value crash printed with the debug
// vmlinux.
func TestCrashSKB(t *testing.T) {
	v := openFixture(t, "skbcsum-kdump")
	want, members := crashSKB(t)
	addr, mod, err := v.Lookup("skbcsum_bad_skb")
	if err != nil {
		t.Fatal(err)
	}
	if mod != "skbcsum" {
		t.Errorf("skbcsum_bad_skb in module %q", mod)
	}
	skb, err := v.U64(addr)
	if err != nil {
		t.Fatal(err)
	}
	if skb != want {
		t.Fatalf("skbcsum_bad_skb holds %#x, crash read %#x", skb, want)
	}
	obj, err := v.Object("sk_buff", skb)
	if err != nil {
		t.Fatal(err)
	}
	shinfoMembers := map[string]bool{"nr_frags": true, "frag_list": true}
	for name, w := range members {
		if shinfoMembers[name] {
			continue
		}
		got, ok := obj.Value.Uint(name)
		if !ok {
			t.Errorf("%s: not in the decoded sk_buff", name)
		} else if got != w {
			t.Errorf("%s = %d, crash says %d", name, got, w)
		}
	}
	if name, off, m, ok := v.Symbol(addr); !ok || name != "skbcsum_bad_skb" || off != 0 || m != "skbcsum" {
		t.Errorf("Symbol(%#x) = %s+%d [%s] %v", addr, name, off, m, ok)
	}
	// the shared info at head+end: nr_frags 0, no frag_list
	head, _ := obj.Value.Uint("head")
	end, _ := obj.Value.Uint("end")
	shinfo, err := v.Object("skb_shared_info", head+end)
	if err != nil {
		t.Fatal(err)
	}
	for name := range shinfoMembers {
		if n, ok := shinfo.Value.Uint(name); !ok || n != members[name] {
			t.Errorf("skb_shared_info.%s = %d %v, crash says %d", name, n, ok, members[name])
		}
	}
}

// TestModules: the module list names what the log's "Modules linked in"
// line names, each with text and symbols.
func TestModules(t *testing.T) {
	v := openFixture(t, "skbcsum-kdump")
	mods, err := v.Modules()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/dmesg.makedumpfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Modules linked in: (.*)`).FindSubmatch(log)
	if m == nil {
		t.Fatal("no Modules linked in line")
	}
	want := map[string]bool{}
	for _, w := range strings.Fields(string(m[1])) {
		want[strings.SplitN(w, "(", 2)[0]] = true
	}
	got := map[string]bool{}
	for _, mod := range mods {
		got[mod.Name] = true
		if mod.Err != nil {
			t.Errorf("%s: %v", mod.Name, mod.Err)
		}
		if len(mod.Regions) == 0 || len(mod.Syms) == 0 {
			t.Errorf("%s: %d regions, %d symbols", mod.Name, len(mod.Regions), len(mod.Syms))
		}
	}
	for w := range want {
		if !got[w] {
			t.Errorf("module %s of the log not in the list (got %v)", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("modules %v, log %v", got, want)
	}
}

// TestModuleBTF: the fixture's modules carry split BTF over the kernel's.
func TestModuleBTF(t *testing.T) {
	v := openFixture(t, "skbcsum-kdump")
	mods, err := v.Modules()
	if err != nil {
		t.Fatal(err)
	}
	withBTF := 0
	for _, m := range mods {
		ts, err := v.ModuleTypes(m)
		if err != nil {
			t.Logf("%s: %v", m.Name, err)
			continue
		}
		withBTF++
		// split BTF sees the kernel's types through its base
		if _, err := ts.Type("sk_buff"); err != nil {
			t.Errorf("%s: sk_buff through split BTF: %v", m.Name, err)
		}
	}
	if withBTF == 0 {
		t.Error("no module has BTF")
	}
	// a type only a module defines is found in that module's BTF
	if _, mod, err := v.TypeOf("struct fw_cfg_sysfs_entry"); err != nil || mod != "qemu_fw_cfg" {
		t.Errorf("fw_cfg_sysfs_entry: module %q, %v", mod, err)
	}
}
