package fixindex

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseMessage: any message parses without panicking, within the
// bounds, and keeps the hash it was given.
func FuzzParseMessage(f *testing.F) {
	for _, fx := range readFixtures(f) {
		f.Add([]byte(fx.msg))
	}
	f.Add([]byte("x\n\nFixes: 0123456789ab (\"y\")\nReported-by: syzbot+00@z\n"))
	f.Add([]byte("\xff\xfe\n\nBUG: KASAN: \xff in f\xff+0x1/0x2\nCall Trace:\n ? a+0x1/0x2\n b() (c.c:1)\n d e.c:1 [inline]\n"))
	hash := strings.Repeat("a", 40)
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, _ := parseMessage(hash, msg)
		if c.Hash != hash {
			t.Fatalf("hash %q", c.Hash)
		}
		if len(c.Subject) > maxSubject || len(c.Headers) > maxHeaders || len(c.Titles) > maxTitles ||
			len(c.Functions) > maxFuncs || len(c.Guilty) > maxFuncs || len(c.Fixes) > maxFixes {
			t.Fatalf("bounds exceeded: %d %d %d %d %d", len(c.Subject), len(c.Headers), len(c.Titles), len(c.Functions), len(c.Fixes))
		}
		for _, h := range c.Headers {
			if len(h) > maxHeader {
				t.Fatalf("header of %d bytes", len(h))
			}
		}
		if utf8.Valid(msg) && !utf8.ValidString(c.Subject) {
			t.Fatalf("subject %q cut inside a rune", c.Subject)
		}
		if len(msg) > maxMessage+maxMessage/2 && !c.Truncated {
			t.Fatalf("a %d-byte message not marked truncated", len(msg))
		}
	})
}
