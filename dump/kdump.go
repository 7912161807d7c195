package dump

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"time"
)

// Page descriptor and header status flags (makedumpfile diskdump_mod.h).
const (
	flagZlib       = 0x1
	flagLZO        = 0x2
	flagSnappy     = 0x4
	flagIncomplete = 0x8 // header status only
	flagZstd       = 0x20
	compressMask   = flagZlib | flagLZO | flagSnappy | flagZstd

	descSize = 24
	// descBatch descriptors are read at once: sequential readers touch
	// each descriptor block once.
	descBatch = 128
	// countStride pfns share one precomputed prefix popcount (64 bytes of
	// bitmap): a lookup popcounts at most 8 words.
	countStride = 512
	// bitmapPage bytes of the dumpable bitmap (128 MiB of memory with 4
	// KiB pages) are held for lookups; a multiple of countStride/8, so a
	// rank reads one. bitmapChunk bytes are read at once when a scan
	// walks the whole bitmap.
	bitmapPage  = 4096
	bitmapChunk = 64 << 10
	// DefaultCacheBytes bounds the decompressed-page cache of one dump.
	DefaultCacheBytes = 64 << 20
)

type kdumpMemory struct {
	r        io.ReaderAt
	size     int64
	name     string
	pageSize int
	maxPFN   uint64
	startPFN uint64 // split dumps: first pfn of this part
	endPFN   uint64 // one past the last pfn of this part

	bitmap1Off int64 // file offset of the first (RAM) bitmap
	// The dumpable bitmap, ceil(maxPFN/8) bytes at bitmap2Off, is paged:
	// only its prefix popcounts (an eighth of its size) stay in memory.
	bitmap2Off int64
	bitmap2Len int64
	prefix     []uint64
	startRank  uint64 // dumpable pfns below startPFN
	descOff    int64
	nDesc      uint64
	level      int

	mu      sync.Mutex
	cache   *pageCache
	descBuf [descBatch * descSize]byte
	descAt  int64 // batch index in descBuf, -1 none
	descN   int   // descriptors valid in descBuf
	raw     []byte
	dec     decoders
	bmBuf   [bitmapPage]byte // the bitmap page lookups use (under mu)
	bmAt    int64            // its index, -1 none
}

