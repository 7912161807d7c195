package netconsole

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	host  = netip.MustParseAddrPort("10.0.2.15:6665")
	host2 = netip.MustParseAddrPort("10.0.2.16:6665")
	t0    = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
)

// ext builds an extended record as netconsole sends it: the /dev/kmsg header
// (level 6, flag '-'), the text and its newline.
func ext(seq, ts uint64, text string) string {
	return fmt.Sprintf("6,%d,%d,-;%s\n", seq, ts, text)
}

// frags cuts an extended record's body into datagrams of at most chunk
// bytes, each with the ncfrag field, as netconsole does past 1000 bytes.
func frags(prefix string, seq, ts uint64, body string, chunk int) []string {
	var out []string
	for off := 0; off < len(body); off += chunk {
		end := min(off+chunk, len(body))
		out = append(out, fmt.Sprintf("%s6,%d,%d,-,ncfrag=%d/%d;%s", prefix, seq, ts, off, len(body), body[off:end]))
	}
	return out
}

// step is one event of a test: a datagram from a source at an offset of t0,
// or (when tick) the clock's tick.
type step struct {
	at   time.Duration
	src  netip.AddrPort
	data string
	tick bool
}

func dg(at time.Duration, data string) step { return step{at: at, src: host, data: data} }
func tick(at time.Duration) step            { return step{at: at, tick: true} }

func run(t *testing.T, opt Options, steps []step) (*assembler, []string) {
	t.Helper()
	var lines []string
	opt.OnLine = func(src netip.AddrPort, line []byte) { lines = append(lines, string(line)) }
	if opt.Allow == nil {
		opt.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24")}
	}
	a := newAssembler(opt)
	for _, s := range steps {
		if s.tick {
			a.tick(t0.Add(s.at))
			continue
		}
		src := s.src
		if !src.IsValid() {
			src = host
		}
		a.datagram(src, []byte(s.data), t0.Add(s.at))
	}
	a.flushAll(t0.Add(time.Hour))
	return a, lines
}

