package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Symbolizer names code addresses. The caller chains its sources
// (kallsyms, then module symbols); a miss is ok == false.
type Symbolizer interface {
	Symbol(addr uint64) (name string, off uint64, module string, ok bool)
}

// Stack is one memory range the walk may read: a task's stack
// [base, base+THREAD_SIZE), a CPU's IRQ stack, an exception stack.
type Stack struct {
	Name       string
	Start, End uint64
}

// Method says how a frame was found.
type Method int

const (
	// MethodRegs is the first frame, from the given registers.
	MethodRegs Method = iota
	// MethodORC is a frame found by ORC.
	MethodORC
	// MethodFP is a frame found by following RBP where ORC had no entry.
	MethodFP
	// MethodScan is a return address found by scanning the stack: a guess.
	MethodScan
)

// String names the method.
func (m Method) String() string {
	switch m {
	case MethodRegs:
		return "regs"
	case MethodORC:
		return "orc"
	case MethodFP:
		return "fp"
	case MethodScan:
		return "scan"
	}
	return "method?"
}

// Frame is one stack frame as crash(8)'s bt prints it.
type Frame struct {
	// SP is the address of the stack slot holding IP (crash's [SP]
	// column): the return address slot of a called frame, &regs->ip of an
	// exception frame. For the first frame, which comes from registers
	// rather than memory, it is the register RSP.
	SP uint64
	// IP is the return address (or, for an exception frame and the first
	// frame, the interrupted instruction).
	IP uint64
	// Func, Off and Module name IP. A return address is looked up as IP-1,
	// as the kernel's %pB does, so that a call at the very end of a
	// function names that function; Off is still IP's offset.
	Func   string
	Off    uint64
	Module string
	// Reliable says ORC found this frame from the one before (or it is the
	// first frame, from the registers). Frame-pointer and stack-scan
	// guesses are not reliable; ORC frames after a guess are reliable
	// steps from it, and Trace.Guessed says the walk took one.
	Reliable bool
	Method   Method
	// Regs is non-nil on an exception frame: the pt_regs the entry code
	// saved (only RIP, CS, EFLAGS, RSP, SS for a partial, IRET-only frame),
	// under dump.PRStatus's register names. Print it as crash's
	// "[exception RIP: Func+Off]" block.
	Regs map[string]uint64
}

// Trace is the result of one walk.
type Trace struct {
	Frames []Frame
	// User holds the user-mode pt_regs the walk ended at (a syscall or an
	// interrupt from user space), nil otherwise.
	User map[string]uint64
	// Guessed is true when the walk went through a guessed frame (no ORC
	// data: frame pointers or a stack scan) and resumed from it.
	Guessed bool
	// Complete is true when the walk reached a recognised end: user-mode
	// registers or an ORC END_OF_STACK entry.
	Complete bool
	// Stop says why the walk ended, with the address involved.
	Stop string
	// Err is the error that ended the walk when it was not the stack's
	// own doing: a module's ORC table that cannot be read or decoded (a
	// *TableError). Nil otherwise.
	Err error
}

// Options bound and shape one walk.
type Options struct {
	// Stacks are the only memory the walk reads as stack; every read is
	// checked against them. The walk may leave a stack for another (an IRQ
	// stack for the task stack) once per stack.
	Stacks []Stack
	// MaxFrames caps the frames (DefaultMaxFrames when 0).
	MaxFrames int
	// ReturnAddress says RIP is a return address, not an interrupted
	// instruction: a switched-out task's (see SwitchedOut), except a task
	// that never ran, whose RIP is ret_from_fork itself. It is then looked
	// up and named at RIP-1, as the kernel's __unwind_start does.
	ReturnAddress bool
	// Guesses interleaves, as the kernel's own "Call Trace" does with
	// "?", every other text address found on the walked stacks that
	// follows a call instruction, as unreliable MethodScan frames.
	Guesses bool
}

// DefaultMaxFrames caps a walk when Options.MaxFrames is 0.
const DefaultMaxFrames = 256

// Unwinder walks stacks of one kernel.
type Unwinder struct {
	mem Memory
	orc *ORC
	sym Symbolizer
}

// New returns an unwinder reading mem, with ORC tables orc and symbols
// from sym (which may be nil: frames are then unnamed).
func New(mem Memory, orc *ORC, sym Symbolizer) *Unwinder {
	return &Unwinder{mem: mem, orc: orc, sym: sym}
}

