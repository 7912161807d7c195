package crashlog

import "strings"

// Sys is one block of crash(8) `sys` output (also printed by crash on
// start-up). It names the system and the panic that a session examines, so
// triage takes the release and the panic message from here when the kernel
// log in the same document lacks them.
//
// A string field is "" when the block did not print that key; a pointer
// field is nil then.
type Sys struct {
	// Kernel and Dumpfile are the KERNEL and DUMPFILE values as printed,
	// flags such as "[TAINTED]" or "[PARTIAL DUMP]" included.
	Kernel   string
	Dumpfile string
	// CPUs is the CPUS count (an "[OFFLINE: n]" note is ignored).
	CPUs        *int
	Date        string
	Uptime      string
	LoadAverage string
	Tasks       *int
	Nodename    string
	Release     string
	Version     string
	// Machine is the architecture from MACHINE ("x86_64"); MHz is the
	// clock crash printed beside it.
	Machine string
	MHz     *int
	// Memory is the MEMORY value as printed ("63.9 GB").
	Memory string
	// Panic is the PANIC message without its quotes, without the printk
	// timestamp crash copies from the log, and without crash's
	// "(check log for details)" note: the same text an oops report's header
	// carries, so the two can be matched.
	Panic   string
	PID     *int
	Command string
	// Task is the panicking task_struct address in hex as printed, the
	// "(1 of 24)" and THREAD_INFO notes dropped.
	Task  string
	CPU   *int
	State string
	// Span is where the block is in the document.
	Span Span
}

// sysKey identifies a `sys` key; the zero value is not a key.
type sysKey uint8

const (
	keyNone sysKey = iota
	keyKernel
	keyDumpfile
	keyCPUs
	keyDate
	keyUptime
	keyLoadAverage
	keyTasks
	keyNodename
	keyRelease
	keyVersion
	keyMachine
	keyMemory
	keyPanic
	keyPID
	keyCommand
	keyTask
	keyCPU
	keyState
	// Keys crash prints inside the block in some set-ups; they neither
	// count towards recognising a block nor break one.
	keyDebugKernel
	keyDebuginfo
)

var sysKeys = map[string]sysKey{
	"KERNEL":       keyKernel,
	"DUMPFILE":     keyDumpfile,
	"CPUS":         keyCPUs,
	"DATE":         keyDate,
	"UPTIME":       keyUptime,
	"LOAD AVERAGE": keyLoadAverage,
	"TASKS":        keyTasks,
	"NODENAME":     keyNodename,
	"RELEASE":      keyRelease,
	"VERSION":      keyVersion,
	"MACHINE":      keyMachine,
	"MEMORY":       keyMemory,
	"PANIC":        keyPanic,
	"PID":          keyPID,
	"COMMAND":      keyCommand,
	"TASK":         keyTask,
	"CPU":          keyCPU,
	"STATE":        keyState,
	"DEBUG KERNEL": keyDebugKernel,
	"DEBUGINFO":    keyDebuginfo,
}

// parseSysLine recognises "    RELEASE: 2.6.32-504.23.4.el6.x86_64". It
// rejects values that cannot be what crash prints for the key, so that prose
// such as "CPU: 100% busy" is not taken for a block.
func parseSysLine(t string) (sysKey, string) {
	if len(t) < 4 || !isUpper(t[0]) {
		return keyNone, ""
	}
	i := strings.IndexByte(t, ':')
	if i < 3 || i > len("LOAD AVERAGE") {
		return keyNone, ""
	}
	k, ok := sysKeys[t[:i]]
	if !ok {
		return keyNone, ""
	}
	v := trimSpace(t[i+1:])
	switch k {
	case keyCPUs, keyTasks, keyPID, keyCPU:
		if _, ok := leadingInt(v); !ok {
			return keyNone, ""
		}
	case keyTask:
		f, _ := nextField(v)
		if _, ok := parseHex(f); !ok {
			return keyNone, ""
		}
	}
	return k, v
}

// sysState accumulates a candidate block until it is known to be one.
type sysState struct {
	// typed is set when the lines follow a `sys` prompt: then one key line
	// (`sys | grep RELEASE`) is a block too.
	typed bool
	cur   *Sys
	seen  uint32 // bit per sysKey
	count int    // counted keys in cur
}

// add puts one key line into the current candidate. It returns a finished
// block when the key repeats one already seen (two `sys` outputs back to back).
func (st *sysState) add(lineno int, k sysKey, v string) *Sys {
	var done *Sys
	if st.cur != nil && st.seen&(1<<k) != 0 {
		done = st.close()
	}
	if st.cur == nil {
		st.cur = &Sys{Span: Span{Start: lineno, End: lineno}}
	}
	st.seen |= 1 << k
	if k != keyDebugKernel && k != keyDebuginfo {
		st.count++
	}
	st.cur.Span.End = lineno
	setSysField(st.cur, k, v)
	return done
}

// close ends the candidate and returns it if it is a block.
func (st *sysState) close() *Sys {
	s, n := st.cur, st.count
	st.cur, st.seen, st.count = nil, 0, 0
	if s == nil || n < 1 || n < 2 && !st.typed {
		return nil
	}
	return s
}

func setSysField(s *Sys, k sysKey, v string) {
	v = strings.Clone(v)
	switch k {
	case keyKernel:
		s.Kernel = v
	case keyDumpfile:
		s.Dumpfile = v
	case keyCPUs:
		if n, ok := leadingInt(v); ok {
			s.CPUs = &n
		}
	case keyDate:
		s.Date = v
	case keyUptime:
		s.Uptime = v
	case keyLoadAverage:
		s.LoadAverage = v
	case keyTasks:
		if n, ok := leadingInt(v); ok {
			s.Tasks = &n
		}
	case keyNodename:
		s.Nodename = v
	case keyRelease:
		s.Release, _ = nextField(v)
	case keyVersion:
		s.Version = v
	case keyMachine:
		// "x86_64  (2499 Mhz)"
		arch, rest := nextField(v)
		s.Machine = arch
		if strings.HasPrefix(rest, "(") {
			if n, ok := leadingInt(strings.TrimLeft(rest[1:], " ")); ok {
				s.MHz = &n
			}
		}
	case keyMemory:
		s.Memory = v
	case keyPanic:
		s.Panic = panicMessage(v)
	case keyPID:
		if n, ok := leadingInt(v); ok {
			s.PID = &n
		}
	case keyCommand:
		s.Command = unquote(v)
	case keyTask:
		s.Task, _ = nextField(v)
		s.Task = strings.ToLower(s.Task)
	case keyCPU:
		if n, ok := leadingInt(v); ok {
			s.CPU = &n
		}
	case keyState:
		s.State = v
	}
}

// panicMessage turns `"[191691.047083] kernel BUG at net/core/skbuff.c:1886!"`
// or `"Oops: 0002 [#1] SMP " (check log for details)` into the message.
func panicMessage(v string) string {
	if len(v) > 0 && v[0] == '"' {
		v = unquote(v)
	}
	v = trimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		if j := strings.IndexByte(v, ']'); j > 0 && isTimestamp(v[1:j]) {
			v = trimSpace(v[j+1:])
		}
	}
	return v
}

// isTimestamp accepts printk's "191691.047083" (possibly space-padded).
func isTimestamp(s string) bool {
	s = trimSpace(s)
	dot := false
	for i := 0; i < len(s); i++ {
		switch {
		case isDigit(s[i]):
		case s[i] == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return dot
}
