package kview

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/ktypes"
)

// ObjectBytes is Object that also returns the resolved type and the bytes
// read, for callers that show what a kobj value does not keep: a char
// array's bytes past its first NUL, as crash(8) prints them.
func (v *View) ObjectBytes(typ string, addr uint64) (*kobj.Object, btf.Type, []byte, error) {
	t, err := v.Type(typ)
	if err != nil {
		return nil, nil, nil, err
	}
	u := btf.UnderlyingType(t)
	switch u.(type) {
	case *btf.Struct, *btf.Union:
	default:
		return nil, nil, nil, fmt.Errorf("%s is %s, not a struct or union", typ, ktypes.TypeName(t))
	}
	raw, err := v.ValueBytes(t, addr)
	if err != nil {
		return nil, nil, nil, err
	}
	name := ktypes.TypeName(u)
	for _, k := range []string{"struct ", "union "} {
		if len(name) > len(k) && name[:len(k)] == k {
			name = name[len(k):]
		}
	}
	return &kobj.Object{Type: name, Addr: addr, Value: v.Decode(t, raw), Source: "vmcore"}, t, raw, nil
}

// ValueBytes reads the bytes of a value of type t at addr, bounded as
// Value bounds them.
func (v *View) ValueBytes(t btf.Type, addr uint64) ([]byte, error) {
	size, err := btf.Sizeof(t)
	if err != nil {
		return nil, fmt.Errorf("sizeof %s: %w", ktypes.TypeName(t), err)
	}
	if size <= 0 || size > maxObject {
		return nil, fmt.Errorf("%s has size %d: not decodable", ktypes.TypeName(t), size)
	}
	buf := make([]byte, size)
	if err := v.Read(buf, addr); err != nil {
		return nil, fmt.Errorf("%s at %#x: %w", ktypes.TypeName(t), addr, err)
	}
	return buf, nil
}
