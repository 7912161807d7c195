package netconsole

import "bytes"

// The extended format, as Documentation/networking/netconsole.rst in the
// kernel tree describes it ("Extended console:" and "Release prepend:"):
//
//	[<release>,]<level>,<sequnum>,<timestamp>,<contflag>[,ncfrag=<byte-offset>/<total-bytes>];<message text>
//
// the header of /dev/kmsg (Documentation/ABI/testing/dev-kmsg), where the
// timestamp is microseconds since boot and contflag is '-' ('c' opens and '+'
// continues a continued line on kernels before 4.9's reworked continuation
// lines). Non-printable bytes of the text are escaped "\xff"; the optional
// dictionary (" KEY=VALUE") and netconsole's userdata follow the text on
// their own lines. A body longer than MAX_PRINT_CHUNK (1000 bytes) goes in
// several datagrams, each repeating the header with an ncfrag field that gives
// the piece's offset in the body and the body's size:
//
//	6,416,1758426,-,ncfrag=0/31;the first chunk,
//	6,416,1758426,-,ncfrag=16/31; the 2nd chunk.
//
// With the release option ('r' after '+'), each datagram starts with the
// kernel's release and a comma: "6.1.0-13-amd64,6,1234,5678901,-;msg".

// maxHeader bounds the bytes searched for a header's ';': a release is at
// most 64 bytes (__NEW_UTS_LEN) and the numbers at most 20 digits each.
const maxHeader = 256

// record is one extended datagram, parsed.
type record struct {
	release string
	level   uint64
	seq     uint64
	ts      uint64 // microseconds since boot
	flag    byte   // '-', 'c' or '+'
	frag    bool
	off     int // the fragment's offset in the body, when frag
	total   int // the body's size, when frag
	body    []byte
}

// parseRecord reads b as an extended netconsole datagram; ok is false when b
// does not start with an extended header (a plain netconsole datagram).
func parseRecord(b []byte) (rec record, ok bool) {
	head := b[:min(len(b), maxHeader)]
	semi := bytes.IndexByte(head, ';')
	if semi < 0 {
		return rec, false
	}
	fields := bytes.Split(head[:semi], []byte{','})
	if len(fields) > 0 && !digits(fields[0]) {
		if !releaseLike(fields[0]) {
			return rec, false
		}
		rec.release = string(fields[0])
		fields = fields[1:]
	}
	if len(fields) < 4 {
		return rec, false
	}
	var okL, okS, okT bool
	rec.level, okL = number(fields[0])
	rec.seq, okS = number(fields[1])
	rec.ts, okT = number(fields[2])
	if !okL || !okS || !okT || len(fields[3]) != 1 || bytes.IndexByte([]byte("-c+"), fields[3][0]) < 0 {
		return rec, false
	}
	rec.flag = fields[3][0]
	// Fields past the flag: ncfrag, and any a later kernel adds (as
	// /dev/kmsg added caller=), which are skipped.
	for _, f := range fields[4:] {
		v, found := bytes.CutPrefix(f, []byte("ncfrag="))
		if !found {
			continue
		}
		o, t, found := bytes.Cut(v, []byte{'/'})
		off, ok1 := number(o)
		total, ok2 := number(t)
		if !found || !ok1 || !ok2 || total == 0 || off >= total || total > 1<<30 {
			return rec, false
		}
		rec.frag, rec.off, rec.total = true, int(off), int(total)
	}
	rec.body = b[semi+1:]
	if rec.frag && rec.off+len(rec.body) > rec.total {
		return rec, false
	}
	return rec, true
}

func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// number parses a decimal of at most 19 digits, which cannot overflow.
func number(b []byte) (uint64, bool) {
	if !digits(b) || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// releaseLike accepts what a kernel release can be: utsname's release, up to
// 64 printable bytes without spaces, holding a digit ("6.1.0-13-amd64").
func releaseLike(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	digit := false
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
		digit = digit || (c >= '0' && c <= '9')
	}
	return digit
}

// messageLines returns the text of an extended body (its first line; the
// dictionary and userdata lines after it are dropped) with the kernel's
// "\xHH" escapes undone, split at the newlines the escapes held: a printk
// of several lines is one record, printed by a console as several lines.
func messageLines(body []byte) [][]byte {
	text, _, _ := bytes.Cut(body, []byte{'\n'})
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\\' && i+3 < len(text) && text[i+1] == 'x' {
			if h, ok := unhex(text[i+2]); ok {
				if l, ok := unhex(text[i+3]); ok {
					out = append(out, h<<4|l)
					i += 3
					continue
				}
			}
		}
		out = append(out, c)
	}
	return bytes.Split(out, []byte{'\n'})
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
