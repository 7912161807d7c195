package kview

import "testing"

// TestSlabRule: the three ways kernels mark a slab page, with pages that
// must not pass for one (mapcounts, other page types).
func TestSlabRule(t *testing.T) {
	flag61 := slabRule{flagBit: 9}                              // 6.1: NUMBER(PG_slab)=9
	inv610 := slabRule{flagBit: -1, typeValue: ^uint32(0x1000)} // 6.10: ~PG_slab
	pgty612 := slabRule{flagBit: -1, typeValue: 0xf5 << 24}     // 6.12: PGTY_slab<<24
	for _, c := range []struct {
		name     string
		rule     slabRule
		flags    uint64
		pageType uint32
		want     bool
	}{
		{"6.1 slab", flag61, 1<<9 | 1<<16, 0xffffffff, true},
		{"6.1 head page, no slab", flag61, 1 << 16, 0xffffffff, false},
		{"6.1 buddy page type ignored", flag61, 0, 0xffffff7f, false},
		{"6.10 slab", inv610, 0, 0xffffefff, true},
		{"6.10 no type (mapcount -1)", inv610, 1 << 9, 0xffffffff, false},
		{"6.10 buddy", inv610, 0, 0xffffff7f, false},
		{"6.10 mapped page", inv610, 0, 3, false},
		{"6.12 slab", pgty612, 0, 0xf5000000, true},
		{"6.12 buddy", pgty612, 0, 0xf0000000, false},
		{"6.12 mapcount", pgty612, 1 << 9, 0x00000002, false},
		{"6.12 no type", pgty612, 0, 0xffffffff, false},
		{"bogus rule", slabRule{flagBit: -1, typeValue: 0xffffffff}, 0, 0xf0000000, false},
		{"flag bit out of range", slabRule{flagBit: 70}, ^uint64(0), 0, false},
	} {
		if got := c.rule.isSlab(c.flags, c.pageType); got != c.want {
			t.Errorf("%s: isSlab(%#x, %#x) = %v, want %v", c.name, c.flags, c.pageType, got, c.want)
		}
	}
}