// ptRegsNames is struct pt_regs on x86_64 (168 bytes), in the register
// names of dump.PRStatus.
var ptRegsNames = [...]string{
	"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8",
	"RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "EFLAGS",
	"RSP", "SS",
}

const (
	ptRegsSize  = 8 * len(ptRegsNames)
	iretOffset  = 16 * 8 // offsetof(struct pt_regs, ip)
	iretSize    = 5 * 8
	regIndexIP  = 16
	regIndexCS  = 17
	regIndexSP  = 19
	regIndexBP  = 4
	regIndexR10 = 7
	regIndexR13 = 2
	regIndexDX  = 12
	regIndexDI  = 14
)

// regSet is the state's view of a pt_regs: all of it, or only the IRET
// frame.
type regSet struct {
	v    [len(ptRegsNames)]uint64
	full bool
}

func (r *regSet) m() map[string]uint64 {
	out := make(map[string]uint64, len(ptRegsNames))
	for i, n := range ptRegsNames {
		if r.full || i >= regIndexIP {
			out[n] = r.v[i]
		}
	}
	return out
}

// errStop ends a walk with a reason.
type stopError struct{ msg string }

func (e *stopError) Error() string { return e.msg }

func stopf(format string, args ...any) error { return &stopError{fmt.Sprintf(format, args...)} }

// walker is the state of unwind_next_frame.
type walker struct {
	u       *Unwinder
	stacks  []Stack
	visited []bool
	cur     int // index of the stack SP is on
	ip, sp  uint64
	bp      uint64
	bpOK    bool
	regs    *regSet // the current frame's pt_regs, if any
	prev    *regSet // the full pt_regs before a partial one
	signal  bool
	guessed bool
	cache   map[int][]byte // stack contents, read once
	// segs records where the walk entered each stack, for Guesses.
	segs []segment
}

type segment struct {
	stack int
	from  uint64
}

// Unwind walks the stack from a register set named as dump.PRStatus names
// them (RIP, RSP, RBP, and the others when known). It returns an error
// only when the registers lack RIP or RSP or RSP is on none of the given
// stacks; a walk that cannot go on ends with Trace.Stop saying why.
func (u *Unwinder) Unwind(regs map[string]uint64, opt Options) (*Trace, error) {
	rip, ok1 := regs["RIP"]
	rsp, ok2 := regs["RSP"]
	if !ok1 || !ok2 {
		return nil, errors.New("unwind: registers lack RIP or RSP")
	}
	w := &walker{u: u, stacks: opt.Stacks, visited: make([]bool, len(opt.Stacks)), cache: map[int][]byte{}}
	w.cur = w.stackOf(rsp, 8)
	if w.cur < 0 {
		return nil, fmt.Errorf("unwind: RSP %#x is on none of the %d given stacks", rsp, len(opt.Stacks))
	}
	w.visited[w.cur] = true
	w.segs = append(w.segs, segment{w.cur, rsp})
	max := opt.MaxFrames
	if max <= 0 {
		max = DefaultMaxFrames
	}
	w.ip, w.sp = rip, rsp
	w.bp, w.bpOK = regs["RBP"]
	rs := &regSet{full: true}
	for i, n := range ptRegsNames {
		rs.v[i] = regs[n]
	}
	w.regs, w.signal = rs, !opt.ReturnAddress
	if opt.ReturnAddress {
		// A switched-out task has no pt_regs: only the callee-saved
		// registers are known, which ORC never bases SP on.
		w.regs = nil
	}
	tr := &Trace{}
	tr.Frames = append(tr.Frames, u.frame(Frame{SP: rsp, IP: rip, Reliable: true, Method: MethodRegs}, w.signal))
	if cs, ok := regs["CS"]; ok && cs&3 != 0 {
		tr.Frames = nil
		tr.User, tr.Complete, tr.Stop = rs.m(), true, "the registers are user mode"
		return tr, nil
	}
	for {
		if len(tr.Frames) >= max {
			tr.Stop = fmt.Sprintf("stopped after %d frames", max)
			break
		}
		f, user, err := w.next()
		if err != nil {
			var se *stopError
			if errors.As(err, &se) {
				tr.Stop = se.msg
				tr.Complete = se.msg == endOfStack
			} else {
				tr.Stop, tr.Err = err.Error(), err
			}
			break
		}
		if user != nil {
			tr.User, tr.Complete, tr.Stop = user.m(), true, "user-mode registers"
			break
		}
		tr.Frames = append(tr.Frames, u.frame(f, f.Regs != nil && w.signal))
	}
	tr.Guessed = w.guessed
	if opt.Guesses {
		tr.Frames = w.interleave(tr.Frames)
	}
	return tr, nil
}

