// Package version orders the version strings a kernel release can be
// compared in: RPM's rpmvercmp and epoch:version-release, Debian's dpkg order
// and kernel ABI names, and kernel.org releases with release candidates. It
// only parses and compares; which scheme applies to a crash is the caller's
// business.
package version

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------------------
// RPM

// CompareRPM compares two RPM version (or release) strings exactly as RPM's
// rpmvercmp does: the strings are split into runs of ASCII digits and ASCII
// letters, everything else separates; numeric runs compare by value (leading
// zeros ignored) and are newer than alphabetic runs; '~' sorts before
// anything, even the end of the string; '^' sorts after the end of the
// string but before anything else. It returns -1, 0 or 1. Like the C
// implementation, it stops reading a string at a NUL byte.
func CompareRPM(a, b string) int {
	if i := strings.IndexByte(a, 0); i >= 0 {
		a = a[:i]
	}
	if i := strings.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if a == b {
		return 0
	}
	one, two := 0, 0
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	for one < len(a) || two < len(b) {
		for one < len(a) && !isAlnum(a[one]) && a[one] != '~' && a[one] != '^' {
			one++
		}
		for two < len(b) && !isAlnum(b[two]) && b[two] != '~' && b[two] != '^' {
			two++
		}
		c1, c2 := at(a, one), at(b, two)

		// Tilde sorts before everything else, including the end.
		if c1 == '~' || c2 == '~' {
			if c1 != '~' {
				return 1
			}
			if c2 != '~' {
				return -1
			}
			one++
			two++
			continue
		}
		// Caret: like tilde, except that the end of a string (the base
		// version) sorts before it.
		if c1 == '^' || c2 == '^' {
			if c1 == 0 {
				return -1
			}
			if c2 == 0 {
				return 1
			}
			if c1 != '^' {
				return 1
			}
			if c2 != '^' {
				return -1
			}
			one++
			two++
			continue
		}
		if c1 == 0 || c2 == 0 {
			break
		}

		end1, end2 := one, two
		isnum := isDigit(c1)
		if isnum {
			for end1 < len(a) && isDigit(a[end1]) {
				end1++
			}
			for end2 < len(b) && isDigit(b[end2]) {
				end2++
			}
		} else {
			for end1 < len(a) && isAlpha(a[end1]) {
				end1++
			}
			for end2 < len(b) && isAlpha(b[end2]) {
				end2++
			}
		}
		// The segments are of different types: numeric beats alphabetic.
		if end2 == two {
			if isnum {
				return 1
			}
			return -1
		}
		seg1, seg2 := a[one:end1], b[two:end2]
		if isnum {
			seg1 = strings.TrimLeft(seg1, "0")
			seg2 = strings.TrimLeft(seg2, "0")
			if len(seg1) > len(seg2) {
				return 1
			}
			if len(seg2) > len(seg1) {
				return -1
			}
		}
		if c := strings.Compare(seg1, seg2); c != 0 {
			return c
		}
		one, two = end1, end2
	}
	if one >= len(a) && two >= len(b) {
		return 0
	}
	if one >= len(a) {
		return -1
	}
	return 1
}

// EVR is an RPM epoch:version-release triple.
type EVR struct {
	Epoch   string // digits; empty means 0
	Version string
	Release string // may be empty
}

// String formats the EVR as [epoch:]version[-release].
func (v EVR) String() string {
	s := v.Version
	if v.Epoch != "" {
		s = v.Epoch + ":" + s
	}
	if v.Release != "" {
		s += "-" + v.Release
	}
	return s
}

// ParseEVR splits [epoch:]version[-release]. The epoch is the part before the
// first ':' when that part is all digits; the release is the part after the
// last '-'.
func ParseEVR(s string) EVR {
	var v EVR
	if i := strings.IndexByte(s, ':'); i > 0 && allDigits(s[:i]) {
		v.Epoch, s = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Version, v.Release = s[:i], s[i+1:]
	} else {
		v.Version = s
	}
	return v
}

// CompareEVR orders two EVRs as RPM does: epoch numerically (missing is 0),
// then version and release with CompareRPM. A missing release sorts before
// any release, so 2.6.32 < 2.6.32-71.el6.
func CompareEVR(a, b EVR) int {
	ea := strings.TrimLeft(a.Epoch, "0")
	eb := strings.TrimLeft(b.Epoch, "0")
	if c := cmp.Compare(len(ea), len(eb)); c != 0 {
		return c
	}
	if c := strings.Compare(ea, eb); c != 0 {
		return c
	}
	if c := CompareRPM(a.Version, b.Version); c != 0 {
		return c
	}
	return CompareRPM(a.Release, b.Release)
}

