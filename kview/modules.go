package kview

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Module is one loaded module as its struct module says.
type Module struct {
	Name string
	// Addr is the struct module's address.
	Addr uint64
	// Regions are the module's memory: text, data and, while the module
	// is still initialising, its init text.
	Regions []Region
	// ORC locates the module's unwind tables (mod->arch), zero when the
	// kernel has no ORC.
	ORC ORCTable
	// Syms are the module's symbols by address (from mod->kallsyms,
	// which still lists init symbols while init runs).
	Syms []ModSym
	// Err says what could not be read of this module; the rest is kept.
	Err error
}

// Region is a range of module memory.
type Region struct {
	Kind       string // "text", "data", "rodata", "init_text", ...
	Start, End uint64
}

// ORCTable is where one module's ORC unwind tables are.
type ORCTable struct {
	IPs, Entries uint64
	N            int
}

// ModSym is one module symbol.
type ModSym struct {
	Addr, Size uint64
	Name       string
	Type       byte // 't', 'T', 'd', ... as /proc/kallsyms shows it
}

// maxModules and maxModSyms bound what a corrupt list or count can make
// us read; maxListNodes bounds any list walk (the task list's maxTasks,
// with room for the head), whatever its caller checks.
const (
	maxModules   = 8192
	maxModSyms   = 1 << 20
	maxListNodes = maxTasks + 1
)

// Modules returns the loaded modules, read from the `modules` list on the
// first call.
func (v *View) Modules() ([]*Module, error) {
	v.modsOnce.Do(func() { v.mods, v.modsErr = v.loadModules() })
	return v.mods, v.modsErr
}

func (v *View) loadModules() ([]*Module, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return nil, err
	}
	head, ok := syms.Lookup("modules")
	if !ok {
		return nil, fmt.Errorf("modules: kallsyms has no `modules` list head")
	}
	listOff, err := v.Offset("module", "list")
	if err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	var mods []*Module
	err = v.List(head, func(node uint64) error {
		if len(mods) >= maxModules {
			return fmt.Errorf("more than %d modules: the list is corrupt", maxModules)
		}
		m := v.readModule(node - listOff)
		// A struct module read from garbage has no name: what follows
		// it would be as made up, so the walk stops here.
		if !plausibleName(m.Name) {
			return fmt.Errorf("node %#x: module at %#x has no plausible name (%q): %w", node, m.Addr, m.Name, errCorruptNode)
		}
		mods = append(mods, m)
		return nil
	})
	if err != nil {
		return mods, fmt.Errorf("modules list at %#x: %w", head, err)
	}
	return mods, nil
}

// errCorruptNode is what a List callback wraps to say its node is no
// object of the list (garbage that reads as a node): List then treats it
// as a break, not as the caller's own stop.
var errCorruptNode = errors.New("the list is corrupt")

// List calls fn with each node of the circular list whose head is at
// head, stopping at the head, at a node seen twice or at a read failure.
// When the list breaks (an unreadable link, a loop), the nodes past the
// break are read backwards from the head's prev pointer, each checked
// against its successor's, and handed to fn in list order; the error
// still says where the list broke.
func (v *View) List(head uint64, fn func(node uint64) error) error {
	seen := map[uint64]bool{head: true}
	node, err := v.U64(head)
	if err != nil {
		return err
	}
	var broken error
	for node != head {
		if len(seen) > maxListNodes {
			return fmt.Errorf("more than %d nodes from %#x: the list is corrupt", maxListNodes, head)
		}
		if seen[node] {
			broken = fmt.Errorf("node %#x is met twice: the list loops", node)
			break
		}
		seen[node] = true
		// Read the node before handing it on: a node whose own link is
		// unreadable (a garbage or unmapped pointer) is no object, and
		// fn would make one up out of nothing.
		next, err := v.U64(node)
		if err != nil {
			broken = fmt.Errorf("next of %#x: %w", node, err)
			break
		}
		if err := fn(node); err != nil {
			if !errors.Is(err, errCorruptNode) {
				return err
			}
			broken = err
			break
		}
		node = next
	}
	if broken == nil {
		return nil
	}
	back := v.listBack(head, seen)
	for i := len(back) - 1; i >= 0; i-- {
		if err := fn(back[i]); err != nil {
			return err
		}
	}
	if len(back) > 0 {
		return fmt.Errorf("%w (%d nodes after the break read back from the head)", broken, len(back))
	}
	return broken
}

// listBack walks a broken list backwards from head->prev to the first
// node already seen, keeping the nodes whose next pointer names the node
// walked from: a prev chain into garbage ends there.
func (v *View) listBack(head uint64, seen map[uint64]bool) []uint64 {
	var back []uint64
	succ := head
	node, err := v.U64(head + 8)
	for err == nil && node != head && !seen[node] && len(seen)+len(back) <= maxListNodes {
		next, err1 := v.U64(node)
		prev, err2 := v.U64(node + 8)
		if err1 != nil || err2 != nil || next != succ {
			break
		}
		seen[node] = true
		back = append(back, node)
		succ, node = node, prev
	}
	return back
}