func openKdump(r io.ReaderAt, size int64, name string, outer Format) (*Dump, error) {
	var h [464]byte
	if err := readFull(r, h[:], 0, size, name, "kdump disk_dump_header"); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	version := int32(le.Uint32(h[8:]))
	blockSize := int32(le.Uint32(h[428:]))
	subHdrSize := int32(le.Uint32(h[432:]))
	bitmapBlocks := le.Uint32(h[436:])
	maxMapnr32 := le.Uint32(h[440:])
	status := le.Uint32(h[424:])
	nrCPUs := int32(le.Uint32(h[460:]))
	be := binary.BigEndian
	if !kdumpHeaderOK(version, blockSize) && kdumpHeaderOK(int32(be.Uint32(h[8:])), int32(be.Uint32(h[428:]))) {
		// makedumpfile writes the header in the dumped machine's byte
		// order: a big-endian one (s390x, ppc64) reads as nonsense here.
		return nil, &FormatError{File: name, Offset: 428, Msg: fmt.Sprintf("big-endian kdump-compressed header (machine %q): big-endian dumps are not supported yet", cstr(h[12+65*4:12+65*5]))}
	}
	if !kdumpBlockSizeOK(blockSize) {
		return nil, &FormatError{File: name, Offset: 428, Msg: fmt.Sprintf("kdump block_size %d is not a power of two between 512 and 1 MiB (a big-endian or 32-bit dump?)", blockSize)}
	}
	if version < 1 || version > 64 {
		return nil, &FormatError{File: name, Offset: 8, Msg: fmt.Sprintf("kdump header_version %d", version)}
	}
	if subHdrSize < 0 {
		return nil, &FormatError{File: name, Offset: 432, Msg: fmt.Sprintf("kdump sub_hdr_size %d", subHdrSize)}
	}
	bs := int64(blockSize)
	if (1+int64(subHdrSize)+int64(bitmapBlocks))*bs > size {
		return nil, &FormatError{File: name, Offset: size, Msg: fmt.Sprintf("file ends (size %d) inside the kdump header and bitmaps, which take %d blocks of %d bytes: truncated?", size, 1+int64(subHdrSize)+int64(bitmapBlocks), bs)}
	}
	d := &Dump{name: name}
	d.info = Info{Format: FormatKdump, Arch: cstr(h[12+65*4 : 12+65*5]), PageSize: int(blockSize),
		CPUs: int(max(nrCPUs, 0)), DumpLevel: -1, PanicCPU: -1, Size: size, HeaderVersion: int(version),
		Release: cstr(h[12+65*2 : 12+65*3]), Incomplete: status&flagIncomplete != 0}
	if outer != "" {
		d.info.Format = outer
	}
	if sec := int64(le.Uint64(h[408:])); sec > 0 {
		d.info.CrashTime = time.Unix(sec, 0).UTC()
	}
	d.info.Compression = compressionName(status)

	m := &kdumpMemory{r: r, size: size, name: name, pageSize: int(blockSize), maxPFN: uint64(maxMapnr32), descAt: -1, bmAt: -1}
	m.level = -1

	// maxPFNAt is where max_mapnr came from, for errors: the header's
	// 32-bit field, or the v6 sub header's 64-bit one.
	maxPFNAt := int64(440)

	// The sub header.
	var notesOff, notesSize, viOff, viSize uint64
	if subHdrSize > 0 {
		sub := make([]byte, min(int64(subHdrSize)*bs, 4096))
		if err := readFull(r, sub, bs, size, name, "kdump_sub_header"); err != nil {
			return nil, err
		}
		u := func(o int) uint64 {
			if o+8 > len(sub) {
				return 0
			}
			return le.Uint64(sub[o:])
		}
		m.level = int(int32(le.Uint32(sub[8:])))
		split := int32(le.Uint32(sub[12:]))
		if version >= 3 {
			viOff, viSize = u(32), u(40)
		}
		if version >= 4 {
			notesOff, notesSize = u(48), u(56)
		}
		if version >= 6 {
			if mm := u(96); mm != 0 {
				m.maxPFN, maxPFNAt = mm, bs+96
			}
		}
		if split != 0 {
			d.info.Split = true
			if version >= 6 {
				m.startPFN, m.endPFN = u(80), u(88)
			} else {
				m.startPFN, m.endPFN = u(16), u(24)
			}
		}
	}
	if m.level >= 0 && m.level <= 31 {
		d.info.DumpLevel = m.level
		d.info.ExcludedClasses = excludedClasses(m.level)
	}
	if !d.info.Split {
		m.endPFN = m.maxPFN
	}
	if m.endPFN > m.maxPFN || m.startPFN > m.endPFN {
		return nil, &FormatError{File: name, Offset: bs + 80, Msg: fmt.Sprintf("split range [%d, %d) outside max_mapnr %d", m.startPFN, m.endPFN, m.maxPFN)}
	}
	d.info.StartPFN, d.info.EndPFN, d.info.MaxPFN = m.startPFN, m.endPFN, m.maxPFN

	// Notes: the v4+ note blob (all NT_PRSTATUS and VMCOREINFO), else the
	// v3 VMCOREINFO range.
	if notesSize > 0 {
		blob, err := readRange(r, size, name, notesOff, notesSize, "kdump note blob (sub header offset_note)")
		if err != nil {
			return nil, err
		}
		notes, err := parseNotes(blob, le, int64(notesOff), name)
		if err != nil {
			return nil, err
		}
		d.info.Notes = notes
	}
	if viSize > 0 {
		blob, err := readRange(r, size, name, viOff, viSize, "kdump VMCOREINFO (sub header offset_vmcoreinfo)")
		if err != nil {
			return nil, err
		}
		d.vmcoreinfo = string(bytes.TrimRight(blob, "\x00"))
	}

	// Bitmaps: bitmap_blocks covers both when the dump is "partial" (every
	// makedumpfile output): the second half is the dumpable bitmap.
	// Every size here comes from the header: check max_mapnr against the
	// bitmap blocks, and those against the file, before allocating (a
	// 64-bit max_mapnr near 2^64 would also wrap (max_mapnr+7)/8).
	bmBytes := int64(bitmapBlocks) * bs
	if m.maxPFN > uint64(bmBytes)*8 {
		return nil, &FormatError{File: name, Offset: maxPFNAt, Msg: fmt.Sprintf("max_mapnr %d needs %d bitmap bytes, the header gives %d", m.maxPFN, m.maxPFN/8+min(m.maxPFN%8, 1), bmBytes)}
	}
	need := int64((m.maxPFN + 7) / 8)
	bm2Off := (1 + int64(subHdrSize)) * bs
	m.bitmap1Off = bm2Off
	if bitmapBlocks%2 == 0 && need <= bmBytes/2 {
		bm2Off += bmBytes / 2
	}
	if bm2Off > size || need > size-bm2Off {
		return nil, &FormatError{File: name, Offset: bm2Off, Msg: fmt.Sprintf("kdump dumpable bitmap (%d bytes for max_mapnr %d) extends past the end of the file (size %d): truncated?", need, m.maxPFN, size)}
	}
	m.bitmap2Off, m.bitmap2Len = bm2Off, need
	// Prefix popcounts: prefix[i] = set bits for pfns < i*countStride,
	// from one pass over the bitmap.
	m.prefix = make([]uint64, m.maxPFN/countStride+2)
	chunk := make([]byte, min(need, bitmapChunk))
	var c uint64
	var b []byte
	for i := range m.prefix {
		m.prefix[i] = c
		lo := int64(i) * countStride / 8
		if lo >= need {
			continue
		}
		if lo%bitmapChunk == 0 {
			var err error
			if b, err = m.readBitmap(chunk, lo); err != nil {
				return nil, err
			}
		}
		for _, x := range b[lo%bitmapChunk : min(lo%bitmapChunk+countStride/8, int64(len(b)))] {
			c += uint64(bits.OnesCount8(x))
		}
	}
	m.nDesc = m.prefix[len(m.prefix)-1]
	m.descOff = (1 + int64(subHdrSize) + int64(bitmapBlocks)) * bs
	if d.info.Split {
		// A split part holds descriptors only for its own range.
		end, err := m.rank(m.endPFN)
		if err == nil {
			m.startRank, err = m.rank(m.startPFN)
		}
		if err != nil {
			return nil, err
		}
		m.nDesc = end - m.startRank
	}
	if end := uint64(m.descOff) + m.nDesc*descSize; end > uint64(size) {
		return nil, &FormatError{File: name, Offset: size, Msg: fmt.Sprintf("the bitmap marks %d pages dumpable but the file ends (size %d) before their %d page descriptors at offset %d end (%d): truncated?", m.nDesc, size, m.nDesc, m.descOff, end)}
	}
	// Cheap truncation check: makedumpfile writes page data in pfn order
	// (all-zero pages share one copy near the start), so the furthest data
	// of the last descriptors ends the page data.
	if m.nDesc > 0 {
		k := min(m.nDesc, descBatch)
		b := make([]byte, k*descSize)
		at := m.descOff + int64(m.nDesc-k)*descSize
		if err := readFull(r, b, at, size, name, "last page descriptors"); err != nil {
			return nil, err
		}
		var end uint64
		var endAt int64
		for i := uint64(0); i < k; i++ {
			e := b[i*descSize:]
			if x := le.Uint64(e) + uint64(le.Uint32(e[8:])); x > end {
				end, endAt = x, at+int64(i)*descSize
			}
		}
		if end > uint64(size) {
			d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("%s: offset %d: a page descriptor's data ends at offset %d, past the end of the file (size %d): the dump is truncated; pages stored past offset %d read as PageError",
				name, endAt, end, size, size))
		}
	}
	m.cache = newPageCache(DefaultCacheBytes / m.pageSize)
	m.raw = make([]byte, m.pageSize)
	d.mem = m
	d.finish()
	if d.info.CPUs == 0 {
		d.info.CPUs = int(max(nrCPUs, 0))
	}
	return d, nil
}

