package crashlog

import (
	"strconv"
	"strings"
)

// MaxTasks is the most `ps` lines a Session keeps.
const MaxTasks = 1 << 16

// maxCommLen bounds a task's command name: the kernel keeps 15 bytes of it
// (TASK_COMM_LEN); what is longer is prose, not a ps line.
const maxCommLen = 16

// Task is one line of crash(8) `ps` output:
//
//	   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM
//	>    0      0   0  ffffffff81a8d020  RU   0.0       0      0  [swapper]
type Task struct {
	// PID is the task's process ID (0 for the idle tasks), PPID its
	// parent's.
	PID  int
	PPID int
	// CPU is the CPU the task last ran on; -1 when crash printed "-".
	CPU int
	// TaskAddr is the task_struct address.
	TaskAddr uint64
	// State is crash's two-letter ST column: RU, IN, UN, ZO, ST, TR, DE,
	// SW, WA, PA, ID or NE.
	State string
	// MemPct is the %MEM column.
	MemPct float64
	// VSZ and RSS are the virtual and resident sizes in KiB.
	VSZ uint64
	RSS uint64
	// Comm is the command name without the brackets crash puts around
	// kernel threads' names ("swapper" for "[swapper]").
	Comm string
	// Active is set for the lines crash marks with ">": the task active on
	// its CPU when the dump was taken.
	Active bool
	// Line is the document line.
	Line int
}

// psParser reads `ps` output, with or without its header.
type psParser struct {
	tasks   []Task
	dropped int
	// kstack: the fourth column is `ps -s`'s kernel stack pointer, not the
	// task address; such lines are consumed but not kept.
	kstack bool
	// names shares command names: a large ps repeats "kworker/0:1" and
	// friends many times.
	names interner
}

func (p *psParser) prompt(lineno int, cmd string) {
	p.kstack = isPsStackCommand(cmd)
}

func (p *psParser) line(lineno int, t string, cmd string) bool {
	if c := t[0]; c == 'P' {
		if k, ok := parsePsHeader(t); ok {
			p.kstack = k
			return true
		}
		return false
	}
	task, ok := parsePsLine(t)
	if !ok {
		return false
	}
	if p.kstack {
		return true
	}
	if len(p.tasks) >= MaxTasks {
		p.dropped++
		return true
	}
	task.Comm = p.names.get(task.Comm)
	task.Line = lineno
	p.tasks = append(p.tasks, task)
	return true
}

func (p *psParser) finish(sess *Session) {
	sess.Tasks = p.tasks
	sess.RowsDropped += p.dropped
}

// isPsStackCommand says whether cmd is `ps -s`, which prints each task's
// kernel stack pointer where plain ps prints its address.
func isPsStackCommand(cmd string) bool {
	w := commandWords(cmd)
	if len(w) == 0 || w[0] != "ps" {
		return false
	}
	for _, a := range w[1:] {
		if len(a) > 1 && a[0] == '-' && strings.IndexByte(a, 's') > 0 {
			return true
		}
	}
	return false
}

// parsePsHeader recognises ps's header and says whether its fourth column
// is KSTACKP (`ps -s`) rather than TASK.
func parsePsHeader(t string) (kstack, ok bool) {
	if !fieldsPrefix(t, "PID", "PPID", "CPU") {
		return false, false
	}
	f := strings.Fields(t)
	if len(f) != 9 || f[4] != "ST" || f[5] != "%MEM" || f[6] != "VSZ" || f[7] != "RSS" || f[8] != "COMM" {
		return false, false
	}
	switch f[3] {
	case "TASK":
		return false, true
	case "KSTACKP":
		return true, true
	}
	return false, false
}

// psStates are the values of ps's ST column.
var psStates = map[string]bool{
	"RU": true, "IN": true, "UN": true, "ZO": true, "ST": true, "TR": true,
	"DE": true, "SW": true, "WA": true, "PA": true, "ID": true, "NE": true,
}

// parsePsLine recognises a ps line. It insists on every column's form (an
// 8- or 16-digit task address, a known state), so that prose with numbers
// is not taken for one.
func parsePsLine(t string) (Task, bool) {
	var task Task
	if t[0] == '>' {
		task.Active = true
		t = t[1:]
	}
	c := newColumns(t)
	pid := column(&c, parseDec)
	ppid := column(&c, parseDec)
	cpu := column(&c, parsePsCPU)
	addr := column(&c, parseAddr)
	st := column(&c, parsePsState)
	mem := column(&c, parsePercent)
	vsz := column(&c, parseSize)
	rss := column(&c, parseSize)
	if !c.ok {
		return task, false
	}
	comm, ok := psComm(c.rest)
	if !ok {
		return task, false
	}
	task.PID, task.PPID, task.CPU, task.TaskAddr, task.State = pid, ppid, cpu, addr, st
	task.MemPct, task.VSZ, task.RSS, task.Comm = mem, vsz, rss, comm
	return task, true
}

// parsePsCPU takes the CPU column: a number, or "-" (-1) for a task on
// none.
func parsePsCPU(s string) (int, bool) {
	if s == "-" {
		return -1, true
	}
	return parseDec(s)
}

// parsePsState takes the ST column: one of psStates.
func parsePsState(s string) (string, bool) { return s, psStates[s] }

// psComm takes the COMM column: a bracketed kernel thread name, or the name
// up to a remark an author added ("bash   <-- this one").
func psComm(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] == '[' {
		j := strings.IndexByte(s, ']')
		if j < 2 || j > maxCommLen+1 {
			return "", false
		}
		return s[1:j], true
	}
	if i := strings.Index(s, "<-"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "  "); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	s = trimSpace(s)
	if s == "" || len(s) > maxCommLen {
		return "", false
	}
	return s, true
}

// parsePercent parses %MEM: "5.7", "100.0".
func parsePercent(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 6 {
		return 0, false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && v <= 100
}

// parseSize parses VSZ and RSS, in KiB.
func parseSize(s string) (uint64, bool) { return parseDecU64(s) }
