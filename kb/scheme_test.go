package kb

import "testing"

// TestRangeSchemes checks release ranges end to end through the matcher's
// range evaluation, in each scheme.
func TestRangeSchemes(t *testing.T) {
	cases := []struct {
		r     Range
		crash Crash
		want  bool
	}{
		{Range{Min: "2.6.32", MaxExclusive: "2.6.33", Scheme: schemeRPM}, Crash{Release: "2.6.32-504.23.4.el6.x86_64"}, true},
		{Range{Min: "2.6.32", MaxExclusive: "2.6.33", Scheme: schemeRPM}, Crash{Release: "3.10.0-957.el7.x86_64"}, false},
		{Range{MaxExclusive: "2.6.32-573.el6", Scheme: schemeRPM}, Crash{Release: "2.6.32-504.23.4.el6.x86_64"}, true},
		{Range{MaxExclusive: "2.6.32-573.el6", Scheme: schemeRPM}, Crash{Release: "2.6.32-642.4.2.el6.x86_64"}, false},
		{Range{Min: "2.6.32-573.el6", Scheme: schemeRPM}, Crash{Release: "2.6.32-573.el6.x86_64"}, true}, // min is inclusive
		{Range{MaxExclusive: "2.6.32-573.el6", Scheme: schemeRPM}, Crash{Release: "2.6.32-573.el6.x86_64"}, false},
		{Range{Min: "4.15", MaxExclusive: "4.19.52", Scheme: schemeUpstream}, Crash{Release: "4.19.51"}, true},
		{Range{Min: "4.15", MaxExclusive: "4.19.52", Scheme: schemeUpstream}, Crash{Release: "4.19.52"}, false},
		{Range{MaxExclusive: "5.2", Scheme: schemeUpstream}, Crash{Release: "5.2.0-rc6"}, true},
		{Range{MaxExclusive: "5.2", Scheme: schemeUpstream}, Crash{Release: "not-a-version"}, false},
		{Range{Min: "6.1.0-10", MaxExclusive: "6.1.0-14", Scheme: schemeDebABI}, Crash{Release: "6.1.0-13-amd64"}, true},
		{Range{Min: "6.1.0-10", MaxExclusive: "6.1.0-14", Scheme: schemeDebABI}, Crash{Release: "6.1.0-15-cloud-amd64"}, false},
		{Range{MaxExclusive: "6.1.55-1", Scheme: schemeDeb}, Crash{Release: "6.1.0-13-amd64", PackageVersion: "6.1.52-1"}, true},
		{Range{MaxExclusive: "6.1.55-1", Scheme: schemeDeb}, Crash{Release: "6.1.0-13-amd64", PackageVersion: "6.1.55-1"}, false},
		{Range{MaxExclusive: "6.1.55-1", Scheme: schemeDeb}, Crash{Release: "6.1.0-13-amd64"}, false}, // package version unknown
	}
	for _, c := range cases {
		cr := compiledRange{Range: c.r}
		var err error
		if c.r.Min != "" {
			cr.lo, err = parseBound(c.r.Scheme, c.r.Min)
			cr.hasLo = true
		}
		if err == nil && c.r.MaxExclusive != "" {
			cr.hi, err = parseBound(c.r.Scheme, c.r.MaxExclusive)
			cr.hasHi = true
		}
		if err != nil {
			t.Fatalf("%v: %v", c.r, err)
		}
		_, got := cr.contains(&c.crash)
		if got != c.want {
			t.Errorf("range %v contains %+v = %v, want %v", c.r, c.crash, got, c.want)
		}
	}
}