// kdumpBlockSizeOK accepts the block sizes makedumpfile writes: a power of
// two from 512 bytes to 1 MiB.
func kdumpBlockSizeOK(bs int32) bool {
	return bs >= 512 && bs <= 1<<20 && bs&(bs-1) == 0
}

// kdumpHeaderOK accepts a header version and block size as makedumpfile
// writes them; read in the wrong byte order, both are nonsense.
func kdumpHeaderOK(version, bs int32) bool {
	return version >= 1 && version <= 64 && kdumpBlockSizeOK(bs)
}

// compressionName names the compression the header status announces.
func compressionName(status uint32) Compression {
	var names []Compression
	for _, c := range []struct {
		f uint32
		n Compression
	}{{flagZlib, CompressionZlib}, {flagLZO, CompressionLZO}, {flagSnappy, CompressionSnappy}, {flagZstd, CompressionZstd}} {
		if status&c.f != 0 {
			names = append(names, c.n)
		}
	}
	switch len(names) {
	case 0:
		return CompressionNone
	case 1:
		return names[0]
	}
	return CompressionMixed
}

// readRange reads an untrusted (offset, size) range after checking it
// against the file size.
func readRange(r io.ReaderAt, size int64, name string, off, n uint64, what string) ([]byte, error) {
	if off > uint64(size) || n > uint64(size)-off {
		return nil, &FormatError{File: name, Offset: int64(min(off, uint64(size))), Msg: fmt.Sprintf("%s [%d, +%d) extends past the end of the file (size %d): truncated?", what, off, n, size)}
	}
	if n > maxNoteSegment {
		return nil, &FormatError{File: name, Offset: int64(off), Msg: fmt.Sprintf("%s of %d bytes is implausibly large", what, n)}
	}
	b := make([]byte, n)
	if err := readFull(r, b, int64(off), size, name, what); err != nil {
		return nil, err
	}
	return b, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

func (m *kdumpMemory) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dec.zstd != nil {
		m.dec.zstd.Close()
		m.dec.zstd = nil
	}
}

