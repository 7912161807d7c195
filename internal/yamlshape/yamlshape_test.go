package yamlshape

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		line int // 0: accepted
	}{
		{"empty", "", 0},
		{"plain", "a: [1, {b: c}]\nd:\n  - e\n", 0},
		{"balanced brackets in prose", "text: " + strings.Repeat("[  1.0] ", 1000) + "\n", 0},
		{"at the flow bound", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), 0},
		{"past the flow bound", "a: 1\nb: " + strings.Repeat("[", MaxDepth+1), 2},
		{"at the indent bound", "a:\n" + strings.Repeat(" ", MaxIndent) + "b: c\n", 0},
		{"past the indent bound", "a:\n\n" + strings.Repeat(" ", MaxIndent+1) + "b: c\n", 3},
		{"closers do not go below zero", strings.Repeat("]", 1000) + strings.Repeat("[", MaxDepth), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Check([]byte(c.doc))
			switch {
			case c.line == 0 && e != nil:
				t.Errorf("refused: %v", e)
			case c.line != 0 && (e == nil || e.Line != c.line):
				t.Errorf("got %v, want an *Error at line %d", e, c.line)
			}
		})
	}
}
