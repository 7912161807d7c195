package crashlog

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLineLen bounds the lines we try to understand. No line of bt or sys
// output comes near it; longer lines are prose (or junk) and are not worth
// the scanning time.
const maxLineLen = 4096

// normalize trims the whitespace a paste may have added or removed around a
// line, including the no-break spaces web pages put in place of indentation,
// and turns inner no-break spaces into plain ones so that field splitting
// works on copied HTML.
func normalize(s string) string {
	s = trimSpace(s)
	if len(s) == 0 {
		return s
	}
	if s[0] >= utf8.RuneSelf || s[len(s)-1] >= utf8.RuneSelf {
		s = strings.TrimFunc(s, unicode.IsSpace)
	}
	if strings.Contains(s, "\u00a0") {
		s = strings.ReplaceAll(s, "\u00a0", " ")
	}
	return s
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpaceByte(s[i]) {
		i++
	}
	for j > i && isSpaceByte(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// nextField returns the first space-separated field of s and the rest of s
// after it (leading spaces removed).
func nextField(s string) (field, rest string) {
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	s = s[i:]
	j := 0
	for j < len(s) && !isSpaceByte(s[j]) {
		j++
	}
	field, rest = s[:j], s[j:]
	k := 0
	for k < len(rest) && isSpaceByte(rest[k]) {
		k++
	}
	return field, rest[k:]
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// parseHex parses an address or register as crash prints it: hex digits
// without 0x, at most 16 of them.
func parseHex(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// parseDec parses a small non-negative decimal number.
func parseDec(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// leadingInt parses the decimal number a value starts with ("24 [OFFLINE: 1]").
func leadingInt(s string) (int, bool) {
	j := 0
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && !isSpaceByte(s[j]) {
		return 0, false
	}
	return parseDec(s[:j])
}

// parseOffset parses the offset crash appends to a symbol: decimal by
// default, hex with 0x when crash's output radix is 16.
func parseOffset(s string) (uint64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return parseHex(s[2:])
	}
	return parseDecU64(s)
}

// parseDecU64 parses an unsigned decimal of at most 19 digits, nothing else.
func parseDecU64(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// isSymbolName accepts what crash prints as a kernel symbol: C identifiers
// with compiler suffixes (.isra.0, .cold) and ppc64's leading dot.
func isSymbolName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	c := s[0]
	if !(c == '_' || c == '.' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '$' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// splitSymOffset splits "name+725" or "name+0x2d5" into its parts. A name
// without an offset is returned with ok and a nil offset.
func splitSymOffset(s string) (name string, off *uint64, ok bool) {
	if i := strings.LastIndexByte(s, '+'); i > 0 {
		v, good := parseOffset(s[i+1:])
		if !good || !isSymbolName(s[:i]) {
			return "", nil, false
		}
		return s[:i], &v, true
	}
	if !isSymbolName(s) {
		return "", nil, false
	}
	return s, nil, true
}

// unquote returns the text between the first and the last double quote of
// s, or s itself when it is not quoted.
func unquote(s string) string {
	if len(s) > 0 && s[0] == '"' {
		if j := strings.LastIndexByte(s, '"'); j > 0 {
			return s[1:j]
		}
		return s[1:]
	}
	return s
}

// hexString formats an address as crash prints a code address (%lx):
// lower-case, no 0x.
func hexString(v uint64) string { return strconv.FormatUint(v, 16) }

func u64(v uint64) *uint64 { return &v }

// interner shares the copies of short strings that repeat across lines
// (function, member, command and device names): a `foreach bt` or a large
// ps repeats each many times. It keeps at most max of them (maxNames when
// 0), so memory stays bounded on junk; names past it are copied each time.
type interner struct {
	m   map[string]string
	max int
}

// get returns a copy of s that does not share the caller's line.
func (in *interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if in.m == nil {
		in.m = make(map[string]string, 64)
	}
	if limit := in.max; len(in.m) < limit || limit == 0 && len(in.m) < maxNames {
		in.m[v] = v
	}
	return v
}

// columns reads the space-separated columns of a table line (ps, net -s)
// in turn. Once a column fails to parse every later one fails too, so a
// parser reads all its columns and checks ok once.
type columns struct {
	rest string // the line after the columns read
	ok   bool   // every column read so far parsed
}

func newColumns(t string) columns { return columns{rest: t, ok: true} }

// next returns the next column as text ("" once a column failed).
func (c *columns) next() string {
	if !c.ok {
		return ""
	}
	var f string
	f, c.rest = nextField(c.rest)
	return f
}

// column parses the next column of c with parse; the zero value once a
// column failed.
func column[T any](c *columns, parse func(string) (T, bool)) T {
	var v T
	if !c.ok {
		return v
	}
	v, c.ok = parse(c.next())
	return v
}