// readBitmap reads the dumpable bitmap from byte off into buf, as much as
// fits and the bitmap holds, with the bits past max_mapnr cleared.
func (m *kdumpMemory) readBitmap(buf []byte, off int64) ([]byte, error) {
	b := buf[:min(int64(len(buf)), m.bitmap2Len-off)]
	if err := readFull(m.r, b, m.bitmap2Off+off, m.size, m.name, "kdump dumpable bitmap"); err != nil {
		return nil, err
	}
	if r := m.maxPFN % 8; r != 0 && off+int64(len(b)) == m.bitmap2Len {
		// Bits past max_mapnr in the last byte must not count.
		b[len(b)-1] &= byte(1<<r) - 1
	}
	return b, nil
}

// bitmapPageOf returns the bitmap page holding bitmap byte i and where it
// starts, through the one-page cache. The caller holds mu (or owns m, at
// open).
func (m *kdumpMemory) bitmapPageOf(i uint64) ([]byte, uint64, error) {
	at := int64(i / bitmapPage)
	start := uint64(at) * bitmapPage
	n := min(bitmapPage, m.bitmap2Len-int64(start))
	if at != m.bmAt {
		m.bmAt = -1
		if _, err := m.readBitmap(m.bmBuf[:], int64(start)); err != nil {
			return nil, 0, err
		}
		m.bmAt = at
	}
	return m.bmBuf[:n], start, nil
}

