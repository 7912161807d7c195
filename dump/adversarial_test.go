package dump_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kernel"
)

// The adversarial suite: corrupt dumps made from every container the tests
// build and the real vmcores, each opened and its kernel log read through
// the real code path (dump.OpenReaderAt, kernel.New, Dmesg). A mutant must
// end in a clean error or a log, within a time and a memory bound; anything
// else (a panic, including one OpenReaderAt recovers as an internal error,
// a hang, a bound exceeded) fails the test. The mutants are derived from
// each dump's own structure, plus a few seeded random ones, so a run is
// the same every time.
const (
	// advSeed fixes the random mutants.
	advSeed = 9
	// advTime bounds one mutant's open and dmesg; advHang is when the
	// suite stops waiting for it.
	advTime = 2 * time.Second
	advHang = 15 * time.Second
	// advAlloc bounds the bytes one mutant may allocate in all, advHeld
	// what it may hold while open (the page cache is 64 MiB at most).
	advAlloc = 128 << 20
	advHeld  = 96 << 20
	// advRandom random mutants per dump: a few bytes of its headers
	// rewritten, or the file cut at a random offset.
	advRandom = 12
	// advMaxPerDump bounds the mutants of one real dump (a seeded sample
	// of them), to keep the suite well under a minute on two cores.
	advMaxPerDump = 120
)

// Outcomes.
const (
	outError = "clean error"
	outLog   = "log"
	outOther = "other"
)

// field is one integer of a dump's headers: where it is and how wide.
type field struct {
	name  string
	off   int64
	width int
	be    bool
}

// patch replaces bytes of the dump at off.
type patch struct {
	off int64
	b   []byte
}

// mutant is a dump with some bytes replaced and maybe cut short.
type mutant struct {
	name    string
	patches []patch
	size    int64 // -1: the dump's own
}

// subject is one dump to mutate.
type subject struct {
	format, name string
	r            io.ReaderAt
	size         int64
	fields       []field
	cuts         []int64
	extra        []mutant // structure-specific mutants (bitmaps, markers)
	logs         []mutant // damage to the memory the log is read from
	// stream: open the mutants as a pipe would deliver them, through
	// dump.OpenFlattened's spool into tmp, not at random.
	stream bool
	tmp    string
}

