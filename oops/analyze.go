package oops

import (
	"strconv"
	"strings"
)

// parsed is what one pass over a report's lines finds.
type parsed struct {
	rip      *Location
	stacks   []stack
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
	// lines are the report's lines, for the formats' stack rules.
	lines []string
	// partsFailed: a stack rule's parts were not all found.
	partsFailed bool
	// lastFunction is the work function of a workqueue's "last
	// function: f" line.
	lastFunction string
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
	lastFunctionRe  = lazyRE(`^last function: ([A-Za-z_][A-Za-z0-9_.]*)`)
	eflagsReleaseRe = lazyRE(`^EFLAGS: [0-9a-f]+\s+\(([0-9]+\.[0-9]+[^\s()]*)(?: #[0-9]+)?\)\s*$`)
	bugAtRe         = lazyRE(`BUG at ([A-Za-z0-9_\-/.]+:\d+)`)
	warnAtEndRe     = lazyRE(`WARNING: .*\bat ([A-Za-z0-9_\-/.]+\.[ch]:\d+)\s*$`)
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

// mainStack is the stack a report's Frames are: the first, unless that is
// a frame or two with no "Call Trace" line ("Preemption disabled at:" and
// its one frame, before the task's own trace) and a call trace follows.
func mainStack(stacks []stack) int {
	if stacks[0].label != "" || len(stacks[0].frames) > 2 {
		return 0
	}
	for i, s := range stacks[1:] {
		if strings.HasPrefix(s.label, "Call Trace") || strings.HasPrefix(s.label, "Call trace") {
			return i + 1
		}
	}
	return 0
}

// analyze turns the lines of one report into a Report.
func analyze(f *format, lines []string) *Report {
	p := parse(f, lines)
	r := &Report{Header: strings.TrimSpace(firstLine(lines)), Text: lines}
	r.RIP = p.rip
	if len(p.stacks) > 0 {
		r.Frames = p.stacks[mainStack(p.stacks)].frames
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

// stallState is where a scan stands relative to the interrupt that
// reported a stall: the frames after it are the code that ran too long.
type stallState int

const (
	stallBefore    stallState = iota // no interrupt entry seen yet
	stallInContext                   // the interrupted context's frames follow
	stallDone                        // that context's trace ended
)

// callTraceWindow is how many lines after "Call Trace:" may pass before a
// frame shows (other output may be interleaved); past it, the trace is
// missed.
const callTraceWindow = 15

// maxStackFrames bounds the frames kept per stack.
const maxStackFrames = 256

// parser is one pass over a report's lines: what it found (p) and where it
// stands.
type parser struct {
	f *format
	p parsed
	// ripInline: the line before was a symbolized "RIP: ... [inline]".
	ripInline bool
	// cur is the stack frames go to, an element of p.stacks; nil before
	// the first.
	cur *stack
	// inChain0: inside lockdep's "-> #0" block, whose frames show where
	// a lock was once taken, never where the bug is.
	inChain0 bool
	// inLeak: after kmemleak's "unreferenced object" line.
	inLeak bool
	stall  stallState
	// traceWindow counts down the lines a frame may take to follow a
	// "Call Trace:" line; 0 when no trace is pending.
	traceWindow int
	// tick: the current stack went through the timer tick, so an
	// interrupt entry in it is the tick that found the stall.
	tick bool
	// pend is the caller an arm "(callee) from (caller+0x..)" line names:
	// the next line's callee, unless the trace ends there, where it is the
	// outermost frame and on no line of its own; pendStack is its stack.
	pend      string
	pendStack int
}

func parse(f *format, lines []string) parsed {
	ps := parser{f: f}
	ps.p.lines = lines
	ps.header(strings.TrimSpace(firstLine(lines)))
	for i, raw := range lines {
		if i == 0 && f.flags&fHeadless == 0 {
			// The header line may carry a frame (KASAN, WARNING): no trace.
			continue
		}
		ps.line(i, strings.TrimSpace(raw))
	}
	ps.flushPend()
	if ps.traceWindow > 0 {
		ps.p.missedTrace = true
	}
	return ps.p
}

// header reads what the header line itself says: the function it names,
// the file that warned.
func (ps *parser) header(h string) {
	f, p := ps.f, &ps.p
	if m := f.re; m != nil {
		if sm := m.FindStringSubmatch(h); sm != nil {
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
		if m := bugAtRe.FindStringSubmatch(h); m != nil {
			p.bugFile = m[1]
		}
	}
	if p.warnFile == "" && p.bugFile == "" && strings.Contains(h, "WARNING: ") {
		// "WARNING: CPU: 0 PID: 1251 at net/x/y.c:98" with the function
		// on the next line, or cut off by the paste.
		if m := warnAtEndRe.FindStringSubmatch(h); m != nil {
			p.bugFile = m[1]
		}
	}
}

// flushPend puts the caller an arm trace's last line named as its
// outermost frame.
func (ps *parser) flushPend() {
	p := &ps.p
	if ps.pend != "" && ps.pendStack < len(p.stacks) && len(p.stacks[ps.pendStack].frames) < maxStackFrames {
		p.stacks[ps.pendStack].frames = append(p.stacks[ps.pendStack].frames, Frame{Location: Location{Function: ps.pend}, Reliable: true})
	}
	ps.pend = ""
}

// line reads one line of the report (i is its index, t its text trimmed).
func (ps *parser) line(i int, t string) {
	if t == "" {
		ps.inChain0 = false
		return
	}
	ps.countTraceWindow(t)
	if loc, ok := parseRIP(t); ok {
		if ps.ripInline && ps.p.rip != nil {
			// A symbolized report names the inlined callee on a first
			// "RIP: ... [inline]" line; the faulting address is in the
			// function of the line after it, the one the raw report named.
			rip := loc
			ps.p.rip = &rip
		} else {
			ps.rip(loc)
		}
		ps.ripInline = strings.HasSuffix(t, "[inline]")
		return
	}
	ps.ripInline = false
	if i == 1 && ripOnNextLine(firstLine(ps.p.lines)) {
		// 2.6.18's x86_64 "Unable to handle kernel ... RIP: " puts the
		// faulting instruction on the next line, in a frame's format.
		if fr, ok := parseFrame(t); ok {
			ps.rip(fr.Location)
			return
		}
	}
	if ps.facts(i, t) {
		return
	}
	if ps.lockdep(t) {
		return
	}
	if strings.HasPrefix(t, "unreferenced object") {
		ps.inLeak = true
	}
	if fs := curlyFrames(t); len(fs) > 0 {
		// 2.6.9 x86_64 prints several frames a line, the first on
		// the "Call Trace:" line itself; "RIP <addr>{func+35} RSP
		// <addr>" closing the oops restates the RIP, no frame.
		if strings.HasPrefix(t, "RIP ") {
			return
		}
		if strings.HasPrefix(t, "Call Trace:") {
			ps.stackStart("Call Trace:")
		}
		for _, fr := range fs {
			ps.frame(i, t, fr)
		}
		return
	}
	if isStackStart(t) {
		ps.stackStart(t)
		return
	}
	if t == "</IRQ>" || strings.HasPrefix(t, "<EOI>") || strings.HasPrefix(t, "</NMI>") {
		if ps.stall == stallBefore {
			ps.enterStallContext()
		}
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "<EOI>"), "</IRQ>"))
	}
	if fr, ok := parseFrame(t); ok {
		ps.frame(i, t, fr)
	}
}

// countTraceWindow: a frame must follow "Call Trace:" within
// callTraceWindow lines.
func (ps *parser) countTraceWindow(t string) {
	if ps.traceWindow == 0 {
		return
	}
	if _, ok := parseFrame(t); ok || strings.HasPrefix(t, "(stack is") {
		ps.traceWindow = 0
	} else if ps.traceWindow--; ps.traceWindow == 0 {
		ps.p.missedTrace = true
	}
}

// ripOnNextLine tells a header that ends in "RIP:", whose next line is the
// faulting instruction ("Unable to handle kernel NULL pointer dereference
// at 0000000000000000 RIP: ", then " [<ffffffff8003a1b2>] list_del+0x12/0x80").
func ripOnNextLine(header string) bool {
	return strings.HasSuffix(strings.TrimSpace(header), " RIP:")
}

// rip reads a line naming the faulting instruction.
func (ps *parser) rip(loc Location) {
	p := &ps.p
	if p.rip == nil {
		// A copy: taking loc's address would put every line's loc on
		// the heap.
		rip := loc
		p.rip = &rip
		// Registers before any trace: the report's own context (a soft
		// lockup), not one CPU of a stall's backtraces.
		p.ripFirst = len(p.stacks) == 0
	}
	if ps.stall == stallInContext && len(p.stallCtx) < maxStackFrames {
		// The interrupted context's registers: the code that was
		// running (also a nested fault's inside that context).
		p.stallCtx = append(p.stallCtx, Frame{Location: loc, Reliable: true})
	}
}

// facts reads the lines that describe the crash rather than trace it:
// the task line, the CPU, the hardware, the modules, the access, the panic
// message. It tells whether the line was one of those that carry nothing
// else.
func (ps *parser) facts(i int, t string) bool {
	p := &ps.p
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
			return true
		}
	}
	if p.cpu == nil && strings.HasPrefix(t, "CPU ") {
		if m := cpuOnlyRe.FindStringSubmatch(t); m != nil {
			cpu, _ := strconv.Atoi(m[1])
			p.cpu = &cpu
			return true
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
		return true
	}
	if strings.HasPrefix(t, "Modules linked in:") {
		p.modules = parseModules(t[len("Modules linked in:"):])
		return true
	}
	if p.access == "" && (t[0] == 'R' || t[0] == 'W') {
		if m := accessRe.FindStringSubmatch(t); m != nil {
			p.access = m[1]
		}
	}
	if p.faultAt == 0 && t[0] == 'F' && strings.HasPrefix(t, "FAULT_INJECTION: forcing a failure") {
		p.faultAt = i
	}
	if p.lastFunction == "" && t[0] == 'l' && strings.HasPrefix(t, "last function: ") {
		if m := lastFunctionRe.FindStringSubmatch(t); m != nil {
			p.lastFunction = m[1]
		}
		return true
	}
	if isPanicLine(t) && p.panicMsg == "" {
		p.panicMsg = panicMessage(t)
		return true
	}
	return false
}

