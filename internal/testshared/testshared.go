// Package testshared finds the project's shared test assets (../shared, or
// $KTRIAGE_SHARED) for tests, and decides what their absence means: a skip
// naming the missing path on a user's clone, a failure under CI=true.
package testshared

import (
	"os"
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
