package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Page-table entry bits (arch/x86/include/asm/pgtable_types.h).
const (
	ptePresent = 1 << 0
	ptePSE     = 1 << 7 // a leaf at PUD (1 GiB) or PMD (2 MiB) level
	pteAddr    = 0x000ffffffffff000
)

// TranslationError says why a kernel virtual address has no physical
// address: which address, at which page-table level the walk stopped (PGD,
// P4D, PUD, PMD, PTE; empty when it never started), and the entry found
// there, so that a corrupt or filtered page table can be told from an
// unmapped address.
type TranslationError struct {
	Vaddr  uint64
	Level  PageTableLevel
	Entry  uint64
	Reason string
	Err    error // the read failure underneath, if any
}

// Error says where the translation stopped and why.
func (e *TranslationError) Error() string {
	s := fmt.Sprintf("kernel: translate %#x: ", e.Vaddr)
	if e.Level != "" {
		s += string(e.Level) + " "
		if e.Err == nil {
			s += fmt.Sprintf("entry %#x ", e.Entry)
		}
	}
	s += e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the PhysReader's error (a filtered page) under a failed
// page-table read.
func (e *TranslationError) Unwrap() error { return e.Err }

// PageTableLevel names an x86_64 page-table level by the kernel's name for it.
type PageTableLevel string

// The page-table levels from the top down; P4D exists only with 5-level
// paging.
const (
	LevelPGD PageTableLevel = "PGD"
	LevelP4D PageTableLevel = "P4D"
	LevelPUD PageTableLevel = "PUD"
	LevelPMD PageTableLevel = "PMD"
	LevelPTE PageTableLevel = "PTE"
)

var (
	levels4 = []PageTableLevel{LevelPGD, LevelPUD, LevelPMD, LevelPTE}
	levels5 = []PageTableLevel{LevelPGD, LevelP4D, LevelPUD, LevelPMD, LevelPTE}
)

// levelNames returns the levels from the top down.
func (k *Kernel) levelNames() []PageTableLevel {
	if k.levels == 5 {
		return levels5
	}
	return levels4
}

// canonical reports whether vaddr is outside the non-canonical hole.
func (k *Kernel) canonical(vaddr uint64) bool {
	bits := uint(12 + 9*k.levels) // 48 or 57
	top := int64(vaddr) >> (bits - 1)
	return top == 0 || top == -1
}

// Translate returns the physical address of a kernel virtual address: the
// image rule for the kernel's own text and data, the direct-map offset for
// the direct map, the page tables for everything else (vmalloc, modules,
// vmemmap, per-cpu). Errors are *TranslationError.
func (k *Kernel) Translate(vaddr uint64) (uint64, error) {
	paddr, _, err := k.translate(vaddr)
	return paddr, err
}

// translate also returns how many bytes from vaddr on are physically
// contiguous by the same rule, so reads can go in one piece.
func (k *Kernel) translate(vaddr uint64) (paddr, span uint64, err error) {
	if vaddr >= startKernelMap && vaddr < k.textEnd {
		return vaddr - startKernelMap + k.physBase, k.textEnd - vaddr, nil
	}
	po, ok := k.PageOffset()
	if !ok || vaddr < po || vaddr-po >= 1<<k.physBits {
		return k.walk(vaddr)
	}
	// The direct map's extent is the RAM size (plus padding), not
	// 1<<MAX_PHYSMEM_BITS: vmalloc and vmemmap may follow within that
	// distance. Randomization moves regions in whole PUDs (1 GiB), so one
	// walk per GiB tells whether it belongs to the direct map; after that
	// the GiB is read linearly, as makedumpfile reads the direct map.
	gib := (vaddr - po) >> 30
	k.directMu.Lock()
	direct, known := k.directGiB[gib]
	k.directMu.Unlock()
	if known && direct {
		return vaddr - po, (gib+1)<<30 - (vaddr - po), nil
	}
	paddr, span, err = k.walk(vaddr)
	if err != nil || known {
		return paddr, span, err
	}
	k.directMu.Lock()
	if len(k.directGiB) < maxDirectGiB {
		k.directGiB[gib] = paddr == vaddr-po
	}
	k.directMu.Unlock()
	return paddr, span, nil
}

// maxDirectGiB bounds the direct-map classification memory.
const maxDirectGiB = 1 << 16

// walk translates through the page tables from the kernel's root.
func (k *Kernel) walk(vaddr uint64) (uint64, uint64, error) {
	if k.rootErr != nil {
		return 0, 0, &TranslationError{Vaddr: vaddr, Reason: "no page table root", Err: k.rootErr}
	}
	if !k.canonical(vaddr) {
		return 0, 0, &TranslationError{Vaddr: vaddr, Reason: fmt.Sprintf("non-canonical address for %d-level paging", k.levels)}
	}
	names := k.levelNames()
	table := k.root
	for i, name := range names {
		shift := uint(12 + 9*(k.levels-1-i))
		idx := (vaddr >> shift) & 511
		e, err := k.entry(table, idx)
		if err != nil {
			return 0, 0, &TranslationError{Vaddr: vaddr, Level: name, Reason: fmt.Sprintf("table at physical %#x unreadable", table), Err: err}
		}
		if e&ptePresent == 0 {
			return 0, 0, &TranslationError{Vaddr: vaddr, Level: name, Entry: e, Reason: "not present"}
		}
		e &^= k.smeMask
		last := i == len(names)-1
		if !last && e&ptePSE != 0 {
			if shift != 30 && shift != 21 {
				return 0, 0, &TranslationError{Vaddr: vaddr, Level: name, Entry: e, Reason: "has the large-page bit where x86_64 allows none"}
			}
			size := uint64(1) << shift
			base := e & pteAddr &^ (size - 1)
			off := vaddr & (size - 1)
			return base + off, size - off, nil
		}
		if last {
			off := vaddr & (pageSize - 1)
			return e&pteAddr + off, pageSize - off, nil
		}
		table = e & pteAddr
	}
	panic("unreachable")
}

// PageOffset returns the start of the direct map (page_offset_base), which
// CONFIG_RANDOMIZE_MEMORY moves at every boot. Without debuginfo nothing in
// VMCOREINFO names it, so we find it as libkdumpfile does: the first
// mapping in the kernel half of the page tables that maps physical address
// 0 is the direct map's start. ok is false when no such mapping exists.
func (k *Kernel) PageOffset() (uint64, bool) {
	k.pageOffsetOnce.Do(func() {
		k.pageOffset, k.pageOffsetOK, k.pageOffsetErr = k.findPageOffset()
	})
	return k.pageOffset, k.pageOffsetOK
}

// maxScanTables bounds the page-table pages findPageOffset reads.
const maxScanTables = 4096

func (k *Kernel) findPageOffset() (uint64, bool, error) {
	if k.rootErr != nil {
		return 0, false, k.rootErr
	}
	budget := maxScanTables
	top := uint(12 + 9*(k.levels-1))
	// Kernel half: top-level entries 256..511. In each, the first present
	// leaf decides: the direct map is the first region, and randomization
	// leaves nothing mapped before it within its top-level entry.
	for idx := uint64(256); idx < 512; idx++ {
		e, err := k.entry(k.root, idx)
		if err != nil {
			return 0, false, err
		}
		if e&ptePresent == 0 {
			continue
		}
		vbase := signExtend(idx<<top, 12+9*uint(k.levels))
		va, pa, found := k.firstLeaf(e&^k.smeMask, top, vbase, &budget)
		if budget <= 0 {
			return 0, false, errors.New("kernel: direct map not found within the page-table scan budget")
		}
		if found && pa == 0 && va != startKernelMap {
			return va, true, nil
		}
	}
	return 0, false, errors.New("kernel: no kernel mapping of physical address 0: direct map not found")
}

// firstLeaf finds the lowest present leaf under entry e, which covers
// 1<<shift bytes from vbase.
func (k *Kernel) firstLeaf(e uint64, shift uint, vbase uint64, budget *int) (vaddr, paddr uint64, ok bool) {
	if shift == 12 {
		return vbase, e & pteAddr, true
	}
	if e&ptePSE != 0 && (shift == 30 || shift == 21) {
		return vbase, e & pteAddr &^ (1<<shift - 1), true
	}
	if *budget <= 0 {
		return 0, 0, false
	}
	*budget--
	t, err := k.table(e & pteAddr)
	if err != nil {
		return 0, 0, false
	}
	for i := range uint64(512) {
		c := t[i]
		if c&ptePresent == 0 {
			continue
		}
		return k.firstLeaf(c&^k.smeMask, shift-9, vbase+i<<(shift-9), budget)
	}
	return 0, 0, false
}

func signExtend(v uint64, bits uint) uint64 {
	return uint64(int64(v<<(64-bits)) >> (64 - bits))
}

func (k *Kernel) entry(table, idx uint64) (uint64, error) {
	t, err := k.table(table)
	if err != nil {
		return 0, err
	}
	return t[idx], nil
}

// tableCache keeps recently read page-table pages: walks share their upper
// levels, and a dump's pages never change.
type tableCache struct {
	mu sync.Mutex
	m  map[uint64]*[512]uint64
}

const maxCachedTables = 1024

func (c *tableCache) init() { c.m = make(map[uint64]*[512]uint64) }

func (k *Kernel) table(paddr uint64) (*[512]uint64, error) {
	k.tables.mu.Lock()
	t, ok := k.tables.m[paddr]
	k.tables.mu.Unlock()
	if ok {
		return t, nil
	}
	var buf [pageSize]byte
	if n, err := k.mem.ReadPhys(buf[:], paddr); n < len(buf) {
		if err == nil {
			err = errors.New("short read")
		}
		return nil, err
	}
	t = new([512]uint64)
	for i := range t {
		t[i] = binary.LittleEndian.Uint64(buf[i*8:])
	}
	k.tables.mu.Lock()
	if len(k.tables.m) >= maxCachedTables {
		clear(k.tables.m)
	}
	k.tables.m[paddr] = t
	k.tables.mu.Unlock()
	return t, nil
}

// ReadVirt reads kernel virtual memory, like io.ReaderAt: n < len(p) comes
// with an error, a *TranslationError when an address has no mapping, or the
// PhysReader's own error (a filtered-out page) wrapped with the address.
func (k *Kernel) ReadVirt(p []byte, vaddr uint64) (int, error) {
	n := 0
	for n < len(p) {
		va := vaddr + uint64(n)
		if va < vaddr {
			return n, &TranslationError{Vaddr: va, Reason: "address wraps past the top of the address space"}
		}
		pa, span, err := k.translate(va)
		if err != nil {
			return n, err
		}
		chunk := uint64(len(p) - n)
		if span < chunk {
			chunk = span
		}
		m, err := k.mem.ReadPhys(p[n:n+int(chunk)], pa)
		n += m
		if uint64(m) < chunk {
			if err == nil {
				err = errors.New("short read")
			}
			return n, fmt.Errorf("kernel: read %#x (physical %#x): %w", va+uint64(m), pa+uint64(m), err)
		}
	}
	return n, nil
}

func (k *Kernel) readU64(vaddr uint64) (uint64, error) {
	var b [8]byte
	if _, err := k.ReadVirt(b[:], vaddr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (k *Kernel) readU32(vaddr uint64) (uint32, error) {
	var b [4]byte
	if _, err := k.ReadVirt(b[:], vaddr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}
