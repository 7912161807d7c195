package kernel

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKernelVersion(t *testing.T) {
	for s, want := range map[string]int{
		"2.6.32-504.23.4.el6.x86_64": kver(2, 6, 32),
		"6.1.0-56-cloud-amd64":       kver(6, 1, 0),
		"5.10":                       kver(5, 10, 0),
		"3.4.113":                    kver(3, 4, 113),
		"garbage":                    0,
	} {
		if got := kernelVersion(s); got != want {
			t.Errorf("kernelVersion(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, levels := range []int{4, 5} {
		t.Run(map[int]string{4: "4-level", 5: "5-level"}[levels], func(t *testing.T) {
			s := newSynthKernel(levels, "6.1.0-synthetic")
			vm := s.vmallocBuf(bytes.Repeat([]byte("0123456789abcdef"), 512)) // two pages
			k, err := New(s.m, s.vmcoreinfo())
			if err != nil {
				t.Fatal(err)
			}
			po, ok := k.PageOffset()
			if !ok || po != s.pageOffset {
				t.Fatalf("PageOffset = %#x %v (%v), want %#x", po, ok, k.pageOffsetErr, s.pageOffset)
			}
			for _, c := range []struct {
				name  string
				vaddr uint64
				want  uint64
			}{
				{"image", synthText + 0x1234, s.imagePhys(synthText + 0x1234)},
				{"direct 4K", s.pageOffset + 0x1234, 0x1234},
				{"direct 2M", s.pageOffset + 0x3456789, 0x3456789},
				{"direct 1G", s.pageOffset + 1<<30 + 0x12345678, 1<<30 + 0x12345678},
			} {
				got, err := k.Translate(c.vaddr)
				if err != nil || got != c.want {
					t.Errorf("%s: Translate(%#x) = %#x, %v; want %#x", c.name, c.vaddr, got, err, c.want)
				}
				// The page tables agree with the fast paths.
				got, _, err = k.walk(c.vaddr)
				if err != nil || got != c.want {
					t.Errorf("%s: walk(%#x) = %#x, %v; want %#x", c.name, c.vaddr, got, err, c.want)
				}
			}
			// A read across the two reversed vmalloc pages.
			got := make([]byte, 32)
			if _, err := k.ReadVirt(got, vm+pageSize-16); err != nil || string(got) != "0123456789abcdef0123456789abcdef" {
				t.Errorf("ReadVirt across vmalloc pages = %q, %v", got, err)
			}

			// Errors name the address and the level.
			var te *TranslationError
			unmapped := s.vmalloc + 1<<30
			_, err = k.Translate(unmapped)
			if !errors.As(err, &te) || te.Vaddr != unmapped || te.Level == "" || !strings.Contains(err.Error(), "not present") {
				t.Errorf("unmapped: %v", err)
			}
			guard := vm + 2*pageSize
			_, err = k.Translate(guard)
			if !errors.As(err, &te) || te.Level != "PTE" || !strings.Contains(err.Error(), "PTE entry 0x0 not present") {
				t.Errorf("guard page: %v", err)
			}
			lowHalf := uint64(0xffff800000001000) // PGD 256, empty
			if levels == 5 {
				lowHalf = 0xff00000000001000
			}
			_, err = k.Translate(lowHalf)
			if !errors.As(err, &te) || te.Level != "PGD" {
				t.Errorf("empty top level: %v", err)
			}
			nonCanonical := uint64(0x0000800000000000)
			if levels == 5 {
				nonCanonical = 0x0100000000000000
			}
			_, err = k.Translate(nonCanonical)
			if !errors.As(err, &te) || te.Level != "" || !strings.Contains(err.Error(), "non-canonical") {
				t.Errorf("non-canonical: %v", err)
			}

			// A page the dump left out: the PhysReader's error survives.
			delete(s.m.pages, (s.pageOffset+0x5000-s.pageOffset)/pageSize)
			_, err = k.ReadVirt(make([]byte, 8), s.pageOffset+0x5000)
			var mpe *missingPageError
			if !errors.As(err, &mpe) || !strings.Contains(err.Error(), "0x") {
				t.Errorf("missing page: %v", err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(newPhysMem(), "PAGESIZE=4096\n"); err == nil {
		t.Error("no OSRELEASE accepted")
	}
	if _, err := New(newPhysMem(), "OSRELEASE=6.1\nPAGESIZE=65536\n"); err == nil {
		t.Error("64 KiB pages accepted")
	}
	if _, err := New(nil, "OSRELEASE=6.1\n"); err == nil {
		t.Error("nil reader accepted")
	}
	k, err := New(newPhysMem(), "OSRELEASE=6.1\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.Release() != "6.1" {
		t.Errorf("Release %q", k.Release())
	}
	var te *TranslationError
	if _, err := k.Translate(0xffffc90000000000); !errors.As(err, &te) || !strings.Contains(err.Error(), "no page table root") {
		t.Errorf("walk without a root: %v", err)
	}
}

// TestNewVMCOREINFO: New takes dump.ParseVMCOREINFO's rule, skipping the
// lines it reports and failing only on text it cannot use.
func TestNewVMCOREINFO(t *testing.T) {
	for _, c := range []struct {
		text    string
		release string // "": New fails
	}{
		{"OSRELEASE=6.1\nnoise\n", "6.1"},
		{"OSRELEASE=6.1\n=x\nSYMBOL(prb=1\n", "6.1"},
		{"OSRELEASE=6.1\r\nCRASHTIME=1\x00\x00", "6.1"},
		{"", ""},
		{"=x\n", ""},
		{"no equals", ""},
		{strings.Repeat("OSRELEASE=6.1\n", 100000), ""},
	} {
		k, err := New(newPhysMem(), c.text)
		switch {
		case c.release == "" && err == nil:
			t.Errorf("New(%.40q) succeeded", c.text)
		case c.release != "" && err != nil:
			t.Errorf("New(%.40q): %v", c.text, err)
		case c.release != "" && k.Release() != c.release:
			t.Errorf("New(%.40q): release %q", c.text, k.Release())
		}
	}
}
