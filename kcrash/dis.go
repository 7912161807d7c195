package kcrash

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Bounds on one dis.
const (
	maxDisInsns = 4096
	// maxInsnLen is x86's longest instruction.
	maxInsnLen = 15
)

// DisResult is `dis`: instructions from an address.
type DisResult struct {
	Insns []Insn `json:"insns"`
	Note  string `json:"note,omitempty"`
}

// Insn is one instruction.
type Insn struct {
	Addr Addr `json:"addr"`
	// Symbol is "__skb_checksum+760".
	Symbol string `json:"symbol"`
	Bytes  string `json:"bytes"`
	// Text is AT&T syntax, as gdb prints it ("ud2", "mov    %rax,%rbx").
	Text string `json:"text"`
}

// WriteText implements Result.
func (r *DisResult) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, in := range r.Insns {
		fmt.Fprintf(&b, "0x%x <%s>:\t%s\n", uint64(in.Addr), in.Symbol, in.Text)
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// symOff is "name+off", "name" at off 0, "" when unknown.
func (s *Session) symOff(addr uint64) string {
	e, ok := s.symbolize(addr)
	if !ok {
		return ""
	}
	if e.Offset == 0 {
		return e.Name
	}
	return fmt.Sprintf("%s+%d", e.Name, e.Offset)
}

func runDis(s *Session, c *Call) (Result, error) {
	arg := c.Args[0]
	start, err := s.addr(arg)
	if err != nil {
		return nil, err
	}
	fn, ok := s.symbolize(start)
	// A bare symbol name disassembles the whole function, as crash does;
	// an address one instruction; a count that many.
	n := 1
	whole := ok && fn.Offset == 0 && fn.Name == arg
	if whole {
		n = maxDisInsns
	}
	r := &DisResult{}
	if len(c.Args) > 1 {
		k, err := count(c.Args[1])
		if err != nil {
			return nil, err
		}
		if k > maxDisInsns {
			r.Note = fmt.Sprintf("(%d of %d instructions shown: the limit is %d)", maxDisInsns, k, maxDisInsns)
			k = maxDisInsns
		}
		n, whole = int(k), false
	}
	if c.Has("-r") {
		// Reverse: from the function's start up to and including addr.
		if !ok {
			return nil, fmt.Errorf("%#x: no symbol, so no function start to disassemble from", start)
		}
		end := start
		start -= fn.Offset
		ins, err := s.disasm(start, maxDisInsns, func(a uint64, _ string) bool { return a > end })
		r.Insns = ins
		return r, err
	}
	var stop func(uint64, string) bool
	if whole {
		stop = func(a uint64, sym string) bool { return a != start && !strings.HasPrefix(sym, fn.Name+"+") }
	}
	ins, err := s.disasm(start, n, stop)
	r.Insns = ins
	if c.Has("-l") {
		r.Note = "(no source lines: the dump carries no line tables; pass --vmlinux once DWARF is read)"
	}
	if len(ins) == 0 && err != nil {
		return nil, err
	}
	return r, err
}

// disasm decodes up to n instructions from addr, stopping before the
// first instruction stop says is past the end.
func (s *Session) disasm(addr uint64, n int, stop func(a uint64, sym string) bool) ([]Insn, error) {
	var out []Insn
	buf := make([]byte, 0, 4096)
	bufAt := addr
	pc := addr
	for len(out) < n {
		if pc-bufAt+maxInsnLen > uint64(len(buf)) {
			// Refill from pc: up to the page end, and the next page when
			// an instruction may cross into it.
			bufAt = pc
			chunk := make([]byte, 4096-pc%4096)
			if err := s.v.Read(chunk, pc); err != nil {
				return out, fmt.Errorf("reading code at %#x: %w", pc, err)
			}
			next := make([]byte, maxInsnLen)
			if s.v.Read(next, pc+uint64(len(chunk))) == nil {
				chunk = append(chunk, next...)
			}
			buf = chunk
		}
		code := buf[pc-bufAt:]
		sym := s.symOff(pc)
		if stop != nil && stop(pc, sym) {
			break
		}
		inst, err := x86asm.Decode(code, 64)
		text := ""
		size := inst.Len
		if err != nil || size == 0 {
			text, size = fmt.Sprintf("(bad)  .byte 0x%02x", code[0]), 1
		} else {
			text = s.gnu(inst, pc)
		}
		out = append(out, Insn{Addr: Addr(pc), Symbol: sym, Bytes: fmt.Sprintf("% x", code[:size]), Text: text})
		pc += uint64(size)
	}
	return out, nil
}

// gnu renders an instruction in AT&T syntax as gdb does: the mnemonic
// padded to six columns, and a call or jump target named
// "0xffffffff92d8e0b0 <__skb_checksum>".
func (s *Session) gnu(inst x86asm.Inst, pc uint64) string {
	text := x86asm.GNUSyntax(inst, pc, nil)
	op, args, hasArgs := strings.Cut(text, " ")
	// Prefixes ("lock", "rep") stay with their mnemonic.
	for hasArgs && isPrefix(op) {
		var rest string
		rest, args, hasArgs = strings.Cut(args, " ")
		op += " " + rest
	}
	if g, ok := gdbMnemonic[op]; ok && !(strings.HasPrefix(op, "push") || strings.HasPrefix(op, "pop")) || ok && strings.HasPrefix(args, "%") {
		op = g
	}
	if inst.DataSize == 64 || inst.MemBytes == 8 {
		// gdb shows a sign-extended immediate as the 64-bit value.
		args = negImm.ReplaceAllStringFunc(args, func(m string) string {
			n, err := strconv.ParseUint(m[4:], 16, 64)
			if err != nil {
				return m
			}
			return fmt.Sprintf("$%#x", -n)
		})
	}
	for _, a := range inst.Args {
		rel, ok := a.(x86asm.Rel)
		if !ok {
			continue
		}
		target := pc + uint64(inst.Len) + uint64(rel)
		hex := fmt.Sprintf("%#x", target)
		if name := s.symOff(target); name != "" && strings.HasSuffix(args, hex) {
			args += " <" + name + ">"
		}
	}
	if !hasArgs {
		return op
	}
	return fmt.Sprintf("%-6s %s", op, args)
}

// gdbMnemonic drops the operand-size suffix that x86asm writes and gdb
// (binutils 2.31 and later) does not.
var gdbMnemonic = map[string]string{"callq": "call", "retq": "ret", "jmpq": "jmp", "pushq": "push", "popq": "pop", "leaveq": "leave"}

var negImm = regexp.MustCompile(`\$-0x[0-9a-f]+`)

func isPrefix(op string) bool {
	switch op {
	case "lock", "rep", "repz", "repnz", "repe", "repne", "data16", "addr32", "cs", "ds", "es", "fs", "gs", "ss", "notrack", "bnd":
		return true
	}
	return false
}
