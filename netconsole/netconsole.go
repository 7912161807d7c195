// Package netconsole receives kernel logs sent by netconsole over UDP and
// finds the crash reports in them, host by host, as package oops finds them
// in a log file.
//
// Both of netconsole's formats are read: plain (a datagram is console text,
// a line may span datagrams) and extended (each record carries its sequence
// number, so records are put back in order, duplicates dropped and the
// records lost in transit counted as gaps rather than papered over). See
// record.go for the format and its source in the kernel's documentation.
//
// Every size that comes from the network is bounded: datagram size, sources
// (least recently heard evicted), bytes held per source while records are
// reordered or reassembled, and bytes read into open documents per source
// and over all sources.
package netconsole

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ktriage/ktriage/oops"
)

// Options configures a Receiver. Only Allow is required; a zero field takes
// the default its comment gives.
type Options struct {
	// Allow lists the networks datagrams are accepted from; the others are
	// counted (Stats.Denied) and dropped. IPv4 senders on an IPv6 socket
	// are matched by their IPv4 address.
	Allow []netip.Prefix
	// OnReport is called with each report when its document closes: when
	// its source goes quiet for IdleTimeout, reboots, is evicted, reads
	// MaxDocumentBytes or MaxDocumentAge, or the receiver stops. Within a
	// document a report shown again is one report with Occurrences, as in
	// a file; across documents it comes again. It is called from the
	// receiver's goroutine, one report at a time; reception waits for it.
	// r.Release is filled from the datagrams' release when the log states
	// none; doc says what of the document's stream was lost.
	OnReport func(src netip.AddrPort, doc Document, r *oops.Report)
	// OnLine, when set, sees every line as it is given to the scanner, in
	// order: a plain line once ended, an extended record's lines in
	// sequence order with the console's "[seconds.micros] " stamp. The
	// line is borrowed: valid only during the call (a store copies it).
	// It is called with the receiver's lock held: it must not call the
	// Receiver's methods.
	OnLine func(src netip.AddrPort, line []byte)
	// IdleTimeout closes a source's document once nothing came from it for
	// this long (default 10s): a crashed host goes quiet.
	IdleTimeout time.Duration
	// MaxDocumentAge closes a source's document this long after it opened,
	// at the first lull (ReorderDelay without a datagram), so that a host
	// that never goes quiet still has its reports emitted (default 5m).
	MaxDocumentAge time.Duration
	// ReorderDelay is how long delivery waits for a missing extended
	// record before recording a gap and going on (default 2s).
	ReorderDelay time.Duration
	// ReorderWindow is how many records may wait behind a missing one
	// before it is given up (default and most 256).
	ReorderWindow int
	// MaxSources bounds the sources tracked (default 1024).
	MaxSources int
	// MaxDatagramBytes drops longer datagrams (default 8192: the kernel
	// sends at most 1000 bytes of text after a header).
	MaxDatagramBytes int
	// MaxMessageBytes bounds a reassembled extended record (default 16384).
	MaxMessageBytes int
	// MaxSourceBytes bounds what a source holds while reordering and
	// reassembling (default 65536); past it the oldest wait is given up.
	MaxSourceBytes int
	// MaxDocumentBytes closes a source's document once this much was read
	// into it (default 4 MiB).
	MaxDocumentBytes int
	// MaxBufferedBytes bounds the bytes read into all sources' open
	// documents together (default 256 MiB); past it the least recently
	// heard sources' documents are closed.
	MaxBufferedBytes int
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Second
	}
	if o.MaxDocumentAge <= 0 {
		o.MaxDocumentAge = 5 * time.Minute
	}
	if o.ReorderDelay <= 0 {
		o.ReorderDelay = 2 * time.Second
	}
	def(&o.ReorderWindow, ringSize)
	o.ReorderWindow = min(o.ReorderWindow, ringSize)
	def(&o.MaxSources, 1024)
	def(&o.MaxDatagramBytes, 8192)
	def(&o.MaxMessageBytes, 16384)
	def(&o.MaxSourceBytes, 65536)
	def(&o.MaxDocumentBytes, 4<<20)
	def(&o.MaxBufferedBytes, 256<<20)
	return o
}

// Document is what a report's document was read from: the release the
// datagrams carried (extended netconsole's release prefix, "" when none),
// and the gaps in the extended sequence met before or within it, with the
// records they lost. A report whose document has gaps may lack lines: the
// gap is recorded with it, not hidden.
type Document struct {
	Release       string
	Gaps, Missing uint64
}

