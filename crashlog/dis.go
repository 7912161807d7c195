package crashlog

import "strings"

// MaxInsns is the most `dis` instructions a Session keeps.
const MaxInsns = 32768

// maxInsnLen bounds how far past an instruction's start an address may lie
// and still be inside it (x86's longest instruction is 15 bytes).
const maxInsnLen = 15

// Insn is one instruction of `dis` output. Authors paste `dis -l` to show
// which source line a return address or a faulting RIP is on, and which
// register held an argument; Disasm keeps that.
type Insn struct {
	// Addr is the instruction's address.
	Addr uint64
	// Function and Offset are from "<skb_checksum_help+113>"; Function is
	// "" for gdb's "<+113>".
	Function string
	Offset   uint64
	// Text is the instruction as printed ("cmp    %eax,%r12d"), without
	// the remarks an author typed after it.
	Text string
	// SourceFile and SourceLine are from the `dis -l` source line above
	// the instruction; "" and 0 when none was printed.
	SourceFile string
	SourceLine int
	// Line is the document line.
	Line int
}

// DisSource returns the source line `dis -l` output in the document gives
// for addr: that of the listed instruction starting at addr, or else of
// the listed instruction addr lies within (at most 15 bytes past it, with
// no listed instruction between). For a return address pass addr-1 to get
// the call's line.
func (s *Session) DisSource(addr uint64) (file string, line int, ok bool) {
	var best *Insn
	for i := range s.Disasm {
		in := &s.Disasm[i]
		if in.Addr == addr && in.SourceFile != "" {
			return in.SourceFile, in.SourceLine, true
		}
		if in.Addr <= addr && addr-in.Addr <= maxInsnLen && (best == nil || in.Addr > best.Addr) {
			best = in
		}
	}
	if best == nil || best.SourceFile == "" {
		return "", 0, false
	}
	for i := range s.Disasm {
		if a := s.Disasm[i].Addr; a > best.Addr && a <= addr {
			return "", 0, false // addr is in a later instruction
		}
	}
	return best.SourceFile, best.SourceLine, true
}

// disParser reads `dis` instruction lines and the `dis -l` source lines
// above them. It consumes instruction lines (nothing else prints them) but
// not source lines, which `bt -l` prints too.
type disParser struct {
	file  string
	fline int
	last  int // document line of the last dis line seen; 0 for none
	insns []Insn
	drop  int
}

func (p *disParser) prompt(int, string) { p.file, p.fline, p.last = "", 0, 0 }

func (p *disParser) line(lineno int, t string, cmd string) bool {
	if lineno-p.last > 2 {
		p.file, p.fline = "", 0
	}
	if path, n, ok := parseSource(t); ok {
		p.file, p.fline, p.last = strings.Clone(path), n, lineno
		return false
	}
	in, ok := Insn{}, false
	if t[0] == '0' || t[0] == '=' {
		in, ok = parseInsn(t)
	}
	if !ok {
		p.file, p.fline, p.last = "", 0, 0
		return false
	}
	p.last = lineno
	if len(p.insns) >= MaxInsns {
		p.drop++
		return true
	}
	in.SourceFile, in.SourceLine, in.Line = p.file, p.fline, lineno
	p.insns = append(p.insns, in)
	return true
}

// parseInsn recognises "0xffffffff8145d5f1 <skb_checksum_help+113>: cmp
// %eax,%r12d", gdb's "=> 0x... <+113>:" form, and strips an author's
// remark ("<--- so %rbx…", "< 6th push").
func parseInsn(t string) (Insn, bool) {
	var in Insn
	t = strings.TrimPrefix(t, "=>")
	t = trimSpace(t)
	if !strings.HasPrefix(t, "0x") {
		return in, false
	}
	a, rest := nextField(t[2:])
	addr, ok := parseHex(a)
	if !ok || !strings.HasPrefix(rest, "<") {
		return in, false
	}
	j := strings.Index(rest, ">:")
	if j < 1 {
		return in, false
	}
	sym := rest[1:j]
	if strings.HasPrefix(sym, "+") {
		off, ok := parseOffset(sym[1:])
		if !ok {
			return in, false
		}
		in.Offset = off
	} else {
		name, off, ok := splitSymOffset(sym)
		if !ok {
			return in, false
		}
		in.Function = strings.Clone(name)
		if off != nil {
			in.Offset = *off
		}
	}
	in.Addr = addr
	text := rest[j+2:]
	for k := 0; k < len(text); k++ {
		if text[k] == '<' && isRemark(text, k) {
			text = text[:k]
			break
		}
	}
	in.Text = strings.Clone(trimSpace(text))
	return in, true
}

func (p *disParser) finish(sess *Session) {
	sess.Disasm = append(sess.Disasm, p.insns...)
	sess.DroppedOutput += p.drop
}
