package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
)

// Each synthetic case returns the memory, its VMCOREINFO, and the output we
// expect, written by hand from makedumpfile's formatting rules (and, where
// $KTRIAGE_MAKEDUMPFILE names a makedumpfile binary, confirmed by running
// it on the same memory written as an ELF vmcore: TestDmesgMakedumpfile).
type dmesgCase struct {
	name string
	s    *synthKernel
	want string
	gen  Generation
}

func locklessCase(name string, levels int, l prbLayout) dmesgCase {
	s := newSynthKernel(levels, "6.1.0-synthetic")
	const maxID = descIDMask
	r := newPRB(l, 4, 9, 3*512+336) // record 2 will wrap
	r.tail, r.head = maxID-2, 6
	r.add(maxID-2, descFinalized, 0, "Linux version 6.1.0 (synthetic)")
	r.add(maxID-1, descFinalized, 1500000, "line with\nembedded newline")
	r.add(maxID, descCommitted, 2000000000, "ctl \x01\x7f tab\there cr\r end")
	r.add(0, 0, 2100000000, "reserved: not yet written") // desc_reserved
	r.desc(1, descFinalized, 1, 1, 2200000000, 0)        // data-less (FAILED_LPOS)
	r.add(2, descFinalized, 123456789012345, "wrapped around the ring")
	r.add(3, 3, 2300000000, "reusable: skipped")                     // desc_reusable
	r.add(maxID-11, descFinalized, 2400000000, "stale id in slot 4") // slot 4 holds an older id
	b, n := r.alloc(5, []byte("trunc"))
	r.desc(5, descFinalized, b, n, 3000000000, 200) // text_len beyond the block
	r.add(6, descFinalized, 99999999999999, "utf8 \xe2\x9c\x93 ok")
	r.install(s)
	return dmesgCase{name: name, s: s, gen: GenLockless, want: "" +
		"[    0.000000] Linux version 6.1.0 (synthetic)\n" +
		"[    0.001500] line with\n" +
		"               embedded newline\n" +
		"[    2.000000] ctl \\x01\\x7f tab\there cr\r end\n" +
		"[123456.789012] wrapped around the ring\n" +
		"[    3.000000] trunc\\x00\\x00\\x00\n" +
		"[99999.999999] utf8 \\xffffffe2\\xffffff9c\\xffffff93 ok\n"}
}

func structuredCase() dmesgCase {
	s := newSynthKernel(4, "4.19.0-synthetic")
	p := &printkLog{buf: make([]byte, 256), first: 160, next: 160}
	p.add(1000000000, "first record, old", "")
	p.add(1500000000, "second\nline", "SUBSYSTEM=pci\x00DEVICE=+pci:0000:00:01.0")
	p.add(2000001000, "\x1b[1mbold\x1b[0m", "")
	p.install(s)
	return dmesgCase{name: "structured", s: s, gen: GenStructured, want: "" +
		"[    1.000000] first record, old\n" +
		"[    1.500000] second\n" +
		"               line\n" +
		"[    2.000001] \\x1b[1mbold\\x1b[0m\n"}
}

// legacyCase writes stream into a 64-byte ring the way 2.6 printk does
// (buf[i % len] = stream[i]) and sets log_end to len(stream).
func legacyCase(name, release string, stream string, wide bool, logEnd uint64) dmesgCase {
	s := newSynthKernel(4, release)
	buf := make([]byte, 64)
	for i := range len(stream) {
		buf[i%64] = stream[i]
	}
	s.symbol("log_buf", u64le(s.direct(buf)))
	s.symbol("log_buf_len", u32le(64))
	if wide {
		s.symbol("log_end", u64le(logEnd))
	} else {
		s.symbol("log_end", u32le(uint32(logEnd)))
	}
	s.symbol("logged_chars", u32le(uint32(min(logEnd, 64))))
	return dmesgCase{name: name, s: s, gen: GenLegacy}
}

func dmesgCases() []dmesgCase {
	stream := "<6>Linux version 2.6.32\n<4>old line\n<6>eth0: link up\n<3>BUG: oops\n<6>tail line here!\n"
	wrapped := legacyCase("legacy wrapped", "2.6.32-504.el6.x86_64", stream, false, uint64(len(stream)))
	wrapped.want = "32\n<4>old line\n<6>eth0: link up\n<3>BUG: oops\n<6>tail line here!\n" // the last 64 of 85 bytes
	short := legacyCase("legacy short", "3.4.0", stream[:40], false, 40)
	short.want = "<6>Linux version 2.6.32\n<4>old line\n<6>e"
	// Before 2.6.25 log_end is an unsigned long: its high half matters.
	old := legacyCase("legacy unsigned long log_end", "2.6.18-419.el5", stream[:80], true, 1<<32+80)
	old.want = stream[16:80]
	return []dmesgCase{
		locklessCase("lockless 4-level", 4, layout61),
		locklessCase("lockless 5-level odd layout", 5, layoutOdd),
		structuredCase(), wrapped, short, old,
	}
}

