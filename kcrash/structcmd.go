package kcrash

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/ktypes"
)

// maxStructCount bounds "struct TYPE ADDR COUNT": objects decoded in one
// command.
const maxStructCount = 64

// StructResult is `struct TYPE[.member,...] ADDR [COUNT]`: the objects
// decoded, or with -o the type's layout.
type StructResult struct {
	Type    string        `json:"type"`
	Members []string      `json:"members,omitempty"`
	Objects []*StructItem `json:"objects,omitempty"`
	Layout  []LayoutEntry `json:"layout,omitempty"`
	// Size is sizeof the type, with -o.
	Size int    `json:"size,omitempty"`
	Note string `json:"note,omitempty"`

	p *printer
	t btf.Type
}

// StructItem is one decoded object.
type StructItem struct {
	Addr  Addr       `json:"addr"`
	Value *jsonValue `json:"value"`
	obj   *kobj.Object
	t     btf.Type
	raw   []byte
}

// LayoutEntry is one member of `struct -o`: its byte offset, C type and
// name.
type LayoutEntry struct {
	Offset uint64 `json:"offset"`
	Bits   uint32 `json:"bitfield,omitempty"`
	Type   string `json:"type"`
	Name   string `json:"name"`
}

// WriteText implements Result.
func (r *StructResult) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.Layout != nil {
		fmt.Fprintf(&b, "%s {\n", r.Type)
		writeLayout(&b, r.t, 0, 1)
		fmt.Fprintf(&b, "}\nSIZE: %d\n", r.Size)
	}
	for _, o := range r.Objects {
		v := o.obj.Value
		at := &loc{t: o.t, raw: o.raw}
		if len(r.Members) == 0 {
			fmt.Fprintf(&b, "%s {\n", r.Type)
			r.p.fields(&b, v, at, 2)
			b.WriteString("}\n")
			continue
		}
		for _, m := range r.Members {
			mv, _ := v.Get(m)
			var ml *loc
			if f, err := ktypes.Member(o.t, m); err == nil {
				ml = &loc{t: f.Type, off: f.Offset, raw: o.raw}
			}
			r.p.member(&b, lastPart(m), mv, ml, 2, true)
		}
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func lastPart(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func runStruct(s *Session, c *Call) (Result, error) {
	spec := c.Args[0]
	typ, memberList, _ := strings.Cut(spec, ".")
	kind := ""
	if c.Typed == "union" {
		kind = "union "
	}
	t, err := s.v.Type(kind + typ)
	if err != nil {
		if c.Shorthand {
			return nil, fmt.Errorf("no command or type named %q: %w", typ, err)
		}
		return nil, err
	}
	switch btf.UnderlyingType(t).(type) {
	case *btf.Struct, *btf.Union:
	default:
		return nil, fmt.Errorf("%s is %s, not a struct or union", typ, ktypes.TypeName(t))
	}
	r := &StructResult{Type: ktypes.TypeName(btf.UnderlyingType(t)), p: s.printer(c.Has("-x"))}
	if memberList != "" {
		for _, m := range strings.Split(memberList, ",") {
			if _, err := ktypes.Member(t, m); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Type, err)
			}
			r.Members = append(r.Members, m)
		}
	}
	if c.Has("-o") {
		r.Layout, r.t = layout(t), t
		size, _ := btf.Sizeof(t)
		r.Size = size
	}
	if len(c.Args) < 2 {
		if r.Layout == nil {
			return nil, fmt.Errorf("%s: needs an address (or -o for the layout)", r.Type)
		}
		return r, nil
	}
	addr, err := s.addr(c.Args[1])
	if err != nil {
		return nil, err
	}
	n := uint64(1)
	if len(c.Args) > 2 {
		if n, err = count(c.Args[2]); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("count 0")
		}
		if n > maxStructCount {
			r.Note = fmt.Sprintf("(%d of %d objects shown: the limit is %d)", maxStructCount, n, maxStructCount)
			n = maxStructCount
		}
	}
	size, _ := btf.Sizeof(t)
	for i := uint64(0); i < n; i++ {
		a := addr + i*uint64(size)
		obj, ot, raw, err := s.v.ObjectBytes(kind+typ, a)
		if err != nil {
			// kview names the object it could not read; say it once.
			if !strings.Contains(err.Error(), fmt.Sprintf("%#x", a)) {
				err = fmt.Errorf("%s at %#x: %w", r.Type, a, err)
			}
			return r, err
		}
		item := &StructItem{Addr: Addr(a), obj: obj, t: ot, raw: raw}
		if len(r.Members) == 0 {
			item.Value = toJSON("", obj.Value)
		} else {
			item.Value = &jsonValue{Kind: "struct", Type: r.Type}
			for _, m := range r.Members {
				mv, _ := obj.Value.Get(m)
				if mv != nil {
					item.Value.Fields = append(item.Value.Fields, toJSON(m, mv))
				}
			}
		}
		r.Objects = append(r.Objects, item)
	}
	return r, nil
}

