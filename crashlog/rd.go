package crashlog

import "strings"

// Limits on the memory words a Session keeps.
const (
	// MaxReads is the most `rd` lines a Session keeps.
	MaxReads = 16384
	// MaxStackWords is the most orphan `bt -f`/`bt -F` words a Session
	// keeps.
	MaxStackWords = 16384
)

// Read is one line of `rd` output: memory words at an address. A transcript
// uses rd to show what a stack slot or a global holds (the skb a frame
// saved), which links objects that no dump names.
type Read struct {
	// Addr is the address of the first word.
	Addr uint64
	// Size is the bytes per word: 8 by default on 64-bit kernels, 4 on
	// 32-bit ones, or what rd -8/-16/-32/-64 asked for.
	Size int
	// Words are the values; a word crash printed as a symbol is 0 here.
	Words []uint64
	// Symbols holds, for `rd -s`/`rd -S`, what crash printed in place of
	// each word ("skb_checksum_help+138", "[skbuff_fclone_cache]"), ""
	// where it printed a number; nil when every word is a number.
	Symbols []string
	// Line is the document line.
	Line int
}

// StackWord is one word of `bt -f`/`bt -F` output that is not part of any
// backtrace the scanner kept: an author's excerpt of a stack frame, pasted
// without its frame lines, which still tells what a slot holds. crash prints
// a word as a number, as the slab cache of the object it points into, or
// as the symbol it points at; the fields say which.
type StackWord struct {
	// Slot is the stack address of the word.
	Slot uint64
	// Value is the word: what crash printed as a number
	// ("0000000000000022"), or the object address `bt -FF` prints with its
	// cache ("[ffff880fe9624868:skbuff_fclone_cache]"). It is 0 when crash
	// printed only a cache or a symbol.
	Value uint64
	// Cache is the slab cache of the object the word points into, as
	// `bt -F` printed it in brackets ("skbuff_fclone_cache"), else "".
	Cache string
	// Symbol is what crash printed in place of a word that points at a
	// symbol ("ixgbe_netdev_ops", "skb_checksum_help+138"), else "".
	Symbol string
	// Line is the document line.
	Line int
}

// stackWord reads one word of bt -f/-F/-FF output at slot.
func stackWord(slot uint64, f string, lineno int) StackWord {
	w := StackWord{Slot: slot, Line: lineno}
	if in, ok := strings.CutPrefix(f, "["); ok {
		in = strings.TrimSuffix(in, "]")
		// bt -F prints "[cache]", bt -FF "[address:cache]".
		if a, cache, ok := strings.Cut(in, ":"); ok {
			w.Value, _ = parseHex(a)
			in = cache
		}
		w.Cache = strings.Clone(in)
		return w
	}
	if v, ok := parseHex(f); ok {
		w.Value = v
		return w
	}
	w.Symbol = strings.Clone(f)
	return w
}

// Word returns the 8-byte word at addr as `rd` output in the document shows
// it, so that a check can follow a pointer a transcript printed.
func (s *Session) Word(addr uint64) (uint64, bool) {
	for _, r := range s.Reads {
		if r.Size != 8 || addr < r.Addr || (addr-r.Addr)%8 != 0 {
			continue
		}
		i := (addr - r.Addr) / 8
		if i < uint64(len(r.Words)) && (r.Symbols == nil || r.Symbols[i] == "") {
			return r.Words[i], true
		}
	}
	return 0, false
}

// rdCmd is what an `rd` prompt says about the lines after it.
type rdCmd struct {
	ok   bool
	size int  // bytes per word; 0 to learn from the first word
	dec  bool // -d, -D: decimal words
	sym  bool // -s, -S: symbols in place of words
}

func parseRdCmd(cmd string) rdCmd {
	var c rdCmd
	base, _ := splitPipe(cmd)
	f, rest := nextField(base)
	if f != "rd" {
		return c
	}
	c.ok = true
	for rest != "" {
		f, rest = nextField(rest)
		if len(f) < 2 || f[0] != '-' {
			continue
		}
		switch f[1:] {
		case "8":
			c.size = 1
		case "16":
			c.size = 2
		case "32":
			c.size = 4
		case "64":
			c.size = 8
		case "a":
			c.ok = false // strings, not words
		default:
			for _, o := range f[1:] {
				switch o {
				case 'd', 'D':
					c.dec = true
				case 's', 'S':
					c.sym = true
				}
			}
		}
	}
	return c
}

// rdParser reads `rd` output: leniently on the lines right after an rd
// prompt, and elsewhere only lines that have rd's own layout (two spaces
// after the address, an ASCII column), which `bt -f` words lack.
type rdParser struct {
	cmd    rdCmd
	active bool
	last   int
	reads  []Read
	drop   int
}

func (p *rdParser) prompt(lineno int, cmd string) {
	p.cmd = parseRdCmd(cmd)
	p.active = p.cmd.ok
	p.last = lineno
}

func (p *rdParser) line(lineno int, t string, cmd string) bool {
	if p.active && lineno-p.last <= 2 {
		if r, ok := parseRdLine(t, p.cmd); ok {
			p.add(r, lineno)
			return true
		}
	}
	p.active = false
	if r, ok := parseRdStrict(t); ok {
		p.add(r, lineno)
		return true
	}
	return false
}

func (p *rdParser) add(r Read, lineno int) {
	p.last = lineno
	if len(p.reads) >= MaxReads {
		p.drop++
		return
	}
	r.Line = lineno
	p.reads = append(p.reads, r)
}

