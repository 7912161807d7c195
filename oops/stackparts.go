package oops

import (
	"strings"
)

// stackRule says where a format's guilty frame is read, as the stack
// formats of google/syzkaller pkg/report/linux.go at
// 1e72964b0111319984575e60f266d1fa0a98abb5 do: parts are matched one after
// another over the report's lines from the header on; a part that is a
// regexp advances to the first line it matches (yielding the function it
// captures, if any), a nil part reads a stack trace from there. The first
// frame gathered that is not skipped is the guilty one (or extractor's
// choice among them). When parts find nothing, parts2 are tried.
type stackRule struct {
	parts, parts2 []*lazyRegexp
	// extractor picks among the frames; nil takes the first.
	extractor func(p *parsed, frames []string) string
	// optionalStart: a report without the line the first part looks
	// for is laid out otherwise, not cut (see extractGuilty).
	optionalStart bool
}

// parseTrace is the part that reads a stack trace.
var parseTrace *lazyRegexp

// The pieces of linuxStackParams and the parts the formats share.
const (
	pcRe = `\[\<?(?:0x)?[0-9a-f]+\>?\]`
	// funcRx is syzkaller's {{FUNC}}, and ours on top: a name that
	// decode_stacktrace.sh followed with its source line, "name (dir/f.c:12".
	funcRx = `([a-zA-Z0-9_]+)(?:\.|\+| \([A-Za-z0-9_\-./]+\.(?:c|h|S|rs):[0-9])`
)

var (
	// ripPart is linuxRipFrame: the faulting instruction's line.
	ripPart = lazyRE(`(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:` + pcRe + ` +){0,2}` + funcRx + `|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?` + pcRe + ` +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))`)
	// callTracePart is linuxCallTrace.
	callTracePart = lazyRE(`(?:Call (?:T|t)race:)|(?:Backtrace:)`)
	// stackStarts are stackStartRes: a stack trace ends where another starts.
	stackStarts = lazyRE(`Call (?:T|t)race|Allocated:|Allocated by task [0-9]+:|Freed:|Freed by task [0-9]+:|[^k] backtrace(?: \(crc [[:xdigit:]]*\))?:|Backtrace:|Uninit was stored to memory at|status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}`)
	// frameLine is frameRes: a frame ("? " ones are not), and arm's
	// "(callee) from (caller+off)", which yields both.
	// Ours on top: a hashed "[<(ptrval)>]" address (4.15 to 4.19).
	frameLine    = lazyRE(`^ *(?:(?:` + pcRe + `|\[<\(ptrval\)>\]) ){0,2}` + funcRx)
	armFrameLine = lazyRE(`^ *` + pcRe + ` \(([a-zA-Z0-9_.]+)\) from ` + pcRe + ` \(` + funcRx)
	// faultLine is corruptedLines: an injected failure's stack dump. The
	// frame's indentation is the kernel's, but a stripped prefix may take
	// it with its separator (a syslog tag, a learned shape), so any is
	// read, none included, as frameLine reads it.
	faultLine = lazyRE(`^[ \t]*(\[\<?(?:0x)?[0-9a-f]+\>?\][ \t]*)?should_fail(slab)?(\.[a-z0-9.]+)?\+0x`)
)

// The rules of the stall formats.
var (
	stallRule = &stackRule{
		parts:     []*lazyRegexp{ripPart, callTracePart, parseTrace},
		extractor: stallExtractor,
	}
	rcuStallRule = &stackRule{
		parts:     []*lazyRegexp{lazyRE(`apic_timer_interrupt`), ripPart, parseTrace},
		parts2:    []*lazyRegexp{lazyRE(`(?:apic_timer_interrupt|Exception stack|el1h_64_irq)`), parseTrace},
		extractor: stallExtractor,
	}
	traceStallRule = &stackRule{
		parts:     []*lazyRegexp{callTracePart, parseTrace},
		extractor: stallExtractor,
	}
)

