package kcrash

import (
	"fmt"
	"io"
	"strings"
)

// ModResult is `mod`: the loaded modules.
type ModResult struct {
	Modules []ModEntry `json:"modules"`
	Note    string     `json:"note,omitempty"`
}

// ModEntry is one module: its struct module, name, text base and size.
type ModEntry struct {
	Module Addr   `json:"module"`
	Name   string `json:"name"`
	Base   Addr   `json:"base"`
	Size   uint64 `json:"size"`
	// Symbols is the count of the module's own symbols (mod->kallsyms).
	Symbols int    `json:"symbols"`
	Error   string `json:"error,omitempty"`
}

// objectFile is what the OBJECT FILE column says: ktriage loads no
// module object files, and the dump does not say where they are.
const objectFile = "(unknown: no object file read)"

// WriteText implements Result: crash's columns.
func (r *ModResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "     MODULE       NAME                      BASE           SIZE  OBJECT FILE\n")
	for _, m := range r.Modules {
		fmt.Fprintf(&b, "%016x  %-18s  %016x  %8d  %s\n", uint64(m.Module), m.Name, uint64(m.Base), m.Size, objectFile)
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func runMod(s *Session, c *Call) (Result, error) {
	mods, err := s.v.Modules()
	if err != nil && len(mods) == 0 {
		return nil, err
	}
	r := &ModResult{}
	for _, m := range mods {
		e := ModEntry{Module: Addr(m.Addr), Name: m.Name, Symbols: len(m.Syms)}
		for _, rg := range m.Regions {
			if e.Base == 0 && strings.HasSuffix(rg.Kind, "text") && !strings.HasPrefix(rg.Kind, "init") {
				e.Base = Addr(rg.Start)
			}
			if !strings.HasPrefix(rg.Kind, "init") {
				e.Size += rg.End - rg.Start
			}
		}
		if m.Err != nil {
			e.Error = m.Err.Error()
		}
		r.Modules = append(r.Modules, e)
	}
	if err != nil {
		r.Note = fmt.Sprintf("(the module list is cut short: %v)", err)
	}
	return r, nil
}
