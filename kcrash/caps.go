package kcrash

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ktriage/ktriage/kernel"
)

// Capabilities says what a dump allows without debuginfo, and why not
// where something is missing.
type Capabilities struct {
	Release string `json:"release"`
	// Kallsyms: the symbol table decoded through VMCOREINFO's keys (6.0+).
	Kallsyms      bool `json:"kallsyms"`
	KallsymsCount int  `json:"kallsyms_count,omitempty"`
	// KallsymsFrom says how the tables were found: "VMCOREINFO" or "a
	// scan of the kernel image" (kernels before 6.0).
	KallsymsFrom string `json:"kallsyms_from,omitempty"`
	// KallsymsAll: data symbols are there too (init_task found).
	KallsymsAll bool `json:"kallsyms_all"`
	// BTF: the kernel's own type information, with its size in bytes.
	BTF     bool   `json:"btf"`
	BTFSize uint64 `json:"btf_size,omitempty"`
	// Types names the type source in use (the dump's BTF or a vmlinux).
	Types string `json:"types,omitempty"`
	// ModuleBTF: loaded modules with BTF of their own (mod->btf_data),
	// out of Modules.
	ModuleBTF int `json:"module_btf"`
	Modules   int `json:"modules"`
	// ORC: the kernel's unwind tables; ORCVersion 3 for 6.4 and later
	// (an orc_header), else 2 ("before 6.4").
	ORC        bool `json:"orc"`
	ORCVersion int  `json:"orc_version,omitempty"`
	// Missing explains each thing absent: the config option or kernel
	// version that would have given it, and what to do.
	Missing []string `json:"missing,omitempty"`
}

// Capabilities works out what the dump allows, once.
func (s *Session) Capabilities() Capabilities {
	s.capsOnce.Do(func() { s.caps = s.capabilities() })
	return s.caps
}

func (s *Session) capabilities() Capabilities {
	k := s.v.Kernel()
	c := Capabilities{Release: k.Release()}
	miss := func(f string, a ...any) { c.Missing = append(c.Missing, fmt.Sprintf(f, a...)) }
	syms, err := k.Symbols()
	if err != nil {
		var me *kernel.MissingError
		if errors.As(err, &me) {
			miss("no kallsyms: VMCOREINFO lacks its kallsyms keys (kernel 6.0+ exports them; this is %s) and a scan of the image found no tables: pass --vmlinux", c.Release)
		} else {
			miss("no kallsyms: %v", err)
		}
	} else {
		c.Kallsyms, c.KallsymsCount, c.KallsymsFrom = true, syms.Len(), syms.Source()
		if _, ok := syms.Lookup("init_task"); ok {
			c.KallsymsAll = true
		} else {
			miss("no data symbols: CONFIG_KALLSYMS_ALL is off (ps, net, files and p need init_task and friends): pass --vmlinux")
		}
		start, ok1 := syms.Lookup("__start_BTF")
		stop, ok2 := syms.Lookup("__stop_BTF")
		if ok1 && ok2 && stop > start {
			c.BTFSize = stop - start
		}
		if _, ok := syms.Lookup("__start_orc_unwind"); ok {
			c.ORC, c.ORCVersion = true, 2
			if _, ok := syms.Lookup("orc_header"); ok {
				c.ORCVersion = 3
			} else if _, ok := syms.Lookup("__start_orc_header"); ok {
				c.ORCVersion = 3
			}
		} else if c.KallsymsAll {
			miss("no ORC: CONFIG_UNWINDER_ORC is off (x86_64, 4.14+): bt will need frame pointers or --vmlinux")
		}
		// The symbols say the tables exist; whether they can be read and
		// decoded is the dump's: a zeroed or cut table is no ORC.
		if c.ORC {
			if _, err := s.tracer().ORC(); err != nil {
				c.ORC = false
				miss("ORC unreadable: %v: bt cannot unwind", err)
			}
		}
	}
	if ts, err := s.v.Types(); err == nil {
		c.Types = ts.Source()
		c.BTF = c.BTFSize > 0 || strings.Contains(ts.Source(), "BTF")
	} else if c.Kallsyms {
		if c.BTFSize == 0 && c.KallsymsAll {
			miss("no BTF: CONFIG_DEBUG_INFO_BTF is off (needs 5.2+): pass --vmlinux")
		} else {
			miss("no BTF: %v: pass --vmlinux", err)
		}
	}
	if c.BTF {
		if _, err := s.v.Offset("module", "btf_data"); err != nil {
			miss("no module BTF: CONFIG_DEBUG_INFO_BTF_MODULES is off (5.11+): module types need --vmlinux and the module's .ko")
		} else {
			mods, err := s.v.Modules()
			if err != nil {
				// A cut list is said: mod, sym and bt lose what is past it.
				miss("the module list is cut short (%d read): %v", len(mods), err)
			}
			c.Modules = len(mods)
			var none []string
			for _, m := range mods {
				if _, err := s.v.ModuleTypes(m); err == nil {
					c.ModuleBTF++
				} else {
					none = append(none, m.Name)
				}
			}
			if c.Modules > c.ModuleBTF {
				miss("modules without BTF: %s (built without pahole, or out of tree)", strings.Join(none, ", "))
			}
		}
	}
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteText writes the capability line (and one line per missing thing).
func (c Capabilities) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dump allows: kallsyms %s", yesNo(c.Kallsyms))
	if c.Kallsyms {
		fmt.Fprintf(&b, " (%d symbols, %s)", c.KallsymsCount, c.KallsymsFrom)
	}
	fmt.Fprintf(&b, "; KALLSYMS_ALL %s; BTF %s", yesNo(c.KallsymsAll), yesNo(c.BTF))
	if c.BTFSize > 0 {
		fmt.Fprintf(&b, " (%.1f MB)", float64(c.BTFSize)/1e6)
	}
	if c.Modules > 0 || c.ModuleBTF > 0 {
		fmt.Fprintf(&b, "; module BTF %d of %d", c.ModuleBTF, c.Modules)
	}
	fmt.Fprintf(&b, "; ORC %s", yesNo(c.ORC))
	switch c.ORCVersion {
	case 3:
		b.WriteString(" (v3, 6.4+)")
	case 2:
		b.WriteString(" (before 6.4)")
	}
	if c.Types != "" && !strings.Contains(c.Types, "BTF in the dump") {
		fmt.Fprintf(&b, "; types from %s", c.Types)
	}
	b.WriteByte('\n')
	for _, m := range c.Missing {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
