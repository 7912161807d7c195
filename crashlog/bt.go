package crashlog

import (
	"strings"

	"github.com/ktriage/ktriage/oops"
)

// Limits that keep a backtrace's memory bounded whatever the input.
const (
	// MaxFrames is the most frames kept per backtrace; crash itself stops
	// far below it on any real stack.
	MaxFrames = 256
	// MaxWordsPerFrame bounds the `bt -f`/`bt -F` stack words kept per
	// frame: enough for any real frame, not for a runaway paste.
	MaxWordsPerFrame = 256
	// MaxWords bounds the stack words kept per backtrace.
	MaxWords = 4096
	// MaxExceptions bounds the exception frames kept per backtrace.
	MaxExceptions = 16
	maxRegs       = 48
	// wordWindow is how far from its frame a `bt -f` word line may lie
	// and still be part of that frame (kernel stacks are 8-16 KiB; a
	// line far off is `rd` output pasted after the bt).
	wordWindow = 64 << 10
)

// Span locates a block in the document: 1-based, inclusive line numbers, as
// the caller numbered the lines it fed.
type Span struct {
	Start int
	End   int
}

// Backtrace is one task's crash(8) `bt` output. AllFrames keeps what crash
// printed; Trace is the part a diagnosis looks at.
type Backtrace struct {
	// PID, Task, CPU and Command come from the header line; they are nil
	// or "" when the paste lost the header.
	PID     *int
	Task    string
	CPU     *int
	Command string
	// AllFrames is every "#N" frame in order, crash machinery included.
	AllFrames []StackFrame
	// Exception is the first "[exception RIP: …]" frame: where the CPU
	// was when the crash began. Nil when the bt has none (a sleeping
	// task, a direct panic()).
	Exception *Exception
	// Exceptions lists every exception frame in order, the first being
	// Exception (later ones are interrupted contexts further down).
	Exceptions []*Exception
	// Trace is the call trace as the JSON contract's `frames` wants it:
	// the frames below the first exception frame (the crash machinery
	// above it dropped, the exception RIP not repeated); without an
	// exception frame, all frames but a leading run of panic/kexec
	// machinery. It is filled in by Finish, when offsets learnt from the
	// rest of the document are known.
	Trace []oops.Frame
	// Truncated is set when frames, words or exceptions were dropped to
	// stay within the limits above.
	Truncated bool
	// Span is where the bt is in the document, header to last frame
	// detail.
	Span Span

	words int // stack words kept, for MaxWords
}

// StackFrame is one "#N [stack] function at address [module]" line with the
// lines crash prints under it.
type StackFrame struct {
	// Index is N in "#N".
	Index int
	// StackAddr is the stack slot crash found the return address in.
	StackAddr uint64
	// Function is the symbol without offset or compiler-suffix changes.
	Function string
	// Offset is the offset into Function: printed by `bt -s`, or learnt
	// from elsewhere in the document (a `bt -F` word in this frame's slot,
	// `dis` or `sym` output giving the function's start). Nil when unknown.
	Offset *uint64
	// Address is the code address crash printed after "at".
	Address uint64
	// Module is the "[module]" suffix, "" for the core kernel.
	Module string
	// SourceFile and SourceLine come from `bt -l`.
	SourceFile string
	SourceLine int
	// Separator is the stack crash says it switched to just above this
	// frame: "IRQ stack" for "--- <IRQ stack> ---".
	Separator string
	// Regs is a register block printed after this frame without an
	// "[exception RIP:]" line: the user-mode registers at a system call
	// entry. Nil when none.
	Regs map[string]uint64
	// Words are the `bt -f`/`bt -F` stack words printed after this frame,
	// as printed ("ffff880fe9624868", "[size-8192]", "skb_checksum_help+138").
	Words []string
	// Line is the document line of the frame.
	Line int
}

// Exception is an "[exception RIP: …]" frame with its register block.
type Exception struct {
	// Function is "" when crash printed "unknown or invalid address".
	Function string
	// Offset is the offset crash printed (decimal, or hex in radix 16); nil
	// when it printed none.
	Offset *uint64
	// Module is set if crash printed a "[module]" suffix.
	Module string
	// Address is the RIP register in hex without 0x; "" when no RIP line
	// followed.
	Address string
	// Regs holds the registers printed after the line, by the name crash
	// gave them (RIP, RSP, RFLAGS, RAX … R15, ORIG_RAX, CS, SS).
	Regs map[string]uint64
	// After is the index in AllFrames of the frame printed above the
	// exception; -1 when none was (a paste starting at the exception).
	After int
	// SourceFile and SourceLine come from `bt -l`, when printed.
	SourceFile string
	SourceLine int
	// Line is the document line of the "[exception RIP:" line.
	Line int
}

// Location returns the exception RIP the way the JSON contract's `rip`
// holds it, so triage can fill a report from a bt alone.
func (e *Exception) Location() oops.Location {
	loc := oops.Location{Function: e.Function, Offset: e.Offset}
	if e.Module != "" {
		m := e.Module
		loc.Module = &m
	}
	if e.Address != "" {
		a := e.Address
		loc.Address = &a
	}
	return loc
}

