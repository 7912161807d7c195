package kview

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/ktypes"
)

// maxModuleBTF bounds one module's split BTF (a few KB to a few hundred).
const maxModuleBTF = 16 << 20

// ModuleTypes returns the types of module m: its split BTF (mod->btf_data,
// CONFIG_DEBUG_INFO_BTF_MODULES) on top of the kernel's. Only the kernel's
// own BTF can carry it: a --vmlinux source has no module types.
func (v *View) ModuleTypes(m *Module) (ktypes.Types, error) {
	base, err := v.Types()
	if err != nil {
		return nil, err
	}
	kb, ok := base.(*ktypes.BTF)
	if !ok {
		return nil, fmt.Errorf("module %s: split BTF needs the kernel's own BTF, not %s", m.Name, base.Source())
	}
	data, size, err := v.moduleBTF(m)
	if err != nil {
		return nil, err
	}
	if size > maxModuleBTF {
		return nil, fmt.Errorf("module %s: btf_data_size %d is implausible", m.Name, size)
	}
	raw := make([]byte, size)
	if err := v.Read(raw, data); err != nil {
		return nil, fmt.Errorf("module %s: BTF at %#x: %w", m.Name, data, err)
	}
	return kb.LoadSplit(raw, fmt.Sprintf("module %s's BTF (%d bytes at %#x)", m.Name, size, data))
}

// moduleBTF locates a module's BTF. The kernel frees mod->btf_data once
// it has parsed it into a struct btf on the btf_modules list
// (kernel/bpf/btf.c, btf_module_notify), so the list is asked first and
// btf_data is the fallback for a module still loading.
func (v *View) moduleBTF(m *Module) (data, size uint64, err error) {
	if syms, serr := v.k.Symbols(); serr == nil {
		if head, ok := syms.Lookup("btf_modules"); ok {
			listOff, e1 := v.Offset("btf_module", "list")
			if e1 == nil {
				_ = v.List(head, func(node uint64) error {
					bm := node - listOff
					if mod, err := v.Uint(bm, "btf_module", "module"); err != nil || mod != m.Addr {
						return nil
					}
					b, err := v.Uint(bm, "btf_module", "btf")
					if err != nil || b == 0 {
						return nil
					}
					data, _ = v.Uint(b, "btf", "data")
					size, _ = v.Uint(b, "btf", "data_size")
					return errFound
				})
				if data != 0 && size != 0 {
					return data, size, nil
				}
			}
		}
	}
	data, err = v.Uint(m.Addr, "module", "btf_data")
	if err != nil {
		return 0, 0, fmt.Errorf("module %s: no btf_data (CONFIG_DEBUG_INFO_BTF_MODULES off?): %w", m.Name, err)
	}
	size, err = v.Uint(m.Addr, "module", "btf_data_size")
	if err != nil {
		return 0, 0, fmt.Errorf("module %s: %w", m.Name, err)
	}
	if data == 0 || size == 0 {
		return 0, 0, fmt.Errorf("module %s has no BTF (neither on btf_modules nor in btf_data)", m.Name)
	}
	return data, size, nil
}

// errFound stops a list walk that found what it looked for.
var errFound = errors.New("found")

// TypeOf resolves name in the kernel's types, then in each module's split
// BTF, returning the type and the module that defines it ("" for the
// kernel).
func (v *View) TypeOf(name string) (btf.Type, string, error) {
	t, err := v.Type(name)
	if err == nil {
		return t, "", nil
	}
	mods, _ := v.Modules()
	for _, m := range mods {
		mt, merr := v.ModuleTypes(m)
		if merr != nil {
			continue
		}
		if t, merr := mt.Type(name); merr == nil {
			return t, m.Name, nil
		}
	}
	return nil, "", err
}
