package netconsole

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/oops"
)

// exampleLog is a real kernel's console: a QEMU guest's skb_over_panic.
var exampleLog = filepath.Join("..", "examples", "qemu-skb-over-panic", "console.log")

var stampRE = regexp.MustCompile(`^\[ *(\d+)\.(\d{6})\] (.*)$`)

// kmsgRecord is one line of a console log as the kernel held it.
type kmsgRecord struct {
	ts   uint64
	text string
}

// consoleRecords reads a console log back into records: a stamped line's
// timestamp and text; an unstamped line (init's output) gets the last stamp.
func consoleRecords(t *testing.T, path string) []kmsgRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []kmsgRecord
	var ts uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := stampRE.FindStringSubmatch(line); m != nil {
			s, _ := strconv.ParseUint(m[1], 10, 64)
			us, _ := strconv.ParseUint(m[2], 10, 64)
			ts = s*1e6 + us
			line = m[3]
		}
		out = append(out, kmsgRecord{ts: ts, text: line})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// escape writes text as /dev/kmsg and netconsole do: non-printable bytes
// and the backslash as \xHH.
func escape(text string) string {
	var b bytes.Buffer
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < ' ' || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

type collected struct {
	mu      sync.Mutex
	reports []*oops.Report
	docs    []Document
	ch      chan struct{}
}

func (c *collected) onReport(src netip.AddrPort, doc Document, r *oops.Report) {
	c.mu.Lock()
	c.reports = append(c.reports, r)
	c.docs = append(c.docs, doc)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func titles(rs []*oops.Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Title)
	}
	return out
}

// wantTitles is what oops finds in the log read as a file.
func wantTitles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := oops.Parse(f, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 {
		t.Fatalf("%s: oops finds no report: nothing to compare", path)
	}
	return titles(rs)
}

func listenLoopback(t *testing.T, opt Options) (*Receiver, *net.UDPConn) {
	t.Helper()
	r, err := Listen(context.Background(), "127.0.0.1:0", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return r, conn
}

var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// TestLoopbackExtended sends a real kernel's crash as extended netconsole
// datagrams with the release option, out of order, one record lost, one
// sent twice and long ones fragmented, and expects the reports oops finds in
// the log file, the release, and the one gap.
func TestLoopbackExtended(t *testing.T) {
	const release = "6.1.0-56-cloud-amd64"
	recs := consoleRecords(t, exampleLog)
	want := wantTitles(t, exampleLog)

	const lost = 20 // a boot line, far from the crash
	var dgs []string
	fragmented := 0
	for seq, rec := range recs {
		if seq == lost {
			continue
		}
		body := escape(rec.text) + "\n"
		if len(body) > 60 {
			// Cut at 40 bytes rather than the kernel's 1000, so that the
			// crash's long lines come in pieces.
			pieces := frags(release+",", uint64(seq), rec.ts, body, 40)
			slices.Reverse(pieces)
			dgs = append(dgs, pieces...)
			fragmented++
			continue
		}
		dgs = append(dgs, fmt.Sprintf("%s,6,%d,%d,-;%s", release, seq, rec.ts, body))
	}
	if fragmented == 0 {
		t.Fatal("no record long enough to fragment")
	}
	// Out of order: each run of 5 datagrams sent backwards; one sent twice.
	for i := 0; i+5 <= len(dgs); i += 5 {
		slices.Reverse(dgs[i : i+5])
	}
	dup := 100
	for bytes.Contains([]byte(dgs[dup]), []byte("ncfrag=")) {
		dup++
	}
	dgs = slices.Insert(dgs, dup+1, dgs[dup])

	c := &collected{ch: make(chan struct{}, 1)}
	r, conn := listenLoopback(t, Options{Allow: loopbackOnly, OnReport: c.onReport,
		ReorderDelay: 300 * time.Millisecond, IdleTimeout: 700 * time.Millisecond})
	for i, d := range dgs {
		if _, err := conn.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			// Loopback drops what overflows the socket's buffer: pace
			// the burst so the only loss is the one made on purpose.
			waitFor(t, func() bool { return r.Stats().Datagrams >= uint64(i+1) })
		}
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.reports) >= len(want)
	})
	time.Sleep(100 * time.Millisecond)

	c.mu.Lock()
	got := titles(c.reports)
	docs := slices.Clone(c.docs)
	c.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("titles:\n got %q\nwant %q", got, want)
	}
	t.Logf("%d datagrams (%d records fragmented); reports %q", len(dgs), fragmented, got)
	// One document, read past the lost record: each of its reports
	// carries the release and the gap.
	for i, d := range docs {
		if d.Release != release || d.Gaps != 1 || d.Missing != 1 {
			t.Errorf("report %d: document %+v, want release %q and the one lost record", i, d, release)
		}
	}
	src := r.Sources()
	if len(src) != 1 {
		t.Fatalf("%d sources, want 1", len(src))
	}
	s := src[0]
	if s.Gaps != 1 || s.Missing != 1 || s.Duplicates != 1 || s.Messages != uint64(len(recs)-1) || s.Release != release {
		t.Errorf("source: gaps %d missing %d duplicates %d messages %d (want %d) release %q",
			s.Gaps, s.Missing, s.Duplicates, s.Messages, len(recs)-1, s.Release)
	}
	if st := r.Stats(); st.Datagrams != uint64(len(dgs)) || st.Denied != 0 || st.Gaps != 1 || st.Missing != 1 || st.Duplicates != 1 {
		t.Errorf("stats %+v, want %d datagrams", st, len(dgs))
	}
}