// Key identifies the stack a backtrace shows: the task and its frames'
// stack addresses. The same bt pasted twice has the same key, so triage can
// count it as one crash; a different task or a different unwind does not.
func (b *Backtrace) Key() string {
	var sb strings.Builder
	sb.Grow(len(b.Task) + 1 + 17*len(b.AllFrames))
	sb.WriteString(b.Task)
	sb.WriteByte('|')
	for i, f := range b.AllFrames {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(hexString(f.StackAddr))
	}
	if len(b.AllFrames) == 0 && b.Exception != nil {
		sb.WriteString("rip=")
		sb.WriteString(b.Exception.Address)
	}
	return sb.String()
}

// ---- line parsers ----

// btHeader is a parsed `PID: 0  TASK: ffff…  CPU: 0  COMMAND: "swapper"` line.
type btHeader struct {
	pid     *int
	task    string
	cpu     *int
	command string
}

// parseHeader recognises a bt task header. It insists on PID: first and on
// TASK: or COMMAND: after it, which tells it from the `sys` PID line.
func parseHeader(t string) (btHeader, bool) {
	var h btHeader
	if !strings.HasPrefix(t, "PID:") {
		return h, false
	}
	rest := t[len("PID:"):]
	f, rest := nextField(rest)
	if n, ok := parseDec(f); ok {
		h.pid = &n
	} else {
		return h, false
	}
	found := false
	for rest != "" {
		var k string
		k, rest = nextField(rest)
		switch k {
		case "TASK:":
			f, rest = nextField(rest)
			if _, ok := parseHex(f); ok {
				h.task = strings.ToLower(f)
				found = true
			}
		case "CPU:":
			f, rest = nextField(rest)
			if n, ok := parseDec(f); ok {
				h.cpu = &n
			}
		case "COMMAND:":
			h.command = unquote(rest)
			rest = ""
			found = true
		}
	}
	return h, found
}

// parseFrame recognises " #7 [ffff880061a03538] skb_checksum_help at
// ffffffff8145d60a [module]", with `bt -s` offsets, "(via …)" notes, the
// " *" mark and trailing annotations a paste may add.
func parseFrame(t string) (StackFrame, bool) {
	var f StackFrame
	// A paste rendered as markdown may lose the '#' ("0 [ffffbd13003e8d30]
	// machine_kexec at ffffffff8ceaf3eb"): the frame's number, its stack
	// slot in brackets and "at" still tell a frame.
	if len(t) > 0 && isDigit(t[0]) {
		t = "#" + t
	}
	if len(t) < 2 || t[0] != '#' || !isDigit(t[1]) {
		return f, false
	}
	i := 1
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	idx, ok := parseDec(t[1:i])
	if !ok {
		return f, false
	}
	rest := strings.TrimLeft(t[i:], " \t")
	if len(rest) < 3 || rest[0] != '[' {
		return f, false
	}
	j := strings.IndexByte(rest, ']')
	if j < 2 {
		return f, false
	}
	sp, ok := parseHex(rest[1:j])
	if !ok {
		return f, false
	}
	rest = rest[j+1:]
	name, rest := nextField(rest)
	fn, off, ok := splitSymOffset(name)
	if !ok {
		return f, false
	}
	// Up to "at": skip "(via x)" notes.
	var addr uint64
	haveAddr := false
	for rest != "" {
		var tok string
		tok, rest = nextField(rest)
		if tok == "at" {
			a, r := nextField(rest)
			if v, ok := parseHex(a); ok {
				addr, haveAddr, rest = v, true, r
			}
			break
		}
		if strings.HasPrefix(tok, "(") || strings.HasSuffix(tok, ")") {
			continue
		}
		return f, false
	}
	if !haveAddr {
		return f, false
	}
	// After the address: "(via x)", "[module]", "*", or annotations.
	for rest != "" {
		var tok string
		tok, rest = nextField(rest)
		if len(tok) > 2 && tok[0] == '[' && tok[len(tok)-1] == ']' {
			if m := tok[1 : len(tok)-1]; isModuleName(m) {
				f.Module = m
			}
			break
		}
		if tok == "*" || strings.HasPrefix(tok, "(") || strings.HasSuffix(tok, ")") {
			continue
		}
		break
	}
	f.Index, f.StackAddr, f.Function, f.Offset, f.Address = idx, sp, fn, off, addr
	return f, true
}

func isModuleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

const exceptionPrefix = "[exception RIP:"

// parseException recognises "[exception RIP: skb_checksum+725]", its hex
// form, "unknown or invalid address", and an optional "[module]".
func parseException(t string) (Exception, bool) {
	e := Exception{After: -1}
	if !strings.HasPrefix(t, exceptionPrefix) || t[len(t)-1] != ']' {
		return e, false
	}
	in := trimSpace(t[len(exceptionPrefix) : len(t)-1])
	if strings.HasPrefix(in, "unknown") {
		return e, true
	}
	if k := strings.LastIndex(in, " ["); k > 0 && strings.HasSuffix(in, "]") {
		if m := in[k+2 : len(in)-1]; isModuleName(m) {
			e.Module = m
		}
		in = trimSpace(in[:k])
	}
	fn, off, ok := splitSymOffset(in)
	if !ok {
		return e, false
	}
	e.Function, e.Offset = fn, off
	return e, true
}

