package ktypes

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// typeAt converts the type entry at off. d.mu is held.
func (d *DWARF) typeAt(off dwarf.Offset) (btf.Type, error) {
	dt, err := d.data.Type(off)
	if err != nil {
		return nil, err
	}
	c := converter{d: d}
	t, err := c.shell(dt, 0)
	if err == nil {
		err = c.drain()
	}
	if err != nil {
		// Shells of this call may be half filled: forget them all, so
		// a later call does not hand them out.
		for _, k := range c.added {
			delete(d.conv, k)
		}
		return nil, err
	}
	return t, nil
}

// converter turns DWARF types into btf types without recursion: the type
// graph reachable from sk_buff is most of the kernel's, thousands of
// structs deep by pointers, so each type is first made as an empty shell
// (memoized, so cycles end) and its parts are filled from a work list.
type converter struct {
	d     *DWARF
	todo  []func() error
	added []dwarf.Type
}

// maxPassThrough bounds the chain of types a shell passes through to
// another without a shell of its own (unknown qualifiers, declarations
// resolved by name): a real kernel has one or two, a corrupt DWARF could
// loop.
const maxPassThrough = 32

func (c *converter) memo(t dwarf.Type, b btf.Type) btf.Type {
	c.d.conv[t] = b
	c.added = append(c.added, t)
	return b
}

func (c *converter) drain() error {
	for len(c.todo) > 0 {
		f := c.todo[len(c.todo)-1]
		c.todo = c.todo[:len(c.todo)-1]
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// shell returns the btf type of t, made and memoized at once with its
// parts left to the work list.
func (c *converter) shell(t dwarf.Type, pass int) (btf.Type, error) {
	if t == nil {
		return &btf.Void{}, nil
	}
	if b, ok := c.d.conv[t]; ok {
		return b, nil
	}
	if pass > maxPassThrough {
		return nil, fmt.Errorf("type %s: more than %d qualifiers or declarations in a chain", t, maxPassThrough)
	}
	switch x := t.(type) {
	case *dwarf.StructType:
		return c.structShell(x, pass)
	case *dwarf.TypedefType:
		td := &btf.Typedef{Name: x.Name}
		c.memo(t, td)
		c.later(x.Type, func(b btf.Type) { td.Type = b })
		return td, nil
	case *dwarf.PtrType:
		p := &btf.Pointer{}
		c.memo(t, p)
		c.later(x.Type, func(b btf.Type) { p.Target = b })
		return p, nil
	case *dwarf.QualType:
		switch x.Qual {
		case "const":
			q := &btf.Const{}
			c.memo(t, q)
			c.later(x.Type, func(b btf.Type) { q.Type = b })
			return q, nil
		case "volatile":
			q := &btf.Volatile{}
			c.memo(t, q)
			c.later(x.Type, func(b btf.Type) { q.Type = b })
			return q, nil
		case "restrict":
			q := &btf.Restrict{}
			c.memo(t, q)
			c.later(x.Type, func(b btf.Type) { q.Type = b })
			return q, nil
		}
		// _Atomic and others do not change the layout.
		b, err := c.shell(x.Type, pass+1)
		if err != nil {
			return nil, err
		}
		return c.memo(t, b), nil
	case *dwarf.ArrayType:
		a := &btf.Array{Index: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}
		// Count is -1 for x[] and 0 for x[0]: both hold no element
		// BTF can count.
		if x.Count > 0 && x.Count <= 1<<32-1 {
			a.Nelems = uint32(x.Count)
		}
		c.memo(t, a)
		c.later(x.Type, func(b btf.Type) { a.Type = b })
		return a, nil
	case *dwarf.FuncType:
		fp := &btf.FuncProto{Params: make([]btf.FuncParam, len(x.ParamType))}
		c.memo(t, fp)
		c.later(x.ReturnType, func(b btf.Type) { fp.Return = b })
		for i, p := range x.ParamType {
			if _, ok := p.(*dwarf.DotDotDotType); ok {
				// BTF marks a variadic prototype by a last
				// parameter of type void.
				fp.Params[i].Type = &btf.Void{}
				continue
			}
			c.later(p, func(b btf.Type) { fp.Params[i].Type = b })
		}
		return fp, nil
	case *dwarf.EnumType:
		return c.enum(x, pass)
	case *dwarf.VoidType, *dwarf.UnspecifiedType:
		return c.memo(t, &btf.Void{}), nil
	case *dwarf.FloatType:
		return c.memo(t, &btf.Float{Name: x.Name, Size: uint32(x.ByteSize)}), nil
	case *dwarf.ComplexType:
		// BTF has no complex type, and the kernel no complex numbers;
		// a float of the size keeps the layout.
		return c.memo(t, &btf.Float{Name: x.Name, Size: uint32(x.ByteSize)}), nil
	case *dwarf.IntType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize), Encoding: btf.Signed}), nil
	case *dwarf.CharType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize), Encoding: btf.Signed}), nil
	case *dwarf.UintType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize)}), nil
	case *dwarf.UcharType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize)}), nil
	case *dwarf.AddrType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize)}), nil
	case *dwarf.BoolType:
		return c.memo(t, &btf.Int{Name: x.Name, Size: uint32(x.ByteSize), Encoding: btf.Bool}), nil
	}
	return nil, fmt.Errorf("DWARF type %s (%T) has no BTF equivalent", t, t)
}

// later converts part t of a shell from the work list and hands the result
// to set.
func (c *converter) later(t dwarf.Type, set func(btf.Type)) {
	c.todo = append(c.todo, func() error {
		b, err := c.shell(t, 0)
		if err != nil {
			return err
		}
		set(b)
		return nil
	})
}