func TestAssembler(t *testing.T) {
	long := strings.Repeat("x", 2500)
	tests := []struct {
		name  string
		steps []step
		lines []string
		check func(t *testing.T, s Source)
	}{
		{
			name:  "plain lines split across datagrams",
			steps: []step{dg(0, "[    1.000000] one\n[    1.1"), dg(0, "00000] two\n"), dg(0, "three\nfour")},
			lines: []string{"[    1.000000] one", "[    1.100000] two", "three", "four"}, // "four" read at the flush
			check: func(t *testing.T, s Source) {
				if s.Extended {
					t.Error("plain source marked extended")
				}
			},
		},
		{
			name:  "extended in order",
			steps: []step{dg(0, ext(0, 1000, "a")), dg(0, ext(1, 2000500, "b"))},
			lines: []string{"[    0.001000] a", "[    2.000500] b"},
		},
		{
			name:  "extended out of order is reordered",
			steps: []step{dg(0, ext(0, 1, "a")), dg(0, ext(3, 4, "d")), dg(0, ext(2, 3, "c")), dg(0, ext(1, 2, "b"))},
			lines: []string{"[    0.000001] a", "[    0.000002] b", "[    0.000003] c", "[    0.000004] d"},
			check: func(t *testing.T, s Source) {
				if s.Gaps != 0 || s.Messages != 4 {
					t.Errorf("gaps %d messages %d, want 0 and 4", s.Gaps, s.Messages)
				}
			},
		},
		{
			name:  "duplicates dropped",
			steps: []step{dg(0, ext(0, 1, "a")), dg(0, ext(0, 1, "a")), dg(0, ext(2, 3, "c")), dg(0, ext(2, 3, "c")), dg(0, ext(1, 2, "b"))},
			lines: []string{"[    0.000001] a", "[    0.000002] b", "[    0.000003] c"},
			check: func(t *testing.T, s Source) {
				if s.Duplicates != 2 {
					t.Errorf("duplicates %d, want 2", s.Duplicates)
				}
			},
		},
		{
			name: "gap recorded after the reorder delay, straggler late",
			steps: []step{dg(0, ext(0, 1, "a")), dg(0, ext(1, 2, "b")), dg(0, ext(4, 5, "e")), dg(0, ext(5, 6, "f")),
				tick(time.Second), tick(3 * time.Second), dg(4*time.Second, ext(2, 3, "c"))},
			lines: []string{"[    0.000001] a", "[    0.000002] b", "[    0.000005] e", "[    0.000006] f"},
			check: func(t *testing.T, s Source) {
				if s.Gaps != 1 || s.Missing != 2 || s.Late != 1 {
					t.Errorf("gaps %d missing %d late %d, want 1, 2, 1", s.Gaps, s.Missing, s.Late)
				}
			},
		},
		{
			name: "gap given up when the window fills",
			steps: func() []step {
				st := []step{dg(0, ext(0, 1, "a"))}
				for i := uint64(2); i < 2+5; i++ {
					st = append(st, dg(0, ext(i, i+1, "z")))
				}
				return st
			}(),
			lines: []string{"[    0.000001] a", "[    0.000003] z", "[    0.000004] z", "[    0.000005] z", "[    0.000006] z", "[    0.000007] z"},
			check: func(t *testing.T, s Source) {
				if s.Gaps != 1 || s.Missing != 1 {
					t.Errorf("gaps %d missing %d, want 1, 1", s.Gaps, s.Missing)
				}
			},
		},
		{
			name:  "first record waits for the delay when it is not seq 0",
			steps: []step{dg(0, ext(11, 2, "b")), dg(0, ext(10, 1, "a")), tick(3 * time.Second)},
			lines: []string{"[    0.000001] a", "[    0.000002] b"},
			check: func(t *testing.T, s Source) {
				if s.Gaps != 0 {
					t.Errorf("gaps %d, want 0", s.Gaps)
				}
			},
		},
		{
			name: "fragments reassembled out of order, release kept",
			steps: func() []step {
				f := frags("6.1.0-13-amd64,", 0, 5678901, long+"\n SUBSYSTEM=net\n", 1000)
				return []step{dg(0, f[2]), dg(0, f[0]), dg(0, f[1]), dg(0, f[1])}
			}(),
			lines: []string{"[    5.678901] " + long},
			check: func(t *testing.T, s Source) {
				if s.Release != "6.1.0-13-amd64" || s.Messages != 1 {
					t.Errorf("release %q messages %d", s.Release, s.Messages)
				}
			},
		},
		{
			name:  "documented fragment example",
			steps: []step{dg(0, "6,416,1758426,-,ncfrag=0/31;the first chunk,"), dg(0, "6,416,1758426,-,ncfrag=16/31; the 2nd chunk."), tick(3 * time.Second)},
			lines: []string{"[    1.758426] the first chunk, the 2nd chunk."},
		},
		{
			name: "unfinished fragments become a gap",
			steps: func() []step {
				f := frags("", 1, 2, long, 1000)
				return []step{dg(0, ext(0, 1, "a")), dg(0, f[0]), dg(0, ext(2, 3, "c")), tick(3 * time.Second), tick(20 * time.Second)}
			}(),
			lines: []string{"[    0.000001] a", "[    0.000003] c"},
			check: func(t *testing.T, s Source) {
				if s.Gaps != 1 || s.FragmentsDropped != 1 {
					t.Errorf("gaps %d fragments dropped %d, want 1, 1", s.Gaps, s.FragmentsDropped)
				}
			},
		},
		{
			name:  "dictionary and userdata dropped, escapes undone",
			steps: []step{dg(0, "4,0,7,-;e1000e 0000:00:19.0 eth0: tab\\x09here\\x0asecond\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:19.0\nhostname=web01\n")},
			lines: []string{"[    0.000007] e1000e 0000:00:19.0 eth0: tab\there", "[    0.000007] second"},
		},
		{
			name:  "continued line joined",
			steps: []step{dg(0, "6,0,1,c;Modules linked in:"), dg(0, "6,1,1,+; a"), dg(0, "6,2,1,+; b"), dg(0, ext(3, 2, "next"))},
			lines: []string{"[    0.000001] Modules linked in: a b", "[    0.000002] next"},
		},
		{
			name:  "reboot: a number reused with another timestamp",
			steps: []step{dg(0, ext(0, 1, "boot1")), dg(0, ext(1, 2, "x")), dg(0, ext(0, 9, "boot2"))},
			lines: []string{"[    0.000001] boot1", "[    0.000002] x", "[    0.000009] boot2"},
			check: func(t *testing.T, s Source) {
				if s.Reboots != 1 || s.Documents != 2 || s.Duplicates != 0 {
					t.Errorf("reboots %d documents %d duplicates %d, want 1, 2, 0", s.Reboots, s.Documents, s.Duplicates)
				}
			},
		},
		{
			name:  "reboot: a later number with an earlier clock",
			steps: []step{dg(0, ext(0, 1, "a")), dg(0, ext(1, 5e6, "b")), dg(0, ext(2, 5e6+1, "c")), dg(0, ext(700, 2e6, "new boot")), tick(3 * time.Second)},
			lines: []string{"[    0.000001] a", "[    5.000000] b", "[    5.000001] c", "[    2.000000] new boot"},
			check: func(t *testing.T, s Source) {
				if s.Reboots != 1 || s.Gaps != 0 {
					t.Errorf("reboots %d gaps %d, want 1, 0", s.Reboots, s.Gaps)
				}
			},
		},
		{
			name:  "reboot: another release",
			steps: []step{dg(0, "6.1.0-1,6,0,1,-;a\n"), dg(0, "6.1.0-2,6,5,1,-;b\n")},
			lines: []string{"[    0.000001] a", "[    0.000001] b"},
			check: func(t *testing.T, s Source) {
				if s.Reboots != 1 || s.Release != "6.1.0-2" {
					t.Errorf("reboots %d release %q", s.Reboots, s.Release)
				}
			},
		},
		{
			name:  "plain datagram from an extended source is malformed",
			steps: []step{dg(0, ext(0, 1, "a")), dg(0, "garbage\n")},
			lines: []string{"[    0.000001] a"},
			check: func(t *testing.T, s Source) {
				if s.Malformed != 1 {
					t.Errorf("malformed %d, want 1", s.Malformed)
				}
			},
		},
		{
			name:  "long plain line truncated",
			steps: []step{dg(0, strings.Repeat("y", 3000)), dg(0, strings.Repeat("y", 3000)+"\n")},
			lines: []string{strings.Repeat("y", maxLineBytes)},
			check: func(t *testing.T, s Source) {
				if s.Truncated == 0 {
					t.Error("truncation not counted")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, lines := run(t, Options{ReorderWindow: 4}, tc.steps)
			if !reflect.DeepEqual(lines, tc.lines) {
				t.Errorf("lines:\n got %q\nwant %q", lines, tc.lines)
			}
			src := a.snapshot()
			if len(src) != 1 {
				t.Fatalf("%d sources, want 1", len(src))
			}
			if tc.check != nil {
				tc.check(t, src[0])
			}
		})
	}
}

func TestAssemblerLimits(t *testing.T) {
	t.Run("denied and oversized", func(t *testing.T) {
		a, lines := run(t, Options{MaxDatagramBytes: 100}, []step{
			{src: netip.MustParseAddrPort("192.0.2.1:6665"), data: ext(0, 1, "a")},
			{src: netip.MustParseAddrPort("[::ffff:10.0.2.15]:6665"), data: ext(0, 1, "mapped")},
			dg(0, ext(1, 2, strings.Repeat("z", 200))),
		})
		a.flushAll(t0)
		if a.stats.Denied != 1 || a.stats.Oversized != 1 || len(lines) != 1 {
			t.Errorf("stats %+v lines %q", a.stats, lines)
		}
	})
	t.Run("sources evicted least recently heard first", func(t *testing.T) {
		var st []step
		for i := range 10 {
			st = append(st, step{src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, byte(i)}), 6665), data: "line\n"})
		}
		st = append(st, step{src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, 7}), 6665), data: "again\n"})
		st = append(st, step{src: host2, data: "new\n"})
		a, _ := run(t, Options{MaxSources: 3}, st)
		got := a.snapshot()
		var addrs []string
		for _, s := range got {
			addrs = append(addrs, s.Addr.String())
		}
		want := []string{host2.String(), "10.0.2.7:6665", "10.0.2.9:6665"}
		if !reflect.DeepEqual(addrs, want) || a.stats.Evicted != 8 {
			t.Errorf("sources %v evicted %d, want %v and 8", addrs, a.stats.Evicted, want)
		}
	})
	t.Run("endless fragments stay bounded", func(t *testing.T) {
		a, _ := run(t, Options{MaxSourceBytes: 20000}, nil)
		for seq := range uint64(1000) {
			a.datagram(host, []byte(fmt.Sprintf("6,%d,1,-,ncfrag=0/16000;%s", seq+1, strings.Repeat("q", 900))), t0)
		}
		s := a.sources[host].Value.(*source)
		if s.held > 20000 || len(s.frags) > maxFragSets {
			t.Errorf("holds %d bytes in %d fragment sets", s.held, len(s.frags))
		}
	})
	t.Run("documents closed at the buffered bound", func(t *testing.T) {
		a, _ := run(t, Options{MaxBufferedBytes: 10000, MaxDocumentBytes: 8000}, nil)
		for i := range 200 {
			src := host
			if i%2 == 1 {
				src = host2
			}
			a.datagram(src, []byte(strings.Repeat("w", 100)+"\n"), t0)
			if a.docBytes > 10000 {
				t.Fatalf("after %d datagrams %d bytes in open documents", i, a.docBytes)
			}
		}
		if a.sources[host].Value.(*source).Documents == 0 {
			t.Error("no document closed")
		}
	})
}

