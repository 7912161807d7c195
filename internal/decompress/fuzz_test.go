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
	// bzip2 of "hello\n", made by the bzip2 program (Go has no writer).
	bz := []byte("BZh91AY&SY\xc1\xc0\x80\xe2\x00\x00\x01A\x00\x00\x10\x02D\xa0\x000\xcd\x00\xc3F)\x97\x17rE8P\x90\xc1\xc0\x80\xe2")
	for _, seed := range [][]byte{gz.Bytes(), xzb.Bytes(), zs.Bytes(), bz, []byte(text), nil} {
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
