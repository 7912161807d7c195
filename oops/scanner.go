package oops

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Limits that keep memory bounded per report whatever the input.
const (
	maxReportLines = 400 // lines kept whole per report
	// maxTraceLines bounds the lines of a longer report: past
	// maxReportLines only its trace lines are kept, cut to
	// maxTraceLineBytes. Syzkaller reads a report's whole trace for its
	// title (report.go extracts frames from the report to its end): a
	// stack overflow's trace runs to hundreds of frames, and the frame
	// that names it (the syscall's, by linuxStallFrameExtractor) is deep.
	maxTraceLines     = 2000
	maxTraceLineBytes = 200
	// maxLineBytes is the kernel's own limit on one printk record
	// (PRINTK_MESSAGE_MAX, LOG_LINE_MAX): a kernel line is kept whole.
	maxLineBytes = 1024
	// maxModulesBytes bounds a "Modules linked in:" line joined with its
	// continuation lines (a list of a few hundred modules).
	maxModulesBytes = 16 << 10
	maxReports      = 4096 // reports kept per document
	// maxDroppedKeys bounds the texts of reports not kept that are
	// remembered, to count the distinct ones among them.
	maxDroppedKeys = 4 * maxReports
	// A report ends this many lines after its last trace-like line, so that
	// a log that goes on after a crash does not stretch it.
	quietLines = 60
	// panicWindow: a "Kernel panic - not syncing" this close after a report
	// is that report's consequence, not a new crash.
	panicWindow = 400
)

// MaxLine is how many bytes of one line the scanner reads; the rest of a
// longer line is skipped, and counted in Scanner.Dropped.
const MaxLine = 1 << 20

// Scanner finds reports in a stream of log lines. Feed it with Scan or
// ScanAll, or line by line with Line and Finish.
type Scanner struct {
	path    string
	lineno  int
	cur     *building
	last    *Report // the report most recently finished, for a trailing panic line
	lastEnd int
	reports []*Report
	seen    map[string]int // text hash -> index in reports, to merge repeated reports
	release string         // the document's own release ("Linux version ...")
	style   styleState
	// shape is the document's learned line prefix (prefix.go), nil while
	// it needs none.
	shape prefixShape
	// shape2 is what a document's lines still carry after shape: a prefix
	// whose first part was learned where the rest did not show.
	shape2 prefixShape
	watch  prefixWatch
	look   lookAhead
	// finishing is set while Finish reads what is still held.
	finishing bool
	// hangup: the document holds the console's "VM disconnected" line.
	hangup bool
	// raw is the physical line being read, for the wall clock at its head.
	raw []byte
	// bodiless tells, per report, that it is a header alone: no line of
	// an oops followed it.
	bodiless []bool
	// stamped is the current line's Stamped; unstamped tells, per report,
	// that its header line carried no stamp or log header.
	stamped   bool
	unstamped []bool
	// notice tells, per report, a notice (notice.go).
	notice []bool
	fmts   []*format // per report, its format
	wrap   wrapState
	soft   softState
	// skew counts the lines a hard wrap added so far: line numbers in a
	// report are the log's own lines, and spans go back to the file's.
	skew int
	// linuxVersion is set when release came from a "Linux version" line,
	// which task lines do not override.
	linuxVersion bool
	hw           string
	// OnLine, when set, sees every normalized line (triage feeds crash(8)
	// parsers from it so that a log is read once). The line is borrowed, as
	// bufio.Scanner.Bytes is: it shares the read buffer, is valid only
	// during the call and must not be modified; a consumer copies what it
	// keeps.
	OnLine func(lineno int, line []byte)
	// Dropped counts lines longer than MaxLine, read only up to it.
	Dropped int
	// ReportsDropped counts the distinct reports not kept because the
	// document showed more than the scanner keeps (4096).
	ReportsDropped int
	// ReportsUntold counts the showings of reports not kept once so many
	// were dropped that their texts are no longer remembered to tell
	// them apart: each may be a new crash or one already counted.
	ReportsUntold int
	droppedKeys   map[string]struct{}
	// faultLine is the last "FAULT_INJECTION: forcing a failure" line.
	faultLine int
}

type building struct {
	skew      int // the scanner's skew when the report opened
	f         *format
	stamped   bool // the header line carried a stamp or a log header
	header    string
	ctx       string
	time      string // the header line's kernel timestamp, if any
	wall      string // the wall clock heading the header's line, if any
	start     int
	end       int // last line that belonged to the report
	lastTrace int
	lines     []string
	lineNos   []int
	full      bool
	hasRIP    bool
	// inlineRIP is the line of a symbolized "RIP: ... [inline]": the RIP
	// line after it names the same instruction's function.
	inlineRIP int
	lastFrame int // last line that was a trace frame
}

