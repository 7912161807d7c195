package hostfacts

import (
	"regexp"
	"sort"
	"strings"

	"github.com/ktriage/ktriage/internal/version"
)

// rpmKernelRE matches the names of RPM packages that hold a kernel image:
// kernel (RHEL 5 to 7; a meta package from RHEL 8 on), kernel-core (the
// image from RHEL 8 on) and the variants (debug, PAE, rt, uek, 64k...).
// kernel-devel, -headers, -modules*, -tools, -firmware, -debuginfo and
// friends hold no image and do not match.
var rpmKernelRE = regexp.MustCompile(`^kernel(-(?:uek|rt|lt|ml))?(-(?:debug|PAE|PAEdebug|xen|64k|64k-debug|zfcpdump|kdump))?(-core)?$`)

// rpmArches are the architectures an NVRA may end in.
var rpmArches = map[string]bool{"noarch": true, "src": true}

func init() {
	for a := range knownArches {
		if a != "unknown" {
			rpmArches[a] = true
		}
	}
}

// parseRPMList parses a list of RPM packages, one a line, the package
// first and anything after blanks or a tab ignored. It takes every form
// sos and rpm write:
//
//	sos 2 (RHEL 6): kernel-2.6.32-504.23.4.el6            Thu 09 Jul 2015 11:36:49 AM EDT   (no arch)
//	sos 3:          kernel-3.10.0-957.el7.x86_64           Mon 21 Jan 2019 ...
//	sos 4:          kernel-core-4.18.0-80.el8.x86_64       Tue 14 May 2019 ...
//	package-data:   kernel-core-4.18.0-80.el8.x86_64<TAB>date<TAB>...
//	rpm -qa --qf '%{NVRA}\n'
//
// It returns the kernel image packages only. arch is the running kernel's
// architecture, used to derive the release when the list has none (sos 2).
// A file in which no line looks like a package is an error.
func parseRPMList(name string, data []byte, arch string) ([]Kernel, error) {
	var out []Kernel
	packages := 0
	for n, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		p, ok := splitNVRA(f[0])
		if !ok {
			if packages == 0 && n > 2 {
				return nil, perr(name, n+1, "not a package list: %q is not NAME-VERSION-RELEASE", clip(f[0]))
			}
			continue
		}
		packages++
		m := rpmKernelRE.FindStringSubmatch(p.name)
		if m == nil {
			continue
		}
		k := Kernel{Package: p.name, Version: p.version + "-" + p.release, Arch: p.arch, Scheme: SchemeRPM, Source: name}
		a := p.arch
		if a == "" {
			a = arch
		}
		if a != "" {
			k.Release = k.Version + "." + a + rpmVariantSuffix(p.release, strings.TrimPrefix(m[2], "-"))
		}
		out = append(out, k)
	}
	if packages == 0 {
		return nil, perr(name, 0, "no NAME-VERSION-RELEASE line: not a package list")
	}
	return dedupeKernels(out), nil
}

// rpmVariantSuffix is what a kernel variant adds to uname -r: ".debug"
// (or ".PAE") up to RHEL 7, "+debug" from RHEL 8 and Fedora 28 on.
func rpmVariantSuffix(release, variant string) string {
	if variant == "" {
		return ""
	}
	for _, d := range []string{".el8", ".el9", ".el10", ".fc"} {
		if strings.Contains(release, d) {
			return "+" + variant
		}
	}
	return "." + variant
}

type nvra struct{ name, version, release, arch string }

// splitNVRA splits NAME-VERSION-RELEASE[.ARCH]; the name may hold dashes,
// version and release may not.
func splitNVRA(s string) (nvra, bool) {
	var p nvra
	if i := strings.LastIndexByte(s, '.'); i > 0 && rpmArches[s[i+1:]] {
		p.arch = s[i+1:]
		s = s[:i]
	}
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return p, false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return p, false
	}
	p.name, p.version, p.release = s[:v], s[v+1:r], s[r+1:]
	if p.version == "" || p.release == "" || !rpmToken(p.version) || !rpmToken(p.release) {
		return p, false
	}
	return p, true
}

func rpmToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("._+~^:", c) >= 0) {
			return false
		}
	}
	return true
}

// debImageRE matches Debian and Ubuntu kernel image package names:
// linux-image-6.1.0-13-amd64, linux-image-6.1.0-13-amd64-unsigned,
// linux-image-unsigned-5.15.0-91-generic. Meta packages
// (linux-image-amd64, linux-image-generic) have no release and do not
// match; debug symbol packages (-dbg, -dbgsym) are dropped after.
var debImageRE = regexp.MustCompile(`^linux-image-(?:unsigned-)?([0-9][a-z0-9.+~-]*?)(-unsigned)?(?::[a-z0-9]+)?$`)

