package backtrace

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kview"
)

// Panic is which task panicked, and how sure that is.
type Panic struct {
	CPU  int
	PID  int
	Task *kview.Task
	// Witnesses are the sources that agree: "panic_cpu", "NT_PRSTATUS",
	// "log".
	Witnesses []string
	// Disagreements says, one line each, where a source says otherwise.
	Disagreements []string
}

// LogContext is what the crash's report in the log says ("CPU: 0 PID: 104
// Comm: insmod"); CPU and PID are -1 when it does not say.
type LogContext struct {
	CPU, PID int
	Comm     string
}

// FindPanic decides the panic task. The kernel's panic_cpu (the CPU that
// entered panic()) is the first witness, the log's report line the
// second, and the NT_PRSTATUS note of that CPU (whose pr_pid is the task
// running there) the third.
func (t *Tracer) FindPanic(log LogContext) (*Panic, error) {
	p := &Panic{CPU: -1, PID: -1}
	if cpu, ok := t.panicCPU(); ok {
		p.CPU = cpu
		p.Witnesses = append(p.Witnesses, "panic_cpu")
	}
	if log.CPU >= 0 {
		if p.CPU < 0 {
			p.CPU = log.CPU
		} else if log.CPU != p.CPU {
			p.Disagreements = append(p.Disagreements, fmt.Sprintf("the log's report says CPU %d, panic_cpu says %d", log.CPU, p.CPU))
		}
	}
	if p.CPU < 0 && len(t.notes) == 1 {
		p.CPU = t.notes[0].CPU
	}
	if p.CPU < 0 {
		return nil, fmt.Errorf("panic task: neither panic_cpu nor the log names the CPU")
	}
	cur, err := t.v.CurrentTask(p.CPU)
	if err != nil {
		// The per-cpu area is unreadable (a corrupt __per_cpu_offset):
		// the log's report still names the task by PID.
		tk, ferr := t.taskByPID(log.PID)
		if ferr != nil {
			return nil, fmt.Errorf("panic task: current task of CPU %d: %w (%v)", p.CPU, err, ferr)
		}
		tk.Active, tk.CPU = true, p.CPU
		p.Task, p.PID = tk, tk.PID
		p.Witnesses = append(p.Witnesses, "log")
		p.Disagreements = append(p.Disagreements, fmt.Sprintf("CPU %d's current task is unreadable (%v): the task is the log's PID %d", p.CPU, err, log.PID))
		return p, nil
	}
	tasks, _ := t.v.Tasks()
	for _, tk := range tasks {
		if tk.Addr == cur {
			p.Task = tk
			p.PID = tk.PID
		}
	}
	if p.Task == nil {
		// The list may be broken (a filtered page on the way): read the
		// task itself.
		tk := t.v.Task(cur)
		if tk.Err != nil {
			return nil, fmt.Errorf("panic task: CPU %d's current task %#x is not in the task list and cannot be read: %w", p.CPU, cur, tk.Err)
		}
		tk.Active, tk.CPU = true, p.CPU
		p.Task, p.PID = tk, tk.PID
	}
	if log.PID >= 0 {
		if log.PID == p.PID {
			p.Witnesses = append(p.Witnesses, "log")
		} else {
			p.Disagreements = append(p.Disagreements, fmt.Sprintf("the log's report names PID %d, CPU %d runs PID %d", log.PID, p.CPU, p.PID))
		}
	}
	if n, ok := t.note(p.CPU, p.PID); ok && t.guestPIDs() {
		if n.PID == p.PID {
			p.Witnesses = append(p.Witnesses, "NT_PRSTATUS")
		} else {
			p.Disagreements = append(p.Disagreements, fmt.Sprintf("NT_PRSTATUS of CPU %d has pid %d, not %d", n.CPU, n.PID, p.PID))
		}
	}
	return p, nil
}

// guestPIDs reports whether the notes' pr_pid are the guest's pids (the
// kernel's own notes) rather than QEMU's numbering: some note names the
// task current on its CPU.
func (t *Tracer) guestPIDs() bool {
	for _, n := range t.notes {
		cur, err := t.v.CurrentTask(n.CPU)
		if err != nil {
			continue
		}
		if pid, err := t.v.Uint(cur, "task_struct", "pid"); err == nil && int(int32(pid)) == n.PID {
			return true
		}
	}
	return false
}

// panicCPU reads panic_cpu (atomic_t; -1 until a CPU panics).
func (t *Tracer) panicCPU() (int, bool) {
	a, ok := t.lookup("panic_cpu")
	if !ok {
		return 0, false
	}
	v, err := t.v.U32(a)
	if err != nil || int32(v) < 0 || int(v) >= t.v.NumCPUs() {
		return 0, false
	}
	return int(v), true
}

// String says it in one line.
func (p *Panic) String() string {
	s := fmt.Sprintf("panic task: PID %d on CPU %d (%s)", p.PID, p.CPU, strings.Join(p.Witnesses, ", "))
	if len(p.Disagreements) > 0 {
		s += "; but " + strings.Join(p.Disagreements, "; ")
	}
	return s
}

type member struct {
	name      string
	off, size uint64
}

// members lists a struct's direct members with byte offsets and sizes.
func members(t btf.Type) []member {
	s, ok := btf.UnderlyingType(t).(*btf.Struct)
	if !ok {
		return nil
	}
	var out []member
	for _, m := range s.Members {
		size, err := btf.Sizeof(m.Type)
		if err != nil || m.Offset%8 != 0 {
			continue
		}
		out = append(out, member{name: m.Name, off: uint64(m.Offset) / 8, size: uint64(size)})
	}
	return out
}

func sizeOf(t btf.Type) (uint64, error) {
	s, err := btf.Sizeof(t)
	return uint64(s), err
}

// taskByPID is the task the log names by PID, for when the CPU's current
// task cannot be read.
func (t *Tracer) taskByPID(pid int) (*kview.Task, error) {
	if pid < 0 {
		return nil, fmt.Errorf("the log names no PID")
	}
	tasks, err := t.v.Tasks()
	for _, tk := range tasks {
		if tk.PID == pid && tk.Err == nil {
			return tk, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the log's PID %d is not in the tasks read: %w", pid, err)
	}
	return nil, fmt.Errorf("the log's PID %d is in no task", pid)
}
