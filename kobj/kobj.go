// Package kobj holds typed kernel values: what a crash(8) `struct` dump
// shows and what a vmcore reader decodes with BTF look the same here, so that
// the checks over them do not care where they came from.
package kobj

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a Value is.
type Kind int

// Value kinds.
const (
	// Unknown is a value whose text could not be read as any other kind;
	// Raw holds it.
	Unknown Kind = iota
	// Int is a signed or unsigned integer, a bool or a single char.
	Int
	// Pointer is an address, possibly annotated with a symbol or a string.
	Pointer
	// String is a char array, decoded.
	String
	// Struct is a struct or union: its Fields in order. Anonymous members
	// are fields with an empty name.
	Struct
	// Array is an array of values.
	Array
)

func (k Kind) String() string {
	switch k {
	case Int:
		return "int"
	case Pointer:
		return "pointer"
	case String:
		return "string"
	case Struct:
		return "struct"
	case Array:
		return "array"
	}
	return "unknown"
}

// Value is one kernel value.
type Value struct {
	Kind Kind
	// Type is the C type when the source names it ("struct sk_buff",
	// "unsigned int"), else "".
	Type string
	// Num is the integer or address; negative integers are held as their
	// two's complement with Neg set.
	Num uint64
	Neg bool
	// Symbol is a pointer's annotation: "tcp_wfree" for
	// 0xffffffff814b3ed0 <tcp_wfree>.
	Symbol string
	// Str is a char array's bytes, or the string a char pointer shows.
	Str string
	// Fields are a struct's or union's members in order.
	Fields []Field
	// Elems are an array's elements.
	Elems []*Value
	// Raw is the value's text as the source printed it (for Unknown and
	// for showing evidence).
	Raw string
}

// Field is a named member of a struct or union.
type Field struct {
	Name  string
	Value *Value
}

// Object is a value at an address: an sk_buff dumped with `sk_buff ADDR`,
// or decoded from a vmcore.
type Object struct {
	// Type is the struct's name without "struct " ("sk_buff").
	Type string
	Addr uint64
	// Value is the object's struct value.
	Value *Value
	// Source names where it was read ("seed.txt:214-290", "vmcore").
	Source string
}

// Name is "sk_buff ffff880fe9624868", the way findings name objects.
func (o *Object) Name() string { return fmt.Sprintf("%s %x", o.Type, o.Addr) }

// Get finds a member by a dotted path ("users.counter", "frags.0.size");
// anonymous structs and unions are searched through, as C does.
func (v *Value) Get(path string) (*Value, bool) {
	if v == nil {
		return nil, false
	}
	if path == "" {
		return v, true
	}
	head, rest, _ := strings.Cut(path, ".")
	switch v.Kind {
	case Struct:
		for _, f := range v.Fields {
			if f.Name == head {
				return f.Value.Get(rest)
			}
		}
		for _, f := range v.Fields {
			if f.Name == "" {
				if r, ok := f.Value.Get(path); ok {
					return r, true
				}
			}
		}
	case Array:
		i, err := strconv.Atoi(head)
		if err == nil && i >= 0 && i < len(v.Elems) {
			return v.Elems[i].Get(rest)
		}
	}
	return nil, false
}

// Uint returns the member at path as a number (integers and pointers).
func (v *Value) Uint(path string) (uint64, bool) {
	m, ok := v.Get(path)
	if !ok || (m.Kind != Int && m.Kind != Pointer) {
		return 0, false
	}
	return m.Num, true
}

// Int returns the member at path as a signed number.
func (v *Value) Int(path string) (int64, bool) {
	m, ok := v.Get(path)
	if !ok || (m.Kind != Int && m.Kind != Pointer) {
		return 0, false
	}
	return int64(m.Num), true
}

// Has reports whether the member exists.
func (v *Value) Has(path string) bool {
	_, ok := v.Get(path)
	return ok
}

// Set is the objects a document or a dump shows, by type and address.
type Set struct {
	objs []*Object
}

// Add keeps o; an object dumped twice keeps its first reading.
func (s *Set) Add(o *Object) {
	if s.Find(o.Type, o.Addr) != nil {
		return
	}
	s.objs = append(s.objs, o)
}

// Find returns the object of type typ at addr, or nil.
func (s *Set) Find(typ string, addr uint64) *Object {
	for _, o := range s.objs {
		if o.Type == typ && o.Addr == addr {
			return o
		}
	}
	return nil
}

// OfType returns the objects of a type in the order they were added.
func (s *Set) OfType(typ string) []*Object {
	var out []*Object
	for _, o := range s.objs {
		if o.Type == typ {
			out = append(out, o)
		}
	}
	return out
}

// All returns every object.
func (s *Set) All() []*Object { return append([]*Object(nil), s.objs...) }