func TestDmesgSynthetic(t *testing.T) {
	for _, c := range dmesgCases() {
		t.Run(c.name, func(t *testing.T) {
			k, err := New(c.s.m, c.s.vmcoreinfo())
			if err != nil {
				t.Fatal(err)
			}
			if g := k.DmesgGeneration(); g != c.gen {
				t.Errorf("generation %v, want %v", g, c.gen)
			}
			var b bytes.Buffer
			if err := k.Dmesg(&b); err != nil {
				t.Fatal(err)
			}
			if d := firstDiff(b.String(), c.want); d != "" {
				t.Error(d)
			}
		})
	}
}

// firstDiff describes the first differing line of got and want, or "".
func firstDiff(got, want string) string {
	if got == want {
		return ""
	}
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := 0; ; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return "first difference at line " + itoa(i+1) + ":\n  got:  " + quoteLine(gl) + "\n  want: " + quoteLine(wl)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func quoteLine(s string) string {
	if s == "" {
		return "(end of output)"
	}
	return strings.TrimSuffix(strings.ReplaceAll(s, "\t", "\\t"), "\n") + "⏎"
}

func TestDmesgErrors(t *testing.T) {
	// No printk symbols.
	s := newSynthKernel(4, "6.1.0")
	k, _ := New(s.m, s.vmcoreinfo())
	if err := k.Dmesg(&bytes.Buffer{}); err == nil || k.DmesgGeneration() != GenUnknown {
		t.Errorf("no printk buffer: %v", err)
	}
	// A missing layout key is named.
	c := locklessCase("x", 4, layout61)
	delete(c.s.info, "OFFSET(printk_info.text_len)")
	k, _ = New(c.s.m, c.s.vmcoreinfo())
	if err := k.Dmesg(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "OFFSET(printk_info.text_len)") {
		t.Errorf("missing offset: %v", err)
	}
	// The text ring's page is not in the dump: the reader's error shows.
	c = locklessCase("x", 4, layout61)
	ringSym, _ := dump.VMCOREINFO(c.s.info).Symbol("printk_rb_static")
	dataV := binary.LittleEndian.Uint64(readAll(t, c.s, ringSym+layout61.textRing+layout61.data, 8))
	delete(c.s.m.pages, (dataV-c.s.pageOffset)/pageSize)
	k, _ = New(c.s.m, c.s.vmcoreinfo())
	var mpe *missingPageError
	if err := k.Dmesg(&bytes.Buffer{}); !errors.As(err, &mpe) {
		t.Errorf("missing text page: %v", err)
	}
	// A corrupt structured buffer: a record pointing back to itself.
	c = structuredCase()
	bufV := binary.LittleEndian.Uint64(readAll(t, c.s, mustSym(c.s, "log_buf"), 8))
	pa, _ := mustKernel(t, c.s).Translate(bufV + 160 + 8)
	c.s.m.write(pa, []byte{0, 1}) // len 256: 160+256 is beyond the buffer
	var b bytes.Buffer
	k = mustKernel(t, c.s)
	if err := k.Dmesg(&b); err == nil || !strings.Contains(err.Error(), "outside log_buf") || b.String() != "[    1.000000] first record, old\n" {
		t.Errorf("corrupt len: %v, output %q", err, b.String())
	}
}

func mustSym(s *synthKernel, name string) uint64 {
	v, _ := dump.VMCOREINFO(s.info).Symbol(name)
	return v
}

func mustKernel(t *testing.T, s *synthKernel) *Kernel {
	k, err := New(s.m, s.vmcoreinfo())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readAll(t *testing.T, s *synthKernel, v uint64, n int) []byte {
	b := make([]byte, n)
	if _, err := mustKernel(t, s).ReadVirt(b, v); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDmesgMakedumpfile runs makedumpfile itself on each synthetic case,
// written as an ELF vmcore, and checks it prints what we expect. It needs
// $KTRIAGE_MAKEDUMPFILE (Debian 12's makedumpfile 1.7.2 is the reference).
func TestDmesgMakedumpfile(t *testing.T) {
	bin := os.Getenv("KTRIAGE_MAKEDUMPFILE")
	if bin == "" {
		// The makedumpfile that make test installs.
		bin = testshared.Tool(t, "makedumpfile")
	}
	dir := t.TempDir()
	for i, c := range dmesgCases() {
		t.Run(c.name, func(t *testing.T) {
			core := filepath.Join(dir, "vmcore"+itoa(i))
			out := core + ".dmesg"
			if err := os.WriteFile(core, elfCore(c.s), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "--dump-dmesg", core, out)
			msg, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("makedumpfile: %v\n%s", err, msg)
			}
			got, _ := os.ReadFile(out)
			if d := firstDiff(string(got), c.want); d != "" {
				t.Errorf("makedumpfile disagrees with our expectation: %s", d)
			}
		})
	}
}

// elfCore writes s's memory as an x86_64 ELF vmcore like /proc/vmcore: a
// VMCOREINFO note and one PT_LOAD per run of present pages, each with its
// direct-map virtual address (from which makedumpfile learns page_offset).
func elfCore(s *synthKernel) []byte {
	var pfns []uint64
	for pfn := range s.m.pages {
		pfns = append(pfns, pfn)
	}
	slices.Sort(pfns)
	type run struct{ start, n uint64 }
	var runs []run
	for _, p := range pfns {
		if len(runs) > 0 && runs[len(runs)-1].start+runs[len(runs)-1].n == p {
			runs[len(runs)-1].n++
			continue
		}
		runs = append(runs, run{p, 1})
	}
	vi := []byte(s.vmcoreinfo())
	note := binary.LittleEndian.AppendUint32(nil, 11)
	note = binary.LittleEndian.AppendUint32(note, uint32(len(vi)))
	note = binary.LittleEndian.AppendUint32(note, 0)
	note = append(note, "VMCOREINFO\x00\x00"...)
	note = append(note, vi...)
	for len(note)%4 != 0 {
		note = append(note, 0)
	}
	le := binary.LittleEndian
	phnum := 1 + len(runs)
	hdrEnd := uint64(64 + 56*phnum)
	out := make([]byte, 64)
	copy(out, "\x7fELF\x02\x01\x01")
	le.PutUint16(out[16:], 4)  // ET_CORE
	le.PutUint16(out[18:], 62) // EM_X86_64
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[32:], 64) // e_phoff
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[54:], 56)
	le.PutUint16(out[56:], uint16(phnum))
	ph := func(typ uint32, off, vaddr, paddr, size uint64) {
		b := make([]byte, 56)
		le.PutUint32(b, typ)
		le.PutUint32(b[4:], 7)
		le.PutUint64(b[8:], off)
		le.PutUint64(b[16:], vaddr)
		le.PutUint64(b[24:], paddr)
		le.PutUint64(b[32:], size)
		le.PutUint64(b[40:], size)
		out = append(out, b...)
	}
	ph(4, hdrEnd, 0, 0, uint64(len(note)))
	off := (hdrEnd + uint64(len(note)) + pageSize - 1) &^ (pageSize - 1)
	for _, r := range runs {
		ph(1, off, s.pageOffset+r.start*pageSize, r.start*pageSize, r.n*pageSize)
		off += r.n * pageSize
	}
	out = append(out, note...)
	for _, r := range runs {
		for len(out)%pageSize != 0 {
			out = append(out, 0)
		}
		for p := r.start; p < r.start+r.n; p++ {
			out = append(out, s.m.pages[p][:]...)
		}
	}
	return out
}