// overlay serves a mutant: the dump's bytes, patched and cut.
type overlay struct {
	r       io.ReaderAt
	size    int64
	patches []patch
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(want), o.size-off)]
	if n, err := o.r.ReadAt(p, off); n < len(p) {
		return n, err
	}
	for _, pt := range o.patches {
		lo, hi := max(pt.off, off), min(pt.off+int64(len(pt.b)), off+int64(len(p)))
		if lo < hi {
			copy(p[lo-off:hi-off], pt.b[lo-pt.off:hi-pt.off])
		}
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// values are the integers every field is set to: 0, 1, its maximum and
// its top bit alone (2^63 for 64-bit fields).
func (f field) values() [][]byte {
	var out [][]byte
	for _, v := range []uint64{0, 1, ^uint64(0), 1 << (8*f.width - 1)} {
		b := make([]byte, 8)
		if f.be {
			binary.BigEndian.PutUint64(b, v)
			b = b[8-f.width:]
		} else {
			binary.LittleEndian.PutUint64(b, v)
			b = b[:f.width]
		}
		out = append(out, b)
	}
	return out
}

// mutants lists a subject's mutants: every field at every value, every
// cut, the extras, and the seeded random ones.
func (s *subject) mutants() []mutant {
	var ms []mutant
	for _, f := range s.fields {
		if f.off < 0 || f.off+int64(f.width) > s.size {
			continue
		}
		for _, v := range f.values() {
			ms = append(ms, mutant{name: fmt.Sprintf("%s=%x", f.name, v), patches: []patch{{f.off, v}}, size: -1})
		}
	}
	for _, c := range s.cuts {
		if c >= 0 && c < s.size {
			ms = append(ms, mutant{name: fmt.Sprintf("cut at %d", c), size: c})
		}
	}
	ms = append(ms, s.extra...)
	rnd := rand.New(rand.NewPCG(advSeed, uint64(len(s.name))*1e9+uint64(s.size)))
	head := min(s.size, 64<<10)
	for i := range advRandom {
		if i%3 == 2 {
			c := rnd.Int64N(s.size)
			ms = append(ms, mutant{name: fmt.Sprintf("random cut at %d", c), size: c})
			continue
		}
		var ps []patch
		for range 1 + rnd.IntN(4) {
			ps = append(ps, patch{rnd.Int64N(head), []byte{byte(rnd.Uint32())}})
		}
		ms = append(ms, mutant{name: fmt.Sprintf("random bytes %v", ps), patches: ps, size: -1})
	}
	if len(ms) > advMaxPerDump {
		// A seeded sample: the same mutants every run.
		rnd.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		ms = ms[:advMaxPerDump]
	}
	return append(ms, s.logs...)
}

// read reads n bytes of the subject at off, or zeros past its end.
func (s *subject) read(off int64, n int) []byte {
	b := make([]byte, n)
	if off >= 0 {
		s.r.ReadAt(b, off)
	}
	return b
}

func (s *subject) u16(off int64) uint64 { return uint64(binary.LittleEndian.Uint16(s.read(off, 2))) }
func (s *subject) u32(off int64) uint64 { return uint64(binary.LittleEndian.Uint32(s.read(off, 4))) }
func (s *subject) u64(off int64) uint64 { return binary.LittleEndian.Uint64(s.read(off, 8)) }

// describe fills fields, cuts and extras from the dump's structure.
func (s *subject) describe() {
	head := s.read(0, 16)
	switch dump.Sniff(head) {
	case dump.FormatELF:
		s.describeELF()
	case dump.FormatKdump:
		s.describeKdump()
	case dump.FormatFlattened:
		s.describeFlat()
	}
	s.cuts = append(s.cuts, 0, 1, 8, s.size-1)
}

func (s *subject) add(name string, off int64, width int) {
	s.fields = append(s.fields, field{name: name, off: off, width: width})
}

func (s *subject) describeELF() {
	for _, f := range []struct {
		name  string
		off   int64
		width int
	}{{"EI_CLASS", 4, 1}, {"EI_DATA", 5, 1}, {"e_type", 16, 2}, {"e_machine", 18, 2}, {"e_phoff", 32, 8}, {"e_shoff", 40, 8},
		{"e_flags", 48, 4}, {"e_phentsize", 54, 2}, {"e_phnum", 56, 2}, {"e_shentsize", 58, 2}} {
		s.add(f.name, f.off, f.width)
	}
	phoff := int64(s.u64(32))
	phnum := int64(s.u16(56))
	if phnum == 0xffff {
		shoff := int64(s.u64(40))
		s.add("sh_info (PN_XNUM count)", shoff+44, 4)
		phnum = int64(s.u32(shoff + 44))
	}
	s.cuts = append(s.cuts, 4, 16, 63, 64, phoff, phoff+56, phoff+56*phnum-1, phoff+56*phnum)
	if phnum < 1<<16 {
		s.logPageMutants(s.elfFileOff(phoff, phnum))
	}
	for _, i := range slices.Compact([]int64{0, 1, 2, phnum / 2, phnum - 1}) {
		if i < 0 || i >= phnum {
			continue
		}
		at := phoff + 56*i
		for _, f := range []struct {
			name  string
			off   int64
			width int
		}{{"p_type", 0, 4}, {"p_offset", 8, 8}, {"p_paddr", 24, 8}, {"p_filesz", 32, 8}, {"p_memsz", 40, 8}} {
			s.add(fmt.Sprintf("phdr[%d].%s", i, f.name), at+f.off, f.width)
		}
		off, filesz := int64(s.u64(at+8)), int64(s.u64(at+32))
		s.cuts = append(s.cuts, off, off+filesz/2, off+filesz)
		if s.u32(at) == 4 { // PT_NOTE: its notes' sizes
			for pos, k := off, 0; pos+12 <= off+filesz && k < 64; k++ {
				namesz, descsz := int64(s.u32(pos)), int64(s.u32(pos+4))
				name := string(bytes.TrimRight(s.read(pos+12, int(min(namesz, 16))), "\x00"))
				if k < 2 || name == "VMCOREINFO" {
					s.add(fmt.Sprintf("note[%d %s].n_namesz", k, name), pos, 4)
					s.add(fmt.Sprintf("note[%d %s].n_descsz", k, name), pos+4, 4)
					s.cuts = append(s.cuts, pos+12, pos+12+(namesz+3)&^3+descsz/2)
				}
				pos += 12 + (namesz+3)&^3 + (descsz+3)&^3
			}
		}
	}
}

// elfFileOff maps a page frame to where an ELF dump stores it, or -1.
func (s *subject) elfFileOff(phoff, phnum int64) func(pfn uint64) int64 {
	type seg struct{ paddr, off, filesz uint64 }
	var segs []seg
	for i := range phnum {
		at := phoff + 56*i
		if s.u32(at) == 1 {
			segs = append(segs, seg{s.u64(at + 24), s.u64(at + 8), s.u64(at + 32)})
		}
	}
	return func(pfn uint64) int64 {
		pa := pfn * 4096
		for _, sg := range segs {
			if pa >= sg.paddr && pa+4096 <= sg.paddr+sg.filesz {
				return int64(sg.off + pa - sg.paddr)
			}
		}
		return -1
	}
}

// kdumpFileOff maps a page frame to where a kdump-compressed dump stores
// it uncompressed (descriptor flags 0, a whole page), or -1: its rank in
// the dumpable bitmap picks its descriptor.
func (s *subject) kdumpFileOff(bs, bm2, descOff int64) func(pfn uint64) int64 {
	return func(pfn uint64) int64 {
		if bs != 4096 {
			return -1
		}
		bm := s.read(bm2, int(pfn/8+1))
		if bm[pfn/8]&(1<<(pfn%8)) == 0 {
			return -1
		}
		rank := 0
		for _, b := range bm[:pfn/8] {
			rank += bits.OnesCount8(b)
		}
		rank += bits.OnesCount8(bm[pfn/8] & (1<<(pfn%8) - 1))
		d := s.read(descOff+24*int64(rank), 24)
		off, size, flags := binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint32(d[8:]), binary.LittleEndian.Uint32(d[12:])
		if flags != 0 || size != 4096 || off+4096 > uint64(s.size) {
			return -1
		}
		return int64(off)
	}
}

// logPageMutants damages the memory the kernel log is read from (page
// tables, the printk ring's descriptors, infos and text) where the dump
// stores it verbatim (ELF, uncompressed kdump pages): zeroed, the
// descriptors lose their state and the ring its records; filled with
// 0xff, every index and size is at its maximum.
func (s *subject) logPageMutants(fileOff func(pfn uint64) int64) {
	pfns := logPFNs(s)
	// Each run of consecutive pages (an array: the descriptors, the
	// infos, the text ring) damaged whole, and a seeded sample of single
	// pages.
	fill := func(what string, pfn uint64, n int, b byte) {
		off := fileOff(pfn)
		if off < 0 || fileOff(pfn+uint64(n)-1) != off+int64(n-1)*4096 {
			return
		}
		s.logs = append(s.logs, mutant{name: fmt.Sprintf("%s at pfn %#x, %d pages, all %#x", what, pfn, n, b),
			patches: []patch{{off, bytes.Repeat([]byte{b}, n*4096)}}, size: -1})
	}
	for i := 0; i < len(pfns); {
		j := i + 1
		for j < len(pfns) && pfns[j] == pfns[j-1]+1 {
			j++
		}
		fill("log pages", pfns[i], j-i, 0)
		fill("log pages", pfns[i], j-i, 0xff)
		i = j
	}
	// The printk ring's own fields, and its descriptor array whole.
	for _, f := range ringFields(s, fileOff) {
		for _, v := range f.values() {
			s.logs = append(s.logs, mutant{name: fmt.Sprintf("%s=%x", f.name, v), patches: []patch{{f.off, v}}, size: -1})
		}
	}
	rnd := rand.New(rand.NewPCG(advSeed, uint64(len(pfns))))
	for range min(len(pfns), 16) {
		pfn := pfns[rnd.IntN(len(pfns))]
		fill("log page", pfn, 1, []byte{0, 0xff, 0x80}[rnd.IntN(3)])
	}
}

// ringFields finds the lockless printk ring of an ELF dump the way Dmesg
// does (VMCOREINFO's SYMBOL(prb) and offsets) and returns where its
// counts and indices are in the file; it also adds the mutants that
// zero, or set to "reserved", every descriptor at once: a ring with no
// readable record.
func ringFields(s *subject, fileOff func(pfn uint64) int64) []field {
	d, err := dump.OpenReaderAt(s.r, s.size, s.name)
	if err != nil {
		return nil
	}
	defer d.Close()
	k, err := kernel.New(d, d.VMCOREINFO())
	if err != nil {
		return nil
	}
	vi := k.VMCOREINFO()
	off := func(key string) uint64 { v, _ := vi.Offset(key); return uint64(v) }
	at := func(vaddr uint64) int64 {
		pa, err := k.Translate(vaddr)
		if err != nil {
			return -1
		}
		if o := fileOff(pa / 4096); o >= 0 {
			return o + int64(pa%4096)
		}
		return -1
	}
	u64 := func(vaddr uint64) uint64 {
		var b [8]byte
		k.ReadVirt(b[:], vaddr)
		return binary.LittleEndian.Uint64(b[:])
	}
	sym, ok := vi.Symbol("prb")
	if !ok {
		return nil
	}
	rb := u64(sym)
	desc := rb + off("printk_ringbuffer.desc_ring")
	text := rb + off("printk_ringbuffer.text_data_ring")
	counter := off("atomic_long_t.counter")
	var fs []field
	for _, f := range []struct {
		name  string
		vaddr uint64
		width int
	}{
		{"prb", sym, 8},
		{"prb.desc_ring.count_bits", desc + off("prb_desc_ring.count_bits"), 4},
		{"prb.desc_ring.descs", desc + off("prb_desc_ring.descs"), 8},
		{"prb.desc_ring.infos", desc + off("prb_desc_ring.infos"), 8},
		{"prb.desc_ring.head_id", desc + off("prb_desc_ring.head_id") + counter, 8},
		{"prb.desc_ring.tail_id", desc + off("prb_desc_ring.tail_id") + counter, 8},
		{"prb.text_data_ring.size_bits", text + off("prb_data_ring.size_bits"), 4},
		{"prb.text_data_ring.data", text + off("prb_data_ring.data"), 8},
	} {
		if o := at(f.vaddr); o >= 0 {
			fs = append(fs, field{name: f.name, off: o, width: f.width})
		}
	}
	// Every descriptor's state: zeroed (reserved, id 0) or all ones.
	countBits := binary.LittleEndian.Uint32(s.read(at(desc+off("prb_desc_ring.count_bits")), 4))
	descs := u64(desc + off("prb_desc_ring.descs"))
	size, _ := vi.Size("prb_desc")
	if countBits > 20 || size <= 0 {
		return fs
	}
	for _, b := range []byte{0, 0xff} {
		var ps []patch
		n := uint64(size) << countBits
		for v := descs; v < descs+n; v = (v + 4096) &^ 4095 {
			o := at(v)
			if o < 0 {
				return fs
			}
			ps = append(ps, patch{o, bytes.Repeat([]byte{b}, int(min(descs+n, (v+4096)&^4095)-v))})
		}
		s.logs = append(s.logs, mutant{name: fmt.Sprintf("every printk descriptor all %#x", b), patches: ps, size: -1})
	}
	return fs
}

// logPFNs lists the page frames reading the subject's log touches, or
// none when it has no log to read.
func logPFNs(s *subject) []uint64 {
	d, err := dump.OpenReaderAt(s.r, s.size, s.name)
	if err != nil {
		return nil
	}
	defer d.Close()
	rec := &pageRecorder{Dump: d, pfns: map[uint64]bool{}}
	k, err := kernel.New(rec, d.VMCOREINFO())
	if err != nil || k.Dmesg(io.Discard) != nil {
		return nil
	}
	return slices.Sorted(func(yield func(uint64) bool) {
		for p := range rec.pfns {
			if !yield(p) {
				return
			}
		}
	})
}

func (s *subject) describeKdump() {
	for _, f := range []struct {
		name  string
		off   int64
		width int
	}{{"header_version", 8, 4}, {"timestamp", 408, 8}, {"status", 424, 4}, {"block_size", 428, 4}, {"sub_hdr_size", 432, 4},
		{"bitmap_blocks", 436, 4}, {"max_mapnr", 440, 4}, {"nr_cpus", 460, 4}} {
		s.add(f.name, f.off, f.width)
	}
	bs := int64(s.u32(428))
	sub := int64(s.u32(432))
	bmBlocks := int64(s.u32(436))
	for _, f := range []struct {
		name  string
		off   int64
		width int
	}{{"phys_base", 0, 8}, {"dump_level", 8, 4}, {"split", 12, 4}, {"start_pfn", 16, 8}, {"end_pfn", 24, 8},
		{"offset_vmcoreinfo", 32, 8}, {"size_vmcoreinfo", 40, 8}, {"offset_note", 48, 8}, {"size_note", 56, 8},
		{"start_pfn_64", 80, 8}, {"end_pfn_64", 88, 8}, {"max_mapnr_64", 96, 8}} {
		s.add("sub."+f.name, bs+f.off, f.width)
	}
	bm1 := (1 + sub) * bs
	half := bmBlocks * bs / 2
	bm2 := bm1 + half
	descOff := bm1 + bmBlocks*bs
	data0 := int64(s.u64(descOff))
	nDesc := max((data0-descOff)/24, 1)
	s.cuts = append(s.cuts, 463, 464, bs-1, bs, bs+104, bm1, bm2, bm2+half/2, descOff, descOff+12, descOff+24*(nDesc/2), data0, data0+100, (data0+s.size)/2)
	for _, i := range slices.Compact([]int64{0, 1, 2, nDesc / 2, nDesc - 1}) {
		at := descOff + 24*i
		s.add(fmt.Sprintf("desc[%d].offset", i), at, 8)
		s.add(fmt.Sprintf("desc[%d].size", i), at+8, 4)
		s.add(fmt.Sprintf("desc[%d].flags", i), at+12, 4)
	}
	fill := func(name string, off, n int64, b byte) {
		if off < 0 || n <= 0 || off+n > s.size {
			return
		}
		s.extra = append(s.extra, mutant{name: name, patches: []patch{{off, bytes.Repeat([]byte{b}, int(n))}}, size: -1})
	}
	if s.u32(424)&0x3f == 0 { // no page compression: pages are verbatim
		s.logPageMutants(s.kdumpFileOff(bs, bm2, descOff))
	}
	fill("dumpable bitmap: first block all set", bm2, min(bs, half), 0xff)
	fill("dumpable bitmap: first block clear", bm2, min(bs, half), 0)
	fill("dumpable bitmap: all set", bm2, half, 0xff)
	fill("dumpable bitmap: last byte set", bm2+half-1, 1, 0xff)
	fill("RAM bitmap: first block clear", bm1, min(bs, half), 0)
	fill("descriptors: first 4 KiB zero", descOff, min(4096, nDesc*24), 0)
	fill("descriptors: first 4 KiB 0xff", descOff, min(4096, nDesc*24), 0xff)
}

func (s *subject) describeFlat() {
	for _, f := range []struct {
		name string
		off  int64
	}{{"flat header type", 16}, {"flat header version", 24}} {
		s.fields = append(s.fields, field{name: f.name, off: f.off, width: 8, be: true})
	}
	var recs []int64
	pos, end := int64(4096), int64(-1)
	for pos+16 <= s.size {
		h := s.read(pos, 16)
		dst, n := int64(binary.BigEndian.Uint64(h)), int64(binary.BigEndian.Uint64(h[8:]))
		if dst == -1 {
			end = pos
			break
		}
		if n < 0 || n > s.size {
			break
		}
		recs = append(recs, pos)
		pos += 16 + n
	}
	s.cuts = append(s.cuts, 16, 4095, 4096, 4096+8, 4096+16)
	for _, i := range slices.Compact([]int{0, 1, 2, len(recs) / 2, len(recs) - 1}) {
		if i < 0 || i >= len(recs) {
			continue
		}
		at := recs[i]
		s.fields = append(s.fields, field{name: fmt.Sprintf("record[%d].offset", i), off: at, width: 8, be: true},
			field{name: fmt.Sprintf("record[%d].size", i), off: at + 8, width: 8, be: true})
		s.cuts = append(s.cuts, at, at+8, at+16, at+16+int64(binary.BigEndian.Uint64(s.read(at+8, 8)))/2)
	}
	if end >= 0 {
		s.cuts = append(s.cuts, end, end+8)
		s.extra = append(s.extra,
			mutant{name: "end marker as a record to offset 0", patches: []patch{{end, make([]byte, 8)}}, size: -1},
			mutant{name: "end marker size 2^63", patches: []patch{{end + 8, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}}}, size: -1})
	}
	if len(recs) > 1 {
		// A record header repeated over the next: a write to the same
		// range twice, and the stream shifted out of step.
		s.extra = append(s.extra, mutant{name: "second record header copied from the first", patches: []patch{{recs[1], s.read(recs[0], 16)}}, size: -1})
	}
}