// The rules of the other formats, by what they read.
var (
	ripTraceRule = &stackRule{parts: []*lazyRegexp{ripPart, callTracePart, parseTrace}}
	traceRule    = &stackRule{parts: []*lazyRegexp{callTracePart, parseTrace}}
	ripOnlyRule  = &stackRule{parts: []*lazyRegexp{ripPart}}
	kasanRule    = &stackRule{parts: []*lazyRegexp{lazyRE(`BUG: KASAN: (?:[a-z\-]+) in ` + funcRx), callTracePart, parseTrace}}
	kasanFree    = &stackRule{parts: []*lazyRegexp{lazyRE(`BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in ` + funcRx), callTracePart, parseTrace}}
	kmsanRule    = &stackRule{parts: []*lazyRegexp{parseTrace, lazyRE(`(Local variable .* created at:|Uninit was created at:)`), parseTrace}}
	kfenceRule   = &stackRule{parts: []*lazyRegexp{lazyRE(`BUG: KFENCE: (?:[a-z\- ]+) in ` + funcRx), parseTrace}}
	unlockRule   = &stackRule{parts: []*lazyRegexp{lazyRE(pcRe + ` +` + funcRx), callTracePart, parseTrace}}
	// Without page owner tracking there is no allocation stack: the
	// dump's own stack is read then (ours; syzkaller's kernels have it).
	badPageRule  = &stackRule{parts: []*lazyRegexp{lazyRE(`page last allocated`), parseTrace}, optionalStart: true}
	leakRule     = &stackRule{parts: []*lazyRegexp{lazyRE(`backtrace(?: \(crc [[:xdigit:]]*\))?:`), parseTrace}}
	lockAtPart   = lazyRE(`at: (?:` + pcRe + ` +)?` + funcRx)
	circularRule = &stackRule{parts: []*lazyRegexp{lockAtPart, lockAtPart, parseTrace}}
	unsafeRule   = &stackRule{parts: []*lazyRegexp{lazyRE(`which became (?:.*) at:`), parseTrace}}
	// warningRule is warningStackFmt: a WARNING's trap, then its stack;
	// older kernels print only the stack.
	warningRule = &stackRule{
		parts:  []*lazyRegexp{lazyRE(`(?:` + ripPart.expr + `|--- interrupt: [0-9]+ at ` + funcRx + `)`), parseTrace},
		parts2: []*lazyRegexp{callTracePart, parseTrace},
	}
	hungRule = &stackRule{parts: []*lazyRegexp{callTracePart, parseTrace}, extractor: hangExtractor}
)

// hangExtractor is linuxHangTaskFrameExtractor over the frames a rule
// gathered: the first anchor (hangAnchors), else the first frame that is
// not waiting (hangSkipWords).
func hangExtractor(p *parsed, frames []string) string {
	for _, fn := range frames {
		for _, a := range hangAnchors {
			if strings.Contains(fn, a.frame) {
				if a.title != "" {
					p.guiltyRaw = fn
					return a.title
				}
				return fn
			}
		}
	}
next:
	for _, fn := range frames {
		for _, w := range hangSkipWords {
			if strings.Contains(fn, w) {
				continue next
			}
		}
		return fn
	}
	return ""
}

// extractGuilty runs rule over a report's lines; skip tells the frames
// passed over. It returns the guilty frame and whether the parts were all
// found without running into an injected failure's stack.
// foreign is set when the rule starts at the faulting instruction's line
// and no line is one: the report is not laid out as the rule expects (an
// s390 or 2.6 oops, a pasted fragment).
func extractGuilty(p *parsed, lines []string, rule *stackRule, skip func(string) bool) (fn string, ok, foreign bool) {
	fn, ok, foreign = runParts(p, lines, rule.parts, rule, skip)
	if ok || rule.parts2 == nil {
		return fn, ok, foreign
	}
	fn, ok, foreign2 := runParts(p, lines, rule.parts2, rule, skip)
	return fn, ok, foreign && foreign2
}

func runParts(p *parsed, lines []string, parts []*lazyRegexp, rule *stackRule, skip func(string) bool) (string, bool, bool) {
	matched := false
	var frames []string
	add := func(m []string) {
		for _, fn := range m[1:] {
			if fn != "" && !skip(fn) {
				frames = append(frames, fn)
			}
		}
	}
	ok := true
	result, haveResult := "", false
	traces := 0
	take := func() {
		// Every part's frames are taken, and one without a frame fails
		// the parts (extractStackFrameImpl's "corrupted" key frame) even
		// after the first named the title: a KMSAN report whose
		// "Uninit was created at:" stack is not available is corrupted.
		fn := ""
		if len(frames) > 0 {
			if rule.extractor != nil {
				raw := p.guiltyRaw
				fn = rule.extractor(p, frames)
				if haveResult {
					// A later part only checks: what the extractor
					// noted is the first part's.
					p.guiltyRaw = raw
				}
			} else {
				fn = frames[0]
			}
		}
		if fn == "" {
			ok = false
		}
		if !haveResult {
			haveResult, result = true, fn
		}
	}
	i := 0
nextPart:
	for pi := 0; ; pi++ {
		if pi == len(parts) || parts[pi] == parseTrace && traces > 0 {
			take()
			frames = nil
		}
		if pi == len(parts) {
			break
		}
		if parts[pi] == parseTrace {
			traces++
			for i < len(lines) {
				ln := lines[i]
				i++
				if isFaultLine(ln) {
					ok = false
					continue nextPart
				}
				if isStackStartLine(ln) {
					continue nextPart
				}
				if pi != len(parts)-1 && mayMatchPart(parts[pi+1], ln) {
					if m := parts[pi+1].FindStringSubmatch(ln); m != nil {
						add(m)
						pi++
						continue nextPart
					}
				}
				if strings.HasSuffix(ln, "(unreliable)") {
					// ppc's guess from a stale stack slot, as "? " is
					// x86's (ours: syzkaller reads these, and titles
					// such hangs by the waiting caller all the same).
					continue
				}
				if fn, ok := frameLineFunc(ln); ok {
					if !skip(fn) {
						frames = append(frames, fn)
					}
				} else if strings.Contains(ln, ") from ") {
					if m := armFrameLine.FindStringSubmatch(ln); m != nil {
						add(m)
					}
				}
			}
			continue
		}
		for i < len(lines) {
			ln := lines[i]
			i++
			if isFaultLine(ln) {
				ok = false
				continue nextPart
			}
			if !mayMatchPart(parts[pi], ln) {
				continue
			}
			if m := parts[pi].FindStringSubmatch(ln); m != nil {
				matched = true
				add(m)
				break
			}
		}
	}
	// Only the faulting instruction's line differs by architecture and
	// age (s390's PSW, 2.6's "EIP is at"), and a few lines by the
	// kernel's configuration; any other missing part is a report cut or
	// mixed up.
	return result, ok, !matched && (parts[0] == ripPart || rule.optionalStart)
}

