package dump

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"sort"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
)

// This file writes the containers the package reads, for tests: a
// kdump-compressed file from pages (and a re-encoder of a real dump's pages
// into other compressions, page flags set as makedumpfile sets them), an
// ELF vmcore in QEMU's layout, and makedumpfile's flattened stream of any
// file.

// kdumpFile describes a kdump-compressed file to write.
type kdumpFile struct {
	blockSize  int
	maxPFN     uint64
	ram        func(pfn uint64) bool // first bitmap; nil: the dumpable pages
	pfns       []uint64              // dumpable pages, increasing
	page       func(pfn uint64) []byte
	encode     func(pfn uint64, page []byte) ([]byte, uint32)
	status     uint32
	notes      []byte // ELF note blob (offset_note)
	vmcoreinfo []byte // offset_vmcoreinfo text
	level      int32
	release    string
	machine    string
	cpus       int32
	timestamp  int64
	version    int32
	// split parts: start and end pfn; the descriptors cover only pfns in
	// [startPFN, endPFN).
	split            bool
	startPFN, endPFN uint64
	// shareZero stores all-zero pages once, as makedumpfile does.
	shareZero bool
}

func (k *kdumpFile) bytes() []byte {
	le := binary.LittleEndian
	bs := k.blockSize
	if k.version == 0 {
		k.version = 6
	}
	sub := make([]byte, 104)
	subLen := 104 + len(k.notes) + len(k.vmcoreinfo)
	subBlocks := (subLen + bs - 1) / bs
	bmBytes := int((k.maxPFN + 7) / 8)
	half := (bmBytes + bs - 1) / bs
	if half == 0 {
		half = 1
	}
	out := make([]byte, (1+subBlocks+2*half)*bs)
	h := out[:bs]
	copy(h, "KDUMP   ")
	le.PutUint32(h[8:], uint32(k.version))
	uts := h[12:]
	copy(uts[0:], "Linux")
	copy(uts[65:], "testhost")
	copy(uts[130:], k.release)
	copy(uts[195:], "#1 SMP")
	copy(uts[260:], k.machine)
	le.PutUint64(h[408:], uint64(k.timestamp))
	le.PutUint32(h[424:], k.status)
	le.PutUint32(h[428:], uint32(bs))
	le.PutUint32(h[432:], uint32(subBlocks))
	le.PutUint32(h[436:], uint32(2*half))
	le.PutUint32(h[440:], uint32(min(k.maxPFN, 0xffffffff)))
	le.PutUint32(h[460:], uint32(k.cpus))

	le.PutUint32(sub[8:], uint32(k.level))
	if k.split {
		le.PutUint32(sub[12:], 1)
		le.PutUint64(sub[16:], k.startPFN)
		le.PutUint64(sub[24:], k.endPFN)
		le.PutUint64(sub[80:], k.startPFN)
		le.PutUint64(sub[88:], k.endPFN)
	}
	noteOff := bs + 104
	viOff := noteOff + len(k.notes)
	if len(k.vmcoreinfo) > 0 {
		le.PutUint64(sub[32:], uint64(viOff))
		le.PutUint64(sub[40:], uint64(len(k.vmcoreinfo)))
	}
	if len(k.notes) > 0 {
		le.PutUint64(sub[48:], uint64(noteOff))
		le.PutUint64(sub[56:], uint64(len(k.notes)))
	}
	le.PutUint64(sub[96:], k.maxPFN)
	copy(out[bs:], sub)
	copy(out[noteOff:], k.notes)
	copy(out[viOff:], k.vmcoreinfo)

	bm1 := out[(1+subBlocks)*bs:]
	bm2 := out[(1+subBlocks+half)*bs:]
	for _, p := range k.pfns {
		bm2[p/8] |= 1 << (p % 8)
	}
	for p := uint64(0); p < k.maxPFN; p++ {
		if (k.ram != nil && k.ram(p)) || bm2[p/8]&(1<<(p%8)) != 0 {
			bm1[p/8] |= 1 << (p % 8)
		}
	}
	var mine []uint64
	for _, p := range k.pfns {
		if !k.split || (p >= k.startPFN && p < k.endPFN) {
			mine = append(mine, p)
		}
	}
	descs := make([]byte, len(mine)*descSize)
	dataOff := len(out) + len(descs)
	var data []byte
	zeroAt := -1
	for i, p := range mine {
		pg := k.page(p)
		d := descs[i*descSize:]
		if k.shareZero && allZero(pg) && zeroAt >= 0 {
			copy(d, descs[zeroAt*descSize:(zeroAt+1)*descSize])
			continue
		}
		enc, flags := pg, uint32(0)
		if k.encode != nil {
			enc, flags = k.encode(p, pg)
		}
		le.PutUint64(d, uint64(dataOff+len(data)))
		le.PutUint32(d[8:], uint32(len(enc)))
		le.PutUint32(d[12:], flags)
		data = append(data, enc...)
		if allZero(pg) {
			zeroAt = i
		}
	}
	out = append(out, descs...)
	return append(out, data...)
}

