package kcrash

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/unwind"
)

// WithNotes gives the session the dump's NT_PRSTATUS notes: the registers
// bt starts the running tasks' walks from.
func WithNotes(notes []dump.PRStatus) Option {
	return func(s *Session) { s.notes = notes }
}

// tracer returns the session's backtrace tracer.
func (s *Session) tracer() *backtrace.Tracer {
	s.tracerOnce.Do(func() { s.bt = backtrace.New(s.v, s.notes) })
	return s.bt
}

// logContext is the crash report's "CPU: N PID: M Comm: C", of the last
// report that names them (the one that panicked).
func (s *Session) logContext() backtrace.LogContext {
	lc := backtrace.LogContext{CPU: -1, PID: -1}
	log, _ := s.logText()
	if len(log) == 0 {
		return lc
	}
	sc := oops.NewScanner("log")
	if sc.Scan(bytes.NewReader(log)) != nil {
		return lc
	}
	for _, r := range sc.Finish() {
		if r.CPU != nil && r.PID != nil {
			lc.CPU, lc.PID = *r.CPU, *r.PID
			if r.Comm != nil {
				lc.Comm = *r.Comm
			}
		}
	}
	return lc
}

// panicTask is the task that panicked, as backtrace.FindPanic decides it
// from panic_cpu, the log's report and the notes.
func (s *Session) panicTask() (*kview.Task, error) {
	p, err := s.panic()
	if err != nil {
		return nil, err
	}
	return p.Task, nil
}

func (s *Session) panic() (*backtrace.Panic, error) {
	s.panicOnce.Do(func() { s.panicInfo, s.panicErr = s.tracer().FindPanic(s.logContext()) })
	return s.panicInfo, s.panicErr
}

// BtResult is `bt`: one task's frames, or every active task's (-a).
type BtResult struct {
	Traces []BtTrace `json:"traces"`
	text   []string
}

// BtTrace is one task's walk.
type BtTrace struct {
	Task TaskRef `json:"task"`
	// Start says where the walk began ("NT_PRSTATUS of CPU 0",
	// "thread.sp").
	Start  string    `json:"start"`
	Frames []BtFrame `json:"frames"`
	// User holds the user-mode registers the walk ended at.
	User map[string]Addr `json:"user_regs,omitempty"`
	// Complete says the walk reached the stack's recognised end; Stop
	// says why it ended otherwise.
	Complete bool   `json:"complete"`
	Stop     string `json:"stop,omitempty"`
	// Panic says, for the panic task, which witnesses named it and where
	// they disagree.
	Panic string `json:"panic,omitempty"`
}

// BtFrame is one frame.
type BtFrame struct {
	SP       Addr   `json:"sp"`
	IP       Addr   `json:"ip"`
	Function string `json:"function,omitempty"`
	Offset   uint64 `json:"offset"`
	Module   string `json:"module,omitempty"`
	// Reliable is false for a stack-scan guess (printed "?").
	Reliable bool   `json:"reliable"`
	Method   string `json:"method"`
	// Exception holds the registers of an exception frame.
	Exception map[string]Addr `json:"exception_regs,omitempty"`
}

// WriteText implements Result.
func (r *BtResult) WriteText(w io.Writer) error {
	_, err := io.WriteString(w, strings.Join(r.text, "\n"))
	return err
}

func regsJSON(m map[string]uint64) map[string]Addr {
	if m == nil {
		return nil
	}
	out := make(map[string]Addr, len(m))
	for k, v := range m {
		out[k] = Addr(v)
	}
	return out
}

func runBt(s *Session, c *Call) (Result, error) {
	guesses := c.Has("-t")
	var tasks []*kview.Task
	switch {
	case c.Has("-a"):
		all, err := s.v.Tasks()
		if len(all) == 0 {
			return nil, fmt.Errorf("no tasks: %v", err)
		}
		for _, t := range all {
			if t.Active {
				tasks = append(tasks, t)
			}
		}
	case len(c.Args) == 0:
		t, err := s.panicTask()
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	default:
		t, err := s.task(c.Args[0])
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	r := &BtResult{}
	var firstErr error
	for _, t := range tasks {
		bt, err := s.tracer().Task(t, guesses)
		if err != nil {
			r.text = append(r.text, taskHeader(t), fmt.Sprintf("bt: %v\n", err))
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		var b bytes.Buffer
		if err := s.tracer().Render(&b, bt); err != nil {
			return nil, err
		}
		tr := BtTrace{Task: taskRef(t), Start: bt.Start, User: regsJSON(bt.Trace.User), Complete: bt.Trace.Complete, Stop: bt.Trace.Stop}
		if p, err := s.panic(); err == nil && p.Task != nil && p.Task.Addr == t.Addr {
			tr.Panic = p.String()
		}
		for i, f := range bt.Trace.Frames {
			fr := BtFrame{SP: Addr(f.SP), IP: Addr(f.IP), Function: f.Func, Offset: f.Off, Module: f.Module, Reliable: f.Reliable, Method: f.Method.String(), Exception: regsJSON(f.Regs)}
			if i == 0 && f.Method == unwind.MethodRegs && bt.Start != "thread.sp" && s.tracer().StartsAtException(bt.Regs) {
				fr.Exception = regsJSON(bt.Regs)
			}
			tr.Frames = append(tr.Frames, fr)
		}
		r.Traces = append(r.Traces, tr)
		r.text = append(r.text, b.String())
	}
	if len(r.Traces) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return r, nil
}
