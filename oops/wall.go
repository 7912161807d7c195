package oops

import (
	"bytes"
	"strings"
	"time"
)

// The wall clock of a report. A syslog file, a journal export or a CI log
// stamps each line with the time it was written; the kernel's own stamp
// counts from boot. The host layer needs the former to order crashes and to
// tell one boot's crash shown in two logs from two boots' crashes; the
// scanner records it as written, and ParseWall reads it with the year a
// syslog line leaves out.

// maxWall bounds the clock taken from a line's head.
const maxWall = 40

// wallClock returns the date and time that head a raw line, as written:
// syslog's "Sep 23 03:12:44", ISO 8601 "2026-03-05T04:12:01.123456+01:00"
// or "2026-03-05 04:12:01"; "" when the line starts with none.
func wallClock(raw []byte) string {
	b := trimLeftSpace(raw)
	b = skipQuoteMarks(b)
	if n := loglevelLen(b); n > 0 && len(b) > n+2 && b[n] == '1' && b[n+1] == ' ' {
		b = b[n+2:] // RFC 5424: "<4>1 2026-..."
	}
	if n := syslogDateLen(b); n > 0 && n <= maxWall {
		return strings.TrimSpace(string(b[:n]))
	}
	// "2026-03-05 04:12:01[,.]frac"
	if len(b) >= 19 && isDigit(b[0]) && b[4] == '-' && b[7] == '-' && b[10] == ' ' {
		if j, ok := clock(b, 11); ok {
			for j < len(b) && j < maxWall && (b[j] == ',' || b[j] == '.' || isDigit(b[j])) {
				j++
			}
			return string(bytes.TrimSpace(b[:j]))
		}
	}
	return ""
}

// wallLayouts are the forms wallClock returns, tried in order.
var wallLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05,999999999",
	"Jan _2 15:04:05.999999999",
	"Jan _2 15:04:05",
}

// ParseWall reads a report's wall clock (Report.Wall). A syslog clock
// names no year: year is used (the caller knows it from the log file's
// name or date); a clock without a zone is in loc (time.UTC when nil).
func ParseWall(s string, year int, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range wallLayouts {
		lay := strings.Join(strings.Fields(l), " ")
		t, err := time.ParseInLocation(lay, s, loc)
		if err != nil {
			continue
		}
		if t.Year() == 0 {
			t = time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		}
		return t, true
	}
	return time.Time{}, false
}