var noticeOnce sync.Once

// NewScanner returns a scanner whose reports name path as their source.
func NewScanner(path string) *Scanner {
	loadTables()
	noticeOnce.Do(func() { noticeFormats = noticeTable() })
	return &Scanner{path: path, seen: map[string]int{}}
}

// ScanAll reads r to its end and returns the reports found. An error is
// returned only when r fails; the message names the path and the line.
func (s *Scanner) ScanAll(r io.Reader) ([]*Report, error) {
	if err := s.Scan(r); err != nil {
		return nil, err
	}
	return s.Finish(), nil
}

// Scan feeds every line of r to the scanner.
func (s *Scanner) Scan(r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	if s.lineno == 0 {
		head, _ := br.Peek(wrapProbe)
		// A mailer's soft wrap, if the document shows one, rather than
		// a hard one; lines of one width to a fault are a hard wrap.
		s.wrap.width = wrapWidth(head)
		if s.wrap.width == 0 || !hardCuts(head, s.wrap.width) {
			if s.soft.width, s.soft.split = softWrap(head); s.soft.width > 0 {
				s.wrap.width = 0
			}
		}
	}
	var long []byte // a line longer than the buffer, kept up to MaxLine
	cut := false
	keep := func(chunk []byte) {
		n := min(len(chunk), MaxLine-len(long))
		long = append(long, chunk[:n]...)
		cut = cut || len(bytes.TrimRight(chunk[n:], "\r\n")) > 0
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			keep(chunk)
			continue
		}
		if long != nil {
			keep(chunk)
			chunk = long
			if cut {
				s.Dropped++
			}
		}
		if len(chunk) > 0 {
			s.feed(chunk)
		}
		long, cut = nil, false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", s.path, s.lineno+1, err)
		}
	}
}

// Line feeds one raw line (with or without its newline).
func (s *Scanner) Line(raw []byte) { s.feed(raw) }

func (s *Scanner) feed(raw []byte) {
	s.raw = raw
	if !s.hangup && bytes.Contains(raw, consoleHangup) {
		s.hangup = true
	}
	if s.soft.width > 0 {
		s.softFeed(raw)
		return
	}
	s.lineno++
	v := normalize(raw, &s.style)
	if s.wrap.width > 0 {
		s.unwrap(raw, v)
		return
	}
	s.take(v)
}

// unwrap joins the lines of a hard-wrapped document (prefix.go).
func (s *Scanner) unwrap(raw []byte, v lineView) {
	w := &s.wrap
	if w.held {
		if s.wrapContinues(raw, v) {
			// The rest of the held line.
			s.skew++
			w.buf = append(w.buf, bytes.TrimRight(raw, "\r\n")...)
			w.v.text = w.buf
			if w.full(raw) {
				return
			}
			s.flushWrap()
			return
		}
		s.flushWrap()
	}
	// A line is held when it has the document's prefix, or while the
	// prefix is not known.
	prefixed := v.stamped || s.shape == nil
	if !prefixed && s.shape != nil {
		_, prefixed = s.shape.match(v.text)
	}
	if v.kernel && prefixed && w.full(raw) {
		w.held, w.lineno, w.skew = true, s.lineno, s.skew
		w.first = firstByte(raw)
		w.indent = len(raw) - len(trimLeftSpace(raw))
		w.buf = append(w.buf[:0], v.text...)
		w.raw = append(w.raw[:0], raw...)
		w.v = lineView{text: w.buf, ctx: bytes.Clone(v.ctx), time: bytes.Clone(v.time), kernel: v.kernel, stamped: v.stamped}
		return
	}
	s.take(v)
}

// wrapContinues tells whether a line continues the held full-width line: it
// lacks the document's prefix (its stamp, its learned shape, or, while the
// shape is not known, the held line's first byte).
func (s *Scanner) wrapContinues(raw []byte, v lineView) bool {
	if !v.kernel || v.stamped || isMarkup(raw) {
		return false
	}
	if len(trimLeftSpace(v.text)) == 0 {
		// Spaces alone are the middle of a cut run of them (a message
		// padded with spaces): joined, they change nothing, and the
		// rest after them is the held line's still. An empty line ends it.
		return len(bytes.TrimRight(raw, "\r\n")) > 0
	}
	if (s.wrap.v.stamped || stampedLine(s.wrap.buf)) && !stampedLine(raw) {
		// In a stamped log, the rest of a cut line is the one without
		// a stamp, whatever it starts with, even what a short learned
		// prefix (":" after "kernel:") matches.
		return true
	}
	if s.shape != nil {
		_, ok := s.shape.match(v.text)
		return !ok
	}
	c := firstByte(raw)
	if s.wrap.first == ' ' || s.wrap.first == '\t' {
		// After an indented line, the rest of a cut line is indented
		// less (from the first column, or the space the cut fell
		// before); an indented line as much is the kernel's own (a hex
		// dump's lines, a trace's frames) or the paste's.
		return len(raw)-len(trimLeftSpace(raw)) < s.wrap.indent
	}
	return c != s.wrap.first
}

