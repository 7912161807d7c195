package oops

import (
	"strconv"
	"strings"
)

// parsed is what one pass over a report's lines finds.
type parsed struct {
	rip      *Location
	stacks   []stack
	chain0   []Frame // lockdep's "-> #0" acquisition stack
	lockAt   string  // lockdep's first " (lock){...}, at: func" site
	lockAt2  string  // and its second: the lock already held
	leak     []Frame // kmemleak's backtrace
	stallCtx []Frame // frames after the interrupt in a stall report
	// stallStack is how many stacks had begun when stallCtx did.
	stallStack int
	ripFirst   bool // the first RIP line came before any trace
	release    string
	tainted    *string
	hardware   string
	cpu, pid   *int
	comm       string
	modules    []string
	access     string // KASAN "Read"/"Write"
	panicMsg   string
	headerFn   string
	bugFile    string
	warnFile   string
	warnFn     string // the function a WARNING header names
	callTrace  bool   // a "Call Trace" keyword was seen
	stackKw    bool   // any line that opens a stack was seen
	// missedTrace: a "Call Trace:" line was followed by something else.
	missedTrace bool
	// faultAt is the index of the first line of an injected failure's
	// stack dump ("FAULT_INJECTION: forcing a failure", a should_fail
	// frame) inside the report, or 0.
	faultAt int
	// guiltyRaw is the frame the guilty function was read from when the
	// title names another (a grace-period wait's flavour), else "".
	guiltyRaw string
	// faultStop: the guilty-frame walk met an injected failure's frame.
	faultStop bool
}

type stack struct {
	label  string
	frames []Frame
}

var (
	cpuOnlyRe = lazyRE(`^CPU (\d+)\s*$`)
	accessRe  = lazyRE(`^(Read|Write) (?:of size \d+ |at addr)`)
	chainRe   = lazyRE(`^-> #0 `)
	// lockAtRe matches a held lock: " (lock){+.+.}, at: func+0x1/0x2" and,
	// in the list of held locks, " #0: ffff8880 (lock){+.+.}-{3:3}, at: func+0x1/0x2".
	// Since 5.x the lock's address comes first: "ffff8880 (lock){+.+.}-{3:3}, at: func".
	lockAtRe        = lazyRE(`^(?:#\d+: +)?(?:[0-9a-f]+ )?\(.+\)\{[^}]*\}(?:-\{[^}]*\})?, at: (.*)$`)
	eflagsReleaseRe = lazyRE(`^EFLAGS: [0-9a-f]+\s+\(([0-9]+\.[0-9]+[^\s()]*)\)\s*$`)
	bugAtRe         = lazyRE(`BUG at ([A-Za-z0-9_\-/.]+:\d+)`)
	armCallerRe     = lazyRE(`\) from \[<[0-9a-fA-F]+>\] \(([A-Za-z_$][A-Za-z0-9_.$]*)`)
	stackStart      = lazyRE(`^(?:Call Trace:|Call trace:|Backtrace:|Allocated by task|Freed by task|stack backtrace:|backtrace(?: \(crc [0-9a-f]+\))?:|Uninit was (?:stored|created)|Last potentially related|Second to last|Stack from|Call Trace$|\(stack is)`)
)

// stackStartByte holds the first bytes of stackStart's alternatives, so
// that the regexp runs only on lines that could match; built by loadTables.
var stackStartByte [256]bool

// stackStartPrefixes are the fixed starts of stackStart's alternatives.
var stackStartPrefixes = [...]string{"Call Trace", "Call trace:", "Backtrace:", "Allocated by task", "Freed by task", "stack backtrace:", "backtrace", "Uninit was ", "Last potentially related", "Second to last", "Stack from", "(stack is"}

// isStackStart is stackStart.MatchString with the regexp run only on lines
// that start like one of its alternatives.
func isStackStart(t string) bool {
	if t == "" || !stackStartByte[t[0]] {
		return false
	}
	for _, p := range stackStartPrefixes {
		if strings.HasPrefix(t, p) {
			return stackStart.MatchString(t)
		}
	}
	return false
}

