package ktypes

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// DWARF is the types and global variables of a debug vmlinux (or a
// module's .ko with debug info), read with the standard library's
// debug/dwarf and given as btf types, so that code laying values over
// memory sees one type model whatever the source.
//
// LoadDWARF indexes only the names at the top of each compilation unit
// (types and variables, with their offsets: a 6.1 vmlinux holds ~165 MB of
// .debug_info, and most of it is functions); a type is converted when it
// is asked for, with the types it refers to, and kept. A DWARF is safe for
// concurrent use.
//
// Where it differs from kernel BTF: a multi-dimensional array stays nested
// as C declares it (list_head folios[4][2][5]), where pahole flattens it
// to one dimension (folios[40]); types defined inside a function body are
// not indexed (8 local helper structs in 6.1). Every global and static
// variable has a type here, where BTF types only per-cpu ones.
type DWARF struct {
	src string
	// file is the ELF while it is loaded; nil after (its reader is
	// closed).
	file *elf.File
	// unmap releases the file's mapping; nil when sections were read.
	unmap func() error
	// mapped is the file's mapping, nil when sections were read; info
	// is .debug_info, at infoOff in the file.
	mapped, info []byte
	infoOff      int

	mu sync.Mutex
	// data is not safe for concurrent use (its type cache and readers):
	// mu guards it as well as conv.
	data *dwarf.Data
	// types holds, per kind and name, a complete definition: the one of
	// the unit that defines the most types (see index); vars, per name,
	// the variable entry that types it best (see record).
	types   map[dwarfKey]typeDef
	vars    map[string]dwarfVar
	conv    map[dwarf.Type]btf.Type
	order   binary.ByteOrder
	infoLen int
}

var _ Types = (*DWARF)(nil)

// dwarfKind is the C namespace a type name lives in.
type dwarfKind uint8

const (
	dkStruct dwarfKind = iota
	dkUnion
	dkTypedef
	dkEnum
	dkBase
)

type dwarfKey struct {
	kind dwarfKind
	name string
}

// typeDef is where a type is defined, and how many named types its unit
// defines.
type typeDef struct {
	off       dwarf.Offset
	unitTypes int32
}

// pendingType is a definition of the unit being indexed.
type pendingType struct {
	key dwarfKey
	off dwarf.Offset
}

type dwarfVar struct {
	off dwarf.Offset
	// rank: 1 a static definition, 2 a declaration, 3 a global's
	// definition typed by its declaration, 4 one with its own type.
	rank int8
}

// LoadDWARF opens the ELF file at path and indexes its DWARF's type and
// variable names. Errors name the file. Close releases it.
func LoadDWARF(path string) (*DWARF, error) {
	// DWARF is read at random: a FIFO or device would block or mislead.
	// Stat before opening, since opening a FIFO waits for a writer.
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ktypes: DWARF: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ktypes: DWARF: %s is not a regular file (%s): a vmlinux is read at random", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ktypes: DWARF: %w", err)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ktypes: DWARF of %s: %w", path, err)
	}
	d := &DWARF{file: ef, order: ef.ByteOrder}
	ok := false
	defer func() {
		if !ok {
			d.close(f)
		}
	}()
	if err := d.open(f); err != nil {
		return nil, fmt.Errorf("ktypes: DWARF of %s: %w", path, err)
	}
	if err := d.index(); err != nil {
		return nil, fmt.Errorf("ktypes: DWARF of %s: %w", path, err)
	}
	if len(d.types) == 0 {
		return nil, fmt.Errorf("ktypes: DWARF of %s: no named types", path)
	}
	f.Close() // the mapping, or the sections read, outlive the descriptor
	d.file = nil
	ok = true
	d.src = fmt.Sprintf("DWARF of %s (%.1f MB)", path, float64(d.infoLen)/1e6)
	return d, nil
}

