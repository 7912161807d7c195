// Package render writes a diagnosis for people (text, coloured on a
// terminal) and for programs (the JSON contract).
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/remedy"
	"github.com/ktriage/ktriage/triage"
)

// JSON writes d as the JSON contract of `ktriage analyze --json`.
func JSON(w io.Writer, d *triage.Diagnosis) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// Style chooses text decoration.
type Style struct {
	// Color adds ANSI colours (only for terminals).
	Color bool
	// Stacks are the network stacks of the crashed host (remedy.Stacks),
	// so that an offload workaround says how to make it persistent there;
	// none means the host is unknown and every choice is named.
	Stacks []remedy.Stack
}

func (s Style) paint(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Text writes the human summary: what crashed, which known bug, what to do.
func Text(w io.Writer, d *triage.Diagnosis, st Style) error {
	var b strings.Builder
	n := len(d.Reports)
	switch n {
	case 0:
		b.WriteString("No kernel crash found in ")
		b.WriteString(inputsList(d))
		b.WriteString(".\n")
	default:
		for _, l := range Story(d, st) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteString("\nDetails: ")
		fmt.Fprintf(&b, "%s%s in %s", plural(n, "crash", "crashes"), timesShown(d.Reports), inputsList(d))
		if len(d.Matches) > 0 {
			ids := map[string]bool{}
			for _, m := range d.Matches {
				ids[m.ID] = true
			}
			fmt.Fprintf(&b, ", %s known bug", plural(len(ids), "", ""))
			if len(ids) > 1 {
				b.WriteString("s")
			}
		}
		b.WriteString(":\n")
	}
	for i, r := range d.Reports {
		fmt.Fprintf(&b, "\n%s %s\n", st.paint("1;31", fmt.Sprintf("[%d]", i)), st.paint("1", r.Title))
		fmt.Fprintf(&b, "    type %s", r.Type)
		known(&b, ", at %s", r.BugLocation)
		if r.RIP != nil {
			fmt.Fprintf(&b, ", RIP %s", locString(*r.RIP))
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "    kernel %s", orUnknown(r.Release))
		if r.Tainted != nil {
			if *r.Tainted == "" {
				b.WriteString(", not tainted")
			} else {
				fmt.Fprintf(&b, ", tainted %s", *r.Tainted)
			}
		}
		if r.Comm != nil || r.PID != nil {
			b.WriteString(", task")
			known(&b, " %s", r.Comm)
			known(&b, " pid %d", r.PID)
		}
		known(&b, " on CPU %d", r.CPU)
		b.WriteString("\n")
		if tr := traceLine(r, 6); tr != "" {
			fmt.Fprintf(&b, "    trace %s\n", tr)
		}
		if r.Corrupted {
			fmt.Fprintf(&b, "    %s\n", st.paint("33", "report incomplete: "+r.CorruptedReason))
		}
		fmt.Fprintf(&b, "    from %s:%d-%d, signature %s\n", r.Source.Path, r.Source.StartLine, r.Source.EndLine, r.Signature[:16])
		if r.Times() > 1 {
			fmt.Fprintf(&b, "    shown %s times with the same text", thousands(r.Times()))
			if r.FirstTime != "" {
				fmt.Fprintf(&b, ", from [%s] to [%s]", r.FirstTime, r.LastTime)
			}
			b.WriteString("; the first is above\n")
		}
	}
	for _, m := range d.Matches {
		var idx []string
		for _, i := range m.Reports {
			idx = append(idx, fmt.Sprintf("[%d]", i))
		}
		fmt.Fprintf(&b, "\n%s %s: %s%s\n", st.paint("1;32", knownLabel(m.Confidence)), st.paint("1", m.ID), m.Title, unverified(m.Verified))
		fmt.Fprintf(&b, "    matches %s", strings.Join(idx, " "))
		if m.Confidence != "" {
			fmt.Fprintf(&b, " (%s: %s)", m.Confidence, m.Why)
		}
		b.WriteString("\n")
		// Marks go before prose that oneLine may cut, so they are never lost.
		if m.RootCause != "" {
			fmt.Fprintf(&b, "    cause%s: %s\n", unverified(m.RootCauseVerified), oneLine(m.RootCause, 220))
		}
		if m.FixedIn != nil && m.FixedIn.Upstream != nil {
			u := m.FixedIn.Upstream
			fmt.Fprintf(&b, "    fixed by %s %q", short(u.Commit), u.Title)
			if u.Release != "" {
				fmt.Fprintf(&b, " in %s", u.Release)
			}
			// An unverified fix leaves its release unverified too: one mark.
			switch {
			case !u.Verified:
				b.WriteString(unverified(false))
			case u.Release != "" && !u.ReleaseVerified:
				b.WriteString(" (release unverified)")
			}
			b.WriteString("\n")
			for _, ds := range m.FixedIn.Distros {
				fmt.Fprintf(&b, "    fixed in %s %s%s\n", ds.Name, ds.Version, unverified(ds.Verified))
			}
		}
		if w := m.Workaround; w != nil && w.Text != "" {
			fmt.Fprintf(&b, "    %s %s\n", st.paint("1;36", "workaround"+unverified(w.Verified)+":"), oneLine(w.Text, 300))
		}
	}
	for _, f := range d.Findings {
		fmt.Fprintf(&b, "\n%s %s on %s: %s\n", st.paint("1;33", string(f.Severity)), f.Check, f.Object.Name(), f.Message())
	}
	if v := d.Vmcore; v != nil {
		fmt.Fprintf(&b, "\nvmcore: %s", v.Format)
		known(&b, ", pages %s", v.Compression)
		known(&b, ", kernel %s", v.Release)
		known(&b, ", %d CPUs", v.CPUs)
		known(&b, ", crashed %s", v.CrashTime)
		known(&b, " on CPU %d", v.PanicCPU)
		b.WriteString("\n")
	}
	for _, u := range d.Unmatched {
		fmt.Fprintf(&b, "\nNo known bug matches [%d]%s; search for: %s\n", u.Report, possiblyNote(d, u.Report), u.Query)
	}
	for _, f := range d.PossibleFixes {
		rel := "in no release yet"
		if f.Release != "" {
			rel = "first in " + f.Release
		}
		fmt.Fprintf(&b, "\n[%d] possibly fixed by %s %q (%s): %s\n", f.Report, short(f.Commit), f.Subject, rel, f.Why)
	}
	if len(d.NextSteps) > 0 {
		b.WriteString("\nNext steps:\n")
		for _, s := range d.NextSteps {
			fmt.Fprintf(&b, "    %s\n", s)
		}
	}
	for _, in := range d.Inputs {
		if in.Note != "" {
			fmt.Fprintf(&b, "\nnote: %s: %s\n", in.Path, in.Note)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func inputsList(d *triage.Diagnosis) string {
	var ps []string
	for _, in := range d.Inputs {
		ps = append(ps, in.Path)
	}
	if len(ps) > 3 {
		return fmt.Sprintf("%s and %d more inputs", strings.Join(ps[:3], ", "), len(ps)-3)
	}
	return strings.Join(ps, ", ")
}

func plural(n int, one, many string) string {
	if one == "" {
		return fmt.Sprint(n)
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// timesShown says how many times the reports were shown in all, when a
// report was shown more than once: " (705,000 times)".
func timesShown(rs []*oops.Report) string {
	total := 0
	for _, r := range rs {
		total += r.Times()
	}
	if total == len(rs) {
		return ""
	}
	return fmt.Sprintf(" (%s times)", thousands(total))
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// known writes format with *v, and nothing when v is unknown (nil).
func known[T any](b *strings.Builder, format string, v *T) {
	if v != nil {
		fmt.Fprintf(b, format, *v)
	}
}

func orUnknown(s *string) string {
	if s == nil {
		return "unknown"
	}
	return *s
}

func locString(l oops.Location) string {
	s := l.Function
	if l.Offset != nil {
		s += fmt.Sprintf("+0x%x", *l.Offset)
	}
	if l.Module != nil {
		s += " [" + *l.Module + "]"
	}
	return s
}

func traceLine(r *oops.Report, n int) string {
	var fs []string
	for _, f := range r.Frames {
		if !f.Reliable {
			continue
		}
		fs = append(fs, f.Function)
		if len(fs) == n {
			fs = append(fs, "…")
			break
		}
	}
	return strings.Join(fs, " ← ")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// unverified marks a knowledge-base fact that no cited source confirms.
func unverified(verified bool) string {
	if verified {
		return ""
	}
	return " (unverified)"
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// knownLabel heads a match by its confidence: only an exact or likely match
// is called known.
func knownLabel(confidence string) string {
	switch confidence {
	case "possible":
		return "Possibly known bug"
	case "likely":
		return "Likely known bug"
	}
	return "Known bug"
}

// possiblyNote says which entries a report possibly matches, when it
// matches some only possibly.
func possiblyNote(d *triage.Diagnosis, report int) string {
	var ids []string
	for _, m := range d.Matches {
		if m.Confidence == "possible" && slices.Contains(m.Reports, report) {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return " for sure (possibly " + strings.Join(ids, ", ") + ")"
}
