package oops

import "strings"

// The stack checks of syzkaller's isCorrupted (google/syzkaller
// pkg/report/linux.go at the commit in
// corpora/syzkaller-linux-report/reference): after the first line that each
// stack-start keyword of linuxStackParams.stackStartRes matches, the report
// must go on for three lines more, and one of the next fifteen must be a
// frame (frameRes) or say "(stack is not available)", unless another stack
// starts first. RISC-V's show_regs line is exempt from the frame rule.
// Questionable ("? ") frames are not the report's lines for this check, as
// syzkaller drops them from a report with a console context.

// stackStartKeys are stackStartRes one by one: each is checked on its own.
var stackStartKeys = [...]*lazyRegexp{
	lazyRE(`Call (?:T|t)race`),
	lazyRE(`Allocated:`),
	lazyRE(`Allocated by task [0-9]+:`),
	lazyRE(`Freed:`),
	lazyRE(`Freed by task [0-9]+:`),
	lazyRE(`[^k] backtrace(?: \(crc [[:xdigit:]]*\))?:`),
	lazyRE(`Backtrace:`),
	lazyRE(`Uninit was stored to memory at`),
	riscvStackStart,
}

var riscvStackStart = lazyRE(`status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}`)

// stackFramesWindow is how many lines after a stack start may hold its
// first frame.
const stackFramesWindow = 15

// stackCheck returns why the report's stacks make it corrupted, or "".
func stackCheck(text []string) string {
	// The report's lines lost their indentation; the keys expect some
	// (" backtrace:", kmemleak's, is not "stack backtrace:").
	lines := make([]string, 0, len(text))
	for _, l := range text {
		if !isQuestionable(l) {
			lines = append(lines, "  "+l)
		}
	}
	hasStack := false
	for _, key := range stackStartKeys {
		i := -1
		for j, l := range lines {
			if key.MatchString(l) {
				i = j
				break
			}
		}
		if i < 0 {
			continue
		}
		framed, closed := false, false
	window:
		for _, l := range lines[i+1 : min(len(lines), i+1+stackFramesWindow)] {
			for _, k := range stackStartKeys {
				if k.MatchString(l) {
					closed = true
					break window
				}
			}
			if strings.Contains(l, "(stack is not available)") || frameLine.MatchString(l) || armFrameLine.MatchString(l) {
				framed, hasStack = true, true
				break
			}
		}
		// The report's text ends where ours does; syzkaller reads on to
		// the end of the log. A window cut by that end tells nothing.
		if !framed && key != riscvStackStart && (closed || len(lines) >= i+1+stackFramesWindow) {
			return "no frames in a stack trace"
		}
	}
	_ = hasStack
	return ""
}

// isQuestionable tells a "? func+off" line, with or without an address
// before the mark (syzkaller's questionableFrame).
func isQuestionable(l string) bool {
	t := strings.TrimLeft(l, " \t")
	if strings.HasPrefix(t, "[<") {
		if i := strings.Index(t, "] "); i > 0 {
			t = t[i+2:]
		}
	}
	return strings.HasPrefix(t, "? ")
}
