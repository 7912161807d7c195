package crashlog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ktriage/ktriage/kobj"
)

// MaxDumps is the most struct and union dumps (and `p` results that are
// objects) a Session keeps.
const MaxDumps = 1024

// Dump is one struct or union value a transcript shows, with what is known
// of how it was printed: checks must not read a grep'd excerpt as a whole
// object, nor trust an address the transcript never stated.
type Dump struct {
	// Object is the value. Its Addr is 0 when the transcript does not
	// state it (no prompt before the dump, the prompt named a symbol or
	// another type); its Type is "" when neither a header nor a prompt
	// names it.
	Object *kobj.Object
	// Command is the crash command the dump is the output of, as typed
	// ("sk_buff ffff880fe9624868|grep len"); "" when no prompt owns it.
	Command string
	// Partial is set when the dump does not show every member: filtered
	// through a pipe, a member list ("struct sk_buff.len ADDR"), member
	// lines without their header, or cut short.
	Partial bool
	// Filtered is set when the output went through a pipe (grep, head,
	// tail): its lines are independent matches, their nesting lost.
	Filtered bool
	// Truncated is set when the dump ended before its closing brace, or
	// was longer or deeper than the limits (MaxDumpLines, MaxDumpDepth,
	// MaxDumpValues) and lost members.
	Truncated bool
	// Note says, in words for a finding's evidence, why the address or
	// type is unknown or what else limits the dump; "" when nothing does.
	Note string
	// Span is where the dump is in the document.
	Span Span
}

// structCmd is what a prompt says about the dumps after it.
type structCmd struct {
	ok       bool   // a struct/union command that prints values
	kw       string // "struct", "union", or "" for the short form
	typ      string // "sk_buff"; "" when the prompt does not say
	members  bool   // "sk_buff.len,data_len": a member list
	filtered bool   // piped through grep, head, tail…
	slots    []addrSlot
}

// addrSlot is one object the command asks for: an address, or a symbol
// whose address the transcript does not show.
type addrSlot struct {
	addr uint64
	sym  string
}

// crashCommands are crash(8)'s own commands: a prompt starting with one is
// not the short form of `struct` ("sk_buff ADDR").
var crashCommands = map[string]bool{
	"alias": true, "ascii": true, "bpf": true, "bt": true, "btop": true, "dev": true,
	"dis": true, "eval": true, "exit": true, "extend": true, "files": true, "foreach": true,
	"fuser": true, "gdb": true, "help": true, "ipcs": true, "irq": true, "kmem": true,
	"list": true, "log": true, "mach": true, "mod": true, "mount": true, "net": true,
	"p": true, "ps": true, "pte": true, "ptob": true, "ptov": true, "rd": true,
	"repeat": true, "runq": true, "sbitmap": true, "search": true, "set": true, "sig": true,
	"swap": true, "sym": true, "sys": true, "task": true, "timer": true, "tree": true,
	"vm": true, "vtop": true, "waitq": true, "whatis": true, "wr": true, "q": true,
	"px": true, "pd": true, "print": true, "quit": true, "dmesg": true, "ls": true,
	"cat": true, "echo": true, "grep": true, "tail": true, "head": true, "less": true,
	"more": true, "cd": true, "ptype": true, "info": true, "x": true,
}

// splitPipe cuts a command at its first pipe; filtered says whether the
// pipe drops lines (anything but a pager).
func splitPipe(cmd string) (base string, filtered bool) {
	i := strings.IndexByte(cmd, '|')
	if i < 0 {
		return cmd, false
	}
	p, _ := nextField(cmd[i+1:])
	switch p {
	case "more", "less", "cat", "":
		return trimSpace(cmd[:i]), false
	}
	return trimSpace(cmd[:i]), true
}

