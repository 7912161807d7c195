package oops

import (
	"bytes"
	"encoding/binary"
)

// Line is one log line with the prefixes that logging layers add removed:
// syslog and journal headers, the printk loglevel, the timestamp, the caller
// id, serial-console carriage returns and colour escapes, ticket indentation.
type Line struct {
	// Text is the message as the kernel printed it. Leading spaces that the
	// kernel printed (trace lines are indented) are kept.
	Text string
	// Context is the printk caller id ("T123", "C1") or "" when absent; with
	// it, interleaved output of other tasks can be told apart.
	Context string
	// Kernel is false for lines that a syslog or journal header attributes to
	// another program: they are never part of a kernel report.
	Kernel bool
	// Stamped is set when the line carried a kernel timestamp or a log header.
	Stamped bool
}

// NormalizeLine strips the prefixes of one raw log line (without its
// newline). It never fails: text it does not recognise comes back unchanged.
func NormalizeLine(raw []byte) Line {
	v := normalize(raw, nil)
	return Line{Text: string(v.text), Context: string(v.ctx), Kernel: v.kernel, Stamped: v.stamped}
}

// lineView is NormalizeLine's result without copies: the scanner looks at
// every line of a large log and keeps few of them.
type lineView struct {
	text    []byte
	ctx     []byte
	time    []byte // the kernel timestamp's seconds ("123.456789"), if any
	kernel  bool
	stamped bool
	// cut is set when text was cut from the middle of the line (a login
	// prompt run into it): what preceded it says nothing of a prefix.
	cut bool
}

// styleState remembers what a document's lines have shown, so that prefix
// forms it never uses stop costing a check per line.
type styleState struct {
	stamped   int  // timestamped lines seen
	hostTags  bool // a "[ts] host kernel: " line was seen
	hostGiven bool // stopped looking for them
	// kernelTags is set once a syslog header named the kernel as its tag:
	// from then on, other tags are other programs.
	kernelTags bool
}

// hostTagProbe is how many timestamped lines are checked for journalctl's
// short-monotonic host tag before a document is taken not to use it.
const hostTagProbe = 256

