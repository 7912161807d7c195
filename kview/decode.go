package kview

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/ktypes"
)

// maxObject bounds one decoded object: the largest structs one asks for
// (task_struct, net_device, rq) are under 16 KiB; a type claiming more is
// corrupt BTF or a wrong name.
const maxObject = 1 << 20

// Object decodes the struct or union typ ("sk_buff", "struct sock") at
// addr into a kobj value, the way crash(8)'s `struct TYPE ADDR` shows it.
func (v *View) Object(typ string, addr uint64) (*kobj.Object, error) {
	t, err := v.Type(typ)
	if err != nil {
		return nil, err
	}
	switch btf.UnderlyingType(t).(type) {
	case *btf.Struct, *btf.Union:
	default:
		return nil, fmt.Errorf("%s is %s, not a struct or union", typ, ktypes.TypeName(t))
	}
	val, err := v.Value(t, addr)
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ktypes.TypeName(btf.UnderlyingType(t)), "struct "), "union ")
	return &kobj.Object{Type: name, Addr: addr, Value: val, Source: "vmcore"}, nil
}

// Value decodes a value of type t at addr.
func (v *View) Value(t btf.Type, addr uint64) (*kobj.Value, error) {
	buf, err := v.ValueBytes(t, addr)
	if err != nil {
		return nil, err
	}
	return v.Decode(t, buf), nil
}

// Decode lays t over buf (bytes already read), for callers that hold a
// copy (a stack, a page).
func (v *View) Decode(t btf.Type, buf []byte) *kobj.Value {
	d := decoder{v: v}
	return d.decode(t, buf, 0, 0, 0)
}

type decoder struct{ v *View }

// maxElems bounds the elements decoded of one array, so a corrupt BTF
// length cannot make a value of millions of nodes.
const maxElems = 4096

// decode reads t at bit offset off of buf. width is a bitfield's size, 0
// for a whole member.
func (d *decoder) decode(t btf.Type, buf []byte, off uint64, width uint32, depth int) *kobj.Value {
	typeName := ktypes.TypeName(t)
	u := btf.UnderlyingType(t)
	if depth > 32 {
		return &kobj.Value{Kind: kobj.Unknown, Type: typeName, Raw: "(nested too deep)"}
	}
	size, _ := btf.Sizeof(u)
	if width == 0 && (off%8 != 0 || off/8+uint64(max(size, 0)) > uint64(len(buf))) {
		return &kobj.Value{Kind: kobj.Unknown, Type: typeName, Raw: "(outside the object)"}
	}
	at := buf[min(off/8, uint64(len(buf))):]
	switch c := u.(type) {
	case *btf.Int:
		n := d.scalar(at, off, width, c.Size)
		val := &kobj.Value{Kind: kobj.Int, Type: typeName, Num: n}
		if c.Encoding == btf.Signed {
			bitsz := uint32(c.Size * 8)
			if width != 0 {
				bitsz = width
			}
			if bitsz < 64 && n&(1<<(bitsz-1)) != 0 {
				n |= ^uint64(0) << bitsz
				val.Num = n
			}
			val.Neg = int64(n) < 0
		}
		return val
	case *btf.Enum:
		n := d.scalar(at, off, width, c.Size)
		val := &kobj.Value{Kind: kobj.Int, Type: typeName, Num: n}
		for _, e := range c.Values {
			if e.Value == n {
				val.Raw = e.Name
				break
			}
		}
		return val
	case *btf.Pointer:
		n := binary.LittleEndian.Uint64(pad8(at))
		val := &kobj.Value{Kind: kobj.Pointer, Type: typeName, Num: n}
		if n != 0 {
			if name, o, mod, ok := d.v.Symbol(n); ok && o == 0 {
				val.Symbol = name
				_ = mod
			} else if isChar(c.Target) {
				val.Str = d.v.cString(n, 64)
			}
		}
		return val
	case *btf.Struct, *btf.Union:
		var members []btf.Member
		if s, ok := c.(*btf.Struct); ok {
			members = s.Members
		} else {
			members = c.(*btf.Union).Members
		}
		val := &kobj.Value{Kind: kobj.Struct, Type: typeName}
		for _, m := range members {
			val.Fields = append(val.Fields, kobj.Field{Name: m.Name, Value: d.decode(m.Type, buf, off+uint64(m.Offset), uint32(m.BitfieldSize), depth+1)})
		}
		return val
	case *btf.Array:
		if isChar(c.Type) {
			s := at[:min(uint64(c.Nelems), uint64(len(at)))]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			return &kobj.Value{Kind: kobj.String, Type: typeName, Str: string(s)}
		}
		es, err := btf.Sizeof(c.Type)
		val := &kobj.Value{Kind: kobj.Array, Type: typeName}
		if err != nil || es <= 0 {
			return val
		}
		for i := uint32(0); i < c.Nelems && i < maxElems; i++ {
			val.Elems = append(val.Elems, d.decode(c.Type, buf, off+uint64(i)*uint64(es)*8, 0, depth+1))
		}
		return val
	}
	return &kobj.Value{Kind: kobj.Unknown, Type: typeName, Raw: fmt.Sprintf("(%s)", u.TypeName())}
}

// scalar reads size bytes (or a width-bit bitfield at bit off) from at.
func (d *decoder) scalar(at []byte, off uint64, width uint32, size uint32) uint64 {
	if width != 0 {
		n := min(uint64(len(at)), uint64(16))
		return bits(at[:n], off%8, width)
	}
	var b [8]byte
	copy(b[:], at[:min(uint64(size), uint64(len(at)), 8)])
	return binary.LittleEndian.Uint64(b[:])
}

func pad8(b []byte) []byte {
	var x [8]byte
	copy(x[:], b)
	return x[:]
}

func isChar(t btf.Type) bool {
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1 && (i.Encoding == btf.Char || i.Name == "char" || i.Name == "unsigned char" || i.Name == "signed char")
}

// cString reads a NUL-terminated string of at most n bytes, "" when the
// memory is not there.
func (v *View) cString(addr uint64, n int) string {
	buf := make([]byte, n)
	// Read up to the end of the page first: a string near a page end
	// must not fail because the next page is filtered out.
	first := min(n, int(4096-addr%4096))
	if err := v.Read(buf[:first], addr); err != nil {
		return ""
	}
	if i := bytes.IndexByte(buf[:first], 0); i >= 0 {
		return string(buf[:i])
	}
	if first < n && v.Read(buf[first:], addr+uint64(first)) == nil {
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return string(buf[:i])
		}
		return string(buf)
	}
	return string(buf[:first])
}

// String reads the C string at addr (at most 4096 bytes).
func (v *View) String(addr uint64) (string, error) {
	var b [1]byte
	if err := v.Read(b[:], addr); err != nil {
		return "", err
	}
	return v.cString(addr, 4096), nil
}
