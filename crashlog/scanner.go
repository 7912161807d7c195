package crashlog

import (
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/oops"
)

// Limits on what a Session keeps, so that memory stays bounded on any input
// (a `foreach bt` of a large machine, or junk).
const (
	// MaxBacktraces is the most backtraces a Session keeps.
	MaxBacktraces = 4096
	// MaxSysBlocks is the most `sys` blocks a Session keeps.
	MaxSysBlocks = 64
	maxSymbols   = 8192
	maxSlots     = 8192
	// maxIdle is how many lines a bt may pause for (blank lines, a
	// warning, a pasted remark) and still be continued by its next frame.
	maxIdle = 8
	// maxDerivedOffset bounds an offset computed from a function start
	// learnt elsewhere: beyond it the start more likely belongs to another
	// function of the same name.
	maxDerivedOffset = 1 << 16
)

// Session is what a document shows of crash(8) sessions.
type Session struct {
	// Sys is the `sys` block describing the system: the first block that
	// names it (any key besides the task context keys PID, COMMAND, TASK,
	// CPU and STATE, which `set` also prints), else the first block. Nil
	// when the document has none.
	Sys *Sys
	// SysBlocks lists every `sys` block in order.
	SysBlocks []*Sys
	// Backtraces lists every `bt` in order. The same bt pasted twice
	// appears twice; Backtrace.Key tells them apart.
	Backtraces []*Backtrace
	// Objects holds the struct and union dumps that show a whole object
	// (see struct.go), the first reading of each; Partial holds grep'd,
	// member-list, header-less and cut-short dumps of objects Objects
	// lacks; Dumps lists every dump in order with how it was printed.
	Objects kobj.Set
	Partial []*kobj.Object
	Dumps   []*Dump
	// Reads, Evals, Disasm and StackWords are `rd`, `p`/`px`, `dis` and
	// `bt -f`/`-F` output with each word's stack slot (see rd.go, px.go, dis.go).
	Reads      []Read
	Evals      []Eval
	Disasm     []Insn
	StackWords []StackWord
	// DroppedOutput counts dumps, reads, results, instructions and stack
	// words not kept because of their limits.
	DroppedOutput int
	// Dropped counts backtraces and sys blocks not kept because of
	// MaxBacktraces and MaxSysBlocks.
	Dropped int
	// Tasks lists every `ps` line in order.
	Tasks []Task
	// NetDevs lists every `net` device line in order.
	NetDevs []NetDev
	// Sockets lists every `net -s` socket line in order; Socket.Task and
	// Socket.Filtered say what the line proves about its owner.
	Sockets []Socket
	// RowsDropped counts ps, net and net -s lines not kept because of
	// MaxTasks, MaxNetDevs and MaxSockets.
	RowsDropped int
}

// Scanner consumes lines of a document one at a time, so the caller can read
// a big log once and feed each line to several consumers. It keeps the blocks
// it recognises and a bounded table of symbol hints, never the document.
// A Scanner is not safe for concurrent use.
type Scanner struct {
	sess Session
	done bool
	n    int // lines fed

	sys sysState

	bt btState

	// names interns function, module and register names: they repeat
	// across frames and tasks, and a `foreach bt` has thousands.
	names interner

	// cmd is the last command typed at a crash> prompt and cmdLine its
	// line; "" when the document shows none.
	cmd     string
	cmdLine int
	// blocks are the parsers of other commands' output.
	blocks []blockParser

	// Hints for computing frame offsets at Finish.
	starts   map[string]uint64 // function -> start address
	conflict map[string]bool   // functions seen with two starts
	slots    map[uint64]slotSym
}

// btState is where the Scanner is in the bt it reads.
type btState struct {
	cur       *Backtrace // nil between bts
	elems     int        // frames and exceptions seen in cur, kept or not
	last      int        // Scanner.n of the last line cur consumed
	suspended bool       // a noise line paused cur: only its next frame continues it
	lastIdx   int        // N of the last "#N" frame; -1 before the first
	below     btElem     // what the detail lines below belong to
	separator string     // a "--- <IRQ stack> ---" waiting for the next frame
}

// btElem names the bt element that the register and source lines crash
// prints below an element belong to.
type btElem uint8

