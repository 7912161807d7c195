package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kernels before 6.0 do not put the kallsyms tables' addresses into
// VMCOREINFO. scripts/kallsyms.c (write_src) has long emitted them in one
// order, each label aligned to 8 bytes on 64-bit kernels:
//
//	kallsyms_addresses | kallsyms_offsets, kallsyms_relative_base,
//	kallsyms_num_syms, kallsyms_names, kallsyms_markers,
//	kallsyms_token_table, kallsyms_token_index
//
// (6.2 inserted kallsyms_seqs_of_names after the markers, but 6.2 kernels
// have the VMCOREINFO keys.) So the scan finds the token index — 256
// increasing u16 offsets starting at 0 — and the token table that ends
// right before it, walks back over the markers to the end of the names,
// and takes the symbol count stored just before the names. Every step is
// checked against the next table, and the result goes through the same
// validation as VMCOREINFO's addresses (_stext where VMCOREINFO says).

const (
	// scanLimit bounds how far past _stext the scan looks: a kernel's
	// text and rodata, where kallsyms lives, fit in it.
	scanLimit = 128 << 20
	scanChunk = 64 << 10
	// scanOverlap lets a token index straddle two chunks.
	scanOverlap = tokenIndexBytes
)

// scanKallsyms looks for the tables in the kernel image after _stext and
// returns the decodings to try (offsets and relative base, or absolute
// addresses), best first.
func (k *Kernel) scanKallsyms() ([]kallsymsAddrs, error) {
	stext, ok := k.info.Symbol("_stext")
	if !ok {
		return nil, errors.New("VMCOREINFO has no SYMBOL(_stext) to start from")
	}
	buf := make([]byte, scanChunk+scanOverlap)
	// candErr says why the first token index found was refused: with
	// the tables damaged, that is where they are and what is wrong.
	var readErr, candErr error
	read := 0
	for off := uint64(0); off < scanLimit; {
		base := stext + off
		n, err := k.ReadVirt(buf, base)
		if err != nil && readErr == nil {
			readErr = err
		}
		read += n
		for p := 0; p+tokenIndexBytes <= n; p += 8 {
			if !looksLikeTokenIndex(buf[p : p+tokenIndexBytes]) {
				continue
			}
			cands, err := k.tablesBefore(base + uint64(p))
			if err == nil {
				return cands, nil
			}
			if candErr == nil {
				candErr = fmt.Errorf("a token index at %#x, but %w", base+uint64(p), err)
			}
		}
		switch {
		case err != nil:
			// A page the dump left out (or never mapped): go on after it.
			off += (uint64(n) + pageSize) &^ (pageSize - 1)
		case n > scanOverlap:
			off += uint64(n - scanOverlap)
		default:
			off += uint64(n)
		}
	}
	if read == 0 {
		return nil, fmt.Errorf("no memory readable in the %d MiB after _stext %#x: %v", scanLimit>>20, stext, readErr)
	}
	if candErr != nil {
		return nil, fmt.Errorf("no kallsyms_token_index/kallsyms_token_table pair in the %d MiB after _stext %#x (%d bytes readable): %w", scanLimit>>20, stext, read, candErr)
	}
	return nil, fmt.Errorf("no kallsyms_token_index/kallsyms_token_table pair in the %d MiB after _stext %#x (%d bytes readable)", scanLimit>>20, stext, read)
}

// looksLikeTokenIndex: 256 offsets, the first 0, each next at least two
// bytes on (a token and its NUL) and at most a long token on.
func looksLikeTokenIndex(b []byte) bool {
	if binary.LittleEndian.Uint16(b) != 0 {
		return false
	}
	prev := uint16(0)
	for i := 1; i < 256; i++ {
		v := binary.LittleEndian.Uint16(b[2*i:])
		if v < prev+2 || v > prev+maxTokenLen+1 {
			return false
		}
		prev = v
	}
	return true
}

// tablesBefore checks that a token table ends just before the token index
// at ti, then finds the markers, names and count before it.
func (k *Kernel) tablesBefore(ti uint64) ([]kallsymsAddrs, error) {
	idx := make([]byte, tokenIndexBytes)
	if _, err := k.ReadVirt(idx, ti); err != nil {
		return nil, err
	}
	last := uint64(binary.LittleEndian.Uint16(idx[510:]))
	// The table is 8-aligned and its last token ends (with its NUL)
	// within the 8 bytes of padding before ti.
	span := last + maxTokenLen + 16
	if span > ti {
		return nil, errors.New("token table would start below 0")
	}
	tbl := make([]byte, span)
	lo := ti - span
	if _, err := k.ReadVirt(tbl, lo); err != nil {
		return nil, err
	}
	var tt uint64
	for start := (lo + 7) &^ 7; start+last < ti; start += 8 {
		if tokenTableAt(tbl[start-lo:], idx, ti-start) {
			tt = start
			break
		}
	}
	if tt == 0 {
		return nil, errors.New("no token table ends before the index")
	}
	names, count, markers, err := k.namesBefore(tt)
	if err != nil {
		return nil, err
	}
	numSyms := names - 8
	a := kallsymsAddrs{numSyms: numSyms, names: names, tokenTable: tt, tokenIndex: ti, markers: markers, how: "a scan of the kernel image"}
	offs := a
	offs.relativeBase = numSyms - 8
	offs.offsets = offs.relativeBase - (4*count+7)&^7
	abs := a
	abs.addresses = numSyms - 8*count
	return []kallsymsAddrs{offs, abs}, nil
}

