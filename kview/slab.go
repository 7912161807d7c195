package kview

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/ktypes"
)

// SlabObject is the slab object an address falls in: which cache, where
// the object starts and its stride.
type SlabObject struct {
	// Cache is the kmem_cache's name ("skbuff_head_cache"); a merged
	// cache answers with the name of the cache it was merged into.
	Cache string
	// CacheAddr is the struct kmem_cache.
	CacheAddr uint64
	// Start is the object's first byte (after the left red zone of a
	// SLAB_RED_ZONE cache), Size the cache's stride (kmem_cache.size).
	Start, Size uint64
}

// SlabError says why an address is not known to be in a slab object.
type SlabError struct {
	Addr   uint64
	Reason string
	Err    error
}

func (e *SlabError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("slab object at %#x: %s: %v", e.Addr, e.Reason, e.Err)
	}
	return fmt.Sprintf("slab object at %#x: %s", e.Addr, e.Reason)
}

// Unwrap exposes the underlying failure.
func (e *SlabError) Unwrap() error { return e.Err }

const (
	// defaultVmemmap is vmemmap's base without CONFIG_RANDOMIZE_MEMORY
	// (Documentation/arch/x86/x86_64/mm.rst, 4-level paging).
	defaultVmemmap = 0xffffea0000000000
	// slabRedZone is SLAB_RED_ZONE (include/linux/slab.h).
	slabRedZone = 0x00000400
	// pageTypeBase is PAGE_TYPE_BASE of 5.x–6.11 page types: the top
	// nibble set marks page_type as a type, not a mapcount.
	pageTypeBase = 0xf0000000
	// maxSlabOrder bounds the pages one slab spans (MAX_ORDER 10/11).
	maxSlabOrder = 11
)

// slabRule says how a page's struct page tells that it belongs to a slab,
// which changed with the kernel: a PG_slab bit in page->flags up to 6.9, a
// page type in page->page_type since (inverted bits in 6.10 and 6.11,
// PGTY_slab in the top byte from 6.12).
type slabRule struct {
	// flagBit is PG_slab's bit number in page->flags, -1 when the kernel
	// marks slabs by page type.
	flagBit int
	// typeValue is PAGE_SLAB_MAPCOUNT_VALUE as VMCOREINFO gives it when
	// flagBit is -1.
	typeValue uint32
}

// isSlab tells from a head page's flags and page_type whether it is a
// slab page.
func (r slabRule) isSlab(flags uint64, pageType uint32) bool {
	if r.flagBit >= 0 {
		return r.flagBit < 64 && flags&(1<<uint(r.flagBit)) != 0
	}
	if r.typeValue&0x00ffffff == 0 {
		// 6.12+: page_type >> 24 == PGTY_slab, and
		// PAGE_SLAB_MAPCOUNT_VALUE is PGTY_slab << 24.
		return pageType>>24 == r.typeValue>>24
	}
	// 6.10, 6.11: a type is a cleared bit under PAGE_TYPE_BASE, and
	// PAGE_SLAB_MAPCOUNT_VALUE is ~PG_slab.
	bit := ^r.typeValue
	if bit == 0 || bit&pageTypeBase != 0 {
		return false
	}
	return pageType&(pageTypeBase|bit) == pageTypeBase
}

// slabRuleOf reads the rule from VMCOREINFO, which exports PG_slab while
// it is a page flag and PAGE_SLAB_MAPCOUNT_VALUE once it is a page type,
// falling back on the BTF enums.
func (v *View) slabRuleOf() (slabRule, error) {
	vi := v.k.VMCOREINFO()
	if n, ok := vi.Number("PG_slab"); ok && n >= 0 && n < 64 {
		return slabRule{flagBit: int(n)}, nil
	}
	if n, ok := vi.Number("PAGE_SLAB_MAPCOUNT_VALUE"); ok {
		return slabRule{flagBit: -1, typeValue: uint32(n)}, nil
	}
	if n, ok := v.enumValue("pageflags", "PG_slab"); ok && n < 64 {
		return slabRule{flagBit: int(n)}, nil
	}
	if n, ok := v.enumValue("pagetype", "PGTY_slab"); ok && n < 0x100 {
		return slabRule{flagBit: -1, typeValue: uint32(n) << 24}, nil
	}
	if n, ok := v.enumValue("pagetype", "PG_slab"); ok {
		return slabRule{flagBit: -1, typeValue: ^uint32(n)}, nil
	}
	return slabRule{}, fmt.Errorf("neither VMCOREINFO (NUMBER(PG_slab), NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)) nor the types (enum pageflags, enum pagetype) say how a slab page is marked")
}

// enumValue returns the value of enumerator name of enum typ.
func (v *View) enumValue(typ, name string) (uint64, bool) {
	t, err := v.Type("enum " + typ)
	if err != nil {
		return 0, false
	}
	return enumerator(t, name)
}

