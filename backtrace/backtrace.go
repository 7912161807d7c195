// Package backtrace gives a task's kernel stack the way crash(8)'s `bt`
// shows it, from a bare vmcore: the panic task from the registers the
// kernel saved at the crash (NT_PRSTATUS), the other running tasks from
// their CPU's registers, and sleeping tasks from the frame they were
// switched out at, each walked with the kernel's own ORC tables (package
// unwind) over the stacks kview locates.
//
// It also says which task panicked, from three witnesses that should
// agree: the NT_PRSTATUS notes, the kernel's panic_cpu variable and the
// log's "CPU: N PID: M" line.
package backtrace

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/unwind"
)

// Tracer walks the stacks of one dump.
type Tracer struct {
	v     *kview.View
	notes []dump.PRStatus

	once   sync.Once
	orc    *unwind.ORC
	orcErr error
}

// New returns a tracer over v; notes are the dump's NT_PRSTATUS notes
// (dump.Dump.PRStatus), nil when it has none.
func New(v *kview.View, notes []dump.PRStatus) *Tracer {
	return &Tracer{v: v, notes: notes}
}

// ORC returns the kernel's and the modules' ORC tables, read on the first
// call.
func (t *Tracer) ORC() (*unwind.ORC, error) {
	t.once.Do(func() { t.orc, t.orcErr = t.loadORC() })
	return t.orc, t.orcErr
}

func (t *Tracer) loadORC() (*unwind.ORC, error) {
	k := t.v.Kernel()
	syms, err := k.Symbols()
	if err != nil {
		return nil, fmt.Errorf("ORC: %w", err)
	}
	orc, err := unwind.LoadKernel(k, syms, k.Release())
	if err != nil {
		return nil, err
	}
	// Module tables: a module that cannot be read keeps the kernel's
	// frames walkable; a walk into it stops there, saying why.
	mods, _ := t.v.Modules()
	var tables []unwind.Table
	for _, m := range mods {
		if m.ORC.N == 0 {
			continue
		}
		for _, r := range m.Regions {
			if r.Kind == "text" || r.Kind == "init_text" {
				tables = append(tables, unwind.Table{Name: m.Name, TextStart: r.Start, TextEnd: r.End, IPs: m.ORC.IPs, Entries: m.ORC.Entries, N: m.ORC.N})
			}
		}
	}
	return orc.WithModules(tables...), nil
}

// threadSize is THREAD_SIZE: sizeof(union thread_union) when the types say,
// else x86_64's 16 KiB (no KASAN).
func (t *Tracer) threadSize() uint64 {
	if ty, err := t.v.Type("union thread_union"); err == nil {
		if s, err := sizeOf(ty); err == nil && s >= 4096 && s <= 1<<20 {
			return s
		}
	}
	return 16 << 10
}

// irqStackSize is IRQ_STACK_SIZE on x86_64 (THREAD_SIZE there).
const irqStackSize = 16 << 10

// stacks returns the stacks a walk of a task on cpu may read: the task's,
// and the CPU's hardirq and exception stacks when cpu >= 0.
func (t *Tracer) stacks(task *kview.Task, cpu int) []unwind.Stack {
	var out []unwind.Stack
	if task.Stack != 0 {
		out = append(out, unwind.Stack{Name: "task", Start: task.Stack, End: task.Stack + t.threadSize()})
	}
	if cpu < 0 {
		return out
	}
	syms, err := t.v.Kernel().Symbols()
	if err != nil {
		return out
	}
	// hardirq_stack_ptr points at the top word of the IRQ stack (per-cpu
	// before 6.2, pcpu_hot.hardirq_stack_ptr since).
	var ptr uint64
	if a, ok := syms.Lookup("hardirq_stack_ptr"); ok {
		ptr = a
	} else if a, ok := syms.Lookup("pcpu_hot"); ok {
		if off, err := t.v.Offset("pcpu_hot", "hardirq_stack_ptr"); err == nil {
			ptr = a + off
		}
	}
	if ptr != 0 {
		if pa, err := t.v.PerCPU(ptr, cpu); err == nil {
			if top, err := t.v.U64(pa); err == nil && top != 0 {
				top += 8
				out = append(out, unwind.Stack{Name: "irq", Start: top - irqStackSize, End: top})
			}
		}
	}
	out = append(out, t.exceptionStacks(cpu)...)
	return out
}

