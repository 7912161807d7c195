package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/triage"
)

func diagnosis(t *testing.T) *triage.Diagnosis {
	t.Helper()
	d, err := triage.Analyze([]string{"../examples/ticket-skb-checksum.txt"}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestText: the summary says what crashed, which known bug and what to do,
// in that order, and colours only when asked.
func TestText(t *testing.T) {
	d := diagnosis(t)
	var plain, color bytes.Buffer
	if err := Text(&plain, d, Style{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&color, d, Style{Color: true}); err != nil {
		t.Fatal(err)
	}
	p := plain.String()
	crash, bug, fix := strings.Index(p, "kernel BUG in"), strings.Index(p, "Known bug"), strings.Index(p, "workaround:")
	if crash < 0 || bug < crash || fix < bug {
		t.Errorf("order crash %d, bug %d, workaround %d:\n%s", crash, bug, fix, p)
	}
	if strings.Contains(p, "\x1b[") || !strings.Contains(color.String(), "\x1b[") {
		t.Error("colour escapes in the wrong output")
	}
}

// TestJSONNulls: unknown values are null, never 0 or "".
func TestJSONNulls(t *testing.T) {
	d := diagnosis(t)
	var b bytes.Buffer
	if err := JSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	r := v["reports"].([]any)[0].(map[string]any)
	if r["rip"] == nil || r["frames"] == nil {
		t.Fatal("missing rip or frames")
	}
	if v["owner"] != nil || v["vmcore"] != nil {
		t.Errorf("owner %v, vmcore %v: want null", v["owner"], v["vmcore"])
	}
	if _, ok := r["guilty_function"]; !ok {
		t.Error("guilty_function absent instead of null")
	}
}

// TestSeedStory: the founding case told in at most ten lines, in order.
func TestSeedStory(t *testing.T) {
	seed := testshared.Path(t, testshared.Seed)
	d, err := triage.Analyze([]string{seed}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := Story(d, Style{})
	if len(lines) > 10 {
		t.Fatalf("%d lines", len(lines))
	}
	text := strings.Join(lines, "\n")
	order := []string{"2 crashes, one bug", "Corrupt sk_buff ffff880fe9624868", "Socket ffff881063a669c0, fd 7330",
		"Process 29860 proc1, inferred", "Known bug tcp-trim-head-skb-data-len", "Workaround: ethtool -K"}
	at := -1
	for _, s := range order {
		i := strings.Index(text, s)
		if i <= at {
			t.Fatalf("%q missing or out of order:\n%s", s, text)
		}
		at = i
	}
}

// TestUnverifiedMarks: every knowledge-base fact that no cited source
// confirms is marked in the text, and a confirmed one is not. The divide
// error matches sched-clock-208-days, whose entry has a fix with a release,
// distribution fixes, a root cause and a workaround; each case leaves one of
// them unverified.
func TestUnverifiedMarks(t *testing.T) {
	drafts, err := kb.Load("../kb/drafts")
	if err != nil {
		t.Fatal(err)
	}
	d, err := triage.Analyze([]string{"../oops/testdata/kinds/divide-error.log"}, triage.Options{KB: drafts})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Matches) != 1 || d.Matches[0].FixedIn == nil || d.Matches[0].FixedIn.Upstream == nil ||
		len(d.Matches[0].FixedIn.Distros) == 0 || d.Matches[0].Workaround == nil {
		t.Fatalf("matches %+v: want sched-clock-208-days with every fact", d.Matches)
	}
	orig := d.Matches[0]
	// verified returns the match with every fact confirmed, then edit unconfirms one.
	verified := func(edit func(m *triage.Match)) triage.Match {
		m := orig
		fi := *m.FixedIn
		u := *fi.Upstream
		u.Verified, u.ReleaseVerified = true, true
		fi.Upstream = &u
		fi.Distros = append(fi.Distros[:0:0], fi.Distros...)
		for i := range fi.Distros {
			fi.Distros[i].Verified = true
		}
		w := *m.Workaround
		w.Verified = true
		m.FixedIn, m.Workaround, m.Verified, m.RootCauseVerified = &fi, &w, true, true
		if edit != nil {
			edit(&m)
		}
		return m
	}
	cases := []struct {
		name string
		edit func(m *triage.Match)
		want []string // each in the text; none when nil: no mark at all
	}{
		{"all verified", nil, nil},
		{"entry", func(m *triage.Match) { m.Verified = false }, []string{"(sched_clock overflow) (unverified);", "(sched_clock overflow) (unverified)\n"}},
		{"root cause", func(m *triage.Match) { m.RootCauseVerified = false }, []string{"    cause (unverified): The x86"}},
		{"fix", func(m *triage.Match) { m.FixedIn.Upstream.Verified = false }, []string{"(4cecf6d401a0, hash unverified)", `sched_clock" in v3.2 (unverified)` + "\n"}},
		{"fix release", func(m *triage.Match) { m.FixedIn.Upstream.ReleaseVerified = false }, []string{`sched_clock" in v3.2 (release unverified)` + "\n"}},
		{"distro", func(m *triage.Match) { m.FixedIn.Distros[0].Verified = false }, []string{
			", Red Hat Enterprise Linux 6 2.6.32-220.5.1.el6 (unverified), Oracle", "fixed in Red Hat Enterprise Linux 6 2.6.32-220.5.1.el6 (unverified)\n"}},
		{"workaround", func(m *triage.Match) { m.Workaround.Verified = false }, []string{"\nWorkaround (unverified): Reboot", "    workaround (unverified): Reboot"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.Matches = []triage.Match{verified(c.edit)}
			var b bytes.Buffer
			if err := Text(&b, d, Style{}); err != nil {
				t.Fatal(err)
			}
			text := b.String()
			if c.want == nil && strings.Contains(text, "unverified") {
				t.Errorf("a verified fact is marked:\n%s", text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in:\n%s", w, text)
				}
			}
		})
	}
}

// TestTextSaysWhatWasCut: a report shown many times says how many, and an
// input's note on what was not read is printed.
func TestTextSaysWhatWasCut(t *testing.T) {
	cases := []struct {
		name string
		edit func(d *triage.Diagnosis)
		want []string
	}{
		{"occurrences", func(d *triage.Diagnosis) { d.Reports[0].Occurrences = 705000 },
			[]string{"1 crash (705,000 times)", "Details: 1 crash (705,000 times) in", "shown 705,000 times with the same text; the first is above"}},
		{"occurrences with times", func(d *triage.Diagnosis) {
			d.Reports[0].Occurrences, d.Reports[0].FirstTime, d.Reports[0].LastTime = 3, "1.000000", "9.500000"
		}, []string{"shown 3 times with the same text, from [1.000000] to [9.500000]; the first is above"}},
		{"once", func(d *triage.Diagnosis) {}, []string{"1 crash, one known bug"}},
		{"note", func(d *triage.Diagnosis) { d.Inputs[0].Note = "only the first 2000 files were read: 4 more were not" },
			[]string{": only the first 2000 files were read: 4 more were not\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := diagnosis(t)
			c.edit(d)
			var b bytes.Buffer
			if err := Text(&b, d, Style{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("text lacks %q:\n%s", w, b.String())
				}
			}
			if c.name == "once" && strings.Contains(b.String(), " times") {
				t.Errorf("a report shown once has a count:\n%s", b.String())
			}
		})
	}
}

// TestConfidenceText: a match is called known only when exact or likely; a
// possible one says why and leaves the report unmatched, with the query to
// search for; a fix index's candidates are named.
func TestConfidenceText(t *testing.T) {
	drafts, err := kb.Load("../kb/drafts")
	if err != nil {
		t.Fatal(err)
	}
	log := `[  100.000001] ------------[ cut here ]------------
[  100.000002] kernel BUG at net/ipv4/tcp_input.c:1306!
[  100.000003] invalid opcode: 0000 [#1] SMP
[  100.000004] CPU: 3 PID: 0 Comm: swapper/3 Not tainted 5.4.0 #1
[  100.000005] RIP: 0010:tcp_shifted_skb+0x1f0/0x200
[  100.000006] Call Trace:
[  100.000007]  <IRQ>
[  100.000008]  tcp_sacktag_walk+0x2e2/0x5a0
[  100.000009]  tcp_sacktag_write_queue+0x302/0x8f0
[  100.000010]  tcp_ack+0x3b5/0x1400
`
	p := filepath.Join(t.TempDir(), "sack.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := triage.Analyze([]string{p}, triage.Options{KB: drafts})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Matches) != 1 || d.Matches[0].Confidence != "possible" {
		t.Fatalf("matches %+v: want one possible match (5.4.0 is past the SACK panic fix)", d.Matches)
	}
	if len(d.Unmatched) != 1 || d.Unmatched[0].Query != `"kernel BUG in tcp_shifted_skb"` {
		t.Fatalf("unmatched %+v", d.Unmatched)
	}
	var b strings.Builder
	if err := Text(&b, d, Style{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"1 crash, no known bug for sure",
		"Possibly known bug tcp-sack-panic",
		"fixed in this kernel already?",
		`No known bug matches [0] for sure (possibly tcp-sack-panic); search for: "kernel BUG in tcp_shifted_skb"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Workaround") {
		t.Errorf("a possible match's workaround is in the story:\n%s", out)
	}
}
