package refdebug

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
)

// DumpBuildID returns the BUILD-ID the dump's VMCOREINFO records: the
// build-id of the kernel that wrote it.
func DumpBuildID(path string) (string, error) {
	d, err := dump.Open(path)
	if err != nil {
		return "", err
	}
	defer d.Close()
	info, err := dump.ParseVMCOREINFO(d.VMCOREINFO())
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	id := info["BUILD-ID"]
	if id == "" {
		return "", fmt.Errorf("%s: VMCOREINFO has no BUILD-ID", path)
	}
	return id, nil
}

// SetBuild is the build that made a generated vmcore set: its kernel
// release and package version, as its manifest names them.
func SetBuild(s *vmcores.Set) Build {
	return Build{Release: s.Kernel, Package: s.KernelPackageVersion}
}

// Vmlinux returns the debug vmlinux of the build that made dump e of set s,
// for a test. When it is not at hand the test is skipped naming what is
// missing and how to fetch it (failed under CI=true, where `make dbg` must
// have fetched it); when its build-id is not the dump's the test fails,
// since every comparison against it would be wrong.
func Vmlinux(t testing.TB, s *vmcores.Set, e vmcores.Entry) string {
	t.Helper()
	b := SetBuild(s)
	p, err := Locate(b)
	testshared.Require(t, err == nil, "%v", err)
	want, err := DumpBuildID(e.Path)
	if err != nil {
		t.Fatalf("dump %s: %v", e.Name, err)
	}
	got, err := BuildID(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, want) && !strings.HasPrefix(want, got) {
		t.Fatalf("%s has build-id %s but dump %s was written by BUILD-ID=%s: not the kernel of %s", p, got, e.Path, want, b)
	}
	return p
}
