package oops

import (
	"strings"
	"testing"
)

// TestPrefilterCoversFormats: every format's own token passes the
// prefilter, so no header can be skipped by it.
func TestPrefilterCoversFormats(t *testing.T) {
	loadTables()
	for _, f := range formats {
		if !headerTokens.contains([]byte("[ 1.0] x " + f.token + " y")) {
			t.Errorf("token %q is not found by the prefilter", f.token)
		}
	}
	for _, l := range []string{"usb 1-1: new high-speed USB device number 2", "EXT4-fs (sda1): mounted filesystem", "", "a"} {
		if headerTokens.contains([]byte(l)) {
			t.Errorf("%q passes the prefilter", l)
		}
	}
}

func BenchmarkPrefilter(b *testing.B) {
	loadTables()
	line := []byte("[    1.234567] virtio_net virtio1 enp0s2: renamed from eth0 and some more text here")
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		headerTokens.contains(line)
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
				if got, want := headerTokens.contains(line), headerTokens.find(line, nil); got != want || !got {
					t.Errorf("contains(%q) = %v, find %v", line, got, want)
				}
				if len(tok) > 1 {
					cut := line[:len(line)-post-1]
					if got, want := headerTokens.contains(cut), headerTokens.find(cut, nil); got != want {
						t.Errorf("contains(%q) = %v, find %v", cut, got, want)
					}
				}
			}
		}
	}
}
