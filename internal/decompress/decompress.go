// Package decompress reads a compressed input file (gzip, xz, zstd, bzip2) as the
// stream it holds, the compression chosen by the file's first bytes rather
// than its name, and bounds how much it may give: a log rotated by logrotate
// or kept by kdump as vmcore-dmesg.txt.gz is read as the text it holds, and a
// compression bomb is refused by name instead of scanned for hours.
package decompress

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Format is a compression format.
type Format string

// The formats Sniff knows.
const (
	Gzip  Format = "gzip"
	XZ    Format = "xz"
	Zstd  Format = "zstd"
	Bzip2 Format = "bzip2"
)

// The magic numbers that start each format's stream (RFC 1952, the xz file
// format 1.0.4 §2.1.1.1, RFC 8878 §3.1.1).
var magics = []struct {
	f     Format
	magic string
}{
	{Gzip, "\x1f\x8b"},
	{XZ, "\xfd7zXZ\x00"},
	{Zstd, "\x28\xb5\x2f\xfd"},
}

// Sniff names the compression whose magic number starts head, or "".
func Sniff(head []byte) Format {
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			return m.f
		}
	}
	if isBzip2(head) {
		return Bzip2
	}
	return ""
}

// isBzip2 tells a bzip2 stream by its whole header: "BZh", the block size
// '1'-'9', then the magic of a first block (the digits of pi) or of the
// end of an empty stream (those of sqrt(pi)). "BZh" alone is three bytes
// of text, which a log could start with; ten bytes are not.
func isBzip2(head []byte) bool {
	if len(head) < 10 || string(head[:3]) != "BZh" || head[3] < '1' || head[3] > '9' {
		return false
	}
	m := string(head[4:10])
	return m == "\x31\x41\x59\x26\x53\x59" || m == "\x17\x72\x45\x38\x50\x90"
}

// DefaultLimit is how many decompressed bytes NewReader gives by default:
// far more than any kernel log holds, and few enough to scan in seconds.
const DefaultLimit = 4 << 30

// maxWindow bounds the memory a zstd stream's window or an xz stream's
// dictionary may claim: the decoders allocate what the header asks.
const maxWindow = 256 << 20

// ErrTooLarge is wrapped by the error of a stream that decompresses to more
// than its limit.
var ErrTooLarge = errors.New("decompresses to more than the limit")

// NewReader returns the stream r holds, decompressed as f. Reading past limit
// decompressed bytes (DefaultLimit when limit is 0) fails with an error that
// names name and wraps ErrTooLarge; a corrupt stream's error names name too.
// Close releases the decoder, not r.
func NewReader(r io.Reader, f Format, name string, limit int64) (*Reader, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var dr io.Reader
	closer := func() {}
	switch f {
	case Gzip:
		// Concatenated members are read on, as gunzip does.
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		dr, closer = z, func() { z.Close() }
	case XZ:
		br := bufio.NewReader(r)
		head, _ := br.Peek(12 + 1024)
		if dict, ok := xzDictSize(head); ok && dict > maxWindow {
			return nil, fmt.Errorf("%s: xz: its first block claims a %d-byte dictionary, over the %d bytes allowed (xz -9 uses 64 MiB)", name, dict, maxWindow)
		}
		r = br
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: xz: %w", name, err)
		}
		dr = z
	case Zstd:
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", name, err)
		}
		dr, closer = z, z.Close
	case Bzip2:
		// The decoder holds one block (at most 900 kB and its tables),
		// whatever the stream claims, and reads concatenated streams
		// (pbzip2's) on.
		dr = bzip2.NewReader(r)
	default:
		return nil, fmt.Errorf("%s: unknown compression %q", name, f)
	}
	return &Reader{r: dr, close: closer, f: f, name: name, left: limit, limit: limit}, nil
}

// Reader is a decompressed stream: it counts what its decoder gives against
// the limit and names the file in the decoder's errors.
type Reader struct {
	r     io.Reader
	close func()
	f     Format
	name  string
	left  int64
	limit int64
}

// SetLimit changes the limit on the bytes decompressed in all, once the
// first of them showed what the stream holds (a dump is larger than a log).
func (r *Reader) SetLimit(limit int64) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	r.left += limit - r.limit
	r.limit = limit
}

// Read reads decompressed bytes; past the limit it fails with an error that
// names the file and wraps ErrTooLarge.
func (r *Reader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		// One byte more tells a stream of exactly limit bytes from a
		// longer one.
		var one [1]byte
		if n, err := io.ReadFull(r.r, one[:]); n == 0 {
			return 0, r.wrap(err)
		}
		return 0, fmt.Errorf("%s: %s data %w (%d bytes): refused as a compression bomb; decompress it yourself if it is a log", r.name, r.f, ErrTooLarge, r.limit)
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	return n, r.wrap(err)
}

func (r *Reader) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %s data ends early (a truncated file?): %w", r.name, r.f, err)
	}
	return fmt.Errorf("%s: %s: %w", r.name, r.f, err)
}

// Close releases the decoder.
func (r *Reader) Close() error {
	r.close()
	return nil
}

// xzDictSize reads the LZMA2 dictionary size from the first block header of
// an xz stream (the xz file format 1.0.4, §3.1 and §5.3.1), which the xz
// decoder allocates at once. ok is false when head does not hold it.
func xzDictSize(head []byte) (dict uint64, ok bool) {
	const streamHeader = 12
	if len(head) <= streamHeader || head[streamHeader] == 0 {
		return 0, false // no block: an index follows
	}
	size := (int(head[streamHeader]) + 1) * 4
	if len(head) < streamHeader+size {
		return 0, false
	}
	h := head[streamHeader+1 : streamHeader+size]
	flags := h[0]
	h = h[1:]
	varint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && i < len(h); i++ {
			v |= uint64(h[i]&0x7f) << (7 * i)
			if h[i]&0x80 == 0 {
				h = h[i+1:]
				return v, true
			}
		}
		return 0, false
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present {
			if _, ok := varint(); !ok {
				return 0, false
			}
		}
	}
	for range int(flags&3) + 1 {
		id, ok1 := varint()
		n, ok2 := varint()
		if !ok1 || !ok2 || n > uint64(len(h)) {
			return 0, false
		}
		props := h[:n]
		h = h[n:]
		if id == 0x21 && n == 1 {
			d := uint64(props[0])
			if d > 40 {
				return 0, false
			}
			if d == 40 {
				return 1<<32 - 1, true
			}
			return (2 | d&1) << (d/2 + 11), true
		}
	}
	return 0, false
}
