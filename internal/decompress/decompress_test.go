package decompress

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
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

// TestXZDictSize: the dictionary a stream's first block claims is read
// from its header, and a hostile one is refused before it is allocated.
func TestXZDictSize(t *testing.T) {
	var z bytes.Buffer
	w, err := xz.NewWriter(&z)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello\n"))
	w.Close()
	dict, ok := xzDictSize(z.Bytes())
	if !ok || dict != 8<<20 {
		t.Fatalf("dictionary %d, %v; want 8 MiB", dict, ok)
	}
	// Claim 4 GiB: the LZMA2 property byte is the last before the
	// header's padding and CRC32.
	hostile := bytes.Clone(z.Bytes())
	i := 12 + 1 + 1 + 1 + 1 // header size, flags, filter id, props size
	hostile[i] = 40
	if _, err := NewReader(bytes.NewReader(hostile), XZ, "big.xz", 0); err == nil || !strings.Contains(err.Error(), "big.xz: xz: its first block claims a 4294967295-byte dictionary") {
		t.Errorf("4 GiB dictionary: %v", err)
	}
}