// countWriter counts the log's bytes.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// verdict is what one mutant came to.
type verdict struct {
	outcome, detail string
	took            time.Duration // open and dmesg, wall clock
	alloc           uint64        // bytes allocated meanwhile
}

// runMutant opens a mutant and reads its log, as `ktriage dmesg` does.
func runMutant(s *subject, m mutant) verdict {
	size := s.size
	if m.size >= 0 {
		size = m.size
	}
	r := &overlay{r: s.r, size: size, patches: m.patches}
	name := s.name + ".mutant"
	done := make(chan verdict, 1)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	open := func() (*dump.Dump, error) { return dump.OpenReaderAt(r, size, name) }
	if s.stream {
		// A plain io.Reader, as a pipe is: spooled, not read at random.
		open = func() (*dump.Dump, error) { return dump.OpenFlattened(io.NewSectionReader(r, 0, size), name, s.tmp) }
	}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- verdict{outcome: outOther, detail: fmt.Sprintf("panic: %v", p)}
			}
		}()
		done <- openAndDmesg(open, name, &before)
	}()
	select {
	case v := <-done:
		v.took = time.Since(start)
		if v.took > advTime && v.outcome != outOther {
			v.outcome, v.detail = outOther, fmt.Sprintf("took %v (bound %v): %s", v.took.Round(time.Millisecond), advTime, v.detail)
		}
		return v
	case <-time.After(advHang):
		return verdict{outcome: outOther, detail: fmt.Sprintf("hung: no result after %v", advHang)}
	}
}