// stallExtractor is linuxStallFrameExtractor: a stall loops somewhere in
// code that a dispatcher (stallAnchors) called, so it is named by the
// frame before the first dispatcher; a cross-CPU call is named by itself.
// No dispatcher: the stack was cut.
func stallExtractor(p *parsed, frames []string) string {
	prev := frames[0]
	for _, fn := range frames {
		if matchFn(stallAnchors, syzStrip(fn)) {
			if strings.Contains(fn, "smp_call_function") {
				p.guiltyRaw = fn
				return "smp_call_function"
			}
			return prev
		}
		prev = fn
	}
	return ""
}

// isFaultLine is faultLine.MatchString, the regexp run only on lines that
// name should_fail.
func isFaultLine(ln string) bool {
	return strings.Contains(ln, "should_fail") && faultLine.MatchString(ln)
}

// stackStartWords are words one of which every stackStarts line holds.
var stackStartWords = [...]string{"race", "Allocated", "Freed", "acktrace", "Uninit was stored", "badaddr"}

// isStackStartLine is stackStarts.MatchString, the regexp run only on
// lines that hold one of its words.
func isStackStartLine(ln string) bool {
	for _, w := range stackStartWords {
		if strings.Contains(ln, w) {
			return stackStarts.MatchString(ln)
		}
	}
	return false
}

// mayMatchPart tells whether part could match ln, by words its matches
// hold, so that the common parts' regexps run on few lines.
func mayMatchPart(part *lazyRegexp, ln string) bool {
	switch part {
	case ripPart:
		return strings.Contains(ln, "IP") || strings.Contains(ln, "pc ") || strings.Contains(ln, "PC is at")
	case callTracePart:
		return strings.Contains(ln, "race:") || strings.Contains(ln, "Backtrace:")
	case lockAtPart:
		return strings.Contains(ln, "at: ")
	}
	return true
}

// frameLineFunc is frameLine.FindStringSubmatch(ln)[1], by hand: spaces,
// up to two "[<addr>]" (or "[addr]", "[<(ptrval)>]") tokens each followed
// by a space, then a name followed by '.' or '+'.
func frameLineFunc(ln string) (string, bool) {
	i := 0
	for i < len(ln) && ln[i] == ' ' {
		i++
	}
	for n := 0; n < 2 && i < len(ln) && ln[i] == '['; n++ {
		j := i + 1
		if j < len(ln) && ln[j] == '<' {
			j++
		}
		k := j
		if strings.HasPrefix(ln[j:], "(ptrval)") {
			k = j + len("(ptrval)")
		} else {
			if strings.HasPrefix(ln[j:], "0x") {
				j += 2
				k = j
			}
			for k < len(ln) && (ln[k] >= '0' && ln[k] <= '9' || ln[k] >= 'a' && ln[k] <= 'f') {
				k++
			}
			if k == j {
				break
			}
		}
		if k < len(ln) && ln[k] == '>' {
			k++
		}
		if k+1 >= len(ln) || ln[k] != ']' || ln[k+1] != ' ' {
			break
		}
		i = k + 2
	}
	start := i
	for i < len(ln) && (ln[i] == '_' || ln[i] >= 'a' && ln[i] <= 'z' || ln[i] >= 'A' && ln[i] <= 'Z' || ln[i] >= '0' && ln[i] <= '9') {
		i++
	}
	if i == start || i == len(ln) {
		return "", false
	}
	if ln[i] != '.' && ln[i] != '+' && !decodedSource(ln[i:]) {
		return "", false
	}
	return ln[start:i], true
}

// decodedSource tells the rest of a decoded frame after its name: " (" and
// a source path with a line number, as funcRx's third form reads it.
func decodedSource(rest string) bool {
	if !strings.HasPrefix(rest, " (") {
		return false
	}
	rest = rest[2:]
	j := 0
	for j < len(rest) && (rest[j] == '_' || rest[j] == '-' || rest[j] == '.' || rest[j] == '/' ||
		rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	path := rest[:j]
	if j+1 >= len(rest) || rest[j] != ':' || rest[j+1] < '0' || rest[j+1] > '9' {
		return false
	}
	for _, ext := range [...]string{".c", ".h", ".S", ".rs"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}