// exceptionStacks are the #DF, NMI, #DB, #MC (and #VC) stacks of cpu: the
// members of struct cea_exception_stacks that per-cpu cea_exception_stacks
// points at, guard pages left out.
func (t *Tracer) exceptionStacks(cpu int) []unwind.Stack {
	syms, err := t.v.Kernel().Symbols()
	if err != nil {
		return nil
	}
	a, ok := syms.Lookup("cea_exception_stacks")
	if !ok {
		return nil
	}
	pa, err := t.v.PerCPU(a, cpu)
	if err != nil {
		return nil
	}
	base, err := t.v.U64(pa)
	if err != nil || base == 0 {
		return nil
	}
	ty, err := t.v.Type("struct cea_exception_stacks")
	if err != nil {
		return nil
	}
	var out []unwind.Stack
	for _, m := range members(ty) {
		if len(m.name) > 6 && m.name[len(m.name)-6:] == "_stack" {
			out = append(out, unwind.Stack{Name: m.name, Start: base + m.off, End: base + m.off + m.size})
		}
	}
	return out
}

// BT is one task's backtrace.
type BT struct {
	Task *kview.Task
	// Start says where the walk began: "NT_PRSTATUS of CPU 0" (crash-time
	// registers), "thread.sp" (a switched-out task's saved frame).
	Start string
	// Regs are the registers the walk started from.
	Regs  map[string]uint64
	Trace *unwind.Trace
}

// ErrNoRegisters is returned for an active task whose CPU has no
// NT_PRSTATUS note to start from.
var ErrNoRegisters = errors.New("no registers for this CPU in the dump's notes")

// Task walks the stack of task. An active task starts from its CPU's
// NT_PRSTATUS registers, a sleeping one from its thread.sp. guesses adds
// the stack scan's `?` frames.
func (t *Tracer) Task(task *kview.Task, guesses bool) (*BT, error) {
	orc, err := t.ORC()
	if err != nil {
		return nil, err
	}
	u := unwind.New(t.v.Kernel(), orc, t.v)
	bt := &BT{Task: task}
	var regs map[string]uint64
	opt := unwind.Options{Guesses: guesses}
	if task.Active {
		note, ok := t.note(task.CPU, task.PID)
		if !ok {
			return nil, fmt.Errorf("pid %d on CPU %d: %w", task.PID, task.CPU, ErrNoRegisters)
		}
		regs = note.Regs
		bt.Start = fmt.Sprintf("NT_PRSTATUS of CPU %d", note.CPU)
		opt.Stacks = t.stacks(task, task.CPU)
	} else {
		regs, err = unwind.SwitchedOut(t.v.Kernel(), task.SP)
		if err != nil {
			return nil, fmt.Errorf("pid %d: saved frame at thread.sp %#x: %w", task.PID, task.SP, err)
		}
		bt.Start = "thread.sp"
		if rff, ok := t.lookup("ret_from_fork"); !ok || regs["RIP"] != rff {
			opt.ReturnAddress = true
		}
		opt.Stacks = t.stacks(task, -1)
	}
	bt.Regs = regs
	tr, err := u.Unwind(regs, opt)
	if err != nil {
		// Say which stack the task claims: a corrupt task->stack is why
		// a sound RSP lies on none of them.
		return nil, fmt.Errorf("pid %d (task->stack %#x): %w", task.PID, task.Stack, err)
	}
	bt.Trace = tr
	return bt, nil
}

func (t *Tracer) lookup(name string) (uint64, bool) {
	syms, err := t.v.Kernel().Symbols()
	if err != nil {
		return 0, false
	}
	return syms.Lookup(name)
}

// note returns the NT_PRSTATUS of cpu. The kernel writes one note per
// online CPU in CPU order, with pr_pid the task running there; the pid
// decides when it is not the idle task's 0, the index otherwise.
func (t *Tracer) note(cpu, pid int) (dump.PRStatus, bool) {
	if pid != 0 {
		for _, n := range t.notes {
			if n.PID == pid && n.Regs != nil {
				return n, true
			}
		}
	}
	// QEMU's dump-guest-memory writes its own numbering in pr_pid (the
	// vCPU's thread), never the guest's pids: when no note has a guest
	// pid, the note's index is its CPU.
	for _, n := range t.notes {
		if n.CPU == cpu && n.Regs != nil && (n.PID == pid || pid == 0 || !t.guestPIDs()) {
			return n, true
		}
	}
	return dump.PRStatus{}, false
}
