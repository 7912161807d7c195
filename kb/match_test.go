package kb

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

const seedID = "tcp-trim-head-skb-data-len"

// The two crashes of the founding case (shared/seed), as the triage layer
// hands them over: crash(8)'s bt below the exception frame, and the
// skb_over_panic fragment.
var (
	seedChecksum = Crash{
		Title:  "kernel BUG in dev_hard_start_xmit",
		Type:   "BUG",
		Guilty: "dev_hard_start_xmit",
		Frames: []string{"skb_checksum", "skb_checksum_help", "dev_hard_start_xmit", "sch_direct_xmit",
			"dev_queue_xmit", "bond_dev_queue_xmit", "bond_start_xmit", "dev_hard_start_xmit", "dev_queue_xmit",
			"ip_finish_output", "ip_output", "ip_local_out", "ip_queue_xmit", "tcp_transmit_skb", "tcp_write_xmit",
			"__tcp_push_pending_frames", "tcp_data_snd_check", "tcp_rcv_established", "tcp_v4_do_rcv", "tcp_v4_rcv",
			"ip_local_deliver_finish", "ip_local_deliver", "ip_rcv_finish", "ip_rcv", "__netif_receive_skb",
			"netif_receive_skb", "napi_skb_finish", "napi_gro_receive", "ixgbe_clean_rx_irq", "ixgbe_poll",
			"net_rx_action", "__do_softirq", "call_softirq", "do_softirq", "irq_exit", "do_IRQ"},
		Location: "net/core/skbuff.c:1886",
		Modules:  []string{"bonding", "ixgbe"},
		Release:  "2.6.32-504.23.4.el6.x86_64",
	}
	seedOverPanic = Crash{
		Title:   "kernel BUG in tcp_sendmsg",
		Type:    "BUG",
		Guilty:  "tcp_sendmsg",
		Frames:  []string{"skb_over_panic+0x5d/0x70", "? sk_stream_alloc_skb+0xb2/0x110", "skb_put+0x5c/0x70", "tcp_sendmsg+0x54b/0xa20", "sock_sendmsg+0x123/0x150"},
		Release: "2.6.32-504.23.4.el6.x86_64",
	}
)

func embeddedKB(t *testing.T) *KB {
	t.Helper()
	k, err := Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	return k
}

// draftsKB is the embedded knowledge base with the draft entries of
// kb/drafts (sourced bugs still without a published report).
func draftsKB(t *testing.T) *KB {
	t.Helper()
	k, err := Load("drafts")
	if err != nil {
		t.Fatalf("Load(drafts): %v", err)
	}
	return k
}

func matchIDs(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Entry.ID)
	}
	return ids
}

func TestSeedCrashesMatch(t *testing.T) {
	k := embeddedKB(t)
	cases := []struct {
		name  string
		crash Crash
		want  []string
	}{
		{"skb_checksum BUG", seedChecksum, []string{
			"signature 1 of 2",
			"crash type BUG is one of BUG",
			"frames skb_checksum → skb_checksum_help → dev_hard_start_xmit in order",
			"release 2.6.32-504.23.4.el6.x86_64 in [2.6.32, 2.6.33) (rpm)",
		}},
		{"skb_over_panic", seedOverPanic, []string{
			"signature 2 of 2",
			"crash type BUG is one of BUG",
			`title "kernel BUG in tcp_sendmsg" matches /^kernel BUG in tcp_sendmsg/`,
			"frames skb_over_panic → skb_put → tcp_sendmsg in order",
			"release 2.6.32-504.23.4.el6.x86_64 in [2.6.32, 2.6.33) (rpm)",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := k.Match(c.crash)
			if got := matchIDs(ms); !reflect.DeepEqual(got, []string{seedID}) {
				t.Fatalf("matches = %v, want only %s", got, seedID)
			}
			if !reflect.DeepEqual(ms[0].Evidence, c.want) {
				t.Errorf("evidence =\n%q\nwant\n%q", ms[0].Evidence, c.want)
			}
		})
	}
}