// knownRegs are the register names a register line may start with.
var knownRegs = map[string]bool{
	"RIP": true, "RSP": true, "RFLAGS": true, "RAX": true, "RBX": true, "RCX": true,
	"RDX": true, "RSI": true, "RDI": true, "RBP": true, "R8": true, "R9": true,
	"R10": true, "R11": true, "R12": true, "R13": true, "R14": true, "R15": true,
	"ORIG_RAX": true, "CS": true, "SS": true, "DS": true, "ES": true, "FS": true, "GS": true,
	"EIP": true, "ESP": true, "EFLAGS": true, "EAX": true, "EBX": true, "ECX": true,
	"EDX": true, "ESI": true, "EDI": true, "EBP": true, "ORIG_EAX": true,
}

// parseRegs recognises a register line "RBP: ffff880061a03530   R8: ffff…"
// and calls set for each pair. The line must start with a known register and
// be pairs up to its end or up to a remark a paste added ("<--- skb").
func parseRegs(t string, set func(name string, v uint64)) bool {
	if len(t) < 4 || !isUpper(t[0]) {
		return false
	}
	// Validate first, so that a half-matching line sets nothing.
	n, end := 0, t
	for rest := t; rest != ""; {
		k, r := nextField(rest)
		v, r := nextField(r)
		_, hexOK := parseHex(v)
		if hexOK && len(k) >= 2 {
			if w := regWidth(k[:len(k)-1]); w != 0 && len(v) != w {
				hexOK = false // cut short by a truncated paste
			}
		}
		if len(k) < 2 || k[len(k)-1] != ':' || !isRegName(k[:len(k)-1]) || !hexOK {
			if n == 0 {
				return false
			}
			end = t[:len(t)-len(rest)]
			break
		}
		if n == 0 && !knownRegs[k[:len(k)-1]] {
			return false
		}
		n++
		rest = r
	}
	for rest := end; rest != ""; {
		var k, v string
		k, rest = nextField(rest)
		v, rest = nextField(rest)
		x, _ := parseHex(v)
		set(k[:len(k)-1], x)
	}
	return true
}

// regWidth is how many hex digits crash prints for a register (x86_64
// %016lx, RFLAGS and i386 registers %08lx, segments %04x); 0 for names it does
// not know.
func regWidth(name string) int {
	switch {
	case !knownRegs[name]:
		return 0
	case len(name) == 2 && name[1] == 'S':
		return 4
	case name == "RFLAGS" || name[0] == 'E' || name == "ORIG_EAX":
		return 8
	default:
		return 16
	}
}

func isRegName(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isUpper(c) || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// parseSeparator recognises "--- <IRQ stack> ---" and returns "IRQ stack".
func parseSeparator(t string) (string, bool) {
	if !strings.HasPrefix(t, "---") || !strings.HasSuffix(t, "---") || len(t) < 8 {
		return "", false
	}
	in := trimSpace(t[3 : len(t)-3])
	if len(in) < 2 || in[0] != '<' || in[len(in)-1] != '>' {
		return "", false
	}
	return trimSpace(in[1 : len(in)-1]), true
}

// parseSource recognises a `bt -l` line "/usr/src/debug/…/net/core/dev.c: 1951".
func parseSource(t string) (string, int, bool) {
	// A path has no spaces: the line's first space follows its colon. This
	// rejects almost every line before any scan of it.
	sp := strings.IndexByte(t, ' ')
	if sp < 1 || t[sp-1] != ':' || t[len(t)-1] < '0' || t[len(t)-1] > '9' {
		return "", 0, false
	}
	i := strings.LastIndex(t, ": ")
	if i <= 0 {
		return "", 0, false
	}
	path := t[:i]
	n, ok := parseDec(trimSpace(t[i+2:]))
	if !ok || strings.ContainsAny(path, " \t") {
		return "", 0, false
	}
	if !strings.Contains(path, "/") && !strings.HasSuffix(path, ".c") && !strings.HasSuffix(path, ".h") && !strings.HasSuffix(path, ".S") {
		return "", 0, false
	}
	return path, n, true
}

// parseWords recognises a `bt -f`/`bt -F` (or `rd`) line
// "ffff880061a03508: [skbuff_fclone_cache] 0000000000000022" and returns the
// address and the rest of the line.
func parseWords(t string) (uint64, string, bool) {
	i := strings.IndexByte(t, ':')
	if i < 8 || i > 16 {
		return 0, "", false
	}
	a, ok := parseHex(t[:i])
	if !ok {
		return 0, "", false
	}
	rest := trimSpace(t[i+1:])
	if rest == "" {
		return 0, "", false
	}
	return a, rest, true
}