// open makes d.data from the DWARF sections, mapped where the system
// allows so that the ~170 MB are paged in from the file as read rather
// than copied to the heap.
func (d *DWARF) open(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if d.file.Type == elf.ET_REL {
		// A module's .ko: its DWARF needs its relocations applied
		// (string offsets are addends of relocations against
		// .debug_str), which debug/elf does on a copy. Modules are
		// small.
		data, err := d.file.DWARF()
		if err != nil {
			return err
		}
		if s := d.file.Section(".debug_info"); s != nil {
			d.infoLen = int(s.Size)
		}
		d.data = data
		return nil
	}
	mapped, unmap := mapFile(f, st.Size())
	d.unmap = unmap
	d.mapped = mapped
	section := func(name string, required bool) ([]byte, error) {
		s := d.file.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			if required {
				return nil, fmt.Errorf("no %s section (not a debug build, or stripped)", name)
			}
			return nil, nil
		}
		if mapped != nil && s.Flags&elf.SHF_COMPRESSED == 0 {
			end := s.Offset + s.Size
			if end < s.Offset || end > uint64(len(mapped)) {
				return nil, fmt.Errorf("section %s [%#x, +%#x) beyond the file's %d bytes", name, s.Offset, s.Size, len(mapped))
			}
			return mapped[s.Offset:end:end], nil
		}
		// Compressed sections are inflated to the heap; bound what the
		// header claims by the file size (compression is rarely better
		// than 1:20 on DWARF).
		if s.Flags&elf.SHF_COMPRESSED == 0 && s.Offset+s.Size > uint64(st.Size()) {
			return nil, fmt.Errorf("section %s [%#x, +%#x) beyond the file's %d bytes", name, s.Offset, s.Size, st.Size())
		}
		if s.Flags&elf.SHF_COMPRESSED != 0 && s.Size > 64*uint64(st.Size()) {
			return nil, fmt.Errorf("section %s claims %d bytes uncompressed", name, s.Size)
		}
		b, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", name, err)
		}
		return b, nil
	}
	abbrev, err := section(".debug_abbrev", true)
	if err != nil {
		return err
	}
	info, err := section(".debug_info", true)
	if err != nil {
		return err
	}
	str, err := section(".debug_str", false)
	if err != nil {
		return err
	}
	d.infoLen = len(info)
	d.info = info
	if s := d.file.Section(".debug_info"); s != nil {
		d.infoOff = int(s.Offset)
	}
	// .debug_line is not read: types need no line table, and it is
	// 16 MB in a 6.1 vmlinux.
	data, err := dwarf.New(abbrev, nil, nil, info, nil, nil, nil, str)
	if err != nil {
		return err
	}
	for _, name := range []string{".debug_str_offsets", ".debug_addr", ".debug_line_str", ".debug_rnglists"} {
		b, err := section(name, false)
		if err != nil {
			return err
		}
		if b != nil {
			if err := data.AddSection(name, b); err != nil {
				return fmt.Errorf("section %s: %w", name, err)
			}
		}
	}
	d.data = data
	return nil
}

// index reads the entries at the top of each unit, recording where each
// named type and variable is, and skips the rest (function bodies, members)
// through their sibling links.
//
// Every unit defines the types it uses, so a name has as many definitions
// as units that use it (list_head: ~2900). The index keeps the one of the
// unit that defines the most types: a type converted from there refers to
// that unit's definitions of its members' types, so the types asked for
// share one graph rather than pulling in a graph per unit (converting all
// 7456 structs of a 6.1 vmlinux then holds 0.5 GB instead of 1.7).
func (d *DWARF) index() error {
	d.types = make(map[dwarfKey]typeDef, 1<<16)
	var pending []pendingType
	flush := func() {
		n := int32(min(len(pending), 1<<31-1))
		for _, p := range pending {
			if cur, ok := d.types[p.key]; !ok || n > cur.unitTypes {
				d.types[p.key] = typeDef{off: p.off, unitTypes: n}
			}
		}
		pending = pending[:0]
	}
	d.vars = make(map[string]dwarfVar, 1<<16)
	d.conv = make(map[dwarf.Type]btf.Type)
	r := d.data.Reader()
	// The pass reads all of .debug_info once; the pages it is done with
	// are let go as it goes (they stay in the page cache, shared and
	// clean), so that the index costs ~20 MB of resident file pages
	// rather than all 165 MB of a 6.1 vmlinux's.
	const releaseEvery = 16 << 20
	released := 0
	defer func() { d.release(len(d.info)) }()
	for {
		e, err := r.Next()
		if err != nil {
			return err
		}
		if e == nil {
			flush()
			return nil
		}
		if off := int(e.Offset); off-released >= 2*releaseEvery {
			released = off - releaseEvery
			d.release(released)
		}
		switch e.Tag {
		case dwarf.TagCompileUnit, dwarf.TagPartialUnit:
			// Its children are the top level: read on.
			flush()
			continue
		case 0:
			// The end of a unit's children.
			flush()
			continue
		}
		if k, ok := d.record(e); ok {
			pending = append(pending, pendingType{key: k, off: e.Offset})
		}
		if e.Children {
			r.SkipChildren()
		}
	}
}

// release drops the resident pages of the mapping up to .debug_info's
// first n bytes, when the file is mapped. Only .debug_info and what comes
// before it in the file (which is not read) are let go.
func (d *DWARF) release(n int) {
	if d.mapped == nil || n <= 0 {
		return
	}
	end := d.infoOff + min(n, len(d.info))
	end -= end % os.Getpagesize()
	if end > 0 && end <= len(d.mapped) {
		releasePages(d.mapped[:end])
	}
}