// TestSeedFileMatches reads the founding case itself (shared/seed, found by
// testshared) with a deliberately simple extraction, so the test follows the
// seed rather than our copy of it.
func TestSeedFileMatches(t *testing.T) {
	f, err := os.Open(testshared.Path(t, testshared.Seed))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ripRE := regexp.MustCompile(`\[exception RIP: ([A-Za-z0-9_.]+)\+`)
	btRE := regexp.MustCompile(`^\s*#\d+ \[[0-9a-f]+\] (\S+) at `)
	oopsRIP := regexp.MustCompile(`RIP: .*\] (\S+)\+0x`)
	traceRE := regexp.MustCompile(`^\s*\[<[0-9a-f]+>\] (\?\s+)?(\S+)`)
	var bt, frag []string
	inBT := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := ripRE.FindStringSubmatch(line); m != nil && bt == nil {
			bt, inBT = []string{m[1]}, true
			continue
		}
		if inBT {
			if m := btRE.FindStringSubmatch(line); m != nil {
				bt = append(bt, m[1])
				continue
			}
			if strings.TrimSpace(line) == "" {
				inBT = false
			}
		}
		if m := oopsRIP.FindStringSubmatch(line); m != nil {
			frag = []string{m[1]}
			continue
		}
		if m := traceRE.FindStringSubmatch(line); m != nil && frag != nil {
			frag = append(frag, m[2])
		}
	}
	if len(bt) < 5 || len(frag) < 3 {
		t.Fatalf("could not extract the seed's traces: bt=%v fragment=%v", bt, frag)
	}
	k := embeddedKB(t)
	for _, c := range []Crash{
		{Type: "BUG", Title: "kernel BUG in dev_hard_start_xmit", Frames: bt, Release: "2.6.32-504.23.4.el6.x86_64"},
		{Type: "BUG", Title: "kernel BUG in tcp_sendmsg", Frames: frag, Release: "2.6.32-504.23.4.el6.x86_64"},
	} {
		if got := matchIDs(k.Match(c)); !reflect.DeepEqual(got, []string{seedID}) {
			t.Errorf("seed crash with frames %v matches %v, want %s", c.Frames, got, seedID)
		}
	}
}

func TestNoFalseMatches(t *testing.T) {
	k := embeddedKB(t)
	reversed := append([]string(nil), seedChecksum.Frames[:3]...)
	reversed[0], reversed[2] = reversed[2], reversed[0]
	cases := []struct {
		name  string
		crash Crash
	}{
		// The QEMU example in examples/qemu-skb-over-panic: a driver's own
		// skb_put overflow on a Debian 6.1 kernel.
		{"unrelated skb_put overflow", Crash{Title: "kernel BUG in crashnet_start_xmit", Type: "BUG", Guilty: "crashnet_start_xmit",
			Frames:  []string{"skb_panic", "skb_put.cold", "crashnet_start_xmit", "dev_hard_start_xmit", "sch_direct_xmit", "__dev_queue_xmit", "arp_xmit"},
			Release: "6.1.0-56-cloud-amd64", Location: "net/core/skbuff.c:120"}},
		{"unrelated NULL dereference", Crash{Title: "BUG: unable to handle kernel NULL pointer dereference in ext4_writepages", Type: "NULL-POINTER-DEREFERENCE",
			Guilty: "ext4_writepages", Frames: []string{"ext4_writepages", "do_writepages", "__writeback_single_inode"}, Release: "5.15.0-91-generic"}},
		{"WARNING with the seed's frames", func() Crash { c := seedChecksum; c.Type = "WARNING"; return c }()},
		{"frames in the wrong order", func() Crash { c := seedChecksum; c.Frames = reversed; return c }()},
		{"release outside the RHEL 6 range", func() Crash { c := seedChecksum; c.Release = "3.10.0-957.el7.x86_64"; return c }()},
		{"skb_over_panic outside tcp_sendmsg", func() Crash {
			c := seedOverPanic
			c.Title, c.Guilty = "kernel BUG in udp_sendmsg", "udp_sendmsg"
			c.Frames = []string{"skb_over_panic", "skb_put", "udp_sendmsg"}
			return c
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if ms := atLeast(k.Match(c.crash), Likely); len(ms) != 0 {
				t.Errorf("matches %v, want none above possible", matchIDs(ms))
			}
		})
	}
}

