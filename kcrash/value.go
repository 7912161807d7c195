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

// repeatThreshold is gdb's: a run of more than this many equal elements
// prints as "V <repeats N times>".
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
		// Into the kernel image or a module: gdb names the symbol and
		// the offset in it.
		if v.Num >= kernelImageBase {
			if name := p.s.symOff(v.Num); name != "" {
				return s + " <" + name + ">"
			}
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
		if j-i > repeatThreshold {
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

// loc is where a value lies in the bytes read, when they are known: its
// type and bit offset. It lets a char array print past its first NUL.
type loc struct {
	t   btf.Type
	off uint64
	raw []byte
}

func (l *loc) known() bool { return l != nil && l.t != nil && l.raw != nil }

// at is the location of member m of the struct or union at l.
func (l *loc) at(m btf.Member) *loc {
	return &loc{t: m.Type, off: l.off + uint64(m.Offset), raw: l.raw}
}

// member writes one "name = value" (or an anonymous member's "{...}") at
// indent, with its trailing comma when comma is set.
func (p *printer) member(b *strings.Builder, name string, v *kobj.Value, at *loc, indent int, comma bool) {
	pad := strings.Repeat(" ", indent)
	b.WriteString(pad)
	if name != "" {
		b.WriteString(name + " = ")
	}
	switch {
	case v.Kind == kobj.Struct:
		b.WriteString("{\n")
		p.fields(b, v, at, indent+2)
		b.WriteString(pad + "}")
	case isStructy(v):
		b.WriteString("{{\n")
		var elem btf.Type
		var stride uint64
		if at.known() {
			if arr, ok := btf.UnderlyingType(at.t).(*btf.Array); ok {
				if sz, err := btf.Sizeof(arr.Type); err == nil {
					elem, stride = arr.Type, uint64(sz)*8
				}
			}
		}
		n := min(len(v.Elems), maxPrintElems)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(pad + "  }, {\n")
			}
			var el *loc
			if elem != nil {
				el = &loc{t: elem, off: at.off + uint64(i)*stride, raw: at.raw}
			}
			p.fields(b, v.Elems[i], el, indent+4)
		}
		b.WriteString(pad + "  }")
		if n < len(v.Elems) {
			b.WriteString("...")
		}
		b.WriteString("}")
	case v.Kind == kobj.String && at.known():
		b.WriteString(p.charArray(v, at))
	default:
		b.WriteString(p.scalar(v))
	}
	if comma {
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}

// fields writes a struct's members at indent, gdb's commas between them.
func (p *printer) fields(b *strings.Builder, v *kobj.Value, at *loc, indent int) {
	var members []btf.Member
	if at.known() {
		switch c := btf.UnderlyingType(at.t).(type) {
		case *btf.Struct:
			members = c.Members
		case *btf.Union:
			members = c.Members
		}
	}
	for i, f := range v.Fields {
		var fl *loc
		if len(members) == len(v.Fields) {
			fl = at.at(members[i])
		}
		p.member(b, f.Name, f.Value, fl, indent, i < len(v.Fields)-1)
	}
}

// charArray prints a char array's bytes as gdb does with its defaults
// (print null-stop off, repeats 10, elements 200): every byte, the final
// NUL taken as the terminator, runs of more than ten alike as
// '\000' <repeats 46 times>.
func (p *printer) charArray(v *kobj.Value, at *loc) string {
	arr, ok := btf.UnderlyingType(at.t).(*btf.Array)
	start := at.off / 8
	if !ok || at.off%8 != 0 || start > uint64(len(at.raw)) {
		return quote(v.Str)
	}
	bs := at.raw[start:min(start+uint64(arr.Nelems), uint64(len(at.raw)))]
	return gdbString(bs)
}

// gdbString renders bytes as gdb prints a char array.
func gdbString(bs []byte) string {
	cut := false
	if len(bs) > maxPrintElems {
		bs, cut = bs[:maxPrintElems], true
	} else if len(bs) > 0 && bs[len(bs)-1] == 0 {
		bs = bs[:len(bs)-1]
	}
	var segs []string
	var cur strings.Builder
	open := false
	for i := 0; i < len(bs); {
		j := i + 1
		for j < len(bs) && bs[j] == bs[i] {
			j++
		}
		if j-i > repeatThreshold {
			if open {
				segs = append(segs, cur.String()+`"`)
				cur.Reset()
				open = false
			}
			segs = append(segs, fmt.Sprintf("'%s' <repeats %d times>", escapeChar(bs[i], '\''), j-i))
			i = j
			continue
		}
		if !open {
			cur.WriteByte('"')
			open = true
		}
		for ; i < j; i++ {
			cur.WriteString(escapeChar(bs[i], '"'))
		}
	}
	if open {
		segs = append(segs, cur.String()+`"`)
	}
	if len(segs) == 0 {
		segs = []string{`""`}
	}
	s := strings.Join(segs, ", ")
	if cut {
		s += "..."
	}
	return s
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