// dumpable reports the second bitmap's bit for pfn.
func (m *kdumpMemory) dumpable(pfn uint64) (bool, error) {
	if pfn >= m.maxPFN {
		return false, nil
	}
	b, start, err := m.bitmapPageOf(pfn >> 3)
	if err != nil {
		return false, err
	}
	return b[pfn>>3-start]&(1<<(pfn&7)) != 0, nil
}

// pages walks the bitmap with a buffer of its own, so that it may run
// beside readAt; it stops early if the bitmap cannot be read (the file
// failed since Open checked its size).
func (m *kdumpMemory) pages(fn func(pfn uint64) bool) {
	buf := make([]byte, min(m.bitmap2Len, bitmapChunk))
	for off := int64(m.startPFN / 8); off < m.bitmap2Len; off += int64(len(buf)) {
		chunk, err := m.readBitmap(buf, off)
		if err != nil {
			return
		}
		for j, b := range chunk {
			for b != 0 {
				pfn := (uint64(off)+uint64(j))*8 + uint64(bits.TrailingZeros8(b))
				b &= b - 1
				if pfn < m.startPFN {
					continue
				}
				if pfn >= m.endPFN || !fn(pfn) {
					return
				}
			}
		}
	}
}

// rank counts the dumpable pfns below pfn: the stride's prefix count and
// at most 64 bytes of one bitmap page.
func (m *kdumpMemory) rank(pfn uint64) (uint64, error) {
	if pfn > m.maxPFN {
		pfn = m.maxPFN
	}
	i := pfn / countStride
	c := m.prefix[i]
	lo, hi := i*countStride/8, pfn/8
	if lo == hi && pfn&7 == 0 {
		return c, nil
	}
	b, start, err := m.bitmapPageOf(lo)
	if err != nil {
		return 0, err
	}
	for _, x := range b[lo-start : hi-start] {
		c += uint64(bits.OnesCount8(x))
	}
	if r := pfn & 7; r != 0 {
		c += uint64(bits.OnesCount8(b[hi-start] & (byte(1<<r) - 1)))
	}
	return c, nil
}

// ram reads the first bitmap's bit: whether pfn is RAM at all.
func (m *kdumpMemory) ram(pfn uint64) bool {
	var b [1]byte
	if n, _ := m.r.ReadAt(b[:], m.bitmap1Off+int64(pfn>>3)); n != 1 {
		return false
	}
	return b[0]&(1<<(pfn&7)) != 0
}

func (m *kdumpMemory) readAt(p []byte, paddr uint64) error {
	ps := uint64(m.pageSize)
	pfn := paddr / ps
	in := paddr % ps
	m.mu.Lock()
	defer m.mu.Unlock()
	if pg := m.cache.get(pfn); pg != nil {
		copy(p, pg[in:])
		return nil
	}
	if pfn >= m.maxPFN {
		return &PageError{Addr: paddr, Kind: PageAbsent, Reason: fmt.Sprintf("page frame %d is past the dump's last (max_mapnr %d)", pfn, m.maxPFN)}
	}
	if pfn < m.startPFN || pfn >= m.endPFN {
		return &PageError{Addr: paddr, Kind: PageAbsent, Reason: fmt.Sprintf("page frame %d is outside this split dump part [%d, %d)", pfn, m.startPFN, m.endPFN)}
	}
	dumpable, err := m.dumpable(pfn)
	if err != nil {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("page frame %d: reading the dumpable bitmap", pfn), Err: err}
	}
	if !dumpable {
		if !m.ram(pfn) {
			return &PageError{Addr: paddr, Kind: PageAbsent, Reason: fmt.Sprintf("page frame %d is not RAM (a hole in the first bitmap)", pfn)}
		}
		why := "excluded from the dump"
		if m.level >= 0 {
			why = fmt.Sprintf("excluded from the dump (makedumpfile dump level %d drops %s pages)", m.level, strings.Join(excludedClasses(m.level), ", "))
		}
		return &PageError{Addr: paddr, Kind: PageExcluded, Reason: fmt.Sprintf("page frame %d %s", pfn, why)}
	}
	r, err := m.rank(pfn)
	if err != nil {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("page frame %d: reading the dumpable bitmap", pfn), Err: err}
	}
	idx := r - m.startRank
	if in == 0 && len(p) == m.pageSize {
		// A whole page goes straight to the caller, uncached: bulk reads
		// (a printk ring, a page scan) read each page once, and a cached
		// copy would only cost fresh memory. Page tables and structures
		// are read in pieces, and those pages are cached.
		return m.loadPage(p, idx, pfn, paddr)
	}
	pg := m.cache.put(pfn, m.pageSize)
	if err := m.loadPage(pg, idx, pfn, paddr); err != nil {
		m.cache.drop(pfn)
		return err
	}
	copy(p, pg[in:])
	return nil
}

