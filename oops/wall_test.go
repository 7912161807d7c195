package oops

import (
	"strings"
	"testing"
	"time"
)

// TestWall: the wall clock heading a report's line is kept as written, and
// ParseWall reads it with the year a syslog line leaves out.
func TestWall(t *testing.T) {
	for _, c := range []struct {
		line, wall string
		want       time.Time
	}{
		{"Sep 23 03:12:44 web01 kernel: [259117.681597] kernel BUG at net/core/skbuff.c:1886!", "Sep 23 03:12:44", time.Date(2015, 9, 23, 3, 12, 44, 0, time.UTC)},
		{"Sep  3 03:12:44 web01 kernel: kernel BUG at net/core/skbuff.c:1886!", "Sep  3 03:12:44", time.Date(2015, 9, 3, 3, 12, 44, 0, time.UTC)},
		{"2026-03-05T04:12:01.123456+01:00 web01 kernel: kernel BUG at net/core/skbuff.c:1886!", "2026-03-05T04:12:01.123456+01:00", time.Date(2026, 3, 5, 3, 12, 1, 123456000, time.UTC)},
		{"<4>1 2026-03-05T04:12:01.000Z web01 kernel - - - kernel BUG at net/core/skbuff.c:1886!", "2026-03-05T04:12:01.000Z", time.Date(2026, 3, 5, 4, 12, 1, 0, time.UTC)},
		{"2026-03-05 04:12:01,250 [  12.345678] kernel BUG at net/core/skbuff.c:1886!", "2026-03-05 04:12:01,250", time.Date(2026, 3, 5, 4, 12, 1, 250000000, time.UTC)},
		{"[259117.681597] kernel BUG at net/core/skbuff.c:1886!", "", time.Time{}},
	} {
		reps, err := Parse(strings.NewReader(c.line+"\n"), "w")
		if err != nil || len(reps) != 1 {
			t.Fatalf("%q: %d reports, %v", c.line, len(reps), err)
		}
		if reps[0].Wall != c.wall {
			t.Errorf("%q: wall %q, want %q", c.line, reps[0].Wall, c.wall)
			continue
		}
		if c.wall == "" {
			continue
		}
		got, ok := ParseWall(c.wall, 2015, nil)
		if !ok || !got.Equal(c.want) {
			t.Errorf("ParseWall(%q) = %v %v, want %v", c.wall, got, ok, c.want)
		}
	}
}

// TestClocks: one text shown on two boots is one report, its two showings
// kept with their clocks.
func TestClocks(t *testing.T) {
	one := func(day, ts string) string {
		return "Sep " + day + " web01 kernel: [" + ts + "] kernel BUG at net/core/skbuff.c:1886!\n" +
			"Sep " + day + " web01 kernel: [" + ts + "] invalid opcode: 0000 [#1] SMP\n" +
			"Sep " + day + " web01 kernel: [" + ts + "] RIP: 0010:[<ffffffff81451ff5>]  [<ffffffff81451ff5>] skb_checksum+0x2d5/0x300\n" +
			"Sep " + day + " web01 kernel: [" + ts + "] Call Trace:\n" +
			"Sep " + day + " web01 kernel: [" + ts + "]  [<ffffffff8145d60a>] skb_checksum_help+0xca/0x1a0\n" +
			"Sep " + day + " web01 kernel: [" + ts + "]  [<ffffffff81461f8d>] dev_hard_start_xmit+0x1cd/0x4b0\n"
	}
	doc := one("23 03:12:44", "259117.681597") + "Sep 23 03:20:00 web01 kernel: Linux version 2.6.32\n" + one("30 11:00:02", "1000.500000")
	reps, err := Parse(strings.NewReader(doc), "m")
	if err != nil || len(reps) != 1 {
		t.Fatalf("%d reports, %v", len(reps), err)
	}
	c := reps[0].Clocks()
	if reps[0].Times() != 2 || len(c) != 2 || c[0] != (Showing{"Sep 23 03:12:44", "259117.681597"}) || c[1] != (Showing{"Sep 30 11:00:02", "1000.500000"}) {
		t.Errorf("times %d, clocks %+v", reps[0].Times(), c)
	}
}