// TestAssemblerEmits checks when a document's reports come: not while the
// source talks, at the idle timeout, at the document age in a lull, and at a
// reboot.
func TestAssemblerEmits(t *testing.T) {
	recs := consoleRecords(t, exampleLog)
	want := wantTitles(t, exampleLog)
	last := recs[len(recs)-1]
	if !strings.HasPrefix(last.text, "---[ end Kernel panic") {
		t.Fatalf("the example's last record is %q, not the end of its panic", last.text)
	}
	// Without the kernel's last words: a crash whose end never came.
	cut := recs[:len(recs)-1]
	send := func(a *assembler, at time.Duration, seq0 uint64) {
		for i, r := range cut {
			a.datagram(host, []byte(ext(seq0+uint64(i), r.ts, escape(r.text))), t0.Add(at))
		}
	}
	tests := []struct {
		name string
		run  func(a *assembler) (before, after []emitted)
		docs uint64
	}{
		{
			name: "idle timeout",
			run: func(a *assembler) (before, after []emitted) {
				send(a, 0, 0)
				a.tick(t0.Add(9 * time.Second))
				before = a.take()
				a.tick(t0.Add(10 * time.Second))
				return before, a.take()
			},
			docs: 1,
		},
		{
			name: "end of the panic",
			run: func(a *assembler) (before, after []emitted) {
				send(a, 0, 0)
				a.datagram(host, []byte(ext(uint64(len(cut)), last.ts, escape(last.text))), t0)
				a.tick(t0.Add(100 * time.Millisecond))
				before = a.take()
				a.tick(t0.Add(600 * time.Millisecond))
				return before, a.take()
			},
			docs: 1,
		},
		{
			name: "document age, at a lull",
			run: func(a *assembler) (before, after []emitted) {
				send(a, 0, 0)
				seq := uint64(len(cut))
				// A line every second for six minutes: never idle.
				for s := 1; s <= 360; s++ {
					at := time.Duration(s) * time.Second
					a.datagram(host, []byte(ext(seq, 1e9+uint64(s), "chatter")), t0.Add(at))
					seq++
					a.tick(t0.Add(at + 500*time.Millisecond))
				}
				before = a.take()
				a.tick(t0.Add(363 * time.Second))
				return before, a.take()
			},
			docs: 1,
		},
		{
			name: "reboot",
			run: func(a *assembler) (before, after []emitted) {
				send(a, 0, 0)
				before = a.take()
				a.datagram(host, []byte(ext(0, 5, "Linux version 6.1.0")), t0.Add(time.Second))
				return before, a.take()
			},
			docs: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAssembler(Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
			before, after := tc.run(a)
			if len(before) != 0 {
				t.Errorf("%d reports before the document closed", len(before))
			}
			var got []string
			for _, e := range after {
				got = append(got, e.r.Title)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("titles %q, want %q", got, want)
			}
			if s := a.snapshot()[0]; s.Documents != tc.docs {
				t.Errorf("%d documents, want %d", s.Documents, tc.docs)
			}
		})
	}
}
