package kview

import (
	"fmt"
	"sort"
)

// Task is one task (thread) as its task_struct says.
type Task struct {
	Addr uint64
	PID  int
	TGID int
	PPID int
	Comm string
	// State is crash(8)'s two-letter state: RU, IN, UN, ST, TR, ZO, DE,
	// ID, PA, WA, NE, or "??" for a state word it does not know.
	State string
	CPU   int
	// Active is true for the task current on its CPU at the crash.
	Active bool
	// Stack is the base of the task's kernel stack (task->stack); SP the
	// stack pointer saved when it was switched out (thread.sp).
	Stack, SP uint64
	// MM is the task's mm_struct, 0 for kernel threads.
	MM uint64
	// VSZ and RSS are in KiB, as ps shows them; 0 when unreadable.
	VSZ, RSS uint64
	// Err says what could not be read of this task; the rest is kept.
	Err error
}

// maxTasks bounds a walk of the task lists.
const maxTasks = 1 << 20

// maxPID is PID_MAX_LIMIT on 64-bit kernels (include/linux/threads.h).
const maxPID = 4 << 20

// Tasks returns every task: the idle task of each CPU first (PID 0), then
// each thread group's threads in list order, as crash(8)'s ps orders by
// PID. A list that breaks ends the walk with the tasks read so far and an
// error naming where.
func (v *View) Tasks() ([]*Task, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return nil, err
	}
	initTask, ok := syms.Lookup("init_task")
	if !ok {
		return nil, fmt.Errorf("tasks: kallsyms has no init_task")
	}
	tasksOff, err := v.Offset("task_struct", "tasks")
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	active := map[uint64]int{}
	ncpu := v.NumCPUs()
	for cpu := 0; cpu < ncpu; cpu++ {
		if cur, err := v.CurrentTask(cpu); err == nil && cur != 0 {
			active[cur] = cpu
		}
	}
	var out []*Task
	seen := map[uint64]bool{}
	add := func(addr uint64) {
		if seen[addr] || len(out) >= maxTasks {
			return
		}
		seen[addr] = true
		t := v.readTask(addr)
		if cpu, ok := active[addr]; ok {
			t.Active, t.CPU = true, cpu
		}
		out = append(out, t)
	}
	// Idle tasks: init_task is CPU 0's; the others are rq->idle.
	add(initTask)
	if rq, ok := syms.Lookup("runqueues"); ok {
		if idleOff, err := v.Offset("rq", "idle"); err == nil {
			for cpu := 1; cpu < ncpu; cpu++ {
				if a, err := v.PerCPU(rq, cpu); err == nil {
					if idle, err := v.U64(a + idleOff); err == nil && idle != 0 {
						add(idle)
					}
				}
			}
		}
	}
	var walkErr error
	err = v.List(initTask+tasksOff, func(node uint64) error {
		if len(out) >= maxTasks {
			return fmt.Errorf("more than %d tasks: the list is corrupt", maxTasks)
		}
		leader := node - tasksOff
		add(leader)
		// Every task on the list but init_task's idle has a pid in
		// (0, PID_MAX_LIMIT]: one that has not is no task_struct, and
		// what follows it would be as made up (a list into garbage
		// would otherwise be walked, and each of its "tasks" unwound,
		// up to maxTasks).
		if n := len(out); n > 0 && out[n-1].Addr == leader && out[n-1].Err == nil && (out[n-1].PID <= 0 || out[n-1].PID > maxPID) {
			t := out[n-1]
			out = out[:n-1]
			return fmt.Errorf("node %#x is no task (task_struct at %#x has pid %d): %w", node, leader, t.PID, errCorruptNode)
		}
		return v.threads(leader, add)
	})
	if err != nil {
		walkErr = fmt.Errorf("tasks list of init_task at %#x: %w", initTask, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].PID != out[j].PID {
			return out[i].PID < out[j].PID
		}
		return out[i].CPU < out[j].CPU
	})
	return out, walkErr
}

// threads adds the other threads of leader's group: task->thread_group
// before 6.7, signal->thread_head threaded through thread_node since.
func (v *View) threads(leader uint64, add func(uint64)) error {
	if off, err := v.Offset("task_struct", "thread_group"); err == nil {
		return v.List(leader+off, func(node uint64) error { add(node - off); return nil })
	}
	nodeOff, err := v.Offset("task_struct", "thread_node")
	if err != nil {
		return nil
	}
	sig, err := v.Uint(leader, "task_struct", "signal")
	if err != nil || sig == 0 {
		return nil
	}
	headOff, err := v.Offset("signal_struct", "thread_head")
	if err != nil {
		return nil
	}
	return v.List(sig+headOff, func(node uint64) error { add(node - nodeOff); return nil })
}