// record notes a variable in d.vars, and returns the key of a type
// definition.
func (d *DWARF) record(e *dwarf.Entry) (dwarfKey, bool) {
	var kind dwarfKind
	switch e.Tag {
	case dwarf.TagStructType:
		kind = dkStruct
	case dwarf.TagUnionType:
		kind = dkUnion
	case dwarf.TagTypedef:
		kind = dkTypedef
	case dwarf.TagEnumerationType:
		kind = dkEnum
	case dwarf.TagBaseType:
		kind = dkBase
	case dwarf.TagVariable:
		name, _ := e.Val(dwarf.AttrName).(string)
		if name == "" {
			// A definition in the unit that also declares the variable
			// names it through DW_AT_specification; it has the complete
			// type (const char linux_banner[] has its length only
			// there). Rare enough to read the declaration for it.
			spec, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset)
			if !ok {
				return dwarfKey{}, false
			}
			r := d.data.Reader()
			r.Seek(spec)
			if se, err := r.Next(); err == nil && se != nil && se.Tag == dwarf.TagVariable {
				name, _ = se.Val(dwarf.AttrName).(string)
			}
			if name == "" {
				return dwarfKey{}, false
			}
		}
		// The global of that name beats a static one of some unit, and
		// its definition its declarations; a definition with a type of
		// its own beats one typed by its declaration: in the unit that
		// defines an array declared without a length, only the
		// definition's type has the length.
		_, ownType := e.Val(dwarf.AttrType).(dwarf.Offset)
		external, _ := e.Val(dwarf.AttrExternal).(bool)
		var rank int8
		switch {
		case e.Val(dwarf.AttrDeclaration) != nil:
			rank = 2
		case e.Val(dwarf.AttrSpecification) != nil && !ownType:
			rank = 3
		case e.Val(dwarf.AttrSpecification) != nil || external:
			rank = 4
		default:
			rank = 1 // static
		}
		if v, seen := d.vars[name]; !seen || v.rank < rank {
			d.vars[name] = dwarfVar{off: e.Offset, rank: rank}
		}
		return dwarfKey{}, false
	default:
		return dwarfKey{}, false
	}
	name, _ := e.Val(dwarf.AttrName).(string)
	if name == "" || e.Val(dwarf.AttrDeclaration) != nil {
		return dwarfKey{}, false
	}
	return dwarfKey{kind, name}, true
}

// Close releases the file's mapping. Types already returned stay valid:
// they hold no reference to it.
func (d *DWARF) Close() error { return d.close(nil) }

func (d *DWARF) close(f *os.File) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if f != nil {
		err = f.Close()
	}
	if d.unmap != nil {
		err = errors.Join(err, d.unmap())
		d.unmap = nil
	}
	d.data = nil
	d.mapped, d.info = nil, nil
	return err
}

// Source implements Types.
func (d *DWARF) Source() string { return d.src }

// Names returns how many type names (per C namespace) and variable names
// the index holds, for a capability line and tests.
func (d *DWARF) Names() (types, vars int) { return len(d.types), len(d.vars) }

// Type implements Types.
func (d *DWARF) Type(name string) (btf.Type, error) {
	kind, bare := splitKind(name)
	if bare == "" {
		return nil, fmt.Errorf("ktypes: empty type name")
	}
	var kinds []dwarfKind
	switch kind {
	case "struct":
		kinds = []dwarfKind{dkStruct}
	case "union":
		kinds = []dwarfKind{dkUnion}
	case "enum":
		kinds = []dwarfKind{dkEnum}
	default:
		// The order of rank: a struct before its typedef of the same
		// name.
		kinds = []dwarfKind{dkStruct, dkUnion, dkTypedef, dkEnum, dkBase}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.data == nil {
		return nil, fmt.Errorf("ktypes: %s: closed", d.src)
	}
	for _, k := range kinds {
		def, ok := d.types[dwarfKey{k, bare}]
		if !ok {
			continue
		}
		t, err := d.typeAt(def.off)
		if err != nil {
			return nil, fmt.Errorf("%s: type %q: %w", d.src, name, err)
		}
		return t, nil
	}
	return nil, &NotFoundError{Kind: "type", Name: name, Source: d.src}
}

// Var implements Types: every global and per-cpu variable is in the DWARF.
func (d *DWARF) Var(name string) (btf.Type, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.data == nil {
		return nil, fmt.Errorf("ktypes: %s: closed", d.src)
	}
	v, ok := d.vars[name]
	if !ok {
		return nil, &NotFoundError{Kind: "variable", Name: name, Source: d.src}
	}
	t, err := d.varType(v.off, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: variable %q: %w", d.src, name, err)
	}
	return t, nil
}

// varType reads the type of the variable entry at off, following
// DW_AT_specification and DW_AT_abstract_origin to the declaration that
// carries it.
func (d *DWARF) varType(off dwarf.Offset, depth int) (btf.Type, error) {
	if depth > 4 {
		return nil, fmt.Errorf("entry %#x: specification chain too long", off)
	}
	r := d.data.Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil {
		return nil, err
	}
	if e == nil || e.Tag != dwarf.TagVariable {
		return nil, fmt.Errorf("entry %#x is not a variable", off)
	}
	if toff, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
		return d.typeAt(toff)
	}
	for _, a := range []dwarf.Attr{dwarf.AttrSpecification, dwarf.AttrAbstractOrigin} {
		if spec, ok := e.Val(a).(dwarf.Offset); ok {
			return d.varType(spec, depth+1)
		}
	}
	return nil, fmt.Errorf("entry %#x: variable without a type", off)
}
