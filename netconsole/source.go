package netconsole

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/ktriage/ktriage/oops"
)

const (
	// ringSize is how many delivered sequence numbers a source remembers,
	// with their timestamps, to tell a duplicate from a reboot's record
	// that reuses the number; it is also the largest reorder window.
	ringSize = 256
	// maxFragSets bounds the messages a source reassembles at once.
	maxFragSets = 8
	// maxFragPieces bounds the datagrams one message may come in: the
	// kernel cuts at 1000 bytes, so a 16 KiB message is 17.
	maxFragPieces = 64
	// maxLineBytes bounds a plain line held while its end has not come:
	// the kernel's lines are at most 1024 bytes (PRINTK_MESSAGE_MAX).
	maxLineBytes = 4096
	// clockSlack is how far back (microseconds) a later record's timestamp
	// may be before it is taken for a new boot's: CPUs' clocks differ a
	// little, a reboot sets them back by the old boot's uptime.
	clockSlack = 1e6
)

// Source is what a receiver knows of one sender: its counters since it was
// first heard from (or since it was last evicted).
type Source struct {
	// Addr is the sender's address and port: netconsole sends from a
	// fixed port (6665 by default), so a rebooted host is the same source.
	Addr netip.AddrPort
	// Release is the kernel release the datagrams carry (netconsole's
	// release option), or "".
	Release string
	// Extended is set once an extended datagram came from the source.
	Extended bool
	// Datagrams and Bytes count what was accepted from the source.
	Datagrams, Bytes uint64
	// Messages counts the extended records delivered to the scanner in
	// sequence order, Lines the lines fed to it.
	Messages, Lines uint64
	// Gaps counts the places where records never came (their sequence
	// numbers were given up on: waited for past the reorder delay or
	// window), Missing the records those gaps hold. A record is missing
	// when lost in transit or when the kernel never sent it: records
	// above the console loglevel take a number but reach no console, so
	// a host without ignore_loglevel shows gaps (a Debian 6.1 guest
	// booting to a crash: 4 gaps, 12 records, none with ignore_loglevel).
	// Either way a gap delays delivery by up to ReorderDelay.
	Gaps, Missing uint64
	// Duplicates counts records whose sequence number and timestamp were
	// already delivered; Late the records arriving after their number was
	// given up on in a gap (dropped, since the lines after it were read).
	Duplicates, Late uint64
	// Reboots counts the times the sequence restarted (a record reused a
	// delivered number with another timestamp, fell far behind, came
	// with a later number but a clock a second or more behind, or carried
	// another release): the document was closed and a new one begun.
	Reboots uint64
	// Malformed counts datagrams of an extended source that were not
	// extended, and fragments that contradict their message's others.
	Malformed uint64
	// FragmentsDropped counts fragments dropped: of messages too large,
	// in too many pieces, or never completed.
	FragmentsDropped uint64
	// Truncated counts lines cut at 4096 bytes.
	Truncated uint64
	// Documents counts the documents closed (each flush ends one), Reports
	// the reports they gave.
	Documents, Reports uint64
	// LastSeen is when the source's last datagram came.
	LastSeen time.Time
}

// message is an extended record waiting for its turn.
type message struct {
	seq, ts uint64
	flag    byte
	release string
	body    []byte
}

type seen struct {
	seq, ts uint64
	ok      bool
}

type fragSet struct {
	seq, ts   uint64
	flag      byte
	release   string
	buf       []byte
	have      []uint64 // bitmap of the bytes received
	filled    int
	pieces    int
	firstSeen time.Time
}

type source struct {
	Source
	a *assembler

	// Extended: delivery in sequence order.
	started  bool   // next is known
	next     uint64 // the sequence number to deliver next
	pending  map[uint64]*message
	waitFrom time.Time // when delivery began waiting for next
	ring     *[ringSize]seen
	lastTS   uint64 // the timestamp of the record delivered last
	frags    map[uint64]*fragSet
	held     int // bytes in pending and frags
	contLine []byte
	contOpen bool

	// Plain: the line not yet ended.
	partial []byte

	sc       *oops.Scanner
	docStart time.Time // when sc read its first line
	// panicEnded: the document read the kernel's last words, "---[ end
	// Kernel panic": nothing follows but a reboot, so it closes at once.
	panicEnded bool
	// docGaps and docMissing count the sequence gaps (and the records
	// in them) met since the last document was emitted: the next
	// document's lines come after them, and its reports say so.
	docGaps, docMissing uint64
	docBytes            int
}

// lines of a plain datagram: the text continues the line the last datagram
// left open.
func (s *source) plain(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.appendPartial(b)
			return
		}
		s.appendPartial(b[:i])
		s.feed(s.partial)
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
}

func (s *source) appendPartial(b []byte) {
	room := maxLineBytes - len(s.partial)
	if len(b) > room {
		if room > 0 || len(b) > 0 {
			s.Truncated++
		}
		b = b[:max(room, 0)]
	}
	s.partial = append(s.partial, b...)
}

