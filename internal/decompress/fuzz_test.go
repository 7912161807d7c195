package decompress

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// FuzzReader: any bytes, sniffed and read through their decompressor under
// a small limit, give data or an error, never a panic, and never more than
// the limit.
func FuzzReader(f *testing.F) {
	const text = "[    0.000000] Linux version 6.1.0\n[    1.000000] kernel BUG at net/core/skbuff.c:120!\n"
	var gz, xzb, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte(text))
	gw.Close()
	if xw, err := xz.NewWriter(&xzb); err == nil {
		xw.Write([]byte(text))
		xw.Close()
	}
	if zw, err := zstd.NewWriter(&zs); err == nil {
		zw.Write([]byte(text))
		zw.Close()
	}
	for _, seed := range [][]byte{gz.Bytes(), xzb.Bytes(), zs.Bytes(), []byte(text), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		format := Sniff(data)
		if format == "" {
			return
		}
		r, err := NewReader(bytes.NewReader(data), format, "fuzz", limit)
		if err != nil {
			return
		}
		defer r.Close()
		// Whatever its headers claim, a stream gives at most the limit.
		n, err := io.Copy(io.Discard, r)
		if n > limit {
			t.Fatalf("%s: read %d bytes with the limit %d: %v", format, n, limit, err)
		}
	})
}
