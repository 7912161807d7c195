package hostfacts

import (
	"strings"
)

// knownArches are the machine names uname -m prints on the platforms
// kernels are diagnosed for; uname -a ends with machine, processor and
// hardware platform (each left out when "unknown") and the OS name.
var knownArches = map[string]bool{
	"x86_64": true, "i386": true, "i486": true, "i586": true, "i686": true, "athlon": true,
	"aarch64": true, "arm64": true, "armv7l": true, "armv6l": true,
	"ppc64": true, "ppc64le": true, "ppc": true, "s390x": true, "s390": true,
	"riscv64": true, "mips64": true, "loongarch64": true, "ia64": true, "unknown": true,
}

// parseUname parses one uname -a line:
//
//	Linux hosta 2.6.32-504.23.4.el6.x86_64 #1 SMP Fri May 29 10:16:43 EDT 2015 x86_64 x86_64 x86_64 GNU/Linux
//	Linux vm 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 x86_64 GNU/Linux
//
// The version (uname -v) has blanks in it, so the fields after it are
// found from the end.
func parseUname(name string, data []byte) (Uname, error) {
	line := firstLine(data)
	f := strings.Fields(line)
	if len(f) < 3 {
		return Uname{}, perr(name, 1, "not uname -a output: want \"SYSNAME NODENAME RELEASE ...\", got %q", clip(line))
	}
	u := Uname{Line: line, Nodename: f[1], Release: f[2], Source: name}
	rest := f[3:]
	if n := len(rest); n > 0 && (rest[n-1] == "GNU/Linux" || rest[n-1] == "Linux") {
		rest = rest[:n-1]
	}
	// Up to three trailing arch-like words: machine, processor, platform.
	i := len(rest)
	for i > 0 && len(rest)-i < 3 && knownArches[rest[i-1]] {
		i--
	}
	if i < len(rest) && rest[i] != "unknown" {
		u.Arch = rest[i]
	}
	u.Version = strings.Join(rest[:i], " ")
	if !plausibleRelease(u.Release) {
		return Uname{}, perr(name, 1, "not uname -a output: release %q does not start with a version number", clip(u.Release))
	}
	return u, nil
}

// parseProcVersion parses /proc/version ("Linux version RELEASE (builder)
// (compiler) VERSION"): only the release is certain; the architecture is
// taken from an RPM-style release suffix when there is one.
func parseProcVersion(name string, data []byte) (Uname, error) {
	line := firstLine(data)
	f := strings.Fields(line)
	if len(f) < 3 || f[1] != "version" || !plausibleRelease(f[2]) {
		return Uname{}, perr(name, 1, "not /proc/version: want \"Linux version RELEASE ...\", got %q", clip(line))
	}
	u := Uname{Line: line, Release: f[2], Arch: releaseArch(f[2]), Source: name}
	if i := strings.Index(line, " #"); i >= 0 {
		u.Version = strings.TrimSpace(line[i+1:])
	}
	return u, nil
}

// parseOsrelease parses /proc/sys/kernel/osrelease: the release alone.
func parseOsrelease(name string, data []byte) (Uname, error) {
	r := firstLine(data)
	if strings.ContainsAny(r, " \t") || !plausibleRelease(r) {
		return Uname{}, perr(name, 1, "not a kernel release: %q", clip(r))
	}
	return Uname{Line: r, Release: r, Arch: releaseArch(r), Source: name}, nil
}

// maxRelease is the longest release uname can print: utsname's fields
// are 65 bytes with the NUL (__NEW_UTS_LEN).
const maxRelease = 64

// plausibleRelease reports whether s looks like a kernel release: a
// digit, then no blanks or control characters, at most maxRelease bytes.
func plausibleRelease(s string) bool {
	if s == "" || len(s) > maxRelease || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// releaseArch is the architecture an RPM-built kernel release names
// (2.6.32-504.el6.x86_64, 4.18.0-80.el8.x86_64+debug,
// 3.10.0-957.el7.x86_64.debug); "" for other releases.
func releaseArch(r string) string {
	r, _, _ = strings.Cut(r, "+")
	parts := strings.Split(r, ".")
	for i := len(parts) - 1; i >= 1 && i >= len(parts)-2; i-- {
		if knownArches[parts[i]] && parts[i] != "unknown" {
			return parts[i]
		}
	}
	return ""
}

// firstLine is data's first non-blank line, trimmed.
func firstLine(data []byte) string {
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
