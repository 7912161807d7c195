package decompress

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{"\x1f\x8b\x08\x00", Gzip},
		{"\xfd7zXZ\x00\x00", XZ},
		{"\x28\xb5\x2f\xfd\x00", Zstd},
		{"\x1f", ""},
		{"[    0.000000] Linux version", ""},
		{"", ""},
	} {
		if got := Sniff([]byte(c.head)); got != c.want {
			t.Errorf("Sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

// TestLimit: a stream of exactly the limit is read whole; one byte more is
// refused, naming the file.
func TestLimit(t *testing.T) {
	for _, c := range []struct {
		size, limit int
		tooLarge    bool
	}{
		{100, 100, false},
		{101, 100, true},
		{0, 1, false},
	} {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(make([]byte, c.size))
		w.Close()
		r, err := NewReader(&z, Gzip, "x.gz", int64(c.limit))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if errors.Is(err, ErrTooLarge) != c.tooLarge || !c.tooLarge && (err != nil || len(b) != c.size) {
			t.Errorf("%d bytes, limit %d: read %d, %v", c.size, c.limit, len(b), err)
		}
		if c.tooLarge && !bytes.HasPrefix([]byte(err.Error()), []byte("x.gz: ")) {
			t.Errorf("error %q does not name the file", err)
		}
	}
}