func normalize(raw []byte, st *styleState) lineView {
	b := raw
	// Serial consoles end lines with CR and colour them with ANSI escapes.
	for len(b) > 0 && (b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	// Colour escapes, and bytes no kernel message holds (a NUL from a
	// serial line or a zeroed ring slot, 0xFF noise), go before any
	// matching, so that one of them neither splits a trace nor changes
	// a title: every consumer of a line sees it cleaned here.
	if mayHoldJunk(b) {
		b = dropJunk(b)
	}
	ln := lineView{kernel: true}
	// Pasted text is often indented as a whole; the kernel's own indentation
	// of trace lines is after the prefix and survives.
	b = trimLeftSpace(b)
	b = stripNonASCIILead(b)
	// A mail's or a tracker's quote marks ("> ", ">> ", "| ") before a
	// kernel stamp: the stamp says what follows is the kernel's, whether or
	// not the document's other lines are quoted too.
	if len(b) > 1 && (b[0] == '>' || b[0] == '|') {
		if rest := skipQuoteMarks(b); len(rest) < len(b) {
			if _, ok := kernelTimestamp(rest); ok || loglevelLen(rest) > 0 {
				b = rest
			}
		}
	}
	if len(b) > 2 && b[0] == '<' && (b[1] >= 'a' && b[1] <= 'z' || b[1] == '/') {
		b = stripHTMLTags(b)
	}

	// A journal or syslog header: DATE HOST TAG: message. It starts with a
	// month name or a year.
	if len(b) > 0 && b[0] != '[' && b[0] != '<' {
		b, ln = syslogPrefix(b, ln, st)
		if !ln.kernel {
			return ln
		}
	}
	// crash(8) `log -T`: "[Sun Jan  1 12:00:00 UTC 2026] ".
	if len(b) > 1 && b[0] == '[' && b[1] >= 'A' && b[1] <= 'Z' {
		if rest, ok := crashWallClock(b); ok {
			ln.stamped = true
			b = rest
		}
	}
	// "** 12 printk messages dropped ** " precedes the next message.
	if bytes.HasPrefix(b, []byte("** ")) {
		if i := bytes.Index(b[3:], []byte(" messages dropped ** ")); i >= 0 && i < 24 {
			b = b[3+i+len(" messages dropped ** "):]
		}
	}
	// syzkaller's login prompt runs into the first kernel line.
	if len(b) > 0 && b[0] != '[' && b[0] != '<' && !ln.stamped {
		if i := bytes.Index(b, []byte(" login: ")); i > 0 && i < 64 && len(b) > i+8 && (b[i+8] == '[' || b[i+8] == '<') {
			b = b[i+8:]
			ln.cut = true
		}
	}
	// printk loglevel "<4>" or with facility "<12>".
	if n := loglevelLen(b); n > 0 {
		b = b[n:]
		ln.stamped = true
	}
	// "[  123.456789]" timestamp, possibly followed by a caller id.
	if rest, ok := kernelTimestamp(b); ok {
		ln.stamped = true
		ln.time = bytes.TrimLeft(b[1:len(b)-len(rest)-1], " ")
		b = rest
		// journalctl -o short-monotonic: "[ 123.456789] host kernel: msg".
		// Only the kernel tag is stripped: "usb 1-1: ..." is a kernel
		// message of the same shape.
		if st == nil || st.hostTags || !st.hostGiven {
			if r2, ok := kernelHostTag(b); ok {
				b = r2
				if st != nil {
					st.hostTags = true
				}
			}
			if st != nil {
				st.stamped++
				st.hostGiven = st.stamped > hostTagProbe
			}
		}
	}
	// A console that stamps the lines it shows, showing raw records
	// ("[  0.5] <6>[ 85.5] WARNING: ..."): the record's own stamp is the
	// kernel's, and its text what the header formats read.
	if ln.stamped && len(b) > 4 && (b[0] == '<' || b[0] == ' ' && b[1] == '<') {
		r := trimLeftSpace(b)
		if n := loglevelLen(r); n > 0 {
			if rest, ok := kernelTimestamp(r[n:]); ok {
				ln.time = bytes.TrimLeft(r[n+1:len(r)-len(rest)-1], " ")
				b = rest
			}
		}
	}
	if rest, ctx, ok := callerID(b); ok {
		ln.ctx = ctx
		b = rest
	}
	if ln.stamped && len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	ln.text = b
	return ln
}

// loglevelLen is the length of a printk loglevel "<4>", or with facility
// "<12>", at the start of b; 0 when there is none.
func loglevelLen(b []byte) int {
	if len(b) < 3 || b[0] != '<' {
		return 0
	}
	j := 1
	for j < len(b) && j < 5 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j > 1 && j < len(b) && b[j] == '>' {
		return j + 1
	}
	return 0
}

func trimLeftSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// stripNonASCIILead drops a bullet or other non-ASCII decoration that web
// pages put before pasted lines ("• ", NBSP), when what follows is a prefix.
func stripNonASCIILead(b []byte) []byte {
	if len(b) == 0 || b[0] < 0x80 {
		return b
	}
	i := 0
	for i < len(b) && i < 8 && (b[i] >= 0x80 || b[i] == ' ') {
		i++
	}
	if i < len(b) && (b[i] == '[' || b[i] == '<') {
		return b[i:]
	}
	return b
}

// isJunk tells the bytes a log line may carry that no kernel message
// holds: C0 controls but the tab, DEL, and bytes never valid in UTF-8.
func isJunk(c byte) bool {
	return c < 0x20 && c != '\t' || c == 0x7f || c == 0xc0 || c == 0xc1 || c >= 0xf5
}

// mayHoldJunk is a fast test, eight bytes at a time, that b holds no junk:
// false for a line of printable ASCII, true when it holds a control byte,
// DEL or any non-ASCII byte (dropJunk then looks closer). This runs on
// every line of a log.
func mayHoldJunk(b []byte) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	// A byte's high bit ends up set by x itself (non-ASCII), by x-0x20
	// (a byte below 0x20 borrows) or by x+1 (DEL becomes 0x80). Carries
	// and borrows cross bytes only where one of these already holds, so
	// there is no false negative; two words a round halve the branches.
	for len(b) >= 16 {
		x, y := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		if (x|(x-ones*0x20)|(x+ones)|y|(y-ones*0x20)|(y+ones))&high != 0 {
			return true
		}
		b = b[16:]
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return true
		}
	}
	return false
}