func firstByte(raw []byte) byte {
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// flushWrap reads the held line, joined with its continuations.
func (s *Scanner) flushWrap() {
	w := &s.wrap
	if !w.held {
		return
	}
	w.held = false
	saved, skew := s.lineno, s.skew
	// The held line is read with the skew it had: its own continuations
	// are counted for the lines after it.
	s.lineno, s.skew = w.lineno, w.skew
	s.raw = w.raw
	s.take(w.v)
	s.lineno, s.skew = saved, skew
}

// take reads a normalized line.
func (s *Scanner) take(v lineView) {
	if s.look.active {
		s.lookAhead(v)
		return
	}
	if v.kernel && s.shape == nil && s.cur == nil && !s.watch.clean {
		s.watchLine(v)
	}
	s.after(v)
}

// after reads a normalized line: it strips the document's learned prefix
// and takes the line into the open report, or into a new one.
func (s *Scanner) after(v lineView) {
	shaped := false
	if s.shape != nil && v.kernel {
		v, shaped = applyShape(s.shape, v)
		if shaped && s.shape2 != nil {
			if w, ok := applyShape(s.shape2, v); ok {
				v = w
			}
		}
	}
	if s.cur != nil && !shaped && v.kernel && (s.shape != nil || !s.watch.clean) {
		// A document seen without a prefix is not looked at again.
		v = s.learn(v)
	} else if shaped && s.cur != nil && s.shape2 == nil {
		// What was learned may be the prefix's start only.
		v = s.learnMore(v)
	}
	if s.OnLine != nil {
		s.OnLine(s.lineno, v.text)
	}
	if !v.kernel {
		return
	}
	text := v.text
	if s.cur == nil && !headerTokens.contains(text) {
		// The fast path: most lines of a log are not part of a report.
		return
	}
	s.stamped = v.stamped
	s.line(text, v.ctx, v.time)
	if s.look.want {
		s.look.want = false
		s.startLook(v)
	}
}

func (s *Scanner) line(b, ctxb, stamp []byte) {
	// Distances between lines count the log's lines, not the pieces a
	// hard wrap cut them in.
	n := s.lineno - s.skew
	if s.cur != nil && len(ctxb) > 0 && s.cur.ctx != "" && string(ctxb) != s.cur.ctx {
		// Another task's output interleaved: not part of this report, but it
		// may open a report of its own (handled below only if ours ended).
		if n-s.cur.lastTrace < quietLines {
			return
		}
	}
	text := string(b)
	trim := strings.TrimSpace(text)
	if rel, hw, ok := docFacts(trim); ok {
		if rel != "" {
			// A new boot: whatever was open ended with the old kernel.
			if s.cur != nil {
				s.finishCur()
			}
			s.release = rel
			s.linuxVersion = true
		}
		if hw != "" {
			s.hw = hw
		}
	}
	if s.cur == nil {
		s.taskRelease(trim)
	}
	if strings.HasPrefix(trim, "FAULT_INJECTION: forcing a failure") {
		s.faultLine = n
	}
	if s.cur != nil && s.cur.ctx == "" && len(ctxb) == 0 && n > s.cur.start && infoWithStack(trim) {
		// A message that prints a stack of its own, inside a report of a
		// log without caller ids: the stack after it may be its own, so
		// the report's text ends here (linux.go's infoMessagesWithStack,
		// which set findReport's secondReportPos).
		s.finishCur()
		return
	}
	if s.cur != nil && s.cur.prose(s.stamped) && trim != "" {
		// A kernel line after an unstamped header alone: the header was
		// prose about the crash, which the kernel's lines do not go on.
		s.finishCur()
	}
	if isPanicLine(trim) {
		target := s.cur
		if target == nil && s.last != nil && n-s.lastEnd < panicWindow && !s.lastIsProse() {
			s.last.Panicked = true
			if s.last.PanicMessage == "" {
				s.last.PanicMessage = panicMessage(trim)
			}
			return
		}
		if target != nil {
			if !target.full {
				target.add(n, text)
			}
			target.end = n
			return
		}
	}
	f := detect(trim, bytes.TrimSpace(b))
	if f == nil && s.cur == nil {
		f = detectNotice(trim)
	}
	if f != nil && s.cur != nil && s.cur.f == f && len(s.cur.lines) == 1 && s.cur.start == n-1 &&
		strings.HasSuffix(strings.TrimSpace(s.cur.header), "[inline]") {
		// A symbolized header names the inlined callee on a line of its
		// own ("BUG: KASAN: ... in callee mm/internal.h:76 [inline]"); the
		// next, of the same kind, is the header the raw report had.
		s.cur.header, s.cur.lines[0], s.cur.start, s.cur.end, s.cur.lastTrace = trim, text, n, n, n
		s.cur.lineNos[0] = n
		return
	}
	if f != nil && s.cur != nil && (s.continues(f, n) || s.taskGoesOn(f, ctxb)) {
		f = nil
	}
	if f != nil && f.flags&fHeadless != 0 && s.cur == nil && s.last != nil && n-s.lastEnd <= 10 {
		// Newer kernels print the registers again after "---[ end trace":
		// the same crash, not one whose header was lost.
		return
	}
	if f != nil && s.cur == nil && s.shape == nil && !s.watch.clean && !s.look.replaying {
		// The document's prefix is not known yet: the lines after this
		// header are read first, for one that teaches it (prefix.go).
		s.look.want = true
		return
	}
	if f != nil {
		if s.cur != nil {
			s.finishCur()
		}
		s.cur = &building{f: f, header: trim, stamped: s.stamped, skew: s.skew, ctx: string(ctxb), time: string(stamp), start: n, end: n, lastTrace: n,
			wall: wallClock(s.raw)}
		s.cur.add(n, text)
		return
	}
	if s.cur == nil {
		return
	}
	c := s.cur
	if strings.HasPrefix(trim, "RIP: ") || strings.HasPrefix(trim, "pc : ") || strings.HasPrefix(trim, "PC is at ") {
		c.hasRIP = true
		if strings.HasSuffix(trim, "[inline]") {
			c.inlineRIP = n
		}
	}
	if endsKernelOutput(trim) {
		// A crash(8) prompt or sys line: the kernel's output ended above it.
		s.finishCur()
		return
	}
	if isEndMarker(trim) {
		c.add(n, text)
		c.end = n
		s.finishCur()
		return
	}
	if n-c.lastTrace > quietLines {
		s.finishCur()
		return
	}
	if n == c.start+1 && ripOnNextLine(c.header) && isFrame(trim) {
		// The faulting instruction of a header ending in "RIP:", not
		// a trace: "Oops:" under it is still the report's own, and
		// so are the registers, "RIP: 0010:", printed after it.
		c.lastTrace = n
		c.end = n
	} else if isFrame(trim) || isStackMarker(trim) {
		c.lastFrame = n
		c.lastTrace = n
		c.end = n
	} else if looksLikeOopsLine(trim) {
		c.lastTrace = n
		c.end = n
	}
	if !c.full {
		c.add(n, text)
	}
}

// taskGoesOn tells a header printed by the task of an open report before
// that report's trace came, which the report's trace goes on after: a GPF
// inside lockdep's "Nested lock was not taken" report, the WARNING a stall
// detector trips on the way to the stall's trace. With a caller id
// (CONFIG_PRINTK_CALLER), syzkaller titles a report from all its task's
// lines, another oops's header among them (linux.go's findReport keeps
// reportEnd at the report's end when the context is a task's or a CPU's).
// Without one it cuts the report there; a stall is read as with one all
// the same, its header alone naming nothing, so that its title does not
// depend on how the log was captured.
func (s *Scanner) taskGoesOn(f *format, ctxb []byte) bool {
	c := s.cur
	return (c.ctx != "" || c.f.mode == gmStall) && string(ctxb) == c.ctx && c.lastFrame == 0 && !c.hasRIP &&
		f.flags&fHeadless == 0 && f.mode != gmStall
}

// continues reports whether a header that appears inside the current report
// is part of it ("invalid opcode" after "kernel BUG at", "Oops:" after
// "BUG: unable to handle ...") rather than a new crash.
func (s *Scanner) continues(f *format, n int) bool {
	c := s.cur
	if f.flags&fInside != 0 {
		return true
	}
	if f.flags&fCont != 0 && n-c.start < 40 && c.lastFrame == 0 {
		// "Oops:", "invalid opcode", "kernel BUG at" under a header whose
		// trace has not come yet are its own lines; after a trace, one of
		// them is the next crash ("kernel BUG at" right after a "sleeping
		// function called from invalid context" report).
		return true
	}
	if f.flags&fHeadless != 0 {
		// A RIP line close under a header that has none yet is the
		// report's own; further off, or a second one, is another crash
		// whose header was not shown.
		// A RIP line right under a frame is an exception taken inside
		// the trace (a page fault under a stalled syscall): its own too.
		// Stall and hang reports show every CPU's registers.
		return !c.hasRIP && n-c.start < 30 || c.lastFrame == n-1 || c.f.mode == gmStall || c.f.mode == gmHung ||
			c.inlineRIP != 0 && c.inlineRIP == n-1
	}
	if f.flags&fPrelude != 0 && c.lastFrame != 0 && c.lastFrame == n-1 {
		// "list_add corruption ..." between two frames of an open trace
		// is another CPU's line interleaved: syzkaller does not count
		// such a line as an oops (linux.go's linuxOopses), so it does not
		// end the report (findReport); the BUG it announces, printed
		// after it, does.
		return true
	}
	if c.f.flags&fPrelude != 0 && n-c.start < 12 {
		// "list_del corruption ..." is followed by the BUG it causes.
		return true
	}
	return false
}

func (c *building) add(n int, text string) {
	if len(c.lines) >= maxReportLines {
		if len(c.lines) >= maxTraceLines {
			c.full = true
			return
		}
		if t := strings.TrimSpace(text); !isFrame(t) && !isStackMarker(t) && !isTraceHead(t) {
			return
		}
		if len(text) > maxTraceLineBytes {
			text = text[:maxTraceLineBytes]
		}
		c.lines = append(c.lines, text)
		c.lineNos = append(c.lineNos, n)
		return
	}
	if k := len(c.lines) - 1; k >= 0 && c.lineNos[k] == n-1 && isModuleList(c.lines[k]) && isModuleContinuation(text) {
		// The kernel prints a long module list over several records.
		if len(c.lines[k])+len(text) < maxModulesBytes {
			c.lines[k] += " " + strings.TrimSpace(text)
		}
		c.lineNos[k] = n
		return
	}
	if len(text) > maxLineBytes {
		text = text[:maxLineBytes]
	}
	c.lines = append(c.lines, text)
	c.lineNos = append(c.lineNos, n)
}

func (s *Scanner) finishCur() {
	c := s.cur
	s.cur = nil
	if c == nil {
		return
	}
	// Trim trailing lines that came after the last trace-like line.
	for len(c.lineNos) > 1 && c.lineNos[len(c.lineNos)-1] > c.end {
		c.lines = c.lines[:len(c.lines)-1]
		c.lineNos = c.lineNos[:len(c.lineNos)-1]
	}
	// The text decides first: a report shown again is counted without
	// being analyzed again (705,000 of one WARNING).
	key := textKey(c.lines)
	if i, ok := s.seen[key]; ok {
		// The same crash shown again (a report pasted twice, a WARNING
		// firing again): one report, counted.
		s.last = s.reports[i]
		s.last.Occurrences = s.last.Times() + 1
		if s.last.time != "" && c.time != "" {
			s.last.FirstTime, s.last.LastTime = s.last.time, c.time
		}
		if len(s.last.Shown) < maxShown {
			if len(s.last.Shown) == 0 {
				s.last.Shown = append(s.last.Shown, Showing{Wall: s.last.Wall, Time: s.last.time})
			}
			s.last.Shown = append(s.last.Shown, Showing{Wall: c.wall, Time: c.time})
		}
		s.lastEnd = c.end
		return
	}
	if len(s.reports) >= maxReports {
		s.dropReport(key)
		return
	}
	r := analyze(c.f, c.lines)
	if s.faultLine > 0 && s.faultLine >= c.start-100 && s.faultLine <= c.end && !r.Corrupted && hasFaultInjection(r) {
		// An injected failure's stack dump ran into the report's own.
		r.Corrupted = true
		r.CorruptedReason = "fault injection stack intermixed"
	}
	r.Source = Span{Path: s.path, StartLine: c.start + c.skew, EndLine: max(c.end, c.start) + s.skew}
	r.time = c.time
	r.Wall = c.wall
	if r.Release == nil && s.release != "" {
		rel := s.release
		r.Release = &rel
	}
	if r.Hardware == nil && s.hw != "" {
		hw := s.hw
		r.Hardware = &hw
	}
	s.seen[key] = len(s.reports)
	s.reports = append(s.reports, r)
	s.bodiless = append(s.bodiless, c.bodiless())
	s.notice = append(s.notice, isNotice(c.f))
	s.fmts = append(s.fmts, c.f)
	s.unstamped = append(s.unstamped, !c.stamped)
	s.last = r
	s.lastEnd = c.end
}

// dropReport counts a report not kept, once per distinct text while the
// texts remembered stay within maxDroppedKeys.
func (s *Scanner) dropReport(key string) {
	if s.droppedKeys == nil {
		s.droppedKeys = map[string]struct{}{}
	}
	if _, ok := s.droppedKeys[key]; ok {
		return
	}
	if len(s.droppedKeys) >= maxDroppedKeys {
		s.ReportsUntold++
		return
	}
	s.droppedKeys[key] = struct{}{}
	s.ReportsDropped++
}

// consoleHangup is what a GCE serial console prints when its connection
// fails, often right after a panic: a report in such a document is likely
// cut (syzkaller's gceConsoleHangup, pkg/report/report.go, at the commit in
// corpora/syzkaller-linux-report/reference).
var consoleHangup = []byte("serialport: VM disconnected.")

// Finish ends the document: it closes the open report and gives every
// report the facts the document states elsewhere.
func (s *Scanner) Finish() []*Report {
	s.flushWrap()
	s.softFlush()
	s.finishing = true
	s.resolveLook()
	s.soleHeader()
	s.finishCur()
	s.dropRestated()
	s.noticesLast()
	for _, r := range s.reports {
		if s.hangup && !r.Corrupted {
			r.Corrupted, r.CorruptedReason = true, "console connection lost"
		}
		if r.Release == nil && s.release != "" {
			rel := s.release
			r.Release = &rel
		}
	}
	return s.reports
}

// Release is the kernel release the document states in a "Linux version"
// line, or "".
func (s *Scanner) Release() string { return s.release }

// textKey identifies a report's text regardless of timestamps.
func textKey(lines []string) string {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	buf := make([]byte, 0, n)
	for _, l := range lines {
		buf = append(buf, strings.TrimSpace(l)...)
		buf = append(buf, '\n')
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16])
}

