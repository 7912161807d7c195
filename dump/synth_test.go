package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testVMCOREINFO = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff941f9b60\nKERNELOFFSET=11600000\nCRASHTIME=1795693901\n"

// prstatusDesc builds an x86_64 elf_prstatus with pid and RIP.
func prstatusDesc(pid int, rip uint64) []byte {
	b := make([]byte, 336)
	binary.LittleEndian.PutUint32(b[32:], uint32(pid))
	binary.LittleEndian.PutUint64(b[112+16*8:], rip)
	binary.LittleEndian.PutUint64(b[112+19*8:], 0xffffc90000403b40) // RSP
	return b
}

func testNotes() []Note {
	return []Note{
		{Name: "CORE", Type: 1, Desc: prstatusDesc(104, 0xffffffff92d8e3a8)},
		{Name: "CORE", Type: 1, Desc: prstatusDesc(0, 0xffffffff93017a0b)},
		{Name: "VMCOREINFO", Type: 0, Desc: []byte(testVMCOREINFO)},
	}
}

// testPage is the content of synthetic page pfn: text, a counter pattern
// and runs, compressible but not trivially.
func testPage(pfn uint64) []byte {
	pg := make([]byte, 4096)
	if pfn == 5 {
		return pg // an all-zero page
	}
	for i := range pg {
		switch {
		case i < 1024:
			pg[i] = byte(i*int(pfn+1)) ^ byte(i>>3)
		case i < 2048:
			pg[i] = "the quick brown fox "[i%20]
		case i < 3000:
			pg[i] = byte(pfn)
		default:
			pg[i] = byte((i * 2654435761) >> 13)
		}
	}
	return pg
}

var testPFNs = []uint64{1, 2, 3, 5, 10, 11, 12, 40}

// smallKdump is a 64-page kdump-compressed file: pages testPFNs dumped,
// pfns below 48 RAM, the rest holes.
func smallKdump(enc func(uint64, []byte) ([]byte, uint32), status uint32) []byte {
	k := &kdumpFile{blockSize: 4096, maxPFN: 64, ram: func(p uint64) bool { return p < 48 }, pfns: testPFNs,
		page: testPage, encode: enc, status: status, notes: noteBlob(testNotes()), vmcoreinfo: []byte(testVMCOREINFO),
		level: 31, release: "6.1.0-test", machine: "x86_64", cpus: 2, timestamp: 1795693901}
	return k.bytes()
}

