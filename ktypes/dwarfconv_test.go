package ktypes

import (
	"debug/dwarf"
	"encoding/binary"
	"testing"
)

// TestBitOffset holds both DWARF bitfield forms to the layout a C compiler
// gives struct { unsigned a:3, b:5; unsigned char c; unsigned d:20; }: a at
// bit 0, b at 3, c at byte 1, d at bit 32 (the next unsigned unit, since
// 20 bits do not fit after c in the first).
func TestBitOffset(t *testing.T) {
	u32 := &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "unsigned int"}}}
	u8 := &dwarf.UcharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "unsigned char"}}}
	le := &DWARF{order: binary.LittleEndian}
	be := &DWARF{order: binary.BigEndian}
	for _, c := range []struct {
		name string
		d    *DWARF
		f    dwarf.StructField
		want uint64
	}{
		// DWARF 4/5: DW_AT_data_bit_offset from the struct's start.
		{"new a", le, dwarf.StructField{Type: u32, DataBitOffset: 0, BitSize: 3}, 0},
		{"new b", le, dwarf.StructField{Type: u32, DataBitOffset: 3, BitSize: 5}, 3},
		{"new d", le, dwarf.StructField{Type: u32, DataBitOffset: 32, BitSize: 20}, 32},
		{"plain c", le, dwarf.StructField{Type: u8, ByteOffset: 1}, 8},
		// DWARF 2/3: DW_AT_bit_offset from the unit's most significant bit.
		{"old a", le, dwarf.StructField{Type: u32, ByteSize: 4, BitOffset: 29, BitSize: 3}, 0},
		{"old b", le, dwarf.StructField{Type: u32, ByteSize: 4, BitOffset: 24, BitSize: 5}, 3},
		{"old d", le, dwarf.StructField{Type: u32, ByteOffset: 4, ByteSize: 4, BitOffset: 12, BitSize: 20}, 32},
		{"old top bit", le, dwarf.StructField{Type: u32, ByteSize: 4, BitOffset: 0, BitSize: 1}, 31},
		{"old, unit from the type", le, dwarf.StructField{Type: u32, BitOffset: 24, BitSize: 5}, 3},
		{"old big-endian", be, dwarf.StructField{Type: u32, ByteSize: 4, BitOffset: 3, BitSize: 5}, 3},
	} {
		got, err := c.d.bitOffset(&c.f)
		if err != nil || got != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, got, err, c.want)
		}
	}
	for _, bad := range []dwarf.StructField{
		{Type: u32, ByteSize: 4, BitOffset: 30, BitSize: 5},
		{Type: u32, ByteOffset: -1},
		{Type: u32, BitSize: -3},
	} {
		if got, err := le.bitOffset(&bad); err == nil {
			t.Errorf("%+v: %d, no error", bad, got)
		}
	}
}