func TestMatchDetails(t *testing.T) {
	k := draftsKB(t)
	seed := k.Get(seedID)
	if seed == nil {
		t.Fatal("seed entry missing")
	}

	// Interleaved frames still form the subsequence; compiler suffixes,
	// offsets, modules and "?" markers are removed first.
	c := seedChecksum
	c.Frames = []string{"? csum_partial+0x10/0x20", "skb_checksum.isra.0+0x2d5/0x300", "extra_frame", "skb_checksum_help.constprop.3", "something [bonding]", "dev_hard_start_xmit.cold"}
	if m, ok := seed.matchCrash(c); !ok {
		t.Errorf("interleaved frames with suffixes did not match")
	} else if m.Evidence[2] != "frames skb_checksum → skb_checksum_help → dev_hard_start_xmit in order" {
		t.Errorf("evidence %q", m.Evidence[2])
	}

	// The newer transmit path.
	c.Frames = []string{"__skb_checksum", "skb_checksum", "skb_checksum_help", "validate_xmit_skb", "__dev_queue_xmit"}
	if _, ok := seed.matchCrash(c); !ok {
		t.Errorf("__skb_checksum ← skb_checksum_help ← validate_xmit_skb did not match")
	}

	// An unknown release does not exclude the match, and says so.
	c = seedChecksum
	c.Release = ""
	m, ok := seed.matchCrash(c)
	if !ok || m.Evidence[len(m.Evidence)-1] != "kernel release unknown: release ranges not checked" {
		t.Errorf("unknown release: ok=%v evidence=%q", ok, m.Evidence)
	}

	// A frame list that stops short of the sequence does not match.
	c = seedChecksum
	c.Frames = []string{"skb_checksum", "skb_checksum_help"}
	if _, ok := seed.matchCrash(c); ok {
		t.Errorf("truncated frames matched")
	}

	// SACK Panic: guilty function in one signature, release ranges on top.
	sack := Crash{Title: "kernel BUG in tcp_shifted_skb", Type: "BUG", Guilty: "tcp_shifted_skb", Release: "4.19.37"}
	if got := matchIDs(k.Match(sack)); !reflect.DeepEqual(got, []string{"tcp-sack-panic"}) {
		t.Errorf("SACK panic on 4.19.37 matches %v", got)
	}
	sack.Release = "4.19.52"
	if got := matchIDs(atLeast(k.Match(sack), Likely)); len(got) != 0 {
		t.Errorf("SACK panic on fixed 4.19.52 matches %v", got)
	}
	// ... but stays a possible match: the reader asks whether it is fixed.
	if ms := k.Match(sack); len(ms) != 1 || ms[0].Confidence != Possible || !strings.Contains(ms[0].Why, "fixed in this kernel already?") {
		t.Errorf("SACK panic on fixed 4.19.52: %+v, want one possible match asking whether it is fixed", ms)
	}
}

