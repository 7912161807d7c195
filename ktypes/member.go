package ktypes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Field is a member found by a path: where it lies in its outermost struct
// and what it is.
type Field struct {
	// Offset is in bits from the start of the outermost type.
	Offset uint64
	// BitfieldSize is the member's width in bits, 0 when it is not a
	// bitfield.
	BitfieldSize uint32
	Type         btf.Type
}

// Member finds the member at path in t: a dotted path ("sk_common.skc_daddr",
// "frags[2].bv_len"), searching anonymous structs and unions as C does.
// Typedefs and qualifiers on the way are looked through.
func Member(t btf.Type, path string) (Field, error) {
	f := Field{Type: t}
	for _, part := range strings.Split(path, ".") {
		name, idxs, err := splitIndex(part)
		if err != nil {
			return Field{}, fmt.Errorf("member %q: %w", path, err)
		}
		if name != "" {
			m, off, ok := findMember(btf.UnderlyingType(f.Type), name)
			if !ok {
				return Field{}, fmt.Errorf("member %q: %s has no member %q", path, TypeName(f.Type), name)
			}
			f = Field{Offset: f.Offset + off, BitfieldSize: uint32(m.BitfieldSize), Type: m.Type}
		}
		for _, i := range idxs {
			arr, ok := btf.UnderlyingType(f.Type).(*btf.Array)
			if !ok {
				return Field{}, fmt.Errorf("member %q: %s is not an array", path, TypeName(f.Type))
			}
			if arr.Nelems != 0 && i >= uint64(arr.Nelems) {
				return Field{}, fmt.Errorf("member %q: index %d out of %d", path, i, arr.Nelems)
			}
			size, err := btf.Sizeof(arr.Type)
			if err != nil {
				return Field{}, fmt.Errorf("member %q: %w", path, err)
			}
			f = Field{Offset: f.Offset + i*uint64(size)*8, Type: arr.Type}
		}
	}
	return f, nil
}

// splitIndex separates "frags[2][1]" into "frags" and [2 1].
func splitIndex(part string) (string, []uint64, error) {
	open := strings.IndexByte(part, '[')
	if open < 0 {
		return part, nil, nil
	}
	name, rest := part[:open], part[open:]
	var idxs []uint64
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return "", nil, fmt.Errorf("bad index in %q", part)
		}
		i, err := strconv.ParseUint(strings.TrimSpace(rest[1:end]), 0, 32)
		if err != nil {
			return "", nil, fmt.Errorf("bad index in %q: %w", part, err)
		}
		idxs = append(idxs, i)
		rest = rest[end+1:]
	}
	return name, idxs, nil
}

// findMember looks for name among t's members and, breadth first, inside
// its anonymous members, returning the member and its bit offset in t.
func findMember(t btf.Type, name string) (btf.Member, uint64, bool) {
	var members []btf.Member
	switch c := t.(type) {
	case *btf.Struct:
		members = c.Members
	case *btf.Union:
		members = c.Members
	default:
		return btf.Member{}, 0, false
	}
	for _, m := range members {
		if m.Name == name {
			return m, uint64(m.Offset), true
		}
	}
	for _, m := range members {
		if m.Name != "" {
			continue
		}
		if inner, off, ok := findMember(btf.UnderlyingType(m.Type), name); ok {
			return inner, uint64(m.Offset) + off, true
		}
	}
	return btf.Member{}, 0, false
}

// TypeName renders t as C declares it without an identifier:
// "struct sk_buff", "unsigned int", "struct sock *", "char [16]".
func TypeName(t btf.Type) string {
	switch c := t.(type) {
	case nil:
		return "void"
	case *btf.Void:
		return "void"
	case *btf.Struct:
		return "struct " + c.Name
	case *btf.Union:
		return "union " + c.Name
	case *btf.Enum:
		return "enum " + c.Name
	case *btf.Fwd:
		return c.Kind.String() + " " + c.Name
	case *btf.Pointer:
		inner := TypeName(c.Target)
		if _, ok := c.Target.(*btf.FuncProto); ok {
			return inner + " (*)()"
		}
		return inner + " *"
	case *btf.Array:
		// int a[4][2] is an array of 4 arrays of 2: the outer length
		// first, as C writes it.
		var dims strings.Builder
		var elem btf.Type = c
		for a, ok := elem.(*btf.Array); ok; a, ok = elem.(*btf.Array) {
			fmt.Fprintf(&dims, "[%d]", a.Nelems)
			elem = a.Type
		}
		return TypeName(elem) + " " + dims.String()
	case *btf.Const:
		return "const " + TypeName(c.Type)
	case *btf.Volatile:
		return "volatile " + TypeName(c.Type)
	case *btf.Restrict:
		return TypeName(c.Type)
	case *btf.TypeTag:
		return TypeName(c.Type)
	case *btf.FuncProto:
		return TypeName(c.Return)
	}
	return t.TypeName()
}