// TestLoopbackPlain sends the same log as plain netconsole does: console
// text in datagrams cut anywhere; the reports are the file's, read at Close.
func TestLoopbackPlain(t *testing.T) {
	data, err := os.ReadFile(exampleLog)
	if err != nil {
		t.Fatal(err)
	}
	want := wantTitles(t, exampleLog)
	c := &collected{ch: make(chan struct{}, 1)}
	r, conn := listenLoopback(t, Options{Allow: loopbackOnly, OnReport: c.onReport, IdleTimeout: time.Minute})
	n := 0
	for off := 0; off < len(data); off += 333 {
		if _, err := conn.Write(data[off:min(off+333, len(data))]); err != nil {
			t.Fatal(err)
		}
		n++
	}
	waitFor(t, func() bool { return r.Stats().Datagrams >= uint64(n) })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := titles(c.reports); !slices.Equal(got, want) {
		t.Errorf("titles:\n got %q\nwant %q", got, want)
	}
}

func TestLoopbackDenied(t *testing.T) {
	c := &collected{ch: make(chan struct{}, 1)}
	r, conn := listenLoopback(t, Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, OnReport: c.onReport})
	for range 3 {
		if _, err := conn.Write([]byte(ext(0, 1, "kernel BUG at net/core/skbuff.c:120!"))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return r.Stats().Denied == 3 })
	r.Close()
	if st := r.Stats(); st.Sources != 0 || len(c.reports) != 0 {
		t.Errorf("denied datagrams made %d sources, %d reports", st.Sources, len(c.reports))
	}
}

func TestListenErrors(t *testing.T) {
	for _, tc := range []struct {
		addr string
		opt  Options
	}{
		{"127.0.0.1:0", Options{}},
		{"127.0.0.1:0", Options{Allow: []netip.Prefix{{}}}},
		{"127.0.0.1:notaport", Options{Allow: loopbackOnly}},
	} {
		if r, err := Listen(context.Background(), tc.addr, tc.opt); err == nil {
			r.Close()
			t.Errorf("Listen(%q, %+v) succeeded", tc.addr, tc.opt)
		}
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkLoopback measures a single source's extended datagrams per second
// through the socket, the parser, the reorder and the scanner.
func BenchmarkLoopback(b *testing.B) {
	r, err := Listen(context.Background(), "127.0.0.1:0", Options{Allow: loopbackOnly})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ResetTimer()
	for i := range b.N {
		d := fmt.Sprintf("6.1.0-56-cloud-amd64,6,%d,%d,-;e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None\n", i, i*10)
		if _, err := conn.Write([]byte(d)); err != nil {
			b.Fatal(err)
		}
		if i%128 == 127 {
			for r.Stats().Datagrams < uint64(i+1) {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	for r.Stats().Datagrams < uint64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
}

// BenchmarkAssembler measures the same without the socket.
func BenchmarkAssembler(b *testing.B) {
	a := newAssembler(Options{Allow: loopbackOnly})
	src := netip.MustParseAddrPort("127.0.0.1:6665")
	now := time.Now()
	var d []byte
	for i := range b.N {
		d = fmt.Appendf(d[:0], "6.1.0-56-cloud-amd64,6,%d,%d,-;e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None\n", i, i*10)
		a.datagram(src, d, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
}

// TestLoopbackTwoHosts interleaves two hosts' logs datagram by datagram, one
// extended (the QEMU guest's console), one plain (a ticket's pasted
// vmcore-dmesg), and expects each host's reports to be its own file's.
func TestLoopbackTwoHosts(t *testing.T) {
	seed := testshared.Path(t, "seed/000_3286c7f043f8c294.txt")
	plain, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	recs := consoleRecords(t, exampleLog)
	want := map[string][]string{"ext": wantTitles(t, exampleLog), "plain": wantTitles(t, seed)}

	var mu sync.Mutex
	got := map[netip.AddrPort][]string{}
	r, err := Listen(context.Background(), "127.0.0.1:0", Options{Allow: loopbackOnly, IdleTimeout: time.Minute,
		OnReport: func(src netip.AddrPort, _ Document, rep *oops.Report) {
			mu.Lock()
			got[src] = append(got[src], rep.Title)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	dial := func() *net.UDPConn {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	extConn, plainConn := dial(), dial()
	sent := 0
	var lines [][]byte
	for l := range bytes.Lines(plain) {
		lines = append(lines, l)
	}
	for i := 0; i < max(len(recs), len(lines)); i++ {
		if i < len(recs) {
			if _, err := extConn.Write([]byte(ext(uint64(i), recs[i].ts, escape(recs[i].text)))); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		if i < len(lines) {
			if _, err := plainConn.Write(lines[i]); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		if i%32 == 31 {
			waitFor(t, func() bool { return r.Stats().Datagrams >= uint64(sent) })
		}
	}
	waitFor(t, func() bool { return r.Stats().Datagrams >= uint64(sent) })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("reports: %q", got)
	for name, conn := range map[string]*net.UDPConn{"ext": extConn, "plain": plainConn} {
		src := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		if !slices.Equal(got[src], want[name]) {
			t.Errorf("%s host %v: titles %q, want %q", name, src, got[src], want[name])
		}
	}
}