// lockdep reads lockdep's "at:" lines, whose first two name the lock being
// taken and the one held, and the start of its "-> #0" block. It tells
// whether the line opened that block.
func (ps *parser) lockdep(t string) bool {
	p := &ps.p
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
		ps.inChain0 = true
		return true
	}
	return false
}

// stackStart reads a line that opens a stack ("Call Trace:", KASAN's
// "Allocated by task", kmemleak's "backtrace:").
func (ps *parser) stackStart(t string) {
	p := &ps.p
	p.stackKw = true
	calls := strings.HasPrefix(t, "Call Trace") || strings.HasPrefix(t, "Call trace")
	if calls {
		p.callTrace = true
	}
	if ps.traceWindow > 0 && syzStackStart(t) {
		// The stack opened before showed no frame before this one
		// began: syzkaller's isCorrupted stops looking for its frames
		// at the next stack start ("no frames in a stack trace").
		ps.p.missedTrace = true
	}
	if calls || strings.HasPrefix(t, "Allocated by") || strings.HasPrefix(t, "Freed by") {
		ps.traceWindow = callTraceWindow
	}
	if ps.cur != nil && len(ps.cur.frames) == 0 && !strings.HasPrefix(ps.cur.label, "Allocated") && !strings.HasPrefix(ps.cur.label, "Freed") {
		// "stack backtrace:" then "Call Trace:": one stack.
		ps.cur.label = t
	} else {
		ps.flushPend()
		ps.newStack(t)
	}
	if ps.stall == stallInContext {
		ps.stall = stallDone
	}
}

