// Package testshared finds the project's shared test assets (../shared, or
// $KTRIAGE_SHARED) for tests, and decides what their absence means: a skip
// naming the missing path on a user's clone, a failure under CI=true.
package testshared

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the shared assets directory: $KTRIAGE_SHARED, or ../shared
// beside the repository root.
func Dir() string {
	if d := os.Getenv("KTRIAGE_SHARED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/testshared/testshared.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
}

// Path returns the shared asset rel, skipping the test when it is absent
// (failing it under CI, where the assets must be present).
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(), rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test asset missing: %s (%v)", p, err)
		}
		t.Skipf("shared test asset missing: %s (set KTRIAGE_SHARED)", p)
	}
	return p
}

// Require stops a test that needs something the test command provides (a tool
// that `make testdeps` installs, root for a network namespace): on a user's
// clone the test is skipped with the reason, under CI=true it fails, since
// there the test command must have provided it.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing under CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Tool returns the path of the executable name that the test command
// installs, stopping the test as Require does when it is not on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, "needs %s on PATH (make testdeps installs it): %v", name, err)
	return p
}

// Seed is the founding case, relative to Dir: the RHEL 6 ticket with its
// crash(8) session that every layer's tests hold to.
const Seed = "seed/000_3286c7f043f8c294.txt"
