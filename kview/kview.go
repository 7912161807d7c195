// Package kview lays kernel C types over a crashed kernel's memory: it
// decodes structs into kobj values (the same values the crash(8)-transcript
// path produces, so checks and owner work on either), follows members,
// lists and per-cpu copies, and knows the loaded modules and their
// symbols. Types come from the BTF the kernel carries in its memory, or
// from any ktypes.Types the caller passes (a debug vmlinux's DWARF).
//
// Everything is read lazily: opening a View reads nothing, the BTF is
// parsed on the first type asked for, the module list on the first symbol
// asked of a module address.
package kview

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/ktypes"
)

// View is one crashed kernel with its types. Its methods are safe for
// concurrent use.
type View struct {
	k *kernel.Kernel

	typesOnce sync.Once
	types     ktypes.Types
	typesErr  error

	modsOnce sync.Once
	mods     []*Module
	modsErr  error
}

// Option adjusts New.
type Option func(*View)

// WithTypes makes the view use ts (a debug vmlinux's DWARF, say) instead
// of the BTF in the dump.
func WithTypes(ts ktypes.Types) Option {
	return func(v *View) {
		v.typesOnce.Do(func() { v.types = ts })
	}
}

// New returns a view of k. It reads nothing yet.
func New(k *kernel.Kernel, opts ...Option) *View {
	v := &View{k: k}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Kernel returns the kernel under the view.
func (v *View) Kernel() *kernel.Kernel { return v.k }

// maxBTF bounds the BTF read from a dump: vmlinux BTF is 4–6 MB; more means
// the __start_BTF/__stop_BTF symbols are corrupt.
const maxBTF = 64 << 20

// Types returns the view's type source, reading the kernel's BTF from
// memory on the first call when no other source was given.
func (v *View) Types() (ktypes.Types, error) {
	v.typesOnce.Do(func() { v.types, v.typesErr = v.loadBTF() })
	return v.types, v.typesErr
}

// BTFError says why the kernel's own BTF could not be had.
type BTFError struct {
	// Reason is what is missing or wrong, naming the symbol or address.
	Reason string
	Err    error
}

func (e *BTFError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("kernel BTF: %s: %v", e.Reason, e.Err)
	}
	return "kernel BTF: " + e.Reason
}

// Unwrap exposes the underlying failure.
func (e *BTFError) Unwrap() error { return e.Err }

func (v *View) loadBTF() (ktypes.Types, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return nil, &BTFError{Reason: "no kallsyms to find __start_BTF", Err: err}
	}
	start, ok1 := syms.Lookup("__start_BTF")
	stop, ok2 := syms.Lookup("__stop_BTF")
	if !ok1 || !ok2 {
		return nil, &BTFError{Reason: "kallsyms has no __start_BTF/__stop_BTF: the kernel was built without CONFIG_DEBUG_INFO_BTF (5.2 and later) or without CONFIG_KALLSYMS_ALL; pass --vmlinux"}
	}
	if stop <= start || stop-start > maxBTF {
		return nil, &BTFError{Reason: fmt.Sprintf("__start_BTF %#x .. __stop_BTF %#x is not a plausible BTF section", start, stop)}
	}
	raw := make([]byte, stop-start)
	if _, err := v.k.ReadVirt(raw, start); err != nil {
		return nil, &BTFError{Reason: fmt.Sprintf("reading %d bytes at __start_BTF %#x", stop-start, start), Err: err}
	}
	ts, err := ktypes.LoadBTF(raw, fmt.Sprintf("BTF in the dump (%.1f MB at %#x)", float64(len(raw))/1e6, start))
	if err != nil {
		return nil, &BTFError{Reason: "parsing", Err: err}
	}
	return ts, nil
}

// Type resolves a type name through the view's types.
func (v *View) Type(name string) (btf.Type, error) {
	ts, err := v.Types()
	if err != nil {
		return nil, err
	}
	return ts.Type(name)
}

// Read reads len(p) bytes of kernel virtual memory at addr.
func (v *View) Read(p []byte, addr uint64) error {
	_, err := v.k.ReadVirt(p, addr)
	return err
}

// U64 reads a little-endian 64-bit word.
func (v *View) U64(addr uint64) (uint64, error) {
	var b [8]byte
	if err := v.Read(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// U32 reads a little-endian 32-bit word.
func (v *View) U32(addr uint64) (uint32, error) {
	var b [4]byte
	if err := v.Read(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// MemberError says which member of which type could not be read.
type MemberError struct {
	Type, Path string
	Addr       uint64
	Err        error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("%s.%s at %#x: %v", e.Type, e.Path, e.Addr, e.Err)
}

// Unwrap exposes the cause.
func (e *MemberError) Unwrap() error { return e.Err }

// Offset returns the byte offset of the member at path in type typ.
func (v *View) Offset(typ, path string) (uint64, error) {
	t, err := v.Type(typ)
	if err != nil {
		return 0, err
	}
	f, err := ktypes.Member(t, path)
	if err != nil {
		return 0, err
	}
	if f.BitfieldSize != 0 || f.Offset%8 != 0 {
		return 0, fmt.Errorf("%s.%s is a bitfield", typ, path)
	}
	return f.Offset / 8, nil
}

// Uint reads the integer or pointer member at path of the typ object at
// addr ("sk_buff", "sk" or "sock", "sk_common.skc_daddr"), bitfields
// included.
func (v *View) Uint(addr uint64, typ, path string) (uint64, error) {
	t, err := v.Type(typ)
	if err != nil {
		return 0, &MemberError{Type: typ, Path: path, Addr: addr, Err: err}
	}
	f, err := ktypes.Member(t, path)
	if err != nil {
		return 0, &MemberError{Type: typ, Path: path, Addr: addr, Err: err}
	}
	val, err := v.fieldUint(addr, f)
	if err != nil {
		return 0, &MemberError{Type: typ, Path: path, Addr: addr, Err: err}
	}
	return val, nil
}

func (v *View) fieldUint(addr uint64, f ktypes.Field) (uint64, error) {
	size, err := btf.Sizeof(f.Type)
	if err != nil {
		return 0, err
	}
	if size <= 0 || size > 8 {
		if f.BitfieldSize == 0 {
			return 0, fmt.Errorf("%s is %d bytes, not a scalar", ktypes.TypeName(f.Type), size)
		}
	}
	if f.BitfieldSize != 0 {
		byteOff := f.Offset / 8
		var b [16]byte
		n := int((f.Offset%8 + uint64(f.BitfieldSize) + 7) / 8)
		if err := v.Read(b[:n], addr+byteOff); err != nil {
			return 0, err
		}
		return bits(b[:n], f.Offset%8, f.BitfieldSize), nil
	}
	var b [8]byte
	if err := v.Read(b[:size], addr+f.Offset/8); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// bits extracts width bits starting at bit off of little-endian b.
func bits(b []byte, off uint64, width uint32) uint64 {
	var x [16]byte
	copy(x[:], b)
	lo := binary.LittleEndian.Uint64(x[:8])
	hi := binary.LittleEndian.Uint64(x[8:])
	v := lo >> off
	if off > 0 {
		v |= hi << (64 - off)
	}
	if width < 64 {
		v &= 1<<width - 1
	}
	return v
}

// ErrNoSymbol is returned for a symbol neither kallsyms nor a module has.
var ErrNoSymbol = errors.New("no such symbol")