// NumCPUs returns the number of possible CPUs the per-cpu areas cover
// (nr_cpu_ids), 1 when unreadable.
func (v *View) NumCPUs() int {
	syms, err := v.k.Symbols()
	if err != nil {
		return 1
	}
	if a, ok := syms.Lookup("nr_cpu_ids"); ok {
		if n, err := v.U32(a); err == nil && n > 0 && n <= 8192 {
			return int(n)
		}
	}
	return 1
}

// CurrentTask returns the task current on cpu: the per-cpu current_task
// (before 6.2) or pcpu_hot.current_task.
func (v *View) CurrentTask(cpu int) (uint64, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return 0, err
	}
	var off uint64
	if a, ok := syms.Lookup("current_task"); ok {
		off = a
	} else if a, ok := syms.Lookup("pcpu_hot"); ok {
		o, err := v.Offset("pcpu_hot", "current_task")
		if err != nil {
			return 0, err
		}
		off = a + o
	} else {
		return 0, fmt.Errorf("current task: kallsyms has neither current_task nor pcpu_hot")
	}
	a, err := v.PerCPU(off, cpu)
	if err != nil {
		return 0, err
	}
	return v.U64(a)
}

// taskStates maps the task state bits to crash(8)'s ps letters
// (include/linux/sched.h; crash's task.c task_state_string).
var taskStates = []struct {
	bits  uint64
	state string
}{
	{0x402, "ID"}, // TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD
	{0x0001, "IN"},
	{0x0002, "UN"},
	{0x0004, "ST"},
	{0x0008, "TR"},
	{0x0040, "PA"}, // TASK_PARKED
	{0x0200, "WA"}, // TASK_WAKING
	{0x0800, "NE"}, // TASK_NEW
}

func stateName(state, exit uint64) string {
	switch {
	case exit&0x20 != 0:
		return "ZO"
	case exit&0x10 != 0:
		return "DE"
	case state == 0:
		return "RU"
	}
	for _, s := range taskStates {
		if state&s.bits == s.bits {
			return s.state
		}
	}
	return "??"
}

// Task reads the one task_struct at addr, for a task the lists cannot
// reach (a broken list, a filtered page on the way).
func (v *View) Task(addr uint64) *Task { return v.readTask(addr) }

func (v *View) readTask(addr uint64) *Task {
	t := &Task{Addr: addr}
	fail := func(err error) *Task {
		if t.Err == nil {
			t.Err = err
		}
		return t
	}
	pid, err := v.Uint(addr, "task_struct", "pid")
	if err != nil {
		return fail(err)
	}
	t.PID = int(int32(pid))
	if tgid, err := v.Uint(addr, "task_struct", "tgid"); err == nil {
		t.TGID = int(int32(tgid))
	}
	commOff, err := v.Offset("task_struct", "comm")
	if err != nil {
		return fail(err)
	}
	var comm [16]byte
	if err := v.Read(comm[:], addr+commOff); err != nil {
		return fail(err)
	}
	t.Comm = cstr(comm[:])
	state, err := v.Uint(addr, "task_struct", "__state")
	if err != nil {
		state, err = v.Uint(addr, "task_struct", "state")
	}
	exit, _ := v.Uint(addr, "task_struct", "exit_state")
	if err == nil {
		t.State = stateName(state, exit)
	} else {
		t.State = "??"
	}
	if cpu, err := v.Uint(addr, "task_struct", "cpu"); err == nil {
		t.CPU = int(cpu)
	} else if cpu, err := v.Uint(addr, "task_struct", "thread_info.cpu"); err == nil {
		t.CPU = int(cpu)
	}
	if parent, err := v.Uint(addr, "task_struct", "real_parent"); err == nil && parent != 0 {
		if ppid, err := v.Uint(parent, "task_struct", "pid"); err == nil {
			t.PPID = int(int32(ppid))
		}
	}
	t.Stack, _ = v.Uint(addr, "task_struct", "stack")
	t.SP, _ = v.Uint(addr, "task_struct", "thread.sp")
	t.MM, _ = v.Uint(addr, "task_struct", "mm")
	if t.MM != 0 {
		if vm, err := v.Uint(t.MM, "mm_struct", "total_vm"); err == nil {
			t.VSZ = vm * 4
		}
		t.RSS = v.rss(t.MM) * 4
	}
	return t
}

