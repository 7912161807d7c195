package triage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/owner"
)

// The transcripts in testdata/transcripts are crash(8) sessions as users
// paste them: `crash> ` prompts, a RHEL6 2.6.32 sk_buff where tail, end and
// the header fields are offsets from head (x86_64), one i686 session where
// they are pointers, and the prose around them. Each invariant transcript
// breaks exactly one rule of checks/skb.go on an otherwise consistent skb.

const transcriptDir = "testdata/transcripts"

func analyzeTranscript(t *testing.T, name string) *Diagnosis {
	t.Helper()
	d, err := Analyze([]string{filepath.Join(transcriptDir, name)}, Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Kind != KindCrashSession {
		t.Errorf("%s: inputs %+v, want one crash-session", name, d.Inputs)
	}
	return d
}

// verdicts returns the findings at warning or error level, by check id.
func verdicts(d *Diagnosis) map[string][]checks.Finding {
	out := map[string][]checks.Finding{}
	for _, f := range d.Findings {
		if f.Severity == checks.SeverityError || f.Severity == checks.SeverityWarning {
			out[f.Check] = append(out[f.Check], f)
		}
	}
	return out
}

func findingsOf(d *Diagnosis, check string) []checks.Finding {
	var out []checks.Finding
	for _, f := range d.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func logFindings(t *testing.T, d *Diagnosis) {
	t.Helper()
	for _, f := range d.Findings {
		t.Logf("  %s %s %s: %s", f.Severity, f.Check, f.Object.Name(), f.Message())
	}
}

func link(o *owner.Owner, from, to string) (owner.Link, bool) {
	if o == nil {
		return owner.Link{}, false
	}
	for _, l := range o.Links {
		if l.From == from && l.To == to {
			return l, true
		}
	}
	return owner.Link{}, false
}

func hasStep(d *Diagnosis, sub string) bool {
	return slices.ContainsFunc(d.NextSteps, func(s string) bool { return strings.Contains(s, sub) })
}

// TestTranscriptInvariants: a consistent skb gives no verdict; each
// transcript that breaks one invariant gives exactly that check's verdict,
// at the severity checks/skb.go gives it, and no other warning or error.
//
// Two check ids have no transcript of their own because they are never a
// verdict: skb-stale-frags is context the data_len check attaches to its
// own mismatch (info), and skb-shinfo-missing says a check could not run
// (info). They are asserted where they belong: skb-data-len.txt and
// shinfo-missing.txt.
func TestTranscriptInvariants(t *testing.T) {
	cases := []struct {
		file string
		skb  string // the dumped sk_buff
		// check and severity are the one verdict wanted; "" for none.
		check    string
		severity checks.Severity
		// msg are substrings of the verdict's message.
		msg []string
		// info are info-level checks that must accompany it.
		info []string
	}{
		{file: "consistent.txt", skb: "ffff88047c2e1a80"},
		{file: "skb32-consistent.txt", skb: "f1c2a0c0"},

		// len 1300 < data_len 2896 (frags 1448 + 1448 = data_len, so
		// skb-data-len stays quiet; headlen wraps, so skb-linear and
		// skb-gso, which need it, do not run).
		{file: "skb-len.txt", skb: "ffff880833a4e2c0", check: checks.CheckSKBLen, severity: checks.SeverityError,
			msg: []string{"len 1300 is smaller than data_len 2896"}},
		// headlen 2962 - 2896 = 66, but tail 202 - data offset 128 = 74.
		{file: "skb-linear.txt", skb: "ffff8806f21b9d40", check: checks.CheckSKBLinear, severity: checks.SeverityError,
			msg: []string{"= 66", "202 - 128 = 74"}},
		// data = head - 8 (what skb_under_panic saw); tail and the header
		// offsets follow data so that only the layout rule breaks.
		{file: "skb-layout.txt", skb: "ffff880c3e6f5180", check: checks.CheckSKBLayout, severity: checks.SeverityError,
			msg: []string{"data lies 8 bytes before head"}},
		// data_len 1200, nr_frags 1 holding 800: 400 missing, which RBX
		// holds at the BUG in skb_checksum; frags[1] (size 400) is stale.
		{file: "skb-data-len.txt", skb: "ffff88081e3b7c68", check: checks.CheckSKBDataLen, severity: checks.SeverityError,
			msg: []string{
				"data_len is 1200 but skb_shared_info's 1 frag holds 800 bytes and there is no frag_list: 400 bytes of paged data do not exist",
				"skb_checksum_help asked for 1232 bytes from offset 34",
				"with 400 left",
				"RBX = 0x190 = 400 is the missing byte count",
				"R12 = R13 = 0x42 = 66 is headlen",
			},
			info: []string{checks.CheckSKBStaleFrags}},
		{file: "skb32-data-len.txt", skb: "f1c2a0c0", check: checks.CheckSKBDataLen, severity: checks.SeverityError,
			msg:  []string{"data_len is 1200 but skb_shared_info's 1 frag holds 700 bytes", "500 bytes of paged data do not exist"},
			info: []string{checks.CheckSKBStaleFrags}},
		// nr_frags 258 on 2.6.32 (MAX_SKB_FRAGS 18): the frags cannot be
		// summed, so no data_len verdict at all.
		{file: "skb-nr-frags.txt", skb: "ffff8802b7e41d00", check: checks.CheckSKBNrFrags, severity: checks.SeverityError,
			msg: []string{"nr_frags 258 exceeds MAX_SKB_FRAGS 18"}},
		// Only Ethernet + IP are linear (tail 162 = csum_start): the TCP
		// checksum field at 162 + 16 ends at 180.
		{file: "skb-csum.txt", skb: "ffff880a7d2e9b40", check: checks.CheckSKBCsum, severity: checks.SeverityError,
			msg: []string{"csum_start + csum_offset = 162 + 16 ends at 180, beyond tail 162"}},
		{file: "skb-headers.txt", skb: "ffff88035a1c8e80", check: checks.CheckSKBHeaders, severity: checks.SeverityError,
			msg: []string{"mac_header 65664 is at or beyond end 320"}},
		{file: "skb-truesize.txt", skb: "ffff880745d0a0c0", check: checks.CheckSKBTruesize, severity: checks.SeverityWarning,
			msg: []string{"truesize 1152 is below len 2962"}},
		// dataref 0x20001: 2 payload-only references, 1 to the whole data.
		{file: "skb-dataref.txt", skb: "ffff8804b1e95a68", check: checks.CheckSKBDataref, severity: checks.SeverityError,
			msg: []string{"dataref 0x20001 counts 2 payload-only references but only 1"}},
		// len 2962, gso_size 1448 and 54 to 66 header bytes make 2 to 3
		// segments, not 7.
		{file: "skb-gso.txt", skb: "ffff880254c87240", check: checks.CheckSKBGSO, severity: checks.SeverityWarning,
			msg: []string{"gso_segs is 7", "makes 2 to 3 segments"}},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, ".txt"), func(t *testing.T) {
			d := analyzeTranscript(t, c.file)
			v := verdicts(d)
			defer func() {
				if t.Failed() {
					logFindings(t, d)
				}
			}()
			for check, fs := range v {
				if check != c.check {
					t.Errorf("unwanted %s %s: %s", fs[0].Severity, check, fs[0].Message())
				}
			}
			for _, f := range d.Findings {
				if f.Object.Name() != "sk_buff "+c.skb {
					t.Errorf("finding %s is about %q, want sk_buff %s", f.Check, f.Object.Name(), c.skb)
				}
			}
			for _, i := range c.info {
				if fs := findingsOf(d, i); len(fs) != 1 || fs[0].Severity != checks.SeverityInfo {
					t.Errorf("%s: %+v, want one info finding", i, fs)
				}
			}
			if c.check == "" {
				return
			}
			fs := v[c.check]
			if len(fs) != 1 {
				t.Fatalf("%s: %d verdicts, want 1", c.check, len(fs))
			}
			if fs[0].Severity != c.severity {
				t.Errorf("%s severity %s, want %s", c.check, fs[0].Severity, c.severity)
			}
			for _, m := range c.msg {
				if !strings.Contains(fs[0].Message(), m) {
					t.Errorf("%s message lacks %q:\n%s", c.check, m, fs[0].Message())
				}
			}
		})
	}
}

