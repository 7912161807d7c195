package dump

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

const (
	ptLoad = 1
	ptNote = 4
	pnXNum = 0xffff
	// maxNoteSegment bounds one PT_NOTE's size: a few KiB per CPU.
	maxNoteSegment = 64 << 20
	// elfIncomplete is makedumpfile's e_flags bit for a dump it could not
	// finish (DUMP_ELF_INCOMPLETE).
	elfIncomplete = 0x1
)

// elfMachine names an ELF e_machine the way uname -m does, or
// "elf-machine-N"; bigEndian tells ppc64 from ppc64le and aarch64 from
// aarch64_be, which share a number. A switch, not a map: `ktriage dmesg`
// starts a process per dump, and a map literal would be built at every
// start.
func elfMachine(m uint16, bigEndian bool) string {
	switch {
	case m == 21 && !bigEndian:
		return "ppc64le"
	case m == 183 && bigEndian:
		return "aarch64_be"
	case m == 62 && bigEndian:
		// Not a machine that exists: say what the header claims.
		return "x86_64 (big-endian)"
	}
	switch m {
	case 3:
		return "i386"
	case 62:
		return "x86_64"
	case 183:
		return "aarch64"
	case 40:
		return "arm"
	case 21:
		return "ppc64"
	case 22:
		return "s390x"
	case 243:
		return "riscv64"
	case 8:
		return "mips"
	}
	return fmt.Sprintf("elf-machine-%d", m)
}

// segment is one PT_LOAD: physical [paddr, paddr+memsz), of which the first
// filesz bytes are in the file at off and the rest read as zeros.
type segment struct {
	paddr, memsz uint64
	off, filesz  uint64
	vaddr        uint64
}

type elfMemory struct {
	r    io.ReaderAt
	size int64
	name string
	segs []segment // sorted by paddr
	// maxEnd[i] is the highest end of segs[0..i]: a lookup walks back
	// from the last segment starting at or below an address only while an
	// earlier segment can still reach it (QEMU's paging dumps map the same
	// memory in a long direct-map segment and many short ones).
	maxEnd   []uint64
	pageSize uint64
}

func openELF(r io.ReaderAt, size int64, name string, outer Format) (*Dump, error) {
	var eh [64]byte
	if err := readFull(r, eh[:], 0, size, name, "ELF header"); err != nil {
		return nil, err
	}
	if eh[4] != 2 {
		return nil, &FormatError{File: name, Offset: 4, Msg: fmt.Sprintf("ELF class %d: only 64-bit (ELFCLASS64) vmcores are read", eh[4])}
	}
	var bo binary.ByteOrder
	switch eh[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return nil, &FormatError{File: name, Offset: 5, Msg: fmt.Sprintf("bad ELF data encoding %d", eh[5])}
	}
	if t := bo.Uint16(eh[16:]); t != 4 {
		return nil, &FormatError{File: name, Offset: 16, Msg: fmt.Sprintf("ELF type %d is not ET_CORE (4): not a vmcore", t)}
	}
	machine := bo.Uint16(eh[18:])
	flags := bo.Uint32(eh[48:])
	phoff := bo.Uint64(eh[32:])
	shoff := bo.Uint64(eh[40:])
	phentsize := uint64(bo.Uint16(eh[54:]))
	phnum := uint64(bo.Uint16(eh[56:]))
	shentsize := uint64(bo.Uint16(eh[58:]))
	if phnum == pnXNum {
		// More than 65534 segments (QEMU on big guests): the real count is
		// section header 0's sh_info.
		if shoff == 0 || shentsize < 64 || shoff > uint64(size) {
			return nil, &FormatError{File: name, Offset: 56, Msg: "e_phnum is PN_XNUM but there is no section header 0 to hold the count"}
		}
		var sh [64]byte
		if err := readFull(r, sh[:], int64(shoff), size, name, "section header 0 (PN_XNUM count)"); err != nil {
			return nil, err
		}
		phnum = uint64(bo.Uint32(sh[44:]))
	}
	if phentsize != 56 {
		return nil, &FormatError{File: name, Offset: 54, Msg: fmt.Sprintf("e_phentsize %d, want 56", phentsize)}
	}
	if phnum == 0 {
		return nil, &FormatError{File: name, Offset: 56, Msg: "no program headers"}
	}
	if phoff > uint64(size) || phnum > (uint64(size)-phoff)/56 {
		return nil, &FormatError{File: name, Offset: int64(min(phoff, uint64(size))), Msg: fmt.Sprintf("%d program headers at offset %d extend past the end of the file (size %d): truncated?", phnum, phoff, size)}
	}
	ph := make([]byte, phnum*56)
	if err := readFull(r, ph, int64(phoff), size, name, "program headers"); err != nil {
		return nil, err
	}
	d := &Dump{name: name}
	m := &elfMemory{r: r, size: size, name: name}
	d.info = Info{Format: FormatELF, Compression: CompressionNone, Arch: elfMachine(machine, eh[5] == 2), DumpLevel: -1, PanicCPU: -1, Size: size,
		Incomplete: flags&elfIncomplete != 0}
	if outer != "" {
		d.info.Format = outer
	}
	for i := uint64(0); i < phnum; i++ {
		p := ph[i*56 : i*56+56]
		typ := bo.Uint32(p)
		off := bo.Uint64(p[8:])
		vaddr := bo.Uint64(p[16:])
		paddr := bo.Uint64(p[24:])
		filesz := bo.Uint64(p[32:])
		memsz := bo.Uint64(p[40:])
		at := int64(phoff + i*56)
		switch typ {
		case ptNote:
			if filesz > maxNoteSegment {
				return nil, &FormatError{File: name, Offset: at, Msg: fmt.Sprintf("PT_NOTE of %d bytes is implausibly large", filesz)}
			}
			if off > uint64(size) || filesz > uint64(size)-off {
				return nil, &FormatError{File: name, Offset: int64(min(off, uint64(size))), Msg: fmt.Sprintf("PT_NOTE data [%d, +%d) extends past the end of the file (size %d): truncated?", off, filesz, size)}
			}
			blob := make([]byte, filesz)
			if err := readFull(r, blob, int64(off), size, name, "PT_NOTE data"); err != nil {
				return nil, err
			}
			notes, err := parseNotes(blob, bo, int64(off), name)
			if err != nil {
				return nil, err
			}
			d.info.Notes = append(d.info.Notes, notes...)
		case ptLoad:
			if memsz == 0 {
				continue
			}
			if filesz > memsz {
				filesz = memsz
			}
			if paddr+memsz < paddr {
				return nil, &FormatError{File: name, Offset: at, Msg: fmt.Sprintf("PT_LOAD [0x%x, +0x%x) wraps the address space", paddr, memsz)}
			}
			if off+filesz < off {
				return nil, &FormatError{File: name, Offset: at, Msg: "PT_LOAD file range wraps"}
			}
			if off+filesz > uint64(size) {
				d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("%s: offset %d: PT_LOAD for physical 0x%x has file data [%d, %d) past the end of the file (size %d): truncated, its tail reads as PageError",
					name, off, paddr, off, off+filesz, size))
			}
			m.segs = append(m.segs, segment{paddr: paddr, memsz: memsz, off: off, filesz: filesz, vaddr: vaddr})
		}
	}
	sort.SliceStable(m.segs, func(i, j int) bool { return m.segs[i].paddr < m.segs[j].paddr })
	m.maxEnd = make([]uint64, len(m.segs))
	for i, sg := range m.segs {
		m.maxEnd[i] = sg.paddr + sg.memsz
		if i > 0 && m.maxEnd[i-1] > m.maxEnd[i] {
			m.maxEnd[i] = m.maxEnd[i-1]
		}
	}
	d.mem = m
	d.finish()
	m.pageSize = uint64(d.info.PageSize)
	if n := len(m.segs); n > 0 {
		last := m.segs[n-1]
		d.info.MaxPFN = (last.paddr + last.memsz + m.pageSize - 1) / m.pageSize
		for _, s := range m.segs {
			if e := (s.paddr + s.memsz + m.pageSize - 1) / m.pageSize; e > d.info.MaxPFN {
				d.info.MaxPFN = e
			}
		}
	}
	return d, nil
}

