// Package kernel reads a crashed Linux kernel's state out of its physical
// memory with nothing but VMCOREINFO: no vmlinux, no debuginfo. It turns
// kernel virtual addresses into physical ones the way the x86_64 kernel
// does, and extracts the printk log of every generation so that what
// `makedumpfile --dump-dmesg` prints, we print, byte for byte.
//
// It knows nothing of dump file formats: package dump (or a test's fake)
// supplies physical memory through PhysReader. Package dump also owns the
// VMCOREINFO text and its one parser (dump.VMCOREINFO), since it must read
// the release and crash time from it before any kernel exists; this package
// interprets what the keys say.
package kernel

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ktriage/ktriage/dump"
)

// PhysReader reads physical memory. It is the only thing the kernel package
// needs from a dump, so that any container (ELF, kdump-compressed, a live
// /proc/kcore, a test's byte slice) can serve it. ReadPhys follows
// io.ReaderAt: fewer than len(p) bytes come with an error saying why (a page
// the dump filtered out, an address beyond the dump).
type PhysReader interface {
	ReadPhys(p []byte, paddr uint64) (int, error)
}

// Kernel is one crashed kernel as seen through its memory and VMCOREINFO.
// Its methods are safe for concurrent use when the PhysReader is.
type Kernel struct {
	mem  PhysReader
	info dump.VMCOREINFO

	release  string
	version  int
	physBase uint64
	// textEnd bounds the kernel image mapping that starts at
	// __START_KERNEL_map; the module area after it needs page tables.
	textEnd  uint64
	levels   int
	root     uint64 // physical address of the top-level page table
	rootErr  error
	smeMask  uint64
	physBits uint

	pageOffsetOnce sync.Once
	pageOffset     uint64
	pageOffsetOK   bool
	pageOffsetErr  error

	directMu  sync.Mutex
	directGiB map[uint64]bool // GiBs after page_offset: direct map or not

	tables tableCache

	symsOnce sync.Once
	syms     *Symbols
	symsErr  error
}

// Option adjusts New for what VMCOREINFO cannot say on its own, typically
// facts the dump container knows (an ELF PT_LOAD's p_vaddr-p_paddr, a
// kdump sub-header's phys_base).
type Option func(*Kernel)

// WithPhysBase sets the physical address the kernel image was loaded at
// relative to its link address, for kernels before 4.10 that did not put
// NUMBER(phys_base) into VMCOREINFO. VMCOREINFO wins when it has it.
func WithPhysBase(physBase uint64) Option {
	return func(k *Kernel) {
		if _, ok := k.info.Number("phys_base"); !ok {
			k.physBase = physBase
		}
	}
}

// WithPageOffset sets the start of the direct map (page_offset_base) when
// the container knows it, sparing the page-table search for it.
func WithPageOffset(pageOffset uint64) Option {
	return func(k *Kernel) {
		k.pageOffsetOnce.Do(func() {
			k.pageOffset, k.pageOffsetOK = pageOffset, true
		})
	}
}

// x86_64 constants that have never changed.
const (
	startKernelMap = 0xffffffff80000000
	pageSize       = 4096
	// kernelImageSize is KERNEL_IMAGE_SIZE without KASLR (512 MiB); with
	// KASLR it is 1 GiB and VMCOREINFO says so.
	kernelImageSize = 512 << 20
)

// New describes the kernel whose memory mem holds and whose VMCOREINFO
// text vmcoreinfo is. It fails only when VMCOREINFO is unusable or names
// another architecture's layout; what later reads need is checked then.
func New(mem PhysReader, vmcoreinfo string, opts ...Option) (*Kernel, error) {
	if mem == nil {
		return nil, errors.New("kernel: no physical memory reader")
	}
	if err := checkArch(mem); err != nil {
		return nil, err
	}
	// Malformed lines are skipped (dump.Info.Warnings names them): a
	// line the kernel truncated must not cost the whole dump.
	info, err := dump.ParseVMCOREINFO(vmcoreinfo)
	if info == nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	k := &Kernel{mem: mem, info: info, levels: 4, physBits: 52}
	k.tables.init()
	k.directGiB = make(map[uint64]bool)
	var ok bool
	if k.release, ok = info["OSRELEASE"]; !ok {
		return nil, errors.New("kernel: VMCOREINFO has no OSRELEASE")
	}
	k.version = kernelVersion(k.release)
	if ps, ok := info.PageSize(); ok && ps != pageSize {
		return nil, fmt.Errorf("kernel: PAGESIZE=%d: only x86_64 with 4 KiB pages is supported", ps)
	}
	if pb, ok := info.Number("phys_base"); ok {
		k.physBase = uint64(pb)
	}
	size := uint64(kernelImageSize)
	if n, ok := info.Number("KERNEL_IMAGE_SIZE"); ok && n > 0 && n <= 2<<30 {
		size = uint64(n)
	} else if _, ok := info.KernelOffset(); ok {
		size = 1 << 30
	}
	k.textEnd = startKernelMap + size
	if l5, ok := info.Number("pgtable_l5_enabled"); ok && l5 != 0 {
		k.levels = 5
	}
	if m, ok := info.Number("sme_mask"); ok {
		k.smeMask = uint64(m)
	}
	if b, ok := info.Number("MAX_PHYSMEM_BITS"); ok && b > 0 && b <= 52 {
		k.physBits = uint(b)
	}
	for _, o := range opts {
		o(k)
	}
	k.root, k.rootErr = k.pageTableRoot()
	return k, nil
}

// describer is what a dump.Dump tells about itself beyond its memory.
type describer interface{ Info() dump.Info }

// checkArch refuses memory whose container names another machine: this
// package walks x86_64 page tables and reads little-endian structures, so
// an aarch64 or big-endian dump would be misread, not read. A reader that
// does not say (a test's byte slice) is taken as x86_64.
func checkArch(mem PhysReader) error {
	d, ok := mem.(describer)
	if !ok {
		return nil
	}
	switch arch := d.Info().Arch; arch {
	case "", "x86_64":
		return nil
	default:
		return fmt.Errorf("kernel: %s dumps are not supported yet: only x86_64 kernels are read", arch)
	}
}

// Release returns the kernel release (OSRELEASE, `uname -r`), the first
// thing to match known bugs against.
func (k *Kernel) Release() string { return k.release }

// VMCOREINFO returns the parsed VMCOREINFO, for callers that need keys this
// package does not interpret. Lines dump.ParseVMCOREINFO reported as
// malformed are not in it.
func (k *Kernel) VMCOREINFO() dump.VMCOREINFO { return k.info }

// PhysBase returns the kernel image's relocation (phys_base): the physical
// address of the image is its virtual address minus __START_KERNEL_map plus
// this.
func (k *Kernel) PhysBase() uint64 { return k.physBase }

func (k *Kernel) pageTableRoot() (uint64, error) {
	sym, ok := k.info.Symbol("init_top_pgt")
	if !ok {
		if sym, ok = k.info.Symbol("swapper_pg_dir"); !ok {
			return 0, errors.New("kernel: VMCOREINFO has neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir)")
		}
	}
	// The root is kernel data: translate it with the image rule, never
	// through the page tables it is the root of.
	if sym < startKernelMap || sym >= k.textEnd {
		return 0, fmt.Errorf("kernel: page table root %#x is outside the kernel image mapping", sym)
	}
	return sym - startKernelMap + k.physBase, nil
}