// parseStructCmd reads "struct sk_buff ffff...", "union u ADDR",
// "sk_buff ADDR", "* sk_buff ADDR", "struct sk_buff.len,data_len ADDR",
// "struct -x sk_buff ADDR 2", and the same with a pipe.
func parseStructCmd(cmd string) structCmd {
	var c structCmd
	base, filtered := splitPipe(cmd)
	if strings.IndexByte(base, '>') >= 0 {
		return c // redirected to a file: nothing printed
	}
	c.filtered = filtered
	fields := strings.Fields(base)
	if len(fields) == 0 {
		return c
	}
	rest := fields
	switch w := fields[0]; {
	case w == "struct" || w == "union":
		c.kw, rest = w, fields[1:]
	case w == "*":
		rest = fields[1:]
	case strings.HasPrefix(w, "*") && len(w) > 1:
		rest = append([]string{w[1:]}, fields[1:]...)
	case crashCommands[w] || !isIdentStart(w[0]):
		return c
	}
	for i := 0; i < len(rest); i++ {
		f := rest[i]
		if strings.HasPrefix(f, "-") {
			if (f == "-l" || f == "-c") && i+1 < len(rest) {
				i++
			}
			continue
		}
		if c.typ == "" {
			name, mem, isMem := strings.Cut(f, ".")
			if !isIdent(name) {
				return structCmd{}
			}
			c.typ, c.members = name, isMem && mem != ""
			continue
		}
		if a, ok := parseAddrArg(f); ok {
			if a == 0 {
				return structCmd{} // crash refuses a NULL address
			}
			c.slots = append(c.slots, addrSlot{addr: a})
		} else if isSymbolName(f) {
			c.slots = append(c.slots, addrSlot{sym: f})
		}
		// Otherwise a count ("2"): the dumps past the first have no
		// stated address.
		if len(c.slots) > 64 {
			break
		}
	}
	if c.typ == "" || len(c.slots) == 0 {
		return structCmd{} // a type's layout, not a value
	}
	c.ok = true
	return c
}

// parseAddrArg reads an address argument: 0x-prefixed hex, or bare hex of
// at least 8 digits (crash reads those as addresses; a short decimal is a
// count).
func parseAddrArg(f string) (uint64, bool) {
	if len(f) > 2 && f[0] == '0' && (f[1] == 'x' || f[1] == 'X') {
		return parseHex(f[2:])
	}
	if len(f) < 8 {
		return 0, false
	}
	return parseHex(f)
}

// parseStructHeader recognises "struct sk_buff {", "union tx_flags {" and
// the unnamed "struct {"; a remark after the brace is allowed.
func parseStructHeader(t string) (kw, name string, ok bool) {
	kw, rest := nextField(t)
	if kw != "struct" && kw != "union" {
		return "", "", false
	}
	f, rest := nextField(rest)
	if f != "{" {
		if !isIdent(f) {
			return "", "", false
		}
		name = f
		f, rest = nextField(rest)
		if f != "{" {
			return "", "", false
		}
	}
	if rest != "" && !strings.HasPrefix(rest, "<") {
		return "", "", false
	}
	return kw, name, true
}

// openDump is a dump being read.
type openDump struct {
	b     *builder
	d     *Dump
	notes []string
	// perLine: a filtered dump, each line read on its own.
	perLine bool
	fields  []kobj.Field
	lines   int // member lines read (headerless dumps)
	owned   bool
}

// structParser reads struct and union dumps.
type structParser struct {
	cmdText string
	cmd     structCmd
	// owned is set from a prompt until a line that is not its output.
	owned   bool
	nextArg int

	cur   *openDump
	last  int // line number of the last line the open dump took
	dumps []*Dump
	drop  int
	names interner
	toks  []token
}

func (p *structParser) prompt(lineno int, cmd string) {
	p.close(false)
	p.cmdText = cmd
	p.cmd = parseStructCmd(cmd)
	p.owned = true
	p.nextArg = 0
}

func (p *structParser) line(lineno int, t string, cmd string) bool {
	if p.cur != nil && lineno-p.last > maxIdle+1 {
		p.close(false)
		p.owned = false
	}
	if p.cur == nil && !strings.Contains(t, " = ") && t[len(t)-1] != '{' {
		// Neither a member line nor a struct header: the common case of a
		// log line, rejected before tokenizing it.
		if !strings.HasPrefix(t, "WARNING:") {
			p.owned = false
		}
		return false
	}
	p.toks = tokenize(t, p.toks)
	if p.cur != nil {
		if p.take(lineno, t) {
			return true
		}
		// crash never cuts a dump short: what follows is not its output.
		p.close(false)
		p.owned = false
	}
	if kw, name, ok := parseStructHeader(t); ok {
		p.startHeader(lineno, kw, name)
		return true
	}
	if len(p.toks) > 0 && p.toks[0].kind == tokName {
		p.startHeaderless(lineno)
		if p.take(lineno, t) {
			return true
		}
		p.cur = nil
	}
	if !strings.HasPrefix(t, "WARNING:") {
		p.owned = false
	}
	return false
}

