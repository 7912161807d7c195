package kernel

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// physMem is a sparse physical memory: pages absent from the map behave like
// pages a filtered dump left out.
type physMem struct {
	pages map[uint64]*[pageSize]byte
	next  uint64 // bump allocator for page tables and buffers
}

type missingPageError struct{ pfn uint64 }

func (e *missingPageError) Error() string { return fmt.Sprintf("pfn %#x is not in the dump", e.pfn) }

func newPhysMem() *physMem {
	return &physMem{pages: map[uint64]*[pageSize]byte{}, next: 0x30000000}
}

func (m *physMem) page(pfn uint64) *[pageSize]byte {
	p := m.pages[pfn]
	if p == nil {
		p = new([pageSize]byte)
		m.pages[pfn] = p
	}
	return p
}

func (m *physMem) write(paddr uint64, b []byte) {
	for len(b) > 0 {
		p := m.page(paddr / pageSize)
		n := copy(p[paddr%pageSize:], b)
		b = b[n:]
		paddr += uint64(n)
	}
}

func (m *physMem) put64(paddr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.write(paddr, b[:])
}

func (m *physMem) alloc(n uint64) uint64 {
	p := m.next
	m.next += (n + pageSize - 1) &^ (pageSize - 1)
	for a := p; a < m.next; a += pageSize {
		m.page(a / pageSize)
	}
	return p
}

func (m *physMem) ReadPhys(p []byte, paddr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := paddr + uint64(n)
		pg := m.pages[a/pageSize]
		if pg == nil {
			return n, &missingPageError{a / pageSize}
		}
		n += copy(p[n:], pg[a%pageSize:])
	}
	return n, nil
}

// pgt builds x86_64 page tables in a physMem.
type pgt struct {
	m      *physMem
	levels int
	root   uint64
}

// mapPage maps one page of size 4 KiB, 2 MiB or 1 GiB.
func (t *pgt) mapPage(vaddr, paddr, size uint64) {
	table := t.root
	for lvl := t.levels; lvl >= 1; lvl-- {
		shift := uint(12 + 9*(lvl-1))
		idx := (vaddr >> shift) & 511
		ea := table + idx*8
		if uint64(1)<<shift == size {
			e := paddr | 0x63 // present, rw, accessed, dirty
			if lvl > 1 {
				e |= ptePSE
			}
			t.m.put64(ea, e)
			return
		}
		var b [8]byte
		t.m.ReadPhys(b[:], ea)
		e := binary.LittleEndian.Uint64(b[:])
		if e&ptePresent == 0 {
			e = t.m.alloc(pageSize) | 0x63
			t.m.put64(ea, e)
		}
		table = e & pteAddr
	}
}

func (t *pgt) mapRange(vaddr, paddr, n, size uint64) {
	for off := uint64(0); off < n; off += size {
		t.mapPage(vaddr+off, paddr+off, size)
	}
}

// synthKernel is a made-up x86_64 kernel: KASLR'd image, randomized direct
// map, page tables with all three page sizes, and symbols to hang printk
// buffers on.
type synthKernel struct {
	m          *physMem
	pt         *pgt
	physBase   uint64
	pageOffset uint64
	vmalloc    uint64 // next free vmalloc address
	info       map[string]string
	nextSym    uint64 // next free kernel .data address
}

const synthText = 0xffffffff9a000000 // _stext after a KASLR slide of 0x19000000

