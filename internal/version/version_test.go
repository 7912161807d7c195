package version

import "testing"

// compareCase is one ordered pair and the expected sign of a-b.
type compareCase struct {
	a, b string
	want int
}

// rpmCases are rpmvercmp cases: the first block follows RPM's own test suite
// (tests/rpmvercmp.at), the rest are kernel releases.
var rpmCases = []compareCase{
	{"1.0", "1.0", 0},
	{"1.0", "2.0", -1},
	{"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0},
	{"2.0", "2.0.1", -1},
	{"2.0.1", "2.0", 1},
	{"2.0.1a", "2.0.1a", 0},
	{"2.0.1a", "2.0.1", 1},
	{"2.0.1", "2.0.1a", -1},
	{"5.5p1", "5.5p1", 0},
	{"5.5p1", "5.5p2", -1},
	{"5.5p2", "5.5p1", 1},
	{"5.5p10", "5.5p10", 0},
	{"5.5p1", "5.5p10", -1},
	{"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1},
	{"10.1xyz", "10xyz", 1},
	{"xyz10", "xyz10", 0},
	{"xyz10", "xyz10.1", -1},
	{"xyz10.1", "xyz10", 1},
	{"xyz.4", "xyz.4", 0},
	{"xyz.4", "8", -1},
	{"8", "xyz.4", 1},
	{"xyz.4", "2", -1},
	{"2", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1},
	{"5.6p1", "5.5p2", 1},
	{"5.6p1", "6.5p1", -1},
	{"6.5p1", "5.6p1", 1},
	{"6.0.rc1", "6.0", 1},
	{"6.0", "6.0.rc1", -1},
	{"10b2", "10a1", 1},
	{"10a2", "10b2", -1},
	{"1.0aa", "1.0aa", 0},
	{"1.0a", "1.0aa", -1},
	{"1.0aa", "1.0a", 1},
	{"10.0001", "10.0001", 0},
	{"10.0001", "10.1", 0},
	{"10.1", "10.0001", 0},
	{"10.0001", "10.0039", -1},
	{"10.0039", "10.0001", 1},
	{"4.999.9", "5.0", -1},
	{"5.0", "4.999.9", 1},
	{"20101121", "20101121", 0},
	{"20101121", "20101122", -1},
	{"20101122", "20101121", 1},
	{"2_0", "2_0", 0},
	{"2.0", "2_0", 0},
	{"2_0", "2.0", 0},
	{"a", "a", 0},
	{"a+", "a+", 0},
	{"a+", "a_", 0},
	{"a_", "a+", 0},
	{"+a", "+a", 0},
	{"+a", "_a", 0},
	{"_a", "+a", 0},
	{"+_", "+_", 0},
	{"_+", "+_", 0},
	{"_+", "_+", 0},
	{"+", "_", 0},
	{"_", "+", 0},
	{"1.0~rc1", "1.0~rc1", 0},
	{"1.0~rc1", "1.0", -1},
	{"1.0", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~rc2", "1.0~rc1", 1},
	{"1.0~rc1~git123", "1.0~rc1~git123", 0},
	{"1.0~rc1~git123", "1.0~rc1", -1},
	{"1.0~rc1", "1.0~rc1~git123", 1},
	{"1.0^", "1.0^", 0},
	{"1.0^", "1.0", 1},
	{"1.0", "1.0^", -1},
	{"1.0^git1", "1.0^git1", 0},
	{"1.0^git1", "1.0", 1},
	{"1.0", "1.0^git1", -1},
	{"1.0^git1", "1.0^git2", -1},
	{"1.0^git2", "1.0^git1", 1},
	{"1.0^git1", "1.01", -1},
	{"1.01", "1.0^git1", 1},
	{"1.0^20160101", "1.0^20160101", 0},
	{"1.0^20160101", "1.0.1", -1},
	{"1.0.1", "1.0^20160101", 1},
	{"1.0^20160101^git1", "1.0^20160101^git1", 0},
	{"1.0^20160102", "1.0^20160101^git1", 1},
	{"1.0^20160101^git1", "1.0^20160102", -1},
	{"1.0~rc1^git1", "1.0~rc1^git1", 0},
	{"1.0~rc1^git1", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc1^git1", -1},
	{"1.0^git1~pre", "1.0^git1~pre", 0},
	{"1.0^git1", "1.0^git1~pre", 1},
	{"1.0^git1~pre", "1.0^git1", -1},
	// Kernel releases compared as whole strings.
	{"2.6.32-504.23.4.el6", "2.6.32-573.el6", -1},
	{"2.6.32-642.4.2.el6", "2.6.32-573.el6", 1},
	{"2.6.32-220.el6", "2.6.32-220.5.1.el6", -1},
	{"3.10.0-1160.el7", "3.10.0-957.el7", 1},
	{"4.18.0-80.el8", "4.18.0-80.el8_0", -1},
	// A NUL ends the string, as in C.
	{"1.0\x00zzz", "1.0", 0},
}

// orderings are the comparisons under test, each reading two strings in its
// scheme, with its cases.
var orderings = []struct {
	name    string
	compare func(a, b string) (int, error)
	cases   []compareCase
}{
	{"CompareRPM", func(a, b string) (int, error) { return CompareRPM(a, b), nil }, rpmCases},
	{"CompareEVR", func(a, b string) (int, error) { return CompareEVR(ParseEVR(a), ParseEVR(b)), nil }, []compareCase{
		{"2.6.32-504.23.4.el6", "2.6.32-573.el6", -1},
		{"2.6.32-642.4.2.el6", "2.6.32-573.el6", 1},
		{"2.6.32", "2.6.32-71.el6", -1},
		{"1:1.0-1", "2.0-1", 1},
		{"0:2.0-1", "2.0-1", 0},
		{"2.6.33", "2.6.32-754.35.1.el6", 1},
		{"3.10.0-123.el7", "3.10.0-1160.119.1.el7", -1},
	}},
	{"CompareDeb", compareDebStrings, []compareCase{
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0~rc1", 1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0", "1.0", 0},
		{"1.0", "1.0-0", 0},
		{"1.0-1", "1.0-2", -1},
		{"1:1.0", "2.0", 1},
		{"0:2.0", "2.0", 0},
		{"1.0a", "1.0", 1},
		{"1.0+dfsg", "1.0", 1},
		{"1.0+dfsg", "1.0a", 1}, // non-letters sort after letters
		{"1.0.0", "1.0", 1},
		{"2.30-1", "2.4-1", 1},
		{"1.0~~", "1.0~~a", -1},
		{"1.0~~a", "1.0~", -1},
		{"1.0~", "1.0", -1},
		{"1.0", "1.0a", -1},
		{"007", "7", 0},
		// Debian kernel package versions and ABIs.
		{"6.1.55-1", "6.1.38-2", 1},
		{"6.1.55-1", "6.1.55-1+deb12u1", -1},
		{"6.1.0-13", "6.1.0-10", 1},
		{"6.1.0-0.deb11.13", "6.1.0-13", -1},
		{"5.10.197-1", "5.10.0-26", 1},
	}},
	{"CompareUpstream", compareUpstreamStrings, []compareCase{
		{"5.2-rc6", "5.2", -1},
		{"5.2", "5.2-rc6", 1},
		{"5.2-rc1", "5.2-rc6", -1},
		// Fedora numbers a release candidate X.Y.0-0.rcN.
		{"6.5.0-0.rc1.20230711git3f01e9fed845.12.fc39.x86_64", "6.5-rc3", -1},
		{"6.5.0-0.rc3.fc39", "6.5-rc3", 0},
		{"6.5.0-1.fc39", "6.5-rc3", 1},
		{"5.2", "5.2.0", 0},
		{"v5.2", "5.2", 0},
		{"4.19.52", "4.19.9", 1},
		{"3.10", "3.9.11", 1},
		{"2.6.32-504.23.4.el6.x86_64", "2.6.32", 0},
		{"2.6.32-504.23.4.el6.x86_64", "2.6.33", -1},
		{"6.1.0-13-amd64", "6.1", 0},
		{"5.1.11", "5.2-rc1", -1},
		{"5.0.13", "5.1-rc1", -1},
		{"3.3.0-rc4", "3.3-rc4", 0},
		{"5.2.0-rc6-00123-gabcdef", "5.2-rc6", 0},
	}},
}

func TestCompare(t *testing.T) {
	for _, o := range orderings {
		t.Run(o.name, func(t *testing.T) {
			for _, c := range o.cases {
				got, err := o.compare(c.a, c.b)
				if err != nil {
					t.Errorf("%s(%q, %q): %v", o.name, c.a, c.b, err)
					continue
				}
				if got != c.want {
					t.Errorf("%s(%q, %q) = %d, want %d", o.name, c.a, c.b, got, c.want)
				}
			}
		})
	}
}

// compareDebStrings parses and compares two Debian version strings.
func compareDebStrings(a, b string) (int, error) {
	return compareParsed(ParseDeb, CompareDeb, a, b)
}

// compareUpstreamStrings parses and compares two upstream version strings.
func compareUpstreamStrings(a, b string) (int, error) {
	return compareParsed(ParseUpstream, CompareUpstream, a, b)
}

func compareParsed[V any](parse func(string) (V, error), compare func(V, V) int, a, b string) (int, error) {
	va, err := parse(a)
	if err != nil {
		return 0, err
	}
	vb, err := parse(b)
	if err != nil {
		return 0, err
	}
	return compare(va, vb), nil
}

func TestRPMKernelEVR(t *testing.T) {
	cases := []struct {
		release string
		want    EVR
	}{
		{"2.6.32-504.23.4.el6.x86_64", EVR{Version: "2.6.32", Release: "504.23.4.el6"}},
		{"2.6.32-642.4.2.el6.x86_64", EVR{Version: "2.6.32", Release: "642.4.2.el6"}},
		{"4.18.0-80.el8.x86_64+debug", EVR{Version: "4.18.0", Release: "80.el8"}},
		{"5.14.0-362.8.1.el9_3.aarch64", EVR{Version: "5.14.0", Release: "362.8.1.el9_3"}},
		{"3.10.0-1160.el7.ppc64le", EVR{Version: "3.10.0", Release: "1160.el7"}},
		{"6.5.6", EVR{Version: "6.5.6"}},
	}
	for _, c := range cases {
		if got := RPMKernelEVR(c.release); got != c.want {
			t.Errorf("RPMKernelEVR(%q) = %+v, want %+v", c.release, got, c.want)
		}
	}
}

func TestParseDebErrors(t *testing.T) {
	for _, s := range []string{"", "  ", "a1.0", "1.0-", ":1.0", "x:1.0", "1.0 2", "1.0-a_b", "1.0_1", "-1"} {
		if v, err := ParseDeb(s); err == nil {
			t.Errorf("ParseDeb(%q) = %+v, want an error", s, v)
		}
	}
	v, err := ParseDeb("2:6.1.55-1+deb12u1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Epoch != 2 || v.Upstream != "6.1.55" || v.Revision != "1+deb12u1" || v.String() != "2:6.1.55-1+deb12u1" {
		t.Errorf("ParseDeb = %+v (%s)", v, v)
	}
	v, err = ParseDeb("1.2-3-4")
	if err != nil || v.Upstream != "1.2-3" || v.Revision != "4" {
		t.Errorf("ParseDeb(1.2-3-4) = %+v, %v; the revision follows the last hyphen", v, err)
	}
}

// TestDebianABI documents how a Debian or Ubuntu kernel release maps to a
// version: the flavour is dropped and the rest is the ABI, which orders with
// dpkg's rules among ABIs but says nothing about the package version.
func TestDebianABI(t *testing.T) {
	cases := []struct {
		release, want string
		ok            bool
	}{
		{"6.1.0-13-amd64", "6.1.0-13", true},
		{"6.1.0-13-cloud-amd64", "6.1.0-13", true},
		{"5.10.0-26-rt-amd64", "5.10.0-26", true},
		{"4.19.0-25-686-pae", "4.19.0-25", true},
		{"6.1.0-0.deb11.13-amd64", "6.1.0-0.deb11.13", true},
		{"5.15.0-91-generic", "5.15.0-91", true},
		{"6.1.0-13", "6.1.0-13", true},
		{"2.6.32-504.23.4.el6.x86_64", "2.6.32-504.23.4.el6.x86_64", true}, // shape fits; deb-abi ranges simply will not contain it
		{"6.5.6", "", false},
		{"amd64-6.1", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := DebianABI(c.release)
		if got != c.want || ok != c.ok {
			t.Errorf("DebianABI(%q) = %q, %v; want %q, %v", c.release, got, ok, c.want, c.ok)
		}
	}
	// The ABI and the package version live in different spaces: the ABI of
	// a 6.1.55-1 package is 6.1.0-13, which dpkg orders below 6.1.55-1.
	abi, _ := DebianABI("6.1.0-13-amd64")
	if c, _ := compareDebStrings(abi, "6.1.55-1"); c != -1 {
		t.Errorf("ABI %s vs package 6.1.55-1 = %d, want -1", abi, c)
	}
}

func TestParseUpstream(t *testing.T) {
	for _, s := range []string{"", "abc", "5", "v", "5.x", "99999999999.1", "5.2-rc0"} {
		if v, err := ParseUpstream(s); err == nil {
			t.Errorf("ParseUpstream(%q) = %v, want an error", s, v)
		}
	}
	if v, _ := ParseUpstream("v4.12-rc3"); v.String() != "4.12-rc3" {
		t.Errorf("ParseUpstream(v4.12-rc3).String() = %q", v.String())
	}
}