// take offers the line to the open dump.
func (p *structParser) take(lineno int, t string) bool {
	o := p.cur
	if o.perLine {
		return p.takeFiltered(lineno)
	}
	if !o.b.accepts(p.toks) {
		return false
	}
	if o.b.kind == rootHeaderless && o.b.depth() == 0 && len(p.toks) > 0 && p.toks[0].kind != tokName {
		// Between members of a headerless dump only a member may start.
		if p.toks[0].kind != tokRBrace {
			return false
		}
	}
	o.b.feed(p.toks)
	o.lines++
	p.last = lineno
	o.d.Span.End = lineno
	if o.b.closed {
		p.close(true)
	}
	return true
}

// takeFiltered reads one line of grep'd output: a member with its whole
// value on the line, or a line of braces (consumed, nothing kept).
func (p *structParser) takeFiltered(lineno int) bool {
	o := p.cur
	if len(p.toks) == 0 {
		return false
	}
	switch p.toks[0].kind {
	case tokLBrace, tokRBrace, tokComma:
		for _, tk := range p.toks {
			if tk.kind == tokName || tk.kind == tokScalar {
				return false
			}
		}
	case tokName:
		b := newBuilder(rootHeaderless, "", &p.names)
		b.feed(p.toks)
		if b.depth() == 0 && !b.over && len(o.fields) < MaxDumpValues && o.lines < MaxDumpLines {
			v := b.finish()
			o.fields = append(o.fields, v.Fields...)
		} else {
			o.d.Truncated = b.over || o.d.Truncated
		}
	default:
		return false
	}
	o.lines++
	p.last = lineno
	o.d.Span.End = lineno
	return true
}

// startHeader opens a dump at its "struct TYPE {" line and decides its
// address from the prompt that printed it.
func (p *structParser) startHeader(lineno int, kw, name string) {
	typ := name
	var addr uint64
	var notes []string
	c := p.cmd
	switch {
	case !p.owned:
		notes = append(notes, "no crash> prompt shows this dump's address")
	case !c.ok:
		notes = append(notes, fmt.Sprintf("the prompt before it (%q) does not name its address", clip(p.cmdText)))
	case name != "" && c.typ != name:
		notes = append(notes, fmt.Sprintf("the prompt before it (%q) is for another type", clip(p.cmdText)))
	default:
		if typ == "" {
			typ = c.typ
		}
		if p.nextArg < len(c.slots) {
			s := c.slots[p.nextArg]
			if s.sym != "" {
				notes = append(notes, "its address was given as the symbol "+s.sym)
			}
			addr = s.addr
		} else {
			notes = append(notes, "one of several dumps one command printed: its address is not shown")
		}
		p.nextArg++
	}
	vt := kw
	if typ != "" {
		vt = kw + " " + typ
	}
	o := &openDump{
		b:     newBuilder(rootHeader, vt, &p.names),
		notes: notes,
		owned: p.owned && c.ok,
		d:     &Dump{Span: Span{Start: lineno, End: lineno}},
	}
	o.d.Object = &kobj.Object{Type: typ, Addr: addr}
	if o.owned {
		o.d.Command = strings.Clone(p.cmdText)
		if c.filtered {
			o.d.Filtered, o.d.Partial = true, true
			o.perLine = true
			o.notes = append(o.notes, "filtered through a pipe: only the matching lines")
		}
	}
	p.cur, p.last = o, lineno
}