func openAndDmesg(open func() (*dump.Dump, error), name string, before *runtime.MemStats) verdict {
	d, err := open()
	if err != nil {
		return classifyErr(err, "open", name)
	}
	defer d.Close()
	vi, err := d.RequireVMCOREINFO()
	if err != nil {
		return classifyErr(err, "vmcoreinfo", name)
	}
	k, err := kernel.New(d, vi)
	if err != nil {
		return classifyErr(err, "kernel", "kernel: ")
	}
	var w countWriter
	err = k.Dmesg(&w)
	var mid runtime.MemStats
	runtime.ReadMemStats(&mid)
	alloc := mid.TotalAlloc - before.TotalAlloc
	v := func() verdict {
		if alloc > advAlloc {
			return verdict{outcome: outOther, detail: fmt.Sprintf("allocated %d MiB (bound %d MiB)", alloc>>20, advAlloc>>20)}
		}
		if h := int64(mid.HeapAlloc) - int64(before.HeapAlloc); h > advHeld {
			return verdict{outcome: outOther, detail: fmt.Sprintf("holds %d MiB open (bound %d MiB)", h>>20, advHeld>>20)}
		}
		if w.n > 0 {
			return verdict{outcome: outLog, detail: fmt.Sprintf("%d bytes of log (%v)", w.n, err)}
		}
		if err == nil {
			return verdict{outcome: outOther, detail: "an empty log without an error"}
		}
		return classifyErr(err, "dmesg", "kernel: ")
	}()
	v.alloc = alloc
	return v
}

