// Package unwind walks x86_64 kernel stacks in a memory dump with the
// kernel's own ORC unwind tables, read from the dump's memory: no vmlinux,
// no debuginfo. It takes everything it needs as plain data (a memory
// reader, the ORC tables' addresses, the allowed stack ranges, a symbol
// source), so that whoever knows the kernel's objects (kallsyms, BTF) can
// feed it.
//
// The walk follows arch/x86/kernel/unwind_orc.c (unwind_next_frame): CALL
// frames, pt_regs frames (exceptions and interrupts), and the end of the
// stack; where ORC has no entry it falls back to frame pointers and then to
// a stack scan whose guesses are marked unreliable.
package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Memory reads kernel virtual memory; *kernel.Kernel implements it.
type Memory interface {
	ReadVirt(p []byte, vaddr uint64) (int, error)
}

// SymbolLookup finds a symbol's address by name; *kernel.Symbols
// implements it.
type SymbolLookup interface {
	Lookup(name string) (addr uint64, ok bool)
}

// Layout is the bit layout of struct orc_entry's last 16 bits, which has
// changed with the kernel.
type Layout int

const (
	// LayoutUnknown is no layout: the zero value.
	LayoutUnknown Layout = iota
	// LayoutV1 is Linux 4.14–6.2 (arch/x86/include/asm/orc_types.h, e.g.
	// linux-5.10 as stored in kseo1879/CPU_Scheduler
	// linux-5.10.62/.../asm/orc_types.h): sp_reg:4, bp_reg:4, type:2,
	// end:1, with ORC_TYPE_CALL=0, ORC_TYPE_REGS=1, ORC_TYPE_REGS_PARTIAL=2
	// (UNWIND_HINT_TYPE_*); an entry with sp_reg UNDEFINED ends the stack
	// when end is set and is a blind spot otherwise.
	LayoutV1
	// LayoutV2 is Linux 6.3: as LayoutV1 with a signal bit inserted before
	// end (type:2, signal:1, end:1; commit "x86/unwind/orc: Add 'signal'
	// field to ORC metadata").
	LayoutV2
	// LayoutV3 is Linux 6.4 and later, the kernels with .orc_header
	// (linux-6.6 orc_types.h, as stored in ehrenhasz/anvilos_alpha
	// .../linux-6.6.14/arch/x86/include/asm/orc_types.h): sp_reg:4,
	// bp_reg:4, type:3, signal:1, with ORC_TYPE_UNDEFINED=0,
	// END_OF_STACK=1, CALL=2, REGS=3, REGS_PARTIAL=4.
	LayoutV3
)

// String names the layout and the kernels that use it.
func (l Layout) String() string {
	switch l {
	case LayoutV1:
		return "v1 (type:2 end:1, Linux < 6.3)"
	case LayoutV2:
		return "v2 (type:2 signal:1 end:1, Linux 6.3)"
	case LayoutV3:
		return "v3 (type:3 signal:1, Linux >= 6.4)"
	}
	return "unknown"
}

// Type is an ORC entry's frame type, normalised to the Linux 6.4
// numbering whatever the table's layout.
type Type uint8

// ORC frame types (ORC_TYPE_* of Linux 6.4).
const (
	TypeUndefined Type = iota
	TypeEndOfStack
	TypeCall
	TypeRegs
	TypeRegsPartial
)

