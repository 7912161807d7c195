package oops

import "strings"

// FromTrace makes a report from a crash's header text (crash(8)'s `sys`
// PANIC message, say) and a trace found elsewhere (a `bt`), for documents
// that show the crash only that way. header may be "": the kind is then
// taken from the faulting function where it tells (skb_over_panic is a BUG).
func FromTrace(header string, rip *Location, frames []Frame) *Report {
	loadTables()
	header = strings.TrimSpace(header)
	f := detect(header, []byte(header))
	if f == nil {
		f = headlessFormat(rip)
	}
	return build(f, header, rip, frames)
}

// WithTrace returns r re-titled with a faulting location and call trace
// found elsewhere in its document (a crash(8) `bt` of the same crash), for
// reports whose own text lost them. r's other facts are kept.
func WithTrace(r *Report, rip *Location, frames []Frame) *Report {
	loadTables()
	f := detect(r.Header, []byte(r.Header))
	if f == nil || f.flags&fHeadless != 0 {
		f = headlessFormat(rip)
	}
	n := build(f, r.Header, rip, frames)
	out := *r
	out.RIP, out.Frames, out.Stacks = n.RIP, n.Frames, n.Stacks
	out.Title, out.Type, out.GuiltyFunction = n.Title, n.Type, n.GuiltyFunction
	out.Corrupted, out.CorruptedReason, out.AltTitles = n.Corrupted, n.CorruptedReason, n.AltTitles
	if out.BugLocation == nil {
		out.BugLocation = n.BugLocation
	}
	out.Signature = n.Signature
	return &out
}

func headlessFormat(rip *Location) *format {
	if rip != nil {
		if f, ok := headlessKinds[StripCloneSuffixes(rip.Function)]; ok {
			return f
		}
	}
	return ripHeadless
}

func build(f *format, header string, rip *Location, frames []Frame) *Report {
	lines := []string{header}
	p := parse(f, lines)
	p.rip = rip
	if frames == nil {
		frames = []Frame{}
	}
	p.stacks = []stack{{label: "Call Trace:", frames: frames}}
	r := &Report{Header: header, Text: lines, RIP: rip, Frames: frames, Stacks: [][]Frame{frames}, Modules: []string{}}
	finish(f, r, &p)
	return r
}
