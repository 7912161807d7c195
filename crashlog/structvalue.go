package crashlog

import (
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/kobj"
)

// Limits on one value read from a transcript (a struct dump or a `p`
// result), so that a runaway paste or junk costs bounded memory.
const (
	// MaxDumpLines is the most lines of one dump whose values are kept;
	// the rest of the dump is still consumed up to its closing brace.
	MaxDumpLines = 4096
	// MaxDumpDepth is the deepest nesting whose members are kept.
	MaxDumpDepth = 32
	// MaxDumpValues is the most values (members and array elements, at
	// any depth) kept per dump.
	MaxDumpValues = 1 << 15
	// maxArrayElems bounds an array's elements, `<repeats N times>`
	// expanded.
	maxArrayElems = 1 << 14
	// maxStringLen bounds a decoded char array or string.
	maxStringLen = 1 << 16
)

// ---- tokens ----

type tokKind uint8

const (
	tokLBrace tokKind = iota + 1
	tokRBrace
	tokComma
	tokName   // "name =": the member name
	tokScalar // a value that is not a brace group, as printed
)

type token struct {
	kind tokKind
	text string
}

// tokenize splits one line of gdb's pretty-printed value output into
// tokens. Author remarks ("<---- 0", "< 6th push") end the line. A member
// name is only taken as one when followed by " = " (gdb's spacing), so that
// shell assignments in prose (ETHTOOL_OPTS="...") are not members.
func tokenize(t string, buf []token) []token {
	out := buf[:0]
	i := 0
	for i < len(t) {
		c := t[i]
		switch {
		case isSpaceByte(c):
			i++
		case c == '{':
			if j, ok := typePrefixEnd(t, i); ok {
				e := scanScalar(t, j)
				out = append(out, token{tokScalar, trimSpace(t[i:e])})
				i = e
				continue
			}
			out = append(out, token{kind: tokLBrace})
			i++
		case c == '}':
			out = append(out, token{kind: tokRBrace})
			i++
		case c == ',':
			out = append(out, token{kind: tokComma})
			i++
		case c == '<' && isRemark(t, i):
			return out
		case isIdentStart(c):
			j := i + 1
			for j < len(t) && isIdentByte(t[j]) {
				j++
			}
			if j < len(t) && t[j] == ' ' {
				k := j
				for k < len(t) && t[k] == ' ' {
					k++
				}
				if k < len(t) && t[k] == '=' && (k+1 == len(t) || t[k+1] == ' ') {
					out = append(out, token{tokName, t[i:j]})
					i = k + 1
					continue
				}
			}
			e := scanScalar(t, i)
			out = append(out, token{tokScalar, trimSpace(t[i:e])})
			i = e
		default:
			e := scanScalar(t, i)
			if e == i {
				// A stray character no scalar starts with: skip it.
				e = i + 1
			}
			if s := trimSpace(t[i:e]); s != "" {
				out = append(out, token{tokScalar, s})
			}
			i = e
		}
	}
	return out
}

// isRemark says whether the '<' at i starts a remark a paste added
// ("<---- 0", "<--", "< 6th push") rather than a symbol ("<tcp_wfree>") or
// gdb's "<repeats 15 times>", "<optimized out>".
func isRemark(t string, i int) bool {
	if i+1 >= len(t) {
		return true
	}
	switch t[i+1] {
	case '-', ' ', '<', '=', '\t':
		return true
	}
	return strings.IndexByte(t[i:], '>') < 0
}

// typePrefixEnd recognises the "{void (struct sk_buff *)} " gdb prints
// before a function's address, returning the index after the closing brace.
func typePrefixEnd(t string, i int) (int, bool) {
	j := strings.IndexByte(t[i:], '}')
	if j < 2 {
		return 0, false
	}
	in := t[i+1 : i+j]
	if strings.ContainsAny(in, "={,\"'") {
		return 0, false
	}
	rest := trimSpace(t[i+j+1:])
	if !strings.HasPrefix(rest, "0x") {
		return 0, false
	}
	return i + j + 1, true
}

// scanScalar returns the end of the scalar starting at i: up to a comma or
// brace outside quotes, angle brackets and parentheses, or a remark. A char
// array gdb printed in pieces ("ab", '\000' <repeats 14 times>) is one
// scalar despite its commas.
func scanScalar(t string, i int) int {
	start := i
	for i < len(t) {
		c := t[i]
		switch c {
		case '"', '\'':
			i = skipQuoted(t, i)
		case '<':
			if isRemark(t, i) {
				return i
			}
			i = skipNested(t, i, '<', '>')
		case '(':
			i = skipNested(t, i, '(', ')')
		case '{':
			if i == start {
				if j, ok := typePrefixEnd(t, i); ok {
					i = j
					continue
				}
			}
			return i
		case '}':
			return i
		case ',':
			if j, ok := joinPieces(t, start, i); ok {
				i = j
				continue
			}
			return i
		default:
			i++
		}
	}
	return i
}