const (
	// belowNothing: no element was kept (a new bt, or a limit dropped the
	// last one). Register lines go nowhere; source lines go to the last
	// kept frame.
	belowNothing btElem = iota
	// belowException: the last element was an exception frame; its
	// register block and source line follow.
	belowException
	// belowFrame: the last element was a frame; a register block under it
	// is a bare one (the user registers at a system call entry).
	belowFrame
)

// String names the element for test failures and debugging.
func (e btElem) String() string {
	switch e {
	case belowNothing:
		return "nothing"
	case belowException:
		return "exception"
	case belowFrame:
		return "frame"
	}
	return "btElem(" + strconv.Itoa(int(e)) + ")"
}

// slotSym is a symbolic stack word: "skb_checksum_help+138" at a slot.
type slotSym struct {
	name string
	off  uint64
}

// maxNames bounds an intern table; names past it are copied each time.
const maxNames = 16384

// NewScanner returns a scanner at the start of a document.
func NewScanner() *Scanner {
	return &Scanner{blocks: newBlockParsers()}
}

// newBlockParsers lists the parsers of other commands' output explicitly,
// as delve's openFns lists core readers. Order matters: the
// first parser that takes a line ends the others' interest in it.
func newBlockParsers() []blockParser {
	return []blockParser{
		&disParser{},
		&netParser{names: interner{max: 1024}},
		&psParser{names: interner{max: 4096}},
		&pxParser{},
		&rdParser{},
		&stackWordParser{},
		&structParser{},
	}
}

// Line feeds one line; lineno is 1-based. text has had a log prefix removed
// by the caller where there was one; leading and trailing whitespace and \r
// do not matter. Lines after Finish are ignored.
func (s *Scanner) Line(lineno int, text string) {
	if s.done {
		return
	}
	s.n++
	if len(text) > maxLineLen {
		s.noise()
		return
	}
	t := normalize(text)
	if t == "" {
		s.blank()
		return
	}
	s.hints(t)
	c := t[0]
	switch {
	case c == '#' || isDigit(c) && strings.Contains(t, " [") && strings.Contains(t, " at "):
		if f, ok := parseFrame(t); ok {
			s.closeSys()
			s.frame(lineno, f)
			return
		}
	case c == '[':
		if e, ok := parseException(t); ok {
			s.closeSys()
			s.exception(lineno, e)
			return
		}
	case c == '-':
		if sep, ok := parseSeparator(t); ok && s.btActive() {
			s.bt.separator = strings.Clone(sep)
			s.consumed(lineno)
			return
		}
	case c == 'P' && strings.HasPrefix(t, "PID:"):
		if h, ok := parseHeader(t); ok {
			s.closeAll()
			s.bt = btState{cur: &Backtrace{
				PID: h.pid, Task: strings.Clone(h.task), CPU: h.cpu,
				Command: strings.Clone(h.command),
				Span:    Span{Start: lineno, End: lineno},
			}, last: s.n, lastIdx: -1}
			// The same header opens `net -s` output: the socket parser
			// needs it to tie the sockets listed below to the task.
			s.offerTaskHeader(lineno, h)
			return
		}
	case c == 'c':
		if cmd, ok := oops.CrashPrompt(t); ok {
			s.closeAll()
			s.cmd = cmd
			s.cmdLine = lineno
			s.sys.typed = cmd == "sys" || strings.HasPrefix(cmd, "sys ") || strings.HasPrefix(cmd, "sys|")
			for _, b := range s.blocks {
				b.prompt(lineno, cmd)
			}
			return
		}
	}
	// Block parsers (struct dumps, tables) see every other line first; the
	// one that takes it ends the others' interest in it.
	for _, b := range s.blocks {
		if b.line(lineno, t, s.cmd) {
			return
		}
	}
	if s.btActive() && s.btDetail(lineno, t) {
		return
	}
	if k, v := oops.ParseCrashSys(t); k != oops.SysNone {
		s.closeBt()
		if done := s.sys.add(lineno, k, v); done != nil {
			s.addSys(done)
		}
		return
	}
	s.noise()
}

