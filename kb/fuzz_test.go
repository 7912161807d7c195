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
		e, err := ParseEntry("fuzz.yaml", data)
		if err != nil {
			if e != nil {
				t.Fatalf("ParseEntry returned an entry with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(e.blocks) == 0 {
			t.Fatalf("accepted entry has no match blocks")
		}
		for _, p := range e.Lint() {
			if p.File != "fuzz.yaml" {
				t.Fatalf("lint problem names %q", p.File)
			}
			_ = p.Error()
		}
		for _, c := range crashes {
			if m, ok := e.Matches(c); ok && len(m.Evidence) == 0 {
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

// FuzzVersionCompare checks the orderings' algebra on arbitrary pairs: every
// comparison is reflexive and antisymmetric, in all three schemes.
// Seeds: testdata/fuzz/FuzzVersionCompare.
func FuzzVersionCompare(f *testing.F) {
	for _, c := range rpmCases {
		f.Add(c.a, c.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareRPM(a, b), CompareRPM(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("CompareRPM(%q,%q)=%d but CompareRPM(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if CompareRPM(a, a) != 0 {
			t.Fatalf("CompareRPM(%q,%q) != 0", a, a)
		}
		ea, eb := ParseEVR(a), ParseEVR(b)
		if x, y := CompareEVR(ea, eb), CompareEVR(eb, ea); x != -y {
			t.Fatalf("CompareEVR(%q,%q)=%d, reverse %d", a, b, x, y)
		}
		_ = RPMKernelEVR(a).String()

		da, errA := ParseDebVersion(a)
		db, errB := ParseDebVersion(b)
		if errA == nil && errB == nil {
			x, y := CompareDebVersion(da, db), CompareDebVersion(db, da)
			if x != -y || x < -1 || x > 1 {
				t.Fatalf("CompareDeb(%q,%q)=%d, reverse %d", a, b, x, y)
			}
			if CompareDebVersion(da, da) != 0 {
				t.Fatalf("CompareDeb(%q,%q) != 0", a, a)
			}
			// Parsing what String prints gives an equal version.
			if again, err := ParseDebVersion(da.String()); err != nil || CompareDebVersion(again, da) != 0 {
				t.Fatalf("ParseDebVersion(%q) round trip: %v", da.String(), err)
			}
		}
		if abi, ok := DebianABI(a); ok && !strings.HasPrefix(a, abi) && !strings.HasPrefix(strings.TrimSpace(a), abi) {
			t.Fatalf("DebianABI(%q) = %q, not a prefix", a, abi)
		}

		ua, errA := ParseUpstream(a)
		ub, errB := ParseUpstream(b)
		if errA == nil && errB == nil {
			x, y := CompareUpstreamVersion(ua, ub), CompareUpstreamVersion(ub, ua)
			if x != -y {
				t.Fatalf("CompareUpstream(%q,%q)=%d, reverse %d", a, b, x, y)
			}
			if again, err := ParseUpstream(ua.String()); err != nil || CompareUpstreamVersion(again, ua) != 0 {
				t.Fatalf("ParseUpstream(%q) round trip: %v", ua.String(), err)
			}
		}
	})
}