// joinPieces decides whether the comma at i continues a char array printed
// in pieces: one of the pieces on either side is a '<repeats N times>' run.
// It returns where the next piece starts.
func joinPieces(t string, start, i int) (int, bool) {
	cur := trimSpace(t[start:i])
	if cur == "" || (cur[0] != '"' && cur[0] != '\'') {
		return 0, false
	}
	j := i + 1
	for j < len(t) && t[j] == ' ' {
		j++
	}
	if j >= len(t) || (t[j] != '"' && t[j] != '\'') {
		return 0, false
	}
	e := skipQuoted(t, j)
	k := e
	for k < len(t) && t[k] == ' ' {
		k++
	}
	next := strings.HasPrefix(t[k:], "<repeats ")
	if !next && !strings.Contains(cur, "<repeats ") {
		return 0, false
	}
	return j, true
}

func skipQuoted(t string, i int) int {
	q := t[i]
	i++
	for i < len(t) {
		switch t[i] {
		case '\\':
			i += 2
			continue
		case q:
			return i + 1
		}
		i++
	}
	return len(t)
}

// skipNested returns the index after the closing byte that balances the
// opening one at or after t[i] ("<tcp_wfree>", "(A | B)"), or len(t) when
// none does.
func skipNested(t string, i int, opening, closing byte) int {
	depth := 0
	for ; i < len(t); i++ {
		switch t[i] {
		case opening:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(t)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isIdent(s string) bool {
	if s == "" || len(s) > 256 || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

// looksLikeValue says whether an unnamed scalar starting a line can be an
// array element rather than prose.
func looksLikeValue(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case isDigit(c), c == '-', c == '"', c == '\'', c == '(', c == '{', c == '<':
		return true
	}
	return isIdent(s) // an enum name
}

// ---- scalars ----

// parseScalar reads one printed scalar. rep is the count of a trailing
// "<repeats N times>" (1 when none) for array elements; a char array's
// repeats are expanded into its string instead.
func parseScalar(raw string) (v *kobj.Value, rep int) {
	v = &kobj.Value{Raw: strings.Clone(raw)}
	rep = 1
	s := raw
	if s == "" {
		return v, rep
	}
	if s[0] == '"' || s[0] == '\'' && strings.Contains(s, "<repeats ") {
		// A char array: a string, or runs of one char.
		if str, ok := decodePieces(s); ok {
			v.Kind, v.Str = kobj.String, str
			return v, rep
		}
	}
	if k := strings.LastIndex(s, "<repeats "); k > 0 && strings.HasSuffix(s, " times>") && k+len("<repeats ") <= len(s)-len(" times>") {
		if n, ok := parseDec(s[k+len("<repeats ") : len(s)-len(" times>")]); ok && n > 0 {
			rep = n
			s = trimSpace(s[:k])
		}
	}
	// A cast or a function's type before the value.
	if s[0] == '(' || s[0] == '{' {
		var e int
		if s[0] == '(' {
			e = skipNested(s, 0, '(', ')')
		} else {
			e = strings.IndexByte(s, '}') + 1
		}
		rest := trimSpace(s[e:])
		if rest == "" {
			return v, rep // an enum combination "(A | B)": Unknown
		}
		v.Type = strings.Clone(trimSpace(s[1 : e-1]))
		s = rest
	}
	head, rest := nextField(s)
	switch {
	case len(head) > 2 && head[0] == '0' && (head[1] == 'x' || head[1] == 'X'):
		n, ok := parseHex(head[2:])
		if !ok {
			return v, rep
		}
		v.Kind, v.Num = kobj.Pointer, n
		// Annotations: <symbol>, then a string the pointer points to.
		if strings.HasPrefix(rest, "<") {
			e := skipNested(rest, 0, '<', '>')
			v.Symbol = strings.Clone(rest[1 : e-1])
			rest = trimSpace(rest[e:])
		}
		if strings.HasPrefix(rest, "\"") || strings.HasPrefix(rest, "'") {
			if str, ok := decodePieces(rest); ok {
				v.Str = str
			}
		}
	case head == "true":
		v.Kind, v.Num = kobj.Int, 1
	case head == "false":
		v.Kind = kobj.Int
	case head[0] == '-' || isDigit(head[0]):
		n, neg, ok := parseInt(head)
		if !ok || rest != "" && rest[0] != '\'' {
			return v, rep
		}
		v.Kind, v.Num, v.Neg = kobj.Int, n, neg
	case head[0] == '\'':
		// A lone char: an element of a char array printed as chars.
		if str, ok := decodePieces(s); ok && len(str) == 1 {
			v.Kind, v.Num = kobj.Int, uint64(str[0])
		}
	}
	return v, rep
}

// parseInt reads a decimal integer, negative ones as two's complement.
func parseInt(s string) (n uint64, neg bool, ok bool) {
	if strings.HasPrefix(s, "-") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, false
		}
		return uint64(i), i < 0, true
	}
	u, err := strconv.ParseUint(s, 10, 64)
	return u, false, err == nil
}

// decodePieces decodes a char array as gdb prints it: one quoted string,
// or pieces joined by commas ("ab", '\000' <repeats 14 times>). Escapes
// that are not C's (a paste's "\XXX") keep the escaped character.
func decodePieces(s string) (string, bool) {
	var sb strings.Builder
	for {
		s = trimSpace(s)
		if s == "" {
			return sb.String(), true
		}
		q := s[0]
		if q != '"' && q != '\'' {
			return "", false
		}
		e := skipQuoted(s, 0)
		body := s[1:e]
		if len(body) > 0 && body[len(body)-1] == q {
			body = body[:len(body)-1]
		}
		piece := decodeEscapes(body)
		s = trimSpace(s[e:])
		n := 1
		if strings.HasPrefix(s, "<repeats ") {
			k := strings.IndexByte(s, '>')
			if k < 0 {
				return "", false
			}
			m, ok := leadingInt(trimSpace(s[len("<repeats "):k]))
			if !ok {
				return "", false
			}
			n, s = m, trimSpace(s[k+1:])
		}
		for ; n > 0 && piece != "" && sb.Len() < maxStringLen; n-- {
			sb.WriteString(piece)
		}
		if sb.Len() > maxStringLen {
			return sb.String()[:maxStringLen], true
		}
		if s == "" {
			return sb.String(), true
		}
		if s[0] != ',' {
			return "", false
		}
		s = s[1:]
	}
}

func decodeEscapes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return strings.Clone(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		i++
		c = s[i]
		switch c {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'a':
			b = append(b, 7)
		case 'b':
			b = append(b, 8)
		case 'f':
			b = append(b, 12)
		case 'v':
			b = append(b, 11)
		case 'e':
			b = append(b, 27)
		case 'x':
			j, v := i+1, 0
			for j < len(s) && j < i+3 && isHexDigit(s[j]) {
				x, _ := parseHex(s[j : j+1])
				v = v<<4 | int(x)
				j++
			}
			if j == i+1 {
				b = append(b, 'x')
				continue
			}
			b = append(b, byte(v))
			i = j - 1
		default:
			if '0' <= c && c <= '7' {
				j, v := i, 0
				for j < len(s) && j < i+3 && '0' <= s[j] && s[j] <= '7' {
					v = v<<3 | int(s[j]-'0')
					j++
				}
				b = append(b, byte(v))
				i = j - 1
				continue
			}
			b = append(b, c)
		}
	}
	return string(b)
}