// blockParser is a parser of one kind of crash(8) output that is not part
// of bt or sys: struct dumps, rd, px, dis, ps, net. Each lives in its own
// file and is listed in newBlockParsers.
type blockParser interface {
	// prompt tells the parser a new command was typed (cmd may be "").
	prompt(lineno int, cmd string)
	// line offers a normalized non-empty line and the last command; true
	// means the parser consumed it.
	line(lineno int, t string, cmd string) bool
	// finish adds what the parser found to the session.
	finish(sess *Session)
}

// btActive says whether a bt is open and still accepting its detail lines.
func (s *Scanner) btActive() bool {
	return s.bt.cur != nil && !s.bt.suspended && s.n-s.bt.last <= maxIdle+1
}

func (s *Scanner) consumed(lineno int) {
	s.bt.last = s.n
	if lineno > s.bt.cur.Span.End {
		s.bt.cur.Span.End = lineno
	}
}

// blank lines neither end nor extend a block: pastes from web pages put them
// between lines. Too many in a row end a bt.
func (s *Scanner) blank() {
	if s.bt.cur != nil && s.n-s.bt.last > maxIdle {
		s.closeBt()
	}
}

// noise is a line that belongs to no block: it ends a sys block and pauses a
// bt (which its next frame may continue).
func (s *Scanner) noise() {
	s.closeSys()
	if s.bt.cur != nil {
		if s.n-s.bt.last > maxIdle {
			s.closeBt()
		} else {
			s.bt.suspended = true
		}
	}
}

func (s *Scanner) frame(lineno int, f StackFrame) {
	b := s.bt.cur
	cont := b != nil && s.n-s.bt.last <= maxIdle+1 &&
		(!s.bt.suspended && f.Index > s.bt.lastIdx || s.bt.suspended && f.Index == s.bt.lastIdx+1)
	if !cont {
		s.closeBt()
		b = &Backtrace{Span: Span{Start: lineno, End: lineno}}
		s.bt.cur = b
	}
	s.bt.suspended, s.bt.lastIdx = false, f.Index
	s.consumed(lineno)
	s.bt.elems++
	if len(b.AllFrames) >= MaxFrames || s.full() {
		b.Truncated = true
		s.bt.below = belowNothing
		return
	}
	f.Function = s.names.get(f.Function)
	f.Module = s.names.get(f.Module)
	f.Separator, s.bt.separator = s.bt.separator, ""
	f.Line = lineno
	b.AllFrames = append(b.AllFrames, f)
	s.bt.below = belowFrame
}

func (s *Scanner) exception(lineno int, e Exception) {
	if !s.btActive() {
		s.closeBt()
		s.bt = btState{cur: &Backtrace{Span: Span{Start: lineno, End: lineno}}, last: s.n, lastIdx: -1}
	}
	b := s.bt.cur
	s.consumed(lineno)
	s.bt.elems++
	if len(b.Exceptions) >= MaxExceptions || s.full() {
		b.Truncated = true
		s.bt.below = belowNothing // its detail lines have nowhere to go
		return
	}
	e.Function = s.names.get(e.Function)
	e.Module = s.names.get(e.Module)
	e.After = len(b.AllFrames) - 1
	e.Line = lineno
	ep := &e
	b.Exceptions = append(b.Exceptions, ep)
	if b.Exception == nil {
		b.Exception = ep
	}
	s.bt.below = belowException
}

