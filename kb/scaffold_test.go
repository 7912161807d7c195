package kb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/oops"
)

// TestScaffold: a draft made from a report loads, matches its own sample
// exactly, carries the report's facts, and lint asks for every TODO.
func TestScaffold(t *testing.T) {
	const log = `[  12.000000] kernel BUG at drivers/net/mydrv.c:42!
[  12.000001] invalid opcode: 0000 [#1] SMP
[  12.000001] CPU: 1 PID: 0 Comm: swapper/1 Not tainted 6.1.0-13-amd64 #1 Debian 6.1.55-1
[  12.000002] RIP: 0010:my_driver_xmit.isra.0+0x10/0x20 [mydrv]
[  12.000003] Call Trace:
[  12.000004]  dev_hard_start_xmit+0x90/0x1e0
[  12.000005]  ? unrelated_thing+0x1/0x2
[  12.000006]  __dev_queue_xmit+0x6c3/0x9a0
`
	reps, err := oops.Parse(strings.NewReader(log), "t")
	if err != nil || len(reps) != 1 {
		t.Fatalf("parse: %v, %d reports", err, len(reps))
	}
	r := reps[0]
	for _, c := range []struct {
		name, id, log string
		r             *oops.Report
	}{
		{"from a report", SuggestID(r), log, r},
		{"empty", "my-new-bug", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := Scaffold(c.id, c.r, c.log)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.id+".yaml"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			k, err := Load(dir)
			if err != nil {
				t.Fatalf("the draft does not load: %v\n%s", err, data)
			}
			e := k.Get(c.id)
			if e == nil || e.Overrides != "" {
				t.Fatalf("no entry %s in\n%s", c.id, data)
			}
			var lint []string
			for _, p := range e.lint() {
				lint = append(lint, p.Msg)
			}
			all := strings.Join(lint, "\n")
			for _, want := range []string{"is not an http(s) URL", "tests.near_misses: at least one near miss"} {
				if !strings.Contains(all, want) {
					t.Errorf("lint does not ask for %q:\n%s", want, all)
				}
			}
			if c.r == nil {
				if !strings.Contains(all, "match block has no title, function, frame or location condition") {
					t.Errorf("an empty draft passes the identifying check:\n%s", all)
				}
				return
			}
			b := e.Match.Any[0]
			if e.Title != r.Title || b.Types[0] != "BUG" || b.Functions[0] != "my_driver_xmit" ||
				strings.Join(b.Frames[0], ",") != "my_driver_xmit,dev_hard_start_xmit,__dev_queue_xmit" ||
				len(b.Releases) != 1 || b.Releases[0].Scheme != "deb-abi" || b.Releases[0].Min != "6.1.0-13" {
				t.Errorf("draft facts: title %q block %+v\n%s", e.Title, b, data)
			}
			if e.Tests.Reports[0].Log != log {
				t.Errorf("sample log changed:\n%q", e.Tests.Reports[0].Log)
			}
			res, err := e.CheckSample(e.Tests.Reports[0])
			if err != nil || res.Best != Exact {
				t.Errorf("the draft matches its own report at %v (%v)", res.Best, err)
			}
			if strings.Contains(all, "does not match its own report") {
				t.Errorf("lint: %s", all)
			}
		})
	}
	if _, err := Scaffold("Bad ID", nil, ""); err == nil {
		t.Error("a bad id was accepted")
	}
	if id := SuggestID(r); id != "bug-my-driver-xmit" {
		t.Errorf("SuggestID = %q", id)
	}
	for rel, want := range map[string]string{
		"2.6.32-504.23.4.el6.x86_64": "rpm 2.6.32-504.23.4.el6",
		"6.1.0-13-amd64":             "deb-abi 6.1.0-13",
		"6.7.0-rc3-syzkaller":        "upstream 6.7.0-rc3",
	} {
		rg, ok := releaseRange(rel)
		if got := rg.Scheme + " " + rg.Min; !ok || got != want {
			t.Errorf("releaseRange(%s) = %s, want %s", rel, got, want)
		}
	}
}

// FuzzScaffold: any log, parsed as kb new parses it, gives a draft that
// loads with the log intact (an error only for a log too large for an
// entry); never a panic, never a file that does not parse.
func FuzzScaffold(f *testing.F) {
	f.Add("[  12.000000] kernel BUG at drivers/net/mydrv.c:42!\n[  12.000002] RIP: 0010:my_driver_xmit+0x10/0x20 [mydrv]\n")
	f.Add("BUG: KASAN: use-after-free in f+0x1/0x2\n\tx: \"y\" #z\n\x1b[31m: - |\n")
	f.Add("WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\nCPU: 0 PID: 1 Comm: x Not tainted 2.6.32-504.el6.x86_64 #1\n\xff\xfe\n")
	f.Fuzz(func(t *testing.T, log string) {
		reps, err := oops.Parse(strings.NewReader(log), "fuzz")
		if err != nil || len(reps) == 0 {
			return
		}
		r := reps[0]
		data, err := Scaffold(SuggestID(r), r, log)
		if err != nil {
			if len(log) < maxEntryFile/2 {
				t.Fatalf("no draft: %v", err)
			}
			return
		}
		e, err := parseEntry(SuggestID(r)+".yaml", data)
		if err != nil {
			t.Fatalf("the draft does not parse: %v\n%s", err, data)
		}
		if got := e.Tests.Reports[0].Log; got != strings.ToValidUTF8(log, "\uFFFD") {
			t.Fatalf("log %q read back as %q", log, got)
		}
	})
}

// TestScaffoldLogs: the sample log survives the draft's YAML whatever its
// text: indentation, tabs, CRs, YAML syntax, control characters, Unicode
// line separators, blank lines and final newlines (invalid UTF-8 becomes
// U+FFFD, YAML being UTF-8).
func TestScaffoldLogs(t *testing.T) {
	base := "[  12.000000] kernel BUG at drivers/net/mydrv.c:42!\n[  12.000002] RIP: 0010:my_driver_xmit+0x10/0x20 [mydrv]\n"
	for _, extra := range []string{"", "\tTab line\n", "trailing   \n", "\xff\xfe bad utf8\n", "cr line\r\n",
		"   leading spaces\n", "---\n", "...\n", "# hash\n", "key: value\n", "\x1b[31mred\x1b[0m\n", "\x00nul\n",
		"\u2028sep\n", "\n\n", "no final newline", "  \n"} {
		for _, log := range []string{base + extra, "  " + extra + base, extra + base} {
			reps, _ := oops.Parse(strings.NewReader(log), "t")
			if len(reps) == 0 {
				continue
			}
			data, err := Scaffold("x-y", reps[0], log)
			if err != nil {
				t.Errorf("%q: %v", log, err)
				continue
			}
			e, err := parseEntry("x-y.yaml", data)
			if err != nil || e.Tests.Reports[0].Log != strings.ToValidUTF8(log, "\uFFFD") {
				t.Errorf("%q: log read back as %q (%v)\n%s", log, e.Tests.Reports[0].Log, err, data)
			}
		}
	}
}
