package kcrash

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kobj"
)

// maxPrintElems is how many array elements are printed before "...", as
// gdb's default `set print elements 200`.
const maxPrintElems = 200

// repeatThreshold is gdb's: a run of this many equal elements prints as
// "V <repeats N times>".
const repeatThreshold = 10

// printer renders kobj values as gdb (and so crash) prints them.
type printer struct {
	s   *Session
	hex bool // px: integers in hex
	// kinds caches what a type name's underlying integer is.
	kinds map[string]intKind
}

type intKind uint8

const (
	intPlain intKind = iota
	intChar
	intBool
)

func (s *Session) printer(hex bool) *printer {
	return &printer{s: s, hex: hex, kinds: map[string]intKind{}}
}

// kindOf says whether an integer of the named type prints as a char (with
// its quoted character) or a bool, as gdb does for char, unsigned char, u8
// and _Bool.
func (p *printer) kindOf(typ string) intKind {
	if k, ok := p.kinds[typ]; ok {
		return k
	}
	k := intPlain
	name := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(typ, "const "), "volatile "))
	if t, err := p.s.v.Type(name); err == nil {
		if i, ok := btf.UnderlyingType(t).(*btf.Int); ok {
			switch {
			case i.Encoding == btf.Bool || i.Name == "_Bool":
				k = intBool
			case i.Size == 1 && (i.Encoding == btf.Char || strings.Contains(i.Name, "char")):
				k = intChar
			}
		}
	}
	p.kinds[typ] = k
	return k
}

// scalar renders a value that fits on one line; ok is false for structs
// and arrays of structs.
func (p *printer) scalar(v *kobj.Value) string {
	switch v.Kind {
	case kobj.Int:
		if v.Raw != "" { // an enum's name
			return v.Raw
		}
		switch p.kindOf(v.Type) {
		case intBool:
			if v.Num != 0 {
				return "true"
			}
			return "false"
		case intChar:
			n := v.Num
			num := strconv.FormatUint(n&0xff, 10)
			if v.Neg {
				num = strconv.FormatInt(int64(int8(n)), 10)
			}
			if p.hex {
				num = fmt.Sprintf("0x%x", n&0xff)
			}
			return num + " '" + escapeChar(byte(n), '\'') + "'"
		}
		if p.hex {
			return fmt.Sprintf("0x%x", v.Num)
		}
		if v.Neg {
			return strconv.FormatInt(int64(v.Num), 10)
		}
		return strconv.FormatUint(v.Num, 10)
	case kobj.Pointer:
		if v.Num == 0 {
			return "0x0"
		}
		s := fmt.Sprintf("0x%x", v.Num)
		if v.Symbol != "" {
			return s + " <" + v.Symbol + ">"
		}
		if strings.HasPrefix(v.Type, "char ") || strings.HasPrefix(v.Type, "const char ") || strings.HasPrefix(v.Type, "unsigned char ") {
			return s + " " + quote(v.Str)
		}
		return s
	case kobj.String:
		return quote(v.Str)
	case kobj.Array:
		return p.inlineArray(v)
	case kobj.Struct:
		return "{...}"
	}
	if v.Raw != "" {
		return v.Raw
	}
	return "<unknown>"
}

// inlineArray renders an array of scalars: {1, 2, 0 <repeats 14 times>}.
func (p *printer) inlineArray(v *kobj.Value) string {
	var parts []string
	n := 0
	for i := 0; i < len(v.Elems) && n < maxPrintElems; {
		e := p.scalar(v.Elems[i])
		j := i + 1
		for j < len(v.Elems) && p.scalar(v.Elems[j]) == e {
			j++
		}
		if j-i >= repeatThreshold {
			parts = append(parts, fmt.Sprintf("%s <repeats %d times>", e, j-i))
			n += repeatThreshold
			i = j
			continue
		}
		parts = append(parts, e)
		n++
		i++
	}
	s := "{" + strings.Join(parts, ", ")
	if n >= maxPrintElems && len(parts) < len(v.Elems) {
		s += "..."
	}
	return s + "}"
}