// moduleRegions are the memory kinds of kernels 6.4 and later
// (mod->mem[MOD_TEXT...]), in enum mod_mem_type's order.
var moduleRegions = []string{"text", "data", "rodata", "ro_after_init", "init_text", "init_data", "init_rodata"}

func (v *View) readModule(addr uint64) *Module {
	m := &Module{Addr: addr}
	nameOff, err := v.Offset("module", "name")
	if err != nil {
		m.Err = err
		return m
	}
	var name [56]byte
	if err := v.Read(name[:], addr+nameOff); err != nil {
		m.Err = fmt.Errorf("module at %#x: name: %w", addr, err)
		return m
	}
	if i := bytes.IndexByte(name[:], 0); i >= 0 {
		m.Name = string(name[:i])
	} else {
		m.Name = string(name[:])
	}
	m.Regions = v.moduleRegions(addr)
	if n, err := v.Uint(addr, "module", "arch.num_orcs"); err == nil && n > 0 && n < maxModSyms {
		ips, _ := v.Uint(addr, "module", "arch.orc_unwind_ip")
		ents, _ := v.Uint(addr, "module", "arch.orc_unwind")
		m.ORC = ORCTable{IPs: ips, Entries: ents, N: int(n)}
	}
	syms, err := v.moduleSyms(addr)
	if err != nil {
		m.Err = fmt.Errorf("module %s: symbols: %w", m.Name, err)
	}
	m.Syms = syms
	return m
}

func (v *View) moduleRegions(addr uint64) []Region {
	var rs []Region
	// 6.4 and later: mem[MOD_MEM_NUM_TYPES] of struct module_memory.
	if _, err := v.Offset("module", "mem"); err == nil {
		for i, kind := range moduleRegions {
			base, err1 := v.Uint(addr, "module", fmt.Sprintf("mem[%d].base", i))
			size, err2 := v.Uint(addr, "module", fmt.Sprintf("mem[%d].size", i))
			if err1 == nil && err2 == nil && base != 0 && size != 0 {
				rs = append(rs, Region{Kind: kind, Start: base, End: base + size})
			}
		}
		return rs
	}
	// Before 6.4: core_layout and init_layout, text first.
	for _, l := range []struct{ layout, kind string }{{"core_layout", ""}, {"init_layout", "init_"}} {
		base, err1 := v.Uint(addr, "module", l.layout+".base")
		size, err2 := v.Uint(addr, "module", l.layout+".size")
		text, err3 := v.Uint(addr, "module", l.layout+".text_size")
		if err1 != nil || err2 != nil || base == 0 || size == 0 {
			continue
		}
		if err3 != nil || text > size {
			text = size
		}
		rs = append(rs, Region{Kind: l.kind + "text", Start: base, End: base + text})
		if text < size {
			rs = append(rs, Region{Kind: l.kind + "data", Start: base + text, End: base + size})
		}
	}
	return rs
}

// Elf64_Sym as the kernel keeps a module's symbol table.
const (
	elfSymSize = 24
	shnUndef   = 0
	sttObject  = 1
	sttFunc    = 2
	stbGlobal  = 1
)

