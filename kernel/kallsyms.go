package kernel

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// This file decodes the kernel's own symbol table, kallsyms, out of the
// dump's memory, through the table addresses VMCOREINFO carries since Linux
// 6.0 (5fd8fea935a10 "vmcoreinfo: include kallsyms symbols"). It is the
// first symbol finder; BTF, DWARF and module symbols come later.
//
// The tables, as scripts/kallsyms.c (write_src) lays them out:
//
//   - kallsyms_num_syms: read as a u32 (where a kernel wrote an unsigned
//     long, its low half on little-endian x86_64 is the same number);
//   - kallsyms_names: per symbol a length, then that many token bytes.
//     Since 6.1 (73bbb94466fd3 "kallsyms: support big kernel symbols") the
//     length is ULEB128 of at most two bytes: a first byte with bit 7 set
//     is (b0 & 0x7f) | b1<<7; before 6.1 it is always one literal byte;
//   - kallsyms_token_table: 256 NUL-terminated strings, and
//     kallsyms_token_index: 256 u16 offsets of each in the table. A name is
//     the concatenation of its tokens' strings; its first character is the
//     nm type (t/T text, d/D data, b/B bss, r/R rodata, w/W/v/V weak,
//     a/A absolute);
//   - addresses in the names' order: kallsyms_addresses (unsigned long,
//     CONFIG_KALLSYMS_BASE_RELATIVE=n), or s32 kallsyms_offsets that are
//     base-relative (relative_base + (u32)off), absolute-percpu (off >= 0
//     is absolute, else relative_base - 1 - off; x86_64 SMP kernels such as
//     6.1) or place-relative (&kallsyms_offsets[i] + off, the newest
//     kernels, which drop kallsyms_relative_base);
//   - kallsyms_markers (optional here): the names offset of every 256th
//     symbol.
//
// Neither the length format nor the address encoding is chosen by the
// release string: every combination is decoded and the one that consumes
// exactly kallsyms_num_syms names and puts _stext (and every other
// SYMBOL() VMCOREINFO names that kallsyms also holds) where VMCOREINFO says
// wins, as drgn's kallsyms_load_addresses does for the offsets.

// Bounds on what a table may claim before anything is allocated for it.
const (
	maxKallsyms      = 1 << 21  // symbols; a distribution kernel has ~200k
	maxNamesBytes    = 32 << 20 // compressed kallsyms_names
	maxDecodedNames  = 64 << 20 // names after token expansion, all symbols
	maxKsymNameLen   = 1024     // one expanded name with its type (KSYM_NAME_LEN is 512)
	maxTokenLen      = 256      // one token's string
	maxSymbolSize    = 1 << 20  // Addr's furthest reach past a symbol
	tokenIndexBytes  = 256 * 2
	kallsymsKeyNames = "kallsyms_names"
)

// AddrEncoding says how kallsyms stored the symbols' addresses.
type AddrEncoding int

// The address encodings scripts/kallsyms.c has written.
const (
	EncAbsolute       AddrEncoding = iota + 1 // kallsyms_addresses[]
	EncBaseRelative                           // relative_base + (u32)offset
	EncAbsolutePercpu                         // offset >= 0 absolute, else relative_base-1-offset
	EncPlaceRelative                          // &kallsyms_offsets[i] + offset
)

// String names the encoding as the kernel's scripts/kallsyms.c options do.
func (e AddrEncoding) String() string {
	switch e {
	case EncAbsolute:
		return "absolute"
	case EncBaseRelative:
		return "base-relative"
	case EncAbsolutePercpu:
		return "absolute-percpu"
	case EncPlaceRelative:
		return "place-relative"
	}
	return fmt.Sprintf("AddrEncoding(%d)", int(e))
}

// MissingError says that the dump lacks what a finder needs: What names the
// finder ("kallsyms"), Keys the VMCOREINFO keys that are absent, Hint what
// would help.
type MissingError struct {
	What string
	Keys []string
	Hint string
}

