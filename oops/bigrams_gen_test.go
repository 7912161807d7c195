package oops_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/oops/internal/bigrams"
)

// TestBigramsGenerated: bigrams_gen.go is what `go generate` writes from
// the shared corpus today. (An external test: the generator reads the log
// through oops.NormalizeLine.)
func TestBigramsGenerated(t *testing.T) {
	shared := testshared.Path(t, "corpora")
	want, err := bigrams.Source(filepath.Dir(shared))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("bigrams_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("bigrams_gen.go is stale: run go generate ./oops")
	}
}
