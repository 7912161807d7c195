package crashlog

import (
	"strings"

	"github.com/ktriage/ktriage/oops"
)

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

// sysState accumulates a candidate block until it is known to be one.
type sysState struct {
	// typed is set when the lines follow a `sys` prompt: then one key line
	// (`sys | grep RELEASE`) is a block too.
	typed bool
	cur   *Sys
	seen  uint32 // bit per oops.CrashSysKey
	count int    // counted keys in cur
}

// add puts one key line into the current candidate. It returns a finished
// block when the key repeats one already seen (two `sys` outputs back to back).
func (st *sysState) add(lineno int, k oops.CrashSysKey, v string) *Sys {
	var done *Sys
	if st.cur != nil && st.seen&(1<<k) != 0 {
		done = st.close()
	}
	if st.cur == nil {
		st.cur = &Sys{Span: Span{Start: lineno, End: lineno}}
	}
	st.seen |= 1 << k
	if !k.Aside() {
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

func setSysField(s *Sys, k oops.CrashSysKey, v string) {
	v = strings.Clone(v)
	switch k {
	case oops.SysKernel:
		s.Kernel = v
	case oops.SysDumpfile:
		s.Dumpfile = v
	case oops.SysCPUs:
		s.CPUs = leadingIntPtr(v)
	case oops.SysDate:
		s.Date = v
	case oops.SysUptime:
		s.Uptime = v
	case oops.SysLoadAverage:
		s.LoadAverage = v
	case oops.SysTasks:
		s.Tasks = leadingIntPtr(v)
	case oops.SysNodename:
		s.Nodename = v
	case oops.SysRelease:
		s.Release, _ = nextField(v)
	case oops.SysVersion:
		s.Version = v
	case oops.SysMachine:
		// "x86_64  (2499 Mhz)"
		arch, rest := nextField(v)
		s.Machine = arch
		if strings.HasPrefix(rest, "(") {
			s.MHz = leadingIntPtr(strings.TrimLeft(rest[1:], " "))
		}
	case oops.SysMemory:
		s.Memory = v
	case oops.SysPanic:
		s.Panic = panicMessage(v)
	case oops.SysPID:
		s.PID = leadingIntPtr(v)
	case oops.SysCommand:
		s.Command = unquote(v)
	case oops.SysTask:
		s.Task, _ = nextField(v)
		s.Task = strings.ToLower(s.Task)
	case oops.SysCPU:
		s.CPU = leadingIntPtr(v)
	case oops.SysState:
		s.State = v
	}
}

// leadingIntPtr is the number a value starts with ("24 [OFFLINE: 1]"), nil
// when it starts with none.
func leadingIntPtr(v string) *int {
	if n, ok := leadingInt(v); ok {
		return &n
	}
	return nil
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