// dropJunk returns b without its CSI escape sequences (colours, cursor
// moves) and junk bytes; b itself when it holds neither.
func dropJunk(b []byte) []byte {
	i := 0
	for i < len(b) && !isJunk(b[i]) {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b))
	copy(out, b[:i])
	for ; i < len(b); i++ {
		c := b[i]
		if c == 0x1b {
			if i+1 < len(b) && b[i+1] == '[' {
				j := i + 2
				for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
					j++
				}
				i = j
				continue
			}
			i++ // two-byte escape
			continue
		}
		if !isJunk(c) {
			out = append(out, c)
		}
	}
	return out
}

// hasPrefix is bytes.HasPrefix for a string prefix, without converting it.
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// kernelTimestamp matches "[  123.456789]" (seconds and fraction).
func kernelTimestamp(b []byte) ([]byte, bool) {
	if len(b) < 4 || b[0] != '[' {
		return b, false
	}
	i := 1
	for i < len(b) && b[i] == ' ' {
		i++
	}
	i, ok := digitsThen(b, i, '.')
	if !ok {
		return b, false
	}
	if i, ok = digitsThen(b, i+1, ']'); !ok {
		return b, false
	}
	return b[i+1:], true
}

// digitsThen reports whether b holds one or more digits from i followed by
// end, and where end is.
func digitsThen(b []byte, i int, end byte) (int, bool) {
	d := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i, i > d && i < len(b) && b[i] == end
}

