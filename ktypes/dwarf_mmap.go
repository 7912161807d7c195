//go:build linux || darwin || freebsd || netbsd || openbsd

package ktypes

import (
	"os"
	"syscall"
)

// mapFile maps f read-only, so that DWARF sections are read from the page
// cache as they are touched rather than copied whole to the heap. It
// returns nil when the file cannot be mapped (too large for the address
// space, a filesystem without mmap); the caller then reads sections.
func mapFile(f *os.File, size int64) ([]byte, func() error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil
	}
	return b, func() error { return syscall.Munmap(b) }
}
