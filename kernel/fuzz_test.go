package kernel

import (
	"encoding/binary"
	"io"
	"testing"
)

// countingWriter bounds what a fuzzed buffer can make Dmesg write.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// FuzzRingbuffer feeds random bytes to Dmesg as printk buffers. The first
// byte picks what they become: a lockless ring whose descriptors, infos and
// text are the bytes (pointers set by us, so the decoder is exercised, not
// just the first read), a structured log_buf, a legacy log_buf, or the raw
// image with every pointer taken from the bytes. Dmesg must not panic, and
// its output must stay proportional to the memory it could read.
func FuzzRingbuffer(f *testing.F) {
	f.Add([]byte{0, 2, 4, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0}, []byte("hello\nworld"))
	f.Add([]byte{1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x05\x00\x00\x00\x00\x00hello"))
	f.Add([]byte{2, 100}, []byte("<6>legacy\n"))
	f.Add([]byte{3}, make([]byte, 256))
	f.Fuzz(func(t *testing.T, hdr, body []byte) {
		if len(hdr) == 0 || len(hdr)+len(body) > 1<<16 {
			return
		}
		s := newSynthKernel(4, "6.1.0-fuzz")
		u := func(i int) uint64 { // little-endian bytes of hdr from i, 0 past its end
			var b [8]byte
			if i < len(hdr) {
				copy(b[:], hdr[i:])
			}
			return binary.LittleEndian.Uint64(b[:])
		}
		// body, repeated or cut to n bytes
		fill := func(n uint64) []byte {
			b := make([]byte, n)
			if len(body) > 0 {
				for i := uint64(0); i < n; i += uint64(len(body)) {
					copy(b[i:], body)
				}
			}
			return b
		}
		switch hdr[0] % 4 {
		case 0: // lockless
			r := newPRB(layout61, uint(u(1)%7), uint(u(2)%13)+3, 0)
			copy(r.descs, body)
			if len(body) > len(r.descs) {
				copy(r.infos, body[len(r.descs):])
			}
			copy(r.data, fill(uint64(len(r.data))))
			r.tail, r.head = u(3), u(11)
			if hdr[len(hdr)-1]&1 == 0 { // usually a sane id range
				r.tail &= 0xff
				r.head = r.tail + r.head%64
			}
			r.install(s)
		case 1: // structured
			p := &printkLog{buf: fill(u(1)%4096 + 16)}
			p.first, p.next = uint32(u(3))%uint32(len(p.buf)+32), uint32(u(7))%uint32(len(p.buf)+32)
			p.install(s)
		case 2: // legacy
			buf := fill(u(1)%4096 + 1)
			s.symbol("log_buf", u64le(s.direct(buf)))
			s.symbol("log_buf_len", u32le(uint32(u(5))))
			s.symbol("log_end", u32le(uint32(u(9))))
		case 3: // raw: the image is the bytes, pointers included
			layout61.vmcoreinfo(s)
			img := s.symbol("", fill(uint64(len(body))+8))
			s.symbol("prb", u64le(img+u(1)%uint64(len(body)+8)))
		}
		k, err := New(s.m, s.vmcoreinfo())
		if err != nil {
			t.Fatal(err)
		}
		var w countingWriter
		k.Dmesg(io.Writer(&w))
		// Every output byte comes from at most 4 bytes of escaped input or
		// an indent (under 32 bytes) per newline; records are bounded by
		// the descriptors or buffer bytes that were readable.
		if limit := 64 * (len(s.m.pages)*pageSize + 1<<16); w.n > limit {
			t.Fatalf("%d bytes of output from %d pages", w.n, len(s.m.pages))
		}
	})
}
