package backtrace_test

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// parse reads a bt text with the project's crash-transcript parser.
func parse(text string) *crashlog.Session {
	s := crashlog.NewScanner()
	for i, l := range strings.Split(text, "\n") {
		s.Line(i+1, l)
	}
	return s.Finish()
}

// TestPanicBT: on the skbcsum fixture, the panic task's bt as we print it,
// read back by crashlog, has crash-bt.txt's exception RIP and every
// register of its block, and crash's frames above the exception (#8-#20:
// the slot, the function and the address; the module's init function named
// as the log names it, skbcsum_init, not crash's _MODULE_INIT_START_),
// in order, with no unmarked frame crash lacks; the panic task is found by
// all three witnesses.
func TestPanicBT(t *testing.T) {
	dir := "fixtures/vmcore/skbcsum-kdump/"
	d, k, err := triage.OpenVmcore(testshared.Path(t, dir+"vmcore.kdump-d31"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tr := backtrace.New(kview.New(k), d.PRStatus())
	p, err := tr.FindPanic(backtrace.LogContext{CPU: 0, PID: 104})
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != 104 || p.CPU != 0 || len(p.Witnesses) != 3 || len(p.Disagreements) != 0 {
		t.Errorf("%s", p)
	}
	bt, err := tr.Task(p.Task, false)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tr.Render(&out, bt); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	ours := parse(out.String())
	raw, err := os.ReadFile(testshared.Path(t, dir+"crash-bt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	theirs := parse(string(raw))
	if len(ours.Backtraces) != 1 || len(theirs.Backtraces) != 1 {
		t.Fatalf("%d and %d backtraces", len(ours.Backtraces), len(theirs.Backtraces))
	}
	o, c := ours.Backtraces[0], theirs.Backtraces[0]
	if o.Exception == nil || c.Exception == nil {
		t.Fatal("no exception frame")
	}
	if o.Exception.Function != c.Exception.Function || *o.Exception.Offset != *c.Exception.Offset {
		t.Errorf("exception RIP %s+%d, crash %s+%d", o.Exception.Function, *o.Exception.Offset, c.Exception.Function, *c.Exception.Offset)
	}
	for name, want := range c.Exception.Regs {
		if got, ok := o.Exception.Regs[name]; !ok || got != want {
			t.Errorf("exception %s = %x (%v), crash %x", name, got, ok, want)
		}
	}
	// crash's frames after its exception frame, against ours (all of
	// ours are after the exception: the walk starts there).
	var want []crashlog.StackFrame
	for _, f := range c.AllFrames {
		if f.Index > c.AllFrames[c.Exception.After].Index {
			want = append(want, f)
		}
	}
	if len(want) != 13 {
		t.Fatalf("crash-bt.txt: %d frames after the exception", len(want))
	}
	// The log's own trace marks crash's stale frames (return addresses
	// left on the stack by earlier calls) with "?": those crash frames
	// may be missing from ours; every other crash frame must be ours, in
	// order, slot, function and address alike, and we have no other.
	log, err := os.ReadFile(testshared.Path(t, dir+"dmesg.makedumpfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	stale := map[string]bool{}
	for _, m := range regexp.MustCompile(`\] +\? ([\w.]+)\+`).FindAllSubmatch(log, -1) {
		stale[string(m[1])] = true
	}
	i := 0
	for _, w := range want {
		fn := w.Function
		if strings.HasPrefix(fn, "_MODULE_INIT_START_") {
			fn = "skbcsum_init"
		}
		if i < len(o.AllFrames) && o.AllFrames[i].StackAddr == w.StackAddr {
			g := o.AllFrames[i]
			if g.Address != w.Address || g.Function != fn || g.Module != w.Module {
				t.Errorf("frame %d: [%x] %s at %x [%s], crash #%d [%x] %s at %x [%s]", i, g.StackAddr, g.Function, g.Address, g.Module, w.Index, w.StackAddr, w.Function, w.Address, w.Module)
			}
			i++
			continue
		}
		if !stale[fn] {
			t.Errorf("crash #%d [%x] %s at %x is missing from ours and the log does not mark it stale", w.Index, w.StackAddr, w.Function, w.Address)
		}
	}
	if i != len(o.AllFrames) {
		t.Errorf("%d of our %d frames matched crash's in order", i, len(o.AllFrames))
	}
	// the user registers at the end are the log's "RIP: 0033:" ones
	m := regexp.MustCompile(`RIP: 0033:0x([0-9a-f]+)`).FindSubmatch(log)
	if m == nil {
		t.Fatal("no user RIP in the log")
	}
	rip, _ := strconv.ParseUint(string(m[1]), 16, 64)
	if bt.Trace.User == nil || bt.Trace.User["RIP"] != rip {
		t.Errorf("user RIP %x, log %x", bt.Trace.User["RIP"], rip)
	}
}