// btDetail handles the lines crash prints under a frame: registers, source
// lines, stack words. It reports whether the line was one.
func (s *Scanner) btDetail(lineno int, t string) bool {
	b := s.bt.cur
	c := t[0]
	if isUpper(c) && s.bt.below != belowNothing {
		var regs map[string]uint64
		switch s.bt.below {
		case belowException:
			e := b.Exceptions[len(b.Exceptions)-1]
			if e.Regs == nil {
				e.Regs = make(map[string]uint64, 24)
			}
			regs = e.Regs
		case belowFrame:
			f := &b.AllFrames[len(b.AllFrames)-1]
			if f.Regs == nil {
				f.Regs = make(map[string]uint64, 24)
			}
			regs = f.Regs
		}
		ok := parseRegs(t, func(name string, v uint64) {
			if _, seen := regs[name]; seen || len(regs) < maxRegs {
				regs[s.names.get(name)] = v
			}
		})
		if ok {
			if s.bt.below == belowException {
				if e := b.Exceptions[len(b.Exceptions)-1]; e.Address == "" {
					if rip, ok := regs["RIP"]; ok {
						e.Address = hexString(rip)
					} else if eip, ok := regs["EIP"]; ok {
						e.Address = hexString(eip)
					}
				}
			}
			s.consumed(lineno)
			return true
		}
	}
	if isHexDigit(c) {
		if addr, rest, ok := parseWords(t); ok && len(b.AllFrames) > 0 {
			// The words after a frame run from its slot to the next
			// frame's; after an exception frame, from the saved RSP.
			f := &b.AllFrames[len(b.AllFrames)-1]
			ok := near(addr, f.StackAddr)
			if n := len(b.Exceptions); !ok && n > 0 && b.Exceptions[n-1].After == len(b.AllFrames)-1 {
				rsp, have := b.Exceptions[n-1].Regs["RSP"]
				ok = have && near(addr, rsp)
			}
			if ok {
				s.addWords(b, f, rest)
				s.consumed(lineno)
				return true
			}
			return false
		}
	}
	if path, n, ok := parseSource(t); ok && (len(b.AllFrames) > 0 || len(b.Exceptions) > 0) {
		path = strings.Clone(path)
		if s.bt.below == belowException {
			e := b.Exceptions[len(b.Exceptions)-1]
			e.SourceFile, e.SourceLine = path, n
		} else if len(b.AllFrames) > 0 {
			f := &b.AllFrames[len(b.AllFrames)-1]
			f.SourceFile, f.SourceLine = path, n
		}
		s.consumed(lineno)
		return true
	}
	return false
}

func near(a, b uint64) bool {
	if a > b {
		return a-b <= wordWindow
	}
	return b-a <= wordWindow
}

func (s *Scanner) addWords(b *Backtrace, f *StackFrame, rest string) {
	for rest != "" {
		var w string
		w, rest = nextField(rest)
		if len(f.Words) >= MaxWordsPerFrame || b.words >= MaxWords {
			b.Truncated = true
			return
		}
		f.Words = append(f.Words, strings.Clone(w))
		b.words++
	}
}

func (s *Scanner) closeAll() {
	s.closeSys()
	s.closeBt()
}

func (s *Scanner) closeSys() {
	if done := s.sys.close(); done != nil {
		s.addSys(done)
	}
}

func (s *Scanner) addSys(x *Sys) {
	if len(s.sess.SysBlocks) >= MaxSysBlocks {
		s.sess.Dropped++
		return
	}
	s.sess.SysBlocks = append(s.sess.SysBlocks, x)
}

// full says the session holds MaxBacktraces: further bts are parsed, to keep
// the line structure right, but not stored.
func (s *Scanner) full() bool { return len(s.sess.Backtraces) >= MaxBacktraces }

func (s *Scanner) closeBt() {
	b, n := s.bt.cur, s.bt.elems
	s.bt = btState{}
	if b == nil || n == 0 {
		return
	}
	if s.full() {
		s.sess.Dropped++
		return
	}
	s.sess.Backtraces = append(s.sess.Backtraces, b)
}

// ---- symbol hints ----

