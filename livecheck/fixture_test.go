package livecheck_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/livecheck"
	"github.com/ktriage/ktriage/triage"
)

var dumps = map[string]string{
	"skbcsum-kdump": "vmcore.kdump-d31",
	"sysrq-c-kdump": "vmcore.kdump-d31",
	"warn-kdump":    "vmcore.kdump-d31",
	"skbbug-qmp":    "vmcore.filtered-d31",
}

// open opens a fixture dump, its memory read through wrap when not nil.
func open(t testing.TB, name string, wrap func(*dump.Dump) kernel.PhysReader) (*kview.View, livecheck.Input) {
	t.Helper()
	path := testshared.Path(t, "fixtures/vmcore/"+name+"/"+dumps[name])
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if wrap != nil {
		info, _ := d.RequireVMCOREINFO()
		if k, err = kernel.New(wrap(d), info); err != nil {
			t.Fatal(err)
		}
	}
	in := livecheck.Input{Release: k.Release()}
	for _, n := range d.PRStatus() {
		in.CPUs = append(in.CPUs, livecheck.CPUState{CPU: n.CPU, PID: n.PID, Regs: n.Regs})
	}
	return kview.New(k), in
}

// logFacts reads what a fixture's log says of the crash: its task line and
// the skb a module printed (0 when none). The code under test is given
// neither.
func logFacts(t *testing.T, name string) (cpu, pid int, comm string, skb uint64) {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, "fixtures/vmcore/"+name+"/dmesg.makedumpfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`CPU: (\d+) PID: (\d+) Comm: (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no CPU: PID: line")
	}
	cpu, _ = strconv.Atoi(string(m[1]))
	pid, _ = strconv.Atoi(string(m[2]))
	if s := regexp.MustCompile(`\w+: skb=([0-9a-f]{16})`).FindSubmatch(b); s != nil {
		skb, _ = strconv.ParseUint(string(s[1]), 16, 64)
	}
	return cpu, pid, string(m[3]), skb
}

// TestRun: on every fixture the crashing CPU is the log's, its task the
// log's, the only corrupt sk_buff the one a module printed, and the run
// takes well under a second.
func TestRun(t *testing.T) {
	for name := range dumps {
		t.Run(name, func(t *testing.T) {
			cpu, pid, comm, skb := logFacts(t, name)
			v, in := open(t, name, nil)
			start := time.Now()
			res, err := livecheck.Run(v, in)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v: CPU %d (%s), %s, %d candidates, %d sk_buffs, %d findings, notes %q", took, res.CPU, res.CPUFrom, res.Task, res.Candidates, len(res.SKBs), len(res.Findings), res.Notes)
			if took > time.Second {
				t.Errorf("took %v", took)
			}
			if res.CPU != cpu || res.Task != "pid "+strconv.Itoa(pid)+" ("+comm+")" {
				t.Errorf("CPU %d task %q, the log says CPU %d PID %d %s", res.CPU, res.Task, cpu, pid, comm)
			}
			if res.Candidates < 10 {
				t.Errorf("only %d candidate words", res.Candidates)
			}
			errs := 0
			for _, f := range res.Findings {
				if f.Object.Addr != skb {
					t.Errorf("finding %s on %s; the corrupt skb is %x", f.Check, f.Object.Name(), skb)
				}
				if f.Severity == checks.SeverityError {
					errs++
				}
			}
			switch {
			case skb == 0 && (errs != 0 || res.Owner != nil):
				t.Errorf("%d errors, owner %+v on a crash without a corrupt skb", errs, res.Owner)
			case skb != 0 && (errs == 0 || res.Owner == nil || *res.Owner.SKB != strconv.FormatUint(skb, 16)):
				t.Errorf("skb %x: %d errors, owner %+v", skb, errs, res.Owner)
			}
		})
	}
}

// TestNoCPUNotes: without NT_PRSTATUS notes there are no crashing
// registers, and Run says so rather than guess.
func TestNoCPUNotes(t *testing.T) {
	v, in := open(t, "skbcsum-kdump", nil)
	in.CPUs = nil
	if _, err := livecheck.Run(v, in); err == nil {
		t.Error("no error without CPU notes")
	}
}