// extended takes one extended datagram: a whole record, or a fragment.
func (s *source) extended(rec record, now time.Time) {
	s.Extended = true
	if !rec.frag {
		s.arrive(&message{seq: rec.seq, ts: rec.ts, flag: rec.flag, release: rec.release, body: bytes.Clone(rec.body)}, now)
		return
	}
	if rec.total > s.a.opt.MaxMessageBytes {
		s.FragmentsDropped++
		return
	}
	if s.started && rec.seq < s.next {
		// A fragment of a record delivered or given up on: one of a
		// duplicate, or late; the whole record tells which.
		if r := s.ring; r != nil && r[rec.seq%ringSize].ok && r[rec.seq%ringSize].seq == rec.seq && r[rec.seq%ringSize].ts == rec.ts {
			if rec.off == 0 {
				s.Duplicates++
			}
			return
		}
	}
	if s.frags == nil {
		s.frags = map[uint64]*fragSet{}
	}
	f := s.frags[rec.seq]
	if f != nil && (f.ts != rec.ts || len(f.buf) != rec.total) {
		// Another record with this number: a reboot's, or garbage.
		s.Malformed++
		s.dropFrag(f)
		f = nil
	}
	if f == nil {
		if len(s.frags) >= maxFragSets {
			s.dropFrag(s.oldestFrag())
		}
		f = &fragSet{seq: rec.seq, ts: rec.ts, flag: rec.flag, release: rec.release,
			buf: make([]byte, rec.total), have: make([]uint64, (rec.total+63)/64), firstSeen: now}
		s.frags[rec.seq] = f
		s.held += rec.total
	}
	f.pieces++
	if f.pieces > maxFragPieces {
		s.dropFrag(f)
		return
	}
	copy(f.buf[rec.off:], rec.body)
	for i := rec.off; i < rec.off+len(rec.body); i++ {
		if f.have[i/64]&(1<<(i%64)) == 0 {
			f.have[i/64] |= 1 << (i % 64)
			f.filled++
		}
	}
	if f.filled < len(f.buf) {
		s.trim(now)
		return
	}
	delete(s.frags, f.seq)
	s.held -= len(f.buf)
	s.arrive(&message{seq: f.seq, ts: f.ts, flag: f.flag, release: f.release, body: f.buf}, now)
}

func (s *source) oldestFrag() *fragSet {
	var o *fragSet
	for _, f := range s.frags {
		if o == nil || f.firstSeen.Before(o.firstSeen) || (f.firstSeen.Equal(o.firstSeen) && f.seq < o.seq) {
			o = f
		}
	}
	return o
}

func (s *source) dropFrag(f *fragSet) {
	if f == nil {
		return
	}
	s.FragmentsDropped += uint64(f.pieces)
	delete(s.frags, f.seq)
	s.held -= len(f.buf)
}

// arrive places a whole record: delivered now if it is next, held if it is
// ahead, dropped if its number is past.
func (s *source) arrive(m *message, now time.Time) {
	if m.release != "" && s.Release != "" && m.release != s.Release {
		s.reboot(now)
	}
	if m.release != "" {
		s.Release = m.release
	}
	if s.started && m.seq < s.next {
		var slot seen
		if s.ring != nil {
			slot = s.ring[m.seq%ringSize]
		}
		switch {
		case slot.ok && slot.seq == m.seq && slot.ts == m.ts:
			s.Duplicates++
			return
		case slot.ok && slot.seq == m.seq, s.next-m.seq > uint64(s.a.opt.ReorderWindow):
			// The number was delivered with another timestamp, or is
			// too far behind to be a straggler: the kernel restarted.
			s.reboot(now)
		default:
			s.Late++
			return
		}
	}
	if s.started && m.seq >= s.next && m.ts+clockSlack < s.lastTS {
		// A later number with an earlier clock: a new boot whose
		// numbers went past the old one's before netconsole started.
		s.reboot(now)
	}
	if _, dup := s.pending[m.seq]; dup {
		s.Duplicates++
		return
	}
	if !s.started && m.seq == 0 {
		// A boot's first record: nothing can precede it.
		s.started, s.next = true, 0
	}
	if s.pending == nil {
		s.pending = map[uint64]*message{}
	}
	if len(s.pending) == 0 {
		s.waitFrom = now
	}
	s.pending[m.seq] = m
	s.held += len(m.body)
	s.drain(now)
	s.trim(now)
}

// drain delivers the records held from next on.
func (s *source) drain(now time.Time) {
	for s.started {
		m, ok := s.pending[s.next]
		if !ok {
			return
		}
		delete(s.pending, s.next)
		s.held -= len(m.body)
		s.deliver(m)
		s.next++
		s.waitFrom = now
	}
}