func debKernel(pkg, ver, arch, source string) (Kernel, bool) {
	if strings.HasSuffix(pkg, "-dbg") || strings.HasSuffix(pkg, "-dbgsym") {
		return Kernel{}, false
	}
	m := debImageRE.FindStringSubmatch(pkg)
	if m == nil || !plausibleRelease(m[1]) {
		return Kernel{}, false
	}
	name, _, _ := strings.Cut(pkg, ":")
	return Kernel{Package: name, Version: ver, Release: m[1], Arch: arch, Scheme: SchemeDeb, Source: source}, true
}

// parseDpkgList parses dpkg -l output:
//
//	Desired=Unknown/Install/Remove/Purge/Hold
//	| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend
//	|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)
//	||/ Name              Version      Architecture Description
//	+++-=================-============-============-=========
//	ii  linux-image-6.1.0-13-amd64 6.1.55-1 amd64 Linux 6.1 for 64-bit PCs (signed)
//
// dpkg before 1.16 (Debian 6) prints no Architecture column. Only
// installed packages (status 'i') count: "rc" ones are removed. It
// returns the kernel image packages; output without the "+++-" rule is an
// error.
func parseDpkgList(name string, data []byte) ([]Kernel, error) {
	var out []Kernel
	inBody, archCol := false, false
	for n, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if !inBody {
			if strings.HasPrefix(l, "||/") {
				archCol = strings.Contains(l, "Architecture") || strings.Contains(l, "Arch ")
			}
			if strings.HasPrefix(l, "+++-") {
				inBody = true
			}
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 {
			if len(f) > 0 {
				return nil, perr(name, n+1, "package line %q has no version", clip(l))
			}
			continue
		}
		if len(f[0]) < 2 || f[0][1] != 'i' {
			continue
		}
		arch := ""
		if archCol && len(f) >= 4 {
			arch = f[3]
		}
		if k, ok := debKernel(f[1], f[2], arch, name); ok {
			out = append(out, k)
		}
	}
	if !inBody {
		return nil, perr(name, 0, "no \"+++-\" header rule: not dpkg -l output")
	}
	return dedupeKernels(out), nil
}

// parseDpkgStatus parses /var/lib/dpkg/status (deb822 stanzas) and
// returns the installed kernel image packages ("Status: install ok
// installed"). A stanza without Package is an error naming its line.
func parseDpkgStatus(name string, data []byte) ([]Kernel, error) {
	var out []Kernel
	var pkg, ver, arch, status string
	start := 0
	flush := func(line int) error {
		defer func() { pkg, ver, arch, status = "", "", "", "" }()
		if pkg == "" && ver == "" && status == "" {
			return nil
		}
		if pkg == "" {
			return perr(name, line, "stanza without a Package field")
		}
		if f := strings.Fields(status); len(f) != 3 || f[2] != "installed" {
			return nil
		}
		if k, ok := debKernel(pkg, ver, arch, name); ok {
			out = append(out, k)
		}
		return nil
	}
	lines := strings.Split(string(data), "\n")
	for n, l := range lines {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			if err := flush(start + 1); err != nil {
				return nil, err
			}
			start = n + 1
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue // continuation of a multi-line field
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, perr(name, n+1, "line %q is not \"Field: value\"", clip(l))
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			pkg = v
		case "Version":
			ver = v
		case "Architecture":
			arch = v
		case "Status":
			status = v
		}
	}
	if err := flush(start + 1); err != nil {
		return nil, err
	}
	return dedupeKernels(out), nil
}

// dedupeKernels keeps one package per release (RHEL 8's meta "kernel"
// and its "kernel-core" name the same image; the -core one is kept) and
// sorts them oldest first in their scheme's order.
func dedupeKernels(ks []Kernel) []Kernel {
	var out []Kernel
	at := map[string]int{}
	for _, k := range ks {
		key := k.Release
		if key == "" {
			key = k.Package + " " + k.Version
		}
		if i, ok := at[key]; ok {
			if strings.HasSuffix(k.Package, "-core") {
				out[i] = k
			}
			continue
		}
		at[key] = len(out)
		out = append(out, k)
	}
	sort.SliceStable(out, func(i, j int) bool { return compareKernels(out[i], out[j]) < 0 })
	return out
}

func compareKernels(a, b Kernel) int {
	if a.Scheme == SchemeDeb && b.Scheme == SchemeDeb {
		da, ea := version.ParseDeb(a.Version)
		db, eb := version.ParseDeb(b.Version)
		if ea == nil && eb == nil {
			if c := version.CompareDeb(da, db); c != 0 {
				return c
			}
		}
		return strings.Compare(a.Release, b.Release)
	}
	if c := version.CompareEVR(version.ParseEVR(a.Version), version.ParseEVR(b.Version)); c != 0 {
		return c
	}
	return strings.Compare(a.Package, b.Package)
}
