package kernel_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/ktriage/ktriage/internal/testshared"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/kernel"
)

// kallsymsFixtures are the kdump fixtures whose VMCOREINFO names kallsyms.
var kallsymsFixtures = []struct{ dir, file string }{
	{"skbcsum-kdump", "vmcore.kdump-d31"},
	{"sysrq-c-kdump", "vmcore.kdump-d31"},
	{"warn-kdump", "vmcore.kdump-d31"},
}

// TestKallsymsVMCOREINFO: every SYMBOL(x)=addr of the fixtures' VMCOREINFO
// is x's address by Lookup, and Addr(addr) names x or an alias at addr.
// Four kinds of key are not a kallsyms symbol at VMCOREINFO's address, and
// are checked for what they are: the kallsyms tables (scripts/kallsyms.c
// leaves them out, so the table keeps its size between link passes),
// swapper_pg_dir (a macro for init_top_pgt on x86_64), node_online_map (a
// macro for node_states[N_ONLINE], N_ONLINE = 1) and mem_section
// (VMCOREINFO_SYMBOL_ARRAY gives the pointer's value).
func TestKallsymsVMCOREINFO(t *testing.T) {
	for _, f := range kallsymsFixtures {
		t.Run(f.dir, func(t *testing.T) {
			d, k, _ := openFixture(t, f.dir, f.file)
			defer d.Close()
			s, err := k.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			vi := k.VMCOREINFO()
			nodemask, _ := vi.Size("nodemask_t")
			checked, special := 0, 0
			for key := range vi {
				name, ok := strings.CutPrefix(key, "SYMBOL(")
				if !ok {
					continue
				}
				name = strings.TrimSuffix(name, ")")
				want, _ := vi.Symbol(name)
				got, found := s.Lookup(name)
				n, off, hit := s.Addr(want)
				switch {
				case strings.HasPrefix(name, "kallsyms_"):
					if found {
						t.Errorf("%s is in kallsyms at %#x", name, got)
					}
				case name == "swapper_pg_dir":
					if n != "init_top_pgt" || off != 0 || !hit {
						t.Errorf("Addr(swapper_pg_dir %#x) = %s+%#x, %v; want init_top_pgt", want, n, off, hit)
					}
				case name == "node_online_map":
					if n != "node_states" || off != uint64(nodemask) || !hit {
						t.Errorf("Addr(node_online_map %#x) = %s+%#x, %v; want node_states+%#x", want, n, off, hit, nodemask)
					}
				case name == "mem_section":
					var b [8]byte
					if !found {
						t.Errorf("mem_section not in kallsyms")
					} else if _, err := k.ReadVirt(b[:], got); err != nil || binary.LittleEndian.Uint64(b[:]) != want {
						t.Errorf("mem_section at %#x holds %x, %v; VMCOREINFO %#x", got, b, err, want)
					}
				default:
					if !found || got != want {
						t.Errorf("Lookup(%s) = %#x, %v; VMCOREINFO %#x", name, got, found, want)
					} else if !hit || off != 0 {
						t.Errorf("Addr(%#x) = %s+%#x, %v; want %s", want, n, off, hit, name)
					} else if a, _ := s.Lookup(n); n != name && a != want {
						t.Errorf("Addr(%#x) = %s at %#x, not an alias of %s", want, n, a, name)
					}
					checked++
					continue
				}
				special++
			}
			t.Logf("%d symbols (%v): %d VMCOREINFO symbols agree, %d special keys as expected", s.Len(), s.Encoding(), checked, special)
			if checked < 8 {
				t.Errorf("only %d symbols checked", checked)
			}
		})
	}
}

// crashFrame is a function crash(8) named at an address: a `bt` frame
// (function only: crash prints no offset there) or an exception RIP (with
// its offset); module says the frame carries a [module] tag.
type crashFrame struct {
	addr   uint64
	fn     string
	off    uint64
	hasOff bool
	module bool
}

var (
	btFrameRE = regexp.MustCompile(`^\s*#\d+ \[[0-9a-f]+\] (\S+) at ([0-9a-f]+)( \[\S+\])?$`)
	excRIPRE  = regexp.MustCompile(`^\s*\[exception RIP: ([^+\]]+)\+(\d+)\]$`)
	ripRE     = regexp.MustCompile(`^\s*RIP: ([0-9a-f]+) `)
)

// crashFrames reads the functions and addresses of a crash-bt.txt.
func crashFrames(t *testing.T, path string) []crashFrame {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []crashFrame
	var exc *crashFrame
	for l := range strings.SplitSeq(string(text), "\n") {
		if m := btFrameRE.FindStringSubmatch(l); m != nil {
			a, _ := strconv.ParseUint(m[2], 16, 64)
			out = append(out, crashFrame{addr: a, fn: m[1], module: m[3] != ""})
		} else if m := excRIPRE.FindStringSubmatch(l); m != nil {
			off, _ := strconv.ParseUint(m[2], 10, 64)
			exc = &crashFrame{fn: m[1], off: off, hasOff: true}
		} else if m := ripRE.FindStringSubmatch(l); m != nil && exc != nil {
			exc.addr, _ = strconv.ParseUint(m[1], 16, 64)
			exc.module = exc.addr >= 0xffffffffc0000000 // the module area
			out = append(out, *exc)
			exc = nil
		}
	}
	return out
}