func (p *rdParser) finish(sess *Session) {
	sess.Reads = append(sess.Reads, p.reads...)
	sess.DroppedOutput += p.drop
}

// parseRdLine reads "ffff880061a03508:  ffff880fe9624868  hHb....." as the
// output of the rd command c.
func parseRdLine(t string, c rdCmd) (Read, bool) {
	var r Read
	i := strings.IndexByte(t, ':')
	if i < 1 || i > 16 {
		return r, false
	}
	addr, ok := parseHex(t[:i])
	if !ok {
		return r, false
	}
	r.Addr, r.Size = addr, c.size
	rest := t[i+1:]
	for rest != "" {
		if r.Size != 0 && len(r.Words) >= 16/r.Size || len(r.Words) >= 16 {
			break // the ASCII column
		}
		f, next := nextField(rest)
		switch {
		case c.dec && f != "" && (isDigit(f[0]) || f[0] == '-' && len(f) > 1):
			n, _, ok := parseInt(f)
			if !ok {
				return r, false
			}
			r.Words = append(r.Words, n)
			if r.Symbols != nil {
				r.Symbols = append(r.Symbols, "")
			}
		case isHexWord(f, r.Size):
			n, _ := parseHex(f)
			if r.Size == 0 {
				r.Size = len(f) / 2
			}
			r.Words = append(r.Words, n)
			if r.Symbols != nil {
				r.Symbols = append(r.Symbols, "")
			}
		case c.sym && isStackSymbol(f):
			if r.Symbols == nil {
				r.Symbols = make([]string, len(r.Words), 2)
			}
			r.Words = append(r.Words, 0)
			r.Symbols = append(r.Symbols, strings.Clone(f))
		default:
			next = "" // the ASCII column, or the end
		}
		rest = next
	}
	if len(r.Words) == 0 {
		return r, false
	}
	if r.Size == 0 {
		// Symbols only: the address's width tells the word size.
		r.Size = 8
		if i <= 8 {
			r.Size = 4
		}
	}
	return r, true
}

// isHexWord says whether f is a word of size bytes printed in hex (any of
// crash's widths when size is 0).
func isHexWord(f string, size int) bool {
	if size == 0 {
		if len(f) != 16 && len(f) != 8 {
			return false
		}
	} else if len(f) != 2*size {
		return false
	}
	_, ok := parseHex(f)
	return ok
}

// parseRdStrict reads an rd line met without its prompt. It insists on
// rd's layout: "ADDR:" with two spaces after it, words of one width, and
// an ASCII column after two spaces, no wider than the words.
func parseRdStrict(t string) (Read, bool) {
	var r Read
	i := strings.IndexByte(t, ':')
	if (i != 8 && i != 16) || !strings.HasPrefix(t[i+1:], "  ") {
		return r, false
	}
	addr, ok := parseHex(t[:i])
	if !ok {
		return r, false
	}
	r.Addr = addr
	for j := i + 1; ; {
		k := j
		for k < len(t) && t[k] == ' ' {
			k++
		}
		if k == len(t) {
			return r, false // no ASCII column
		}
		e := k
		for e < len(t) && t[e] != ' ' {
			e++
		}
		if f := t[k:e]; (r.Size == 0 || len(r.Words) < 16/r.Size) && isHexWord(f, r.Size) {
			n, _ := parseHex(f)
			r.Size = len(f) / 2
			r.Words = append(r.Words, n)
			j = e
			continue
		}
		if len(r.Words) == 0 || k-j < 2 || len(t)-k > len(r.Words)*r.Size {
			return r, false
		}
		return r, true
	}
}

// isStackSymbol says whether f is what `bt -F`/`rd -s` print in place of
// a number: a symbol with an optional offset, or a slab cache in brackets.
func isStackSymbol(f string) bool {
	if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
		return true
	}
	_, _, ok := splitSymOffset(f)
	return ok
}

// stackWordParser keeps `bt -f`/`bt -F` word lines pasted without their bt.
// It never consumes a line: the bt scanner takes those inside a backtrace,
// and finish drops the ones a kept backtrace spans.
type stackWordParser struct {
	words []StackWord
	drop  int
}

func (p *stackWordParser) prompt(int, string) {}

func (p *stackWordParser) line(lineno int, t string, cmd string) bool {
	if cmd != "" && !strings.HasPrefix(cmd, "bt") && !strings.HasPrefix(cmd, "foreach") {
		return false
	}
	i := strings.IndexByte(t, ':')
	if i != 8 && i != 16 {
		return false
	}
	addr, ok := parseHex(t[:i])
	if !ok {
		return false
	}
	step := uint64(8)
	if i == 8 {
		step = 4
	}
	var ws [8]string
	n := 0
	for rest := t[i+1:]; rest != ""; {
		var f string
		f, rest = nextField(rest)
		if f == "" {
			break
		}
		if n == len(ws) || !(isHexWord(f, 0) || isStackSymbol(f)) {
			return false
		}
		ws[n] = f
		n++
	}
	for k := 0; k < n; k++ {
		if len(p.words) >= MaxStackWords {
			p.drop++
			continue
		}
		p.words = append(p.words, stackWord(addr+uint64(k)*step, ws[k], lineno))
	}
	return false
}

func (p *stackWordParser) finish(sess *Session) {
	// Words inside a kept backtrace (bt -f/-F) are kept too: with their
	// slot addresses they tie objects to the crashing stack.
	sess.StackWords = append(sess.StackWords, p.words...)
	sess.DroppedOutput += p.drop
}
