package triage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/vmcores"
)

// TestGeneratedVmcores runs over every dump tools/gen-vmcores.sh makes of the
// default kernel (it runs when the cache is empty): each is opened in the format
// and page compression the generator wrote, its kernel log equals makedumpfile's
// byte for byte, and analyze finds the crash its console log shows.
func TestGeneratedVmcores(t *testing.T) {
	formats := checkGeneratedSet(t, vmcores.Require(t, vmcores.Default))
	// No format the generator promises may go missing silently.
	for _, f := range []string{"elf/none", "kdump-compressed/zlib", "kdump-compressed/lzo", "flattened/zlib", "flattened/none"} {
		if !formats[f] {
			t.Errorf("no generated dump in %s", f)
		}
	}
}

// TestGeneratedVmcores612 does the same over the dumps of Debian's 6.12 kernel:
// the kdump capture kernel's ELF and -d 31 dumps of the crashnet trigger and
// its -d 1 dump of the tcpskb trigger.
func TestGeneratedVmcores612(t *testing.T) {
	formats := checkGeneratedSet(t, vmcores.Require(t, vmcores.Set612))
	for _, f := range []string{"elf/none", "kdump-compressed/zlib"} {
		if !formats[f] {
			t.Errorf("no generated dump in %s", f)
		}
	}
}

// checkGeneratedSet checks every dump of a set and returns the formats seen
// ("kdump-compressed/zlib"). A dump whose guest named the crashing process (the
// tcpskb trigger) must be analyzed as a BUG in __skb_checksum in that process.
func checkGeneratedSet(t *testing.T, set *vmcores.Set) map[string]bool {
	entries, dir := set.Entries, set.Dir
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	formats := map[string]bool{}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			path := abs(e.Path)
			d, k, err := OpenVmcore(path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			in := d.Info()
			wantFormat := map[string]dump.Format{"elf": dump.FormatELF, "kdump": dump.FormatKdump, "kdump-flattened": dump.FormatFlattened}[e.Format]
			if in.Format != wantFormat || string(in.Compression) != e.Compression {
				t.Errorf("format %s/%s, want %s/%s", in.Format, in.Compression, wantFormat, e.Compression)
			}
			formats[string(in.Format)+"/"+string(in.Compression)] = true
			var got bytes.Buffer
			if err := k.Dmesg(&got); err != nil {
				t.Fatalf("dmesg: %v", err)
			}
			want, err := os.ReadFile(abs(e.Dmesg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("dmesg differs from makedumpfile's (%d vs %d bytes)%s", got.Len(), len(want), firstDiff(got.String(), string(want)))
			}
			diag, err := Analyze([]string{path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(diag.Reports) == 0 || !strings.HasPrefix(diag.Reports[0].Title, "kernel BUG in ") {
				t.Fatalf("reports %v", titlesOf(diag))
			}
			if g := e.Guest; g != nil {
				r := diag.Reports[0]
				if r.RIP == nil || r.RIP.Function != "__skb_checksum" {
					t.Errorf("RIP %+v, want __skb_checksum", r.RIP)
				}
				if r.PID == nil || *r.PID != g.PID || r.Comm == nil || *r.Comm != g.Comm {
					t.Errorf("task %v %v, the guest's process is pid %d comm %s", r.PID, r.Comm, g.PID, g.Comm)
				}
			}
			if e.Console != "" {
				fromLog, err := Analyze([]string{abs(e.Console)}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if a, b := titlesOf(diag), titlesOf(fromLog); len(b) == 0 || a[0] != b[0] {
					t.Errorf("dump %q, console %q", a, b)
				}
			}
		})
	}
	return formats
}

func titlesOf(d *Diagnosis) []string {
	var out []string
	for _, r := range d.Reports {
		out = append(out, r.Title)
	}
	return out
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("\nfirst difference at line %d:\n got  %s\n want %s", i+1, al[i], bl[i])
		}
	}
	return ""
}

// TestEmptyRingDump: a dump whose printk descriptors are all zeroed is still
// analyzed (its vmcore section filled), with a note that its log held no
// record, instead of failing the whole analysis.
func TestEmptyRingDump(t *testing.T) {
	src := vmcores.Lookup(t, "elf-qemu").Path
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	d, k, err := OpenVmcore(src)
	if err != nil {
		t.Fatal(err)
	}
	vi := k.VMCOREINFO()
	off := func(key string) uint64 { v, _ := vi.Offset(key); return uint64(v) }
	u64 := func(vaddr uint64) uint64 {
		var w [8]byte
		if _, err := k.ReadVirt(w[:], vaddr); err != nil {
			t.Fatalf("reading %#x: %v", vaddr, err)
		}
		return binary.LittleEndian.Uint64(w[:])
	}
	sym, ok := vi.Symbol("prb")
	size, _ := vi.Size("prb_desc")
	if !ok || size <= 0 {
		t.Fatal("VMCOREINFO lacks prb or prb_desc")
	}
	desc := u64(sym) + off("printk_ringbuffer.desc_ring")
	var cb [4]byte
	k.ReadVirt(cb[:], desc+off("prb_desc_ring.count_bits"))
	descs := u64(desc + off("prb_desc_ring.descs"))
	n := uint64(size) << binary.LittleEndian.Uint32(cb[:])
	d.Close()
	// The ELF file offset of a physical address, from its PT_LOADs.
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	fileOff := func(pa uint64) int64 {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_LOAD && pa >= p.Paddr && pa < p.Paddr+p.Filesz {
				return int64(p.Off + pa - p.Paddr)
			}
		}
		t.Fatalf("physical %#x is in no PT_LOAD", pa)
		return 0
	}
	for v := descs; v < descs+n; v++ {
		pa, err := k.Translate(v)
		if err != nil {
			t.Fatal(err)
		}
		b[fileOff(pa)] = 0
	}
	dst := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var warned []string
	diag, err := Analyze([]string{dst}, Options{Warn: func(s string) { warned = append(warned, s) }})
	if err != nil {
		t.Fatalf("analyze failed on a dump with an empty log: %v", err)
	}
	if len(diag.Inputs) != 1 || !strings.Contains(diag.Inputs[0].Note, "no record") {
		t.Errorf("inputs %+v: no note of the empty log", diag.Inputs)
	}
	if diag.Vmcore == nil || diag.Vmcore.Release == nil {
		t.Errorf("vmcore section %+v: the dump is still described", diag.Vmcore)
	}
	if len(diag.Reports) != 0 {
		t.Errorf("%d reports from an empty log", len(diag.Reports))
	}
}