// String returns the kernel's name for the type.
func (t Type) String() string {
	switch t {
	case TypeUndefined:
		return "UNDEFINED"
	case TypeEndOfStack:
		return "END_OF_STACK"
	case TypeCall:
		return "CALL"
	case TypeRegs:
		return "REGS"
	case TypeRegsPartial:
		return "REGS_PARTIAL"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Reg is an ORC base register (ORC_REG_*, the same in every layout).
type Reg uint8

// ORC base registers.
const (
	RegUndefined Reg = iota
	RegPrevSP
	RegDX
	RegDI
	RegBP
	RegSP
	RegR10
	RegR13
	RegBPIndirect
	RegSPIndirect
)

var regNames = [...]string{"UNDEFINED", "PREV_SP", "DX", "DI", "BP", "SP", "R10", "R13", "BP_INDIRECT", "SP_INDIRECT"}

// String returns the kernel's name for the register (ORC_REG_ without
// the prefix).
func (r Reg) String() string {
	if int(r) < len(regNames) {
		return regNames[r]
	}
	return "reg(" + strconv.Itoa(int(r)) + ")"
}

// Entry is one decoded struct orc_entry: how to find the caller's SP and
// BP, and what kind of frame this is.
type Entry struct {
	SPOffset, BPOffset int16
	SPReg, BPReg       Reg
	Type               Type
	// Signal says the frame was interrupted rather than called, so its IP
	// is looked up as is (not IP-1). Before 6.3 the kernel derived it
	// from the type; the decoder does the same.
	Signal bool
}

// EntrySize is sizeof(struct orc_entry): s16, s16, u16, packed.
const EntrySize = 6

// ErrBadEntry is wrapped by errors about an entry whose bits mean nothing
// in its layout.
var ErrBadEntry = errors.New("invalid ORC entry")

// Decode decodes one 6-byte orc_entry of layout l into the 6.4 numbering.
// An entry whose type or register is out of range is an error wrapping
// ErrBadEntry.
func Decode(b []byte, l Layout) (Entry, error) {
	if len(b) < EntrySize {
		return Entry{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadEntry, len(b), EntrySize)
	}
	f := binary.LittleEndian.Uint16(b[4:])
	e := Entry{
		SPOffset: int16(binary.LittleEndian.Uint16(b[0:])),
		BPOffset: int16(binary.LittleEndian.Uint16(b[2:])),
		SPReg:    Reg(f & 0xf),
		BPReg:    Reg(f >> 4 & 0xf),
	}
	switch l {
	case LayoutV1, LayoutV2:
		typ := f >> 8 & 3
		var end bool
		if l == LayoutV1 {
			end = f>>10&1 != 0
			if f>>11 != 0 {
				return e, fmt.Errorf("%w: flags %#04x has bits above end", ErrBadEntry, f)
			}
		} else {
			e.Signal = f>>10&1 != 0
			end = f>>11&1 != 0
			if f>>12 != 0 {
				return e, fmt.Errorf("%w: flags %#04x has bits above end", ErrBadEntry, f)
			}
		}
		switch {
		case e.SPReg == RegUndefined && end:
			e.Type = TypeEndOfStack
		case e.SPReg == RegUndefined:
			e.Type = TypeUndefined
		case end:
			// The kernel only reads end when sp_reg is UNDEFINED.
			return e, fmt.Errorf("%w: end set with sp_reg %v", ErrBadEntry, e.SPReg)
		case typ == 0:
			e.Type = TypeCall
		case typ == 1:
			e.Type, e.Signal = TypeRegs, true
		case typ == 2:
			e.Type, e.Signal = TypeRegsPartial, true
		default:
			return e, fmt.Errorf("%w: type %d", ErrBadEntry, typ)
		}
	case LayoutV3:
		e.Type = Type(f >> 8 & 7)
		e.Signal = f>>11&1 != 0
		if e.Type > TypeRegsPartial {
			return e, fmt.Errorf("%w: type %d", ErrBadEntry, e.Type)
		}
		if f>>12 != 0 {
			return e, fmt.Errorf("%w: flags %#04x has bits above signal", ErrBadEntry, f)
		}
	default:
		return e, fmt.Errorf("%w: layout %v", ErrBadEntry, l)
	}
	if e.SPReg > RegSPIndirect || e.BPReg > RegSPIndirect {
		return e, fmt.Errorf("%w: register sp=%d bp=%d", ErrBadEntry, e.SPReg, e.BPReg)
	}
	return e, nil
}

// Table locates one ORC table in kernel memory: vmlinux's
// (__start_orc_unwind_ip, __start_orc_unwind) or a module's
// (mod->arch.orc_unwind_ip, orc_unwind, num_orcs). A module whose init text
// is still mapped may be given twice, once per text range, with the same
// tables.
type Table struct {
	// Name names the table in errors and frames: "vmlinux" or the module.
	Name string
	// TextStart and TextEnd bound the text the table covers: an IP in
	// [TextStart, TextEnd) is looked up in this table.
	TextStart, TextEnd uint64
	// IPs is the address of the s32 place-relative IP array, Entries that
	// of the orc_entry array; both have N elements.
	IPs, Entries uint64
	N            int
}

// maxEntries bounds N: vmlinux has ~100k entries, a module a few
// thousand; more is a corrupt count, refused before allocating.
const maxEntries = 4 << 20

// exactN is the most entries allocated before they are read.
const exactN = 1 << 20

// TableError says which ORC table could not be used and where it is.
type TableError struct {
	Table string
	Addr  uint64 // the address being read or checked
	Msg   string
	Err   error
}

func (e *TableError) Error() string {
	s := fmt.Sprintf("ORC table %s at %#x: %s", e.Table, e.Addr, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying read error.
func (e *TableError) Unwrap() error { return e.Err }

// loaded is a table whose IP array has been read.
type loaded struct {
	Table
	once sync.Once
	ips  []int32 // raw place-relative values
	ents []byte  // N*EntrySize bytes
	err  error
}

func (t *loaded) ip(i int) uint64 {
	return t.IPs + uint64(i)*4 + uint64(int64(t.ips[i]))
}

func (t *loaded) load(mem Memory) error {
	t.once.Do(func() { t.err = t.read(mem) })
	return t.err
}

func (t *loaded) read(mem Memory) error {
	if t.N <= 0 || t.N > maxEntries {
		return &TableError{Table: t.Name, Addr: t.IPs, Msg: fmt.Sprintf("implausible entry count %d", t.N)}
	}
	// Read both arrays in chunks, so that the IPs' raw bytes are never
	// held whole beside the []int32. Up to exactN entries (10 MiB) are
	// allocated at once, as a real vmlinux needs; above, the arrays grow
	// as reads succeed, so a lying N costs only what memory holds.
	var raw [16 << 10]byte
	first := t.N
	if first > exactN {
		first = len(raw)
	}
	t.ips = make([]int32, 0, first)
	for i := 0; i < t.N; {
		k := min(t.N-i, len(raw)/4)
		at := t.IPs + uint64(i)*4
		if n, err := mem.ReadVirt(raw[:4*k], at); n < 4*k {
			t.ips = nil
			return &TableError{Table: t.Name, Addr: at + uint64(n), Msg: fmt.Sprintf("reading the IP array (%d entries)", t.N), Err: err}
		}
		for j := 0; j < k; j++ {
			t.ips = append(t.ips, int32(binary.LittleEndian.Uint32(raw[4*j:])))
		}
		i += k
	}
	t.ents = make([]byte, 0, first*EntrySize)
	for off := 0; off < t.N*EntrySize; {
		k := min(t.N*EntrySize-off, len(raw))
		at := t.Entries + uint64(off)
		if n, err := mem.ReadVirt(raw[:k], at); n < k {
			t.ips, t.ents = nil, nil
			return &TableError{Table: t.Name, Addr: at + uint64(n), Msg: fmt.Sprintf("reading the entry array (%d entries)", t.N), Err: err}
		}
		t.ents = append(t.ents, raw[:k]...)
		off += k
	}
	// Give back what doubling left unused (up to half the capacity).
	if cap(t.ips) > len(t.ips)*5/4 {
		t.ips = append(make([]int32, 0, len(t.ips)), t.ips...)
	}
	if cap(t.ents) > len(t.ents)*5/4 {
		t.ents = append(make([]byte, 0, len(t.ents)), t.ents...)
	}
	// The kernel sorts the tables at build time (sorttable) and at module
	// load; binary search needs it. Check every pair: it is cheap.
	for i := 1; i < t.N; i++ {
		if t.ip(i) < t.ip(i-1) {
			return &TableError{Table: t.Name, Addr: t.IPs + uint64(i)*4, Msg: fmt.Sprintf("IP array not sorted at entry %d (%#x after %#x)", i, t.ip(i), t.ip(i-1))}
		}
	}
	// A zeroed IP array is sorted too (each entry's IP is its own
	// address): vmlinux's IPs must be mostly in its text, which
	// init and entry code beyond _etext cannot outweigh.
	if t.Name == "vmlinux" && t.TextEnd > t.TextStart && t.N > 0 {
		in := 0
		for i := 0; i < t.N; i++ {
			if ip := t.ip(i); ip >= t.TextStart && ip < t.TextEnd {
				in++
			}
		}
		if in*2 < t.N {
			return &TableError{Table: t.Name, Addr: t.IPs, Msg: fmt.Sprintf("only %d of %d IPs lie in the text %#x-%#x", in, t.N, t.TextStart, t.TextEnd)}
		}
	}
	return nil
}

// find returns the index of the entry covering ip, as __orc_find does:
// the rightmost entry whose IP is <= ip. ok is false below the first.
func (t *loaded) find(ip uint64) (int, bool) {
	i := sort.Search(t.N, func(i int) bool { return t.ip(i) > ip }) - 1
	return i, i >= 0
}

// ORC is the set of ORC tables of one kernel, vmlinux's and the modules',
// with the layout they were found to have.
type ORC struct {
	mem     Memory
	layout  Layout
	reason  string
	kernel  *loaded
	modules []*loaded
}

// Layout returns the entry layout in use.
func (o *ORC) Layout() Layout { return o.layout }

// LayoutReason says why that layout was chosen: the release and what the
// probe found.
func (o *ORC) LayoutReason() string { return o.reason }

// KernelTable locates vmlinux's ORC table by its kallsyms symbols; its
// text is [_stext, _etext) widened to the IPs the table covers.
func KernelTable(syms SymbolLookup) (Table, error) {
	var missing []string
	get := func(name string) uint64 {
		a, ok := syms.Lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return a
	}
	ips := get("__start_orc_unwind_ip")
	stop := get("__stop_orc_unwind_ip")
	ents := get("__start_orc_unwind")
	stext := get("_stext")
	etext := get("_etext")
	if len(missing) > 0 {
		return Table{}, fmt.Errorf("vmlinux ORC table: kallsyms lacks %s", strings.Join(missing, ", "))
	}
	if stop < ips || (stop-ips)%4 != 0 {
		return Table{}, &TableError{Table: "vmlinux", Addr: ips, Msg: fmt.Sprintf("__stop_orc_unwind_ip %#x is not a whole number of s32 past the start", stop)}
	}
	t := Table{Name: "vmlinux", TextStart: stext, TextEnd: etext, IPs: ips, Entries: ents, N: int((stop - ips) / 4)}
	if end, ok := syms.Lookup("__stop_orc_unwind"); ok && end-ents != uint64(t.N)*EntrySize {
		return Table{}, &TableError{Table: "vmlinux", Addr: ents, Msg: fmt.Sprintf("entry array is %d bytes for %d IPs", end-ents, t.N)}
	}
	return t, nil
}

// probeFuncs are functions every x86_64 kernel has, whose first
// instruction's ORC entry must say "CALL, CFA = SP+8, BP unchanged".
var probeFuncs = []string{"schedule", "do_exit", "panic", "vfs_read", "kmem_cache_alloc", "__schedule"}

// LoadKernel reads vmlinux's ORC table located by kallsyms (see
// KernelTable), chooses its layout by release and probe (see Load), and
// adds the module tables given.
func LoadKernel(mem Memory, syms SymbolLookup, release string, modules ...Table) (*ORC, error) {
	t, err := KernelTable(syms)
	if err != nil {
		return nil, err
	}
	var probes []uint64
	for _, n := range probeFuncs {
		if a, ok := syms.Lookup(n); ok {
			probes = append(probes, a)
		}
	}
	return Load(mem, release, t, probes, modules...)
}

// Load reads the kernel's ORC table and chooses the entry layout. The
// release (as in VMCOREINFO OSRELEASE) says which layout to try first, but
// a layout is only taken when the table validates under it: the entries
// at the probe addresses (function entry points) decode to a CALL frame
// with the CFA at SP+8, and the table as a whole decodes without invalid
// entries and with mostly CALL frames. When no layout validates the error
// names the table and its addresses. Module tables are read on first use.
func Load(mem Memory, release string, kernel Table, probes []uint64, modules ...Table) (*ORC, error) {
	k := &loaded{Table: kernel}
	if err := k.load(mem); err != nil {
		return nil, err
	}
	o := &ORC{mem: mem, kernel: k}
	for _, m := range modules {
		o.modules = append(o.modules, &loaded{Table: m})
	}
	order := layoutsFor(release)
	var why []string
	for _, l := range order {
		ok, r := probe(k, l, probes)
		if ok {
			o.layout = l
			o.reason = fmt.Sprintf("release %q suggests %v first; %s", release, order[0], r)
			return o, nil
		}
		why = append(why, fmt.Sprintf("%v: %s", l, r))
	}
	return nil, &TableError{Table: k.Name, Addr: k.Entries, Msg: fmt.Sprintf("no entry layout validates (IP array at %#x, %d entries): %s", k.IPs, k.N, strings.Join(why, "; "))}
}

// layoutsFor orders the layouts to try, the release's own first.
func layoutsFor(release string) []Layout {
	maj, min := parseRelease(release)
	switch {
	case maj > 6 || maj == 6 && min >= 4:
		return []Layout{LayoutV3, LayoutV2, LayoutV1}
	case maj == 6 && min == 3:
		return []Layout{LayoutV2, LayoutV3, LayoutV1}
	}
	return []Layout{LayoutV1, LayoutV2, LayoutV3}
}

func parseRelease(r string) (maj, min int) {
	f := strings.FieldsFunc(r, func(c rune) bool { return c < '0' || c > '9' })
	if len(f) >= 2 {
		maj, _ = strconv.Atoi(f[0])
		min, _ = strconv.Atoi(f[1])
	}
	return maj, min
}

// probe validates layout l on a loaded table.
func probe(t *loaded, l Layout, probes []uint64) (bool, string) {
	calls, ends, bad, firstBad := 0, 0, 0, -1
	for i := 0; i < t.N; i++ {
		e, err := Decode(t.ents[i*EntrySize:], l)
		if err != nil {
			if firstBad < 0 {
				firstBad = i
			}
			bad++
			continue
		}
		if e.Type == TypeCall && (e.SPReg == RegSP || e.SPReg == RegBP) {
			calls++
		}
		if e.Type == TypeEndOfStack {
			ends++
		}
	}
	if bad > 0 {
		return false, fmt.Sprintf("%d of %d entries invalid, the first at %#x", bad, t.N, t.Entries+uint64(firstBad)*EntrySize)
	}
	if calls*2 < t.N {
		return false, fmt.Sprintf("only %d of %d entries are CALL frames based on SP or BP", calls, t.N)
	}
	// Every kernel ends some stacks (entry code, startup_64,
	// ret_from_fork): a layout that finds no END_OF_STACK reads the end
	// bit in the wrong place (v1 read as v2 sees it as a signal bit).
	if ends == 0 {
		return false, "no END_OF_STACK entry"
	}
	good := 0
	for _, a := range probes {
		i, ok := t.find(a)
		if !ok {
			continue
		}
		e, _ := Decode(t.ents[i*EntrySize:], l)
		if e.Type != TypeCall || e.SPReg != RegSP || e.SPOffset != 8 || e.BPReg != RegUndefined {
			return false, fmt.Sprintf("the entry for function entry %#x decodes to %s sp=%v%+d bp=%v, not CALL sp=SP+8", a, e.Type, e.SPReg, e.SPOffset, e.BPReg)
		}
		good++
	}
	return true, fmt.Sprintf("all %d entries decode, %d are CALL frames, %d END_OF_STACK, and %d of %d function entry points decode to CALL sp=SP+8", t.N, calls, ends, good, len(probes))
}

// WithModules returns an ORC that shares o's kernel table and layout and
// looks modules up in tables instead of o's: the module list can be read
// (or re-read) after the kernel table.
func (o *ORC) WithModules(tables ...Table) *ORC {
	n := &ORC{mem: o.mem, layout: o.layout, reason: o.reason, kernel: o.kernel}
	for _, m := range tables {
		n.modules = append(n.modules, &loaded{Table: m})
	}
	return n
}

// Lookup returns the ORC entry covering ip and the name of its table. ok
// is false when no table covers ip; an unreadable or corrupt table is an
// error naming it.
func (o *ORC) Lookup(ip uint64) (e Entry, table string, ok bool, err error) {
	t := o.tableFor(ip)
	if t == nil {
		return Entry{}, "", false, nil
	}
	if err := t.load(o.mem); err != nil {
		return Entry{}, t.Name, false, err
	}
	i, ok := t.find(ip)
	if !ok {
		return Entry{}, t.Name, false, nil
	}
	e, err = Decode(t.ents[i*EntrySize:], o.layout)
	if err != nil {
		return e, t.Name, false, &TableError{Table: t.Name, Addr: t.Entries + uint64(i)*EntrySize, Msg: fmt.Sprintf("entry %d for ip %#x", i, ip), Err: err}
	}
	return e, t.Name, true, nil
}

func (o *ORC) tableFor(ip uint64) *loaded {
	if ip >= o.kernel.TextStart && ip < o.kernel.TextEnd {
		return o.kernel
	}
	for _, m := range o.modules {
		if ip >= m.TextStart && ip < m.TextEnd {
			return m
		}
	}
	return nil
}

// Text reports whether addr is in text some table covers: the kernel's
// [_stext, _etext) or a module's text.
func (o *ORC) Text(addr uint64) bool { return o.tableFor(addr) != nil }
