package oops

import (
	"strconv"
	"strings"
)

// frameRe matches a trace entry of every architecture's printk format:
//
//	x86 >= 4.x:   " ? func+0x1a/0x20 [mod]"   (optionally "file.c:12" after)
//	x86 older:    " [<ffffffff8146c0ec>] ? skb_put+0x5c/0x70"
//	arm64:        " func+0x1c/0x30 [mod]", "[<ffff0000080a>] func+0x1c/0x30"
//	arm:          "[<c02f6f2c>] (func+0x10/0x20) from [<c0...>] (caller+0x8/0x10)"
//	ppc64:        "[c0000000fe2fbc30] [c000000000123456] func+0x18/0x40 (unreliable)"
//	s390:         " ([<0000000000112233>] func+0x18/0x40)"
var frameRe = lazyRE(`^\s*(?:<[A-Z]+>\s*)?\(?(?:\[<?(?:0x)?([0-9a-fA-F]{6,20})>?\]\s*)?(?:\[<?(?:0x)?([0-9a-fA-F]{6,20})>?\]\s*)?(\?\s+)?\(?\.?([A-Za-z_$][A-Za-z0-9_.$]*)\+(0x[0-9a-fA-F]+|[0-9]+)(?:/(0x[0-9a-fA-F]+|[0-9]+))?\)?(?:\s+\[([A-Za-z0-9_\-]+)(?:\s[0-9a-f]+)?\])?(.*)$`)

// inlineFrameRe matches a symbolized inline frame: " func file.c:12 [inline]".
var inlineFrameRe = lazyRE(`^\s*([A-Za-z_][A-Za-z0-9_.]*) [A-Za-z0-9_\-/.]+\.[a-z]+:[0-9]+(?::[0-9]+)? \[inline\]`)

// armFromRe matches arm's "[<80de0078>] (dump_backtrace) from [<80de0574>] (show_stack+0x28/0x2c)".
// A callee in a module carries its name: "(brcmf_fws_commit_skb [brcmfmac]) from".
var armFromRe = lazyRE(`^\s*\[<([0-9a-fA-F]{6,16})>\] \(([A-Za-z_$][A-Za-z0-9_.$]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \[([A-Za-z0-9_\-]+)\])?\) from \[<`)

// decodedFrameRe matches a frame as scripts/decode_stacktrace.sh rewrites
// it, the offset replaced by the source line: " ? func (dir/file.c:1332
// (discriminator 1)) [mod]", the module bare or bracketed; an inlined
// call gives several locations in the parentheses ("(xhci.c:2392
// xhci.c:2758)"). A mailer's wrap may cut it after a line number or inside
// the path ("func (./include/x.h:3057", "func (drivers/usb/host/xhci.c"),
// the rest on the next line.
var decodedFrameRe = lazyRE(`^\s*(?:<[A-Z]+>\s*)?(\?\s+)?([A-Za-z_$][A-Za-z0-9_.$]*) \(` +
	`(?:` + decodedLoc + `(?: ` + decodedLoc + `)*(?:\)(?: \[?([A-Za-z0-9_\-]+)\]?)?)?` +
	`|[A-Za-z0-9_\-.]*/[A-Za-z0-9_\-/.]*)\s*$`)

// decodedLoc is one source location of a decoded frame.
const decodedLoc = `[A-Za-z0-9_\-/.]+\.(?:c|h|S|rs):[0-9]+(?::[0-9]+)?(?: \(discriminator [0-9]+\))?`

// decodedFrame parses a decode_stacktrace.sh frame; the regexp runs only
// on lines that name a source file.
func decodedFrame(text string) (Frame, bool) {
	i := strings.Index(text, " (")
	if i <= 0 || !strings.ContainsAny(text[i:], "/:") {
		return Frame{}, false
	}
	m := decodedFrameRe.FindStringSubmatch(text)
	if m == nil {
		return Frame{}, false
	}
	f := Frame{Location: Location{Function: m[2]}, Reliable: m[1] == ""}
	if m[3] != "" {
		mod := m[3]
		f.Module = &mod
	}
	return f, true
}

// parseFrame parses one trace line. ok is false when the line is no frame.
func parseFrame(text string) (Frame, bool) {
	if len(text) > 512 {
		text = text[:512]
	}
	if f, ok := fastFrame(text); ok {
		return f, true
	}
	return slowFrame(text)
}

// curlyFrameRe matches 2.6.9's x86_64 frame "<ffffffffa01a3c4d>{:nfs:nfs_refresh_inode+60}",
// the module between colons and the offset in decimal; a trace line holds
// several.
var curlyFrameRe = lazyRE(`<([0-9a-fA-F]{8,16})>\{(?::([A-Za-z0-9_\-]+):)?([A-Za-z_$][A-Za-z0-9_.$]*)\+(0x[0-9a-fA-F]+|[0-9]+)\}`)