// TestTranscriptDataLenRegisters: the data_len verdict's evidence says
// which register holds which quantity, and the count the walk missed is
// RBX's.
func TestTranscriptDataLenRegisters(t *testing.T) {
	d := analyzeTranscript(t, "skb-data-len.txt")
	fs := findingsOf(d, checks.CheckSKBDataLen)
	if len(fs) != 1 {
		t.Fatalf("skb-data-len findings: %+v", fs)
	}
	ev := fs[0].Evidence
	if ev["missing"] != int64(400) || ev["paged_bytes"] != int64(800) || ev["walk_left"] != int64(400) {
		t.Errorf("evidence missing=%v paged_bytes=%v walk_left=%v", ev["missing"], ev["paged_bytes"], ev["walk_left"])
	}
	regs, _ := ev["registers"].(map[string]string)
	want := map[string]string{"RBX": "missing", "R12": "headlen", "R13": "headlen", "R8": "skb", "RAX": "skb_shared_info"}
	for r, role := range want {
		if regs[r] != role {
			t.Errorf("register %s cited as %q, want %q (all: %v)", r, regs[r], role, regs)
		}
	}
	// The skb is in R8 at the crash: the stack link is proven.
	if l, ok := link(d.Owner, "stack", "sk_buff"); !ok || l.Proof != owner.Proven || !strings.Contains(l.Why, "R8") {
		t.Errorf("stack link %+v", l)
	}
	if len(d.Reports) != 1 || d.Reports[0].RIP == nil || d.Reports[0].RIP.Function != "skb_checksum" {
		t.Errorf("reports %+v", d.Reports)
	}
}

