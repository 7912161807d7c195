package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/oops"
)

func FuzzParseTokens(f *testing.F) {
	f.Add("tok-0123456789abcdef web\n# c\n\ntok-0123456789abcdeg readonly\n")
	f.Add("a b c\n")
	f.Add("\x00\xff web")
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := ParseTokens(strings.NewReader(in), "tokens")
		if err != nil {
			return
		}
		// Every accepted line's token is found, with its group.
		for _, line := range strings.Split(in, "\n") {
			fs := strings.Fields(line)
			if len(fs) != 2 || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if g, _, ok := tok.lookup(fs[0]); !ok || g != fs[1] {
				t.Errorf("token %q: group %q ok %v, want %q", fs[0], g, ok, fs[1])
			}
		}
	})
}

func FuzzDecodeDiagnosis(f *testing.F) {
	f.Add([]byte(`{"reports":[{"title":"kernel BUG in f","type":"BUG","guilty_function":"f","frames":[{"function":"g","reliable":true}]}],"matches":[{"id":"x","reports":[0]}]}`))
	f.Add([]byte(`{"reports":[null]}`))
	f.Add([]byte(`{"matches":[{"reports":[-1]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decodeDiagnosis(bytes.NewReader(in))
		if err != nil {
			return
		}
		for i, r := range d.Reports {
			if r == nil || r.Signature != oops.Signature(r.Type, r.GuiltyFunction, r.Frames) {
				t.Errorf("report %d accepted with a signature not its own", i)
			}
		}
		for _, m := range d.Matches {
			for _, ri := range m.Reports {
				if ri < 0 || ri >= len(d.Reports) {
					t.Errorf("match %s names report %d of %d", m.ID, ri, len(d.Reports))
				}
			}
		}
	})
}
