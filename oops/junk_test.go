package oops

import (
	"bytes"
	"testing"
)

// TestMayHoldJunk: the eight-bytes-at-a-time test misses no junk byte, in
// any position of a line, and passes printable ASCII.
func TestMayHoldJunk(t *testing.T) {
	base := []byte("[  1.000000] kernel BUG at x.c:1!")
	if mayHoldJunk(base) {
		t.Fatalf("%q taken for junk", base)
	}
	for c := range 256 {
		for i := range base {
			b := bytes.Clone(base)
			b[i] = byte(c)
			if isJunk(byte(c)) && !mayHoldJunk(b) {
				t.Fatalf("byte %#x at %d missed", c, i)
			}
		}
	}
}

// TestNormalizeLineDropsJunk: control bytes, DEL and bytes never valid in
// UTF-8 go before any matching; tabs, colour escapes' text and UTF-8 stay.
func TestNormalizeLineDropsJunk(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"[  1.000000] \x00kernel BUG at net/core/skbuff.c:1886!", "kernel BUG at net/core/skbuff.c:1886!"},
		{" #8 [ffff880061a03568] dev_hard_\xffstart_xmit at ffffffff81461f8d", "#8 [ffff880061a03568] dev_hard_start_xmit at ffffffff81461f8d"},
		{"<4>[  1.000000] \x1b[31mWARNING\x1b[0m: CPU: 0\r\x7f", "WARNING: CPU: 0"},
		{"[  1.000000] \tskb_put+0x5c/0x70 — ok", "\tskb_put+0x5c/0x70 — ok"},
		{"\x00\x00\x00", ""},
	} {
		if got := NormalizeLine([]byte(c.raw)).Text; got != c.want {
			t.Errorf("NormalizeLine(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}