// TestKallsymsCrashBacktrace: Addr names every core-kernel address of
// crash(8)'s backtraces (made with the debug vmlinux) as crash does, with
// the exception RIP's offset; module addresses miss, as module symbols are
// not in the core kernel's kallsyms.
func TestKallsymsCrashBacktrace(t *testing.T) {
	for _, dir := range []string{"skbcsum-kdump", "warn-kdump"} {
		t.Run(dir, func(t *testing.T) {
			d, k, _ := openFixture(t, dir, "vmcore.kdump-d31")
			defer d.Close()
			s, err := k.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			frames := crashFrames(t, testshared.Path(t, filepath.Join("fixtures/vmcore", dir, "crash-bt.txt")))
			core, mods := 0, 0
			for _, f := range frames {
				name, off, ok := s.Addr(f.addr)
				if f.module {
					if ok {
						t.Errorf("module address %#x (%s) gives %s+%#x", f.addr, f.fn, name, off)
					}
					mods++
					continue
				}
				if !ok || name != f.fn || (f.hasOff && off != f.off) {
					t.Errorf("Addr(%#x) = %s+%d, %v; crash says %s+%d", f.addr, name, off, ok, f.fn, f.off)
				}
				core++
			}
			t.Logf("%d core-kernel addresses named as crash names them, %d module addresses missed", core, mods)
			if core < 15 {
				t.Errorf("only %d frames", core)
			}
		})
	}
}

