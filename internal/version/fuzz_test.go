package version

import (
	"strings"
	"testing"
)

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

		da, errA := ParseDeb(a)
		db, errB := ParseDeb(b)
		if errA == nil && errB == nil {
			x, y := CompareDeb(da, db), CompareDeb(db, da)
			if x != -y || x < -1 || x > 1 {
				t.Fatalf("CompareDeb(%q,%q)=%d, reverse %d", a, b, x, y)
			}
			if CompareDeb(da, da) != 0 {
				t.Fatalf("CompareDeb(%q,%q) != 0", a, a)
			}
			// Parsing what String prints gives an equal version.
			if again, err := ParseDeb(da.String()); err != nil || CompareDeb(again, da) != 0 {
				t.Fatalf("ParseDeb(%q) round trip: %v", da.String(), err)
			}
		}
		if abi, ok := DebianABI(a); ok && !strings.HasPrefix(a, abi) && !strings.HasPrefix(strings.TrimSpace(a), abi) {
			t.Fatalf("DebianABI(%q) = %q, not a prefix", a, abi)
		}

		ua, errA := ParseUpstream(a)
		ub, errB := ParseUpstream(b)
		if errA == nil && errB == nil {
			x, y := CompareUpstream(ua, ub), CompareUpstream(ub, ua)
			if x != -y {
				t.Fatalf("CompareUpstream(%q,%q)=%d, reverse %d", a, b, x, y)
			}
			if again, err := ParseUpstream(ua.String()); err != nil || CompareUpstream(again, ua) != 0 {
				t.Fatalf("ParseUpstream(%q) round trip: %v", ua.String(), err)
			}
		}
	})
}