// syzStackStart tells the lines syzkaller's linuxStackParams.stackStartRes
// match: "Call Trace", "Allocated by task N:", "Freed by task N:", a
// "backtrace:" not of "stack backtrace:", "Backtrace:", "Uninit was stored
// to memory at".
func syzStackStart(t string) bool {
	return strings.Contains(t, "Call Trace") || strings.Contains(t, "Call trace") ||
		strings.Contains(t, "Allocated:") || strings.Contains(t, "Allocated by task ") ||
		strings.Contains(t, "Freed:") || strings.Contains(t, "Freed by task ") ||
		strings.Contains(t, "Backtrace:") || strings.Contains(t, "Uninit was stored to memory at") ||
		strings.Contains(t, " backtrace") && !strings.Contains(t, "stack backtrace")
}

func (ps *parser) newStack(label string) {
	p := &ps.p
	p.stacks = append(p.stacks, stack{label: label})
	ps.tick = false
	ps.cur = &p.stacks[len(p.stacks)-1]
}

// enterStallContext: the interrupt that found a stall was entered; the
// frames that follow are the code it interrupted.
func (ps *parser) enterStallContext() {
	ps.stall = stallInContext
	ps.p.stallStack = len(ps.p.stacks)
	ps.p.stallCtx = ps.p.stallCtx[:0]
}

