//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package ktypes

import "os"

// mapFile does not map on this system: sections are read to the heap.
func mapFile(*os.File, int64) ([]byte, func() error) { return nil, nil }