// curlyFrames returns the 2.6.9 x86_64 frames of a line, in order.
func curlyFrames(text string) []Frame {
	if !strings.Contains(text, ">{") {
		return nil
	}
	var out []Frame
	for _, m := range curlyFrameRe.FindAllStringSubmatch(text, maxStackFrames) {
		a := strings.ToLower(m[1])
		f := Frame{Location: Location{Function: m[3], Address: &a}, Reliable: true}
		if m[2] != "" {
			mod := m[2]
			f.Module = &mod
		}
		if v, ok := parseNum(m[4]); ok {
			f.Offset = &v
		}
		out = append(out, f)
	}
	return out
}

// slowFrame is parseFrame for the lines fastFrame does not parse.
func slowFrame(text string) (Frame, bool) {
	if fs := curlyFrames(text); len(fs) > 0 {
		return fs[0], true
	}
	if !strings.Contains(text, "[inline]") {
	} else if m := inlineFrameRe.FindStringSubmatch(text); m != nil {
		return Frame{Location: Location{Function: m[1]}, Reliable: true}, true
	}
	if !strings.Contains(text, ") from ") {
	} else if m := armFromRe.FindStringSubmatch(text); m != nil {
		// arm "[<c0..>] (callee) from [<c0..>] (caller+0x..)": the frame
		// is the callee, whose offset is not printed.
		a := strings.ToLower(m[1])
		f := Frame{Location: Location{Function: m[2], Address: &a}, Reliable: true}
		if m[3] != "" {
			mod := m[3]
			f.Module = &mod
		}
		return f, true
	}
	if f, ok := decodedFrame(text); ok {
		return f, true
	}
	if strings.IndexByte(text, '+') < 0 {
		return Frame{}, false
	}
	m := frameRe.FindStringSubmatch(text)
	if m == nil {
		return Frame{}, false
	}
	f := Frame{Reliable: m[3] == ""}
	f.Function = m[4]
	addr := m[2]
	if addr == "" {
		addr = m[1]
	}
	if addr != "" {
		a := strings.ToLower(addr)
		f.Address = &a
	}
	if v, ok := parseNum(m[5]); ok {
		f.Offset = &v
	}
	if v, ok := parseNum(m[6]); ok {
		f.Size = &v
	}
	if m[7] != "" {
		mod := m[7]
		f.Module = &mod
	}
	if strings.Contains(m[8], "(unreliable)") {
		f.Reliable = false
	}
	return f, true
}