// TestTranscriptShinfoMissing: with only the sk_buff dumped, data_len is
// not judged, and the next step names the shared info at head + end.
func TestTranscriptShinfoMissing(t *testing.T) {
	d := analyzeTranscript(t, "shinfo-missing.txt")
	if fs := findingsOf(d, checks.CheckSKBDataLen); len(fs) != 0 {
		t.Errorf("a data_len verdict without the shared info: %+v", fs)
	}
	if v := verdicts(d); len(v) != 0 {
		t.Errorf("verdicts %v", v)
	}
	fs := findingsOf(d, checks.CheckSKBShinfoMissing)
	if len(fs) != 1 || fs[0].Severity != checks.SeverityInfo {
		t.Fatalf("skb-shinfo-missing findings %+v", fs)
	}
	const head, end = 0xffff8805093a6800, 448
	want := fmt.Sprintf("crash> skb_shared_info %x", uint64(head+end))
	if want != "crash> skb_shared_info ffff8805093a69c0" {
		t.Fatalf("arithmetic: %s", want)
	}
	if !slices.Contains(d.NextSteps, want) {
		t.Errorf("next steps %q lack %q", d.NextSteps, want)
	}
}

// TestTranscriptOwner follows the corrupt skb to its process: proven when
// `foreach net -s` lists the socket under the task's header, inferred when
// only a grep'd `net -s` line and a ps are shown.
func TestTranscriptOwner(t *testing.T) {
	t.Run("foreach", func(t *testing.T) {
		d := analyzeTranscript(t, "owner-foreach.txt")
		o := d.Owner
		if o == nil {
			t.Fatal("no owner")
		}
		if o.SKB == nil || *o.SKB != "ffff88041c6a3868" || o.Socket == nil || *o.Socket != "ffff88041d7b2d00" {
			t.Errorf("skb %v socket %v", o.SKB, o.Socket)
		}
		if o.PID == nil || *o.PID != 4242 || o.Comm == nil || *o.Comm != "java" {
			t.Errorf("pid %v comm %v, want 4242 java", o.PID, o.Comm)
		}
		if o.FD == nil || *o.FD != 212 || o.Local == nil || *o.Local != "10.20.1.15:8080" || o.Device == nil || *o.Device != "eth0" {
			t.Errorf("fd %v local %v device %v", o.FD, o.Local, o.Device)
		}
		l, ok := link(o, "file descriptor", "process")
		if !ok || l.Proof != owner.Proven || !strings.Contains(l.Why, "4242") {
			t.Errorf("process link %+v", l)
		}
		if hasStep(d, "foreach net -s") {
			t.Errorf("next steps ask for what was shown: %q", d.NextSteps)
		}
		if fs := verdicts(d)[checks.CheckSKBDataLen]; len(fs) != 1 {
			t.Errorf("the skb followed is the corrupt one: data_len verdicts %+v", fs)
		}
	})
	t.Run("grep", func(t *testing.T) {
		d := analyzeTranscript(t, "owner-grep.txt")
		o := d.Owner
		if o == nil {
			t.Fatal("no owner")
		}
		if o.PID != nil || o.Comm != nil {
			t.Errorf("a process was named without proof: pid %v comm %v", o.PID, o.Comm)
		}
		if o.FD == nil || *o.FD != 212 {
			t.Errorf("fd %v, want 212 (the grep'd line shows it)", o.FD)
		}
		l, ok := link(o, "file descriptor", "process")
		if !ok || l.Proof != owner.Inferred || !strings.Contains(l.Why, "3 processes") {
			t.Errorf("process link %+v", l)
		}
		if !hasStep(d, "crash> foreach net -s") || !hasStep(d, "ffff8806a9f38c40") {
			t.Errorf("next steps %q lack foreach net -s for the socket", d.NextSteps)
		}
	})
}

