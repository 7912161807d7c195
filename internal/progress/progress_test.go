package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// TestQuietThenShown: nothing is printed in the first second; after it the
// count and the total are.
func TestQuietThenShown(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := NewReader(strings.NewReader(strings.Repeat("x", 4<<20)), &out, "big.log", 4<<20)
	p.nowFunc = func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock }
	buf := make([]byte, 1<<20)
	p.Read(buf)
	if out.Len() != 0 {
		t.Fatalf("printed before a second: %q", out.String())
	}
	for {
		if _, err := p.Read(buf); err == io.EOF {
			break
		}
		clock = clock.Add(time.Second)
	}
	if !strings.Contains(out.String(), "reading big.log: 4 / 4 MB (100%)") || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("output %q", out.String())
	}
}