// tokenTableAt reports whether b (the bytes from a candidate table start,
// size bytes up to the index) holds 256 non-empty NUL-terminated tokens at
// the index's offsets, the last ending within 8 bytes of the index.
func tokenTableAt(b, idx []byte, size uint64) bool {
	for i := 0; i < 256; i++ {
		o := uint64(binary.LittleEndian.Uint16(idx[2*i:]))
		if o >= size || b[o] == 0 || (o > 0 && b[o-1] != 0) {
			return false
		}
	}
	last := uint64(binary.LittleEndian.Uint16(idx[510:]))
	end := last
	for end < size && b[end] != 0 {
		end++
	}
	return end < size && size-end <= 8
}

// namesWindow bounds how far before the token table the names are looked
// for: the names, markers and seqs_of_names of 200k symbols take ~3 MB.
const namesWindow = 8 << 20

// namesBefore finds kallsyms_names before the token table at tt. The names
// are preceded by the symbol count and, before that, by relative_base or
// the last absolute address — a kernel address either way — and followed
// by the markers (u32 or unsigned long: the offset of every 256th name),
// then (Linux 6.2, and distribution backports) kallsyms_seqs_of_names of 3
// bytes a symbol, then the token table. A place that fits all of it is the
// names.
func (k *Kernel) namesBefore(tt uint64) (names, count, markers uint64, err error) {
	lo := (tt - min(tt-startKernelMap, namesWindow)) &^ 7
	buf, readable := k.readZeroFilled(lo, tt-lo)
	if readable == 0 {
		return 0, 0, 0, fmt.Errorf("nothing readable before the token table at %#x", tt)
	}
	// The markers start 0, then the offset of name 256: collect those
	// second values, so a candidate is walked whole only when its 256th
	// name lands on one.
	second := map[uint64]bool{}
	for m := 0; m+16 <= len(buf); m += 8 {
		if binary.LittleEndian.Uint32(buf[m:]) != 0 {
			continue
		}
		if v := uint64(binary.LittleEndian.Uint32(buf[m+4:])); v >= 2*256 {
			second[v] = true
		}
		if binary.LittleEndian.Uint32(buf[m+4:]) == 0 {
			if v := binary.LittleEndian.Uint64(buf[m+8:]); v >= 2*256 {
				second[v] = true
			}
		}
	}
	for p := 0; p+16 <= len(buf); p += 8 {
		if binary.LittleEndian.Uint64(buf[p:]) < startKernelMap {
			continue
		}
		n := binary.LittleEndian.Uint64(buf[p+8:])
		if n <= 256 || n > maxKallsyms || 2*n > uint64(len(buf)-p) {
			continue
		}
		if at, ok := nameOffset(buf[p+16:], 256); !ok || !second[at] {
			continue
		}
		if m, ok := namesFit(buf[p+16:], n, tt-(lo+uint64(p)+16)); ok {
			at := lo + uint64(p) + 16
			return at, n, at + m, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("no kallsyms_num_syms and kallsyms_names followed by their markers in the %d KiB before the token table at %#x", (tt-lo)>>10, tt)
}

// nameOffset walks i names (lengths only) and returns where the next
// starts.
func nameOffset(b []byte, i int) (uint64, bool) {
	off := uint64(0)
	for ; i > 0; i-- {
		if off+1 >= uint64(len(b)) {
			return 0, false
		}
		l := uint64(b[off])
		off++
		if l&0x80 != 0 {
			l = l&0x7f | uint64(b[off])<<7
			off++
		}
		if l == 0 {
			return 0, false
		}
		off += l
	}
	return off, true
}

// namesFit walks n names in b (lengths only) and checks that the markers
// after them (8-aligned) give every 256th name's offset and that what
// follows up to the token table, dist bytes from b's start, is no more
// than seqs_of_names. It returns the markers' offset in b.
func namesFit(b []byte, n, dist uint64) (uint64, bool) {
	var offs []uint64
	off := uint64(0)
	for i := uint64(0); i < n; i++ {
		if i%256 == 0 {
			offs = append(offs, off)
		}
		if off >= uint64(len(b)) {
			return 0, false
		}
		l := uint64(b[off])
		off++
		if l&0x80 != 0 {
			if off >= uint64(len(b)) {
				return 0, false
			}
			l = l&0x7f | uint64(b[off])<<7
			off++
		}
		if l == 0 {
			return 0, false
		}
		off += l
	}
	m := (off + 7) &^ 7
	for _, w := range []uint64{4, 8} {
		end := m + w*uint64(len(offs))
		if end > uint64(len(b)) || end > dist || dist-end > 3*n+16 {
			continue
		}
		ok := true
		for i, want := range offs {
			var got uint64
			if w == 4 {
				got = uint64(binary.LittleEndian.Uint32(b[m+4*uint64(i):]))
			} else {
				got = binary.LittleEndian.Uint64(b[m+8*uint64(i):])
			}
			if got != want {
				ok = false
				break
			}
		}
		if ok {
			return m, true
		}
	}
	return 0, false
}

// readZeroFilled reads size bytes at vaddr, leaving pages it cannot read
// zero: a filtered dump leaves out zero pages (makedumpfile -d 1), which
// do lie inside the kernel's tables. It returns how many bytes it read.
func (k *Kernel) readZeroFilled(vaddr, size uint64) ([]byte, uint64) {
	buf := make([]byte, size)
	var read uint64
	for off := uint64(0); off < size; {
		// In chunks: a dump reader's cost of a failed read may grow with
		// the request.
		n, err := k.ReadVirt(buf[off:min(size, off+64<<10)], vaddr+off)
		read += uint64(n)
		off += uint64(n)
		if err != nil {
			// skip to the next page
			next := (vaddr + off + pageSize) &^ (pageSize - 1)
			off = next - vaddr
		}
	}
	return buf, read
}