// SlabObject finds the slab object that holds addr, a direct-map address:
// its page's struct page in vmemmap, the compound head, the slab mark, and
// the struct slab's kmem_cache. Errors say why not (not direct-mapped, the
// page filtered out of the dump, not a slab page).
func (v *View) SlabObject(addr uint64) (SlabObject, error) {
	fail := func(reason string, err error) (SlabObject, error) {
		return SlabObject{}, &SlabError{Addr: addr, Reason: reason, Err: err}
	}
	po, ok := v.k.PageOffset()
	if !ok {
		return fail("the direct map's start (page_offset_base) is unknown", nil)
	}
	maxPhys := uint64(1) << 46
	if n, ok := v.k.VMCOREINFO().Number("MAX_PHYSMEM_BITS"); ok && n > 0 && n < 64 {
		maxPhys = 1 << uint(n)
	}
	if addr < po || addr-po >= maxPhys {
		return fail(fmt.Sprintf("not a direct-map address (the direct map is %#x..%#x)", po, po+maxPhys), nil)
	}
	pfn := (addr - po) >> 12
	vmemmap := uint64(defaultVmemmap)
	if a, _, err := v.Lookup("vmemmap_base"); err == nil {
		if b, err := v.U64(a); err == nil && b != 0 {
			vmemmap = b
		}
	}
	pageT, err := v.Type("struct page")
	if err != nil {
		return fail("no struct page type", err)
	}
	psize, err := sizeof(pageT)
	if err != nil || psize == 0 {
		return fail("sizeof(struct page)", err)
	}
	page := vmemmap + pfn*psize
	ch, err := v.Uint(page, "page", "compound_head")
	if err != nil {
		return fail(fmt.Sprintf("struct page of pfn %#x at %#x not in the dump", pfn, page), err)
	}
	head := page
	if ch&1 != 0 {
		head = ch - 1
		if head > page || page-head >= psize<<maxSlabOrder || (page-head)%psize != 0 {
			return fail(fmt.Sprintf("struct page %#x: compound_head %#x is not a head within %d pages", page, ch, 1<<maxSlabOrder), nil)
		}
	}
	rule, err := v.slabRuleOf()
	if err != nil {
		return fail("slab pages", err)
	}
	flags, err := v.Uint(head, "page", "flags")
	if err != nil {
		return fail(fmt.Sprintf("head struct page %#x", head), err)
	}
	var ptype uint64
	if rule.flagBit < 0 {
		if ptype, err = v.Uint(head, "page", "page_type"); err != nil {
			return fail(fmt.Sprintf("head struct page %#x", head), err)
		}
	}
	if !rule.isSlab(flags, uint32(ptype)) {
		return fail(fmt.Sprintf("pfn %#x is not a slab page (head struct page %#x, flags %#x)", pfn, head, flags), nil)
	}
	cache, err := v.Uint(head, "slab", "slab_cache")
	if err != nil {
		// Before 5.17 the fields lived in struct page itself.
		if cache, err = v.Uint(head, "page", "slab_cache"); err != nil {
			return fail(fmt.Sprintf("slab_cache of struct slab %#x", head), err)
		}
	}
	if cache == 0 {
		return fail(fmt.Sprintf("struct slab %#x has no slab_cache", head), nil)
	}
	size, err := v.Uint(cache, "kmem_cache", "size")
	if err != nil {
		return fail(fmt.Sprintf("kmem_cache %#x", cache), err)
	}
	if size == 0 || size > 1<<24 {
		return fail(fmt.Sprintf("kmem_cache %#x: size %d is implausible", cache, size), nil)
	}
	nameP, err := v.Uint(cache, "kmem_cache", "name")
	if err != nil {
		return fail(fmt.Sprintf("kmem_cache %#x", cache), err)
	}
	name, err := v.String(nameP)
	if err != nil {
		return fail(fmt.Sprintf("kmem_cache %#x: name at %#x", cache, nameP), err)
	}
	var redLeft uint64
	if cf, err := v.Uint(cache, "kmem_cache", "flags"); err == nil && cf&slabRedZone != 0 {
		redLeft, _ = v.Uint(cache, "kmem_cache", "red_left_pad")
	}
	headPFN := (head - vmemmap) / psize
	base := po + headPFN<<12 + redLeft
	// CONFIG_SLAB (gone in 6.8) starts objects at s_mem, after the
	// slab's colour; SLUB at the page itself.
	if sm, err := v.Uint(head, "slab", "s_mem"); err == nil && sm >= base && sm-base < uint64(4096)<<maxSlabOrder {
		base = sm
	}
	if addr < base {
		return fail(fmt.Sprintf("in the left red zone of the first object of %s's slab at %#x", name, base-redLeft), nil)
	}
	idx := (addr - base) / size
	if n, err := v.Uint(head, "slab", "objects"); err == nil && n != 0 && idx >= n {
		return fail(fmt.Sprintf("past the %d objects of %s's slab at %#x", n, name, base-redLeft), nil)
	}
	return SlabObject{Cache: name, CacheAddr: cache, Start: base + idx*size, Size: size}, nil
}

// sizeof is btf.Sizeof as an unsigned size.
func sizeof(t btf.Type) (uint64, error) {
	n, err := btf.Sizeof(t)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, fmt.Errorf("%s has size %d", ktypes.TypeName(t), n)
	}
	return uint64(n), nil
}

// enumerator returns the value of the enumerator name of enum t.
func enumerator(t btf.Type, name string) (uint64, bool) {
	e, ok := btf.UnderlyingType(t).(*btf.Enum)
	if !ok {
		return 0, false
	}
	for _, val := range e.Values {
		if val.Name == name {
			return val.Value, true
		}
	}
	return 0, false
}