const endOfStack = "end of stack (ORC END_OF_STACK)"

// inactiveFrameSize is sizeof(struct inactive_task_frame) on x86_64: r15,
// r14, r13, r12, bx, bp, ret_addr, pushed by __switch_to_asm.
const inactiveFrameSize = 7 * 8

// SwitchedOut returns the registers to start a walk of a task that is not
// running on a CPU, from the struct inactive_task_frame __switch_to_asm
// left at its thread.sp: RIP is the frame's return address (walk with
// Options.ReturnAddress unless it is ret_from_fork), RSP is just above the
// frame, RBP and the callee-saved registers are the saved ones.
func SwitchedOut(mem Memory, threadSP uint64) (map[string]uint64, error) {
	var b [inactiveFrameSize]byte
	if n, err := mem.ReadVirt(b[:], threadSP); n < len(b) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("unwind: inactive_task_frame at thread.sp %#x unreadable at %#x: %w", threadSP, threadSP+uint64(n), err)
	}
	regs := map[string]uint64{"RSP": threadSP + inactiveFrameSize}
	for i, n := range []string{"R15", "R14", "R13", "R12", "RBX", "RBP", "RIP"} {
		regs[n] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return regs, nil
}

// frame names f.IP: a return address by IP-1, an interrupted IP as is.
func (u *Unwinder) frame(f Frame, exact bool) Frame {
	if u.sym == nil {
		return f
	}
	a := f.IP
	if !exact && a > 0 {
		a--
	}
	if name, off, mod, ok := u.sym.Symbol(a); ok {
		f.Func, f.Module = name, mod
		f.Off = off + (f.IP - a)
	}
	return f
}

func (w *walker) stackOf(addr uint64, n uint64) int {
	for i, s := range w.stacks {
		if addr >= s.Start && addr+n <= s.End && addr+n > addr {
			return i
		}
	}
	return -1
}

// read reads n bytes of stack at addr, which must lie on one given stack.
func (w *walker) read(addr uint64, n int) ([]byte, error) {
	i := w.stackOf(addr, uint64(n))
	if i < 0 {
		return nil, stopf("stack read of %d bytes at %#x is outside the given stacks", n, addr)
	}
	b, err := w.stackBytes(i)
	if err != nil {
		return nil, err
	}
	off := addr - w.stacks[i].Start
	return b[off : off+uint64(n)], nil
}

// maxStack bounds one stack's size: kernel stacks are 16 KiB (32 KiB
// with KASAN), exception stacks smaller.
const maxStack = 1 << 20

func (w *walker) stackBytes(i int) ([]byte, error) {
	if b, ok := w.cache[i]; ok {
		return b, nil
	}
	s := w.stacks[i]
	if s.End <= s.Start || s.End-s.Start > maxStack {
		return nil, stopf("stack %s [%#x, %#x) is empty or larger than %d bytes", s.Name, s.Start, s.End, maxStack)
	}
	b := make([]byte, s.End-s.Start)
	if n, err := w.u.mem.ReadVirt(b, s.Start); n < len(b) {
		return nil, stopf("stack %s unreadable at %#x: %v", s.Name, s.Start+uint64(n), err)
	}
	w.cache[i] = b
	return b, nil
}