// analyze turns the lines of one report into a Report.
func analyze(f *format, lines []string) *Report {
	p := parse(f, lines)
	r := &Report{Header: strings.TrimSpace(firstLine(lines)), Text: lines}
	r.RIP = p.rip
	if len(p.stacks) > 0 {
		r.Frames = p.stacks[0].frames
		for _, s := range p.stacks {
			r.Stacks = append(r.Stacks, s.frames)
		}
	}
	if r.Frames == nil {
		r.Frames = []Frame{}
	}
	if p.release != "" {
		r.Release = &p.release
	}
	r.Tainted = p.tainted
	if p.hardware != "" {
		r.Hardware = &p.hardware
	}
	r.CPU, r.PID = p.cpu, p.pid
	if p.comm != "" {
		r.Comm = &p.comm
	}
	r.Modules = p.modules
	if r.Modules == nil {
		r.Modules = []string{}
	}
	if p.panicMsg != "" {
		r.Panicked = true
		r.PanicMessage = p.panicMsg
	}
	finish(f, r, &p)
	return r
}

// finish sets what follows from the parsed facts: the bug location, the
// title and kind, the signature.
func finish(f *format, r *Report, p *parsed) {
	if f.file || p.bugFile != "" {
		loc := p.bugFile
		if loc == "" {
			loc = p.warnFile
		}
		if loc != "" {
			r.BugLocation = &loc
		}
	}
	titleReport(f, r, p)
	r.Signature = Signature(r.Type, r.GuiltyFunction, r.Frames)
}

func firstLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

