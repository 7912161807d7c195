package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/ktypes"
)

// loadVmlinux gives the types of a debug vmlinux (its DWARF), after
// checking that it is the build that wrote the dump: a vmlinux of another
// build lays every struct out differently, and would answer wrongly
// rather than fail.
func loadVmlinux(path string, k *kernel.Kernel) (ktypes.Types, error) {
	// Checked before the build-id is read: opening a FIFO would wait.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s): a vmlinux is read at random", st.Mode().Type())
	}
	if want := strings.ToLower(k.VMCOREINFO()["BUILD-ID"]); want != "" {
		got, err := refdebug.BuildID(path)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(want, got) && !strings.HasPrefix(got, want) {
			return nil, fmt.Errorf("its build-id %s is not the dump's %s (VMCOREINFO BUILD-ID): another build of the kernel", got, want)
		}
	}
	return ktypes.LoadDWARF(path)
}
