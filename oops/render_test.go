package oops

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ktriage/ktriage/internal/testshared"
)

// The renderings: every corpus log is written again in the prefix styles
// users paste, and each rendering must give the reports of the clean one.
// The first ten styles are ../shared/tools/render-logs.py's, ported; the
// others are the styles of issue #11 (locale month names, quote markers, a
// CI clock column, wall(1) fragments, OpenWrt logread, a ktest line column,
// bare ISO 8601, RFC 5424, hard wraps, HTML and markdown wrappers), and
// styles drawn at random from their parts with a fixed seed, so that no
// style is passed by a recogniser written for it.

// renderFloor is the rendering agreement the parser must keep: raise it
// as it improves, never lower it; the target is 1.
const renderFloor = 1.0

// foldFloor is the floor of the renderings folded at word boundaries as a
// mailer or a tracker does (softwrap.go).
const foldFloor = 0.92

// renderEpoch is render-logs.py's default crash time.
const renderEpoch = 1795693901

type tsLine struct {
	ts  float64
	msg string
}

var tsLineRe = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] ?(.*)$`)

// splitStamped reads a log as render-logs.py does: "[ts] msg" lines, and
// other lines with the previous line's time.
func splitStamped(log []byte) []tsLine {
	var out []tsLine
	last := 0.0
	for _, raw := range strings.Split(strings.TrimRight(string(log), "\n"), "\n") {
		raw = strings.TrimRight(raw, "\r")
		if m := tsLineRe.FindStringSubmatch(raw); m != nil {
			var ts float64
			fmt.Sscanf(m[1], "%f", &ts)
			last = ts
			out = append(out, tsLine{ts, m[2]})
			continue
		}
		out = append(out, tsLine{last, raw})
	}
	return out
}

// renderStyle writes one line; wall is the line's wall-clock time.
type renderStyle struct {
	name string
	line func(l tsLine, wall time.Time) string
	// head and tail wrap the document (a ticket's prose, a <pre>).
	head, tail string
	wrap       int // hard wrap at this many characters, 0 for none
	// fold word-wraps at this many characters, as a mailer does: a line
	// breaks before the word that would not fit, none is cut.
	fold    int
	lineNos bool
}

func monthIn(locale []string, t time.Time) string { return locale[t.Month()-1] }

var (
	frMonths = []string{"janv.", "févr.", "mars", "avril", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
	deMonths = []string{"Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"}
	ruMonths = []string{"янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}
	enMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func kts(ts float64) string { return fmt.Sprintf("[%12.6f]", ts) }

// fixedStyles are render-logs.py's ten styles and issue #11's.
func fixedStyles() []renderStyle {
	const host = "web-07"
	syslogIn := func(locale []string) func(tsLine, time.Time) string {
		return func(l tsLine, w time.Time) string {
			return fmt.Sprintf("%s %2d %s %s kernel: %s %s", monthIn(locale, w), w.Day(), w.Format("15:04:05"), host, kts(l.ts), l.msg)
		}
	}
	return []renderStyle{
		// render-logs.py
		{name: "plain", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }},
		{name: "loglevel", line: func(l tsLine, _ time.Time) string { return "<4>" + kts(l.ts) + " " + l.msg }},
		{name: "syslog", line: syslogIn(enMonths)},
		{name: "syslog-nots", line: func(l tsLine, w time.Time) string {
			return fmt.Sprintf("%s %2d %s %s kernel: %s", w.Format("Jan"), w.Day(), w.Format("15:04:05"), host, l.msg)
		}},
		{name: "rfc3339", line: func(l tsLine, w time.Time) string {
			return fmt.Sprintf("%s.%06d+00:00 %s kernel: %s", w.Format("2006-01-02T15:04:05"), int(mod1(l.ts)*1e6), host, l.msg)
		}},
		{name: "journal-short-iso", line: func(l tsLine, w time.Time) string {
			return fmt.Sprintf("%s+0000 %s kernel: %s", w.Format("2006-01-02T15:04:05"), host, l.msg)
		}},
		{name: "journal-monotonic", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + host + " kernel: " + l.msg }},
		{name: "crash-log-T", line: func(l tsLine, w time.Time) string {
			return "[" + w.Format("Mon Jan _2 15:04:05 UTC 2006") + "] " + l.msg
		}},
		{name: "serial-crlf", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg + "\r" }},
		{name: "ticket", line: func(l tsLine, _ time.Time) string { return "    " + kts(l.ts) + " " + l.msg },
			head: "主机又重启了 / host rebooted again, see below\n\nRaw\n\n", tail: "\n评论\n添加红包\nPlease advise. Thanks!\n"},
		// issue #11, item 2
		{name: "syslog-fr", line: syslogIn(frMonths)},
		{name: "syslog-de", line: syslogIn(deMonths)},
		{name: "syslog-ru", line: syslogIn(ruMonths)},
		{name: "quote-dmesg-T", line: func(l tsLine, w time.Time) string {
			return "> [" + w.Format("Mon Jan _2 15:04:05 2006") + "] " + l.msg
		}},
		{name: "ci-clock", line: func(l tsLine, w time.Time) string {
			return w.Format("2006-01-02T15:04:05.0000000Z") + " " + kts(l.ts) + " " + l.msg
		}},
		{name: "wall", line: func(l tsLine, _ time.Time) string { return " kernel:" + kts(l.ts) + " " + l.msg },
			head: "\nBroadcast message from systemd-journald@web-07 (Fri 2026-12-04 03:12:44 UTC):\n\n"},
		{name: "openwrt-logread", line: func(l tsLine, w time.Time) string {
			return w.Format("Mon Jan _2 15:04:05 2006") + " kern.warn kernel: " + kts(l.ts) + " " + l.msg
		}},
		{name: "ktest-lines", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }, lineNos: true},
		{name: "iso-bare", line: func(l tsLine, w time.Time) string {
			return w.Format("2006-01-02T15:04:05.000000Z") + " " + l.msg
		}},
		{name: "rfc5424", line: func(l tsLine, w time.Time) string {
			return "<4>1 " + w.Format("2006-01-02T15:04:05.000Z") + " " + host + " kernel - - - " + l.msg
		}},
		{name: "wrap80", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }, wrap: 80},
		{name: "syslog-wrap80", line: syslogIn(enMonths), wrap: 80},
		{name: "mail-fold72", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }, fold: 72},
		{name: "tracker-fold80", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }, fold: 80},
		{name: "html-pre", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg },
			head: "<details><summary>dmesg</summary>\n<pre>", tail: "</pre>\n</details>\n"},
		{name: "md-fence", line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg },
			head: "Got this on boot:\n\n```text\n", tail: "```\n\nAny idea?\n"},
	}
}

func mod1(f float64) float64 { return f - float64(int64(f)) }

// randomStyle draws a style from the parts of the styles above: quote
// marker, clock format (and month locale), host, facility and tag, whether
// the kernel's own timestamp stays, the separator and the wrap width.
func randomStyle(r *rand.Rand, i int) renderStyle {
	pick := func(s []string) string { return s[r.Intn(len(s))] }
	quote := pick([]string{"", "", "> ", ">> ", "> > ", "| ", "  "})
	locale := [][]string{enMonths, frMonths, deMonths, ruMonths}[r.Intn(4)]
	clocks := []func(time.Time, float64) string{
		func(time.Time, float64) string { return "" },
		func(w time.Time, _ float64) string {
			return fmt.Sprintf("%s %2d %s", monthIn(locale, w), w.Day(), w.Format("15:04:05"))
		},
		func(w time.Time, _ float64) string {
			return fmt.Sprintf("%s %02d %s", monthIn(locale, w), w.Day(), w.Format("15:04:05.000000"))
		},
		func(w time.Time, _ float64) string { return w.Format("2006-01-02T15:04:05.000Z") },
		func(w time.Time, _ float64) string { return w.Format("2006-01-02 15:04:05,000") },
		func(w time.Time, _ float64) string { return w.Format("2006-01-02T15:04:05-07:00") },
		func(w time.Time, ts float64) string { return fmt.Sprintf("%d.%03d", w.Unix(), int(mod1(ts)*1000)) },
		func(w time.Time, _ float64) string { return w.Format("Mon Jan _2 15:04:05 2006") },
		func(w time.Time, _ float64) string { return w.Format("15:04:05.000") },
	}
	ci := r.Intn(len(clocks))
	clock := clocks[ci]
	host := pick([]string{"", "web-07", "ci-runner-3.example.org", "buildbot42"})
	tag := pick([]string{"", "kernel:", "kern.warn kernel:", "kern.err kernel:", "kernel[0]:", "kernel - - -", "kernel -"})
	sep := pick([]string{" ", " ", " | ", "\t", ": "})
	keepTS := r.Intn(3) > 0
	wrap := []int{0, 0, 0, 80, 100, 132}[r.Intn(6)]
	name := fmt.Sprintf("random-%d[quote=%q clock=%d host=%q tag=%q sep=%q ts=%v wrap=%d]", i, quote, ci, host, tag, sep, keepTS, wrap)
	return renderStyle{name: name, wrap: wrap, line: func(l tsLine, w time.Time) string {
		var b strings.Builder
		b.WriteString(quote)
		parts := []string{}
		if c := clock(w, l.ts); c != "" {
			parts = append(parts, c)
		}
		if host != "" && tag != "" {
			parts = append(parts, host)
		}
		if tag != "" {
			parts = append(parts, tag)
		}
		b.WriteString(strings.Join(parts, " "))
		if len(parts) > 0 {
			b.WriteString(sep)
		}
		if keepTS {
			b.WriteString(kts(l.ts) + " ")
		}
		b.WriteString(l.msg)
		return b.String()
	}}
}

// render writes lines in style s.
func render(lines []tsLine, s renderStyle) []byte {
	boot := float64(renderEpoch)
	if len(lines) > 0 {
		boot -= lines[len(lines)-1].ts
	}
	var b bytes.Buffer
	b.WriteString(s.head)
	no := 0
	emit := func(l string) {
		no++
		if s.lineNos {
			fmt.Fprintf(&b, "%6d  ", no)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, l := range lines {
		w := time.Unix(int64(boot+l.ts), 0).UTC()
		out := s.line(l, w)
		for s.fold > 0 && utf8.RuneCountInString(out) > s.fold {
			// The last space that leaves the line within the width;
			// none (one long word): the first space after it.
			cut := -1
			for i, r := range out {
				if r == ' ' && i > 0 {
					if utf8.RuneCountInString(out[:i]) > s.fold {
						if cut < 0 {
							cut = i
						}
						break
					}
					cut = i
				}
			}
			if cut <= 0 || strings.TrimSpace(out[:cut]) == "" {
				break
			}
			emit(strings.TrimRight(out[:cut], " "))
			out = strings.TrimLeft(out[cut:], " ")
		}
		for s.wrap > 0 && utf8.RuneCountInString(out) > s.wrap {
			cut := byteOfRune(out, s.wrap)
			emit(out[:cut])
			out = out[cut:]
		}
		emit(out)
	}
	b.WriteString(s.tail)
	return b.Bytes()
}

func byteOfRune(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// reportKeys is what a rendering must keep of its clean form's reports.
func reportKeys(reps []*Report) string {
	var b strings.Builder
	for _, r := range reps {
		fmt.Fprintf(&b, "%s [%s]\n", r.Title, r.Type)
	}
	return b.String()
}

// TestRenderings renders every corpus log in every fixed style and in
// randomly drawn ones, and requires the clean rendering's reports (count,
// titles, types) from each.
func TestRenderings(t *testing.T) {
	dir := testshared.Path(t, "corpora/syzkaller-linux-report/report")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fixed := fixedStyles()
	rng := rand.New(rand.NewSource(11))
	const randomPerLog = 3
	var n, ok, foldN, foldOK int
	fails := map[string]int{}
	var misses []string
	for _, e := range entries {
		if !numericName.MatchString(e.Name()) {
			continue
		}
		c, err := readCorpusCase(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := splitStamped(c.log)
		clean, err := Parse(bytes.NewReader(render(lines, fixed[0])), c.name)
		if err != nil {
			t.Fatal(err)
		}
		want := reportKeys(clean)
		styles := append([]renderStyle{}, fixed[1:]...)
		if len(clean) > 0 {
			// Issue #11 item 1: prose that restates the header is no crash.
			h := clean[0].Header
			styles = append(styles, renderStyle{name: "prose", line: fixed[0].line,
				head: "# " + h + "\n\nWe hit `" + h + "` again on the fleet, log below.\n\n",
				tail: "\ncrash> sys\n      KERNEL: vmlinux\n       PANIC: \"" + h + "\"\n"})
		}
		for i := 0; i < randomPerLog; i++ {
			styles = append(styles, randomStyle(rng, i))
		}
		for _, s := range styles {
			reps, err := Parse(bytes.NewReader(render(lines, s)), c.name+"."+s.name)
			if err != nil {
				t.Fatal(err)
			}
			if s.fold > 0 {
				// A mailer's folds are learned from evidence a short
				// log may not show: measured on their own.
				foldN++
				if got := reportKeys(reps); got == want {
					foldOK++
				} else if os.Getenv("KTRIAGE_FOLD_MISSES") != "" {
					t.Logf("%s %s:\n got %q\nwant %q", c.name, s.name, got, want)
				}
				continue
			}
			n++
			if got := reportKeys(reps); got == want {
				ok++
			} else {
				kind, _, _ := strings.Cut(s.name, "[")
				fails[kind]++
				misses = append(misses, fmt.Sprintf("%s %s:\n got %q\nwant %q", c.name, s.name, got, want))
			}
		}
	}
	fmt.Printf("rendering agreement: %d/%d (%.2f%%)\n", ok, n, 100*float64(ok)/float64(max(n, 1)))
	fmt.Printf("folded rendering agreement: %d/%d (%.2f%%)\n", foldOK, foldN, 100*float64(foldOK)/float64(max(foldN, 1)))
	if r := float64(foldOK) / float64(max(foldN, 1)); r < foldFloor {
		t.Errorf("%d of %d folded renderings differ from their clean form: agreement %.3f below the floor %.3f", foldN-foldOK, foldN, r, foldFloor)
	}
	if len(fails) > 0 {
		t.Logf("failures by style: %v", fails)
	}
	if os.Getenv("KTRIAGE_RENDER_MISSES") != "" {
		for _, m := range misses {
			t.Log(m)
		}
	}
	if r := float64(ok) / float64(max(n, 1)); r < renderFloor {
		t.Errorf("%d of %d renderings differ from their clean form: agreement %.3f below the floor %.3f", n-ok, n, r, renderFloor)
	}
}