// callerID matches CONFIG_PRINTK_CALLER's "[ T123]" or "[  C1]", right after
// the timestamp, with or without a space between.
func callerID(b []byte) ([]byte, []byte, bool) {
	i := 0
	if i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || b[i] != '[' {
		return b, nil, false
	}
	i++
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || (b[i] != 'T' && b[i] != 'C') {
		return b, nil, false
	}
	s := i
	i, ok := digitsThen(b, i+1, ']')
	if !ok || i-s > 8 {
		return b, nil, false
	}
	return b[i+1:], b[s:i], true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// syslogHeader matches the date, host and tag headers of syslog
// ("Nov 26 03:12:44 host kernel: "), high-precision syslog and journalctl
// short/short-precise ("Nov 26 03:12:44.123456 host kernel: "), RFC 3339
// rsyslog and journalctl short-iso ("2026-11-26T03:12:44.123+00:00 host
// kernel: "). It returns the message and the tag ("kernel", "sshd[12]").
func syslogHeader(b []byte) ([]byte, []byte, bool) {
	i := syslogDateLen(b)
	if i == 0 {
		return b, nil, false
	}
	return hostTag(b[i:])
}

// syslogDateLen is the length of a syslog or journal date at the start of
// b, with the space after it; 0 when there is none.
func syslogDateLen(b []byte) int {
	var i int
	switch {
	case len(b) >= 16 && isMonth(b) && b[3] == ' ':
		// "Mmm dd HH:MM:SS" with day space-padded.
		i = 4
		if b[i] == ' ' {
			i++
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != ' ' {
			return 0
		}
		i++
		j, ok := clock(b, i)
		if !ok {
			return 0
		}
		i = j
	case len(b) >= 20 && isDigit(b[0]) && isDigit(b[3]) && b[4] == '-' && b[7] == '-' && b[10] == 'T':
		j, ok := clock(b, 11)
		if !ok {
			return 0
		}
		i = j
		// zone: Z, +00:00, +0000
		if i < len(b) && b[i] == 'Z' {
			i++
		} else if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
			for i < len(b) && (isDigit(b[i]) || b[i] == ':') {
				i++
			}
		}
	default:
		return 0
	}
	if i >= len(b) || b[i] != ' ' {
		return 0
	}
	return i + 1
}

// clock matches HH:MM:SS with an optional fraction starting at b[i].
func clock(b []byte, i int) (int, bool) {
	if i+8 > len(b) || !isDigit(b[i]) || !isDigit(b[i+1]) || b[i+2] != ':' || !isDigit(b[i+3]) || b[i+5] != ':' || !isDigit(b[i+7]) {
		return i, false
	}
	i += 8
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// syslogPrefix strips a syslog or journal header; a line it attributes to
// another program comes back with kernel false and its message as text.
//
// A document whose lines never carried a kernel tag is one of bare
// stamps ("2026-12-04T03:12:44.123Z BUG: ..."): what looked like a host
// and a tag is the kernel's message, and only the date goes.
func syslogPrefix(b []byte, ln lineView, st *styleState) ([]byte, lineView) {
	rest, tag, ok := syslogHeader(b)
	if !ok {
		if st != nil && !st.kernelTags {
			if d := syslogDateLen(b); d > 0 {
				ln.stamped = true
				return b[d:], ln
			}
		}
		return b, ln
	}
	ln.stamped = true
	kernel := isKernelTag(tag)
	if st != nil && kernel {
		st.kernelTags = true
	}
	if !kernel && st != nil && !st.kernelTags {
		if d := syslogDateLen(b); d > 0 {
			return b[d:], ln
		}
	}
	if !kernel {
		ln.kernel = false
		ln.text = rest
	}
	return rest, ln
}

// kernelHostTag strips journalctl short-monotonic's " host kernel: " after
// the timestamp without scanning the line: the host is one word.
func kernelHostTag(b []byte) ([]byte, bool) {
	b = trimLeftSpace(b)
	n := min(len(b), 66)
	sp := bytes.IndexByte(b[:n], ' ')
	if sp <= 0 {
		return nil, false
	}
	rest := b[sp+1:]
	if hasPrefix(rest, "kernel: ") {
		return rest[len("kernel: "):], true
	}
	return nil, false
}

// hostTag matches "host tag: " (tag may carry "[pid]").
func hostTag(b []byte) ([]byte, []byte, bool) {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 || sp > 64 {
		return b, nil, false
	}
	rest := b[sp+1:]
	c := bytes.IndexByte(rest, ':')
	if c <= 0 || c > 48 || c+1 > len(rest) {
		return b, nil, false
	}
	tag := rest[:c]
	if bytes.IndexByte(tag, ' ') >= 0 {
		return b, nil, false
	}
	msg := rest[c+1:]
	if len(msg) > 0 && (msg[0] == ' ' || msg[0] == '\t') {
		// The separator after the tag: a space, or a tab where a
		// forwarder (or a paste into a table) put one.
		msg = msg[1:]
	}
	return msg, tag, true
}

func isKernelTag(tag []byte) bool {
	return bytes.Equal(tag, []byte("kernel")) || bytes.HasPrefix(tag, []byte("kernel["))
}

func isMonth(b []byte) bool {
	for _, m := range months {
		if b[0] == m[0] && b[1] == m[1] && b[2] == m[2] {
			return true
		}
	}
	return false
}

var weekdays = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// crashWallClock matches crash(8) `log -T`'s "[Sun Jan  1 12:00:00 UTC 2026] ".
func crashWallClock(b []byte) ([]byte, bool) {
	if len(b) < 26 || b[0] != '[' || b[4] != ' ' {
		return b, false
	}
	ok := false
	for _, w := range weekdays {
		if string(b[1:4]) == w {
			ok = true
		}
	}
	if !ok || !isMonth(b[5:]) {
		return b, false
	}
	end := bytes.IndexByte(b, ']')
	if end < 0 || end > 40 {
		return b, false
	}
	return b[end+1:], true
}

// stripHTMLTags drops the HTML tags a page wraps a pasted log in ("<pre>",
// "<details><summary>", "<code>") from the start of a line. Tag names are
// lowercase: the kernel's own "<IRQ>", "<TASK>" are not.
func stripHTMLTags(b []byte) []byte {
	for k := 0; k < 4 && len(b) > 2 && b[0] == '<'; k++ {
		i := 1
		if b[i] == '/' {
			i++
		}
		s := i
		// A name is letters then digits ("h1"): 2.6.9's frame
		// "<ffffffffa01a3c4d>{func+60}" starts as a tag does.
		for i < len(b) && b[i] >= 'a' && b[i] <= 'z' {
			i++
		}
		for i > s && i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == s || i >= len(b) || i-s >= 8 && isHexWord(b[s:i]) /* an address */ {
			return b
		}
		if b[i] == ' ' {
			for i < len(b) && i < 128 && b[i] != '>' && b[i] != '<' {
				i++
			}
		}
		if i >= len(b) || b[i] != '>' {
			return b
		}
		b = trimLeftSpace(b[i+1:])
	}
	return b
}

// skipQuoteMarks drops a run of quote marks and the spaces between them
// from the head of b: "> > ", ">>", "| ".
func skipQuoteMarks(b []byte) []byte {
	i := 0
	for i < len(b) && i < 16 && (b[i] == '>' || b[i] == '|' || b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return b[i:]
}