func (v *View) moduleSyms(addr uint64) ([]ModSym, error) {
	ks, err := v.Uint(addr, "module", "kallsyms")
	if err != nil || ks == 0 {
		return nil, fmt.Errorf("no mod->kallsyms: %v", err)
	}
	symtab, err := v.Uint(ks, "mod_kallsyms", "symtab")
	if err != nil {
		return nil, err
	}
	num, err := v.Uint(ks, "mod_kallsyms", "num_symtab")
	if err != nil {
		return nil, err
	}
	strtab, err := v.Uint(ks, "mod_kallsyms", "strtab")
	if err != nil {
		return nil, err
	}
	if num > maxModSyms {
		return nil, fmt.Errorf("mod_kallsyms at %#x: num_symtab %d is implausible", ks, num)
	}
	raw := make([]byte, num*elfSymSize)
	if err := v.Read(raw, symtab); err != nil {
		return nil, fmt.Errorf("symtab at %#x (%d entries): %w", symtab, num, err)
	}
	var typetab []byte
	if tt, err := v.Uint(ks, "mod_kallsyms", "typetab"); err == nil && tt != 0 {
		typetab = make([]byte, num)
		if v.Read(typetab, tt) != nil {
			typetab = nil
		}
	}
	// The string table's size is not kept: read it up to the last name
	// any symbol points at, plus room for that name.
	var maxName uint32
	for i := uint64(0); i < num; i++ {
		maxName = max(maxName, binary.LittleEndian.Uint32(raw[i*elfSymSize:]))
	}
	strs := make([]byte, uint64(maxName)+256)
	if err := v.Read(strs[:maxName+1], strtab); err != nil {
		return nil, fmt.Errorf("strtab at %#x: %w", strtab, err)
	}
	_ = v.Read(strs[maxName+1:], strtab+uint64(maxName)+1) // the last name's tail; may cross into an unreadable page
	var out []ModSym
	for i := uint64(0); i < num; i++ {
		e := raw[i*elfSymSize:]
		nameOff := binary.LittleEndian.Uint32(e)
		info, shndx := e[4], binary.LittleEndian.Uint16(e[6:])
		value, size := binary.LittleEndian.Uint64(e[8:]), binary.LittleEndian.Uint64(e[16:])
		if shndx == shnUndef || value == 0 || nameOff == 0 {
			continue
		}
		name := strs[nameOff:]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		if len(name) == 0 || strings.HasPrefix(string(name), "$") {
			continue
		}
		typ := byte('?')
		if typetab != nil {
			typ = typetab[i]
		} else {
			switch info & 0xf {
			case sttFunc:
				typ = 't'
			case sttObject:
				typ = 'd'
			}
			if info>>4 == stbGlobal && typ != '?' {
				typ -= 'a' - 'A'
			}
		}
		out = append(out, ModSym{Addr: value, Size: size, Name: string(name), Type: typ})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// ModuleOf returns the module whose memory holds addr, or nil.
func (v *View) ModuleOf(addr uint64) *Module {
	mods, _ := v.Modules()
	for _, m := range mods {
		for _, r := range m.Regions {
			if addr >= r.Start && addr < r.End {
				return m
			}
		}
	}
	return nil
}

// Symbol names addr: the kallsyms symbol at or below it or, for module
// memory, the module symbol, with the module's name. ok is false when
// neither knows the address.
func (v *View) Symbol(addr uint64) (name string, off uint64, module string, ok bool) {
	if m := v.ModuleOf(addr); m != nil {
		i := sort.Search(len(m.Syms), func(i int) bool { return m.Syms[i].Addr > addr }) - 1
		if i >= 0 {
			// Of aliases at one address (skbcsum_init and the init_module
			// that module_init() makes of it), the first in the module's
			// symbol table, as the kernel's %pS names it.
			for i > 0 && m.Syms[i-1].Addr == m.Syms[i].Addr {
				i--
			}
			s := m.Syms[i]
			return s.Name, addr - s.Addr, m.Name, true
		}
		return "", 0, m.Name, false
	}
	syms, err := v.k.Symbols()
	if err != nil {
		return "", 0, "", false
	}
	name, off, ok = syms.Addr(addr)
	return name, off, "", ok
}

// Lookup returns the address of a symbol: kallsyms first, then each
// module's symbols ("skbcsum_bad_skb"), or "module:symbol".
func (v *View) Lookup(name string) (uint64, string, error) {
	mod, sym, qualified := strings.Cut(name, ":")
	if !qualified {
		sym, mod = name, ""
		if syms, err := v.k.Symbols(); err == nil {
			if a, ok := syms.Lookup(name); ok {
				return a, "", nil
			}
		}
	}
	mods, err := v.Modules()
	for _, m := range mods {
		if mod != "" && m.Name != mod {
			continue
		}
		for _, s := range m.Syms {
			if s.Name == sym {
				return s.Addr, m.Name, nil
			}
		}
	}
	if err != nil {
		return 0, "", fmt.Errorf("symbol %q: not in kallsyms, and the module list could not be read whole: %w", name, err)
	}
	return 0, "", fmt.Errorf("symbol %q: %w", name, ErrNoSymbol)
}

// PerCPU returns the address of cpu's copy of the per-cpu variable at
// offset off (its kallsyms address, small under the absolute-percpu
// encoding of x86_64).
func (v *View) PerCPU(off uint64, cpu int) (uint64, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return 0, err
	}
	base, ok := syms.Lookup("__per_cpu_offset")
	if !ok {
		return 0, fmt.Errorf("per-cpu: kallsyms has no __per_cpu_offset")
	}
	if cpu < 0 || cpu >= 8192 {
		return 0, fmt.Errorf("per-cpu: cpu %d out of range", cpu)
	}
	o, err := v.U64(base + uint64(cpu)*8)
	if err != nil {
		return 0, fmt.Errorf("__per_cpu_offset[%d]: %w", cpu, err)
	}
	return off + o, nil
}

// plausibleName reports whether s can be a module's or a device's name:
// not empty, printable ASCII without spaces (modules are [A-Za-z0-9_],
// dev_valid_name refuses whitespace, '/' and ':').
func plausibleName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
