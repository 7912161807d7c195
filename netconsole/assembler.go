package netconsole

import (
	"container/list"
	"net/netip"
	"time"

	"github.com/ktriage/ktriage/oops"
)

// emitted is a report ready for Options.OnReport.
type emitted struct {
	src netip.AddrPort
	doc Document
	r   *oops.Report
}

// assembler turns datagrams into reports, source by source. It does no I/O
// and keeps no clock: the receiver gives it the time, so tests replay.
type assembler struct {
	opt     Options
	sources map[netip.AddrPort]*list.Element // of *source
	lru     list.List                        // front: most recently heard
	// docBytes is the bytes fed to all sources' open documents.
	docBytes int
	stats    Stats
	out      []emitted
}

func newAssembler(opt Options) *assembler {
	return &assembler{opt: opt.withDefaults(), sources: map[netip.AddrPort]*list.Element{}}
}

// datagram takes one datagram from src, received at now.
func (a *assembler) datagram(src netip.AddrPort, b []byte, now time.Time) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	a.stats.Datagrams++
	if !a.allowed(src.Addr()) {
		a.stats.Denied++
		return
	}
	if len(b) > a.opt.MaxDatagramBytes {
		a.stats.Oversized++
		return
	}
	s := a.source(src)
	s.Datagrams++
	s.Bytes += uint64(len(b))
	s.LastSeen = now
	if rec, ok := parseRecord(b); ok {
		s.extended(rec, now)
	} else if s.Extended {
		s.Malformed++
	} else {
		s.plain(b)
	}
	a.budget(s)
}

func (a *assembler) allowed(ip netip.Addr) bool {
	for _, p := range a.opt.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// source finds or makes src's state, evicting the least recently heard
// source when there are MaxSources.
func (a *assembler) source(src netip.AddrPort) *source {
	if e, ok := a.sources[src]; ok {
		a.lru.MoveToFront(e)
		return e.Value.(*source)
	}
	for len(a.sources) >= a.opt.MaxSources {
		a.evict(a.lru.Back())
	}
	s := &source{Source: Source{Addr: src}, a: a}
	a.sources[src] = a.lru.PushFront(s)
	return s
}

// evict ends a source: what it holds is delivered, its document closed.
func (a *assembler) evict(e *list.Element) {
	s := e.Value.(*source)
	s.flushPending(s.LastSeen)
	s.flushDoc()
	a.lru.Remove(e)
	delete(a.sources, s.Addr)
	a.stats.Evicted++
	a.stats.add(&s.Source) // its counters outlive it
}

// budget closes documents, least recently heard first, while all sources'
// open documents together exceed MaxBufferedBytes: a scanner's memory grows
// with what it was fed, and a fleet's worth of chatty hosts must not add up
// past the bound. The source just fed is closed last.
func (a *assembler) budget(cur *source) {
	for e := a.lru.Back(); e != nil && a.docBytes > a.opt.MaxBufferedBytes; e = e.Prev() {
		if s := e.Value.(*source); s != cur && s.sc != nil {
			s.flushDoc()
		}
	}
	if a.docBytes > a.opt.MaxBufferedBytes {
		cur.flushDoc()
	}
}

// tick gives up on records waited for past the reorder delay and closes the
// documents of sources idle past the idle timeout.
func (a *assembler) tick(now time.Time) {
	for e := a.lru.Back(); e != nil; e = e.Prev() {
		s := e.Value.(*source)
		if len(s.pending) > 0 || len(s.frags) > 0 {
			s.trim(now)
			for _, f := range s.frags {
				if now.Sub(f.firstSeen) >= a.opt.IdleTimeout {
					s.dropFrag(f)
				}
			}
		}
		quiet := now.Sub(s.LastSeen)
		switch {
		case quiet >= a.opt.IdleTimeout && (s.sc != nil || len(s.pending) > 0 || len(s.partial) > 0 || s.contOpen):
			s.flushPending(now)
			s.flushDoc()
		case s.panicEnded && s.sc != nil && len(s.pending) == 0 && len(s.frags) == 0 && quiet >= a.opt.ReorderDelay/4:
			// The kernel's last words came and nothing is awaited: the
			// crash is stored now, not after the idle timeout (a server
			// stopped meanwhile would lose it).
			s.flushDoc()
		case s.sc != nil && len(s.pending) == 0 && quiet >= a.opt.ReorderDelay && now.Sub(s.docStart) >= a.opt.MaxDocumentAge:
			// A lull in a long document: the line left open (plain) or
			// continued stays for the next document.
			s.finish()
		}
	}
}

// flushAll delivers everything held and closes every document.
func (a *assembler) flushAll(now time.Time) {
	for e := a.lru.Back(); e != nil; e = e.Prev() {
		s := e.Value.(*source)
		s.flushPending(now)
		s.flushDoc()
	}
}

// take returns the reports emitted since the last call.
func (a *assembler) take() []emitted {
	out := a.out
	a.out = nil
	return out
}

func (a *assembler) snapshot() []Source {
	out := make([]Source, 0, len(a.sources))
	for e := a.lru.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*source).Source)
	}
	return out
}