// hasFaultInjection reports whether r's main trace holds the fault injector.
func hasFaultInjection(r *Report) bool {
	for _, f := range r.Frames {
		if strings.HasPrefix(f.Function, "should_fail") || strings.HasPrefix(f.Function, "__should_fail") {
			return true
		}
	}
	return false
}

// infoWithStack tells the kernel messages that are no bug but print a
// stack (linux.go's infoMessagesWithStack).
func infoWithStack(t string) bool {
	return strings.Contains(t, "vmalloc: allocation failure:") || strings.Contains(t, "FAULT_INJECTION: forcing a failure") ||
		strings.Contains(t, "FAULT_FLAG_ALLOW_RETRY missing")
}

func isPanicLine(t string) bool {
	return strings.HasPrefix(t, "Kernel panic - not syncing") || strings.HasPrefix(t, "---[ end Kernel panic - not syncing")
}

func panicMessage(t string) string {
	t = strings.TrimPrefix(t, "---[ end ")
	t = strings.TrimPrefix(t, "Kernel panic - not syncing")
	t = strings.TrimPrefix(t, ":")
	t = strings.TrimSuffix(t, " ]---")
	return strings.TrimSpace(t)
}

// isStackMarker tells the lines that delimit a trace's parts: "<IRQ>",
// "</IRQ>", "<EOI>", "<TASK>", "<NMI>".
func isStackMarker(t string) bool {
	return len(t) >= 5 && t[0] == '<' && t[len(t)-1] == '>' && strings.IndexByte(t, ' ') < 0
}