// frame reads one trace entry.
func (ps *parser) frame(i int, t string, fr Frame) {
	p := &ps.p
	if p.faultAt == 0 && fr.Reliable && (strings.HasPrefix(fr.Function, "should_fail") || strings.HasPrefix(fr.Function, "__should_fail")) {
		p.faultAt = i
	}
	if ps.inChain0 {
		return
	}
	if ps.inLeak && strings.HasPrefix(lastLabel(p.stacks), "backtrace") {
		p.leak = append(p.leak, fr)
	}
	if ps.cur == nil {
		// Frames without a "Call Trace" line (old kernels, pasted
		// fragments, arm "Backtrace" lines) form the first stack.
		ps.newStack("")
	}
	if ps.pend != "" {
		// Within one trace the chain goes on (or breaks where a
		// noreturn call's return address names the next function).
		if ps.pendStack != len(p.stacks)-1 {
			ps.flushPend()
		}
		ps.pend = ""
	}
	if len(ps.cur.frames) < maxStackFrames {
		ps.cur.frames = append(ps.cur.frames, fr)
	}
	armCaller := ""
	if strings.Contains(t, ") from ") {
		if m := armCallerRe.FindStringSubmatch(t); m != nil {
			armCaller = m[1]
			ps.pend, ps.pendStack = armCaller, len(p.stacks)-1
		}
	}
	if fr.Reliable && !ps.tick && isTickFrame(fr.Function) {
		ps.tick = true
	}
	if fr.Reliable && ps.stall != stallDone && len(p.stallCtx) == 0 && isTimerIRQEntry(fr.Function, ps.tick) {
		// The timer interrupt that found the stall: the frames after it
		// are the code that ran too long.
		ps.enterStallContext()
		return
	}
	if ps.stall == stallInContext && len(p.stallCtx) < maxStackFrames {
		p.stallCtx = append(p.stallCtx, fr)
		if armCaller != "" {
			// arm names the caller only on the callee's line: the
			// outermost one (the syscall return) is on no line of its
			// own.
			p.stallCtx = append(p.stallCtx, Frame{Location: Location{Function: armCaller}, Reliable: true})
		}
	}
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
