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
	if h := d.Host; h != nil {
		hostText(&b, h, d, st)
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

// hostText writes the host section: the host and its kernels, its crash
// history by bucket, and per known bug which kernels it affects and
// whether its workaround is in force now and after a reboot.
func hostText(b *strings.Builder, h *triage.Host, d *triage.Diagnosis, st Style) {
	name := h.Hostname
	if name == "" {
		name = "(name unknown)"
	}
	fmt.Fprintf(b, "\n%s %s", st.paint("1;34", "Host"), st.paint("1", name))
	if h.Distro != "" {
		fmt.Fprintf(b, ", %s", h.Distro)
	}
	if h.Running != "" {
		fmt.Fprintf(b, ", running %s", h.Running)
	}
	fmt.Fprintf(b, " (%s %s)\n", h.Source, h.Path)
	if len(h.Installed) > 0 {
		var ks []string
		for _, k := range h.Installed {
			r := k.Release
			if r == "" {
				r = k.Package + " " + k.Version
			}
			if k.Running {
				r += " (running)"
			}
			ks = append(ks, r)
		}
		fmt.Fprintf(b, "    installed kernels: %s\n", strings.Join(ks, ", "))
	}
	fmt.Fprintf(b, "    crash history: %s in %s\n", plural(len(h.Crashes), "crash", "crashes"), plural(len(h.Buckets), "bucket", "buckets"))
	for _, bk := range h.Buckets {
		when := ""
		switch {
		case bk.First != "" && bk.First != bk.Last:
			when = fmt.Sprintf(", first %s, last %s", bk.First, bk.Last)
		case bk.First != "":
			when = ", " + bk.First
		}
		fmt.Fprintf(b, "      %d× %s%s\n", bk.Count, bk.Title, when)
	}
	for _, kb := range h.KnownBugs {
		fmt.Fprintf(b, "    %s on this host:\n", st.paint("1", kb.ID))
		if r := kb.Running; r != nil {
			fmt.Fprintf(b, "      running kernel %s\n", exposureText(*r))
		}
		for _, x := range kb.Installed {
			if kb.Running != nil && x.Release == kb.Running.Release {
				continue
			}
			fmt.Fprintf(b, "      installed %s\n", exposureText(x))
		}
		if w := kb.Workaround; w != nil {
			fmt.Fprintf(b, "      workaround in force now: %s; after a reboot: %s\n", w.Now, w.Persistent)
			for _, i := range w.Interfaces {
				fmt.Fprintf(b, "        %s: now %s", i.Iface, i.Now)
				if i.NowDetail != "" {
					fmt.Fprintf(b, " (%s)", i.NowDetail)
				}
				fmt.Fprintf(b, ", after a reboot %s", i.Boot)
				if i.BootDetail != "" {
					fmt.Fprintf(b, " (%s)", i.BootDetail)
				}
				b.WriteString("\n")
			}
			if w.Error != "" {
				fmt.Fprintf(b, "        %s\n", oneLine(w.Error, 300))
			}
			if w.Plan != "" {
				b.WriteString("      the change that makes it persistent (ktriage remedy plan --root " + h.Path + "):\n")
				for _, l := range strings.Split(strings.TrimRight(w.Plan, "\n"), "\n") {
					b.WriteString("        " + l + "\n")
				}
			}
		}
	}
	for _, n := range h.Notes {
		fmt.Fprintf(b, "    note: %s\n", n)
	}
}

func exposureText(x triage.Exposure) string {
	switch {
	case x.Affected == nil:
		return x.Release + ": affected unknown (" + x.Why + ")"
	case *x.Affected:
		return x.Release + ": affected (" + x.Why + ")"
	}
	return x.Release + ": not affected (" + x.Why + ")"
}
