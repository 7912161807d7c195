package dump

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	lzo "github.com/anchore/go-lzo"
	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
)

// decoders holds one reusable decoder per compression; the owner
// serializes its use.
type decoders struct {
	zr   io.ReadCloser
	br   bytes.Reader
	zstd *zstd.Decoder
}

// maxZstdMemory bounds what a zstd frame may make the decoder allocate: a
// page is at most 1 MiB, a frame declaring a bigger window is corrupt.
const maxZstdMemory = 4 << 20

// decompress inflates src into exactly len(dst) bytes.
func (d *decoders) decompress(dst, src []byte, flags uint32) (err error) {
	defer func() {
		// The third-party decoders are fuzzed upstream, but a page of a
		// crash dump is exactly the input nobody foresaw.
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	switch {
	case flags&flagZlib != 0:
		return d.zlib(dst, src)
	case flags&flagLZO != 0:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return fmt.Errorf("lzo: %w", err)
		}
		if n != len(dst) {
			return fmt.Errorf("lzo: %d bytes, want %d", n, len(dst))
		}
		return nil
	case flags&flagSnappy != 0:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return fmt.Errorf("snappy: %w", err)
		}
		if n != len(dst) {
			return fmt.Errorf("snappy: block decodes to %d bytes, want %d", n, len(dst))
		}
		out, err := snappy.Decode(dst, src)
		if err != nil {
			return fmt.Errorf("snappy: %w", err)
		}
		if len(out) != len(dst) {
			return fmt.Errorf("snappy: %d bytes, want %d", len(out), len(dst))
		}
		return nil
	case flags&flagZstd != 0:
		if d.zstd == nil {
			z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxZstdMemory), zstd.WithDecoderMaxWindow(maxZstdMemory))
			if err != nil {
				return err
			}
			d.zstd = z
		}
		out, err := d.zstd.DecodeAll(src, dst[:0])
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		if len(out) != len(dst) {
			return fmt.Errorf("zstd: %d bytes, want %d", len(out), len(dst))
		}
		if &out[0] != &dst[0] {
			copy(dst, out)
		}
		return nil
	}
	return fmt.Errorf("unknown compression flags 0x%x", flags)
}

var errLong = errors.New("decompresses to more than a page")

func (d *decoders) zlib(dst, src []byte) error {
	d.br.Reset(src)
	if d.zr == nil {
		zr, err := zlib.NewReader(&d.br)
		if err != nil {
			return fmt.Errorf("zlib: %w", err)
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(&d.br, nil); err != nil {
		return fmt.Errorf("zlib: %w", err)
	}
	n, err := io.ReadFull(d.zr, dst)
	if err != nil {
		return fmt.Errorf("zlib: %d bytes of %d: %w", n, len(dst), err)
	}
	// The stream must end here (and its checksum verify).
	var one [1]byte
	if k, err := d.zr.Read(one[:]); k != 0 {
		return fmt.Errorf("zlib: %w", errLong)
	} else if err != io.EOF {
		if err == nil {
			err = io.ErrNoProgress
		}
		return fmt.Errorf("zlib: %w", err)
	}
	return nil
}