func openBytes(t testing.TB, b []byte, name string) *Dump {
	t.Helper()
	d, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkSmall checks a dump made from testPage/testPFNs/testNotes.
func checkSmall(t *testing.T, d *Dump) {
	t.Helper()
	buf := make([]byte, 4096)
	for _, p := range testPFNs {
		if n, err := d.ReadPhys(buf, p*4096); err != nil || n != 4096 || !bytes.Equal(buf, testPage(p)) {
			t.Errorf("pfn %d: n=%d err=%v equal=%v", p, n, err, bytes.Equal(buf, testPage(p)))
		}
	}
	// A read across two dumped pages.
	two := make([]byte, 100)
	if _, err := d.ReadPhys(two, 2*4096-50); err != nil || !bytes.Equal(two[:50], testPage(1)[4046:]) || !bytes.Equal(two[50:], testPage(2)[:50]) {
		t.Errorf("cross-page read: %v", err)
	}
	// A read running from a dumped page into an excluded one: n stops at
	// the boundary, the error names the excluded page's address.
	var pe *PageError
	n, err := d.ReadPhys(two, 4*4096-50)
	if !errors.As(err, &pe) || n != 50 || pe.Addr != 4*4096 {
		t.Errorf("read into excluded page: n=%d err=%v", n, err)
	}
	if in := d.Info(); in.CPUs != 2 || in.Release != "6.1.0-test" || in.CrashTime.Unix() != 1795693901 || in.PageSize != 4096 {
		t.Errorf("info %+v", in)
	}
	prs := d.PRStatus()
	if len(prs) != 2 || prs[0].Regs["RIP"] != 0xffffffff92d8e3a8 || prs[0].PID != 104 || prs[1].Regs["RIP"] != 0xffffffff93017a0b || prs[1].CPU != 1 {
		t.Errorf("prstatus %+v", prs)
	}
	if d.VMCOREINFO() != testVMCOREINFO {
		t.Errorf("vmcoreinfo %q", d.VMCOREINFO())
	}
}

// encodings are the page encodings a kdump-compressed file can hold, with
// the header status flags makedumpfile sets and the Compression they read as.
var encodings = []struct {
	name   string
	enc    func(uint64, []byte) ([]byte, uint32)
	status uint32
	comp   Compression
}{
	{"zlib", encZlib, flagZlib, CompressionZlib},
	{"lzo", encLZO, flagLZO, CompressionLZO},
	{"snappy", encSnappy, flagSnappy, CompressionSnappy},
	{"zstd", encZstd, flagZstd, CompressionZstd},
	{"raw", encRaw, 0, CompressionNone},
	{"mixed", encMixed, flagZlib | flagLZO | flagSnappy | flagZstd, CompressionMixed},
}

func TestSyntheticKdump(t *testing.T) {
	for _, c := range encodings {
		t.Run(c.name, func(t *testing.T) {
			d := openBytes(t, smallKdump(c.enc, c.status), c.name)
			in := d.Info()
			if in.Format != "kdump-compressed" || in.Compression != c.comp || in.DumpLevel != 31 || in.Arch != "x86_64" {
				t.Errorf("info %+v", in)
			}
			checkSmall(t, d)
			var pe *PageError
			buf := make([]byte, 8)
			if _, err := d.ReadPhys(buf, 4*4096); !errors.As(err, &pe) || pe.Kind != PageExcluded {
				t.Errorf("excluded page: %v", err)
			}
			if _, err := d.ReadPhys(buf, 50*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
				t.Errorf("hole: %v", err)
			}
			if _, err := d.ReadPhys(buf, 64*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
				t.Errorf("past the end: %v", err)
			}
		})
	}
}

// TestLZOCompressor checks the test compressor against the decoder on
// shapes that exercise each length encoding.
func TestLZOCompressor(t *testing.T) {
	var dc decoders
	for i, pg := range [][]byte{make([]byte, 4096), testPage(1), testPage(7), bytes.Repeat([]byte("ab"), 2048), []byte(strings.Repeat("x", 4090) + "abcdef")} {
		c := lzoCompress(pg)
		out := make([]byte, len(pg))
		if err := dc.decompress(out, c, flagLZO); err != nil || !bytes.Equal(out, pg) {
			t.Errorf("case %d: %v", i, err)
		}
		if i == 0 && len(c) > 64 {
			t.Errorf("zero page compresses to %d bytes", len(c))
		}
	}
}

// TestRealLZOPage decodes a page makedumpfile 1.7.2 compressed with LZO
// (from skbcsum-kdump refiltered with -l): the test vector that ties the
// decoder to liblzo2 rather than to our own compressor.
func TestRealLZOPage(t *testing.T) {
	src, err := os.ReadFile("testdata/lzo/page.lzo")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/lzo/page.raw")
	if err != nil {
		t.Fatal(err)
	}
	var dc decoders
	out := make([]byte, len(want))
	if err := dc.decompress(out, src, flagLZO); err != nil || !bytes.Equal(out, want) {
		t.Fatalf("real LZO page: %v", err)
	}
	// Corrupt it: an error, never a panic.
	for i := 0; i < len(src); i += 7 {
		bad := bytes.Clone(src)
		bad[i] ^= 0x5a
		dc.decompress(out, bad, flagLZO)
		dc.decompress(out, bad[:i], flagLZO)
	}
}

// TestReencodedFixture re-encodes a real zlib dump's pages into each other
// compression (page flags as makedumpfile sets them) and reads back the
// same memory.
func TestReencodedFixture(t *testing.T) {
	ref := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	for _, c := range encodings {
		if c.comp == ref.Info().Compression {
			continue // the fixture itself
		}
		t.Run(c.name, func(t *testing.T) {
			b := reencode(ref, c.enc, c.status)
			d := openBytes(t, b, c.name)
			if in := d.Info(); in.Compression != c.comp || in.CPUs != ref.Info().CPUs || !in.CrashTime.Equal(ref.Info().CrashTime) {
				t.Errorf("info %+v", in)
			}
			samePages(t, ref, d)
			if len(d.PRStatus()) != 2 || d.PRStatus()[0].Regs["RIP"] != ref.PRStatus()[0].Regs["RIP"] {
				t.Error("PRStatus differs")
			}
		})
	}
}

// TestELFFromFixture converts a fixture to an ELF vmcore laid out as QEMU
// does (program headers after the section headers) and as /proc/vmcore
// does, with zero-page tails left to p_memsz > p_filesz.
func TestELFFromFixture(t *testing.T) {
	ref := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	for _, qemu := range []bool{true, false} {
		b := toELF(ref, qemu)
		d := openBytes(t, b, "elf")
		in := d.Info()
		if in.Format != "elf" || in.Compression != "none" || in.Arch != "x86_64" || in.CPUs != 2 || in.DumpLevel != -1 || in.PageSize != 4096 {
			t.Errorf("info %+v", in)
		}
		short := 0
		for _, s := range d.mem.(*elfMemory).segs {
			if s.filesz < s.memsz {
				short++
			}
		}
		if short == 0 {
			t.Error("no PT_LOAD with p_filesz < p_memsz")
		}
		samePages(t, ref, d)
		if d.PRStatus()[0].Regs["RIP"] != ref.PRStatus()[0].Regs["RIP"] {
			t.Error("PRStatus differs")
		}
		// An excluded page of the kdump file is absent from the ELF.
		m := ref.mem.(*kdumpMemory)
		for pfn := uint64(0); pfn < m.maxPFN; pfn++ {
			if ok, _ := m.dumpable(pfn); !ok {
				var pe *PageError
				if _, err := d.ReadPhys(make([]byte, 8), pfn*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
					t.Errorf("pfn %d outside every PT_LOAD: %v", pfn, err)
				}
				break
			}
		}
	}
}

func TestSyntheticELF(t *testing.T) {
	var segs []elfSeg
	for _, p := range testPFNs {
		pg := testPage(p)
		s := elfSeg{paddr: p * 4096, vaddr: 0xffff888000000000 + p*4096, data: pg, memsz: 4096}
		if allZero(pg) {
			s.data = nil
		}
		segs = append(segs, s)
	}
	// One segment spanning pfns 20..23 with only its first page in the file.
	segs = append(segs, elfSeg{paddr: 20 * 4096, data: testPage(20), memsz: 4 * 4096})
	for _, c := range []struct {
		name       string
		qemu, xnum bool
	}{{"procvmcore", false, false}, {"qemu", true, false}, {"pn_xnum", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			d := openBytes(t, elfCore(testNotes(), segs, c.qemu, c.xnum), c.name)
			checkSmall(t, d)
			buf := make([]byte, 4096)
			if _, err := d.ReadPhys(buf, 22*4096); err != nil || !allZero(buf) {
				t.Errorf("p_memsz tail: %v", err)
			}
			var pe *PageError
			if _, err := d.ReadPhys(buf, 24*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
				t.Errorf("past the segment: %v", err)
			}
		})
	}
}

