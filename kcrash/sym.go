package kcrash

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/ktypes"
)

// SymResult is `sym`: each query with its symbol.
type SymResult struct {
	Symbols []SymEntry `json:"symbols"`
}

// SymEntry is one symbol: crash's "ffffffff92d8e3a8 (T) __skb_checksum+760".
type SymEntry struct {
	Addr   Addr   `json:"addr"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Offset uint64 `json:"offset"`
	Module string `json:"module,omitempty"`
}

// String is the crash line.
func (e SymEntry) String() string {
	s := fmt.Sprintf("%016x (%s) %s", uint64(e.Addr), e.Type, e.Name)
	if e.Offset != 0 {
		s += "+" + strconv.FormatUint(e.Offset, 10)
	}
	if e.Module != "" {
		s += " [" + e.Module + "]"
	}
	return s
}

// WriteText implements Result.
func (r *SymResult) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, e := range r.Symbols {
		b.WriteString(e.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// symbolize names addr as sym does.
func (s *Session) symbolize(addr uint64) (SymEntry, bool) {
	e := SymEntry{Addr: Addr(addr)}
	if m := s.v.ModuleOf(addr); m != nil {
		name, off, mod, ok := s.v.Symbol(addr)
		if !ok {
			return e, false
		}
		e.Name, e.Offset, e.Module, e.Type = name, off, mod, "?"
		for _, sy := range m.Syms {
			if sy.Addr == addr-off && sy.Name == name {
				e.Type = string(sy.Type)
				break
			}
		}
		return e, true
	}
	syms, err := s.v.Kernel().Symbols()
	if err != nil {
		return e, false
	}
	name, off, typ, ok := syms.AddrType(addr)
	if !ok {
		return e, false
	}
	e.Name, e.Offset, e.Type = name, off, string(typ)
	return e, true
}

func runSym(s *Session, c *Call) (Result, error) {
	r := &SymResult{}
	var errs []error
	for _, q := range c.Args {
		e, err := s.symQuery(q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Symbols = append(r.Symbols, e)
	}
	if len(r.Symbols) == 0 {
		return nil, errors.Join(errs...)
	}
	return r, errors.Join(errs...)
}

func (s *Session) symQuery(q string) (SymEntry, error) {
	_, isHex := strings.CutPrefix(strings.ToLower(q), "0x")
	if !isHex {
		if syms, err := s.v.Kernel().Symbols(); err == nil {
			if a, typ, ok := syms.LookupType(q); ok {
				return SymEntry{Addr: Addr(a), Type: string(typ), Name: q}, nil
			}
		}
		if a, mod, err := s.v.Lookup(q); err == nil {
			e, _ := s.symbolize(a)
			e.Name, e.Offset, e.Module = q, 0, mod
			return e, nil
		}
	}
	a, err := s.addr(q)
	if err != nil {
		return SymEntry{}, err
	}
	e, ok := s.symbolize(a)
	if !ok {
		return SymEntry{}, fmt.Errorf("%#x: no symbol at or below it (kallsyms or a module's)", a)
	}
	return e, nil
}

// PrintResult is `p`/`px SYMBOL`: a global's value, typed.
type PrintResult struct {
	Symbol string     `json:"symbol"`
	Addr   Addr       `json:"addr"`
	Type   string     `json:"type"`
	Value  *jsonValue `json:"value"`
	Seq    int        `json:"seq"`

	v  *kobj.Value
	p  *printer
	at *loc
}

// WriteText implements Result: crash's "jiffies = $1 = 4294937296".
func (r *PrintResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s = $%d = ", r.Symbol, r.Seq)
	if r.v.Kind == kobj.Struct || isStructy(r.v) {
		var m strings.Builder
		r.p.member(&m, "", r.v, r.at, 0, false)
		b.WriteString(m.String())
	} else {
		b.WriteString(r.p.scalar(r.v) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxArrayVar bounds an array global of unknown length ("char []"):
// what is read of it.
const maxArrayVar = 256

func runPrint(s *Session, c *Call) (Result, error) {
	name := c.Args[0]
	addr, _, err := s.v.Lookup(name)
	if err != nil {
		return nil, err
	}
	ts, err := s.v.Types()
	if err != nil {
		return nil, err
	}
	t, err := ts.Var(name)
	if err != nil {
		return nil, fmt.Errorf("%s at %#x: %w (rd reads it untyped)", name, addr, err)
	}
	if s.isPerCPU(addr) {
		return s.perCPU(name, addr, t)
	}
	if arr, ok := t.(*btf.Array); ok && arr.Nelems == 0 {
		t = &btf.Array{Index: arr.Index, Type: arr.Type, Nelems: maxArrayVar}
	}
	raw, err := s.v.ValueBytes(t, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v := s.v.Decode(t, raw)
	s.seq++
	return &PrintResult{Symbol: name, Addr: Addr(addr), Type: ktypes.TypeName(t), Value: toJSON("", v), Seq: s.seq, v: v, p: s.printer(c.Typed == "px"), at: &loc{t: t, raw: raw}}, nil
}

// isPerCPU reports whether addr is a per-cpu variable's kallsyms value:
// an offset between __per_cpu_start and __per_cpu_end, not an address.
func (s *Session) isPerCPU(addr uint64) bool {
	syms, err := s.v.Kernel().Symbols()
	if err != nil {
		return false
	}
	start, ok1 := syms.Lookup("__per_cpu_start")
	end, ok2 := syms.Lookup("__per_cpu_end")
	return ok1 && ok2 && addr >= start && addr < end
}

// PerCPUResult is p of a per-cpu variable: its type and each CPU's copy's
// address, as crash shows it.
type PerCPUResult struct {
	Symbol string `json:"symbol"`
	Type   string `json:"type"`
	Offset Addr   `json:"offset"`
	Addrs  []Addr `json:"addrs"`
}

// WriteText implements Result.
func (r *PerCPUResult) WriteText(w io.Writer) error {
	var b strings.Builder
	decl := r.Type + " " + r.Symbol
	if strings.HasSuffix(r.Type, "*") {
		decl = r.Type + r.Symbol
	}
	fmt.Fprintf(&b, "PER-CPU DATA TYPE:\n  %s;\nPER-CPU ADDRESSES:\n", decl)
	for i, a := range r.Addrs {
		fmt.Fprintf(&b, "  [%d]: %x\n", i, uint64(a))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Session) perCPU(name string, off uint64, t btf.Type) (Result, error) {
	r := &PerCPUResult{Symbol: name, Type: ktypes.TypeName(t), Offset: Addr(off)}
	for cpu := 0; cpu < s.v.NumCPUs(); cpu++ {
		a, err := s.v.PerCPU(off, cpu)
		if err != nil {
			return r, fmt.Errorf("%s: cpu %d: %w", name, cpu, err)
		}
		r.Addrs = append(r.Addrs, Addr(a))
	}
	return r, nil
}
