package kcrash

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/kview"
)

// PsResult is `ps`: every task.
type PsResult struct {
	Tasks []PsTask `json:"tasks"`
	// Note says why the list may be incomplete.
	Note string `json:"note,omitempty"`
}

// PsTask is one ps line.
type PsTask struct {
	PID    int     `json:"pid"`
	PPID   int     `json:"ppid"`
	CPU    int     `json:"cpu"`
	Task   Addr    `json:"task"`
	State  string  `json:"state"`
	MemPct float64 `json:"mem_pct"`
	VSZ    uint64  `json:"vsz_kib"`
	RSS    uint64  `json:"rss_kib"`
	Comm   string  `json:"comm"`
	// Active is crash's ">": the task was on its CPU at the crash.
	Active bool `json:"active"`
	// KernelThread: no mm; crash brackets its name.
	KernelThread bool `json:"kernel_thread"`
}

// psHeader is crash's ps header.
const psHeader = "   PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"

// String is the crash line.
func (t PsTask) String() string {
	mark := " "
	if t.Active {
		mark = ">"
	}
	comm := t.Comm
	if t.KernelThread {
		comm = "[" + comm + "]"
	}
	return fmt.Sprintf("%s%6d %6d %3d  %016x  %2s  %4.1f %8d %8d  %s", mark, t.PID, t.PPID, t.CPU, uint64(t.Task), t.State, t.MemPct, t.VSZ, t.RSS, comm)
}

// WriteText implements Result.
func (r *PsResult) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(psHeader + "\n")
	for _, t := range r.Tasks {
		b.WriteString(t.String() + "\n")
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Session) psTask(t *kview.Task) PsTask {
	p := PsTask{PID: t.PID, PPID: t.PPID, CPU: t.CPU, Task: Addr(t.Addr), State: t.State, VSZ: t.VSZ, RSS: t.RSS, Comm: t.Comm, Active: t.Active, KernelThread: t.MM == 0}
	if mem := s.memory(); mem > 0 {
		p.MemPct = float64(t.RSS*1024) * 100 / float64(mem)
	}
	if t.PID == 0 {
		p.PPID = 0 // the idle tasks are the roots, whoever forked them
	}
	if p.State == "" {
		p.State = "??"
	}
	return p
}

func runPs(s *Session, c *Call) (Result, error) {
	tasks, err := s.v.Tasks()
	if err != nil && len(tasks) == 0 {
		return nil, err
	}
	r := &PsResult{}
	want := map[string]bool{}
	for _, a := range c.Args {
		want[a] = true
	}
	for _, t := range tasks {
		if len(want) > 0 && !want[strconv.Itoa(t.PID)] && !want[t.Comm] && !want[fmt.Sprintf("%x", t.Addr)] {
			continue
		}
		kthread := t.MM == 0
		if c.Has("-k") && !kthread || c.Has("-u") && kthread || c.Has("-A") && !t.Active {
			continue
		}
		r.Tasks = append(r.Tasks, s.psTask(t))
	}
	if err != nil {
		r.Note = fmt.Sprintf("(the task list is cut short: %v)", err)
	}
	if len(want) > 0 && len(r.Tasks) == 0 {
		return nil, fmt.Errorf("no task matches %s", strings.Join(c.Args, " "))
	}
	return r, nil
}

// task finds the task a PID, task address or command names, as crash's
// task-taking commands read their argument: the thread group leader of a
// PID when several threads share it.
func (s *Session) task(word string) (*kview.Task, error) {
	tasks, err := s.v.Tasks()
	if len(tasks) == 0 {
		if err == nil {
			err = fmt.Errorf("no tasks")
		}
		return nil, err
	}
	if pid, perr := strconv.Atoi(word); perr == nil {
		for _, t := range tasks {
			if t.PID == pid {
				return t, nil
			}
		}
	}
	if a, aerr := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(word), "0x"), 16, 64); aerr == nil {
		for _, t := range tasks {
			if t.Addr == a {
				return t, nil
			}
		}
	}
	for _, t := range tasks {
		if t.Comm == word {
			return t, nil
		}
	}
	if err != nil {
		// The task may be past where the list broke: say so, or a
		// corrupt list reads as a task that never existed.
		return nil, fmt.Errorf("no task with PID, address or command %q in the %d tasks read (the task list is cut short: %w)", word, len(tasks), err)
	}
	return nil, fmt.Errorf("no task with PID, address or command %q", word)
}

// taskHeader is crash's "PID: 104      TASK: ffff8afc0249b000  CPU: 0    COMMAND: "insmod"".
func taskHeader(t *kview.Task) string {
	return fmt.Sprintf("PID: %-8d TASK: %016x  CPU: %-4d COMMAND: %q", t.PID, t.Addr, t.CPU, t.Comm)
}

// TaskRef names a task in JSON results.
type TaskRef struct {
	PID  int    `json:"pid"`
	Task Addr   `json:"task"`
	CPU  int    `json:"cpu"`
	Comm string `json:"comm"`
}

func taskRef(t *kview.Task) TaskRef {
	return TaskRef{PID: t.PID, Task: Addr(t.Addr), CPU: t.CPU, Comm: t.Comm}
}
