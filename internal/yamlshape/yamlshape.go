// Package yamlshape refuses YAML nested too deep before a parser sees it.
// goccy/go-yaml, which ktriage parses knowledge-base entries and netplan
// files with, takes memory quadratic in the nesting: 200 KB of "[" or of
// ever deeper indentation exhausts gigabytes. Real configuration nests a
// few levels, so a bound far above that refuses only hostile input.
package yamlshape

import "fmt"

// Limits a document must keep.
const (
	// MaxDepth bounds flow nesting: "[" and "{" not yet closed.
	MaxDepth = 64
	// MaxIndent bounds a line's indentation in columns, and so the
	// block nesting.
	MaxIndent = 256
)

// Error says where a document first went too deep.
type Error struct {
	Line int // 1-based
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Check returns an Error naming the first line where data nests deeper
// than MaxDepth flow levels or is indented more than MaxIndent columns,
// or nil. It counts brackets without regard to quoting or comments, which
// errs only on the strict side: a document would need 64 unclosed
// brackets in its text to be refused wrongly.
func Check(data []byte) *Error {
	depth, line, indent, start := 0, 1, 0, true
	for _, c := range data {
		switch {
		case c == '\n':
			line, indent, start = line+1, 0, true
			continue
		case start && c == ' ':
			if indent++; indent > MaxIndent {
				return &Error{Line: line, Msg: fmt.Sprintf("indented more than %d columns: nested deeper than a document may be", MaxIndent)}
			}
			continue
		case c == '[' || c == '{':
			if depth++; depth > MaxDepth {
				return &Error{Line: line, Msg: fmt.Sprintf("nested deeper than the %d levels a document may be", MaxDepth)}
			}
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
		start = false
	}
	return nil
}