// trim gives up on the record delivery waits for when the wait exceeds the
// window, the bytes a source may hold, or (when force) at all.
func (s *source) trim(now time.Time) {
	for len(s.pending) > 0 && (len(s.pending) > s.a.opt.ReorderWindow || s.held > s.a.opt.MaxSourceBytes ||
		now.Sub(s.waitFrom) >= s.a.opt.ReorderDelay) {
		s.skip(now)
	}
	for s.held > s.a.opt.MaxSourceBytes && len(s.frags) > 0 {
		s.dropFrag(s.oldestFrag())
	}
}

// skip delivers from the lowest record held, recording the numbers before it
// as a gap.
func (s *source) skip(now time.Time) {
	low := uint64(0)
	first := true
	for q := range s.pending {
		if first || q < low {
			low, first = q, false
		}
	}
	if first {
		return
	}
	if s.started && low > s.next {
		s.Gaps++
		s.Missing += low - s.next
		s.docGaps++
		s.docMissing += low - s.next
	}
	s.started, s.next = true, low
	s.drain(now)
}

// flushPending gives up on every record awaited and drops unfinished
// fragments (their numbers become gaps), delivering all that is held.
func (s *source) flushPending(now time.Time) {
	for len(s.pending) > 0 {
		s.skip(now)
	}
	for _, f := range s.frags {
		s.dropFrag(f)
	}
	s.held = 0
}

// panicEnd starts the line panic() prints last, after which a kernel
// prints nothing until it reboots.
var panicEnd = []byte("---[ end Kernel panic")

func (s *source) reboot(now time.Time) {
	s.flushPending(now)
	s.flushDoc()
	s.Reboots++
	s.started, s.next, s.ring, s.lastTS = false, 0, nil, 0
}

// deliver feeds a record in its turn, as a console prints it: each line with
// the record's timestamp, a continued line ('c', then '+') as one.
func (s *source) deliver(m *message) {
	s.Messages++
	if s.ring == nil {
		s.ring = new([ringSize]seen)
	}
	s.ring[m.seq%ringSize] = seen{seq: m.seq, ts: m.ts, ok: true}
	s.lastTS = m.ts
	lines := messageLines(m.body)
	if m.flag == '+' && s.contOpen && len(lines) > 0 {
		s.contLine = append(s.contLine, lines[0]...)
		if len(s.contLine) > maxLineBytes {
			s.contLine = s.contLine[:maxLineBytes]
			s.Truncated++
		}
		lines = lines[1:]
		if len(lines) == 0 {
			return
		}
	}
	s.endCont()
	stamp := fmt.Sprintf("[%5d.%06d] ", m.ts/1e6, m.ts%1e6)
	for i, l := range lines {
		line := append([]byte(stamp), l...)
		if i == len(lines)-1 && m.flag == 'c' {
			s.contLine, s.contOpen = line, true
			return
		}
		s.feed(line)
	}
}

func (s *source) endCont() {
	if s.contOpen {
		s.contOpen = false
		s.feed(s.contLine)
		s.contLine = nil
	}
}

// feed gives one line to the source's scanner, closing the document once it
// read MaxDocumentBytes.
func (s *source) feed(line []byte) {
	s.scan(line)
	if s.docBytes > s.a.opt.MaxDocumentBytes {
		s.finish()
	}
}

func (s *source) scan(line []byte) {
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes]
		s.Truncated++
	}
	if s.sc == nil {
		s.sc = oops.NewScanner(s.Addr.String())
		s.docStart = s.LastSeen
	}
	if s.a.opt.OnLine != nil {
		s.a.opt.OnLine(s.Addr, line)
	}
	s.sc.Line(line)
	if bytes.Contains(line, panicEnd) {
		s.panicEnded = true
	}
	s.Lines++
	s.docBytes += len(line) + 1
	s.a.docBytes += len(line) + 1
}

// flushDoc ends the source's document: the line left open is read, the
// scanner finished and its reports emitted.
func (s *source) flushDoc() {
	if s.contOpen {
		s.contOpen = false
		s.scan(s.contLine)
		s.contLine = nil
	}
	if len(s.partial) > 0 {
		s.scan(s.partial)
		s.partial = s.partial[:0]
	}
	s.finish()
}

// finish closes the scanner's document and emits its reports.
func (s *source) finish() {
	if s.sc == nil {
		return
	}
	reports := s.sc.Finish()
	s.sc = nil
	s.panicEnded = false
	s.a.docBytes -= s.docBytes
	s.docBytes = 0
	s.Documents++
	for _, r := range reports {
		if r.Release == nil && s.Release != "" {
			rel := s.Release
			r.Release = &rel
		}
		s.Reports++
		s.a.out = append(s.a.out, emitted{src: s.Addr, doc: Document{Release: s.Release, Gaps: s.docGaps, Missing: s.docMissing}, r: r})
	}
	s.docGaps, s.docMissing = 0, 0
}
