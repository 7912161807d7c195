package oops

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/oops/internal/bigrams"
)

// TestPrefilterCoversFormats: every format's own token passes the
// prefilter, so no header can be skipped by it.
func TestPrefilterCoversFormats(t *testing.T) {
	loadTables()
	for _, f := range formats {
		if !hasToken(headerTokens, []byte("[ 1.0] x "+f.token+" y")) {
			t.Errorf("token %q is not found by the prefilter", f.token)
		}
	}
	for _, l := range []string{"usb 1-1: new high-speed USB device number 2", "EXT4-fs (sda1): mounted filesystem", "", "a"} {
		if hasToken(headerTokens, []byte(l)) {
			t.Errorf("%q passes the prefilter", l)
		}
	}
}

func BenchmarkPrefilter(b *testing.B) {
	loadTables()
	line := []byte("[    1.234567] virtio_net virtio1 enp0s2: renamed from eth0 and some more text here")
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		hasToken(headerTokens, line)
	}
}

// TestStridedContains: the strided contains agrees with the full scan for
// every token at every offset and for lines that hold none.
func TestStridedContains(t *testing.T) {
	loadTables()
	if headerTokens.strided == nil {
		t.Fatal("no strided index")
	}
	toks := append([]string{}, extraTokens...)
	for _, f := range formats {
		toks = append(toks, f.token)
	}
	for _, tok := range toks {
		for pre := 0; pre < 2*tokStride+1; pre++ {
			for post := 0; post < 2*tokStride+1; post++ {
				line := []byte(strings.Repeat("x", pre) + tok + strings.Repeat(" ", post))
				if got, want := hasToken(headerTokens, line), findTokens(headerTokens, line, nil); got != want || !got {
					t.Errorf("contains(%q) = %v, find %v", line, got, want)
				}
				if len(tok) > 1 {
					cut := line[:len(line)-post-1]
					if got, want := hasToken(headerTokens, cut), findTokens(headerTokens, cut, nil); got != want {
						t.Errorf("contains(%q) = %v, find %v", cut, got, want)
					}
				}
			}
		}
	}
}

// TestBigramsGenerated: bigrams_gen.go is what `go generate` writes from
// the shared corpus today.
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
