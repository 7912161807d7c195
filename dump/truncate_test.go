package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// checkTruncated opens b cut at off and wants either an error naming the
// file and an offset, or a dump that says it is truncated (a warning
// naming an offset) whose unreadable pages are PageErrors naming an offset
// while the pages before the cut still read.
func checkTruncated(t *testing.T, b []byte, off int, name string) (ok, bad int) {
	t.Helper()
	cut := b[:off]
	d, err := OpenReaderAt(bytes.NewReader(cut), int64(len(cut)), name)
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "offset ") {
			t.Errorf("cut at %d: error without file or offset: %v", off, err)
		}
		return 0, 0
	}
	in := d.Info()
	if len(in.Warnings) == 0 || !strings.Contains(in.Warnings[0], "offset ") || !strings.Contains(in.Warnings[0], name) {
		t.Errorf("cut at %d: opened without a truncation warning: %v", off, in.Warnings)
	}
	buf := make([]byte, in.PageSize)
	d.PresentPages(func(pfn uint64) bool {
		_, err := d.ReadPhys(buf, pfn*uint64(in.PageSize))
		var pe *PageError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &pe) && strings.Contains(err.Error(), "offset"):
			// PageCorrupt past the cut; PageExcluded ("never written")
			// where a flattened stream's cut left a descriptor unwritten.
			bad++
		default:
			t.Errorf("cut at %d: pfn %d: %v", off, pfn, err)
		}
		return true
	})
	if bad == 0 {
		t.Errorf("cut at %d: every page still reads", off)
	}
	return ok, bad
}

func TestTruncatedSynthetic(t *testing.T) {
	kd := smallKdump(encZlib, flagZlib)
	// Structure of smallKdump: header block, one sub header block (notes
	// and VMCOREINFO), two bitmap blocks, descriptors, data.
	descAt := 4 * 4096
	dataAt := descAt + len(testPFNs)*descSize
	elf := elfCore(testNotes(), []elfSeg{{paddr: 4096, data: testPage(1), memsz: 4096}, {paddr: 8192, data: testPage(2), memsz: 4096}}, true, false)
	for _, c := range []struct {
		name string
		b    []byte
		offs []int
	}{
		{"kdump", kd, []int{0, 3, 8, 100, 430, 463, 4096 + 50, 4096 + 300, 2*4096 + 10, 3*4096 + 5, descAt + 30, dataAt + 10, len(kd) - 1}},
		{"elf", elf, []int{0, 3, 20, 63, 64 + 30, 128 + 40, 128 + 3*56 - 1, 128 + 3*56 + 20, len(elf) - 5000, len(elf) - 1}},
		{"flattened", flatten(kd, []int{4096}), []int{0, 10, 40, 4096, 4096 + 8, 4096 + 20, 3 * 4096, 6*4096 + 100, 7 * 4096, len(kd) - 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, off := range c.offs {
				checkTruncated(t, c.b, off, c.name+".vmcore")
			}
		})
	}
}

func TestTruncatedFixture(t *testing.T) {
	b, err := os.ReadFile(fixturePath(t, "skbcsum-kdump", "vmcore.kdump-d31"))
	if err != nil {
		t.Fatal(err)
	}
	// Header, sub header, note blob, the two bitmaps, descriptors, data.
	for _, off := range []int{0, 7, 200, 460, 4096 + 40, 0x1068 + 100, 0x1348 + 2000, 3*4096 + 10, 7*4096 + 10, 12 * 4096, 11*4096 + 5000, len(b) / 2, len(b) - 10} {
		ok, bad := checkTruncated(t, b, off, "vmcore.kdump-d31")
		if bad > 0 && ok == 0 {
			t.Errorf("cut at %d: no page reads", off)
		}
	}
}

