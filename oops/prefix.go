package oops

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Prefix learning. The recognisers of line.go know the prefix styles that
// were listed; a paste in a style nobody listed (a locale's month names, a
// quote marker, a CI clock column, a line-number column, a mailer's wall(1)
// fragment) would keep its prefix on every line, and no frame or register
// line would be read. The learner finds such a document's prefix on the
// lines that are unmistakably kernel output (a "Call Trace:" or arm64's
// "Call trace:", a "RIP:" or register line, a "[<...>]" frame, "Modules
// linked in:", the task line, "---[ end trace"), and from then on strips
// whatever has the same SHAPE on every line: the same runs of digits, of
// letters and the same punctuation, not the same text, since clocks change
// from line to line. It runs only on lines inside a report (the scanner's
// slow path), and the stripping costs nothing in a document that needs
// none.

// shapeElem is one element of a prefix's shape.
type shapeElem struct {
	kind byte   // 'd' a run of digits, 'a' a run of letters, ' ' a run of spaces, 'p' a byte, 'w' a word
	lit  []byte // the byte ('p') or the word ('w')
}

// prefixShape is a learned prefix: nil when the document needs none.
type prefixShape []shapeElem

// maxShapeBytes bounds the prefix that is learned: a longer one is prose.
const maxShapeBytes = 96

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// shapeOf returns the shape of prefix p. A syslog tag "kernel" stays a
// word, so that the lines other programs logged keep their prefix.
func shapeOf(p []byte) prefixShape {
	var s prefixShape
	for i := 0; i < len(p); {
		c := p[i]
		j := i + 1
		switch {
		case isDigit(c):
			for j < len(p) && isDigit(p[j]) {
				j++
			}
			s = append(s, shapeElem{kind: 'd'})
		case isLetter(c):
			for j < len(p) && isLetter(p[j]) {
				j++
			}
			if string(p[i:j]) == "kernel" {
				s = append(s, shapeElem{kind: 'w', lit: []byte("kernel")})
			} else {
				s = append(s, shapeElem{kind: 'a'})
			}
		case c == ' ' || c == '\t':
			for j < len(p) && (p[j] == ' ' || p[j] == '\t') {
				j++
			}
			s = append(s, shapeElem{kind: ' '})
		default:
			s = append(s, shapeElem{kind: 'p', lit: []byte{c}})
		}
		i = j
	}
	return s
}

// marked tells a shape with something beyond words and spaces: a number,
// punctuation, the kernel's tag. Every prefix a program writes has one (a
// clock, a quote mark, a tag's colon); words alone match any prose.
func (s prefixShape) marked() bool {
	for _, e := range s {
		if e.kind != 'a' && e.kind != ' ' {
			return true
		}
	}
	return false
}

// clockOrQuote tells a shape that a program writes, not the kernel: it
// starts with a quote mark ("> ", "| ") or holds a clock or a date
// ("11:51:41", "2026-11-26"). Kernel lines share heads too ("XFS (loop4): "),
// and without a stamp or a tag only these marks tell the two apart.
func (s prefixShape) clockOrQuote() bool {
	if len(s) > 0 && s[0].kind == 'p' && strings.IndexByte(">|#*", s[0].lit[0]) >= 0 {
		return true
	}
	for i := 0; i+2 < len(s); i++ {
		if s[i].kind == 'd' && s[i+1].kind == 'p' && (s[i+1].lit[0] == ':' || s[i+1].lit[0] == '-') && s[i+2].kind == 'd' {
			return true
		}
	}
	return false
}

// match returns the length of b's prefix that has shape s.
func (s prefixShape) match(b []byte) (int, bool) {
	i := 0
	for k, e := range s {
		switch e.kind {
		case 'd':
			j := i
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			if j == i {
				return 0, false
			}
			i = j
		case 'a':
			j := i
			for j < len(b) && isLetter(b[j]) {
				j++
			}
			if j == i {
				return 0, false
			}
			i = j
		case 'w':
			if !bytes.HasPrefix(b[i:], e.lit) || i+len(e.lit) < len(b) && isLetter(b[i+len(e.lit)]) {
				return 0, false
			}
			i += len(e.lit)
		case ' ':
			j := i
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			// Padding inside brackets and before a number may shrink to
			// nothing ("[ 12.5]", "[123.5]"); a separator may not.
			padding := k > 0 && s[k-1].kind == 'p' && (s[k-1].lit[0] == '[' || s[k-1].lit[0] == '(') ||
				k+1 < len(s) && s[k+1].kind == 'd'
			if j == i && !padding {
				return 0, false
			}
			i = j
		default:
			if i >= len(b) || b[i] != e.lit[0] {
				return 0, false
			}
			i++
		}
	}
	return i, true
}

