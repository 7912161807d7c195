package render

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/owner"
	"github.com/ktriage/ktriage/remedy"
	"github.com/ktriage/ktriage/triage"
)

// maxStoryLines is the length of the summary a person reads first.
const maxStoryLines = 10

// Story is the diagnosis told in at most ten lines, in the order an
// engineer reports it: what crashed, the corrupt object and why, its socket
// and process with the strength of each link, the known bug and its fix,
// the workaround. The details follow it in Text.
func Story(d *triage.Diagnosis, st Style) []string {
	if len(d.Reports) == 0 {
		return nil
	}
	var out []string
	// What crashed.
	head := plural(len(d.Reports), "crash", "crashes") + timesShown(d.Reports)
	var known []triage.Match
	for _, m := range d.Matches {
		if m.Confidence != "possible" {
			known = append(known, m)
		}
	}
	switch len(known) {
	case 0:
		if len(d.Matches) > 0 {
			head += ", no known bug for sure"
		}
	case 1:
		if len(known[0].Reports) == len(d.Reports) && len(d.Reports) > 1 {
			head += ", one bug"
		} else {
			head += ", one known bug"
		}
	default:
		head += fmt.Sprintf(", %d known bugs", len(known))
	}
	if rel := commonRelease(d.Reports); rel != "" {
		head += ", kernel " + rel
	}
	out = append(out, st.paint("1", head+":"))
	shown := 0
	for _, r := range d.Reports {
		if shown == 3 {
			out = append(out, fmt.Sprintf("  … and %d more", len(d.Reports)-shown))
			break
		}
		out = append(out, "  "+st.paint("1;31", r.Title)+crashWhere(r))
		shown++
	}
	// The corrupt object and why.
	for _, f := range d.Findings {
		if f.Severity == checks.SeverityError {
			what, how := findingLines(f)
			out = append(out, st.paint("1;33", "Corrupt "+f.Object.Name())+": "+what)
			if how != "" {
				out = append(out, "  "+how)
			}
			break
		}
	}
	// Socket and process.
	if o := d.Owner; o != nil {
		if o.Socket != nil {
			line := "Socket " + *o.Socket
			if o.FD != nil {
				line += fmt.Sprintf(", fd %d", *o.FD)
			}
			if o.Type != nil {
				line += " " + *o.Type
			}
			if o.Local != nil && o.Remote != nil {
				line += fmt.Sprintf(" %s ↔ %s", *o.Local, *o.Remote)
			}
			if o.Device != nil {
				line += " on " + *o.Device
			}
			line += " (" + linkProofs(o.Links, "sk_buff", "socket", "file descriptor", "device") + ")"
			out = append(out, line)
		}
		for _, l := range o.Links {
			if l.To != "process" {
				continue
			}
			if o.PID != nil {
				comm := ""
				if o.Comm != nil {
					comm = " " + *o.Comm
				}
				out = append(out, fmt.Sprintf("Process %d%s, %s: %s", *o.PID, comm, l.Proof, l.Why))
			} else {
				out = append(out, "Process unknown: "+l.Why)
			}
		}
	}
	// The known bug, its fix, the workaround.
	for _, m := range d.Matches {
		line := st.paint("1;32", knownLabel(m.Confidence)+" "+m.ID) + ": " + m.Title + unverified(m.Verified)
		if m.FixedIn != nil && m.FixedIn.Upstream != nil {
			u := m.FixedIn.Upstream
			line += fmt.Sprintf("; fixed by %q", u.Title)
			if u.Commit != "" {
				line += " (" + short(u.Commit)
				if !u.Verified {
					line += ", hash unverified"
				}
				line += ")"
			}
			for _, ds := range m.FixedIn.Distros {
				line += fmt.Sprintf(", %s %s%s", ds.Name, ds.Version, unverified(ds.Verified))
			}
		}
		out = append(out, line)
		if m.Confidence == "possible" {
			// Only the guilty function, or a fixed release: the reader
			// checks before acting; the details say why.
			out = append(out, "  "+m.Why)
			continue
		}
		if w := m.Workaround; w != nil {
			if e := w.EthtoolOffload; e != nil {
				flags := make([]string, 0, len(e.Features))
				for _, f := range e.Features {
					flags = append(flags, f+" "+e.State)
				}
				where := "each NIC"
				switch e.Scope {
				case kb.ScopeBondSlaves:
					where = "each bond slave"
				case kb.ScopeDevice:
					where = strings.Join(e.Devices, ", ")
				case kb.ScopeDriver:
					where = "the NICs driven by " + e.Driver
				}
				out = append(out, st.paint("1;36", "Workaround"+unverified(w.Verified))+fmt.Sprintf(": ethtool -K <nic> %s on %s, made persistent %s", strings.Join(flags, " "), where, persistence(st.Stacks)))
			} else if w.Text != "" {
				out = append(out, st.paint("1;36", "Workaround"+unverified(w.Verified))+": "+oneLine(w.Text, 200))
			}
		}
	}
	if len(out) > maxStoryLines {
		out = out[:maxStoryLines]
	}
	return out
}

// persistence says where the host's own stacks keep an offload setting, or
// names every choice when they are unknown.
func persistence(stacks []remedy.Stack) string {
	known := len(stacks) > 0
	if !known {
		stacks = remedy.AllStacks()
	}
	phrases := make([]string, 0, len(stacks))
	for _, s := range stacks {
		phrases = append(phrases, s.Persistence())
	}
	if known {
		return "(" + strings.Join(phrases, "; ") + ")"
	}
	return "by the host's network stack, one of: " + strings.Join(phrases, "; ") + " (analyze --root DIR picks it)"
}

func crashWhere(r *oops.Report) string {
	var parts []string
	if r.BugLocation != nil {
		parts = append(parts, "at "+*r.BugLocation)
	}
	if r.RIP != nil {
		parts = append(parts, "RIP "+locString(*r.RIP))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func commonRelease(rs []*oops.Report) string {
	rel := ""
	for _, r := range rs {
		if r.Release == nil {
			continue
		}
		if rel != "" && rel != *r.Release {
			return ""
		}
		rel = *r.Release
	}
	return rel
}

// linkProofs sums up the proof of the links between the named steps:
// "proven" when all are, else each link's strength.
func linkProofs(links []owner.Link, steps ...string) string {
	in := map[string]bool{}
	for _, s := range steps {
		in[s] = true
	}
	var ps []string
	all := true
	for _, l := range links {
		if l.To == "process" || !in[l.To] {
			continue
		}
		ps = append(ps, l.To+" "+string(l.Proof))
		all = all && l.Proof == owner.Proven
	}
	if all && len(ps) > 0 {
		return "each link proven"
	}
	return strings.Join(ps, ", ")
}

// findingLines tells a finding in two lines: the verdict, and how the
// crash followed from it with the first register that agrees; the rest of
// the message is in the details. Each sentence ends as it does in the
// message, with a full stop unless it is the message's last.
func findingLines(f checks.Finding) (what, how string) {
	var rest []string
	if f.Mechanics != "" {
		rest = append(rest, f.Mechanics)
	}
	rest = append(rest, f.Notes...)
	what = f.Verdict
	if len(rest) > 0 || len(f.Registers) > 0 {
		what += "."
	}
	if len(rest) > 0 {
		how = rest[0]
	}
	switch {
	case len(f.Registers) > 0 && how == "":
		how = f.Registers[0].String()
	case len(f.Registers) > 0:
		how += " (" + f.Registers[0].String() + ")."
	case len(rest) > 1:
		how += "."
	}
	return what, how
}
