package ktypes

import "syscall"

// releasePages tells the kernel the mapped pages of b (page-aligned) are
// not needed for now: a clean file-backed page leaves the resident set and
// is read again from the page cache when touched.
func releasePages(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