// layout lists t's members with their offsets, anonymous members' own
// members inline, as `struct -o` shows where each one lies.
func layout(t btf.Type) []LayoutEntry {
	var out []LayoutEntry
	var walk func(t btf.Type, base uint64, depth int)
	walk = func(t btf.Type, base uint64, depth int) {
		var ms []btf.Member
		switch c := btf.UnderlyingType(t).(type) {
		case *btf.Struct:
			ms = c.Members
		case *btf.Union:
			ms = c.Members
		}
		for _, m := range ms {
			off := base + uint64(m.Offset)
			if m.Name == "" && depth < 8 {
				walk(m.Type, off, depth+1)
				continue
			}
			out = append(out, LayoutEntry{Offset: off / 8, Bits: uint32(m.BitfieldSize), Type: ktypes.TypeName(m.Type), Name: m.Name})
		}
	}
	walk(t, 0, 0)
	return out
}

// maxLayoutDepth bounds the anonymous members expanded by -o.
const maxLayoutDepth = 8

// writeLayout writes t's members as crash's struct -o does: the byte
// offset in brackets, then the declaration, anonymous structs and unions
// opened in place.
func writeLayout(b *strings.Builder, t btf.Type, base uint64, depth int) {
	var ms []btf.Member
	switch c := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		ms = c.Members
	case *btf.Union:
		ms = c.Members
	}
	pad := strings.Repeat("    ", depth)
	for _, m := range ms {
		off := base + uint64(m.Offset)
		if m.Name == "" && depth < maxLayoutDepth {
			kind := "struct"
			if _, ok := btf.UnderlyingType(m.Type).(*btf.Union); ok {
				kind = "union"
			}
			fmt.Fprintf(b, "       %s%s {\n", pad[4:], kind)
			writeLayout(b, m.Type, off, depth+1)
			fmt.Fprintf(b, "       %s};\n", pad[4:])
			continue
		}
		d := declare(m.Type, m.Name)
		if m.BitfieldSize != 0 {
			d += fmt.Sprintf(" : %d", m.BitfieldSize)
		}
		fmt.Fprintf(b, "%6s %s%s;\n", fmt.Sprintf("[%d]", off/8), pad[4:], d)
	}
}

// declare writes a C declaration of name with type t: "struct sk_buff
// *next", "char cb[48]", "void (*destructor)()".
func declare(t btf.Type, name string) string {
	s := ktypes.TypeName(t)
	switch {
	case strings.Contains(s, "(*)"):
		return strings.Replace(s, "(*)", "(*"+name+")", 1)
	case strings.Contains(s, " ["):
		i := strings.Index(s, " [")
		return s[:i] + " " + name + s[i+1:]
	case strings.HasSuffix(s, "*"):
		return s + name
	}
	return s + " " + name
}