func parse(f *format, lines []string) parsed {
	var p parsed
	header := strings.TrimSpace(firstLine(lines))
	if m := f.re; m != nil {
		if sm := m.FindStringSubmatch(header); sm != nil {
			if (f.mode == gmHeader || f.flags&fHeaderFn != 0) && len(sm) > 1 {
				p.headerFn = sm[len(sm)-1]
			}
			if f.file && len(sm) > 1 && srcRe.MatchString(sm[1]) {
				// The file that warned ("WARNING: ... at lib/refcount.c:25").
				p.warnFile = sm[1]
				if len(sm) > 2 {
					p.warnFn = sm[len(sm)-1]
				}
			}
		}
	}
	if f.file {
		if m := bugAtRe.FindStringSubmatch(header); m != nil {
			p.bugFile = m[1]
		}
	}
	var cur *stack
	inChain0, inLeak := false, false
	// stall: 0 before the interrupt that reported a stall, 1 while the
	// interrupted context's frames follow, 2 once that trace ended.
	stall := 0
	pendingCT := 0
	// tick: the current stack went through the timer tick, so an
	// interrupt entry in it is the tick that found the stall.
	tick := false
	// pend is the caller an arm "(callee) from (caller+0x..)" line names:
	// the next line's callee, unless the trace ends there, where it is the
	// outermost frame and on no line of its own.
	pend, pendStack := "", 0
	flushPend := func() {
		if pend != "" && pendStack < len(p.stacks) && len(p.stacks[pendStack].frames) < 256 {
			p.stacks[pendStack].frames = append(p.stacks[pendStack].frames, Frame{Location: Location{Function: pend}, Reliable: true})
		}
		pend = ""
	}
	for i, raw := range lines {
		t := strings.TrimSpace(raw)
		if i == 0 && f.flags&fHeadless == 0 {
			// The header line may carry a frame (KASAN, WARNING): no trace.
			continue
		}
		if t == "" {
			inChain0 = false
			continue
		}
		if pendingCT > 0 {
			// A frame must follow "Call Trace:" within a few lines
			// (other output may be interleaved).
			if _, ok := parseFrame(t); ok || strings.HasPrefix(t, "(stack is") {
				pendingCT = 0
			} else if pendingCT--; pendingCT == 0 {
				p.missedTrace = true
			}
		}
		if loc, ok := parseRIP(t); ok {
			if p.rip == nil {
				// A copy: taking loc's address would put every line's
				// loc on the heap.
				rip := loc
				p.rip = &rip
				// Registers before any trace: the report's own context
				// (a soft lockup), not one CPU of a stall's backtraces.
				p.ripFirst = len(p.stacks) == 0
			}
			if stall == 1 && len(p.stallCtx) < 256 {
				// The interrupted context's registers: the code that was
				// running (also a nested fault's inside that context).
				p.stallCtx = append(p.stallCtx, Frame{Location: loc, Reliable: true})
			}
			continue
		}
		if p.bugFile == "" && i < 12 && strings.Contains(t, "BUG at ") {
			if m := bugAtRe.FindStringSubmatch(t); m != nil {
				p.bugFile = m[1]
			}
		}
		if p.pid == nil || p.release == "" || p.tainted == nil {
			if tl, ok := parseTaskLine(t); ok {
				if p.pid == nil && tl.pid != nil {
					p.cpu, p.pid, p.comm = tl.cpu, tl.pid, tl.comm
				}
				if p.tainted == nil {
					p.tainted = tl.tainted
				}
				if p.release == "" {
					p.release = tl.release
				}
				if p.hardware == "" {
					p.hardware = tl.hardware
				}
				continue
			}
		}
		if p.cpu == nil && strings.HasPrefix(t, "CPU ") {
			if m := cpuOnlyRe.FindStringSubmatch(t); m != nil {
				cpu, _ := strconv.Atoi(m[1])
				p.cpu = &cpu
				continue
			}
		}
		if p.release == "" && strings.HasPrefix(t, "EFLAGS: ") {
			// 2.6 kernels print the release only here:
			// "EFLAGS: 00010246   (2.6.9-42.ELsmp)".
			if m := eflagsReleaseRe.FindStringSubmatch(t); m != nil {
				p.release = m[1]
			}
		}
		if strings.HasPrefix(t, "Hardware name: ") {
			p.hardware = strings.TrimSpace(t[len("Hardware name: "):])
			continue
		}
		if strings.HasPrefix(t, "Modules linked in:") {
			p.modules = parseModules(t[len("Modules linked in:"):])
			continue
		}
		if p.access == "" && (t[0] == 'R' || t[0] == 'W') {
			if m := accessRe.FindStringSubmatch(t); m != nil {
				p.access = m[1]
			}
		}
		if p.faultAt == 0 && t[0] == 'F' && strings.HasPrefix(t, "FAULT_INJECTION: forcing a failure") {
			p.faultAt = i
		}
		if isPanicLine(t) && p.panicMsg == "" {
			p.panicMsg = panicMessage(t)
			continue
		}
		if p.lockAt2 == "" && (t[0] == '(' || t[0] == '#' || isHex(t[0])) && strings.Contains(t, ", at: ") {
			if m := lockAtRe.FindStringSubmatch(t); m != nil {
				if fr, ok := parseFrame(m[1]); ok {
					if p.lockAt == "" {
						p.lockAt = fr.Function
					} else {
						p.lockAt2 = fr.Function
					}
				}
			}
		}
		if t[0] == '-' && chainRe.MatchString(t) {
			inChain0 = true
			continue
		}
		if strings.HasPrefix(t, "unreferenced object") {
			inLeak = true
		}
		if isStackStart(t) {
			p.stackKw = true
			if strings.HasPrefix(t, "Call Trace") || strings.HasPrefix(t, "Call trace") {
				p.callTrace = true
			}
			if strings.HasPrefix(t, "Call Trace") || strings.HasPrefix(t, "Call trace") || strings.HasPrefix(t, "Allocated by") || strings.HasPrefix(t, "Freed by") {
				pendingCT = 15
			}
			if cur != nil && len(cur.frames) == 0 && !strings.HasPrefix(cur.label, "Allocated") && !strings.HasPrefix(cur.label, "Freed") {
				// "stack backtrace:" then "Call Trace:": one stack.
				cur.label = t
			} else {
				flushPend()
				p.stacks = append(p.stacks, stack{label: t})
				tick = false
				cur = &p.stacks[len(p.stacks)-1]
			}
			if stall == 1 {
				stall = 2
			}
			continue
		}
		if t == "</IRQ>" || strings.HasPrefix(t, "<EOI>") || strings.HasPrefix(t, "</NMI>") {
			if stall == 0 {
				stall = 1
				p.stallStack = len(p.stacks)
				p.stallCtx = p.stallCtx[:0]
			}
			t = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "<EOI>"), "</IRQ>"))
		}
		fr, ok := parseFrame(t)
		if !ok {
			continue
		}
		if p.faultAt == 0 && fr.Reliable && (strings.HasPrefix(fr.Function, "should_fail") || strings.HasPrefix(fr.Function, "__should_fail")) {
			p.faultAt = i
		}
		if inChain0 {
			p.chain0 = append(p.chain0, fr)
			continue
		}
		if inLeak && strings.HasPrefix(lastLabel(p.stacks), "backtrace") {
			p.leak = append(p.leak, fr)
		}
		if cur == nil {
			// Frames without a "Call Trace" line (old kernels, pasted
			// fragments, arm "Backtrace" lines) form the first stack.
			p.stacks = append(p.stacks, stack{label: ""})
			cur = &p.stacks[len(p.stacks)-1]
		}
		if pend != "" {
			// Within one trace the chain goes on (or breaks where a
			// noreturn call's return address names the next function).
			if pendStack != len(p.stacks)-1 {
				flushPend()
			}
			pend = ""
		}
		if len(cur.frames) < 256 {
			cur.frames = append(cur.frames, fr)
		}
		if strings.Contains(t, ") from ") {
			if m := armCallerRe.FindStringSubmatch(t); m != nil {
				pend, pendStack = m[1], len(p.stacks)-1
			}
		}
		if fr.Reliable && !tick && isTickFrame(fr.Function) {
			tick = true
		}
		if fr.Reliable && stall < 2 && len(p.stallCtx) == 0 && isTimerIRQEntry(fr.Function, tick) {
			// The timer interrupt that found the stall: the frames after
			// it are the code that ran too long.
			stall = 1
			p.stallStack = len(p.stacks)
			p.stallCtx = p.stallCtx[:0]
			continue
		}
		if stall == 1 && len(p.stallCtx) < 256 {
			p.stallCtx = append(p.stallCtx, fr)
			if strings.Contains(t, ") from ") {
				// arm names the caller only on the callee's line: the
				// outermost one (the syscall return) is on no line of
				// its own.
				if m := armCallerRe.FindStringSubmatch(t); m != nil {
					p.stallCtx = append(p.stallCtx, Frame{Location: Location{Function: m[1]}, Reliable: true})
				}
			}
		}
	}
	flushPend()
	if pendingCT > 0 {
		p.missedTrace = true
	}
	return p
}