// startHeaderless opens a dump at a member line with no header before it:
// a grep'd dump, a member list, or a paste that lost the header.
func (p *structParser) startHeaderless(lineno int) {
	c := p.cmd
	o := &openDump{d: &Dump{Partial: true, Span: Span{Start: lineno, End: lineno}}}
	o.d.Object = &kobj.Object{}
	if p.owned && c.ok {
		o.owned = true
		o.d.Command = strings.Clone(p.cmdText)
		o.d.Object.Type = c.typ
		if p.nextArg < len(c.slots) {
			s := c.slots[p.nextArg]
			o.d.Object.Addr = s.addr
			if s.sym != "" {
				o.notes = append(o.notes, "its address was given as the symbol "+s.sym)
			}
		}
		p.nextArg++
		switch {
		case c.filtered:
			o.d.Filtered, o.perLine = true, true
			o.notes = append(o.notes, "filtered through a pipe: only the matching lines")
		case c.members:
			o.notes = append(o.notes, "only the members the command listed")
		default:
			o.notes = append(o.notes, "member lines without their header")
		}
	} else {
		o.notes = append(o.notes, "member lines with neither a header nor a prompt: type and address unknown")
	}
	vt := ""
	if c.kw != "" && o.owned {
		vt = c.kw + " " + c.typ
	}
	o.b = newBuilder(rootHeaderless, vt, &p.names)
	p.cur, p.last = o, lineno
}

// close ends the open dump; complete says its closing brace was read.
func (p *structParser) close(complete bool) {
	o := p.cur
	if o == nil {
		return
	}
	p.cur = nil
	d := o.d
	var v *kobj.Value
	if o.perLine {
		v = &kobj.Value{Kind: kobj.Struct, Type: o.b.typ, Fields: o.fields}
	} else {
		v = o.b.finish()
		if o.b.over {
			d.Truncated, d.Partial = true, true
			o.notes = append(o.notes, "longer or deeper than the limits: some members not kept")
		}
		if o.b.kind == rootHeader && !complete {
			d.Truncated, d.Partial = true, true
			o.notes = append(o.notes, fmt.Sprintf("cut short after line %d", d.Span.End))
		}
		if dupMember(v, 0) {
			// crash never prints a member twice: a lost "}, {" merged two
			// array elements, and counts made from them would be wrong.
			d.Partial = true
			o.notes = append(o.notes, "a member appears twice: lines were lost")
		}
	}
	if len(v.Fields) == 0 {
		return // a type's layout, an empty grep, or junk
	}
	if o.b.kind == rootHeaderless && !o.owned && o.lines < 2 {
		return // one "x = y" line in prose is no dump
	}
	d.Note = strings.Join(o.notes, "; ")
	d.Object.Value = v
	d.Object.Source = fmt.Sprintf("line %d-%d", d.Span.Start, d.Span.End)
	if len(p.dumps) >= MaxDumps {
		p.drop++
		return
	}
	p.dumps = append(p.dumps, d)
}

// dupMember reports whether a struct in v names a member twice.
func dupMember(v *kobj.Value, depth int) bool {
	if v == nil || depth > MaxDumpDepth {
		return false
	}
	switch v.Kind {
	case kobj.Struct:
		seen := make(map[string]bool, len(v.Fields))
		for _, f := range v.Fields {
			if f.Name != "" {
				if seen[f.Name] {
					return true
				}
				seen[f.Name] = true
			}
			if dupMember(f.Value, depth+1) {
				return true
			}
		}
	case kobj.Array:
		for _, e := range v.Elems {
			if dupMember(e, depth+1) {
				return true
			}
		}
	}
	return false
}

func (p *structParser) finish(sess *Session) {
	p.close(false)
	sess.Dumps = append(sess.Dumps, p.dumps...)
	sess.DroppedOutput += p.drop
	indexDumps(sess)
}

// indexDumps orders the session's dumps and rebuilds Objects and Partial
// from them. Every parser that adds dumps calls it, so the last one to
// finish leaves the index whole.
func indexDumps(sess *Session) {
	sort.SliceStable(sess.Dumps, func(i, j int) bool { return sess.Dumps[i].Span.Start < sess.Dumps[j].Span.Start })
	if len(sess.Dumps) > MaxDumps {
		sess.DroppedOutput += len(sess.Dumps) - MaxDumps
		sess.Dumps = sess.Dumps[:MaxDumps]
	}
	sess.Objects = kobj.Set{}
	sess.Partial = nil
	for _, d := range sess.Dumps {
		if !d.Partial {
			sess.Objects.Add(d.Object)
		}
	}
	for _, d := range sess.Dumps {
		o := d.Object
		if d.Partial && (o.Addr == 0 || o.Type == "" || sess.Objects.Find(o.Type, o.Addr) == nil) {
			sess.Partial = append(sess.Partial, o)
		}
	}
}

// clip shortens a command quoted in a note.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