func TestNormalizeFunction(t *testing.T) {
	cases := map[string]string{
		"skb_checksum+725":                       "skb_checksum",
		"skb_put+0x5c/0x70":                      "skb_put",
		"? sk_stream_alloc_skb+0xb2/0x110":       "sk_stream_alloc_skb",
		"bond_start_xmit+0x1/0x2 [bonding]":      "bond_start_xmit",
		"tcp_write_xmit.isra.0":                  "tcp_write_xmit",
		"__list_del_entry_valid.cold":            "__list_del_entry_valid",
		"foo.constprop.3.isra.1":                 "foo",
		"foo.part.0.cold.12":                     "foo",
		"bar.llvm.123456":                        "bar",
		"isra_handler":                           "isra_handler",
		"  __skb_checksum  ":                     "__skb_checksum",
		"dev_hard_start_xmit.cold+0x12/0x40 [x]": "dev_hard_start_xmit",
	}
	for in, want := range cases {
		if got := NormalizeFunction(in); got != want {
			t.Errorf("NormalizeFunction(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMatchSemantics exercises the rule language on a small entry: top-level
// conditions AND each any block, blocks OR, alternatives within a field OR.
func TestMatchSemantics(t *testing.T) {
	src := `id: demo
title: Demo
summary: A demo entry.
verified: false
match:
  releases:
    - {min: "6.1.0-10", max_exclusive: "6.1.0-14", scheme: deb-abi}
    - {max_exclusive: "6.1.60-1", scheme: deb}
  any:
    - types: [WARNING]
      functions: ['foo_(xmit|recv)']
      modules: [demo-mod]
    - types: [BUG]
      locations: ['^net/demo\.c:']
      frames:
        - ['a', 'b']
        - ['x', 'y', 'z']
root_cause: {text: Demo.}
references: [{kind: url, url: "https://example.org/demo", verified: false}]
`
	e, err := parseEntry("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	base := Crash{Release: "6.1.0-13-amd64"}
	cases := []struct {
		name string
		c    func(Crash) Crash
		want bool
	}{
		{"warning block", func(c Crash) Crash {
			c.Type, c.Guilty, c.Modules = "WARNING", "foo_recv.isra.0", []string{"demo_mod"}
			return c
		}, true},
		{"warning block, module missing", func(c Crash) Crash { c.Type, c.Guilty = "WARNING", "foo_recv"; return c }, false},
		{"warning block, function only a prefix", func(c Crash) Crash {
			c.Type, c.Guilty, c.Modules = "WARNING", "foo_recvmsg", []string{"demo_mod"}
			return c
		}, false},
		{"bug block, second frame sequence", func(c Crash) Crash {
			c.Type, c.Location, c.Frames = "BUG", "net/demo.c:12", []string{"x", "q", "y", "z"}
			return c
		}, true},
		{"bug block without location", func(c Crash) Crash { c.Type, c.Frames = "BUG", []string{"a", "b"}; return c }, false},
		{"bug block, out of ABI range", func(c Crash) Crash {
			c.Type, c.Location, c.Frames, c.Release = "BUG", "net/demo.c:12", []string{"a", "b"}, "6.1.0-15-amd64"
			return c
		}, false},
		{"bug block, out of ABI range but package in range", func(c Crash) Crash {
			c.Type, c.Location, c.Frames, c.Release, c.PackageVersion = "BUG", "net/demo.c:12", []string{"a", "b"}, "6.1.0-15-amd64", "6.1.55-1"
			return c
		}, true},
		{"types from the other block", func(c Crash) Crash { c.Type, c.Guilty, c.Modules = "BUG", "foo_xmit", []string{"demo-mod"}; return c }, false},
	}
	for _, tc := range cases {
		c := tc.c(base)
		if m, ok := e.matchCrash(c); (ok && m.Confidence >= Likely) != tc.want {
			got := ok && m.Confidence >= Likely
			t.Errorf("%s: match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// atLeast keeps the matches of confidence c or more.
func atLeast(ms []Match, c Confidence) []Match {
	var out []Match
	for _, m := range ms {
		if m.Confidence >= c {
			out = append(out, m)
		}
	}
	return out
}

// TestConfidence: exact with the release in range, likely without a
// release, possible out of range or on the guilty function alone, and no
// match when not even the function agrees.
func TestConfidence(t *testing.T) {
	k := draftsKB(t)
	sack := Crash{Title: "kernel BUG in tcp_shifted_skb", Type: "BUG", Guilty: "tcp_shifted_skb"}
	cases := []struct {
		name string
		edit func(*Crash)
		want Confidence
	}{
		{"release in range", func(c *Crash) { c.Release = "4.19.37" }, Exact},
		{"release unknown", func(c *Crash) {}, Likely},
		{"release fixed", func(c *Crash) { c.Release = "5.4.0" }, Possible},
		{"another type, same function", func(c *Crash) { c.Type, c.Title, c.Release = "WARNING", "WARNING in tcp_shifted_skb", "4.19.37" }, Possible},
		{"another function", func(c *Crash) {
			c.Guilty, c.Title, c.Release = "tcp_sacktag_walk", "kernel BUG in tcp_sacktag_walk", "4.19.37"
		}, 0},
	}
	for _, tc := range cases {
		c := sack
		tc.edit(&c)
		var got Confidence
		for _, m := range k.Match(c) {
			if m.Entry.ID == "tcp-sack-panic" {
				got = m.Confidence
				if m.Why == "" {
					t.Errorf("%s: no reason given", tc.name)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: confidence %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestImpliedRange: an entry that states no affected releases is exact only
// before its fix's first release, possible from it on, and likely when it
// names no fix release either.
func TestImpliedRange(t *testing.T) {
	src := `id: demo
title: Demo
summary: A demo entry.
verified: false
match:
  types: [BUG]
  functions: ['mydrv_xmit']
root_cause: {text: Demo.}
fixed_in:
  upstream: {commit: 0123456789ab, title: "mydrv: fix", release: v6.2, verified: false}
references: [{kind: url, url: "https://example.org/demo", verified: false}]
`
	e, err := parseEntry("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	noFix, err := parseEntry("demo.yaml", []byte(strings.Replace(src, ", release: v6.2", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e       *Entry
		release string
		want    Confidence
	}{
		{e, "6.1.0-13-amd64", Exact},
		{e, "6.2.1", Possible},
		{e, "6.5.0-0.rc1.fc39.x86_64", Possible},
		{e, "", Likely},
		{noFix, "6.1.0", Likely},
	} {
		m, ok := c.e.matchCrash(Crash{Type: "BUG", Guilty: "mydrv_xmit", Title: "kernel BUG in mydrv_xmit", Release: c.release})
		if !ok || m.Confidence != c.want {
			t.Errorf("release %q: %v %v (%s), want %v", c.release, ok, m.Confidence, m.Why, c.want)
		}
	}
}

// TestAffects: a kernel installed on a host is judged by the entry's
// ranges alone, stated or implied.
func TestAffects(t *testing.T) {
	k := draftsKB(t)
	sack := k.Get("tcp-sack-panic")
	if sack == nil {
		t.Fatal("no tcp-sack-panic draft")
	}
	for _, c := range []struct {
		release        string
		known, affects bool
	}{
		{"4.19.37", true, true},
		{"4.19.52", true, false},
		{"", false, false},
	} {
		a := sack.Affects(c.release, "")
		if a.Known != c.known || a.Affected != c.affects || a.Why == "" {
			t.Errorf("%q: %+v, want known %v affected %v", c.release, a, c.known, c.affects)
		}
	}
}