func parseNum(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	if strings.HasPrefix(s, "0x") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		return v, err == nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// ripRe matches the line naming the faulting instruction on each
// architecture: x86 "RIP: 0010:func+0x1/0x2" and "RIP: 0010:[<addr>]  [<addr>] func+0x1/0x2",
// i386 "EIP: [<c0..>] func" and "EIP is at func+", arm64 "pc : func+", arm
// "PC is at func+", ppc "NIP [c0..] func+" and "--- interrupt: 700 at func+"
// (where a trap was taken inside the trace), s390 "Krnl PSW" is not symbolic.
var ripRe = lazyRE(`^\s*(?:RIP: [0-9a-f]{4}:|EIP: [0-9a-f]{4}:|EIP:|EIP is at|RIP:|pc :|PC is at|NIP\s*:?|IP:|epc\s*:|ERA:|--- interrupt: [0-9a-f]+ at)\s*(.*)$`)

// ripStarts holds the fixed starts of ripRe's alternatives: a line that
// begins with none of them (a register line "RAX: ...", say) does not need
// the regexp.
var ripStarts = [...]string{"RIP:", "EIP", "pc :", "PC is at", "NIP", "IP:", "epc", "ERA:", "--- interrupt: ", "Krnl PSW"}

// ripByte holds the first bytes of ripStarts; built by loadTables.
var ripByte [256]bool

// parseRIP returns the location of a RIP-like line, or false.
func parseRIP(text string) (Location, bool) {
	t := strings.TrimLeft(text, " \t")
	if t == "" || !ripByte[t[0]] {
		return Location{}, false
	}
	ok := false
	for _, p := range ripStarts {
		if strings.HasPrefix(t, p) {
			ok = true
			break
		}
	}
	if !ok {
		return Location{}, false
	}
	if strings.HasPrefix(t, "Krnl PSW") {
		// s390: "Krnl PSW : 0704e00180000000 000003ff804bfc66
		// (kvm_s390_gisa_destroy+0x3e/0xe0 [kvm])".
		i, j := strings.IndexByte(t, '('), strings.LastIndexByte(t, ')')
		if i < 0 || j <= i {
			return Location{}, false
		}
		f, ok := parseFrame(" " + t[i+1:j])
		return f.Location, ok
	}
	m := ripRe.FindStringSubmatch(text)
	if m == nil {
		return Location{}, false
	}
	f, ok := parseFrame(m[1])
	if !ok {
		return Location{}, false
	}
	return f.Location, true
}

// fastFrame parses the two x86 forms that make up nearly every trace line,
// " ? func+0x1a/0x20 [mod]" and " [<ffffffff8146c0ec>] ? func+0x5c/0x70 [mod]",
// without the regexp; anything else it leaves to parseFrame's regexps.
func fastFrame(t string) (Frame, bool) {
	v, ok := scanFastFrame(t)
	if !ok {
		return Frame{}, false
	}
	f := Frame{Reliable: v.reliable}
	f.Function = v.function
	if v.hasAddr {
		a := strings.ToLower(v.addr)
		f.Address = &a
	}
	off, size := v.off, v.size
	f.Offset, f.Size = &off, &size
	if v.hasMod {
		mod := v.mod
		f.Module = &mod
	}
	return f, true
}

// isFrame tells whether parseFrame would parse text, without building the
// frame when the fast form matches: the scanner asks it of every line of
// an open report.
func isFrame(text string) bool {
	if len(text) > 512 {
		text = text[:512]
	}
	if _, ok := scanFastFrame(text); ok {
		return true
	}
	_, ok := slowFrame(text)
	return ok
}

// fastFrameView is fastFrame's result without allocations.
type fastFrameView struct {
	addr, function, mod string
	hasAddr, hasMod     bool
	reliable            bool
	off, size           uint64
}

func scanFastFrame(t string) (fastFrameView, bool) {
	var f fastFrameView
	i := 0
	for i < len(t) && t[i] == ' ' {
		i++
	}
	if strings.HasPrefix(t[i:], "[<(ptrval)>]") {
		// A hashed pointer printed as "(ptrval)" (4.15 to 4.19): a
		// frame without its address.
		i += len("[<(ptrval)>]")
		for i < len(t) && t[i] == ' ' {
			i++
		}
	} else if strings.HasPrefix(t[i:], "[<") {
		j := strings.IndexByte(t[i:], '>')
		if j < 0 || j < 8 || j > 20 || i+j+1 >= len(t) || t[i+j+1] != ']' {
			return f, false
		}
		a := t[i+2 : i+j]
		for k := 0; k < len(a); k++ {
			if !isHex(a[k]) {
				return f, false
			}
		}
		f.addr, f.hasAddr = a, true
		i += j + 2
		for i < len(t) && t[i] == ' ' {
			i++
		}
	}
	f.reliable = true
	if strings.HasPrefix(t[i:], "? ") {
		f.reliable = false
		i += 2
	}
	start := i
	for i < len(t) && (t[i] == '_' || t[i] == '.' || t[i] == '$' || t[i] >= 'a' && t[i] <= 'z' || t[i] >= 'A' && t[i] <= 'Z' || t[i] >= '0' && t[i] <= '9' && i > start) {
		i++
	}
	if i == start || !strings.HasPrefix(t[i:], "+0x") {
		return f, false
	}
	f.function = t[start:i]
	i += 3
	os := i
	for i < len(t) && isHex(t[i]) {
		i++
	}
	if i == os || !strings.HasPrefix(t[i:], "/0x") {
		return f, false
	}
	off, err := strconv.ParseUint(t[os:i], 16, 64)
	if err != nil {
		return f, false
	}
	i += 3
	ss := i
	for i < len(t) && isHex(t[i]) {
		i++
	}
	if i == ss {
		// ParseUint would fail (and allocate its error).
		return f, false
	}
	size, err := strconv.ParseUint(t[ss:i], 16, 64)
	if err != nil {
		return f, false
	}
	f.off, f.size = off, size
	rest := t[i:]
	if strings.HasPrefix(rest, " [") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return f, false
		}
		mod := rest[2:j]
		if k := strings.IndexByte(mod, ' '); k >= 0 {
			mod = mod[:k] // "[mod buildid]"
		}
		if mod == "" {
			return f, false
		}
		f.mod, f.hasMod = mod, true
		rest = rest[j+1:]
	}
	if rest != "" && rest[0] != ' ' {
		return f, false
	}
	if strings.Contains(rest, "(unreliable)") {
		f.reliable = false
	}
	return f, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