// TestFlattened reads flattened streams made from a fixture and from small
// files: in place (Open, OpenReaderAt), and spooled from a pipe.
func TestFlattened(t *testing.T) {
	path := fixturePath(t, "skbcsum-kdump", "vmcore.kdump-d31")
	ref := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flat := flatten(raw, []int{4096, 100, 65536, 24, 333333})
	fpath := filepath.Join(t.TempDir(), "vmcore.flat")
	if err := os.WriteFile(fpath, flat, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("open", func(t *testing.T) {
		d, err := Open(fpath)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if in := d.Info(); in.Format != "flattened" || in.Compression != "zlib" || in.Size != int64(len(raw)) || len(in.Warnings) != 0 {
			t.Errorf("info %+v", in)
		}
		samePages(t, ref, d)
	})
	t.Run("pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { pw.Write(flat); pw.Close() }()
		tmp := t.TempDir()
		d, err := OpenFlattened(pr, "stdin", tmp)
		pr.Close()
		if err != nil {
			t.Fatal(err)
		}
		if in := d.Info(); in.Format != "flattened" || in.Size != int64(len(raw)) {
			t.Errorf("info %+v", in)
		}
		samePages(t, ref, d)
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("spool file left behind: %v", ents)
		}
	})
	t.Run("elf", func(t *testing.T) {
		segs := []elfSeg{{paddr: 1 << 20, data: testPage(1), memsz: 8192}}
		e := elfCore(testNotes(), segs, true, false)
		d := openBytes(t, flatten(e, []int{50, 4000}), "flat-elf")
		if in := d.Info(); in.Format != "flattened" || in.Compression != "none" {
			t.Errorf("info %+v", in)
		}
		buf := make([]byte, 4096)
		if _, err := d.ReadPhys(buf, 1<<20); err != nil || !bytes.Equal(buf, testPage(1)) {
			t.Errorf("read: %v", err)
		}
		// Through a plain io.Reader: spooled.
		d2, err := OpenFlattened(io.MultiReader(bytes.NewReader(flatten(e, []int{7}))), "r", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer d2.Close()
		if _, err := d2.ReadPhys(buf, 1<<20); err != nil || !bytes.Equal(buf, testPage(1)) {
			t.Errorf("spooled read: %v", err)
		}
	})
}

