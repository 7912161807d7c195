// Package rootfs is the one way ktriage opens files under a host's root
// directory (--root: / or an unpacked sosreport): every path is resolved
// through an os.Root, so that no "..", absolute link or link to a directory
// leads outside it. Reads go through FS, a plain fs.FS, so that a reader
// such as remedy works unchanged on a root that is not a directory (an
// archive) once one implements fs.FS; writes, locks and directories go
// through Dir's own methods, and atomicfile's writer, in the same os.Root.
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktriage/ktriage/internal/atomicfile"
)

// ErrOutside is what an error wraps when a path leads outside the root.
var ErrOutside = errors.New("links outside the root")

// Dir is a root directory opened for confined reads and writes.
type Dir struct {
	r   *os.Root
	abs string
}

// Open opens the directory root (made absolute), which must exist.
func Open(root string) (*Dir, error) {
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	return &Dir{r: r, abs: abs}, nil
}

// Close releases the root.
func (d *Dir) Close() error { return d.r.Close() }

// Path is the root's absolute path, for messages.
func (d *Dir) Path() string { return d.abs }

// Sub opens the directory name under the root as a root of its own, so
// that what is read through it cannot leave that directory either.
func (d *Dir) Sub(name string) (*Dir, error) {
	r, err := d.r.OpenRoot(name)
	if err != nil {
		return nil, d.wrap(err)
	}
	return &Dir{r: r, abs: filepath.Join(d.abs, filepath.FromSlash(name))}, nil
}

// wrap says in words what os.Root's refusal to leave the root means.
func (d *Dir) wrap(err error) error {
	if err != nil && strings.Contains(err.Error(), "escapes from parent") {
		return fmt.Errorf("%w %s: %w", ErrOutside, d.abs, fs.ErrPermission)
	}
	return err
}

// FS is the root as an fs.FS (with ReadDir, Stat and ReadLink). Its Open
// never blocks (a FIFO opens at once, for the reader to refuse as not a
// regular file) and never takes a terminal as the controlling one.
func (d *Dir) FS() fs.FS { return rootFS{d} }

type rootFS struct{ d *Dir }

var (
	_ fs.ReadDirFS  = rootFS{}
	_ fs.StatFS     = rootFS{}
	_ fs.ReadLinkFS = rootFS{}
)

func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	file, err := f.d.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, f.d.wrap(err)
	}
	return file, nil
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	file, err := f.d.r.Open(name)
	if err != nil {
		return nil, f.d.wrap(err)
	}
	defer file.Close()
	ents, err := file.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	// fs.ReadDirFS promises name order.
	sortEntries(ents)
	return ents, nil
}

func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := f.d.r.Stat(name)
	return fi, f.d.wrap(err)
}

func (f rootFS) ReadLink(name string) (string, error) {
	t, err := f.d.r.Readlink(name)
	return t, f.d.wrap(err)
}

func (f rootFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := f.d.r.Lstat(name)
	return fi, f.d.wrap(err)
}

// MkdirAll makes the directory name and its parents under the root.
func (d *Dir) MkdirAll(name string, perm os.FileMode) error {
	return d.wrap(d.r.MkdirAll(name, perm))
}

// Mkdir makes the directory name, failing (fs.ErrExist) if it exists.
func (d *Dir) Mkdir(name string, perm os.FileMode) error {
	return d.wrap(d.r.Mkdir(name, perm))
}

// Remove removes the file or empty directory name.
func (d *Dir) Remove(name string) error { return d.wrap(d.r.Remove(name)) }

// RemoveAll removes name and what it holds.
func (d *Dir) RemoveAll(name string) error { return d.wrap(d.r.RemoveAll(name)) }

// WriteFile replaces name atomically (atomicfile.WriteIn).
func (d *Dir) WriteFile(name string, data []byte, perm os.FileMode) error {
	return d.wrap(atomicfile.WriteIn(d.r, name, data, perm))
}

// ErrLocked is what Lock's error wraps when another holder kept the lock
// for longer than the wait.
var ErrLocked = errors.New("locked by another run")

// Lock takes an exclusive flock on the directory name, waiting at most
// wait for another holder to let go, so that two runs that change the
// root's files take turns instead of losing each other's edits. The
// returned function lets go.
func (d *Dir) Lock(name string, wait time.Duration) (func(), error) {
	f, err := d.r.Open(name)
	if err != nil {
		return nil, d.wrap(err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w for over %v", name, ErrLocked, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sortEntries(ents []fs.DirEntry) {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