// ---- building values ----

// rootKind says how a value's outermost brace was opened.
type rootKind uint8

const (
	// rootHeader: "struct sk_buff {": always a struct, closed by "}".
	rootHeader rootKind = iota
	// rootBrace: "$1 = {": a struct or an array, closed by "}".
	rootBrace
	// rootHeaderless: member lines without their header (grep'd output,
	// a member list, a paste that lost the header): never closed, stray
	// closing braces ignored.
	rootHeaderless
)

type vitem struct {
	name  string
	named bool
	v     *kobj.Value
	rep   int
}

type vframe struct {
	name      string
	named     bool
	items     []vitem
	nNamed    int
	groups    int  // items that are brace groups
	line      int  // builder line it opened on
	childSame bool // its first item is a brace opened on the same line
	pending   string
	hasName   bool
}

// builder assembles a kobj.Value from token lines, one line at a time.
type builder struct {
	kind   rootKind
	typ    string // the root's C type ("struct sk_buff"), if known
	stack  []*vframe
	skip   int // braces open beyond MaxDumpDepth
	value  *kobj.Value
	closed bool
	lines  int
	values int
	// over is set when limits dropped some of the value.
	over  bool
	names *interner
}

func newBuilder(kind rootKind, typ string, names *interner) *builder {
	b := &builder{kind: kind, typ: typ, names: names}
	root := &vframe{}
	if kind == rootBrace {
		// The caller feeds the rest of the line its brace opened on first.
		root.line = 1
	}
	b.stack = append(b.stack, root)
	return b
}

