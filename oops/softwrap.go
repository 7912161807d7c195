package oops

import (
	"bytes"
	"unicode/utf8"
)

// Soft wraps. A mailer or a bug tracker folds a pasted log at word
// boundaries, not at a fixed width: a kernel line goes on, without its
// stamp, on the next line ("RCX:" / "0000000000000000"), and a reflowed
// paragraph even runs the next record into the line ("... #1
// [6514198.125512][   C75]" / "Hardware name: ..."). Hard wraps
// (prefix.go) cut at one width, inside words; these cut where the next word
// would not fit, and the lines differ in length.
//
// A stamped log is read as records again: a line without a stamp that
// follows a stamped one continues it when a word-wrapping mailer would have
// broken there (the line before plus its first word is wider than any line
// of the document); where records were run together, every stamp starts a
// record. The evidence is learned from the document's first bytes, and a
// log without it is read line by line as before.

const (
	maxSoftWidth = 100 // mailers fold at 72 to 80 columns, trackers at 80 to 100
	minSoftWidth = 40
)

// softWrap learns whether the document is soft-wrapped: width is the
// widest line when lines that lost their stamp continue the line before as
// a word-wrapping mailer would have broken it, lines of several lengths, or
// 0; split is set when stamps stand inside lines, records run together.
// Either takes precedence over a hard wrap (wrapWidth).
func softWrap(b []byte) (width int, split bool) {
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return 0, false
	}
	lines := bytes.Split(b[:i], []byte("\n"))
	var lens []int
	mid := 0
	for k, l := range lines {
		l = bytes.TrimRight(l, "\r ")
		lines[k] = l
		if len(l) > 0 {
			lens = append(lens, utf8.RuneCount(l))
		}
		if midStamp(l) > 0 && !normalize(l, nil).stamped {
			// Not a prefix line.go knows before the record's stamp
			// ("** 12 printk messages dropped ** [ts]", a syslog's).
			mid++
		}
	}
	// The fold width: the longest line that a mailer could have folded,
	// one with a space inside; a line of one long word stays as it is.
	if len(lens) == 0 {
		return 0, false
	}
	w := 0
	for _, l := range lines {
		if t := bytes.TrimLeft(l, " \t"); bytes.IndexByte(t, ' ') > 0 {
			w = max(w, utf8.RuneCount(l))
		}
	}
	if w > maxSoftWidth || w < minSoftWidth {
		return 0, false
	}
	stamped, leading, good, bad, short := 0, 0, 0, 0, 0
	var prev []byte
	prevStamped := false
	for _, l := range lines {
		st := stampedLine(l)
		if st {
			stamped++
		}
		if _, ok := kernelTimestamp(bytes.TrimLeft(l, " \t")); ok {
			leading++
		}
		if n := utf8.RuneCount(prev); !st && len(l) > 0 && prevStamped && n > 0 && n <= w {
			if n+1+len(firstWord(l)) > w {
				good++
				if n < w {
					short++
				}
			} else {
				bad++
			}
		}
		prevStamped = st || prevStamped && len(l) > 0 && len(prev) > 0
		prev = l
	}
	if stamped < 2 {
		return 0, false
	}
	// Stamps inside lines of a log whose records start lines with their
	// stamp: records run together. (A syslog's stamps all stand after its
	// prefix, on every line.)
	if mid >= 2 && leading >= 2 {
		return w, true
	}
	// Cut lines of several lengths, most shorter than the widest: a hard
	// wrap cuts all at one.
	atMax := good - short
	if good >= 2 && good >= 2*bad && short >= 2 && short >= atMax {
		return w, false
	}
	// A short paste: one fold, and no line that contradicts it.
	if len(lines) < 20 && good >= 1 && bad == 0 && short >= 1 && atMax == 0 {
		return w, false
	}
	return 0, false
}

// minHardCuts is how many lines of exactly the wrap width make a hard wrap
// beyond doubt: a long log folded at one width has many.
const minHardCuts = 5

