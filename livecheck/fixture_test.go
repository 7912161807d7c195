package livecheck_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/livecheck"
	"github.com/ktriage/ktriage/triage"
)

func inputOf(t *testing.T, name string) (*kview.View, livecheck.Input) {
	t.Helper()
	file := "vmcore.kdump-d31"
	if name == "skbbug-qmp" {
		file = "vmcore.filtered-d31"
	}
	path := testshared.Path(t, "fixtures/vmcore/"+name+"/"+file)
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	in := livecheck.Input{Release: k.Release()}
	for _, n := range d.PRStatus() {
		in.CPUs = append(in.CPUs, livecheck.CPUState{CPU: n.CPU, PID: n.PID, Regs: n.Regs})
	}
	return kview.New(k), in
}

func TestDebug(t *testing.T) {
	for _, name := range []string{"skbcsum-kdump", "sysrq-c-kdump", "warn-kdump", "skbbug-qmp"} {
		v, in := inputOf(t, name)
		start := time.Now()
		res, err := livecheck.Run(v, in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		b, _ := json.MarshalIndent(struct {
			F any
			O any
			N []string
			C int
			T string
			S int
		}{res.Findings, res.Owner, res.Notes, res.Candidates, res.Task, len(res.SKBs)}, "", " ")
		t.Logf("%s (%v): %s", name, time.Since(start), b)
	}
}