// TestResolveFlat checks that later writes win over earlier ones.
func TestResolveFlat(t *testing.T) {
	// Write order: [0,10) from src 100, [5,8) from src 200, [9,20) from 300.
	got := resolveFlat([]flatRec{{0, 100, 10}, {5, 200, 3}, {9, 300, 11}})
	want := []flatRec{{0, 100, 5}, {5, 200, 3}, {8, 108, 1}, {9, 300, 11}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestFixtureVMCOREINFOParses(t *testing.T) {
	for _, fx := range fixtures {
		d := openFixture(t, fx.dir, fx.file)
		m, err := ParseVMCOREINFO(d.VMCOREINFO())
		if err != nil || m["OSRELEASE"] != "6.1.0-56-cloud-amd64" || m["PAGESIZE"] != "4096" || m["SYMBOL(swapper_pg_dir)"] == "" {
			t.Errorf("%s: %v", fx.dir, err)
		}
	}
}

// writeSplitParts writes the parts of one split kdump file, each holding
// the page frames [start, end) of its range, and returns their paths.
func writeSplitParts(t *testing.T, ranges [][2]uint64) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, r := range ranges {
		k := &kdumpFile{blockSize: 4096, maxPFN: 64, ram: func(p uint64) bool { return p < 48 }, pfns: testPFNs,
			page: testPage, encode: encMixed, status: flagZlib, notes: noteBlob(testNotes()), vmcoreinfo: []byte(testVMCOREINFO),
			level: 31, release: "6.1.0-test", machine: "x86_64", cpus: 2, timestamp: 1795693901, split: true, startPFN: r[0], endPFN: r[1]}
		p := filepath.Join(dir, fmt.Sprintf("vmcore.%d", i))
		if err := os.WriteFile(p, k.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestSplit writes a dump as two split parts and reads them as one.
func TestSplit(t *testing.T) {
	paths := writeSplitParts(t, [][2]uint64{{8, 64}, {0, 8}})
	// One part alone reads its own range only.
	one, err := Open(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	var pe *PageError
	if _, err := one.ReadPhys(make([]byte, 8), 10*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
		t.Errorf("pfn 10 from part [0,8): %v", err)
	}
	if in := one.Info(); !in.Split || in.StartPFN != 0 || in.EndPFN != 8 {
		t.Errorf("part info %+v", in)
	}
	one.Close()
	d, err := OpenSplit(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkSmall(t, d)
	n := 0
	d.PresentPages(func(uint64) bool { n++; return true })
	if n != len(testPFNs) {
		t.Errorf("%d pages present", n)
	}
}

// TestSplitInconsistent: parts of different crashes are not read as one
// dump; the error names the odd part.
func TestSplitInconsistent(t *testing.T) {
	part := func(release, vi string, ts int64, r [2]uint64) *kdumpFile {
		return &kdumpFile{blockSize: 4096, maxPFN: 64, ram: func(p uint64) bool { return p < 48 }, pfns: testPFNs,
			page: testPage, encode: encMixed, status: flagZlib, notes: noteBlob(testNotes()), vmcoreinfo: []byte(vi),
			level: 31, release: release, machine: "x86_64", cpus: 2, timestamp: ts, split: true, startPFN: r[0], endPFN: r[1]}
	}
	other := strings.Replace(testVMCOREINFO, "KERNELOFFSET=11600000", "KERNELOFFSET=22800000", 1)
	cases := []struct {
		name string
		b    *kdumpFile
		want string
	}{
		{"another release", part("6.2.0-other", testVMCOREINFO, 1795693901, [2]uint64{8, 64}), "release"},
		{"another VMCOREINFO", part("6.1.0-test", other, 1795693901, [2]uint64{8, 64}), "VMCOREINFO"},
		{"another machine", func() *kdumpFile {
			k := part("6.1.0-test", testVMCOREINFO, 1795693901, [2]uint64{8, 64})
			k.machine = "aarch64"
			return k
		}(), "machine"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "vmcore.0")
			b := filepath.Join(dir, "vmcore.1")
			os.WriteFile(a, part("6.1.0-test", testVMCOREINFO, 1795693901, [2]uint64{0, 8}).bytes(), 0o644)
			os.WriteFile(b, c.b.bytes(), 0o644)
			d, err := OpenSplit(a, b)
			if err == nil {
				d.Close()
				t.Fatal("parts of different crashes opened as one dump")
			}
			if !strings.Contains(err.Error(), "vmcore.1") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want it to name vmcore.1 and %q", err, c.want)
			}
		})
	}
}

// TestSplitMissingPart: parts that leave page frames uncovered (one part
// of three not given) open with a warning naming the gap, so that pages
// read as absent there are not taken for pages the dump left out.
func TestSplitMissingPart(t *testing.T) {
	paths := writeSplitParts(t, [][2]uint64{{0, 8}, {16, 64}})
	d, err := OpenSplit(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w := strings.Join(d.Info().Warnings, "\n")
	if !strings.Contains(w, "[8, 16)") || !strings.Contains(w, "missing") {
		t.Errorf("warnings %q do not name the uncovered range [8, 16)", w)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, c := range []struct {
		got  fmt.Stringer
		want string
	}{
		{PageExcluded, "excluded"}, {PageAbsent, "absent"}, {PageCorrupt, "corrupt"}, {PageErrorKind(9), "PageErrorKind(9)"},
	} {
		if s := c.got.String(); s != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.got, s, c.want)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{"\x7fELF\x02\x01", FormatELF},
		{"KDUMP   \x06", FormatKdump},
		{"DISKDUMP\x01", FormatKdump},
		{"makedumpfile\x00\x00\x00\x00\x00", FormatFlattened},
		// makedumpfile's own log lines start with its name: text, not a stream.
		{"makedumpfile Completed.\n", ""},
		{"makedumpfile", ""},
		{"\x7fEL", ""},
		{"", ""},
		{"[    0.000000] Linux version", ""},
	} {
		if got := Sniff([]byte(c.head)); got != c.want {
			t.Errorf("Sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

// TestWholeAndPartialPages: a whole-page read (decompressed straight into
// the caller's buffer, uncached) and reads of its pieces (through the page
// cache), in either order, give the same bytes.
func TestWholeAndPartialPages(t *testing.T) {
	for _, c := range encodings {
		t.Run(c.name, func(t *testing.T) {
			for _, wholeFirst := range []bool{true, false} {
				d := openBytes(t, smallKdump(c.enc, c.status), c.name)
				whole, parts := make([]byte, 4096), make([]byte, 4096)
				d.PresentPages(func(pfn uint64) bool {
					a := pfn * 4096
					readWhole := func() {
						if _, err := d.ReadPhys(whole, a); err != nil {
							t.Fatalf("pfn %d whole: %v", pfn, err)
						}
					}
					if wholeFirst {
						readWhole()
					}
					for _, r := range [][2]int{{0, 1}, {1, 2048}, {2048, 4096}} {
						if _, err := d.ReadPhys(parts[r[0]:r[1]], a+uint64(r[0])); err != nil {
							t.Fatalf("pfn %d [%d,%d): %v", pfn, r[0], r[1], err)
						}
					}
					if !wholeFirst {
						readWhole()
					}
					if !bytes.Equal(whole, parts) || !bytes.Equal(whole, testPage(pfn)) {
						t.Errorf("pfn %d: whole and partial reads differ (whole first: %v)", pfn, wholeFirst)
					}
					return true
				})
				d.Close()
			}
		})
	}
}

// TestPagedBitmap spreads dumped pages over a bitmap of several lookup
// pages and scan chunks, on and around their boundaries, whole and split
// in two parts at a page boundary: every page reads back, every other one
// is excluded, and PresentPages lists exactly the dumped ones.
func TestPagedBitmap(t *testing.T) {
	const maxPFN = 3*bitmapChunk*8 + 13 // not a multiple of 8: a masked last byte
	pfns := []uint64{0, 7, 8, 511, 512, 513, bitmapPage*8 - 1, bitmapPage * 8, bitmapPage*8 + 1,
		bitmapChunk*8 - 1, bitmapChunk * 8, 2*bitmapChunk*8 + 77, maxPFN - 2, maxPFN - 1}
	mk := func(split bool, start, end uint64) *Dump {
		k := &kdumpFile{blockSize: 4096, maxPFN: maxPFN, ram: func(uint64) bool { return true }, pfns: pfns, page: testPage, encode: encZlib, status: flagZlib,
			vmcoreinfo: []byte(testVMCOREINFO), level: 31, release: "6.1.0-test", machine: "x86_64", cpus: 1,
			split: split, startPFN: start, endPFN: end}
		return openBytes(t, k.bytes(), "paged")
	}
	check := func(d *Dump, lo, hi uint64) {
		t.Helper()
		var want, got []uint64
		for _, p := range pfns {
			if p >= lo && p < hi {
				want = append(want, p)
			}
		}
		d.PresentPages(func(pfn uint64) bool { got = append(got, pfn); return true })
		if !slices.Equal(got, want) {
			t.Errorf("present %v, want %v", got, want)
		}
		buf := make([]byte, 4096)
		for _, p := range want {
			if _, err := d.ReadPhys(buf, p*4096); err != nil || !bytes.Equal(buf, testPage(p)) {
				t.Errorf("pfn %d: %v", p, err)
			}
			if p+1 < hi && !slices.Contains(pfns, p+1) {
				var pe *PageError
				if _, err := d.ReadPhys(buf[:8], (p+1)*4096); !errors.As(err, &pe) || pe.Kind != PageExcluded {
					t.Errorf("pfn %d: %v, want excluded", p+1, err)
				}
			}
		}
	}
	d := mk(false, 0, 0)
	check(d, 0, maxPFN)
	d.Close()
	cut := uint64(bitmapPage * 8)
	for _, r := range [][2]uint64{{0, cut}, {cut, maxPFN}} {
		d := mk(true, r[0], r[1])
		check(d, r[0], r[1])
		d.Close()
	}
}