// hints learns function starts and symbolic stack slots from any line that
// shows them, in or out of a block: `dis` lines ("0xffffffff8145d5f1
// <skb_checksum_help+113>:"), `sym` lines ("ffffffff8145d60a (T)
// skb_checksum_help+138"), and `bt -F`/`rd -s` words. Finish uses them to
// give frames the offsets a plain bt does not print.
func (s *Scanner) hints(t string) {
	if len(t) < 10 {
		return
	}
	for i := 0; i < 8; i++ {
		if !isHexDigit(t[i]) && !(i == 1 && t[0] == '0' && t[1] == 'x') {
			return
		}
	}
	if len(t) > 2 && t[0] == '0' && t[1] == 'x' {
		// dis: 0xADDR <name+off>:
		a, rest := nextField(t[2:])
		addr, ok := parseHex(a)
		if !ok || len(rest) < 3 || rest[0] != '<' {
			return
		}
		j := strings.IndexByte(rest, '>')
		if j < 2 || j+1 >= len(rest) || rest[j+1] != ':' {
			return
		}
		if name, off, ok := splitSymOffset(rest[1:j]); ok {
			var o uint64
			if off != nil {
				o = *off
			}
			s.learnStart(name, addr, o)
		}
		return
	}
	if addr, rest, ok := parseWords(t); ok {
		step := uint64(8)
		if strings.IndexByte(t, ':') <= 8 {
			step = 4
		}
		for i := uint64(0); rest != "" && i < 64; i++ {
			var w string
			w, rest = nextField(rest)
			if strings.IndexByte(w, '+') > 0 {
				if name, off, ok := splitSymOffset(w); ok && off != nil {
					s.learnSlot(addr+i*step, name, *off)
				}
			}
		}
		return
	}
	// sym: ADDR (T) name+off ...
	a, rest := nextField(t)
	addr, ok := parseHex(a)
	if !ok || len(a) < 8 {
		return
	}
	typ, rest := nextField(rest)
	if len(typ) != 3 || typ[0] != '(' || typ[2] != ')' {
		return
	}
	sym, _ := nextField(rest)
	if name, off, ok := splitSymOffset(sym); ok {
		var o uint64
		if off != nil {
			o = *off
		}
		s.learnStart(name, addr, o)
	}
}

// learnStart records that name starts at addr-off; a name seen with two
// different starts (two kernels in one document, two static functions of one
// name) is never used.
func (s *Scanner) learnStart(name string, addr, off uint64) {
	if off > addr {
		return
	}
	start := addr - off
	if s.conflict[name] {
		return
	}
	if old, ok := s.starts[name]; ok {
		if old != start {
			if s.conflict == nil {
				s.conflict = make(map[string]bool)
			}
			if len(s.conflict) < maxSymbols {
				s.conflict[strings.Clone(name)] = true
			}
			delete(s.starts, name)
		}
		return
	}
	if s.starts == nil {
		s.starts = make(map[string]uint64)
	}
	if len(s.starts) < maxSymbols {
		s.starts[strings.Clone(name)] = start
	}
}

func (s *Scanner) learnSlot(slot uint64, name string, off uint64) {
	if s.slots == nil {
		s.slots = make(map[uint64]slotSym)
	}
	if _, ok := s.slots[slot]; ok || len(s.slots) < maxSlots {
		s.slots[slot] = slotSym{name: strings.Clone(name), off: off}
	}
}

// ---- Finish ----

// Finish ends the document and returns what was found: it closes open blocks,
// fills in frame offsets from the hints the whole document gave, and computes
// each backtrace's Trace. Later calls return the same Session.
func (s *Scanner) Finish() *Session {
	if s.done {
		return &s.sess
	}
	s.done = true
	s.closeAll()
	s.resolveOffsets()
	for _, b := range s.sess.Backtraces {
		b.Trace = trace(b)
	}
	s.sess.Sys = pickSys(s.sess.SysBlocks)
	for _, b := range s.blocks {
		b.finish(&s.sess)
	}
	s.starts, s.conflict, s.slots, s.names = nil, nil, nil, interner{}
	return &s.sess
}

func pickSys(blocks []*Sys) *Sys {
	for _, x := range blocks {
		if x.Kernel != "" || x.Dumpfile != "" || x.CPUs != nil || x.Date != "" ||
			x.Uptime != "" || x.LoadAverage != "" || x.Tasks != nil || x.Nodename != "" ||
			x.Release != "" || x.Version != "" || x.Machine != "" || x.Memory != "" || x.Panic != "" {
			return x
		}
	}
	if len(blocks) > 0 {
		return blocks[0]
	}
	return nil
}