// Page encoders with makedumpfile's rule: a page that does not shrink is
// stored raw (flags 0).
func encZlib(_ uint64, pg []byte) ([]byte, uint32) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(pg)
	w.Close()
	return keepSmaller(b.Bytes(), pg, flagZlib)
}

func encSnappy(_ uint64, pg []byte) ([]byte, uint32) {
	return keepSmaller(snappy.Encode(nil, pg), pg, flagSnappy)
}

var zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))

func encZstd(_ uint64, pg []byte) ([]byte, uint32) {
	return keepSmaller(zenc.EncodeAll(pg, nil), pg, flagZstd)
}

func encLZO(_ uint64, pg []byte) ([]byte, uint32) {
	return keepSmaller(lzoCompress(pg), pg, flagLZO)
}

func encRaw(_ uint64, pg []byte) ([]byte, uint32) { return pg, 0 }

// encMixed spreads the compressions over the pages.
func encMixed(pfn uint64, pg []byte) ([]byte, uint32) {
	return []func(uint64, []byte) ([]byte, uint32){encZlib, encSnappy, encZstd, encLZO, encRaw}[pfn%5](pfn, pg)
}

func keepSmaller(c, pg []byte, flag uint32) ([]byte, uint32) {
	if len(c) >= len(pg) {
		return pg, 0
	}
	return c, flag
}

// lzoCompress is a small greedy LZO1X-1 style compressor (literal runs and
// M3 matches only) that writes streams the kernel's lzo1x_decompress_safe
// accepts.
func lzoCompress(src []byte) []byte {
	var out []byte
	lit := 0 // start of pending literals
	first := true
	// lenCode appends the length extension: zero bytes then a non-zero
	// remainder, for lengths past what the opcode holds.
	ext := func(n int) {
		for n > 255 {
			out = append(out, 0)
			n -= 255
		}
		out = append(out, byte(n))
	}
	emitLiterals := func(end int) {
		n := end - lit
		if n == 0 {
			return
		}
		if first && n <= 238 {
			out = append(out, byte(17+n))
		} else if !first && n <= 3 {
			// Folded into the previous match's S bits.
			out[len(out)-2] |= byte(n)
		} else if n <= 18 {
			out = append(out, byte(n-3))
		} else {
			out = append(out, 0)
			ext(n - 18)
		}
		out = append(out, src[lit:end]...)
		first = false
	}
	table := make(map[uint32]int)
	i := 0
	for i+4 <= len(src) {
		key := binary.LittleEndian.Uint32(src[i:])
		cand, ok := table[key]
		table[key] = i
		// A match needs literals before it (the stream cannot start with
		// one) and at most 16384 bytes of distance.
		if !ok || i == 0 || i-cand > 16384 {
			i++
			continue
		}
		n := 4
		for i+n < len(src) && src[cand+n] == src[i+n] {
			n++
		}
		emitLiterals(i)
		// M3: 001LLLLL, length 2+L (L=0: 33 + extension), then LE16 D<<2|S.
		if n <= 33 {
			out = append(out, 0x20|byte(n-2))
		} else {
			out = append(out, 0x20)
			ext(n - 33)
		}
		dist := i - cand - 1
		out = append(out, byte(dist<<2), byte(dist>>6))
		i += n
		lit = i
	}
	emitLiterals(len(src))
	// End of stream: M4 with distance 16384.
	return append(out, 0x11, 0, 0)
}