// rss sums an mm's resident pages: rss_stat.count[] (atomic_long_t)
// before 6.2; later kernels keep percpu counters whose global count is a
// first approximation, as crash shows it.
func (v *View) rss(mm uint64) uint64 {
	var total uint64
	for i := 0; i < 4; i++ {
		n, err := v.Uint(mm, "mm_struct", fmt.Sprintf("rss_stat.count[%d].counter", i))
		if err != nil {
			n, err = v.Uint(mm, "mm_struct", fmt.Sprintf("rss_stat[%d].count", i))
		}
		if err != nil {
			break
		}
		if int64(n) > 0 {
			total += n
		}
	}
	return total
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// FD is one open file descriptor of a task.
type FD struct {
	Num  int
	File uint64
	// Dentry and Inode of the file's path; Path is the dentry's name (the
	// last component only).
	Dentry, Inode uint64
	Path          string
	// Ops is the symbol of f_op ("socket_file_ops"); Type is crash's
	// files column: SOCK, REG, DIR, CHR, BLK, FIFO, LNK or UNKN.
	Ops, Type string
	// Socket is the struct socket of a socket file (private_data), and
	// Sock its struct sock.
	Socket, Sock uint64
}

// maxFDs bounds the descriptors read of one task.
const maxFDs = 1 << 20

// Files returns the open descriptors of the task at task.
func (v *View) Files(task uint64) ([]FD, error) {
	files, err := v.Uint(task, "task_struct", "files")
	if err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, nil
	}
	fdt, err := v.Uint(files, "files_struct", "fdt")
	if err != nil {
		return nil, err
	}
	maxfds, err := v.Uint(fdt, "fdtable", "max_fds")
	if err != nil {
		return nil, err
	}
	arr, err := v.Uint(fdt, "fdtable", "fd")
	if err != nil {
		return nil, err
	}
	if maxfds > maxFDs {
		return nil, fmt.Errorf("fdtable at %#x: max_fds %d is implausible", fdt, maxfds)
	}
	// The array is a slab object (files_struct's own fd_array, or a
	// kmalloc'ed one) unless it is large enough for vmalloc: a max_fds
	// past the object's end would read its neighbours' words as files.
	var overrun error
	if so, err := v.SlabObject(arr); err == nil && so.Start <= arr {
		if room := (so.Start + so.Size - arr) / 8; maxfds > room {
			overrun = fmt.Errorf("fdtable at %#x: max_fds %d overruns the fd array at %#x, a %s object with room for %d: read %d", fdt, maxfds, arr, so.Cache, room, room)
			maxfds = room
		}
	}
	raw := make([]byte, maxfds*8)
	if err := v.Read(raw, arr); err != nil {
		return nil, fmt.Errorf("fd array at %#x: %w", arr, err)
	}
	var out []FD
	for i := uint64(0); i < maxfds; i++ {
		f := le64(raw[i*8:])
		if f == 0 {
			continue
		}
		out = append(out, v.readFD(int(i), f))
	}
	return out, overrun
}

// S_IFMT kinds as crash's files command names them.
var fileTypes = map[uint64]string{0o140000: "SOCK", 0o100000: "REG", 0o040000: "DIR", 0o020000: "CHR", 0o060000: "BLK", 0o010000: "FIFO", 0o120000: "LNK"}

func (v *View) readFD(num int, file uint64) FD {
	fd := FD{Num: num, File: file, Type: "UNKN"}
	fd.Dentry, _ = v.Uint(file, "file", "f_path.dentry")
	fd.Inode, _ = v.Uint(file, "file", "f_inode")
	if fd.Dentry != 0 {
		if name, err := v.Uint(fd.Dentry, "dentry", "d_name.name"); err == nil && name != 0 {
			fd.Path = v.cString(name, 256)
		}
	}
	if fd.Inode != 0 {
		if mode, err := v.Uint(fd.Inode, "inode", "i_mode"); err == nil {
			if t, ok := fileTypes[mode&0o170000]; ok {
				fd.Type = t
			}
		}
	}
	if ops, err := v.Uint(file, "file", "f_op"); err == nil && ops != 0 {
		if name, off, _, ok := v.Symbol(ops); ok && off == 0 {
			fd.Ops = name
		}
	}
	if fd.Ops == "socket_file_ops" {
		fd.Socket, _ = v.Uint(file, "file", "private_data")
		if fd.Socket != 0 {
			fd.Sock, _ = v.Uint(fd.Socket, "socket", "sk")
		}
	}
	return fd
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