func (c *converter) structShell(x *dwarf.StructType, pass int) (btf.Type, error) {
	isUnion := x.Kind == "union"
	if x.Incomplete {
		// A unit that only declares the struct: the complete one is
		// elsewhere, under the same name, as BTF's deduplication would
		// have it.
		k, fk := dwarfKey{dkStruct, x.StructName}, btf.FwdStruct
		if isUnion {
			k.kind, fk = dkUnion, btf.FwdUnion
		}
		if def, ok := c.d.types[k]; ok && x.StructName != "" {
			off := def.off
			full, err := c.d.data.Type(off)
			if err != nil {
				return nil, fmt.Errorf("%s %s at %#x: %w", x.Kind, x.StructName, off, err)
			}
			if fs, ok := full.(*dwarf.StructType); ok && !fs.Incomplete {
				b, err := c.shell(full, pass+1)
				if err != nil {
					return nil, err
				}
				return c.memo(x, b), nil
			}
		}
		return c.memo(x, &btf.Fwd{Name: x.StructName, Kind: fk}), nil
	}
	if x.ByteSize < 0 || x.ByteSize > 1<<32-1 {
		return nil, fmt.Errorf("%s %s: size %d", x.Kind, x.StructName, x.ByteSize)
	}
	members := make([]btf.Member, len(x.Field))
	var out btf.Type
	if isUnion {
		out = &btf.Union{Name: x.StructName, Size: uint32(x.ByteSize), Members: members}
	} else {
		out = &btf.Struct{Name: x.StructName, Size: uint32(x.ByteSize), Members: members}
	}
	c.memo(x, out)
	for i, f := range x.Field {
		off, err := c.d.bitOffset(f)
		if err != nil {
			return nil, fmt.Errorf("%s %s, member %q: %w", x.Kind, x.StructName, f.Name, err)
		}
		members[i] = btf.Member{Name: f.Name, Offset: btf.Bits(off), BitfieldSize: btf.Bits(f.BitSize)}
		c.later(f.Type, func(b btf.Type) { members[i].Type = b })
	}
	return out, nil
}

func (c *converter) enum(x *dwarf.EnumType, pass int) (btf.Type, error) {
	if x.ByteSize <= 0 {
		// A declaration: the complete enum by name, else an empty one of
		// int size (BTF has no forward enum; pahole writes this).
		if def, ok := c.d.types[dwarfKey{dkEnum, x.EnumName}]; ok && x.EnumName != "" {
			off := def.off
			full, err := c.d.data.Type(off)
			if err != nil {
				return nil, fmt.Errorf("enum %s at %#x: %w", x.EnumName, off, err)
			}
			if fe, ok := full.(*dwarf.EnumType); ok && fe.ByteSize > 0 {
				b, err := c.shell(full, pass+1)
				if err != nil {
					return nil, err
				}
				return c.memo(x, b), nil
			}
		}
		return c.memo(x, &btf.Enum{Name: x.EnumName, Size: 4}), nil
	}
	if x.ByteSize > 8 {
		return nil, fmt.Errorf("enum %s: size %d", x.EnumName, x.ByteSize)
	}
	e := &btf.Enum{Name: x.EnumName, Size: uint32(x.ByteSize)}
	for _, v := range x.Val {
		if v.Val < 0 {
			e.Signed = true
		}
		e.Values = append(e.Values, btf.EnumValue{Name: v.Name, Value: uint64(v.Val)})
	}
	return c.memo(x, e), nil
}

// bitOffset is a member's offset in bits from the start of its struct.
// DWARF 4 and later give a bitfield's DW_AT_data_bit_offset, counted from
// the start of the struct; DWARF 2 and 3 give DW_AT_bit_offset, counted
// from the most significant bit of a storage unit of DW_AT_byte_size bytes
// at DW_AT_data_member_location, which on a little-endian machine is the
// far end of the unit.
func (d *DWARF) bitOffset(f *dwarf.StructField) (uint64, error) {
	if f.ByteOffset < 0 || f.BitSize < 0 || f.BitOffset < 0 || f.DataBitOffset < 0 || f.ByteSize < 0 {
		return 0, fmt.Errorf("negative offset or size")
	}
	if f.ByteOffset > 1<<40 || f.BitSize > 1<<16 || f.ByteSize > 1<<16 || f.BitOffset > 1<<40 || f.DataBitOffset > 1<<40 {
		return 0, fmt.Errorf("offset or size out of range")
	}
	base := uint64(f.ByteOffset) * 8
	if f.BitSize == 0 {
		return base, nil
	}
	// The old form comes with the storage unit's size, the new one
	// without. (Both offsets zero: a bitfield at the start of the struct
	// in the new form.)
	old := f.BitOffset != 0 || (f.DataBitOffset == 0 && f.ByteSize != 0)
	if !old {
		return base + uint64(f.DataBitOffset), nil
	}
	if d.order == binary.BigEndian {
		return base + uint64(f.BitOffset), nil
	}
	unit := f.ByteSize
	if unit == 0 && f.Type != nil {
		unit = f.Type.Size()
	}
	end := uint64(unit) * 8
	if unit <= 0 || uint64(f.BitOffset)+uint64(f.BitSize) > end {
		return 0, fmt.Errorf("bitfield of %d bits at bit %d overflows its %d-byte unit", f.BitSize, f.BitOffset, unit)
	}
	return base + end - uint64(f.BitOffset) - uint64(f.BitSize), nil
}