// anchorAt returns where the first unmistakable kernel output in t starts,
// or -1: the lines a prefix is learned from.
func anchorAt(t []byte) int {
	best := -1
	take := func(i int) {
		if i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	// arm64 and riscv print "Call trace:" and frames with no address:
	// their reports have no other anchor than the trace's line.
	for _, ct := range [...]string{"Call Trace:", "Call trace:"} {
		if i := bytes.Index(t, []byte(ct)); i >= 0 && len(bytes.TrimSpace(t[i+len(ct):])) == 0 {
			take(i)
		}
	}
	if i := bytes.Index(t, []byte("RIP: ")); i >= 0 {
		r := t[i+5:]
		if hasPrefix(r, "[<") || len(r) > 5 && isHexWord(r[:4]) && r[4] == ':' {
			take(i)
		}
	}
	if i := bytes.Index(t, []byte("IP: [<")); i >= 0 {
		// "RIP: [<...>]", "EIP: [<...>]", "IP: [<...>]" of older kernels.
		for i > 0 && t[i-1] >= 'A' && t[i-1] <= 'Z' {
			i--
		}
		take(i)
	}
	if i := bytes.Index(t, []byte("[<")); i >= 0 {
		j := i + 2
		for j < len(t) && isHex(t[j]) {
			j++
		}
		// "IP: [<...>]", "PC is at [<...>]": the frame is not where the
		// kernel's line starts.
		if j-i >= 10 && hasPrefix(t[j:], ">]") && !bytes.HasSuffix(t[:i], []byte("IP: ")) && !bytes.HasSuffix(t[:i], []byte(" at ")) &&
			!bytes.HasSuffix(t[:i], []byte("PC: ")) && !bytes.HasSuffix(t[:i], []byte("LR: ")) && !bytes.HasSuffix(t[:i], []byte(": ")) {
			take(i)
		}
	}
	if i := bytes.Index(t, []byte("RAX: ")); i >= 0 && i+5 < len(t) && isHex(t[i+5]) {
		take(i)
	}
	for _, a := range wholeAnchors {
		if i := bytes.Index(t, []byte(a)); i >= 0 && len(bytes.TrimSpace(t[i+len(a):])) == 0 {
			take(i)
		}
	}
	for _, a := range leadAnchors {
		if i := bytes.Index(t, []byte(a)); i >= 0 {
			take(i)
		}
	}
	if i := bytes.Index(t, []byte("Modules linked in:")); i >= 0 {
		take(i)
	}
	if i := bytes.Index(t, []byte("CPU: ")); i >= 0 {
		j := i + 5
		d := j
		for j < len(t) && isDigit(t[j]) {
			j++
		}
		// "WARNING: CPU: 0 PID: 1 at ..." is a header; the task line
		// names the command.
		if j > d && (hasPrefix(t[j:], " PID: ") || hasPrefix(t[j:], " UID: ")) && bytes.Contains(t[j:], []byte(" Comm: ")) {
			take(i)
		}
	}
	return best
}

// wholeAnchors are kernel lines that are whole lines: nothing follows.
var wholeAnchors = []string{
	"stack backtrace:", "other info that might help us debug this:", "------------[ cut here ]------------",
	"==================================================================",
}

// leadAnchors are the starts of kernel lines no prose or program writes.
var leadAnchors = []string{
	"---[ end trace", "Hardware name: ", "irq event stamp: ",
}

func isHexWord(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return len(b) > 0
}

// learnPrefix finds the prefix of t, a line whose kernel output starts at
// anchor a: the shortest head that, cut at a word or field boundary, leaves
// a line that line.go's recognisers read as the anchor's. ok is false when
// no cut does, or the head is too long to be a prefix.
func learnPrefix(t []byte, a int) (prefixShape, bool) {
	if a <= 0 || a > maxShapeBytes {
		return nil, false
	}
	for p := 1; p <= a; p++ {
		if !bytes.ContainsRune([]byte(" \t:]>|,="), rune(t[p-1])) && (p >= len(t) || t[p] != '[' && t[p] != '<') {
			continue // a prefix ends at a separator or before a stamp, not inside a word
		}
		v := normalize(t[p:], nil)
		if !v.kernel {
			continue
		}
		if anchorAt(v.text) == len(v.text)-len(trimLeftSpace(v.text)) {
			s := shapeOf(t[:p])
			if !s.marked() {
				// Words alone ("trusty crashed" run into the next
				// record) are any prose's start, not a prefix.
				continue
			}
			if n, ok := s.match(t); ok && n == p {
				return s, true
			}
		}
	}
	return nil, false
}

// applyShape strips a learned prefix from a normalized line, and what the
// recognisers find after it. ok is false when the line does not have the
// prefix (a wrapped line's rest, another program's line).
func applyShape(s prefixShape, v lineView) (lineView, bool) {
	n, ok := s.match(v.text)
	if !ok {
		return v, false
	}
	w := normalize(v.text[n:], nil)
	w.stamped = true
	if w.time == nil {
		w.time = v.time
	}
	if w.ctx == nil {
		w.ctx = v.ctx
	}
	return w, true
}

// learn looks for a prefix on a line of the open report that the current
// shape did not strip. A prefix is taken when the report's header line has
// it too; the lines of the report read so far are stripped again and the
// report's bounds recomputed, and v comes back stripped.
func (s *Scanner) learn(v lineView) lineView {
	a := anchorAt(v.text)
	if a == len(v.text)-len(trimLeftSpace(v.text)) && s.shape == nil && !v.cut {
		s.watch.clean = true
	}
	if a <= 0 {
		return v
	}
	shape, w, ok := s.adopt(v, a, true)
	if ok {
		s.shape = shape
	}
	return w
}

// confirmedBy reports whether another line of the open report has the
// shape: a prefix one line alone shows may be that line's own words.
func confirmedBy(shape prefixShape, lines []string) bool {
	for _, l := range lines {
		if _, ok := shape.match([]byte(l)); ok {
			return true
		}
	}
	return false
}

// recount reads the header and the bounds of a report again after its
// lines lost a prefix.
func (s *Scanner) recount(c *building) {
	c.header = trimSpace(c.lines[0])
	if f := detect(c.header, []byte(c.header)); f != nil {
		c.f = f
	}
	c.end, c.lastTrace, c.lastFrame, c.hasRIP = c.start, c.start, 0, false
	for i, l := range c.lines[1:] {
		n, t := c.lineNos[i+1], trimSpace(l)
		if hasPrefixS(t, "RIP: ") || hasPrefixS(t, "pc : ") || hasPrefixS(t, "PC is at ") {
			c.hasRIP = true
		}
		if isFrame(t) || isStackMarker(t) {
			c.lastFrame, c.lastTrace, c.end = n, n, n
		} else if looksLikeOopsLine(t) {
			c.lastTrace, c.end = n, n
		}
	}
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func hasPrefixS(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// prefixWatch learns a prefix outside reports, until the document shows
// one of its unmistakable lines without a prefix. A report whose header a
// prefix hides from the header formats is opened only once the prefix is
// known, so the recent lines that might hold a header wait here.
type prefixWatch struct {
	clean    bool        // an anchor line came without a prefix: stop watching
	cand     prefixShape // a prefix seen on one anchor line, not yet confirmed
	candLine int
	pending  [watchKeep]heldLine
	npending int
	prev     []byte // the line before, while the prefix is unknown
	prev2    []byte // and the one before it
}

// heldLine is a copy of a line that may have to be read again.
type heldLine struct {
	lineno          int
	text, ctx, time []byte
	kernel, stamped bool
}

const (
	watchKeep   = 8  // lines held
	watchWindow = 40 // how far back a held line is read again
	confirmGap  = 3  // lines within which a candidate prefix must show again
)

func (w *prefixWatch) hold(n int, v lineView) {
	h := heldLine{lineno: n, text: bytes.Clone(v.text), ctx: bytes.Clone(v.ctx), time: bytes.Clone(v.time)}
	if w.npending == watchKeep {
		copy(w.pending[:], w.pending[1:])
		w.npending--
	}
	w.pending[w.npending] = h
	w.npending++
}

// watchLine looks at a line outside any report while the document's
// prefix is unknown. A candidate prefix is taken once a following line has
// it too (prose that quotes "Call Trace:" is followed by more prose); then
// the held lines are read again without it.
func (s *Scanner) watchLine(v lineView) {
	w := &s.watch
	n := s.lineno
	if w.cand != nil {
		if _, ok := w.cand.match(v.text); ok {
			s.shape = w.cand
			w.cand = nil
			s.replayWatch(n)
			return
		}
		if n-w.candLine > confirmGap {
			w.cand = nil
		}
	}
	s.watchAnchor(v, n)
}

// replayWatch reads again the held lines before line n, now that the
// prefix is known.
func (s *Scanner) replayWatch(n int) {
	w := &s.watch
	held := w.pending[:w.npending]
	w.npending = 0
	saved := s.lineno
	for _, h := range held {
		if h.lineno < n-watchWindow || h.lineno >= n {
			continue
		}
		hv, ok := applyShape(s.shape, lineView{text: h.text, ctx: h.ctx, time: h.time, kernel: true})
		if !ok || !hv.kernel {
			continue
		}
		s.lineno = h.lineno
		if s.cur != nil || headerTokens.contains(hv.text) {
			s.stamped = hv.stamped
			s.line(hv.text, hv.ctx, hv.time)
		}
	}
	s.lineno = saved
}

// watchAnchor looks for a prefix on a line outside reports.
func (s *Scanner) watchAnchor(v lineView, n int) {
	w := &s.watch
	a := anchorAt(v.text)
	defer func() {
		w.prev2 = append(w.prev2[:0], w.prev...)
		w.prev = append(w.prev[:0], v.text...)
	}()
	// A prefix with neither stamp nor tag (a clock alone, a quote mark)
	// is the head before where a header starts on a held line, when two
	// lines around it have it too (commonPrefix).
	common := func(h heldLine, others ...[]byte) bool {
		if v.stamped {
			// After a kernel stamp, a head the lines share is the
			// kernel's own ("XFS (loop4): "), not a prefix.
			return false
		}
		held := []heldLine{h}
		for _, o := range others {
			if len(o) == 0 {
				return false
			}
			held = append(held, heldLine{text: o, kernel: true})
		}
		shape, ok := commonPrefix(held)
		if ok && shape.clockOrQuote() {
			s.shape = shape
			s.replayWatch(n)
		}
		return ok
	}
	switch {
	case a < 0:
		if headerTokens.contains(v.text) {
			w.hold(n, v)
			if len(w.prev) > 0 {
				// A header the formats may not see behind an unknown
				// prefix: learned when the line before has the prefix
				// too, and a kernel stamp or tag ends it.
				if shape, ok := stampedPrefix([]heldLine{{text: v.text}, {text: w.prev}}); ok {
					s.shape = shape
					s.replayWatch(n)
				} else {
					common(w.pending[w.npending-1], w.prev, w.prev2)
				}
			}
		} else if w.npending > 0 && w.pending[w.npending-1].lineno == n-1 && headerTokens.contains(w.prev) {
			// Or when the line after has it: a header that opens the
			// document has no line before.
			if shape, ok := stampedPrefix([]heldLine{{text: w.prev}, {text: v.text}}); ok {
				s.shape = shape
				s.replayWatch(n)
			} else if w.pending[w.npending-1].lineno > 1 {
				common(w.pending[w.npending-1], w.prev2, v.text)
			}
		} else if w.npending > 0 && w.pending[w.npending-1].lineno == n-2 {
			common(w.pending[w.npending-1], w.prev, v.text)
		}
	case a == len(v.text)-len(trimLeftSpace(v.text)):
		if !v.cut {
			w.clean = true
			w.npending = 0
		}
	default:
		if shape, ok := learnPrefix(v.text, a); ok {
			w.cand, w.candLine = shape, n
			w.hold(n, v)
		}
	}
}

// lookAhead holds the lines after a report's header while the document's
// prefix is unknown, up to lookLines of them: the first unmistakable line
// among them tells whether the header and its followers carry a prefix.
// Then they are read, stripped of it if any. The header's own line cannot
// tell: prose may precede a header ("see: WARNING: ..."), and a prefix
// hides where the header starts.
type lookAhead struct {
	active    bool
	want      bool // the header just read asked for a look-ahead
	replaying bool
	held      []heldLine
}

const (
	lookLines   = 256
	maxHeldLine = 4 << 10 // bytes of a held line: a longer one is no prefix's business
)

func holdLine(n int, v lineView) heldLine {
	t := v.text
	if len(t) > maxHeldLine {
		t = t[:maxHeldLine]
	}
	return heldLine{lineno: n, text: bytes.Clone(t), ctx: bytes.Clone(v.ctx), time: bytes.Clone(v.time), kernel: v.kernel, stamped: v.stamped}
}

func (s *Scanner) startLook(v lineView) {
	s.look.active = true
	s.look.held = append(s.look.held[:0], holdLine(s.lineno, v))
}

// lookAhead takes one line while a look-ahead is open.
func (s *Scanner) lookAhead(v lineView) {
	l := &s.look
	l.held = append(l.held, holdLine(s.lineno, v))
	if v.kernel {
		a := anchorAt(v.text)
		switch {
		case a < 0:
		case a == len(v.text)-len(trimLeftSpace(v.text)):
			if !v.cut {
				s.watch.clean = true
				s.resolveLook()
				return
			}
		default:
			// Another held line must have the prefix too: prose that
			// quotes a kernel line is not followed by the same prose.
			if shape, ok := learnPrefix(v.text, a); ok {
				for _, h := range l.held[:len(l.held)-1] {
					if _, ok := shape.match(h.text); ok {
						s.shape = shape
						s.resolveLook()
						return
					}
				}
			}
		}
	}
	if len(l.held) >= lookLines {
		s.resolveLook()
	}
}

// stampedPrefix is the fallback when no unmistakable line came: a report
// of a few lines. The prefix is then what precedes a stamp line.go knows
// (a kernel timestamp, a loglevel) on the header, if another held line
// has it too.
func stampedPrefix(held []heldLine) (prefixShape, bool) {
	if len(held) < 2 {
		return nil, false
	}
	t := held[0].text
	for p := 1; p < len(t) && p <= maxShapeBytes; p++ {
		if t[p] != '[' && t[p] != '<' || t[p-1] != ' ' && t[p-1] != '\t' && t[p-1] != ':' && t[p-1] != '>' {
			continue
		}
		if v := normalize(t[p:], nil); !v.stamped {
			continue
		}
		shape := shapeOf(t[:p])
		for _, h := range held[1:] {
			if n, ok := shape.match(h.text); ok && n < len(h.text) && (h.text[n] == '[' || h.text[n] == '<') {
				return shape, true
			}
		}
		return nil, false
	}
	return taggedPrefix(held)
}

// commonPrefix is the fallback for a prefix with neither a kernel stamp
// nor the kernel's tag (a locale's clock alone): the head of the header
// line before where its header starts, if it has a mark and every other
// held line (two at least) has it too. Of the cuts before the header, the
// longest that all lines share is taken: punctuation may stand between the
// prefix and the header ("| [ INFO: ... ]").
func commonPrefix(held []heldLine) (prefixShape, bool) {
	if len(held) < 3 {
		return nil, false
	}
	t := held[0].text
	var cuts [8]int
	nc := 0
	for p := 1; p < len(t) && p <= maxShapeBytes && nc < len(cuts); p++ {
		if !bytes.ContainsRune([]byte(" \t:]>|,="), rune(t[p-1])) {
			continue
		}
		if v := normalize(t[p:], nil); v.kernel && headerAtStart(v.text) {
			cuts[nc] = p
			nc++
		}
	}
next:
	for k := nc - 1; k >= 0; k-- {
		shape := shapeOf(t[:cuts[k]])
		if !shape.marked() {
			return nil, false
		}
		n := 0
		for _, h := range held[1:] {
			if !h.kernel {
				continue
			}
			if _, ok := shape.match(h.text); !ok {
				continue next
			}
			n++
		}
		return shape, n >= 2
	}
	return nil, false
}

// headerAtStart tells a line that a header format matches from its start
// on: no word nor number, which prose or a prefix would have, before it
// (old lockdep's banner "[ BUG: ... ]" has punctuation).
func headerAtStart(text []byte) bool {
	rest := strings.TrimSpace(string(text))
	if isPanicLine(rest) {
		return true
	}
	f := detect(rest, []byte(rest))
	if f == nil || f.re == nil {
		return false
	}
	loc := f.re.FindStringIndex(rest)
	if loc == nil {
		return false
	}
	for _, c := range []byte(rest[:loc[0]]) {
		if isLetter(c) || isDigit(c) {
			return false
		}
	}
	return true
}

// taggedPrefix is the fallback for a syslog form without a kernel stamp:
// the prefix ends after the tag "kernel" and the punctuation after it
// ("kernel: ", "kernel - - - "), if another held line has it too.
func taggedPrefix(held []heldLine) (prefixShape, bool) {
	t := held[0].text
	for i := 0; ; {
		p, next, ok := kernelTagEnd(t, i)
		if !ok {
			return nil, false
		}
		i = next
		shape := shapeOf(t[:p])
		for _, h := range held[1:] {
			if _, ok := shape.match(h.text); ok {
				return shape, true
			}
		}
	}
}

// kernelTagEnd finds, from i on, where a syslog tag "kernel" and the
// punctuation after it end in t; next is where to look for another.
func kernelTagEnd(t []byte, i int) (p, next int, ok bool) {
	for {
		j := bytes.Index(t[i:], []byte("kernel"))
		if j < 0 || i+j > maxShapeBytes {
			return 0, 0, false
		}
		k := i + j
		i = k + len("kernel")
		if k > 0 && isLetter(t[k-1]) || i < len(t) && isLetter(t[i]) {
			continue
		}
		p := i
		if p < len(t) && t[p] == '[' {
			// A syslog tag's process id: "kernel[0]: ".
			q := p + 1
			for q < len(t) && isDigit(t[q]) {
				q++
			}
			if q > p+1 && q < len(t) && t[q] == ']' {
				p = q + 1
			}
		}
		for p < len(t) && !isLetter(t[p]) && !isDigit(t[p]) && t[p] != '[' && t[p] != '<' && t[p] != '(' && t[p] != '_' {
			p++ // ": ", " - - - ", ": | "
		}
		if p >= len(t) || !bytes.ContainsAny(t[i:p], ":-") {
			continue // "kernel stack ..." is the kernel's own word
		}
		return p, i, true
	}
}

// resolveLook reads the held lines, with the prefix learned if any.
func (s *Scanner) resolveLook() {
	l := &s.look
	if !l.active {
		return
	}
	l.active = false
	held := l.held
	if s.shape == nil && !s.watch.clean {
		if shape, ok := stampedPrefix(held); ok {
			s.shape = shape
		} else if shape, ok := commonPrefix(held); ok {
			s.shape = shape
		} else if s.finishing {
			// A document that ends in a report no line of which
			// taught the prefix (one line, or one cut by a wrap not
			// learned): its prefix is what a kernel timestamp, or
			// the kernel's tag, ends before the header.
			if shape, ok := soleStampedPrefix(held[0].text); ok {
				s.shape = shape
			} else if shape, ok := soleTaggedPrefix(held[0].text); ok {
				s.shape = shape
			}
		}
	}
	l.held = nil
	if s.shape != nil && len(held) > 0 {
		// Headers the prefix hid from the formats, just before the one
		// that opened the look-ahead, are read again first.
		var before []heldLine
		for _, h := range s.watch.pending[:s.watch.npending] {
			if h.lineno < held[0].lineno && h.lineno >= held[0].lineno-watchWindow {
				h.kernel = true
				before = append(before, h)
			}
		}
		s.watch.npending = 0
		held = append(before, held...)
	}
	saved := s.lineno
	l.replaying = true
	for _, h := range held {
		s.lineno = h.lineno
		s.after(lineView{text: h.text, ctx: h.ctx, time: h.time, kernel: h.kernel, stamped: h.stamped})
	}
	l.replaying = false
	s.lineno = saved
}

// Hard wraps. A paste folded at a fixed width continues a long kernel line
// on the next line without the line's prefix. The width is learned from the
// document's first bytes: it is the longest line, if several lines have
// exactly that length and none is longer. A line of that width is then held
// until the next line tells whether it continues it.

const (
	wrapProbe    = 64 << 10 // bytes of a document the width is learned from
	minWrapWidth = 60
	minWrapLines = 2
)

// wrapWidth learns the wrap width from the start of a document, or 0: the
// longest line's length, when no line is longer and either several lines
// have it or the line after one does not start as it does (its prefix
// stayed on the line before).
func wrapWidth(b []byte) int {
	// The last line may be cut by the probe's end.
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return 0
	}
	b = b[:i]
	maxLen, count, lines, lost, changed, changedCap := 0, 0, 0, 0, 0, 0
	var firsts [256]int
	var prev []byte
	prevMax := false
	for len(b) > 0 {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		l = bytes.TrimRight(l, "\r")
		lines++
		if len(l) > 0 {
			firsts[l[0]]++
		}
		if prevMax && len(l) > 0 && len(prev) > 0 && !isMarkup(l) {
			switch {
			case stampedLine(prev) && !stampedLine(l):
				// In a stamped log, the line after a longest one lost
				// the stamp.
				lost++
			case l[0] != prev[0] && l[0] != ' ' && !startsOopsLine(l):
				// Or it does not start as the longest one did; in a
				// bare log, where lines start otherwise anyway, only
				// when it does not start as a message does (a capital).
				if l[0] >= 'A' && l[0] <= 'Z' {
					changedCap++
				} else {
					changed++
				}
			}
		}
		n := len(l)
		if n >= minWrapWidth {
			n = utf8.RuneCount(l)
		}
		prevMax = false
		switch {
		case n > maxLen:
			maxLen, count, lost, changed, changedCap, prevMax = n, 1, 0, 0, 0, true
		case n == maxLen:
			count++
			prevMax = true
		}
		prev = l
	}
	// A line that does not start as the one before says something only
	// in a document whose lines start alike (a prefix); in a bare log
	// every kernel line starts otherwise.
	dominant := 0
	for _, c := range firsts {
		dominant = max(dominant, c)
	}
	evidence := lost + changed
	strong := lost // a lost stamp, or a lost prefix where every line has one
	// The cut lines' rests, one per line at the width, start otherwise.
	if dominant*5 >= (lines-count)*4 {
		evidence += changedCap
		strong += changed + changedCap
	}
	// Few lines at the width is a long line's length by chance, unless
	// the lines after them lost their prefix: then they were cut. In a
	// bare log one line going on in lower case is not enough.
	if maxLen < minWrapWidth || count <= minWrapLines && strong == 0 && evidence < minWrapLines || count*50 < lines && evidence < minWrapLines {
		return 0
	}
	return maxLen
}

// startsOopsLine tells a line that begins as a report's own lines do
// ("Modules linked in:", "CPU: 1 PID:"): after a long unprefixed line (a
// WARNING's header) it is the kernel's next line, not the rest of a cut
// one. Prefixes shorter than 4 bytes ("#", "x1") could start any rest.
func startsOopsLine(l []byte) bool {
	for _, p := range oopsLinePrefixes {
		if len(p) >= 4 && bytes.HasPrefix(l, []byte(p)) {
			return true
		}
	}
	return false
}

// stampedLine tells a line whose head, after whatever prefix, is a kernel
// timestamp: the line's first bracket opens one. A stamp further in is
// the message's ("panic (caller [ 1117.1] ...") or after a wall clock's
// brackets, and says nothing.
func stampedLine(l []byte) bool {
	l = l[:min(len(l), maxShapeBytes+16)]
	i := bytes.IndexByte(l, '[')
	if i < 0 {
		return false
	}
	_, ok := kernelTimestamp(l[i:])
	return ok
}

// wrapState is a line of the wrap width held for its continuation.
type wrapState struct {
	width  int
	held   bool
	lineno int
	skew   int  // the scanner's skew when the line was held
	first  byte // the held line's first byte
	indent int  // the held line's leading spaces and tabs
	v      lineView
	buf    []byte
	raw    []byte // the held line as read, for its wall clock
}

// wrapped reports whether raw is exactly the wrap width long.
func (w *wrapState) full(raw []byte) bool {
	raw = bytes.TrimRight(raw, "\r\n")
	return len(raw) >= w.width && utf8.RuneCount(raw) == w.width
}

// learnMore learns the rest of a prefix from a line of the open report
// that still has one after the learned shape.
func (s *Scanner) learnMore(v lineView) lineView {
	a := anchorAt(v.text)
	if a <= len(v.text)-len(trimLeftSpace(v.text)) {
		return v
	}
	shape, w, ok := s.adopt(v, a, false)
	if ok {
		s.shape2 = shape
	}
	return w
}

// adopt learns the prefix ending at a on v and, when another line of the
// open report has it too, strips it from the report's lines (stamped: a
// stripped first line makes the report a stamped one), recounts the
// report and returns v stripped. ok is false, and v unchanged, otherwise.
func (s *Scanner) adopt(v lineView, a int, stamped bool) (prefixShape, lineView, bool) {
	shape, ok := learnPrefix(v.text, a)
	if !ok {
		return nil, v, false
	}
	c := s.cur
	if !confirmedBy(shape, c.lines) {
		return nil, v, false
	}
	for i, l := range c.lines {
		if w, ok := applyShape(shape, lineView{text: []byte(l), kernel: true}); ok && w.kernel {
			c.lines[i] = string(w.text)
			c.stamped = c.stamped || stamped && i == 0
		}
	}
	s.recount(c)
	w, _ := applyShape(shape, v)
	return shape, w, true
}

// isMarkup tells a line of the page around a pasted log: a markdown fence,
// an HTML tag. It never continues a wrapped kernel line.
func isMarkup(l []byte) bool {
	return bytes.HasPrefix(l, []byte("```")) || bytes.HasPrefix(l, []byte("~~~")) || len(l) > 1 && l[0] == '<' && (l[1] == '/' || l[1] >= 'a' && l[1] <= 'z')
}

// soleStampedPrefix is the prefix of a document's only kernel line: what
// precedes its kernel timestamp.
func soleStampedPrefix(t []byte) (prefixShape, bool) {
	for p := 1; p < len(t) && p <= maxShapeBytes; p++ {
		if t[p] != '[' || t[p-1] != ' ' && t[p-1] != '\t' && t[p-1] != ':' {
			continue
		}
		// The header must be after the prefix: "general protection
		// fault: 0000 [#1] [ 387.8] audit: ..." is two lines run together.
		if v := normalize(t[p:], nil); len(v.time) > 0 || v.stamped {
			if isSoleHeader(v.text) {
				return shapeOf(t[:p]), true
			}
			return nil, false
		}
	}
	return nil, false
}

// soleTaggedPrefix is soleStampedPrefix for a syslog form without a
// kernel stamp: the prefix ends after the tag "kernel" and its
// punctuation, and a header follows.
func soleTaggedPrefix(t []byte) (prefixShape, bool) {
	for i := 0; ; {
		p, next, ok := kernelTagEnd(t, i)
		if !ok {
			return nil, false
		}
		i = next
		if v := normalize(t[p:], nil); v.kernel && isSoleHeader(v.text) {
			return shapeOf(t[:p]), true
		}
	}
}

func isSoleHeader(text []byte) bool {
	rest := strings.TrimSpace(string(text))
	return isPanicLine(rest) || detect(rest, []byte(rest)) != nil
}

// soleHeader reads the document's last line, when it holds a header the
// formats could not see behind a prefix that no other line taught (a
// paste of the header alone): its prefix is what a stamp or the kernel's
// tag ends, as for a look-ahead that held the header alone.
func (s *Scanner) soleHeader() {
	w := &s.watch
	if s.shape != nil || w.clean || s.cur != nil || s.look.active || w.npending == 0 {
		return
	}
	h := w.pending[w.npending-1]
	if h.lineno != s.lineno {
		return
	}
	shape, ok := soleStampedPrefix(h.text)
	if !ok {
		shape, ok = soleTaggedPrefix(h.text)
	}
	if !ok {
		return
	}
	s.shape = shape
	s.replayWatch(s.lineno + 1)
}
