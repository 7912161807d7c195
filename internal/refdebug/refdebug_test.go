package refdebug_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// crashDumps are the dumps crash(8) is run on, by vmcore set: the kdump
// captures (crash-time NT_PRSTATUS), one kdump-compressed and filtered, one
// the ELF /proc/vmcore. crash 8.0.2 (Debian 12) opens every dump of the 6.1
// set, but takes ~6 s each: these two are enough. It opens none of the 6.12
// set ("vmlinux and dump do not match!": it predates 6.12).
var crashDumps = map[string][]string{
	vmcores.Set61: {"kdump-proc-d31", "elf-proc-vmcore"},
}

// drgnDumps are the dumps drgn 0.0.22 (Debian 12) lists the tasks of, ~0.3 s
// each: kdump-compressed through libkdumpfile, and ELF. It cannot read
// flattened streams (flat, kdump-zlib-qemu: "not an ELF core file";
// makedumpfile -R de-flattens them), nor QEMU's ELF made with paging=false
// (elf-qemu: "recursive address translation"), nor 6.12's kdump-proc-d31,
// whose -d 31 dropped a task_struct's slab page.
var drgnDumps = map[string][]string{
	vmcores.Set61:  {"kdump-zlib", "kdump-lzo", "kdump-d31", "elf-qemu-paging", "kdump-proc-d31", "elf-proc-vmcore"},
	vmcores.Set612: {"elf-proc-vmcore", "tcpskb-kdump-d1"},
}

// panicReport is the first oops report of the dump's expected log: the
// task, CPU and RIP the references must agree with.
func panicReport(t *testing.T, e vmcores.Entry) (*oops.Report, []byte) {
	t.Helper()
	log, err := os.ReadFile(e.Dmesg)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := oops.Parse(bytes.NewReader(log), e.Dmesg)
	if err != nil || len(reps) == 0 {
		t.Fatalf("%s: no oops report (%v)", e.Dmesg, err)
	}
	r := reps[0]
	if r.PID == nil || r.CPU == nil || r.RIP == nil || r.RIP.Offset == nil {
		t.Fatalf("%s: report lacks PID, CPU or RIP: %+v", e.Dmesg, r)
	}
	return r, log
}

// TestCrashOnDumps runs crash once per real dump with every command the
// parsers read and holds what it says to the dump and its log.
func TestCrashOnDumps(t *testing.T) {
	testshared.Tool(t, "crash")
	for set, names := range crashDumps {
		for _, name := range names {
			t.Run(set+"/"+name, func(t *testing.T) { crashOnDump(t, set, name) })
		}
	}
}

