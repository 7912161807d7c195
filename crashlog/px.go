package crashlog

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/kobj"
)

// MaxEvals is the most `p`/`px`/`pd` results a Session keeps.
const MaxEvals = 4096

// Eval is the result of a `p`, `px` or `pd` command: authors compute
// addresses with it (skb->head + skb->end, where skb_shared_info lies), so
// a check can tell which address an author derived and how.
type Eval struct {
	// Expr is the expression typed at the prompt
	// ("0xffff881062d2dc00+384"); "" when no print command precedes the
	// result.
	Expr string
	// Value is the result: a number, a pointer with its annotations, or
	// a struct or array printed over several lines.
	Value *kobj.Value
	// Truncated is set when a result printed over several lines was cut
	// short or over the limits.
	Truncated bool
	// Line is the document line of "$N =".
	Line int
}

// pxParser reads "$2 = 0xffff881062d2dd80" and multi-line "$3 = {" results.
type pxParser struct {
	expr  string // the expression of the last print prompt
	owned bool   // the next result belongs to that prompt
	cur   *Eval
	b     *builder
	start int
	last  int
	evals []Eval
	dumps []*Dump
	drop  int
	names interner
	toks  []token
}

func (p *pxParser) prompt(lineno int, cmd string) {
	p.close(false)
	p.expr, p.owned = parsePrintCmd(cmd), false
	if p.expr != "" {
		p.owned = true
	}
}

// parsePrintCmd returns the expression of a print command ("px
// 0xffff881062d2dc00+384"), or "" for other commands.
func parsePrintCmd(cmd string) string {
	base, _ := splitPipe(cmd)
	f, rest := nextField(base)
	switch {
	case f == "p" || f == "px" || f == "pd" || f == "print" || strings.HasPrefix(f, "p/") || strings.HasPrefix(f, "print/"):
	default:
		return ""
	}
	for strings.HasPrefix(rest, "-") {
		_, rest = nextField(rest)
	}
	return strings.Clone(trimSpace(rest))
}

func (p *pxParser) line(lineno int, t string, cmd string) bool {
	if p.b != nil {
		p.toks = tokenize(t, p.toks)
		if lineno-p.last <= maxIdle+1 && p.b.accepts(p.toks) {
			p.b.feed(p.toks)
			p.last = lineno
			if p.b.closed {
				p.close(true)
			}
			return true
		}
		p.close(false)
	}
	rest, ok := historyValue(t)
	if !ok {
		p.owned = false
		return false
	}
	e := Eval{Line: lineno}
	if p.owned {
		e.Expr = p.expr
	}
	p.owned = false
	p.toks = tokenize(rest, p.toks)
	switch {
	case len(p.toks) > 0 && p.toks[0].kind == tokLBrace:
		p.b = newBuilder(rootBrace, "", &p.names)
		p.b.feed(p.toks[1:])
		p.cur, p.start, p.last = &e, lineno, lineno
		if p.b.closed {
			p.close(true)
		}
		return true
	case len(p.toks) > 0 && p.toks[0].kind == tokScalar:
		e.Value, _ = parseScalar(p.toks[0].text)
	default:
		e.Value = &kobj.Value{Raw: strings.Clone(trimSpace(rest))}
	}
	p.add(e)
	return true
}

// historyValue recognises "$2 = VALUE" and crash's "jiffies = $1 = VALUE",
// returning VALUE.
func historyValue(t string) (string, bool) {
	if !strings.HasPrefix(t, "$") {
		i := strings.Index(t, " = $")
		if i <= 0 || !isSymbolName(t[:i]) {
			return "", false
		}
		t = t[i+3:]
	}
	j := 1
	for j < len(t) && isDigit(t[j]) {
		j++
	}
	if j == 1 || !strings.HasPrefix(t[j:], " = ") {
		return "", false
	}
	return t[j+3:], true
}

func (p *pxParser) close(complete bool) {
	if p.b == nil {
		return
	}
	e := *p.cur
	e.Value = p.b.finish()
	e.Truncated = !complete || p.b.over
	p.b, p.cur = nil, nil
	p.add(e)
	if typ, kw, addr, ok := castObject(e.Expr); ok && !e.Truncated && e.Value.Kind == kobj.Struct && len(p.dumps) < MaxDumps {
		e.Value.Type = kw + " " + typ
		p.dumps = append(p.dumps, &Dump{
			Object: &kobj.Object{Type: typ, Addr: addr, Value: e.Value,
				Source: fmt.Sprintf("line %d-%d", p.start, p.last)},
			Command: "p " + e.Expr,
			Span:    Span{Start: p.start, End: p.last},
		})
	}
}

func (p *pxParser) add(e Eval) {
	if len(p.evals) >= MaxEvals {
		p.drop++
		return
	}
	p.evals = append(p.evals, e)
}

// castObject recognises "*(struct sk_buff *)0xffff880fe9624868": a print
// of the object at an address.
func castObject(expr string) (typ, kw string, addr uint64, ok bool) {
	s := strings.TrimSpace(expr)
	if !strings.HasPrefix(s, "*(") {
		return "", "", 0, false
	}
	j := strings.IndexByte(s, ')')
	if j < 0 {
		return "", "", 0, false
	}
	in := strings.Fields(s[2:j])
	if len(in) < 3 || (in[0] != "struct" && in[0] != "union") || !isIdent(in[1]) {
		return "", "", 0, false
	}
	if strings.Join(in[2:], "") != "*" {
		return "", "", 0, false
	}
	a, ok := parseAddrArg(strings.TrimSpace(s[j+1:]))
	if !ok || a == 0 {
		return "", "", 0, false
	}
	return in[1], in[0], a, true
}

func (p *pxParser) finish(sess *Session) {
	p.close(false)
	sess.Evals = append(sess.Evals, p.evals...)
	sess.Dumps = append(sess.Dumps, p.dumps...)
	sess.DroppedOutput += p.drop
	indexDumps(sess)
}
