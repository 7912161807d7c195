package triage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// warning is one WARNING report; f names its function, ts its timestamp.
func warning(f string, ts int) string {
	var b strings.Builder
	for _, l := range []string{
		"WARNING: CPU: 0 PID: 1 at net/core/dev.c:100 " + f + "+0x10/0x20",
		"Modules linked in:",
		"RIP: 0010:" + f + "+0x10/0x20",
		"Call Trace:",
		" <TASK>",
		" dev_queue_xmit+0x10/0x20",
		" ip_finish_output2+0x10/0x20",
		" </TASK>",
		"---[ end trace 0000000000000000 ]---",
	} {
		fmt.Fprintf(&b, "[%5d.%06d] %s\n", ts/1000000, ts%1000000, l)
	}
	return b.String()
}

// TestNothingCutSilently: what the bounds cut is said, on the input it was
// cut from, and a report shown many times is one report with its count.
func TestNothingCutSilently(t *testing.T) {
	cases := []struct {
		name        string
		files       func(dir string) string // writes the input, returns its path
		reports     int
		occurrences int    // of the first report
		first, last string // its first and last times
		note        string // in the note of the first input
	}{
		{"one warning shown 1000 times", func(dir string) string {
			var b strings.Builder
			for i := range 1000 {
				b.WriteString(warning("tcp_xmit", i*1000))
			}
			return writeFile(t, dir, "same.log", b.String())
		}, 1, 1000, "0.000000", "0.999000", ""},
		{"4100 distinct warnings", func(dir string) string {
			var b strings.Builder
			for i := range 4100 {
				b.WriteString(warning(fmt.Sprintf("f%d", i), i))
				b.WriteString(warning(fmt.Sprintf("f%d", i), i)) // shown twice: one dropped crash, not two
			}
			return writeFile(t, dir, "many.log", b.String())
		}, 4096, 2, "0.000000", "0.000000", "only the first 4096 distinct crash reports were kept: 4 more were not"},
		{"a 3 MiB line", func(dir string) string {
			long := "[    0.500000] " + strings.Repeat("x", 3<<20) + "\n"
			edge := "[    0.600000] " + strings.Repeat("y", 1<<20-len("[    0.600000] ")) + "\n"
			return writeFile(t, dir, "long.log", long+edge+warning("tcp_xmit", 1000000))
		}, 1, 1, "", "", "lines longer than 1048576 bytes, read only up to that length: 1"},
		{"a directory of 2003 files", func(dir string) string {
			logs := filepath.Join(dir, "logs")
			os.Mkdir(logs, 0o755)
			for i := range 2003 {
				writeFile(t, logs, fmt.Sprintf("%04d.log", i), "[    1.000000] Linux version 6.1.0-13-amd64\n")
			}
			writeFile(t, logs, "9999.log", warning("tcp_xmit", 5))
			return logs
		}, 0, 0, "", "", "only the first 2000 files were read: 4 more were not"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Analyze([]string{c.files(t.TempDir())}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Reports) != c.reports {
				t.Fatalf("%d reports, want %d", len(d.Reports), c.reports)
			}
			if c.reports > 0 && d.Reports[0].Times() != c.occurrences {
				t.Errorf("occurrences %d, want %d", d.Reports[0].Times(), c.occurrences)
			}
			if c.reports > 0 && c.first != "" && (d.Reports[0].FirstTime != c.first || d.Reports[0].LastTime != c.last) {
				t.Errorf("first and last times %q, %q; want %q, %q", d.Reports[0].FirstTime, d.Reports[0].LastTime, c.first, c.last)
			}
			if d.Inputs[0].Note != c.note {
				t.Errorf("note %q, want %q", d.Inputs[0].Note, c.note)
			}
			raw, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if c.occurrences > 1 && !bytes.Contains(raw, fmt.Appendf(nil, `"occurrences":%d`, c.occurrences)) {
				t.Errorf("JSON lacks the occurrences")
			}
			if c.note != "" && !bytes.Contains(raw, []byte(c.note)) {
				t.Errorf("JSON lacks the note")
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestControlBytes: a NUL, 0xFF or other control byte inside a line (a
// serial line's noise, a zeroed ring slot) changes neither how many crashes
// the seed shows nor their titles and signatures.
func TestControlBytes(t *testing.T) {
	seed, err := os.ReadFile(testshared.Path(t, testshared.Seed))
	if err != nil {
		t.Fatal(err)
	}
	want := reportKeys(t, seed)
	cases := []struct{ name, old, new string }{
		{"NUL in a bt frame", " #8 [ffff880061a03568] dev_hard_start_xmit", " #8 [ffff880061a03568] dev_hard_\x00start_xmit"},
		{"0xFF in a bt frame", " #8 [ffff880061a03568] dev_hard_start_xmit", " #8 [ffff880061a03568] dev_hard_\xffstart_xmit"},
		{"NUL before kernel BUG at", "<2>[259117.681597] kernel BUG at", "<2>[259117.681597] \x00kernel BUG at"},
		{"CR and DEL in a bt frame", " #9 [ffff880061a035c8] sch_direct_xmit", " #9 [ffff880061a035c8] sch_direct\r_x\x7fmit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(seed, []byte(c.old)) {
				t.Fatalf("the seed lacks %q", c.old)
			}
			got := reportKeys(t, bytes.Replace(seed, []byte(c.old), []byte(c.new), 1))
			if !slices.Equal(got, want) {
				t.Errorf("reports %q, want %q", got, want)
			}
		})
	}
}

// reportKeys analyzes text and returns each report's title and signature.
func reportKeys(t *testing.T, text []byte) []string {
	t.Helper()
	p := writeFile(t, t.TempDir(), "seed.txt", string(text))
	d, err := Analyze([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range d.Reports {
		keys = append(keys, r.Title+" "+r.Signature)
	}
	return keys
}

// TestDumpWarningsNoted: what the dump readers warn of (a truncated kdump
// file whose log is still readable) is noted on the dump's input.
func TestDumpWarningsNoted(t *testing.T) {
	dumps, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "skbcsum-kdump", "vmcore.*"))
	if len(dumps) == 0 {
		t.Fatal("no fixture dump")
	}
	raw, err := os.ReadFile(dumps[0])
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "vmcore", string(raw[:len(raw)*95/100]))
	d, err := Analyze([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) == 0 {
		t.Fatal("no crash read from the truncated dump's log")
	}
	if n := d.Inputs[0].Note; !strings.Contains(n, "past the end of the file") || strings.HasPrefix(n, p) {
		t.Errorf("note %q does not say the dump is truncated (once, without its path)", n)
	}
}