// TestCorruptPages damages page data and descriptors: the damaged pages
// fail with PageError, the others still read.
func TestCorruptPages(t *testing.T) {
	for _, c := range []struct {
		name string
		enc  func(uint64, []byte) ([]byte, uint32)
	}{{"zlib", encZlib}, {"lzo", encLZO}, {"snappy", encSnappy}, {"zstd", encZstd}} {
		t.Run(c.name, func(t *testing.T) {
			b := smallKdump(c.enc, 0)
			descAt := 4 * 4096
			// Damage the data of pfn 2 (descriptor 1).
			d0 := openBytes(t, b, c.name)
			m := d0.mem.(*kdumpMemory)
			desc, _ := m.desc(1)
			off := int(le64(desc))
			b[off+len(desc)%5+2] ^= 0xff
			b[off+1] ^= 0x33
			// Point pfn 3's descriptor past EOF, give pfn 10's a huge size.
			putLE64(b[descAt+2*descSize:], uint64(len(b))+10)
			putLE32(b[descAt+4*descSize+8:], 1<<20)
			d := openBytes(t, b, c.name)
			buf := make([]byte, 4096)
			for _, p := range testPFNs {
				_, err := d.ReadPhys(buf, p*4096)
				var pe *PageError
				switch p {
				case 2, 3, 10:
					if !errors.As(err, &pe) || pe.Kind != PageCorrupt || !strings.Contains(err.Error(), "offset") {
						t.Errorf("pfn %d: %v", p, err)
					}
				default:
					if err != nil || !bytes.Equal(buf, testPage(p)) {
						t.Errorf("pfn %d: %v", p, err)
					}
				}
			}
		})
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func putLE64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func putLE32(b []byte, v uint32) {
	for i := 0; i < 4; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

// TestBadMagic names the file and offset 0.
func TestBadMagic(t *testing.T) {
	_, err := OpenReaderAt(bytes.NewReader([]byte("this is not a vmcore at all")), 27, "notes.txt")
	if err == nil || err.Error() != fmt.Sprintf("notes.txt: offset 0 (0x0): unknown dump format (magic %q): not ELF, kdump-compressed or flattened", "this is ") {
		t.Errorf("%v", err)
	}
	if _, err := OpenReaderAt(bytes.NewReader(nil), 0, "empty"); err == nil || !strings.Contains(err.Error(), "empty: offset 0") {
		t.Errorf("%v", err)
	}
}

// TestRequireVMCOREINFO: a dump without the note says so, naming the file.
func TestRequireVMCOREINFO(t *testing.T) {
	e := elfCore(testNotes()[:2], []elfSeg{{paddr: 0, data: testPage(1), memsz: 4096}}, true, false)
	d := openBytes(t, e, "qemu-novmci.elf")
	if d.VMCOREINFO() != "" {
		t.Fatal("VMCOREINFO from nowhere")
	}
	if _, err := d.RequireVMCOREINFO(); err == nil || !strings.Contains(err.Error(), "qemu-novmci.elf") {
		t.Errorf("%v", err)
	}
}

// TestKdumpHugeBitmap: a header whose max_mapnr claims a bitmap far larger
// than the file is refused with the file and the offset of the field,
// before anything of that size is allocated.
func TestKdumpHugeBitmap(t *testing.T) {
	base := smallKdump(encZlib, flagZlib) // 4 KiB blocks, sub header in block 1
	le := binary.LittleEndian
	for _, c := range []struct {
		name   string
		patch  func(b []byte)
		offset string
	}{
		{"max_mapnr (32-bit) past the bitmap", func(b []byte) {
			le.PutUint32(b[440:], 0xffffffff)
			le.PutUint64(b[4096+96:], 0) // no 64-bit override
		}, "offset 440 "},
		{"max_mapnr_64 of 2^40", func(b []byte) { le.PutUint64(b[4096+96:], 1<<40) }, "offset 4192 "},
		{"max_mapnr_64 that overflows (max+7)/8", func(b []byte) { le.PutUint64(b[4096+96:], ^uint64(0)) }, "offset 4192 "},
		{"bitmap_blocks past the file", func(b []byte) {
			le.PutUint32(b[436:], 1<<30)
			le.PutUint64(b[4096+96:], 1<<40)
		}, "offset "},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(base)
			c.patch(b)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), "huge.kdump")
			runtime.ReadMemStats(&after)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "huge.kdump: ") || !strings.Contains(err.Error(), c.offset) || strings.Contains(err.Error(), "internal error") {
				t.Errorf("error %v: want a FormatError naming the file and %q", err, c.offset)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file", n, len(b))
			}
		})
	}
}