// resolveOffsets gives offsets to frames that lack them: first from a
// symbolic stack word in the frame's own slot (which also teaches the
// function's start), then from function starts.
func (s *Scanner) resolveOffsets() {
	for _, b := range s.sess.Backtraces {
		for _, e := range b.Exceptions {
			if e.Function != "" && e.Offset != nil && e.Address != "" {
				if a, ok := parseHex(e.Address); ok {
					s.learnStart(e.Function, a, *e.Offset)
				}
			}
		}
		for i := range b.AllFrames {
			f := &b.AllFrames[i]
			if f.Offset != nil {
				s.learnStart(f.Function, f.Address, *f.Offset)
				continue
			}
			if h, ok := s.slots[f.StackAddr]; ok && h.name == f.Function && h.off <= f.Address {
				f.Offset = u64(h.off)
				s.learnStart(f.Function, f.Address, h.off)
			}
		}
	}
	if len(s.starts) == 0 {
		return
	}
	for _, b := range s.sess.Backtraces {
		for i := range b.AllFrames {
			f := &b.AllFrames[i]
			if f.Offset != nil {
				continue
			}
			if start, ok := s.starts[f.Function]; ok && start <= f.Address && f.Address-start < maxDerivedOffset {
				f.Offset = u64(f.Address - start)
			}
		}
		for _, e := range b.Exceptions {
			if e.Function == "" || e.Offset != nil || e.Address == "" {
				continue
			}
			a, ok := parseHex(e.Address)
			if start, known := s.starts[e.Function]; ok && known && start <= a && a-start < maxDerivedOffset {
				e.Offset = u64(a - start)
			}
		}
	}
}

// machinery are the functions crash shows above the point of a crash: kexec,
// panic, the oops and trap handlers, and the NMI path that stops other CPUs.
// Names are compared without compiler suffixes.
var machinery = map[string]bool{
	"machine_kexec": true, "__crash_kexec": true, "crash_kexec": true,
	"native_machine_crash_shutdown": true, "crash_save_cpu": true,
	"panic": true, "vpanic": true, "oops_end": true, "die": true, "__die": true,
	"die_body": true, "do_trap": true, "do_error_trap": true, "do_invalid_op": true,
	"invalid_op": true, "exc_invalid_op": true, "asm_exc_invalid_op": true,
	"handle_bug": true, "report_bug": true, "__warn": true, "warn_slowpath_common": true,
	"warn_slowpath_fmt": true, "warn_slowpath_null": true, "check_panic_on_warn": true,
	"do_general_protection": true, "general_protection": true,
	"exc_general_protection": true, "asm_exc_general_protection": true,
	"no_context": true, "__bad_area_nosemaphore": true, "bad_area_nosemaphore": true,
	"bad_area": true, "page_fault_oops": true, "kernelmode_fixup_or_oops": true,
	"__do_page_fault": true, "do_page_fault": true, "page_fault": true,
	"exc_page_fault": true, "asm_exc_page_fault": true,
	"crash_nmi_callback": true, "nmi_handle": true, "default_do_nmi": true,
	"do_nmi": true, "nmi": true, "end_repeat_nmi": true, "exc_nmi": true,
	"asm_exc_nmi": true, "notifier_call_chain": true, "atomic_notifier_call_chain": true,
	"__atomic_notifier_call_chain": true, "notify_die": true,
}

// baseName strips compiler suffixes (".isra.0", ".cold") and ppc64's leading
// dot, for comparing names.
func baseName(fn string) string {
	fn = strings.TrimPrefix(fn, ".")
	if i := strings.IndexByte(fn, '.'); i > 0 {
		fn = fn[:i]
	}
	return fn
}

// trace builds the contract's frames from a backtrace.
func trace(b *Backtrace) []oops.Frame {
	frames := b.AllFrames
	if e := b.Exception; e != nil {
		frames = frames[e.After+1:]
		if len(frames) > 0 && e.Address != "" && hexString(frames[0].Address) == e.Address {
			// crash repeats the interrupted function as the first frame
			// below an NMI or IRQ exception frame; the RIP is not a caller.
			frames = frames[1:]
		}
	} else {
		i := 0
		for i < len(frames) && machinery[baseName(frames[i].Function)] {
			i++
		}
		frames = frames[i:]
	}
	out := make([]oops.Frame, 0, len(frames))
	for _, f := range frames {
		fr := oops.Frame{Location: oops.Location{Function: f.Function}, Reliable: true}
		if f.Offset != nil {
			fr.Offset = u64(*f.Offset)
		}
		if f.Module != "" {
			m := f.Module
			fr.Module = &m
		}
		a := hexString(f.Address)
		fr.Address = &a
		out = append(out, fr)
	}
	return out
}