// loadPage reads and decompresses the page of descriptor idx into pg.
func (m *kdumpMemory) loadPage(pg []byte, idx, pfn, paddr uint64) error {
	desc, err := m.desc(idx)
	if err != nil {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("page frame %d: reading its descriptor", pfn), Err: err}
	}
	le := binary.LittleEndian
	off := le.Uint64(desc)
	size := uint64(le.Uint32(desc[8:]))
	flags := le.Uint32(desc[12:])
	descAt := m.descOff + int64(idx)*descSize
	if off == 0 {
		return &PageError{Addr: paddr, Kind: PageExcluded, Reason: fmt.Sprintf("page frame %d was never written (incomplete dump; descriptor at offset %d)", pfn, descAt)}
	}
	if size > uint64(m.pageSize) || size == 0 {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: page frame %d: descriptor at offset %d gives data size %d (page size %d)", m.name, pfn, descAt, size, m.pageSize)}
	}
	if off > uint64(m.size) || size > uint64(m.size)-off {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: page frame %d: data at offset %d (+%d) is past the end of the file (size %d): truncated dump", m.name, pfn, off, size, m.size)}
	}
	src := m.raw[:size]
	if n, err := m.r.ReadAt(src, int64(off)); n < len(src) {
		if err == nil || err == io.EOF {
			err = errShort
		}
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: page frame %d: reading its data at offset %d", m.name, pfn, off+uint64(n)), Err: err}
	}
	if flags&compressMask == 0 {
		if size != uint64(m.pageSize) {
			return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: page frame %d: uncompressed page of %d bytes at offset %d (page size %d)", m.name, pfn, size, off, m.pageSize)}
		}
		copy(pg, src)
		return nil
	}
	if err := m.dec.decompress(pg, src, flags); err != nil {
		return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: page frame %d: %d bytes at offset %d (flags 0x%x) do not decompress to a page", m.name, pfn, size, off, flags), Err: err}
	}
	return nil
}

// desc returns descriptor idx, reading descriptors in batches.
func (m *kdumpMemory) desc(idx uint64) ([]byte, error) {
	batch := int64(idx / descBatch)
	k := int(idx % descBatch)
	if batch != m.descAt || k >= m.descN {
		start := uint64(batch) * descBatch
		n := min(uint64(descBatch), m.nDesc-start)
		buf := m.descBuf[:n*descSize]
		at := m.descOff + int64(start)*descSize
		got, err := m.r.ReadAt(buf, at)
		if got < len(buf) {
			if err == nil || err == io.EOF {
				err = errShort
			}
			m.descAt = -1
			return nil, fmt.Errorf("%s: offset %d: %w", m.name, at+int64(got), err)
		}
		m.descAt, m.descN = batch, int(n)
	}
	return m.descBuf[k*descSize : (k+1)*descSize], nil
}