// accepts says whether a line of tokens can continue the value: it must
// start with a member name or a brace, or be an array element where one may
// stand. Prose after a dump that lost its closing brace fails this.
func (b *builder) accepts(toks []token) bool {
	if b.closed {
		return false
	}
	if len(toks) == 0 {
		return true // only a remark
	}
	switch toks[0].kind {
	case tokName, tokLBrace, tokRBrace, tokComma:
		return true
	}
	top := b.stack[len(b.stack)-1]
	if b.skip == 0 && (top.nNamed > 0 || len(b.stack) == 1 && b.kind != rootBrace) {
		return false
	}
	return looksLikeValue(toks[0].text)
}

// feed applies one accepted line of tokens.
func (b *builder) feed(toks []token) {
	b.lines++
	for _, tk := range toks {
		if b.closed {
			return
		}
		top := b.stack[len(b.stack)-1]
		switch tk.kind {
		case tokName:
			if b.skip == 0 {
				top.pending, top.hasName = tk.text, true
			}
		case tokScalar:
			if b.skip > 0 {
				continue
			}
			if b.full() {
				top.pending, top.hasName = "", false
				continue
			}
			v, rep := parseScalar(tk.text)
			b.add(top, v, rep)
		case tokComma:
			if b.skip == 0 {
				top.pending, top.hasName = "", false
			}
		case tokLBrace:
			if b.skip > 0 || len(b.stack) > MaxDumpDepth || b.full() {
				b.skip++
				b.over = true
				continue
			}
			if len(top.items) == 0 && top.line == b.lines {
				top.childSame = true
			}
			f := &vframe{name: top.pending, named: top.hasName, line: b.lines}
			top.pending, top.hasName = "", false
			b.stack = append(b.stack, f)
		case tokRBrace:
			if b.skip > 0 {
				b.skip--
				continue
			}
			if len(b.stack) == 1 {
				if b.kind == rootHeaderless {
					continue
				}
				b.value = b.build(top, true)
				b.closed = true
				return
			}
			b.stack = b.stack[:len(b.stack)-1]
			parent := b.stack[len(b.stack)-1]
			v := b.build(top, false)
			parent.pending, parent.hasName = top.name, top.named
			b.add(parent, v, 1)
			parent.groups++
		}
	}
}

// full says the limits are reached: further values are not kept.
func (b *builder) full() bool {
	if b.lines > MaxDumpLines || b.values >= MaxDumpValues {
		b.over = true
		return true
	}
	return false
}

func (b *builder) add(f *vframe, v *kobj.Value, rep int) {
	b.values++
	name := ""
	if f.hasName {
		name = b.names.get(f.pending)
		f.nNamed++
	}
	f.items = append(f.items, vitem{name: name, named: f.hasName, v: v, rep: rep})
	f.pending, f.hasName = "", false
}

// build turns a closed frame into a value: a struct when any member is
// named, or when its unnamed members are brace groups each opened on a line
// of its own (anonymous unions); otherwise an array ("{{" opens an array
// of structs on one line).
func (b *builder) build(f *vframe, root bool) *kobj.Value {
	v := &kobj.Value{}
	isStruct := f.nNamed > 0 || len(f.items) == 0 ||
		(f.groups == len(f.items) && !f.childSame)
	if root && (b.kind == rootHeader || b.kind == rootHeaderless) {
		isStruct = true
	}
	if root {
		v.Type = b.typ
	}
	if isStruct {
		v.Kind = kobj.Struct
		v.Fields = make([]kobj.Field, 0, len(f.items))
		for _, it := range f.items {
			v.Fields = append(v.Fields, kobj.Field{Name: it.name, Value: it.v})
		}
		return v
	}
	v.Kind = kobj.Array
	n := 0
	for _, it := range f.items {
		n += it.rep
	}
	if n > maxArrayElems {
		n = maxArrayElems
		b.over = true
	}
	v.Elems = make([]*kobj.Value, 0, n)
	for _, it := range f.items {
		for r := 0; r < it.rep && len(v.Elems) < n; r++ {
			v.Elems = append(v.Elems, it.v)
		}
	}
	return v
}

// finish closes whatever is still open (a dump cut short) and returns the
// value read so far.
func (b *builder) finish() *kobj.Value {
	if b.closed {
		return b.value
	}
	for len(b.stack) > 1 {
		top := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		parent := b.stack[len(b.stack)-1]
		parent.pending, parent.hasName = top.name, top.named
		b.add(parent, b.build(top, false), 1)
		parent.groups++
	}
	b.value = b.build(b.stack[0], true)
	b.closed = true
	return b.value
}

// depth is how many braces are open below the root.
func (b *builder) depth() int { return len(b.stack) - 1 + b.skip }
