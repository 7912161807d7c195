package backtrace_test

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

var (
	reportRE = regexp.MustCompile(`CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)`)
	ripRE    = regexp.MustCompile(`RIP: 0010:([\w.]+)\+0x([0-9a-f]+)/`)
)

// TestGeneratedDumps: on every generated dump of both kernel series, the
// panic task is the one the log's report names (witnesses agreeing), its
// walk reaches the end of its stack, passes through the faulting function
// the log's "RIP: 0010:" names, and prints in crash's layout.
func TestGeneratedDumps(t *testing.T) {
	for _, set := range vmcores.Sets {
		s := vmcores.Require(t, set)
		for _, e := range s.Entries {
			t.Run(set+"/"+e.Name, func(t *testing.T) {
				log, err := os.ReadFile(e.Dmesg)
				if err != nil {
					t.Fatal(err)
				}
				m := reportRE.FindSubmatch(log)
				rip := ripRE.FindSubmatch(log)
				if m == nil || rip == nil {
					t.Fatal("no report line or RIP in the log")
				}
				cpu, _ := strconv.Atoi(string(m[1]))
				pid, _ := strconv.Atoi(string(m[2]))
				d, k, err := triage.OpenVmcore(e.Path)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				tr := backtrace.New(kview.New(k), d.PRStatus())
				p, err := tr.FindPanic(backtrace.LogContext{CPU: cpu, PID: pid, Comm: string(m[3])})
				if err != nil {
					t.Fatal(err)
				}
				if p.PID != pid || p.CPU != cpu || len(p.Disagreements) > 0 || len(p.Witnesses) < 2 {
					t.Errorf("%s", p)
				}
				bt, err := tr.Task(p.Task, false)
				if err != nil {
					t.Fatal(err)
				}
				if !bt.Trace.Complete {
					t.Errorf("walk incomplete: %s", bt.Trace.Stop)
				}
				off, _ := strconv.ParseUint(string(rip[2]), 16, 64)
				found := false
				for _, f := range bt.Trace.Frames {
					found = found || f.Func == string(rip[1]) && f.Off == off
					if f.Regs != nil && f.Func == string(rip[1]) {
						found = true
					}
				}
				if !found {
					t.Errorf("no frame at %s+%#x", rip[1], off)
				}
				var out bytes.Buffer
				if err := tr.Render(&out, bt); err != nil {
					t.Fatal(err)
				}
				if ses := parse(out.String()); len(ses.Backtraces) != 1 || len(ses.Backtraces[0].AllFrames) == 0 {
					t.Errorf("our bt does not read back:\n%s", out.String())
				}
			})
		}
	}
}
