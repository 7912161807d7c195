package main

import (
	"errors"

	"github.com/ktriage/ktriage/ktypes"
)

// errNoDWARF is --vmlinux's answer until ktypes reads DWARF.
var errNoDWARF = errors.New("reading a vmlinux's DWARF is not yet built (ktypes.LoadDWARF is being written); without --vmlinux the dump's own BTF is used")

// loadVmlinux gives the types of a debug vmlinux. When ktypes.LoadDWARF
// lands, its body becomes: return ktypes.LoadDWARF(path).
func loadVmlinux(path string) (ktypes.Types, error) {
	_ = path
	return nil, errNoDWARF
}