// hardCuts tells a hard wrap at width by its lines' lengths: many lines of
// exactly the width and, twice as many as of the five widths just short of
// it. A word-wrapping mailer leaves lines of all lengths near its width.
func hardCuts(b []byte, width int) bool {
	at, near := 0, 0
	for len(b) > 0 {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		switch n := utf8.RuneCount(bytes.TrimRight(l, "\r")); {
		case n == width:
			at++
		case n >= width-5 && n < width:
			near++
		}
	}
	return at >= minHardCuts && at >= 2*near
}

// firstWord is l's first word, its leading spaces left out.
func firstWord(l []byte) []byte {
	l = bytes.TrimLeft(l, " \t")
	if i := bytes.IndexAny(l, " \t"); i >= 0 {
		return l[:i]
	}
	return l
}

// midStamp returns where a kernel stamp starts inside l after some text
// (a record run into the line), or -1.
func midStamp(l []byte) int {
	for i := 1; i < len(l); i++ {
		j := bytes.IndexByte(l[i:], '[')
		if j < 0 {
			return -1
		}
		i += j
		if l[i-1] != ' ' && l[i-1] != '\t' {
			continue
		}
		if _, ok := kernelTimestamp(l[i:]); ok && len(bytes.TrimSpace(l[:i])) > 0 {
			return i
		}
	}
	return -1
}

// softState is the record being put together from a soft-wrapped log.
type softState struct {
	width  int
	split  bool
	buf    []byte // the record so far
	last   int    // the width of its last physical line
	phys   int    // the physical line the record starts on
	logic  int    // records read so far
	physNo int    // physical lines read so far
}

// softFeed reads one physical line of a soft-wrapped log.
func (s *Scanner) softFeed(raw []byte) {
	w := &s.soft
	w.physNo++
	l := bytes.TrimRight(raw, "\r\n")
	newRecord := stampedLine(l)
	if w.split {
		// Records run together: a line is a new record only when it
		// starts with the stamp; one further in starts it below.
		_, newRecord = kernelTimestamp(bytes.TrimLeft(l, " \t"))
	}
	if len(w.buf) > 0 && len(bytes.TrimSpace(l)) > 0 && !newRecord &&
		(w.split || w.last+1+len(firstWord(l)) > w.width) {
		rest := bytes.TrimLeft(l, " \t")
		if !(w.last == w.width && cutRun(w.buf, rest)) && w.buf[len(w.buf)-1] != ' ' && w.buf[len(w.buf)-1] != '\t' {
			// Folded before a word; only a rule of one character
			// ("=====") run to the last column was cut inside.
			w.buf = append(w.buf, ' ')
		}
		w.buf = append(w.buf, rest...)
		w.last = utf8.RuneCount(l)
	} else {
		s.softFlush()
		w.buf = append(w.buf[:0], l...)
		w.last, w.phys = utf8.RuneCount(l), w.physNo
	}
	if len(w.buf) > MaxLine {
		w.buf = w.buf[:MaxLine]
	}
	for w.split {
		i := midStamp(w.buf)
		if i < 0 {
			break
		}
		rest := bytes.Clone(w.buf[i:])
		w.buf = bytes.TrimRight(w.buf[:i], " \t")
		s.softFlush()
		w.buf, w.phys = append(w.buf[:0], rest...), w.physNo
	}
}

// cutRun tells a run of one punctuation character cut in two: the held
// record ends with it and the next line starts with it.
func cutRun(held, next []byte) bool {
	if len(held) == 0 || len(next) == 0 {
		return false
	}
	c := held[len(held)-1]
	return c == next[0] && (c == '=' || c == '-' || c == '*' || c == '#')
}

// softFlush reads the record put together, numbered by the physical line
// it starts on.
func (s *Scanner) softFlush() {
	w := &s.soft
	if w.buf == nil {
		return
	}
	w.logic++
	s.lineno, s.skew = w.phys, w.phys-w.logic
	s.raw = w.buf
	s.take(normalize(w.buf, &s.style))
	w.buf = w.buf[:0]
	if len(w.buf) == 0 {
		w.buf = nil
	}
}
