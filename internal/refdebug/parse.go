package refdebug

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/kobj"
)

// ErrNoOutput is what a parser returns when crash's output holds nothing
// of what it reads (crash refused the command, or printed only a warning).
var ErrNoOutput = errors.New("no parsable output")

// session reads one command's output as a transcript: the prompt line
// crash would have printed, then the output, through the same parsers that
// read users' pasted sessions.
func session(cmd, out string) *crashlog.Session {
	s := crashlog.NewScanner()
	s.Line(1, "crash> "+cmd)
	n := 1
	for line := range strings.Lines(out) {
		n++
		s.Line(n, strings.TrimRight(line, "\r\n"))
	}
	return s.Finish()
}

// ParseSys reads `sys` output: RELEASE, PANIC, TASKS, CPUS and the rest.
func ParseSys(out string) (*crashlog.Sys, error) {
	s := session("sys", out)
	if s.Sys == nil {
		return nil, fmt.Errorf("sys: %w", ErrNoOutput)
	}
	return s.Sys, nil
}

// ParsePs reads `ps` output: pid, ppid, cpu, task, state, comm and the
// ">" of the tasks active on their CPU. It reads crash's exact layout
// itself rather than through crashlog, which reads pasted tables and
// refuses a PPID of -1: crash 8.0.2 prints that for a task it did not find
// in the PID hash (the panic task on these 6.1 dumps).
func ParsePs(out string) ([]crashlog.Task, error) {
	var tasks []crashlog.Task
	header := false
	for line := range strings.Lines(out) {
		t := strings.TrimSpace(line)
		if !header {
			f := strings.Fields(t)
			header = len(f) == 9 && f[0] == "PID" && f[3] == "TASK" && f[8] == "COMM"
			continue
		}
		if task, ok := parsePsLine(t); ok {
			tasks = append(tasks, task)
		}
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("ps: %w", ErrNoOutput)
	}
	return tasks, nil
}

