package history

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestBuild: one crash in three logs is one event; the same stack on
// another boot is a second; another bug is its own bucket.
func TestBuild(t *testing.T) {
	sig, other := "sig-skb", "sig-ext4"
	in := []Sighting{
		// Boot 1 (booted 2015-09-20 03:14:07), crashed at uptime 259117.
		{Report: 0, Log: "var/log/messages", Title: "kernel BUG in dev_hard_start_xmit", Signature: sig, Wall: at("2015-09-23T03:12:44Z"), Uptime: 259117.681597},
		{Report: 1, Log: "var/crash/127.0.0.1-2015-09-23-03:12:44/vmcore-dmesg.txt", Title: "kernel BUG in dev_hard_start_xmit", Signature: sig, Uptime: 259117.681597},
		{Report: 2, Log: "sos_commands/logs/journalctl_--no-pager", Title: "kernel BUG in dev_hard_start_xmit", Signature: sig, Wall: at("2015-09-23T03:12:45Z"), Uptime: 259117.68},
		// Boot 2: the same stack two weeks later.
		{Report: 3, Log: "var/log/messages", Title: "kernel BUG in dev_hard_start_xmit", Signature: sig, Wall: at("2015-10-07T11:00:02Z"), Uptime: 1000.5},
		// Another bug, earlier, in a rotated log.
		{Report: 4, Log: "var/log/messages-20150920", Title: "kernel BUG in ext4_es_cache_extent", Signature: other, Wall: at("2015-09-18T22:01:00Z"), Uptime: 5000},
		// The second boot's crash again, in its vmcore-dmesg: uptime only.
		{Report: 5, Log: "var/crash/127.0.0.1-2015-10-07-11:00:03/vmcore-dmesg.txt", Title: "kernel BUG in dev_hard_start_xmit", Signature: sig, Uptime: 1000.5},
	}
	events, buckets := Build(in)
	if len(events) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(events), events)
	}
	if e := events[0]; e.Signature != other || len(e.Reports) != 1 {
		t.Errorf("first event %+v, want the ext4 crash", e)
	}
	if e := events[1]; len(e.Reports) != 3 || len(e.Logs) != 3 || !e.Time.Equal(at("2015-09-23T03:12:44Z")) || e.Boot.IsZero() {
		t.Errorf("second event %+v, want the first skb crash seen in three logs", e)
	}
	if e := events[2]; len(e.Reports) != 2 || !e.Time.Equal(at("2015-10-07T11:00:02Z")) {
		t.Errorf("third event %+v, want the second boot's crash", e)
	}
	if len(buckets) != 2 || buckets[0].Signature != sig || buckets[0].Count != 2 ||
		!buckets[0].First.Equal(at("2015-09-23T03:12:44Z")) || !buckets[0].Last.Equal(at("2015-10-07T11:00:02Z")) {
		t.Errorf("buckets %+v", buckets)
	}
	if buckets[1].Count != 1 {
		t.Errorf("ext4 bucket %+v", buckets[1])
	}
}

// TestSameLogRepeats: a log's own repeats without stamps are separate
// events (oops counts repeats of one text itself); another log's copy with
// nothing to tell them apart is the same crash.
func TestSameLogRepeats(t *testing.T) {
	in := []Sighting{
		{Report: 0, Log: "a", Signature: "s", Uptime: -1},
		{Report: 1, Log: "a", Signature: "s", Uptime: -1},
		{Report: 2, Log: "b", Signature: "s", Uptime: -1},
	}
	events, _ := Build(in)
	if len(events) != 2 {
		t.Errorf("%d events, want 2: %+v", len(events), events)
	}
}