// rpmArches are the architecture suffixes an RPM kernel release can carry.
var rpmArches = []string{"x86_64", "i386", "i486", "i586", "i686", "aarch64",
	"ppc64le", "ppc64", "ppc", "s390x", "s390", "armv7hl", "armv7l", "noarch", "ia64"}

// RPMKernelEVR maps a kernel release as uname -r prints it on an RPM
// distribution to the kernel package's EVR: 2.6.32-504.23.4.el6.x86_64
// becomes version 2.6.32, release 504.23.4.el6. A "+debug"-style variant
// suffix and the architecture are dropped.
func RPMKernelEVR(release string) EVR {
	r := strings.TrimSpace(release)
	if i := strings.LastIndexByte(r, '+'); i > 0 && isWord(r[i+1:]) {
		r = r[:i]
	}
	for _, arch := range rpmArches {
		if strings.HasSuffix(r, "."+arch) {
			r = strings.TrimSuffix(r, "."+arch)
			break
		}
	}
	return ParseEVR(r)
}

// ---------------------------------------------------------------------------
// Debian

// Deb is a parsed Debian version: [epoch:]upstream[-revision].
type Deb struct {
	Epoch    int
	Upstream string
	Revision string
}

// String formats the version as dpkg prints it.
func (v Deb) String() string {
	s := v.Upstream
	// An epoch of 0 is left out unless the upstream part holds a ':', which
	// would then be read back as the epoch's.
	if v.Epoch != 0 || strings.Contains(s, ":") {
		s = strconv.Itoa(v.Epoch) + ":" + s
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// ParseDeb parses a Debian version with dpkg's rules: the epoch is the
// decimal number before the first ':', the revision follows the last '-', the
// upstream part must start with a digit and use only alphanumerics and
// ".+-~:"; the revision only alphanumerics and ".+~".
func ParseDeb(s string) (Deb, error) {
	var v Deb
	s = strings.TrimSpace(s)
	if s == "" {
		return v, errors.New("version string is empty")
	}
	if strings.ContainsAny(s, " \t\n\r") {
		return v, fmt.Errorf("version %q has embedded spaces", s)
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		ep := rest[:i]
		if ep == "" {
			return v, fmt.Errorf("version %q: epoch is empty", s)
		}
		if !allDigits(ep) {
			return v, fmt.Errorf("version %q: epoch is not a number", s)
		}
		n, err := strconv.Atoi(ep)
		if err != nil || n > 1<<31-1 {
			return v, fmt.Errorf("version %q: epoch is too big", s)
		}
		v.Epoch = n
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.Revision = rest[i+1:]
		if v.Revision == "" {
			return v, fmt.Errorf("version %q: revision is empty", s)
		}
		rest = rest[:i]
	}
	v.Upstream = rest
	if v.Upstream == "" {
		return v, fmt.Errorf("version %q: upstream version is empty", s)
	}
	if !isDigit(v.Upstream[0]) {
		return v, fmt.Errorf("version %q: upstream version does not start with a digit", s)
	}
	for i := 0; i < len(v.Upstream); i++ {
		c := v.Upstream[i]
		if !isAlnum(c) && !strings.ContainsRune(".-+~:", rune(c)) {
			return v, fmt.Errorf("version %q: invalid character %q in upstream version", s, c)
		}
	}
	for i := 0; i < len(v.Revision); i++ {
		c := v.Revision[i]
		if !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return v, fmt.Errorf("version %q: invalid character %q in revision", s, c)
		}
	}
	return v, nil
}

// debOrder is dpkg's character weight: digits 0 (never compared here),
// letters their ASCII value, '~' before everything, the end of the string 0,
// anything else after all letters.
func debOrder(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case isAlpha(byte(c)) && c < 128:
		return c
	case c == '~':
		return -1
	case c != 0:
		return c + 256
	default:
		return 0
	}
}

