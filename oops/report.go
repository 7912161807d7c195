// Package oops finds kernel crash reports (oopses, BUGs, WARNINGs, lockups,
// sanitizer reports, panics) in kernel log text of any prefix style and turns
// each into a Report: its kind, a syzkaller-style title, the guilty function,
// the call trace and the facts the kernel printed around it.
//
// The scanner streams: memory grows with the number of reports, never with
// the size of the log.
package oops

// Location is a code address as a trace shows it: function+offset/size [module].
type Location struct {
	Function string  `json:"function"`
	Offset   *uint64 `json:"offset"`
	Size     *uint64 `json:"size"`
	Module   *string `json:"module"`
	Address  *string `json:"address"`
}

// Frame is one entry of a call trace. Reliable is false for the `?` entries
// that the unwinder found on the stack but could not prove are return addresses.
type Frame struct {
	Location
	Reliable bool `json:"reliable"`
}

// Span locates a report in its input: 1-based, inclusive line numbers.
type Span struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
}

// Report is one kernel crash as the JSON contract names its fields. A nil
// pointer is an unknown value and is written as null.
type Report struct {
	Title          string    `json:"title"`
	Type           string    `json:"type"`
	GuiltyFunction *string   `json:"guilty_function"`
	BugLocation    *string   `json:"bug_location"`
	Release        *string   `json:"release"`
	Tainted        *string   `json:"tainted"`
	Hardware       *string   `json:"hardware"`
	CPU            *int      `json:"cpu"`
	PID            *int      `json:"pid"`
	Comm           *string   `json:"comm"`
	RIP            *Location `json:"rip"`
	Frames         []Frame   `json:"frames"`
	Modules        []string  `json:"modules"`
	Signature      string    `json:"signature"`
	Corrupted      bool      `json:"corrupted"`
	Source         Span      `json:"source"`

	// AltTitles are other titles the same bug is known under (syzkaller's
	// "bad-access in f" family), for looking a crash up among known bugs.
	AltTitles []string `json:"alt_titles,omitempty"`
	// CorruptedReason says why Corrupted is set.
	CorruptedReason string `json:"corrupted_reason,omitempty"`
	// Panicked is set when a "Kernel panic - not syncing" line follows the report.
	Panicked bool `json:"panicked"`
	// PanicMessage is the text after "Kernel panic - not syncing: ", if any.
	PanicMessage string `json:"panic_message,omitempty"`
	// Header is the line that opened the report, prefixes stripped.
	Header string `json:"header"`
	// Occurrences is how many times the document shows the report with
	// the same text (timestamps and prefixes aside): re-printed, or the
	// same WARNING firing again. It is set only when that is more than
	// once, and absent from JSON otherwise; Source is the first showing.
	Occurrences int `json:"occurrences,omitempty"`
	// FirstTime and LastTime are the kernel timestamps (seconds since
	// boot, as printed: "259117.681597") of the first and last showing,
	// set with Occurrences when the log stamps both.
	FirstTime string `json:"first_time,omitempty"`
	LastTime  string `json:"last_time,omitempty"`
	// Wall is the wall clock that heads the header's line in the log
	// (a syslog's "Sep 23 03:12:44", a journal's ISO 8601 time), as
	// written; "" when the log stamps lines with the kernel's clock only.
	// ParseWall reads it.
	Wall string `json:"wall_time,omitempty"`
	// Shown are the showings of a report shown more than once (its
	// Occurrences), each with its clocks, the first maxShown of them: two
	// boots' crashes with one text are one report here, two events on a
	// host's history.
	Shown []Showing `json:"-"`
	// time is the header line's timestamp, kept for FirstTime.
	time string
	// Stacks holds further traces of the report (KASAN's allocation and
	// free stacks, lockdep's chains), in order; Frames is the first.
	Stacks [][]Frame `json:"-"`
	// Text is the report's lines, prefixes stripped, bounded in size.
	Text []string `json:"-"`
}

// Showing is one showing of a report: the wall clock and the kernel stamp
// of its header's line, as written ("" when the log has none).
type Showing struct {
	Wall, Time string
}

// maxShown bounds the showings a report keeps: a WARNING may fire 705,000
// times; counting them costs nothing, keeping each costs memory.
const maxShown = 256

// Clocks returns the report's showings: Shown, or the one it has.
func (r *Report) Clocks() []Showing {
	if len(r.Shown) > 0 {
		return r.Shown
	}
	return []Showing{{Wall: r.Wall, Time: r.time}}
}

// Times is how many times the document shows the report: Occurrences, or
// 1 when it is not set.
func (r *Report) Times() int { return max(r.Occurrences, 1) }

// FrameFunctions returns the function names of the report's frames, optionally
// only the reliable ones.
func (r *Report) FrameFunctions(reliableOnly bool) []string {
	out := make([]string, 0, len(r.Frames))
	for _, f := range r.Frames {
		if reliableOnly && !f.Reliable {
			continue
		}
		out = append(out, f.Function)
	}
	return out
}