// classifyErr accepts an error that says where it comes from; one that
// hides a recovered panic is not clean.
func classifyErr(err error, stage, prefix string) verdict {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "internal error"):
		return verdict{outcome: outOther, detail: stage + ": " + msg}
	case !strings.HasPrefix(msg, prefix):
		return verdict{outcome: outOther, detail: fmt.Sprintf("%s: error does not start with %q: %s", stage, prefix, msg)}
	}
	return verdict{outcome: outError, detail: stage + ": " + msg}
}

// tally counts outcomes overall and by format.
type tally struct {
	mu       sync.Mutex
	byFormat map[string]map[string]int
	others   []string
	// the slowest mutant and the most allocating one
	slowest, hungriest       verdict
	slowestWhat, hungriestOf string
}

func (t *tally) add(format string, v verdict, what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byFormat[format] == nil {
		t.byFormat[format] = map[string]int{}
	}
	t.byFormat[format][v.outcome]++
	if v.took > t.slowest.took {
		t.slowest, t.slowestWhat = v, what
	}
	if v.alloc > t.hungriest.alloc {
		t.hungriest, t.hungriestOf = v, what
	}
	if v.outcome == outOther {
		t.others = append(t.others, what+": "+v.detail)
	}
}

// TestAdversarialDumps runs the mutants of every dump the tests make
// (synthetic ones of each container and compression, the shared fixture
// re-encoded as snappy and zstd) and of the real vmcores, and prints the
// counts by outcome and format (go test -v -run TestAdversarialDumps).
func TestAdversarialDumps(t *testing.T) {
	tl := &tally{byFormat: map[string]map[string]int{}}
	var subjects []*subject
	for _, s := range dump.TinySamples() {
		subjects = append(subjects, &subject{format: s.Format, name: s.Name, r: bytes.NewReader(s.Bytes), size: int64(len(s.Bytes))})
		if s.Format == "flattened" {
			subjects = append(subjects, &subject{format: "flattened-pipe", name: s.Name + "-pipe", r: bytes.NewReader(s.Bytes), size: int64(len(s.Bytes)),
				stream: true, tmp: t.TempDir()})
		}
	}
	for _, s := range dump.ReencodedFixtures(t, logPages(t, dump.FixturePath(t))) {
		subjects = append(subjects, &subject{format: s.Format, name: s.Name, r: bytes.NewReader(s.Bytes), size: int64(len(s.Bytes))})
	}
	if f := openSubject(t, "kdump-zlib", "fixture-kdump-d31", dump.FixturePath(t)); f != nil {
		subjects = append(subjects, f)
	}
	// The real vmcores, when the cache has them.
	real := map[string]string{"elf-qemu": "qemu-elf", "elf-proc-vmcore": "elf", "kdump-zlib": "kdump-zlib", "kdump-lzo": "kdump-lzo",
		"flat": "flattened", "kdump-zlib-qemu": "flattened"}
	if _, err := os.Stat(vmcores.CacheDir() + "/manifest.json"); err == nil {
		for _, e := range vmcores.Manifest(t) {
			if f, ok := real[e.Name]; ok {
				if s := openSubject(t, f, e.Name, e.Path); s != nil {
					subjects = append(subjects, s)
				}
			}
		}
	} else {
		t.Logf("no real vmcores in %s: synthetic dumps only", vmcores.CacheDir())
	}
	start := time.Now()
	total := 0
	for _, s := range subjects {
		s.describe()
		mine := map[string]int{}
		for _, m := range s.mutants() {
			v := runMutant(s, m)
			tl.add(s.format, v, s.name+" "+m.name)
			mine[v.outcome]++
			total++
			if os.Getenv("KTRIAGE_ADV_VERBOSE") != "" {
				t.Logf("%s %s: %s: %s", s.name, m.name, v.outcome, v.detail)
			}
		}
		t.Logf("%-24s %-13s %3d clean error, %3d log, %d other", s.name, s.format, mine[outError], mine[outLog], mine[outOther])
	}
	formats := slices.Sorted(func(yield func(string) bool) {
		for f := range tl.byFormat {
			if !yield(f) {
				return
			}
		}
	})
	sum := map[string]int{}
	for _, f := range formats {
		c := tl.byFormat[f]
		t.Logf("%-14s %4d mutants: %4d clean error, %4d log, %d other", f, c[outError]+c[outLog]+c[outOther], c[outError], c[outLog], c[outOther])
		for k, n := range c {
			sum[k] += n
		}
	}
	t.Logf("%-14s %4d mutants of %d dumps in %v: %d clean error, %d log, %d other", "all", total, len(subjects), time.Since(start).Round(time.Millisecond), sum[outError], sum[outLog], sum[outOther])
	t.Logf("slowest: %v (bound %v), %s; most allocating: %d MiB (bound %d MiB), %s",
		tl.slowest.took.Round(time.Millisecond), advTime, tl.slowestWhat, tl.hungriest.alloc>>20, advAlloc>>20, tl.hungriestOf)
	for _, s := range subjects {
		if ents, _ := os.ReadDir(s.tmp); s.stream && len(ents) > 0 {
			t.Errorf("%s: spool files left behind: %v", s.name, ents)
		}
	}
	for _, o := range tl.others {
		t.Errorf("other: %s", o)
	}
	if sum[outLog] == 0 {
		t.Error("no mutant gave a log: the suite is not reaching Dmesg")
	}
}

// openSubject opens a dump file to mutate, keeping it open for the test.
func openSubject(t *testing.T, format, name, path string) *subject {
	f, err := os.Open(path)
	if err != nil {
		t.Logf("%s: %v", name, err)
		return nil
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return &subject{format: format, name: name, r: f, size: st.Size()}
}

// pageRecorder notes the page frames a reader touches.
type pageRecorder struct {
	*dump.Dump
	pfns map[uint64]bool
}

func (p *pageRecorder) ReadPhys(b []byte, paddr uint64) (int, error) {
	for a := paddr &^ 4095; a < paddr+uint64(len(b)); a += 4096 {
		p.pfns[a/4096] = true
	}
	return p.Dump.ReadPhys(b, paddr)
}

// logPages returns the page frames reading the dump's log touches.
func logPages(t *testing.T, path string) func(uint64) bool {
	d, err := dump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rec := &pageRecorder{Dump: d, pfns: map[uint64]bool{}}
	k, err := kernel.New(rec, d.VMCOREINFO())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Dmesg(io.Discard); err != nil {
		t.Fatal(err)
	}
	return func(pfn uint64) bool { return rec.pfns[pfn] }
}