// isTimerIRQEntry tells the frame where the timer interrupt that found a
// stall entered the kernel on top of the code it interrupted: x86's
// apic_timer_interrupt, and, in a stack that went through the tick, arm's
// __irq_svc and arm64's el1_irq and el1h_64_irq (which every interrupt
// enters by, a softirq run on its exit too).
func isTimerIRQEntry(fn string, tick bool) bool {
	return strings.Contains(fn, "apic_timer_interrupt") || tick && (fn == "__irq_svc" || fn == "el1_irq" || fn == "el1h_64_irq")
}

// isTickFrame tells the timer tick's own frames.
func isTickFrame(fn string) bool {
	return strings.HasPrefix(fn, "update_process_times") || strings.HasPrefix(fn, "tick_") || strings.HasPrefix(fn, "rcu_sched_clock_irq") || strings.HasPrefix(fn, "rcu_check_callbacks") || strings.HasPrefix(fn, "hrtimer_interrupt")
}

func lastLabel(s []stack) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1].label
}

// parseModules reads "Modules linked in: bonding(E) ixgbe [last unloaded: x]".
func parseModules(s string) []string {
	if i := strings.Index(s, "[last unloaded"); i >= 0 {
		s = s[:i]
	}
	var out []string
	for _, m := range strings.Fields(s) {
		if i := strings.IndexByte(m, '('); i > 0 {
			m = m[:i]
		}
		m = strings.Trim(m, "[]")
		if m != "" && len(out) < 512 {
			out = append(out, m)
		}
	}
	return out
}
