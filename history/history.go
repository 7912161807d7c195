// Package history puts a host's crashes in order: the same crash shown by
// several logs (syslog, the journal, kdump's vmcore-dmesg.txt) is one event,
// two boots' crashes with one stack are two, and events of one bug (one
// signature) make a bucket with its count and its first and last time.
//
// A crash is placed by what its logs say of it: the wall clock of its
// header's line and the kernel's uptime stamp. Boot time is wall clock
// minus uptime; two sightings with one signature are one event when both
// stamps agree, or one of them is missing and the other agrees.
package history

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Sighting is one report of a crash in one log.
type Sighting struct {
	// Report is the report's index in the caller's list.
	Report int
	// Log names the log it was read from.
	Log string
	// Title and Signature are the report's (oops.Report).
	Title, Signature string
	// Wall is when the log says the header was written; zero if unknown.
	Wall time.Time
	// Uptime is the kernel's stamp on the header (seconds since boot);
	// negative if unknown.
	Uptime float64
}

// Event is one crash on one boot.
type Event struct {
	Title, Signature string
	// Reports are the sightings' reports, Logs their logs, in order.
	Reports []int
	Logs    []string
	// Time is the earliest wall clock a sighting gives; zero if none.
	Time time.Time
	// Boot is when the crashed boot began (wall clock minus uptime); zero
	// if no sighting has both.
	Boot time.Time
	// Uptime is the kernel's stamp; negative if unknown.
	Uptime float64
}

// Bucket is every event of one signature.
type Bucket struct {
	Title, Signature string
	Count            int
	// First and Last are the earliest and latest event times; zero when
	// no event has one.
	First, Last time.Time
	// Events are indexes into the events Build returns.
	Events []int
}

// Tolerances of one crash seen twice: a log's clock has second resolution
// and syslog may write a line a little after the kernel printed it; uptime
// stamps of one record are equal, but one log may keep fewer digits.
const (
	wallSlack   = 2 * time.Minute
	uptimeSlack = 1.0
)

// Build merges sightings into events and events into buckets. Events are
// ordered by time (unknown times last, in input order); buckets by count,
// then by their first event.
func Build(sightings []Sighting) ([]Event, []Bucket) {
	var events []Event
	for _, s := range sightings {
		merged := false
		for i := range events {
			if same(&events[i], s) {
				add(&events[i], s)
				merged = true
				break
			}
		}
		if !merged {
			e := Event{Title: s.Title, Signature: s.Signature, Uptime: -1}
			add(&e, s)
			events = append(events, e)
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i].Time, events[j].Time
		if a.IsZero() != b.IsZero() {
			return !a.IsZero()
		}
		return a.Before(b)
	})
	var buckets []Bucket
	index := map[string]int{}
	for i, e := range events {
		k := key(e.Signature, e.Title)
		j, ok := index[k]
		if !ok {
			j = len(buckets)
			index[k] = j
			buckets = append(buckets, Bucket{Title: e.Title, Signature: e.Signature})
		}
		b := &buckets[j]
		b.Count++
		b.Events = append(b.Events, i)
		if !e.Time.IsZero() {
			if b.First.IsZero() || e.Time.Before(b.First) {
				b.First = e.Time
			}
			if e.Time.After(b.Last) {
				b.Last = e.Time
			}
		}
	}
	sort.SliceStable(buckets, func(i, j int) bool { return buckets[i].Count > buckets[j].Count })
	return events, buckets
}

func key(sig, title string) string {
	if sig != "" {
		return sig
	}
	return "title:" + title
}

// same tells whether a sighting is the event's crash: one signature, and
// no stamp that disagrees, and at least one that agrees unless neither
// has any (then only a second log's copy of it, never a log's own repeat).
func same(e *Event, s Sighting) bool {
	if key(e.Signature, e.Title) != key(s.Signature, s.Title) {
		return false
	}
	agree := false
	if e.Uptime >= 0 && s.Uptime >= 0 {
		if math.Abs(e.Uptime-s.Uptime) > uptimeSlack {
			return false
		}
		agree = true
	}
	if !e.Time.IsZero() && !s.Wall.IsZero() {
		d := e.Time.Sub(s.Wall)
		if d < -wallSlack || d > wallSlack {
			if !(agree && !e.Boot.IsZero() && s.Uptime >= 0 && closeTimes(e.Boot, boot(s))) {
				return false
			}
		}
		agree = true
	}
	if !e.Boot.IsZero() && s.Uptime >= 0 && !s.Wall.IsZero() && !closeTimes(e.Boot, boot(s)) {
		return false
	}
	if agree {
		return true
	}
	return !slices.Contains(e.Logs, s.Log)
}

func boot(s Sighting) time.Time {
	return s.Wall.Add(-time.Duration(s.Uptime * float64(time.Second)))
}

func closeTimes(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -wallSlack && d < wallSlack
}

func add(e *Event, s Sighting) {
	e.Reports = append(e.Reports, s.Report)
	if !slices.Contains(e.Logs, s.Log) {
		e.Logs = append(e.Logs, s.Log)
	}
	if !s.Wall.IsZero() && (e.Time.IsZero() || s.Wall.Before(e.Time)) {
		e.Time = s.Wall
	}
	if s.Uptime >= 0 && e.Uptime < 0 {
		e.Uptime = s.Uptime
	}
	if e.Boot.IsZero() && s.Uptime >= 0 && !s.Wall.IsZero() {
		e.Boot = boot(s)
	}
}
