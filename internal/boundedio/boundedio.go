// Package boundedio reads whole files that ktriage takes as input
// (configuration, knowledge-base entries, diagnoses) without trusting them
// to be what their names say: only a regular file is read, only up to a
// bound, and opening never waits on a FIFO.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular and ErrTooLarge are what a refused file's error wraps.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("larger than the bound")
)

// ReadRegular reads all of f, which must be a regular file of at most max
// bytes. Its errors do not name the file: the caller knows how to.
func ReadRegular(f fs.File, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%d bytes, %w of %d", fi.Size(), ErrTooLarge, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("grew while read, %w of %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// ReadFile reads the regular file name, of at most max bytes. It opens
// without blocking, so a FIFO is refused rather than waited on, and
// without making a terminal its controlling one. Errors are
// *fs.PathError naming the file.
func ReadFile(name string, max int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := ReadRegular(f, max)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}