// Error names the missing keys.
func (e *MissingError) Error() string {
	s := fmt.Sprintf("kernel: %s: VMCOREINFO lacks %s", e.What, strings.Join(e.Keys, ", "))
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// KallsymsError says a kallsyms table is unreadable, out of bounds or fails
// validation: which table (its VMCOREINFO key, or the symbol that
// disagreed), at which address, and why.
type KallsymsError struct {
	Key    string // e.g. "SYMBOL(kallsyms_names)", or "SYMBOL(_stext)" for a validation failure
	Addr   uint64 // the table's (or the disagreeing symbol's) address
	Reason string
	Err    error // the read failure underneath, if any
}

// Error names the table, its address and the reason.
func (e *KallsymsError) Error() string {
	s := fmt.Sprintf("kernel: kallsyms: %s at %#x: %s", e.Key, e.Addr, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the read failure.
func (e *KallsymsError) Unwrap() error { return e.Err }

// SymbolFinder answers symbol queries from one source. kallsyms (Symbols)
// is the first; module symbols and a --vmlinux's DWARF will be others,
// asked in order, the first hit winning. A miss is ok == false, never an
// error: a source that cannot be read fails when it is loaded.
type SymbolFinder interface {
	// Lookup returns the address of the symbol name.
	Lookup(name string) (addr uint64, ok bool)
	// Addr returns the symbol at or below addr, and addr's offset in it.
	Addr(addr uint64) (name string, off uint64, ok bool)
}

var _ SymbolFinder = (*Symbols)(nil)

// Symbols is the kernel's kallsyms table: names and addresses of the core
// kernel's functions and, with CONFIG_KALLSYMS_ALL, its variables. Module
// symbols are not in it. It is read-only and safe for concurrent use.
type Symbols struct {
	names  string  // every name, concatenated
	syms   []ksym  // by address, then table order
	byName []int32 // indexes of syms by name, then global first, then address
	enc    AddrEncoding
	how    string
}

type ksym struct {
	addr uint64
	off  uint32 // of the name in names
	n    uint16
	typ  byte
}

func (s *Symbols) name(i int) string {
	e := &s.syms[i]
	return s.names[e.off : e.off+uint32(e.n)]
}

// Len returns the number of symbols.
func (s *Symbols) Len() int { return len(s.syms) }

// Source says where the tables' addresses came from: "VMCOREINFO" (Linux
// 6.0 and later) or "a scan of the kernel image".
func (s *Symbols) Source() string { return s.how }

// Encoding returns the address encoding that validated.
func (s *Symbols) Encoding() AddrEncoding { return s.enc }

// Lookup returns the address of the symbol name. When several symbols share
// the name (static functions of different files), a global one wins, else
// the lowest address. A miss is ok == false.
func (s *Symbols) Lookup(name string) (addr uint64, ok bool) {
	i := sort.Search(len(s.byName), func(i int) bool { return s.name(int(s.byName[i])) >= name })
	if i == len(s.byName) || s.name(int(s.byName[i])) != name {
		return 0, false
	}
	return s.syms[s.byName[i]].addr, true
}

// Addr returns the symbol at or below addr and addr's offset in it, as the
// kernel's own %pS does: of aliases at one address, the first in table
// order. Every symbol takes part, text or data: the kernel's text holds
// only text symbols, so a code address always gets its function, and a
// variable's address its variable. Per-cpu symbols (small offsets under
// the absolute-percpu encoding) and absolute ones only match addresses
// that small. addr misses (ok == false) below the first symbol and more
// than 1 MiB past its symbol: module addresses, the direct map and vmalloc
// are not the core kernel's.
func (s *Symbols) Addr(addr uint64) (name string, off uint64, ok bool) {
	i := sort.Search(len(s.syms), func(i int) bool { return s.syms[i].addr > addr }) - 1
	if i < 0 {
		return "", 0, false
	}
	a := s.syms[i].addr
	for i > 0 && s.syms[i-1].addr == a {
		i--
	}
	if addr-a >= maxSymbolSize {
		return "", 0, false
	}
	return s.name(i), addr - a, true
}

// kallsymsKeys are the VMCOREINFO keys the decoder needs; one of offsets or
// addresses is enough, and relative_base only goes with offsets.
var kallsymsKeys = []string{"kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index", "_stext"}

// Symbols returns the kernel's kallsyms, decoded from memory on the first
// call. Without VMCOREINFO's kallsyms keys (kernels before 6.0) the error
// is a *MissingError naming them; a table that cannot be read or validated
// gives a *KallsymsError.
func (k *Kernel) Symbols() (*Symbols, error) {
	k.symsOnce.Do(func() { k.syms, k.symsErr = k.loadKallsyms() })
	return k.syms, k.symsErr
}

// kallsymsAddrs are where the tables are, from VMCOREINFO or a scan of the
// image. A zero address is a table the kernel does not have.
type kallsymsAddrs struct {
	numSyms, names, tokenTable, tokenIndex uint64
	offsets, relativeBase, addresses       uint64
	markers                                uint64
	// how says where the addresses came from, for errors.
	how string
}

func (k *Kernel) loadKallsyms() (*Symbols, error) {
	a, err := k.kallsymsFromVMCOREINFO()
	var missing *MissingError
	if errors.As(err, &missing) {
		// Kernels before 6.0: find the tables in the image.
		cands, scanErr := k.scanKallsyms()
		if scanErr != nil {
			missing.Hint = "VMCOREINFO names kallsyms since Linux 6.0, and a scan of the kernel image for the tables failed: " + scanErr.Error()
			return nil, missing
		}
		// Offsets or absolute addresses: the scan cannot tell, the
		// validation can.
		var firstErr error
		for _, c := range cands {
			syms, err := k.readKallsyms(c)
			if err == nil {
				return syms, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, fmt.Errorf("kallsyms found by a scan of the kernel image (VMCOREINFO lacks %s): %w", strings.Join(missing.Keys, ", "), firstErr)
	}
	if err != nil {
		return nil, err
	}
	return k.readKallsyms(a)
}

// kallsymsFromVMCOREINFO takes the tables' addresses from VMCOREINFO's
// SYMBOL() keys (Linux 6.0 and later).
func (k *Kernel) kallsymsFromVMCOREINFO() (kallsymsAddrs, error) {
	var missing []string
	addr := map[string]uint64{}
	for _, n := range kallsymsKeys {
		if a, ok := k.info.Symbol(n); ok {
			addr[n] = a
		} else {
			missing = append(missing, "SYMBOL("+n+")")
		}
	}
	offs, hasOffs := k.info.Symbol("kallsyms_offsets")
	abs, hasAbs := k.info.Symbol("kallsyms_addresses")
	if !hasOffs && !hasAbs {
		missing = append(missing, "SYMBOL(kallsyms_offsets) or SYMBOL(kallsyms_addresses)")
	}
	if missing != nil {
		return kallsymsAddrs{}, &MissingError{What: "kallsyms", Keys: missing}
	}
	a := kallsymsAddrs{numSyms: addr["kallsyms_num_syms"], names: addr["kallsyms_names"],
		tokenTable: addr["kallsyms_token_table"], tokenIndex: addr["kallsyms_token_index"],
		offsets: offs, addresses: abs, how: "VMCOREINFO"}
	a.relativeBase, _ = k.info.Symbol("kallsyms_relative_base")
	a.markers, _ = k.info.Symbol("kallsyms_markers")
	return a, nil
}

// readKallsyms reads the tables at a and decodes them.
func (k *Kernel) readKallsyms(a kallsymsAddrs) (*Symbols, error) {
	addr := map[string]uint64{"kallsyms_num_syms": a.numSyms, "kallsyms_names": a.names,
		"kallsyms_token_table": a.tokenTable, "kallsyms_token_index": a.tokenIndex}
	offs, hasOffs := a.offsets, a.offsets != 0
	abs, hasAbs := a.addresses, a.addresses != 0
	t := &kallsymsTables{want: k.wantSymbols()}
	bad := func(key string, a uint64, reason string, err error) error {
		return &KallsymsError{Key: "SYMBOL(" + key + ")", Addr: a, Reason: reason, Err: err}
	}
	n, err := k.readU32(addr["kallsyms_num_syms"])
	if err != nil {
		return nil, bad("kallsyms_num_syms", addr["kallsyms_num_syms"], "unreadable", err)
	}
	if n == 0 || n > maxKallsyms {
		return nil, bad("kallsyms_num_syms", addr["kallsyms_num_syms"], fmt.Sprintf("%d symbols, not within 1..%d", n, maxKallsyms), nil)
	}
	t.numSyms = n
	if hasOffs {
		if t.offsets, err = k.readBounded(offs, 4*uint64(n), "kallsyms_offsets"); err != nil {
			return nil, bad("kallsyms_offsets", offs, fmt.Sprintf("%d offsets unreadable", n), err)
		}
		t.offsetsAddr = offs
		if rb := a.relativeBase; rb != 0 {
			if t.relativeBase, err = k.readU64(rb); err != nil {
				return nil, bad("kallsyms_relative_base", rb, "unreadable", err)
			}
			t.hasRelativeBase = true
		}
	}
	if hasAbs {
		if t.addresses, err = k.readBounded(abs, 8*uint64(n), "kallsyms_addresses"); err != nil {
			return nil, bad("kallsyms_addresses", abs, fmt.Sprintf("%d addresses unreadable", n), err)
		}
	}
	ti := addr["kallsyms_token_index"]
	if t.tokenIndex, err = k.readBounded(ti, tokenIndexBytes, "kallsyms_token_index"); err != nil {
		return nil, bad("kallsyms_token_index", ti, "unreadable", err)
	}
	maxIdx := uint64(0)
	for i := 0; i < 256; i++ {
		maxIdx = max(maxIdx, uint64(binary.LittleEndian.Uint16(t.tokenIndex[2*i:])))
	}
	tt := addr["kallsyms_token_table"]
	// scripts/kallsyms.c writes kallsyms_token_index right after the
	// token table, which then ends there. Otherwise the last token ends
	// within maxTokenLen of its index; memory that ends sooner is fine as
	// long as the tokens fit (checked by decode).
	size := maxIdx + maxTokenLen + 1
	if ti > tt && ti-tt <= 1<<16+maxTokenLen+1 {
		size = ti - tt
	}
	t.tokenTable, err = k.readBounded(tt, size, "kallsyms_token_table")
	t.tokenTableAddr, t.tokenIndexAddr = tt, ti
	if uint64(len(t.tokenTable)) <= maxIdx {
		return nil, bad("kallsyms_token_table", tt, fmt.Sprintf("%d bytes readable, token index reaches %d", len(t.tokenTable), maxIdx), err)
	}
	// The names end where the next table starts; when the token table
	// does not follow them closely, read what is readable up to the bound.
	na := addr["kallsyms_names"]
	size = uint64(maxNamesBytes)
	if tt > na && tt-na < size {
		size = tt - na
	}
	t.names, t.namesErr = k.readBounded(na, size, "kallsyms_names")
	t.namesAddr = na
	if m := a.markers; m != 0 {
		// u32 or unsigned long by kernel: read the wider and let the
		// decoder try both.
		nm := (uint64(n) + 255) / 256
		if t.markers, err = k.readBounded(m, 8*nm, "kallsyms_markers"); uint64(len(t.markers)) < 4*nm {
			return nil, bad("kallsyms_markers", m, "unreadable", err)
		}
	}
	syms, err := decodeKallsyms(t)
	if err != nil {
		return nil, err
	}
	syms.how = a.how
	return syms, nil
}

// wantSymbols returns the SYMBOL() keys of VMCOREINFO that validate a
// decoding. mem_section is left out: VMCOREINFO_SYMBOL_ARRAY gives the
// pointer's value, not its address, under SPARSEMEM_EXTREME.
func (k *Kernel) wantSymbols() map[string]uint64 {
	want := map[string]uint64{}
	for key := range k.info {
		name, ok := strings.CutPrefix(key, "SYMBOL(")
		if !ok || !strings.HasSuffix(name, ")") {
			continue
		}
		name = strings.TrimSuffix(name, ")")
		if name == "mem_section" {
			continue
		}
		if a, ok := k.info.Symbol(name); ok {
			want[name] = a
		}
	}
	return want
}

// kallsymsTables are the raw tables as bytes, so the decoder is separate
// from reading memory (and fuzzable).
type kallsymsTables struct {
	numSyms         uint32
	names           []byte // kallsyms_names, possibly with what follows
	namesErr        error  // why names is no longer, if a read stopped it
	namesAddr       uint64
	tokenTable      []byte
	tokenTableAddr  uint64
	tokenIndex      []byte // 512 bytes
	tokenIndexAddr  uint64
	offsets         []byte // 4*numSyms, or nil
	offsetsAddr     uint64
	relativeBase    uint64
	hasRelativeBase bool
	addresses       []byte // 8*numSyms, or nil
	markers         []byte // optional
	want            map[string]uint64
}

// decodedNames is kallsyms_names decoded under one length format.
type decodedNames struct {
	long    bool
	twoByte bool // a two-byte length was read
	names   strings.Builder
	ends    []uint32 // end of each name in names
	typ     []byte
	found   map[string][]uint32 // indexes of the names in want
}

// decodeNames expands numSyms names. long selects the 6.1+ two-byte
// lengths. It fails when an entry runs past the bytes, a token is out of
// the table or a name is implausible.
func decodeNames(t *kallsymsTables, tokens *[256]string, long bool) (*decodedNames, error) {
	d := &decodedNames{long: long, found: map[string][]uint32{}}
	// Each entry takes at least two bytes (length and one token), so
	// numSyms is checked against the bytes before anything is sized by it.
	if uint64(t.numSyms)*2 > uint64(len(t.names)) {
		return nil, t.namesError(uint64(len(t.names)), fmt.Sprintf("%d symbols need at least %d bytes of names, %d readable", t.numSyms, 2*uint64(t.numSyms), len(t.names)))
	}
	d.ends = make([]uint32, 0, t.numSyms)
	d.typ = make([]byte, 0, t.numSyms)
	var markerOffs []uint32
	pos := 0
	var buf []byte
	for i := uint32(0); i < t.numSyms; i++ {
		if i%256 == 0 {
			markerOffs = append(markerOffs, uint32(pos))
		}
		if pos >= len(t.names) {
			return nil, t.namesError(uint64(pos), fmt.Sprintf("symbol %d of %d starts past the readable names", i, t.numSyms))
		}
		n := int(t.names[pos])
		pos++
		if long && n&0x80 != 0 {
			if pos >= len(t.names) {
				return nil, t.namesError(uint64(pos), fmt.Sprintf("symbol %d of %d: length runs past the readable names", i, t.numSyms))
			}
			n = n&0x7f | int(t.names[pos])<<7
			pos++
			d.twoByte = true
		}
		if n == 0 || pos+n > len(t.names) {
			return nil, t.namesError(uint64(pos), fmt.Sprintf("symbol %d of %d: %d token bytes, %d readable", i, t.numSyms, n, len(t.names)-pos))
		}
		buf = buf[:0]
		for _, b := range t.names[pos : pos+n] {
			buf = append(buf, tokens[b]...)
			if len(buf) > maxKsymNameLen {
				return nil, t.namesError(uint64(pos), fmt.Sprintf("symbol %d of %d expands to more than %d bytes", i, t.numSyms, maxKsymNameLen))
			}
		}
		pos += n
		if len(buf) < 2 {
			return nil, t.namesError(uint64(pos-n), fmt.Sprintf("symbol %d of %d has no name after its type", i, t.numSyms))
		}
		// Real tokens compress names about 2:1; a corrupt token table
		// that makes every byte a long string must not cost memory
		// beyond a small multiple of the names read.
		if limit := min(maxDecodedNames, 8*pos+1<<20); d.names.Len()+len(buf) > limit {
			return nil, t.namesError(uint64(pos-n), fmt.Sprintf("names expand to more than %d bytes by symbol %d of %d (a corrupt token table?)", limit, i, t.numSyms))
		}
		d.typ = append(d.typ, buf[0])
		d.names.Write(buf[1:])
		d.ends = append(d.ends, uint32(d.names.Len()))
		if _, ok := t.want[string(buf[1:])]; ok {
			d.found[string(buf[1:])] = append(d.found[string(buf[1:])], i)
		}
	}
	if t.markers != nil && !markersAgree(t.markers, markerOffs) {
		return nil, t.namesError(0, fmt.Sprintf("kallsyms_markers disagree with the names' offsets every 256 symbols (%d markers)", len(markerOffs)))
	}
	return d, nil
}

// markersAgree checks kallsyms_markers as u32 or as unsigned long.
func markersAgree(raw []byte, offs []uint32) bool {
	ok32 := len(raw) >= 4*len(offs)
	for i := 0; ok32 && i < len(offs); i++ {
		ok32 = binary.LittleEndian.Uint32(raw[4*i:]) == offs[i]
	}
	ok64 := len(raw) >= 8*len(offs)
	for i := 0; ok64 && i < len(offs); i++ {
		ok64 = binary.LittleEndian.Uint64(raw[8*i:]) == uint64(offs[i])
	}
	return ok32 || ok64
}

func (t *kallsymsTables) namesError(off uint64, reason string) error {
	return &KallsymsError{Key: "SYMBOL(" + kallsymsKeyNames + ")", Addr: t.namesAddr + off, Reason: reason, Err: t.namesErr}
}

// tokens expands the token table.
func (t *kallsymsTables) tokens() (*[256]string, error) {
	if len(t.tokenIndex) < tokenIndexBytes {
		return nil, &KallsymsError{Key: "SYMBOL(kallsyms_token_index)", Addr: t.tokenIndexAddr, Reason: fmt.Sprintf("%d bytes, want %d", len(t.tokenIndex), tokenIndexBytes)}
	}
	var tok [256]string
	for b := range tok {
		i := int(binary.LittleEndian.Uint16(t.tokenIndex[2*b:]))
		if i >= len(t.tokenTable) {
			return nil, &KallsymsError{Key: "SYMBOL(kallsyms_token_table)", Addr: t.tokenTableAddr + uint64(i), Reason: fmt.Sprintf("token %#02x at %d, past the table's %d bytes", b, i, len(t.tokenTable))}
		}
		rest := t.tokenTable[i:min(len(t.tokenTable), i+maxTokenLen+1)]
		end := slices.Index(rest, 0)
		if end < 0 {
			return nil, &KallsymsError{Key: "SYMBOL(kallsyms_token_table)", Addr: t.tokenTableAddr + uint64(i), Reason: fmt.Sprintf("token %#02x at %d has no NUL within %d bytes", b, i, len(rest))}
		}
		tok[b] = string(rest[:end])
	}
	return &tok, nil
}

// addrFunc returns symbol i's address under one encoding.
type addrFunc func(i uint32) uint64

func (t *kallsymsTables) encodings() ([]AddrEncoding, []addrFunc) {
	var encs []AddrEncoding
	var fns []addrFunc
	if uint64(len(t.addresses)) >= 8*uint64(t.numSyms) {
		encs = append(encs, EncAbsolute)
		fns = append(fns, func(i uint32) uint64 { return binary.LittleEndian.Uint64(t.addresses[8*i:]) })
	}
	if uint64(len(t.offsets)) >= 4*uint64(t.numSyms) {
		off := func(i uint32) int32 { return int32(binary.LittleEndian.Uint32(t.offsets[4*i:])) }
		if t.hasRelativeBase {
			rb := t.relativeBase
			encs = append(encs, EncBaseRelative, EncAbsolutePercpu)
			fns = append(fns,
				func(i uint32) uint64 { return rb + uint64(uint32(off(i))) },
				func(i uint32) uint64 {
					if o := off(i); o >= 0 {
						return uint64(o)
					}
					return rb - 1 - uint64(int64(off(i)))
				})
		}
		base := t.offsetsAddr
		encs = append(encs, EncPlaceRelative)
		fns = append(fns, func(i uint32) uint64 { return base + 4*uint64(i) + uint64(int64(off(i))) })
	}
	return encs, fns
}

// decodeKallsyms decodes the tables under every name-length format and
// address encoding, and keeps the one VMCOREINFO's symbols validate.
func decodeKallsyms(t *kallsymsTables) (*Symbols, error) {
	if t.numSyms == 0 || t.numSyms > maxKallsyms {
		return nil, &KallsymsError{Key: "SYMBOL(kallsyms_num_syms)", Reason: fmt.Sprintf("%d symbols, not within 1..%d", t.numSyms, maxKallsyms)}
	}
	stext, ok := t.want["_stext"]
	if !ok {
		return nil, &MissingError{What: "kallsyms", Keys: []string{"SYMBOL(_stext)"}, Hint: "it validates the decoding"}
	}
	encs, fns := t.encodings()
	if len(encs) == 0 {
		return nil, &KallsymsError{Key: "SYMBOL(kallsyms_offsets)", Addr: t.offsetsAddr, Reason: fmt.Sprintf("neither %d offsets nor %d addresses readable", t.numSyms, t.numSyms)}
	}
	tokens, err := t.tokens()
	if err != nil {
		return nil, err
	}
	var why []string
	var firstErr error
	var prev *decodedNames
	for _, long := range []bool{true, false} {
		lens := map[bool]string{true: "1-2 byte lengths", false: "1-byte lengths"}[long]
		d, err := decodeNames(t, tokens, long)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			why = append(why, lens+": "+err.Error())
			continue
		}
		prev = d
		idx := d.found["_stext"]
		if len(idx) == 0 {
			why = append(why, lens+": no _stext among the names")
			continue
		}
		for e, fn := range fns {
			if bad := disagreement(d, fn, t.want, stext); bad != "" {
				why = append(why, fmt.Sprintf("%s, %s: %s", lens, encs[e], bad))
				continue
			}
			return d.symbols(fn, encs[e]), nil
		}
		if long && !d.twoByte {
			break // no length had bit 7 set: one-byte lengths read the same
		}
	}
	if prev == nil {
		return nil, firstErr // no names decoded at all: the names' own error
	}
	return nil, &KallsymsError{Key: "SYMBOL(_stext)", Addr: stext, Reason: "no decoding agrees with VMCOREINFO: " + strings.Join(why, "; ")}
}

// disagreement checks a decoding against VMCOREINFO: _stext must be at its
// address, and every other SYMBOL() name kallsyms holds must have one
// symbol of that name at VMCOREINFO's address. It returns what disagreed.
func disagreement(d *decodedNames, fn addrFunc, want map[string]uint64, stext uint64) string {
	keys := make([]string, 0, len(d.found))
	for name := range d.found {
		keys = append(keys, name)
	}
	sort.Strings(keys)
	keys = slices.DeleteFunc(keys, func(s string) bool { return s == "_stext" })
	keys = append([]string{"_stext"}, keys...)
	for _, name := range keys {
		w := want[name]
		var got uint64
		hit := false
		for _, i := range d.found[name] {
			got = fn(i)
			if got == w {
				hit = true
				break
			}
		}
		if !hit {
			return fmt.Sprintf("%s at %#x, VMCOREINFO says %#x", name, got, w)
		}
	}
	return ""
}

// symbols builds the sorted indexes.
func (d *decodedNames) symbols(fn addrFunc, enc AddrEncoding) *Symbols {
	s := &Symbols{names: d.names.String(), enc: enc, syms: make([]ksym, len(d.ends))}
	start := uint32(0)
	for i, end := range d.ends {
		s.syms[i] = ksym{addr: fn(uint32(i)), off: start, n: uint16(end - start), typ: d.typ[i]}
		start = end
	}
	slices.SortStableFunc(s.syms, func(a, b ksym) int { return cmp.Compare(a.addr, b.addr) })
	s.byName = make([]int32, len(s.syms))
	for i := range s.byName {
		s.byName[i] = int32(i)
	}
	global := func(t byte) bool { return t >= 'A' && t <= 'Z' }
	slices.SortStableFunc(s.byName, func(a, b int32) int {
		if c := strings.Compare(s.name(int(a)), s.name(int(b))); c != 0 {
			return c
		}
		if ga, gb := global(s.syms[a].typ), global(s.syms[b].typ); ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return 0 // syms is by address already
	})
	return s
}
