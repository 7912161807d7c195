package kb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/internal/version"
)

// The version schemes a release range can be written in (Range.Scheme).
const (
	// schemeUpstream orders kernel.org versions: 2.6.32 < 3.10 < 5.2-rc6 < 5.2 < 5.2.1.
	// Distribution suffixes after the numeric part are ignored.
	schemeUpstream = "upstream"
	// schemeRPM orders RPM epoch:version-release values with rpmvercmp. A kernel
	// release such as 2.6.32-504.23.4.el6.x86_64 is read as version 2.6.32,
	// release 504.23.4.el6 (the architecture suffix is dropped).
	schemeRPM = "rpm"
	// schemeDeb orders Debian package versions (6.1.55-1, 1:2.3~rc1-2) with
	// dpkg's algorithm. It is compared against Crash.PackageVersion, the
	// package version Debian and Ubuntu kernels print after the release
	// ("6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1").
	schemeDeb = "deb"
	// schemeDebABI orders Debian/Ubuntu kernel ABI strings (6.1.0-13,
	// 5.15.0-91) with dpkg's algorithm. A kernel release 6.1.0-13-amd64 is
	// mapped to 6.1.0-13 by dropping the flavour (see version.DebianABI).
	schemeDebABI = "deb-abi"
)

// schemes lists the version schemes a Range may use.
var schemes = []string{schemeUpstream, schemeRPM, schemeDeb, schemeDebABI}

// schemeVersion is a value comparable within one scheme.
type schemeVersion struct {
	scheme string
	up     version.Upstream
	evr    version.EVR
	deb    version.Deb
}

func compareSchemeVersions(a, b schemeVersion) int {
	switch a.scheme {
	case schemeUpstream:
		return version.CompareUpstream(a.up, b.up)
	case schemeRPM:
		return version.CompareEVR(a.evr, b.evr)
	default:
		return version.CompareDeb(a.deb, b.deb)
	}
}

// parseBound parses a range bound written in scheme.
func parseBound(scheme, s string) (schemeVersion, error) {
	sv := schemeVersion{scheme: scheme}
	var err error
	switch scheme {
	case schemeUpstream:
		sv.up, err = version.ParseUpstream(s)
	case schemeRPM:
		if strings.TrimSpace(s) == "" {
			return sv, errors.New("rpm version is empty")
		}
		sv.evr = version.ParseEVR(s)
	case schemeDeb, schemeDebABI:
		sv.deb, err = version.ParseDeb(s)
	default:
		err = fmt.Errorf("unknown version scheme %q (want one of %s)", scheme, strings.Join(schemes, ", "))
	}
	return sv, err
}

// crashVersion derives the crash's version in scheme, and the text it was
// derived from. It reports false when the crash carries nothing comparable.
func crashVersion(scheme string, c *Crash) (schemeVersion, string, bool) {
	sv := schemeVersion{scheme: scheme}
	var err error
	switch scheme {
	case schemeUpstream:
		if c.Release == "" {
			return sv, "", false
		}
		sv.up, err = version.ParseUpstream(c.Release)
		return sv, c.Release, err == nil
	case schemeRPM:
		if c.Release == "" {
			return sv, "", false
		}
		sv.evr = version.RPMKernelEVR(c.Release)
		return sv, c.Release, true
	case schemeDeb:
		if c.PackageVersion == "" {
			return sv, "", false
		}
		sv.deb, err = version.ParseDeb(c.PackageVersion)
		return sv, "package " + c.PackageVersion, err == nil
	case schemeDebABI:
		abi, ok := version.DebianABI(c.Release)
		if !ok {
			return sv, "", false
		}
		sv.deb, err = version.ParseDeb(abi)
		return sv, c.Release, err == nil
	}
	return sv, "", false
}