// verrevcmp is dpkg's comparison of one upstream or revision string.
func verrevcmp(a, b string) int {
	at := func(s string, i int) int {
		if i < len(s) {
			return int(s[i])
		}
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(at(a, i)), debOrder(at(b, j))
			if ac != bc {
				return cmp.Compare(ac, bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return cmp.Compare(firstDiff, 0)
		}
	}
	return 0
}

// CompareDeb orders two parsed Debian versions as dpkg does: epoch,
// then upstream, then revision. It returns -1, 0 or 1.
func CompareDeb(a, b Deb) int {
	if c := cmp.Compare(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	if c := verrevcmp(a.Upstream, b.Upstream); c != 0 {
		return c
	}
	return verrevcmp(a.Revision, b.Revision)
}

// DebianABI maps a Debian or Ubuntu kernel release to its ABI version by
// dropping the flavour: 6.1.0-13-amd64 → 6.1.0-13, 6.1.0-13-cloud-amd64 →
// 6.1.0-13, 5.15.0-91-generic → 5.15.0-91, 6.1.0-0.deb11.13-amd64 →
// 6.1.0-0.deb11.13. The ABI is what the release string carries; the package
// version (6.1.55-1) is not derivable from it, so a range over package
// versions needs the package version the kernel prints beside it. It reports false when the release does not have the version-abi[-flavour]
// shape.
func DebianABI(release string) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(release), "-", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", false
	}
	if !isDigit(parts[0][0]) || !isDigit(parts[1][0]) {
		return "", false
	}
	for _, c := range []byte(parts[0]) {
		if !isDigit(c) && c != '.' {
			return "", false
		}
	}
	return parts[0] + "-" + parts[1], true
}

// ---------------------------------------------------------------------------
// Upstream

// Upstream is a kernel.org version: dotted numbers and an optional
// release-candidate number (RC 0 means a final release).
type Upstream struct {
	Nums []int
	RC   int
}

// String formats the version as v.w.x[-rcN].
func (v Upstream) String() string {
	var b strings.Builder
	for i, n := range v.Nums {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if v.RC > 0 {
		fmt.Fprintf(&b, "-rc%d", v.RC)
	}
	return b.String()
}

// ParseUpstream reads the leading kernel.org version of a string: an optional
// "v", two or more dot-separated numbers, and an optional "-rcN". Anything
// after that (a distribution suffix like -504.el6.x86_64 or -13-amd64, a
// local version, git-describe noise) is ignored.
func ParseUpstream(s string) (Upstream, error) {
	var v Upstream
	orig := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	for {
		i := 0
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 0 {
			break
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || i > 9 {
			return v, fmt.Errorf("upstream version %q: number %q out of range", orig, s[:i])
		}
		v.Nums = append(v.Nums, n)
		s = s[i:]
		if len(s) > 1 && s[0] == '.' && isDigit(s[1]) {
			s = s[1:]
			continue
		}
		break
	}
	if len(v.Nums) < 2 {
		return v, fmt.Errorf("upstream version %q: want at least major.minor", orig)
	}
	if strings.HasPrefix(s, "-0.rc") && len(v.Nums) == 3 && v.Nums[2] == 0 {
		// Fedora and RHEL number a release candidate X.Y.0-0.rcN
		// (6.5.0-0.rc1.20230711git3f01e9fed845.12.fc39): it is X.Y-rcN.
		s = "-" + s[3:]
	}
	if strings.HasPrefix(s, "-rc") {
		i := 3
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i > 3 {
			n, err := strconv.Atoi(s[3:i])
			if err != nil || i-3 > 9 {
				return v, fmt.Errorf("upstream version %q: rc number out of range", orig)
			}
			if n == 0 {
				return v, fmt.Errorf("upstream version %q: rc0 is not a release candidate", orig)
			}
			v.RC = n
		}
	}
	return v, nil
}

// CompareUpstream orders two upstream versions: numbers left to right
// (a missing number is 0, so 5.2 == 5.2.0), then a release candidate before
// its final release (5.2-rc6 < 5.2), then rc numbers.
func CompareUpstream(a, b Upstream) int {
	n := max(len(a.Nums), len(b.Nums))
	for i := range n {
		x, y := 0, 0
		if i < len(a.Nums) {
			x = a.Nums[i]
		}
		if i < len(b.Nums) {
			y = b.Nums[i]
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	// A final release (RC 0) sorts after every release candidate.
	switch {
	case a.RC == b.RC:
		return 0
	case a.RC == 0:
		return 1
	case b.RC == 0:
		return -1
	}
	return cmp.Compare(a.RC, b.RC)
}

// ---------------------------------------------------------------------------
// helpers

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}