// TestTranscriptStackLink: an `rd` of the `bt -F` slot labelled
// skbuff_fclone_cache proves the stack holds the skb; a dump alone does
// not, and the next step is `bt -F`.
func TestTranscriptStackLink(t *testing.T) {
	d := analyzeTranscript(t, "owner-stack-rd.txt")
	l, ok := link(d.Owner, "stack", "sk_buff")
	if !ok || l.Proof != owner.Proven || !strings.Contains(l.Why, "stack slot ffff88041a5b3a30 holds ffff880398c41e68") {
		t.Errorf("rd: stack link %+v", l)
	}
	if hasStep(d, "bt -F") {
		t.Errorf("rd: next steps ask for bt -F again: %q", d.NextSteps)
	}

	d = analyzeTranscript(t, "owner-stack-dumped.txt")
	l, ok = link(d.Owner, "stack", "sk_buff")
	if !ok || l.Proof != owner.Inferred {
		t.Errorf("dumped: stack link %+v", l)
	}
	if !hasStep(d, "crash> bt -F") {
		t.Errorf("dumped: next steps %q lack bt -F", d.NextSteps)
	}
	// Both crashes are in skb_release_data, with no register holding the
	// skb: what proves the link is the stack word, not the bt.
	for _, r := range d.Reports {
		if r.RIP == nil || r.RIP.Function != "skb_release_data" {
			t.Errorf("report %q rip %+v", r.Title, r.RIP)
		}
	}
}

// TestTranscriptTruncated: a paste that lost lines (a dump cut mid-struct,
// a grep'd dump, a shared info cut inside frags[], prose between them)
// gives what it can and invents no verdict from the partial dumps.
func TestTranscriptTruncated(t *testing.T) {
	d := analyzeTranscript(t, "truncated.txt")
	for _, f := range d.Findings {
		if f.Severity == checks.SeverityError {
			t.Errorf("verdict from a partial dump: %s %s: %s", f.Check, f.Object.Name(), f.Message())
		}
	}
	// The bt was cut inside its register block; its crash is still read.
	if len(d.Reports) != 1 || d.Reports[0].RIP == nil || d.Reports[0].RIP.Function != "skb_checksum" {
		t.Errorf("reports %+v", d.Reports)
	}
}

// TestTranscriptPrefixes cuts the consistent transcripts after every line:
// what a prefix shows is a subset of a consistent skb, so no prefix may
// yield a warning or error, nor panic.
func TestTranscriptPrefixes(t *testing.T) {
	base, err := kb.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"consistent.txt", "skb32-consistent.txt"} {
		raw, err := os.ReadFile(filepath.Join(transcriptDir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(raw), "\n")
		for n := 1; n < len(lines); n++ {
			p := filepath.Join(dir, fmt.Sprintf("%s.%d", name, n))
			if err := os.WriteFile(p, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := Analyze([]string{p}, Options{KB: base})
			if err != nil {
				t.Fatalf("%s cut after line %d: %v", name, n, err)
			}
			for _, f := range d.Findings {
				if f.Severity != checks.SeverityInfo {
					t.Errorf("%s cut after line %d (%q): %s %s: %s", name, n, strings.TrimSpace(lines[n-1]), f.Severity, f.Check, f.Message())
				}
			}
		}
	}
}

// TestTranscriptFiles keeps the transcripts small and each one used.
func TestTranscriptFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	src, err := os.ReadFile("transcripts_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(raw), "\n"); n >= 150 {
			t.Errorf("%s: %d lines, keep it under 150", f, n)
		}
		if !strings.Contains(string(raw), "crash> ") {
			t.Errorf("%s: no crash> prompt", f)
		}
		if !strings.Contains(string(src), `"`+filepath.Base(f)+`"`) {
			t.Errorf("%s: no test uses it", f)
		}
	}
}
