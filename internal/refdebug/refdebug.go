// Package refdebug runs the reference debuggers that ktriage's vmcore reader
// is held to: crash(8) and drgn, each given the exact debug vmlinux (DWARF) of
// the kernel that made a dump. It finds that vmlinux in the cache that
// tools/fetch-dbg.sh fills, runs crash non-interactively with all the
// commands of a test in one session (crash takes seconds to start), parses
// what it prints into typed values with the project's crashlog parsers, and
// lists tasks with a small drgn script.
//
// It is test plumbing: tests of the commands that read dumps compare their
// answers with these. What Debian 12's references can read: crash 8.0.2
// opens every dump of the 6.1 set and none of the 6.12 set ("vmlinux and
// dump do not match": it predates 6.12); drgn 0.0.22 reads kdump-compressed
// dumps (libkdumpfile) and ELF, but neither flattened streams nor QEMU's
// paging=false ELF. On the 6.1 dumps crash 8.0.2 finds only the tasks
// active on a CPU ("not found in PID hash", TASKS: 3) where drgn lists 53:
// take the task list from drgn.
package refdebug

import (
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Build names one kernel build: what `uname -r` says and the Debian package
// version that shipped it. The release alone does not name a build: Debian
// rebuilds a release (6.1.0-57-cloud-amd64) under several package versions.
type Build struct {
	// Release is the kernel release, "6.1.0-57-cloud-amd64".
	Release string
	// Package is the Debian package version, "6.1.192-3".
	Package string
}

func (b Build) String() string { return b.Release + " (" + b.Package + ")" }

// EnvVmlinux names a debug vmlinux to use instead of the cache's, for a
// user who has one elsewhere; EnvCache overrides the cache directory.
const (
	EnvVmlinux = "KTRIAGE_DBG_VMLINUX"
	EnvCache   = "KTRIAGE_DBG_CACHE"
)

// CacheDir is where tools/fetch-dbg.sh keeps debug vmlinux files:
// $KTRIAGE_DBG_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/ktriage/dbg. It
// lies outside the clone so that a fresh clone on the same machine reuses
// the ~600 MB files.
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "ktriage", "dbg")
}

// CachedPath is where tools/fetch-dbg.sh puts the vmlinux of b under dir:
// dir/RELEASE_PACKAGE/vmlinux-RELEASE (a ':' of an epoch written %3a).
func CachedPath(dir string, b Build) string {
	return filepath.Join(dir, b.Release+"_"+strings.ReplaceAll(b.Package, ":", "%3a"), "vmlinux-"+b.Release)
}

// MissingError says the debug vmlinux of a build is not at hand, and how to
// get it.
type MissingError struct {
	Build Build
	// Path is where it was looked for.
	Path string
	Err  error
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("debug vmlinux of %s missing at %s (%v): run `make dbg` or tools/fetch-dbg.sh %s %s, or set %s",
		e.Build, e.Path, e.Err, e.Build.Release, e.Build.Package, EnvVmlinux)
}

func (e *MissingError) Unwrap() error { return e.Err }

// Locate returns the debug vmlinux of b: $KTRIAGE_DBG_VMLINUX when set,
// else the cache's. It checks only that the file exists; BuildID tells
// whether it is the right build.
func Locate(b Build) (string, error) {
	p := os.Getenv(EnvVmlinux)
	if p == "" {
		if b.Release == "" || b.Package == "" {
			return "", fmt.Errorf("refdebug: incomplete build %q: release and package version are both needed", b)
		}
		p = CachedPath(CacheDir(), b)
	}
	if _, err := os.Stat(p); err != nil {
		return "", &MissingError{Build: b, Path: p, Err: err}
	}
	return p, nil
}

// BuildID returns the GNU build-id note of an ELF file in hex, as
// VMCOREINFO's BUILD-ID writes it.
func BuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("build-id of %s: %w", path, err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		// A note section is small (tens of bytes to a few KiB); refuse a
		// corrupt header's claim of more rather than allocate it.
		if s.Size > 1<<20 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return "", fmt.Errorf("build-id of %s: section %s: %w", path, s.Name, err)
		}
		if id, ok := gnuBuildID(data, f.ByteOrder); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("build-id of %s: no GNU build-id note", path)
}

// gnuBuildID walks ELF notes (namesz, descsz, type, name, desc, each padded
// to 4 bytes) for NT_GNU_BUILD_ID (3) of owner "GNU".
func gnuBuildID(data []byte, bo interface{ Uint32([]byte) uint32 }) (string, bool) {
	for len(data) >= 12 {
		namesz, descsz, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		data = data[12:]
		n, d := align4(uint64(namesz)), align4(uint64(descsz))
		if n+d > uint64(len(data)) {
			return "", false
		}
		name := strings.TrimRight(string(data[:namesz]), "\x00")
		if typ == 3 && name == "GNU" {
			return hex.EncodeToString(data[n : n+uint64(descsz)]), true
		}
		data = data[n+d:]
	}
	return "", false
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// manifestFile is the part of the vmcore generator's manifest.json that
// names builds. kernel_package_version is the newer name of kernel_package;
// an entry may carry its own when one manifest holds dumps of several
// kernels.
type manifestFile struct {
	Kernel        string `json:"kernel"`
	KernelPackage string `json:"kernel_package"`
	KernelPkgVer  string `json:"kernel_package_version"`
	Entries       []struct {
		Name         string `json:"name"`
		Path         string `json:"path"`
		Kernel       string `json:"kernel"`
		KernelPkgVer string `json:"kernel_package_version"`
	} `json:"entries"`
}

// ManifestEntry is a dump of a generated vmcore set with the build that
// made it.
type ManifestEntry struct {
	Name string
	// Path is the dump, absolute.
	Path  string
	Build Build
}

// ReadManifest returns the dumps of the vmcore set in dir (its
// manifest.json, as tools/gen-vmcores.sh writes it) with each one's build:
// the entry's own kernel and kernel_package_version when it has them, else
// the manifest's.
func ReadManifest(dir string) ([]ManifestEntry, error) {
	p := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("vmcore manifest: %w", err)
	}
	var m manifestFile
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("vmcore manifest %s: %w", p, err)
	}
	top := Build{Release: m.Kernel, Package: m.KernelPkgVer}
	if top.Package == "" {
		top.Package = m.KernelPackage
	}
	var out []ManifestEntry
	for _, e := range m.Entries {
		b := top
		if e.Kernel != "" {
			b.Release = e.Kernel
		}
		if e.KernelPkgVer != "" {
			b.Package = e.KernelPkgVer
		}
		if b.Release == "" || b.Package == "" {
			return nil, fmt.Errorf("vmcore manifest %s: entry %q: no kernel release or package version", p, e.Name)
		}
		path := e.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		out = append(out, ManifestEntry{Name: e.Name, Path: path, Build: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("vmcore manifest %s: no entries", p)
	}
	return out, nil
}