func crashOnDump(t *testing.T, set, name string) {
	s := vmcores.Require(t, set)
	e := s.Lookup(t, name)
	vmlinux := refdebug.Vmlinux(t, s, e)
	rep, log := panicReport(t, e)

	d, k, err := triage.OpenVmcore(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	syms, err := k.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	ripFn, ok := syms.Lookup(rep.RIP.Function)
	if !ok {
		t.Fatalf("kallsyms lacks %s", rep.RIP.Function)
	}
	modules, ok := syms.Lookup("modules")
	if !ok {
		t.Fatal("kallsyms lacks modules")
	}
	var lh [16]byte
	if _, err := k.ReadVirt(lh[:], modules); err != nil {
		t.Fatal(err)
	}

	symCmd := fmt.Sprintf("sym %x", ripFn+*rep.RIP.Offset)
	structCmd := fmt.Sprintf("struct list_head %x", modules)
	out, use, err := refdebug.CrashRun(context.Background(), vmlinux, e.Path, "sys", "ps", "bt", symCmd, structCmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crash: %v wall, %v user, %.0f MB peak RSS", use.Wall, use.User, float64(use.MaxRSS)/1e6)
	if use.Wall <= 0 || use.User <= 0 || (runtime.GOOS == "linux" && use.MaxRSS < 10<<20) {
		t.Errorf("crash's usage unmeasured: %+v", use)
	}

	sys, err := refdebug.ParseSys(out["sys"])
	if err != nil {
		t.Fatalf("%v\n%s", err, out["sys"])
	}
	if want := k.VMCOREINFO()["OSRELEASE"]; sys.Release != want || want == "" {
		t.Errorf("sys RELEASE %q, VMCOREINFO OSRELEASE %q", sys.Release, want)
	}
	if sys.Panic == "" || !bytes.Contains(log, []byte(sys.Panic)) {
		t.Errorf("sys PANIC %q not in %s", sys.Panic, e.Dmesg)
	}
	if sys.CPUs == nil || *sys.CPUs <= *rep.CPU {
		t.Errorf("sys CPUS %v, but the log's panic ran on CPU %d", sys.CPUs, *rep.CPU)
	}

	ps, err := refdebug.ParsePs(out["ps"])
	if err != nil {
		t.Fatalf("%v\n%s", err, out["ps"])
	}
	i := slices.IndexFunc(ps, func(p crashlog.Task) bool { return p.PID == *rep.PID })
	if i < 0 {
		t.Errorf("ps lacks the panic task %d:\n%s", *rep.PID, out["ps"])
	} else if p := ps[i]; !p.Active || p.CPU != *rep.CPU || rep.Comm == nil || p.Comm != *rep.Comm {
		t.Errorf("ps: panic task %+v, log says CPU %d comm %v and it must be active", p, *rep.CPU, rep.Comm)
	}

	bts, err := refdebug.ParseBt(out["bt"])
	if err != nil {
		t.Fatalf("%v\n%s", err, out["bt"])
	}
	bt := bts[0]
	if bt.PID == nil || *bt.PID != *rep.PID || bt.Exception == nil {
		t.Fatalf("bt: task %v, exception %v; want pid %d with an exception frame", bt.PID, bt.Exception, *rep.PID)
	}
	loc := bt.Exception.Location()
	if loc.Function != rep.RIP.Function || loc.Offset == nil || *loc.Offset != *rep.RIP.Offset {
		t.Errorf("bt exception RIP %s+%v, log RIP %s+%d", loc.Function, loc.Offset, rep.RIP.Function, *rep.RIP.Offset)
	}
	if rip := bt.Exception.Regs["RIP"]; rip != ripFn+*rep.RIP.Offset {
		t.Errorf("bt RIP register %#x, kallsyms %s+%d = %#x", rip, rep.RIP.Function, *rep.RIP.Offset, ripFn+*rep.RIP.Offset)
	}
	if len(bt.AllFrames) < 5 {
		t.Errorf("bt: %d frames", len(bt.AllFrames))
	}

	sym, err := refdebug.ParseSym(out[symCmd])
	if err != nil {
		t.Fatalf("%v\n%s", err, out[symCmd])
	}
	if s := sym[0]; s.Name != rep.RIP.Function || s.Offset != *rep.RIP.Offset || s.Addr != ripFn+*rep.RIP.Offset || (s.Type != 't' && s.Type != 'T') || s.File == "" {
		t.Errorf("%s: %+v", symCmd, s)
	}

	obj, err := refdebug.ParseStruct(structCmd, out[structCmd])
	if err != nil {
		t.Fatalf("%v\n%s", err, out[structCmd])
	}
	got := refdebug.Scalars(obj.Value)
	want := map[string]uint64{"next": binary.LittleEndian.Uint64(lh[:]), "prev": binary.LittleEndian.Uint64(lh[8:])}
	if len(got) != 2 || got["next"] != want["next"] || got["prev"] != want["prev"] {
		t.Errorf("%s: %v, memory holds %v", structCmd, got, want)
	}
}

// TestDrgnTasks lists tasks with drgn on the dumps it opens: the panic task
// must be among them, with the log's command name, running.
func TestDrgnTasks(t *testing.T) {
	testshared.Tool(t, "drgn")
	for _, set := range vmcores.Sets {
		for _, name := range drgnDumps[set] {
			t.Run(set+"/"+name, func(t *testing.T) { drgnOnDump(t, set, name) })
		}
	}
}

func drgnOnDump(t *testing.T, set, name string) {
	s := vmcores.Require(t, set)
	e := s.Lookup(t, name)
	vmlinux := refdebug.Vmlinux(t, s, e)
	rep, _ := panicReport(t, e)
	tasks, use, err := refdebug.DrgnTasksRun(context.Background(), vmlinux, e.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drgn: %d tasks; %v wall, %v user, %.0f MB peak RSS", len(tasks), use.Wall, use.User, float64(use.MaxRSS)/1e6)
	i := slices.IndexFunc(tasks, func(x refdebug.Task) bool { return x.PID == *rep.PID })
	if i < 0 {
		t.Fatalf("drgn lists no task %d among %d", *rep.PID, len(tasks))
	}
	if task := tasks[i]; rep.Comm == nil || task.Comm != *rep.Comm || task.State != "R" || task.Addr == 0 {
		t.Errorf("panic task %+v; log says comm %v, and it was running", task, rep.Comm)
	}
	if tasks[0].PID != 1 {
		t.Errorf("first task %+v, want init (pid 1)", tasks[0])
	}
	for _, x := range tasks {
		if len(x.State) != 1 || !strings.Contains("RSDTtXZPI", x.State) {
			t.Errorf("task %d: state %q", x.PID, x.State)
		}
	}
}
