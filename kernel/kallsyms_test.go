package kernel_test

import (
	"encoding/binary"
	"errors"
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

var _ = errors.As
var _ *kernel.Symbols
