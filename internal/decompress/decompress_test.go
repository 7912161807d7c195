package decompress

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/ktriage/ktriage/internal/testshared"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{"\x1f\x8b\x08\x00", Gzip},
		{"\xfd7zXZ\x00\x00", XZ},
		{"\x28\xb5\x2f\xfd\x00", Zstd},
		{"BZh91AY&SY\x00", Bzip2},
		{"BZh1\x17\x72\x45\x38\x50\x90", Bzip2},
		{"BZh0\x31\x41\x59\x26\x53\x59", ""},
		{"BZh9 is text", ""},
		{"BZh9", ""},
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

// TestBzip2: a bzip2 stream (and two concatenated, as pbzip2 writes) reads
// as its text, and a truncated or corrupt one fails naming the file.
func TestBzip2(t *testing.T) {
	const text = "[    1.000000] kernel BUG at net/core/skbuff.c:120!\n"
	var z bytes.Buffer
	cmd := exec.Command(testshared.Tool(t, "bzip2"), "-c")
	cmd.Stdin = strings.NewReader(text)
	cmd.Stdout = &z
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	one := z.Bytes()
	corrupt := bytes.Clone(one)
	corrupt[len(corrupt)/2] ^= 0x55
	for _, c := range []struct {
		name string
		data []byte
		want string
		err  string
	}{
		{"one stream", one, text, ""},
		{"two streams", append(bytes.Clone(one), one...), text + text, ""},
		{"truncated", one[:len(one)-5], "", "x.bz2: bzip2"},
		{"corrupt", corrupt, "", "x.bz2: bzip2"},
	} {
		if f := Sniff(c.data); f != Bzip2 {
			t.Fatalf("%s: sniffed %q", c.name, f)
		}
		r, err := NewReader(bytes.NewReader(c.data), Bzip2, "x.bz2", 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if c.err == "" && (err != nil || string(b) != c.want) {
			t.Errorf("%s: %q, %v", c.name, b, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want an error naming the file", c.name, err)
		}
	}
}