// find returns the last segment starting at or below paddr that contains
// it (segments may overlap; the later-sorted one wins, as in crash).
func (m *elfMemory) find(paddr uint64) *segment {
	i := sort.Search(len(m.segs), func(i int) bool { return m.segs[i].paddr > paddr })
	for j := i - 1; j >= 0 && m.maxEnd[j] > paddr; j-- {
		s := &m.segs[j]
		if paddr-s.paddr < s.memsz {
			return s
		}
	}
	return nil
}

func (m *elfMemory) pages(fn func(pfn uint64) bool) {
	next := uint64(0) // first pfn not yet reported
	for _, s := range m.segs {
		lo := max(s.paddr/m.pageSize, next)
		hi := (s.paddr + s.memsz + m.pageSize - 1) / m.pageSize
		for pfn := lo; pfn < hi; pfn++ {
			if !fn(pfn) {
				return
			}
		}
		next = max(next, hi)
	}
}

func (m *elfMemory) readAt(p []byte, paddr uint64) error {
	for len(p) > 0 {
		s := m.find(paddr)
		if s == nil {
			return &PageError{Addr: paddr, Kind: PageAbsent, Reason: "not in any PT_LOAD segment of the dump"}
		}
		in := paddr - s.paddr
		n := uint64(len(p))
		if rest := s.memsz - in; n > rest {
			n = rest
		}
		q := p[:n]
		if in < s.filesz {
			fn := min(n, s.filesz-in)
			off := s.off + in
			if off+fn > uint64(m.size) {
				return &PageError{Addr: paddr, Kind: PageCorrupt, Reason: fmt.Sprintf("%s: segment data at file offset %d is past the end of the file (size %d): truncated dump", m.name, off, m.size)}
			}
			k, err := m.r.ReadAt(q[:fn], int64(off))
			if uint64(k) < fn {
				if err == nil || err == io.EOF {
					err = errShort
				}
				return &PageError{Addr: paddr + uint64(k), Kind: PageCorrupt, Reason: fmt.Sprintf("%s: reading file offset %d", m.name, off+uint64(k)), Err: err}
			}
			clear(q[fn:])
		} else {
			// p_memsz beyond p_filesz: zero fill.
			clear(q)
		}
		p = p[n:]
		paddr += n
	}
	return nil
}