// withoutLines returns VMCOREINFO text without the lines whose key drop
// selects.
func withoutLines(vi string, drop func(key string) bool) string {
	var b strings.Builder
	for l := range strings.SplitSeq(vi, "\n") {
		if k, _, _ := strings.Cut(l, "="); !drop(k) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestKallsymsScan: a 6.1 dump with VMCOREINFO's kallsyms keys hidden, as
// a kernel before 6.0 writes it, still gives the same symbols: the tables
// are found by scanning the image after _stext. With _stext hidden too
// there is nothing to start from or validate against, and the error names
// the missing keys and why the scan could not help.
func TestKallsymsScan(t *testing.T) {
	d, k0, _ := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	defer d.Close()
	want, err := k0.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, drop := range []string{"SYMBOL(kallsyms_", "SYMBOL(kallsyms_token_index)", "SYMBOL(kallsyms_offsets)"} {
		t.Run(drop, func(t *testing.T) {
			vi := withoutLines(d.VMCOREINFO(), func(k string) bool { return strings.HasPrefix(k, drop) })
			k, err := kernel.New(d, vi)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != want.Len() || got.Encoding() != want.Encoding() || got.Source() != "a scan of the kernel image" {
				t.Errorf("scan: %d symbols %v from %q, VMCOREINFO: %d %v", got.Len(), got.Encoding(), got.Source(), want.Len(), want.Encoding())
			}
			for _, name := range []string{"_stext", "init_task", "__skb_checksum", "__start_BTF", "modules"} {
				a, ok1 := got.Lookup(name)
				b, ok2 := want.Lookup(name)
				if !ok1 || !ok2 || a != b {
					t.Errorf("%s: scan %#x %v, VMCOREINFO %#x %v", name, a, ok1, b, ok2)
				}
			}
		})
	}
	t.Run("no _stext", func(t *testing.T) {
		vi := withoutLines(d.VMCOREINFO(), func(k string) bool {
			return strings.HasPrefix(k, "SYMBOL(kallsyms_") || strings.HasPrefix(k, "SYMBOL(_stext)")
		})
		k, err := kernel.New(d, vi)
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Symbols()
		var me *kernel.MissingError
		if !errors.As(err, &me) {
			t.Fatalf("error %v (%T), want *MissingError", err, err)
		}
		for _, w := range []string{"SYMBOL(_stext)", "SYMBOL(kallsyms_names)", "6.0", "scan"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	})
}

// patchMem serves a dump's memory with some physical bytes replaced and a
// physical range unreadable.
type patchMem struct {
	kernel.PhysReader
	patch          map[uint64]byte
	failLo, failHi uint64
}

func (m *patchMem) ReadPhys(p []byte, pa uint64) (int, error) {
	if pa+uint64(len(p)) > m.failLo && pa < m.failHi {
		if pa >= m.failLo {
			return 0, errors.New("test: unreadable")
		}
		n, err := m.ReadPhys(p[:m.failLo-pa], pa)
		if err == nil {
			err = errors.New("test: unreadable")
		}
		return n, err
	}
	n, err := m.PhysReader.ReadPhys(p, pa)
	for i := range p[:n] {
		if b, ok := m.patch[pa+uint64(i)]; ok {
			p[i] = b
		}
	}
	return n, err
}

// TestKallsymsCorrupt: damaged tables in a real dump's memory give a
// *KallsymsError naming the table and an address, without panicking or
// allocating by what a corrupt count claims.
func TestKallsymsCorrupt(t *testing.T) {
	d, k0, _ := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	defer d.Close()
	vi := k0.VMCOREINFO()
	phys := func(sym string) uint64 {
		a, _ := vi.Symbol(sym)
		pa, err := k0.Translate(a)
		if err != nil {
			t.Fatal(err)
		}
		return pa
	}
	fill := func(m map[uint64]byte, pa uint64, b []byte) map[uint64]byte {
		for i, c := range b {
			m[pa+uint64(i)] = c
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		mem     *patchMem
		key     string
		reasons []string
	}{
		{"num_syms 2^31", &patchMem{patch: fill(map[uint64]byte{}, phys("kallsyms_num_syms"), []byte{0, 0, 0, 0x80})},
			"SYMBOL(kallsyms_num_syms)", []string{"2147483648 symbols"}},
		{"num_syms 0", &patchMem{patch: fill(map[uint64]byte{}, phys("kallsyms_num_syms"), []byte{0, 0, 0, 0})},
			"SYMBOL(kallsyms_num_syms)", []string{"0 symbols"}},
		{"token table without NULs", &patchMem{patch: fill(map[uint64]byte{}, phys("kallsyms_token_table"), bytes.Repeat([]byte{'A'}, int(phys("kallsyms_token_index")-phys("kallsyms_token_table"))))},
			"SYMBOL(kallsyms_token_table)", []string{"no NUL"}},
		{"token index past the table", &patchMem{patch: fill(map[uint64]byte{}, phys("kallsyms_token_index"), bytes.Repeat([]byte{0xff}, 512))},
			"SYMBOL(kallsyms_token_table)", []string{"920 bytes readable, token index reaches 65535"}},
		{"names past readable memory", &patchMem{failLo: phys("kallsyms_names") + 8192, failHi: phys("kallsyms_names") + 1<<20},
			"SYMBOL(kallsyms_names)", []string{"8192 readable", "test: unreadable"}},
		{"names cut mid-table", &patchMem{failLo: phys("kallsyms_names") + 512<<10, failHi: phys("kallsyms_names") + 1<<20},
			"SYMBOL(kallsyms_names)", []string{"readable", "test: unreadable"}},
		{"offsets zeroed", &patchMem{patch: fill(map[uint64]byte{}, phys("kallsyms_offsets"), make([]byte, phys("kallsyms_relative_base")-phys("kallsyms_offsets")))},
			"SYMBOL(_stext)", []string{"no decoding agrees", "absolute-percpu: _stext at 0x0"}},
		{"offsets unreadable", &patchMem{failLo: phys("kallsyms_offsets") + 4096, failHi: phys("kallsyms_offsets") + 8192},
			"SYMBOL(kallsyms_offsets)", []string{"unreadable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.mem.PhysReader = d
			if tc.mem.failHi == 0 {
				tc.mem.failLo, tc.mem.failHi = ^uint64(0), ^uint64(0)
			}
			k, err := kernel.New(tc.mem, d.VMCOREINFO())
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = k.Symbols()
			runtime.ReadMemStats(&after)
			var ke *kernel.KallsymsError
			if !errors.As(err, &ke) {
				t.Fatalf("error %v (%T), want *KallsymsError", err, err)
			}
			if ke.Key != tc.key || ke.Addr == 0 {
				t.Errorf("error names %s at %#x, want %s: %v", ke.Key, ke.Addr, tc.key, err)
			}
			for _, r := range tc.reasons {
				if !strings.Contains(err.Error(), r) {
					t.Errorf("error %q does not say %q", err, r)
				}
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20 {
				t.Errorf("allocated %d MiB", a>>20)
			}
			t.Log(err)
		})
	}
}

// BenchmarkSymbols is the first use of a fixture's kallsyms: reading and
// decoding the tables, and one lookup each way.
func BenchmarkSymbols(b *testing.B) {
	d, _, _ := openFixture(b, "skbcsum-kdump", "vmcore.kdump-d31")
	defer d.Close()
	for b.Loop() {
		k, err := kernel.New(d, d.VMCOREINFO())
		if err != nil {
			b.Fatal(err)
		}
		s, err := k.Symbols()
		if err != nil {
			b.Fatal(err)
		}
		a, _ := s.Lookup("__skb_checksum")
		if n, _, _ := s.Addr(a + 760); n != "__skb_checksum" {
			b.Fatal(n)
		}
	}
}
