package kb

import (
	"strings"
	"testing"
)

// FuzzLoadEntry feeds arbitrary bytes to the entry parser. Whatever the
// input, parsing, linting and matching must not panic; an accepted entry has
// compiled match blocks, and every error names the file.
// Seeds: testdata/fuzz/FuzzLoadEntry and the embedded entries.
func FuzzLoadEntry(f *testing.F) {
	des, err := embedded.ReadDir("entries")
	if err != nil {
		f.Fatal(err)
	}
	for _, de := range des {
		data, err := embedded.ReadFile("entries/" + de.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validEntry))
	crashes := []Crash{seedChecksum, seedOverPanic, {Type: "BUG", Title: "x", Guilty: "x", Release: "5.2"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEntry("fuzz.yaml", data)
		if err != nil {
			if e != nil {
				t.Fatalf("parseEntry returned an entry with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(e.blocks) == 0 {
			t.Fatalf("accepted entry has no match blocks")
		}
		for _, p := range e.lint() {
			if p.File != "fuzz.yaml" {
				t.Fatalf("lint problem names %q", p.File)
			}
			_ = p.Error()
		}
		for _, c := range crashes {
			if m, ok := e.matchCrash(c); ok && len(m.Evidence) == 0 {
				uncond := false
				for _, b := range e.blocks {
					uncond = uncond || b.unconditional()
				}
				if !uncond {
					t.Fatalf("match without evidence")
				}
			}
		}
		if _, err := New(e, e); err == nil {
			t.Fatalf("New accepted the same id twice")
		}
	})
}

// unconditional reports whether a block (and its parent) state nothing,
// the one case where a match carries no evidence.
func (b *compiledBlock) unconditional() bool {
	own := len(b.types)+len(b.titles)+len(b.functions)+len(b.frames)+len(b.locations)+len(b.modules)+len(b.releases) == 0
	return own && (b.parent == nil || b.parent.unconditional())
}