// noteBlob writes ELF notes.
func noteBlob(notes []Note) []byte {
	var b []byte
	le := binary.LittleEndian
	for _, n := range notes {
		var h [12]byte
		le.PutUint32(h[0:], uint32(len(n.Name)+1))
		le.PutUint32(h[4:], uint32(len(n.Desc)))
		le.PutUint32(h[8:], n.Type)
		b = append(b, h[:]...)
		b = append(b, n.Name...)
		b = append(b, 0)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		b = append(b, n.Desc...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

// reencode rewrites a kdump-compressed dump's pages with enc, keeping its
// bitmaps, notes and header; the result holds the same memory.
func reencode(d *Dump, enc func(uint64, []byte) ([]byte, uint32), status uint32) []byte {
	m := d.mem.(*kdumpMemory)
	in := d.Info()
	k := &kdumpFile{blockSize: in.PageSize, maxPFN: m.maxPFN, ram: m.ram, encode: enc, status: status,
		notes: noteBlob(in.Notes), vmcoreinfo: []byte(d.VMCOREINFO()), level: int32(in.DumpLevel),
		release: in.Release, machine: in.Arch, cpus: int32(in.CPUs), timestamp: in.CrashTime.Unix(), shareZero: true}
	d.PresentPages(func(pfn uint64) bool { k.pfns = append(k.pfns, pfn); return true })
	buf := make([]byte, in.PageSize)
	k.page = func(pfn uint64) []byte {
		if _, err := d.ReadPhys(buf, pfn*uint64(in.PageSize)); err != nil {
			panic(err)
		}
		return buf
	}
	return k.bytes()
}

// elfSeg is one PT_LOAD to write: data is the file part, memsz ≥ len(data).
type elfSeg struct {
	paddr, vaddr uint64
	data         []byte
	memsz        uint64
}

// elfCore writes an ELF64 x86_64 ET_CORE. qemuLayout puts a section header
// table right after the ELF header and the program headers after it, as
// QEMU's dump-guest-memory does; pnXNum stores the program header count
// in section header 0 (e_phnum = 0xffff).
func elfCore(notes []Note, segs []elfSeg, qemuLayout, pnXNum bool) []byte {
	le := binary.LittleEndian
	phnum := 1 + len(segs)
	eh := make([]byte, 64)
	copy(eh, "\x7fELF")
	eh[4], eh[5], eh[6] = 2, 1, 1
	le.PutUint16(eh[16:], 4)  // ET_CORE
	le.PutUint16(eh[18:], 62) // EM_X86_64
	le.PutUint32(eh[20:], 1)
	le.PutUint16(eh[52:], 64)
	le.PutUint16(eh[54:], 56)
	le.PutUint16(eh[58:], 64)
	phoff := 64
	if qemuLayout {
		le.PutUint64(eh[40:], 64) // e_shoff
		le.PutUint16(eh[60:], 1)  // e_shnum
		phoff = 128
	}
	le.PutUint64(eh[32:], uint64(phoff))
	le.PutUint16(eh[56:], uint16(phnum))
	out := eh
	if qemuLayout {
		sh := make([]byte, 64)
		if pnXNum {
			le.PutUint16(eh[56:], 0xffff)
			le.PutUint32(sh[44:], uint32(phnum))
		}
		out = append(out, sh...)
	}
	blob := noteBlob(notes)
	off := phoff + phnum*56
	ph := make([]byte, phnum*56)
	le.PutUint32(ph[0:], ptNote)
	le.PutUint64(ph[8:], uint64(off))
	le.PutUint64(ph[32:], uint64(len(blob)))
	le.PutUint64(ph[40:], uint64(len(blob)))
	off += len(blob)
	for i, s := range segs {
		p := ph[(i+1)*56:]
		le.PutUint32(p[0:], ptLoad)
		le.PutUint32(p[4:], 7)
		le.PutUint64(p[8:], uint64(off))
		le.PutUint64(p[16:], s.vaddr)
		le.PutUint64(p[24:], s.paddr)
		le.PutUint64(p[32:], uint64(len(s.data)))
		le.PutUint64(p[40:], s.memsz)
		off += len(s.data)
	}
	out = append(out, ph...)
	out = append(out, blob...)
	for _, s := range segs {
		out = append(out, s.data...)
	}
	return out
}

// toELF converts a dump into an ELF vmcore: one PT_LOAD per run of present
// pages, a run's trailing zero pages left to p_memsz > p_filesz.
func toELF(d *Dump, qemuLayout bool) []byte {
	ps := uint64(d.Info().PageSize)
	var segs []elfSeg
	var cur *elfSeg
	var zeros uint64 // trailing zero pages of cur not yet in data
	buf := make([]byte, ps)
	flush := func() {
		if cur != nil {
			segs = append(segs, *cur)
			cur = nil
		}
	}
	d.PresentPages(func(pfn uint64) bool {
		if _, err := d.ReadPhys(buf, pfn*ps); err != nil {
			panic(err)
		}
		if cur != nil && cur.paddr+cur.memsz != pfn*ps {
			flush()
		}
		if cur == nil {
			cur = &elfSeg{paddr: pfn * ps, vaddr: 0xffff888000000000 + pfn*ps}
			zeros = 0
		}
		if allZero(buf) {
			zeros++
		} else {
			cur.data = append(cur.data, make([]byte, zeros*ps)...)
			cur.data = append(cur.data, buf...)
			zeros = 0
		}
		cur.memsz += ps
		return true
	})
	flush()
	return elfCore(d.Info().Notes, segs, qemuLayout, false)
}

// flatten writes file as a makedumpfile flattened stream: records of the
// given sizes (cycled), out of order, with the first block first written
// as garbage and rewritten at the end (later writes win).
func flatten(file []byte, sizes []int) []byte {
	be := binary.BigEndian
	out := make([]byte, flatHeaderSize)
	copy(out, magicFlat)
	be.PutUint64(out[16:], 1)
	be.PutUint64(out[24:], 1)
	rec := func(dst int, b []byte) {
		var h [16]byte
		be.PutUint64(h[:], uint64(dst))
		be.PutUint64(h[8:], uint64(len(b)))
		out = append(out, h[:]...)
		out = append(out, b...)
	}
	type piece struct{ off, n int }
	var pieces []piece
	for off, i := 0, 0; off < len(file); i++ {
		n := min(sizes[i%len(sizes)], len(file)-off)
		pieces = append(pieces, piece{off, n})
		off += n
	}
	// Garbage over the start, then pieces in an order that is not the
	// file's: odd ones first, then even ones; then the true start again.
	rec(0, bytes.Repeat([]byte{0xa5}, min(100, len(file))))
	sort.SliceStable(pieces, func(i, j int) bool { return (pieces[i].off/7)%2 > (pieces[j].off/7)%2 })
	for _, p := range pieces {
		rec(p.off, file[p.off:p.off+p.n])
	}
	rec(0, file[:min(100, len(file))])
	var end [16]byte
	be.PutUint64(end[:], ^uint64(0))
	return append(out, end[:]...)
}