// Stats counts a receiver's datagrams over all sources.
type Stats struct {
	// Datagrams counts every datagram read; Denied those from networks
	// not allowed, Oversized those longer than MaxDatagramBytes.
	Datagrams, Denied, Oversized uint64
	// Evicted counts the sources dropped to stay within MaxSources.
	Evicted uint64
	// Gaps, Missing, Duplicates, Late, Malformed and Reboots sum the
	// sources' counters of those names, evicted sources included, so
	// that they only grow.
	Gaps, Missing, Duplicates, Late, Malformed, Reboots uint64
	// Sources is how many sources are tracked now.
	Sources int
}

// add counts a source's counters into st.
func (st *Stats) add(s *Source) {
	st.Gaps += s.Gaps
	st.Missing += s.Missing
	st.Duplicates += s.Duplicates
	st.Late += s.Late
	st.Malformed += s.Malformed
	st.Reboots += s.Reboots
}

// Receiver reads netconsole datagrams from a UDP socket.
type Receiver struct {
	conn   *net.UDPConn
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why the read loop stopped, after done

	mu sync.Mutex // guards asm
	// emitMu keeps OnReport calls one at a time.
	emitMu sync.Mutex
	asm    *assembler
}

// Listen opens a UDP socket on addr ("host:port"; port 6666 is netconsole's
// default target) and receives on it until ctx is done or Close is called.
func Listen(ctx context.Context, addr string, opt Options) (*Receiver, error) {
	if len(opt.Allow) == 0 {
		return nil, fmt.Errorf("netconsole: listen %s: no source networks allowed (Options.Allow)", addr)
	}
	for _, p := range opt.Allow {
		if !p.IsValid() {
			return nil, fmt.Errorf("netconsole: listen %s: invalid allowed network %v", addr, p)
		}
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("netconsole: listen %s: %w", addr, err)
	}
	conn, ok := pc.(*net.UDPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("netconsole: listen %s: not a UDP socket", addr)
	}
	// The kernel does not retransmit: a deep socket buffer rides out a
	// burst (a panic's whole log at once). Best effort: the system caps it.
	_ = conn.SetReadBuffer(4 << 20)
	ctx, cancel := context.WithCancel(ctx)
	r := &Receiver{conn: conn, cancel: cancel, done: make(chan struct{}), asm: newAssembler(opt)}
	go func() {
		<-ctx.Done()
		conn.SetReadDeadline(time.Now())
	}()
	go r.loop(ctx)
	return r, nil
}

// Addr is the address the receiver listens on.
func (r *Receiver) Addr() netip.AddrPort {
	return r.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (r *Receiver) loop(ctx context.Context) {
	defer close(r.done)
	defer r.cancel()
	buf := make([]byte, 64<<10) // the largest UDP payload
	tick := min(r.asm.opt.ReorderDelay, r.asm.opt.IdleTimeout) / 4
	tick = min(max(tick, 10*time.Millisecond), time.Second)
	nextTick := time.Now().Add(tick)
	for {
		if err := r.conn.SetReadDeadline(nextTick); err != nil {
			r.err = fmt.Errorf("netconsole: %s: %w", r.conn.LocalAddr(), err)
			break
		}
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if ctx.Err() != nil {
			break
		}
		switch {
		case err == nil:
			r.mu.Lock()
			r.asm.datagram(from, buf[:n], now)
			r.mu.Unlock()
		case errors.Is(err, os.ErrDeadlineExceeded):
		default:
			r.err = fmt.Errorf("netconsole: read %s: %w", r.conn.LocalAddr(), err)
		}
		if r.err != nil {
			break
		}
		if !now.Before(nextTick) {
			r.mu.Lock()
			r.asm.tick(now)
			r.mu.Unlock()
			nextTick = now.Add(tick)
		}
		r.emit()
	}
	r.conn.Close()
	r.mu.Lock()
	r.asm.flushAll(time.Now())
	r.mu.Unlock()
	r.emit()
}

func (r *Receiver) emit() {
	r.mu.Lock()
	out := r.asm.take()
	r.mu.Unlock()
	if r.asm.opt.OnReport == nil {
		return
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	for _, e := range out {
		r.asm.opt.OnReport(e.src, e.doc, e.r)
	}
}

// Close stops the receiver: what its sources hold is delivered, their
// documents closed and their reports emitted before Close returns. It
// returns the error that stopped reception early, if one did.
func (r *Receiver) Close() error {
	r.cancel()
	<-r.done
	return r.err
}

// Stats returns the receiver's counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.asm.stats
	st.Sources = len(r.asm.sources)
	for _, e := range r.asm.sources {
		st.add(&e.Value.(*source).Source)
	}
	return st
}

// Sources returns every tracked source's counters, most recently heard first.
func (r *Receiver) Sources() []Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.asm.snapshot()
}