func newSynthKernel(levels int, release string) *synthKernel {
	m := newPhysMem()
	s := &synthKernel{m: m, physBase: 0x04000000, info: map[string]string{}}
	if levels == 5 {
		// phys_base is negative when the image sits lower than linked
		// (as in the skbbug-qmp fixture).
		s.physBase = ^uint64(0x10000000 - 1)
	}
	rootV := uint64(synthText + 0x1a10000)
	s.pt = &pgt{m: m, levels: levels, root: s.imagePhys(rootV)}
	m.page(s.pt.root / pageSize)
	s.nextSym = uint64(synthText + 0x1a62000)
	if levels == 5 {
		s.pageOffset = 0xff2f3c4000000000
		s.vmalloc = 0xffa0000000400000
	} else {
		s.pageOffset = 0xffff9a4c80000000
		s.vmalloc = 0xffffc90000400000
	}
	// An LDT-like mapping below the direct map that must not be taken
	// for it (it maps a page other than physical 0).
	ldtV := s.pageOffset - 1<<(12+9*uint(levels-1))
	s.pt.mapPage(ldtV, 0x7000, pageSize)
	// Direct map: 4 KiB pages for the first 2 MiB, 2 MiB pages to 1 GiB,
	// a 1 GiB page for the next GiB.
	s.pt.mapRange(s.pageOffset, 0, 2<<20, pageSize)
	s.pt.mapRange(s.pageOffset+2<<20, 2<<20, 1<<30-2<<20, 2<<20)
	s.pt.mapPage(s.pageOffset+1<<30, 1<<30, 1<<30)
	// The image mapping, as the kernel's level2_kernel_pgt has it.
	s.pt.mapRange(synthText&^(2<<20-1), s.imagePhys(synthText&^(2<<20-1)), 64<<20, 2<<20)

	// struct new_utsname, which makedumpfile checks OSRELEASE against.
	uts := make([]byte, 6*65)
	for i, f := range []string{"Linux", "synthetic", release, "#1 SMP", "x86_64", "(none)"} {
		copy(uts[i*65:], f)
	}
	s.symbol("init_uts_ns", uts)
	s.info["OFFSET(uts_namespace.name)"] = "0"
	// FLATMEM's mem_map pointer, which makedumpfile wants before anything.
	s.symbol("mem_map", u64le(s.pageOffset+0x100000))
	s.info["SIZE(page)"] = "64"
	s.info["OFFSET(page.flags)"] = "0"
	s.info["OFFSET(page._refcount)"] = "52"
	s.info["OFFSET(page.mapping)"] = "24"
	s.info["OSRELEASE"] = release
	s.info["PAGESIZE"] = "4096"
	s.info["SYMBOL(_stext)"] = fmt.Sprintf("%x", uint64(synthText))
	s.info["SYMBOL(swapper_pg_dir)"] = fmt.Sprintf("%x", rootV)
	s.info["SYMBOL(init_top_pgt)"] = fmt.Sprintf("%x", rootV)
	s.info["NUMBER(phys_base)"] = fmt.Sprint(int64(s.physBase))
	s.info["KERNELOFFSET"] = "19000000"
	s.info["NUMBER(KERNEL_IMAGE_SIZE)"] = "1073741824"
	s.info["NUMBER(pgtable_l5_enabled)"] = fmt.Sprint(levels / 5)
	s.info["NUMBER(sme_mask)"] = "0"
	s.info["NUMBER(MAX_PHYSMEM_BITS)"] = "46"
	return s
}

func (s *synthKernel) imagePhys(v uint64) uint64 { return v - startKernelMap + s.physBase }

// symbol places n bytes of kernel data and names it in VMCOREINFO.
func (s *synthKernel) symbol(name string, b []byte) uint64 {
	v := s.nextSym
	s.nextSym += (uint64(len(b)) + 63) &^ 63
	s.m.write(s.imagePhys(v), b)
	if name != "" {
		s.info["SYMBOL("+name+")"] = fmt.Sprintf("%x", v)
	}
	return v
}

// direct places b in fresh physical memory and returns its direct-map address.
func (s *synthKernel) direct(b []byte) uint64 {
	p := s.m.alloc(uint64(len(b)))
	s.m.write(p, b)
	return s.pageOffset + p
}

// vmallocBuf places b in vmalloc space backed by physical pages allocated in
// reverse order, so that only a page-table walk reads it right.
func (s *synthKernel) vmallocBuf(b []byte) uint64 {
	npages := (uint64(len(b)) + pageSize - 1) / pageSize
	v := s.vmalloc
	s.vmalloc += (npages + 1) * pageSize // a guard page
	phys := make([]uint64, npages)
	for i := range phys {
		phys[len(phys)-1-i] = s.m.alloc(pageSize)
	}
	for i, p := range phys {
		s.pt.mapPage(v+uint64(i)*pageSize, p, pageSize)
		end := min(uint64(i+1)*pageSize, uint64(len(b)))
		s.m.write(p, b[uint64(i)*pageSize:end])
	}
	return v
}

func (s *synthKernel) vmcoreinfo() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s.info)) {
		fmt.Fprintf(&b, "%s=%s\n", k, s.info[k])
	}
	return b.String()
}

func u64le(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func u32le(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