// A record whose len leads back to an earlier one: makedumpfile prints the
// records up to the cycle's end once, then fails; so do we.
func cycleCase() dmesgCase {
	c := structuredCase()
	bufV := binary.LittleEndian.Uint64(readAllK(c.s, mustSym(c.s, "log_buf"), 8))
	k, _ := New(c.s.m, c.s.vmcoreinfo())
	pa, _ := k.Translate(bufV + 72 + 8)  // the third record's len
	c.s.m.write(pa, []byte{160 - 72, 0}) // leads back to the first record at 160
	c.name = "structured cycle"
	// c.want stays: all three records once (checked against makedumpfile
	// 1.7.2, which then fails with "Cycle when parsing dmesg detected").
	return c
}

func readAllK(s *synthKernel, v uint64, n int) []byte {
	b := make([]byte, n)
	k, _ := New(s.m, s.vmcoreinfo())
	k.ReadVirt(b, v)
	return b
}

func TestDmesgCycle(t *testing.T) {
	c := cycleCase()
	k := mustKernel(t, c.s)
	var b bytes.Buffer
	err := k.Dmesg(&b)
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("err %v", err)
	}
	if d := firstDiff(b.String(), c.want); d != "" {
		t.Error(d)
	}
}

// TestDmesgEmptyRing: a ring from which no record can be read gives
// ErrEmptyLog, not an empty log that passes for the kernel's.
func TestDmesgEmptyRing(t *testing.T) {
	stateless := func() dmesgCase {
		s := newSynthKernel(4, "6.1.0-synthetic")
		r := newPRB(layout61, 4, 9, 0)
		r.tail, r.head = 0, 5
		for id := uint64(0); id <= 5; id++ {
			r.add(id, 0, id, "reserved, never committed") // every descriptor corrupt
		}
		r.install(s)
		return dmesgCase{name: "lockless, no committed descriptor", s: s}
	}
	noRecords := func() dmesgCase {
		s := newSynthKernel(4, "6.1.0-synthetic")
		r := newPRB(layout61, 4, 9, 0)
		r.tail, r.head = 3, 3 // one id, its slot never written
		r.install(s)
		return dmesgCase{name: "lockless, head and tail on an empty slot", s: s}
	}
	emptyLegacy := legacyCase("legacy, log_end 0", "3.4.0", "", false, 0)
	for _, c := range []dmesgCase{stateless(), noRecords(), emptyLegacy} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			err := mustKernel(t, c.s).Dmesg(&b)
			if !errors.Is(err, ErrEmptyLog) || !strings.Contains(err.Error(), "no readable record") {
				t.Fatalf("got %v with %d bytes, want ErrEmptyLog", err, b.Len())
			}
			if b.Len() != 0 {
				t.Fatalf("wrote %q", b.String())
			}
		})
	}
}