func isStructy(v *kobj.Value) bool {
	if v.Kind == kobj.Struct {
		return true
	}
	return v.Kind == kobj.Array && len(v.Elems) > 0 && v.Elems[0].Kind == kobj.Struct
}

// member writes one "name = value" (or an anonymous member's "{...}") at
// indent, with its trailing comma when comma is set.
func (p *printer) member(b *strings.Builder, name string, v *kobj.Value, indent int, comma bool) {
	pad := strings.Repeat(" ", indent)
	b.WriteString(pad)
	if name != "" {
		b.WriteString(name + " = ")
	}
	switch {
	case v.Kind == kobj.Struct:
		b.WriteString("{\n")
		p.fields(b, v, indent+2)
		b.WriteString(pad + "}")
	case isStructy(v):
		b.WriteString("{{\n")
		n := min(len(v.Elems), maxPrintElems)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(pad + "  }, {\n")
			}
			p.fields(b, v.Elems[i], indent+4)
		}
		b.WriteString(pad + "  }")
		if n < len(v.Elems) {
			b.WriteString("...")
		}
		b.WriteString("}")
	default:
		b.WriteString(p.scalar(v))
	}
	if comma {
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}

// fields writes a struct's members at indent, gdb's commas between them.
func (p *printer) fields(b *strings.Builder, v *kobj.Value, indent int) {
	for i, f := range v.Fields {
		p.member(b, f.Name, f.Value, indent, i < len(v.Fields)-1)
	}
}

// escapeChar renders one byte as C does inside quotes q.
func escapeChar(c byte, q byte) string {
	switch c {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\t':
		return `\t`
	case '\n':
		return `\n`
	case '\v':
		return `\v`
	case '\f':
		return `\f`
	case '\r':
		return `\r`
	case '\\':
		return `\\`
	case q:
		return `\` + string(q)
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\%03o`, c)
	}
	return string(c)
}

// quote renders a C string as gdb does: "\377\377\022j".
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		b.WriteString(escapeChar(s[i], '"'))
	}
	b.WriteByte('"')
	return b.String()
}

// jsonValue is a kobj value for JSON: numbers as decimal strings when
// over 2^53, addresses in hex.
type jsonValue struct {
	Name   string       `json:"name,omitempty"`
	Type   string       `json:"type,omitempty"`
	Kind   string       `json:"kind"`
	Value  any          `json:"value,omitempty"`
	Symbol string       `json:"symbol,omitempty"`
	String *string      `json:"string,omitempty"`
	Fields []*jsonValue `json:"fields,omitempty"`
	Elems  []*jsonValue `json:"elems,omitempty"`
}

func toJSON(name string, v *kobj.Value) *jsonValue {
	j := &jsonValue{Name: name, Type: v.Type, Kind: v.Kind.String(), Symbol: v.Symbol}
	switch v.Kind {
	case kobj.Int:
		switch {
		case v.Raw != "":
			j.Value = v.Raw
		case v.Neg:
			j.Value = int64(v.Num)
		case v.Num >= 1<<53:
			j.Value = strconv.FormatUint(v.Num, 10)
		default:
			j.Value = v.Num
		}
	case kobj.Pointer:
		j.Value = fmt.Sprintf("%#x", v.Num)
		if v.Str != "" {
			s := v.Str
			j.String = &s
		}
	case kobj.String:
		s := v.Str
		j.String = &s
	case kobj.Struct:
		for _, f := range v.Fields {
			j.Fields = append(j.Fields, toJSON(f.Name, f.Value))
		}
	case kobj.Array:
		for i, e := range v.Elems {
			if i >= maxPrintElems {
				break
			}
			j.Elems = append(j.Elems, toJSON("", e))
		}
	default:
		j.Value = v.Raw
	}
	return j
}