// isTraceHead tells the lines that open a trace or its part, kept past
// maxReportLines with the frames so that the parts are still told apart.
func isTraceHead(t string) bool {
	return strings.HasPrefix(t, "Call Trace") || strings.HasPrefix(t, "Call trace") || strings.HasPrefix(t, "RIP: ") ||
		isEndMarker(t) || isPanicLine(t)
}

func isEndMarker(t string) bool {
	return strings.HasPrefix(t, "---[ end trace")
}

// looksLikeOopsLine tells the lines that belong to a report (frames,
// registers, report furniture) from unrelated log lines after it.
func looksLikeOopsLine(t string) bool {
	if t == "" {
		return false
	}
	if i := strings.Index(t, "+0x"); i > 0 && strings.Contains(t[i:], "/0x") {
		// A frame: checked without the frame regexp, this runs for
		// every line of every report.
		return true
	}
	for _, p := range oopsLineByFirst[t[0]] {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return strings.Contains(t, "Tainted") || strings.Contains(t, ", at: ") || strings.Contains(t, " at addr ") || strings.HasPrefix(t, "R") && strings.Contains(t, ": ") && len(t) > 20 && isRegLine(t)
}

var oopsLinePrefixes = []string{
	"Call Trace", "Call trace", "<IRQ>", "</IRQ>", "<EOI>", "<TASK>", "</TASK>", "<NMI>", "</NMI>",
	"Code:", "RIP:", "IP:", "RSP:", "EIP:", "ESP:", "EFLAGS:", "CR2:", "CS:", "DS:", "FS:", "GS:", "CR0:", "DR0:",
	"DR3:", "DR6:", "PKRU:", "Modules linked in", "Hardware name", "CPU:", "Pid:", "Workqueue:", "pc :",
	"lr :", "sp :", "x2", "x1", "x0", "x9", "x8", "x7", "x6", "x5", "x4", "x3", "Process ", "Stack:",
	"Backtrace", "Allocated by", "Freed by", "Last potentially", "Second to last", "The buggy address",
	"Memory state", "page:", "flags:", "raw:", "page dumped", ">", "^", "=====", "Read of size", "Write of size",
	"Uninit was", "Local variable", "Bytes ", "CPU ", "#PF:", "PGD ", "Oops", "invalid opcode", "---[",
	"task:", "stack backtrace", "-> #", "other info", "1 lock held", "2 locks held", "no locks held",
	"lock(", "*** DEADLOCK", "Possible unsafe", "CPU0", "CPU1", "but task", "which lock", "the existing",
	"unreferenced object", "comm ", "hex dump", "backtrace", "Kernel Offset", "RBP:", "RAX:", "RDX:",
	"RBX:", "RSI:", "RDI:", "R08:", "R09:", "R10:", "R11:", "R12:", "R13:", "R14:", "R15:", "R8:",
	"NIP", "LR ", "CTR", "REGS", "MSR", "GPR", "Instruction dump", "Krnl", "Last Breaking", "PC is at",
	"LR is at", "Internal error", "Kernel panic", "Rebooting", "Shutting down", "Dumping ftrace",
	"Sending NMI", "NMI backtrace", "INFO:", "rcu:", "\t(", "(detected", "All QSes", "Showing", "irq event",
	"hardirqs", "softirqs", "ORIG_RAX", "[exception", "#", "RIP ", "PANIC", "last sysfs",
}

// oopsLineByFirst indexes oopsLinePrefixes by their first byte; built by
// loadTables.
var oopsLineByFirst [256][]string

func isRegLine(t string) bool {
	return len(t) > 3 && t[0] == 'R' && (t[1] >= 'A' && t[1] <= 'Z' || t[1] >= '0' && t[1] <= '9')
}

// taskRelease records the release a task line outside any report states
// ("CPU: 3 PID: 1 Comm: x Not tainted 4.18.0-305.el8.x86_64 #1" before an
// OOM panic, say) as the document's, for reports that state none.
func (s *Scanner) taskRelease(t string) bool {
	if !strings.Contains(t, "ainted") {
		return false
	}
	tl, ok := parseTaskLine(t)
	if !ok || tl.release == "" {
		return false
	}
	if s.release == "" || !s.linuxVersion {
		s.release = tl.release
	}
	return true
}

// docFacts reads what a line says about the whole document: the kernel
// release ("Linux version 6.1.0-13-amd64 (...)") and the hardware
// ("DMI: QEMU Standard PC ...").
func docFacts(t string) (release, hw string, ok bool) {
	if strings.HasPrefix(t, "Linux version ") {
		f := strings.Fields(t[len("Linux version "):])
		if len(f) > 0 {
			return f[0], "", true
		}
	}
	if strings.HasPrefix(t, "DMI: ") {
		return "", strings.TrimSpace(t[5:]), true
	}
	return "", "", false
}

func isModuleList(l string) bool {
	return strings.HasPrefix(strings.TrimSpace(l), "Modules linked in:")
}

// isModuleContinuation tells a line that goes on with a module list: module
// names with their taint flags ("nvidia(POE)"), and the list's last
// "[last unloaded: x]".
func isModuleContinuation(t string) bool {
	t = strings.TrimSpace(t)
	last := false
	if i := strings.Index(t, "[last unloaded:"); i >= 0 && strings.HasSuffix(t, "]") {
		t, last = t[:i], true
	}
	f := strings.Fields(t)
	if len(f) < 2 && !last {
		return false
	}
	for _, m := range f {
		if i := strings.IndexByte(m, '('); i > 0 && strings.HasSuffix(m, ")") {
			m = m[:i]
		}
		for j := 0; j < len(m); j++ {
			c := m[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// dropRestated drops the reports that are a header alone restating a
// report of the same document: an issue's title or a markdown heading over
// the pasted log, a sentence quoting "kernel BUG at ...", crash(8)'s `sys`
// line `PANIC: "..."`. They are prose about the crash, not crashes.
func (s *Scanner) dropRestated() {
	if len(s.reports) < 2 {
		return
	}
	var drop []bool
	for i := range s.reports {
		drop = append(drop, s.bodiless[i] && s.restated(i, false) || s.bodiless[i] && s.unstamped[i] && s.restated(i, true))
	}
	k := 0
	for i, r := range s.reports {
		if drop[i] {
			continue
		}
		s.reports[k], s.bodiless[k], s.unstamped[k], s.notice[k], s.fmts[k] = r, s.bodiless[i], s.unstamped[i], s.notice[i], s.fmts[i]
		k++
	}
	clear(s.reports[k:])
	s.reports, s.bodiless, s.unstamped, s.notice, s.fmts = s.reports[:k], s.bodiless[:k], s.unstamped[:k], s.notice[:k], s.fmts[:k]
}

// restated tells whether report i's header restates another report of the
// document that has a body: its header, its title or its panic message.
//
// With stamped, the other report may be a header alone too, if its line
// carried a stamp: in a stamped log, an unstamped line is not the kernel's.
func (s *Scanner) restated(i int, stamped bool) bool {
	h := s.reports[i].Header
	for j, o := range s.reports {
		if j == i || !stamped && s.bodiless[j] || stamped && s.unstamped[j] {
			continue
		}
		core := strings.TrimSpace(o.Header)
		if o.Title == s.reports[i].Title || len(core) >= 12 && strings.Contains(h, core) || len(h) >= 12 && strings.Contains(core, trimProse(h)) {
			return true
		}
		if o.PanicMessage != "" && strings.Contains(h, o.PanicMessage) {
			return true
		}
		if s.fmts[i] == s.fmts[j] {
			// The same header, from where its format matches.
			// Numbers aside: a watchdog restates its lockup with the
			// seconds grown ("stuck for 26s!", then "52s!").
			a, b := digitsOut(headerCore(s.fmts[i], h)), digitsOut(headerCore(s.fmts[j], o.Header))
			n := min(len(a), len(b), 40)
			if n >= 12 && a[:n] == b[:n] {
				return true
			}
		}
	}
	return false
}

// digitsOut replaces each run of digits by one '0'.
func digitsOut(s string) string {
	var b strings.Builder
	prev := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		d := c >= '0' && c <= '9'
		if d && prev {
			continue
		}
		if d {
			c = '0'
		}
		prev = d
		b.WriteByte(c)
	}
	return b.String()
}

// trimProse strips the marks prose puts around a quoted header: a markdown
// heading's hashes, quotes and backticks, crash(8)'s `PANIC: "`.
func trimProse(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimLeft(h, "#> ")
	h = strings.TrimPrefix(h, "PANIC: ")
	return strings.Trim(h, "\"`'* ")
}

// bodiless tells a report that is its header alone: no frame, no RIP, and
// no line after the header but blank ones and the rules that open the
// next report ("=====", "------------[ cut here ]------------").
func (c *building) bodiless() bool {
	if c.lastFrame != 0 || c.hasRIP {
		return false
	}
	core := trimProse(c.lines[0])
	for _, l := range c.lines[1:] {
		t := strings.TrimSpace(l)
		if t == "" || strings.Trim(t, "=-") == "" || t == "------------[ cut here ]------------" {
			continue
		}
		if len(core) >= 12 && strings.Contains(t, core) {
			continue // the header restated again ("we hit `...` again")
		}
		return false
	}
	return true
}

// prose tells an open report that is a header alone on an unstamped line,
// when a stamped line comes: a document's prose, not the kernel's.
func (c *building) prose(stamped bool) bool {
	return stamped && !c.stamped && c.bodiless()
}

// lastIsProse tells that the report most recently finished is a header
// alone on an unstamped line: a panic after it is not its consequence.
func (s *Scanner) lastIsProse() bool {
	k := len(s.reports) - 1
	return s.stamped && k >= 0 && s.reports[k] == s.last && s.bodiless[k] && s.unstamped[k]
}

// noticesLast moves the notices after the crashes, in document order each.
func (s *Scanner) noticesLast() {
	var crashes, notices []*Report
	for i, r := range s.reports {
		if i < len(s.notice) && s.notice[i] {
			notices = append(notices, r)
		} else {
			crashes = append(crashes, r)
		}
	}
	if len(notices) == 0 || len(crashes) == 0 {
		return
	}
	s.reports = append(crashes, notices...)
	s.notice = nil
}

// headerCore is a header from where its format's regexp matches.
func headerCore(f *format, h string) string {
	if f == nil || f.re == nil {
		return h
	}
	if loc := f.re.FindStringIndex(h); loc != nil {
		return h[loc[0]:]
	}
	return h
}