func (w *walker) u64(addr uint64) (uint64, error) {
	b, err := w.read(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// getReg reads a register of the current frame's pt_regs, as get_reg does.
func (w *walker) getReg(i int) (uint64, bool) {
	if w.regs == nil {
		return 0, false
	}
	if w.regs.full || i >= regIndexIP {
		return w.regs.v[i], true
	}
	if w.prev != nil {
		return w.prev.v[i], true
	}
	return 0, false
}

// fpEntry is orc_fp_entry: the frame-pointer guess for code ORC does not
// cover (BPF, generated code).
var fpEntry = Entry{SPReg: RegBP, SPOffset: 16, BPReg: RegPrevSP, BPOffset: -16, Type: TypeCall}

// next is unwind_next_frame: it moves the state to the caller and returns
// the caller's frame, or the user-mode registers that end the walk.
func (w *walker) next() (Frame, *regSet, error) {
	lookup := w.ip
	if !w.signal {
		lookup--
	}
	e, table, ok, err := w.u.orc.Lookup(lookup)
	if err != nil {
		return Frame{}, nil, err
	}
	if ok && e.Type == TypeEndOfStack {
		return Frame{}, nil, stopf(endOfStack)
	}
	if ok && e.Type != TypeUndefined {
		return w.step(e, MethodORC)
	}
	// No ORC data: code objtool skipped (kexec_core.o, whose
	// crash_setup_regs gives every kdump's panic CPU its registers), BPF,
	// or a corrupt IP. Guess with frame pointers, as the kernel does, then
	// by scanning the stack.
	why := fmt.Sprintf("no ORC entry for %#x", w.ip)
	if ok {
		why = fmt.Sprintf("ORC (%s) has no unwind data (UNDEFINED) for %#x", table, w.ip)
	}
	w.guessed = true
	st := *w
	fpF, fpUser, fpErr := w.step(fpEntry, MethodFP)
	fpState := *w
	*w = st
	slot, ra, scanErr := w.scanFind()
	// A frame-pointer step from code that keeps no frame pointer (an ORC
	// kernel's C code) reads the caller's caller's frame and skips the
	// caller; a return address found lower on the stack than the one the
	// frame pointer gives means exactly that, so it wins.
	switch {
	case fpErr == nil && (scanErr != nil || fpF.SP <= slot):
		*w = fpState
		return fpF, fpUser, nil
	case scanErr == nil:
		// BP is kept: it is callee-saved, so unless the skipped code
		// changed it, it is still the caller's.
		w.ip, w.sp, w.regs, w.prev, w.signal = ra, slot+8, nil, nil, false
		return Frame{SP: slot, IP: ra, Method: MethodScan}, nil, nil
	}
	return Frame{}, nil, stopf("%s, no frame pointer chain (%v), and %v", why, fpErr, scanErr)
}

// step applies one ORC entry.
func (w *walker) step(e Entry, method Method) (Frame, *regSet, error) {
	var sp uint64
	indirect := false
	switch e.SPReg {
	case RegSP:
		sp = w.sp + uint64(int64(e.SPOffset))
	case RegBP:
		if !w.bpOK {
			return Frame{}, nil, stopf("BP unknown at %#x", w.ip)
		}
		sp = w.bp + uint64(int64(e.SPOffset))
	case RegSPIndirect:
		sp, indirect = w.sp, true
	case RegBPIndirect:
		if !w.bpOK {
			return Frame{}, nil, stopf("BP unknown at %#x", w.ip)
		}
		sp, indirect = w.bp+uint64(int64(e.SPOffset)), true
	case RegR10, RegR13, RegDI, RegDX:
		idx := map[Reg]int{RegR10: regIndexR10, RegR13: regIndexR13, RegDI: regIndexDI, RegDX: regIndexDX}[e.SPReg]
		v, ok := w.getReg(idx)
		if !ok {
			return Frame{}, nil, stopf("ORC bases SP on %v at %#x, which no saved registers give", e.SPReg, w.ip)
		}
		sp = v
	default:
		return Frame{}, nil, stopf("ORC entry for %#x has SP base %v", w.ip, e.SPReg)
	}
	if indirect {
		v, err := w.u64(sp)
		if err != nil {
			return Frame{}, nil, err
		}
		sp = v
		if e.SPReg == RegSPIndirect {
			sp += uint64(int64(e.SPOffset))
		}
	}
	prevSP, prevStack := w.sp, w.cur
	var f Frame
	switch e.Type {
	case TypeCall:
		slot := sp - 8
		ip, err := w.u64(slot)
		if err != nil {
			return Frame{}, nil, err
		}
		f = Frame{SP: slot, IP: ip, Method: method}
		w.ip, w.sp, w.regs, w.prev, w.signal = ip, sp, nil, nil, false
	case TypeRegs:
		b, err := w.read(sp, ptRegsSize)
		if err != nil {
			return Frame{}, nil, stopf("pt_regs at %#x: %v", sp, err)
		}
		rs := &regSet{full: true}
		for i := range rs.v {
			rs.v[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		if rs.v[regIndexCS]&3 != 0 {
			return Frame{}, rs, nil
		}
		f = Frame{SP: sp + iretOffset, IP: rs.v[regIndexIP], Method: method, Regs: rs.m()}
		// signal says whether regs->ip is the interrupted instruction
		// (looked up as is) or a return address (looked up at IP-1);
		// before 6.3 it was always the former.
		w.ip, w.sp, w.regs, w.prev, w.signal = rs.v[regIndexIP], rs.v[regIndexSP], rs, nil, e.Signal
	case TypeRegsPartial:
		b, err := w.read(sp, iretSize)
		if err != nil {
			return Frame{}, nil, stopf("IRET frame at %#x: %v", sp, err)
		}
		rs := &regSet{}
		for i := 0; i < 5; i++ {
			rs.v[regIndexIP+i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		if rs.v[regIndexCS]&3 != 0 {
			return Frame{}, rs, nil
		}
		f = Frame{SP: sp, IP: rs.v[regIndexIP], Method: method, Regs: rs.m()}
		if w.regs != nil && w.regs.full {
			w.prev = w.regs
		}
		w.ip, w.sp, w.regs, w.signal = rs.v[regIndexIP], rs.v[regIndexSP], rs, e.Signal
	default:
		return Frame{}, nil, stopf("ORC entry for %#x has type %v", w.ip, e.Type)
	}
	// Find BP.
	switch e.BPReg {
	case RegUndefined:
		if v, ok := w.getReg(regIndexBP); ok {
			w.bp, w.bpOK = v, true
		}
	case RegPrevSP:
		v, err := w.u64(sp + uint64(int64(e.BPOffset)))
		if err != nil {
			return Frame{}, nil, err
		}
		w.bp, w.bpOK = v, true
	case RegBP:
		if !w.bpOK {
			return Frame{}, nil, stopf("BP unknown at %#x", f.IP)
		}
		v, err := w.u64(w.bp + uint64(int64(e.BPOffset)))
		if err != nil {
			return Frame{}, nil, err
		}
		w.bp = v
	default:
		return Frame{}, nil, stopf("ORC entry has BP base %v", e.BPReg)
	}
	// The new SP must be on a given stack and, on the same stack, above
	// the old one; each other stack may be entered once. This is what
	// keeps a corrupt stack from looping.
	cur := w.stackOf(w.sp, 8)
	switch {
	case cur < 0:
		return Frame{}, nil, stopf("SP %#x after %#x is outside the given stacks", w.sp, f.IP)
	case cur == prevStack && w.sp <= prevSP:
		return Frame{}, nil, stopf("SP went from %#x to %#x at %#x: the stack goes the wrong way", prevSP, w.sp, f.IP)
	case cur != prevStack && w.visited[cur]:
		return Frame{}, nil, stopf("SP %#x returns to stack %s already walked", w.sp, w.stacks[cur].Name)
	case cur != prevStack:
		w.visited[cur] = true
		w.segs = append(w.segs, segment{cur, w.sp})
	}
	w.cur = cur
	if f.IP == 0 {
		return Frame{}, nil, stopf("return address 0 at %#x", f.SP)
	}
	switch {
	case method == MethodFP && !w.u.returnAddress(f.IP):
		return Frame{}, nil, stopf("frame pointer gives %#x, not a return address in kernel text", f.IP)
	case !w.u.orc.Text(f.IP) && !w.u.named(f.IP):
		return Frame{}, nil, stopf("ORC gives %#x (from %#x), which is neither kernel text nor a known symbol", f.IP, f.SP)
	}
	f.Reliable = method == MethodORC
	return f, nil, nil
}

// named reports whether the symbolizer knows addr (code outside the ORC
// tables' text, such as BPF programs, may still be named).
func (u *Unwinder) named(addr uint64) bool {
	if u.sym == nil {
		return false
	}
	_, _, _, ok := u.sym.Symbol(addr)
	return ok
}

// scanFind looks upward from SP, on the current stack, for a word that is
// a kernel text address right after a call instruction.
func (w *walker) scanFind() (slot, ra uint64, err error) {
	s := w.stacks[w.cur]
	b, err := w.stackBytes(w.cur)
	if err != nil {
		return 0, 0, err
	}
	for a := (w.sp + 7) &^ 7; a+8 <= s.End; a += 8 {
		v := binary.LittleEndian.Uint64(b[a-s.Start:])
		if w.u.returnAddress(v) {
			return a, v, nil
		}
	}
	return 0, 0, fmt.Errorf("no return address on stack %s above %#x", s.Name, w.sp)
}

// returnAddress reports whether v is kernel text that follows a call
// instruction: e8 rel32, or ff /2 (call r/m64) in its register, [reg],
// [reg+disp8], [reg+disp32], [rip+disp32] and SIB forms, with or without a
// REX prefix (which the check needs not see: it sits before the opcode).
func (u *Unwinder) returnAddress(v uint64) bool {
	if v < 8 || !u.orc.Text(v) || u.sym != nil && !u.named(v) {
		return false
	}
	var b [8]byte
	if n, _ := u.mem.ReadVirt(b[:], v-8); n < len(b) {
		return false
	}
	// b[7] is the byte before v, b[8-k] the first of a k-byte instruction.
	if b[3] == 0xe8 { // call rel32
		return true
	}
	isCall := func(op, modrm byte, wantMod byte) bool {
		return op == 0xff && modrm>>3&7 == 2 && modrm>>6 == wantMod
	}
	switch {
	case isCall(b[6], b[7], 3): // ff d0+r: call *%reg
		return true
	case isCall(b[6], b[7], 0) && b[7]&7 != 4 && b[7]&7 != 5: // call *(%reg)
		return true
	case isCall(b[5], b[6], 1) && b[6]&7 != 4: // call *disp8(%reg)
		return true
	case isCall(b[5], b[6], 0) && b[6]&7 == 4 && b[7]&7 != 5: // call *(sib)
		return true
	case isCall(b[4], b[5], 1) && b[5]&7 == 4: // call *disp8(sib)
		return true
	case isCall(b[2], b[3], 2) && b[3]&7 != 4: // call *disp32(%reg)
		return true
	case isCall(b[2], b[3], 0) && b[3]&7 == 5: // call *disp32(%rip)
		return true
	case isCall(b[1], b[2], 2) && b[2]&7 == 4: // call *disp32(sib)
		return true
	}
	return false
}

// interleave adds, as the kernel's show_trace_log_lvl prints them with
// "?", the return-address-looking words of each walked stack that the
// walk did not use, from where the walk entered that stack to its end.
func (w *walker) interleave(frames []Frame) []Frame {
	used := make(map[uint64]bool, len(frames))
	for _, f := range frames[1:] {
		used[f.SP] = true
	}
	var guesses [][]Frame
	for _, sg := range w.segs {
		s := w.stacks[sg.stack]
		b, err := w.stackBytes(sg.stack)
		var gs []Frame
		if err == nil {
			for a := (sg.from + 7) &^ 7; a+8 <= s.End; a += 8 {
				v := binary.LittleEndian.Uint64(b[a-s.Start:])
				if used[a] || !w.u.returnAddress(v) {
					continue
				}
				gs = append(gs, w.u.frame(Frame{SP: a, IP: v, Method: MethodScan}, false))
			}
		}
		guesses = append(guesses, gs)
	}
	out := make([]Frame, 0, len(frames)+8)
	seg := 0
	flush := func(upTo uint64, all bool) {
		gs := guesses[seg]
		for len(gs) > 0 && (all || gs[0].SP < upTo) {
			out = append(out, gs[0])
			gs = gs[1:]
		}
		guesses[seg] = gs
	}
	for i, f := range frames {
		if i > 0 {
			// Which segment is this frame's slot in? Move forward only.
			for seg+1 < len(w.segs) && w.stackOf(f.SP, 8) == w.segs[seg+1].stack && w.stackOf(f.SP, 8) != w.segs[seg].stack {
				flush(0, true)
				seg++
			}
			if w.stackOf(f.SP, 8) == w.segs[seg].stack {
				flush(f.SP, false)
			}
		}
		out = append(out, f)
	}
	for ; seg < len(w.segs); seg++ {
		flush(0, true)
	}
	return out
}
