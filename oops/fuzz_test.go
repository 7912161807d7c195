package oops

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeLine: any line normalizes without panic, and the text it
// returns is a suffix of the line's own bytes (prefixes are only removed).
// Its seeds, one per prefix style, are in testdata/fuzz/FuzzNormalizeLine.
func FuzzNormalizeLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		ln := NormalizeLine(raw)
		// Junk bytes (controls, DEL, bytes never in UTF-8) are dropped
		// before the prefixes are: the text is a suffix of what is left.
		var kept []byte
		for _, c := range bytes.TrimRight(raw, "\r\n") {
			if !isJunk(c) {
				kept = append(kept, c)
			}
		}
		if bytes.IndexByte(raw, 0x1b) < 0 && !strings.HasSuffix(string(kept), ln.Text) {
			t.Fatalf("text %q is not a suffix of %q", ln.Text, kept)
		}
		if strings.ContainsFunc(ln.Text, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Fatalf("text %q holds a control byte", ln.Text)
		}
	})
}

// FuzzParse: any input parses without panic into well-formed reports. Its
// seeds (report kinds, a ticket, junk) are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		reps, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reps {
			if r.Title == "" || r.Type == "" || len(r.Signature) != 64 {
				t.Fatalf("malformed report %+v", r)
			}
			if r.Source.StartLine < 1 || r.Source.EndLine < r.Source.StartLine {
				t.Fatalf("bad span %+v", r.Source)
			}
			if r.Frames == nil || r.Modules == nil {
				t.Fatal("nil slices would be null in JSON")
			}
		}
	})
}

// endless yields n bytes of one repeated byte without a newline.
type endless struct {
	n int64
	b byte
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > e.n {
		k = e.n
	}
	for i := range p[:k] {
		p[i] = e.b
	}
	e.n -= k
	return int(k), nil
}

// TestBadInput: junk, a 1 GB line, invalid UTF-8 and empty input give no
// report or well-formed ones, never a panic, in bounded memory.
func TestBadInput(t *testing.T) {
	cases := map[string]io.Reader{
		"empty":       bytes.NewReader(nil),
		"binary":      bytes.NewReader(bytes.Repeat([]byte{0, 0xff, 0x7f, 0x1b, '\n', 0x80}, 10000)),
		"invalid-utf": strings.NewReader("[ 1.0] BUG: unable to handle kernel NULL pointer dereference at \xff\xfe\n[ 1.0] RIP: 0010:\xc3\x28+0x1/0x2\n"),
		"1GB-line":    io.MultiReader(&endless{n: 1 << 30, b: 'B'}, strings.NewReader("\n[ 1.0] kernel BUG at x.c:1!\n")),
	}
	for name, r := range cases {
		reps, err := Parse(r, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, rep := range reps {
			if rep.Title == "" {
				t.Errorf("%s: empty title", name)
			}
			if !utf8.ValidString(rep.Title) && name != "invalid-utf" {
				t.Errorf("%s: invalid title %q", name, rep.Title)
			}
		}
		if name == "1GB-line" && (len(reps) != 1 || reps[0].Source.StartLine != 2) {
			t.Errorf("1GB-line: the report after the long line was not found: %+v", reps)
		}
	}
}
