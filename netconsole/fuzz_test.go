package netconsole

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

func FuzzRecord(f *testing.F) {
	for _, s := range []string{
		"6,416,1758426,-,ncfrag=0/31;the first chunk,",
		"6.1.0-13-amd64,6,1234,5678901,-;msg\n SUBSYSTEM=net\n",
		"4,0,7,c;tab\\x09here\\x0a\\x",
		"13,468,514729715,-,ncfrag=1000/1135;x",
		"6,1,2,+,caller=T1;y",
		"plain text; with a semicolon",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, ok := parseRecord(b)
		if !ok {
			return
		}
		if rec.frag && (rec.off < 0 || rec.off+len(rec.body) > rec.total) {
			t.Fatalf("fragment %d+%d past its total %d", rec.off, len(rec.body), rec.total)
		}
		if !bytes.HasSuffix(b, rec.body) {
			t.Fatal("body is not the datagram's tail")
		}
		for _, l := range messageLines(rec.body) {
			if len(l) > len(rec.body) {
				t.Fatal("a line longer than its body")
			}
		}
	})
}

// FuzzAssembler feeds datagrams (the input split at 0xff bytes) from two
// sources, the clock moving by each datagram's first byte in 100ms steps,
// and checks what the bounds promise.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte("6,0,1,-;a\n\xff6,2,3,-;c\n\xff6,1,2,-;b\n\xff6,0,9,-;reboot\n"))
	f.Add([]byte("6,416,1758426,-,ncfrag=16/31; the 2nd chunk.\xff6,416,1758426,-,ncfrag=0/31;the first chunk,\xff6,416,1,-,ncfrag=0/31;other"))
	f.Add([]byte("[    3.636770] kernel BUG at net/core/skbuff.c:120!\n[    3.6\xff37000] invalid opcode: 0000 [#1] SMP\n\xff"))
	f.Add([]byte("r1,6,0,1,c;Modules linked in:\xffr1,6,1,1,+; a\xffr2,6,7,1,-;x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		opt := Options{
			Allow:            []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			ReorderWindow:    8,
			MaxSources:       2,
			MaxDatagramBytes: 2048,
			MaxMessageBytes:  4096,
			MaxSourceBytes:   8192,
			MaxDocumentBytes: 16384,
			MaxBufferedBytes: 24576,
		}
		a := newAssembler(opt)
		now := t0
		for i, d := range bytes.Split(in, []byte{0xff}) {
			if len(d) > 0 {
				now = now.Add(time.Duration(d[0]%32) * 100 * time.Millisecond)
			}
			src := host
			if i%3 == 2 {
				src = host2
			}
			a.datagram(src, d, now)
			if i%4 == 3 {
				a.tick(now)
			}
			for e := a.lru.Front(); e != nil; e = e.Next() {
				s := e.Value.(*source)
				if s.held > opt.MaxSourceBytes+opt.MaxMessageBytes || len(s.pending) > opt.ReorderWindow || len(s.frags) > maxFragSets {
					t.Fatalf("source holds %d bytes, %d records, %d fragment sets", s.held, len(s.pending), len(s.frags))
				}
				if s.docBytes < 0 || s.docBytes > opt.MaxDocumentBytes+maxLineBytes+1 {
					t.Fatalf("document of %d bytes", s.docBytes)
				}
			}
			if a.docBytes < 0 || a.docBytes > opt.MaxBufferedBytes+maxLineBytes+1 {
				t.Fatalf("%d bytes in open documents", a.docBytes)
			}
			a.take()
		}
		a.flushAll(now)
		if a.docBytes != 0 {
			t.Fatalf("%d bytes in documents after flushing all", a.docBytes)
		}
	})
}