// parsePsLine reads
//
//	>   105      -1   1  ffff8b3113f20000  RU   0.0     2260       60  ping
func parsePsLine(t string) (crashlog.Task, bool) {
	var task crashlog.Task
	if rest, ok := strings.CutPrefix(t, ">"); ok {
		task.Active, t = true, rest
	}
	f := strings.Fields(t)
	if len(f) < 9 {
		return task, false
	}
	var err error
	num := func(s string) int {
		if s == "-" {
			return -1
		}
		n, e := strconv.Atoi(s)
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	task.PID, task.PPID, task.CPU = num(f[0]), num(f[1]), num(f[2])
	var e1, e2, e3, e4 error
	task.TaskAddr, e1 = strconv.ParseUint(f[3], 16, 64)
	task.State = f[4]
	task.MemPct, e2 = strconv.ParseFloat(f[5], 64)
	task.VSZ, e3 = strconv.ParseUint(f[6], 10, 64)
	task.RSS, e4 = strconv.ParseUint(f[7], 10, 64)
	if err != nil || e1 != nil || e2 != nil || e3 != nil || e4 != nil || len(task.State) != 2 {
		return task, false
	}
	// COMM is the rest of the line: a user command may hold blanks.
	comm := skipFields(t, 8)
	if strings.HasPrefix(comm, "[") && strings.HasSuffix(comm, "]") {
		comm = comm[1 : len(comm)-1]
	}
	task.Comm = comm
	return task, true
}

// ParseBt reads `bt` output (one task's, or several for `bt -a`): frames,
// exception frames with their RIP and registers.
func ParseBt(out string) ([]*crashlog.Backtrace, error) {
	s := session("bt", out)
	if len(s.Backtraces) == 0 {
		return nil, fmt.Errorf("bt: %w", ErrNoOutput)
	}
	return s.Backtraces, nil
}

// ParseStruct reads the output of cmd, a `struct TYPE ADDR` (or `TYPE
// ADDR`) command, into an object whose Addr and Type come from cmd.
func ParseStruct(cmd, out string) (*kobj.Object, error) {
	s := session(cmd, out)
	if len(s.Dumps) == 0 {
		return nil, fmt.Errorf("%s: %w", cmd, ErrNoOutput)
	}
	d := s.Dumps[0]
	if d.Truncated || d.Partial {
		return nil, fmt.Errorf("%s: dump cut short or partial (%s)", cmd, d.Note)
	}
	return d.Object, nil
}

// Scalars flattens a struct value into its scalar members (integers,
// chars, bools, enums and pointers) by path: "len", "users.refs.counter",
// "frags[2].bv_len". Members of anonymous structs and unions are named as
// C names them, without the anonymous level; array elements get their
// index in brackets, as ktypes.Member reads paths. Char arrays shown as
// strings are left out: they are not one number.
func Scalars(v *kobj.Value) map[string]uint64 {
	out := map[string]uint64{}
	scalars(v, "", out)
	return out
}

func scalars(v *kobj.Value, path string, out map[string]uint64) {
	if v == nil {
		return
	}
	switch v.Kind {
	case kobj.Int, kobj.Pointer:
		if path != "" {
			out[path] = v.Num
		}
	case kobj.Struct:
		for _, f := range v.Fields {
			p := path
			if f.Name != "" {
				if p != "" {
					p += "."
				}
				p += f.Name
			}
			scalars(f.Value, p, out)
		}
	case kobj.Array:
		for i, e := range v.Elems {
			scalars(e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// Sym is one line of `sym` output:
//
//	ffffffffa79ffae5 (t) skb_panic+72 debian/build/…/net/core/skbuff.c: 120
//	ffffffffc03e0104 (t) crashnet_start_xmit+36 [crashnet]
type Sym struct {
	Addr uint64
	// Type is the nm-style letter crash printed in parentheses: T, t, D,
	// d, B, b, R, r, A, W …
	Type byte
	// Name is the symbol; Offset the "+N" after it (decimal, as crash
	// prints it), 0 when there was none.
	Name   string
	Offset uint64
	// Module is the "[module]" suffix, "" for the core kernel.
	Module string
	// File and Line are the source position crash printed when the
	// vmlinux has line information.
	File string
	Line int
}

// ParseSym reads `sym ADDR`, `sym NAME` or `sym -l` output, one Sym a line.
// Lines that are not symbol lines (crash's "sym: invalid address"
// complaints) are skipped; none at all is ErrNoOutput.
func ParseSym(out string) ([]Sym, error) {
	var syms []Sym
	for line := range strings.Lines(out) {
		if s, ok := parseSymLine(strings.TrimSpace(line)); ok {
			syms = append(syms, s)
		}
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("sym: %w", ErrNoOutput)
	}
	return syms, nil
}

func parseSymLine(t string) (Sym, bool) {
	addr, rest, ok := strings.Cut(t, " ")
	if !ok || len(addr) < 8 || len(addr) > 16 {
		return Sym{}, false
	}
	a, err := strconv.ParseUint(addr, 16, 64)
	if err != nil {
		return Sym{}, false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 4 || rest[0] != '(' || rest[2] != ')' {
		return Sym{}, false
	}
	s := Sym{Addr: a, Type: rest[1]}
	fields := strings.Fields(rest[3:])
	if len(fields) == 0 {
		return Sym{}, false
	}
	name := fields[0]
	if n, off, ok := strings.Cut(name, "+"); ok {
		o, err := strconv.ParseUint(off, 0, 64)
		if err != nil || n == "" {
			return Sym{}, false
		}
		name, s.Offset = n, o
	}
	s.Name = name
	fields = fields[1:]
	if len(fields) > 0 && strings.HasPrefix(fields[0], "[") && strings.HasSuffix(fields[0], "]") {
		s.Module = fields[0][1 : len(fields[0])-1]
		fields = fields[1:]
	}
	// "file.c: 120": the file may hold no blank, the line is a number.
	if len(fields) == 2 && strings.HasSuffix(fields[0], ":") {
		if l, err := strconv.Atoi(fields[1]); err == nil && l >= 0 {
			s.File, s.Line = strings.TrimSuffix(fields[0], ":"), l
			fields = nil
		}
	}
	if len(fields) != 0 {
		return Sym{}, false
	}
	return s, true
}

// skipFields returns t after its first n blank-separated fields, trimmed.
func skipFields(t string, n int) string {
	for range n {
		t = strings.TrimLeft(t, " \t")
		i := strings.IndexAny(t, " \t")
		if i < 0 {
			return ""
		}
		t = t[i:]
	}
	return strings.TrimSpace(t)
}
