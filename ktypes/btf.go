package ktypes

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// BTF is the types of a kernel's BTF, and optionally of one module's split
// BTF on top of it.
type BTF struct {
	spec *btf.Spec
	src  string
	// base is the kernel's BTF under a module's split BTF: names the
	// module does not define are the kernel's.
	base *BTF
}

// LoadBTF parses raw BTF (a .BTF section's bytes, as the kernel keeps them
// between __start_BTF and __stop_BTF). src names where they were read, for
// messages. Types are decoded lazily: parsing 4 MB takes milliseconds and
// holds little until types are asked for.
func LoadBTF(raw []byte, src string) (*BTF, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: empty BTF", src)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return &BTF{spec: spec, src: src}, nil
}

// LoadSplit parses a module's split BTF (its .BTF section, whose type IDs
// continue the kernel's) on top of b.
func (b *BTF) LoadSplit(raw []byte, src string) (*BTF, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: empty BTF", src)
	}
	spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), b.spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return &BTF{spec: spec, src: src, base: b}, nil
}

// Source implements Types.
func (b *BTF) Source() string { return b.src }

// Type implements Types.
func (b *BTF) Type(name string) (btf.Type, error) {
	kind, bare := splitKind(name)
	if bare == "" {
		return nil, fmt.Errorf("ktypes: empty type name")
	}
	cands, err := b.spec.AnyTypesByName(bare)
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return nil, fmt.Errorf("%s: type %q: %w", b.src, name, err)
	}
	if t := pick(cands, kind); t != nil {
		return t, nil
	}
	if b.base != nil {
		if t, err := b.base.Type(name); err == nil {
			return t, nil
		}
	}
	return nil, &NotFoundError{Kind: "type", Name: name, Source: b.src}
}

// Var implements Types: the BTF's own variable record (the kernel emits
// them for per-cpu variables only), else the well-known globals table.
func (b *BTF) Var(name string) (btf.Type, error) {
	cands, err := b.spec.AnyTypesByName(name)
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return nil, fmt.Errorf("%s: variable %q: %w", b.src, name, err)
	}
	for _, c := range cands {
		if v, ok := c.(*btf.Var); ok {
			return v.Type, nil
		}
	}
	if b.base != nil {
		return b.base.Var(name)
	}
	return wellKnownVar(b, name, b.src)
}
