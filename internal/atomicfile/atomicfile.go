// Package atomicfile replaces files so that a reader, or a crash, sees the
// old content or the new, never a mix, and the file keeps the mode, owner
// and extended attributes (its SELinux label) it had.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Write replaces path with data so that a reader (or a crash) sees either
// the old file or the new one, never a mix. It is WriteIn in the file's
// directory.
func Write(name string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	return WriteIn(r, base, data, perm)
}

// WriteIn replaces name, a path inside r, with data: the data goes to a
// temporary file in the same directory, is synced, and is renamed over the
// original, then the directory is synced. Every step is taken through r,
// so no link, "..", or directory swapped for a link while it writes takes
// the write outside r. The original's mode, owner and extended attributes
// (the SELinux label security.selinux among them) are copied to the new
// file before the rename, because a network file with the wrong label or
// mode is ignored or refused at boot. A file that does not exist yet is
// created with perm; a symbolic link or anything but a regular file is
// refused (os.ErrInvalid).
func WriteIn(r *os.Root, name string, data []byte, perm os.FileMode) (err error) {
	name = path.Clean(filepath.ToSlash(name))
	dir, base := path.Split(name)
	if dir == "" {
		dir = "."
	}
	var st *syscall.Stat_t
	mode := perm
	var xattrs map[string][]byte
	fi, err := r.Lstat(name)
	switch {
	case err == nil:
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s: is a symbolic link; atomicfile writes regular files only: %w", name, os.ErrInvalid)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file: %w", name, os.ErrInvalid)
		}
		mode = fi.Mode().Perm() | fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
		st, _ = fi.Sys().(*syscall.Stat_t)
		if xattrs, err = listXattrs(r, name); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fmt.Errorf("%s: %w", name, err)
	}
	// A leading dot keeps the temporary file out of globs such as ifcfg-*.
	tmp, tmpName, err := createTemp(r, dir, base, 0o600)
	if err != nil {
		return fmt.Errorf("creating a temporary file beside %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			r.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if st != nil {
		if err = tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("keeping the owner of %s: %w", name, err)
		}
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("keeping the mode of %s: %w", name, err)
	}
	for n, val := range xattrs {
		if err = unix.Fsetxattr(int(tmp.Fd()), n, val, 0); err != nil {
			return fmt.Errorf("keeping extended attribute %s of %s: %w", n, name, err)
		}
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmpName, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmpName, err)
	}
	if err = r.Rename(tmpName, name); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmpName, name, err)
	}
	return syncDir(r, dir)
}

func syncDir(r *os.Root, dir string) error {
	d, err := r.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// listXattrs reads every extended attribute of name, through a descriptor
// opened in r (the file was checked to be regular; O_NONBLOCK keeps a FIFO
// swapped in since from blocking the open).
func listXattrs(r *os.Root, name string) (map[string][]byte, error) {
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s for its extended attributes: %w", name, err)
	}
	defer f.Close()
	fd := int(f.Fd())
	size, err := unix.Flistxattr(fd, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing extended attributes of %s: %w", name, err)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	size, err = unix.Flistxattr(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("listing extended attributes of %s: %w", name, err)
	}
	out := map[string][]byte{}
	start := 0
	for i := 0; i < size; i++ {
		if buf[i] != 0 {
			continue
		}
		n := string(buf[start:i])
		start = i + 1
		if n == "" {
			continue
		}
		vsz, err := unix.Fgetxattr(fd, n, nil)
		if err != nil {
			return nil, fmt.Errorf("reading extended attribute %s of %s: %w", n, name, err)
		}
		val := make([]byte, vsz)
		if vsz > 0 {
			if vsz, err = unix.Fgetxattr(fd, n, val); err != nil {
				return nil, fmt.Errorf("reading extended attribute %s of %s: %w", n, name, err)
			}
		}
		out[n] = val[:vsz]
	}
	return out, nil
}

// createTemp makes a new file beside base in dir (inside r), named with a
// leading dot and a random part, never following a link or reusing a name.
func createTemp(r *os.Root, dir, base string, perm os.FileMode) (*os.File, string, error) {
	var err error
	for range 100 {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := path.Join(dir, "."+base+".ktriage-"+hex.EncodeToString(rnd[:]))
		var f *os.File
		f, err = r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return nil, "", err
}
