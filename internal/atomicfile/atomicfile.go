// Package atomicfile replaces files so that a reader, or a crash, sees the
// old content or the new, never a mix, and the file keeps the mode, owner
// and extended attributes (its SELinux label) it had.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Write replaces path with data so that a reader (or a crash)
// sees either the old file or the new one, never a mix: the data goes to a
// temporary file in the same directory, is synced, and is renamed over the
// original, then the directory is synced. The original's mode, owner and
// extended attributes (the SELinux label security.selinux among them) are
// copied to the new file before the rename, because a network file with the
// wrong label or mode is ignored or refused at boot. A file that does not
// exist yet is created with perm.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var st *syscall.Stat_t
	mode := perm
	fi, err := os.Lstat(path)
	switch {
	case err == nil:
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s: is a symbolic link; atomicfile writes regular files only: %w", path, os.ErrInvalid)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file: %w", path, os.ErrInvalid)
		}
		mode = fi.Mode().Perm() | fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
		st, _ = fi.Sys().(*syscall.Stat_t)
	case errors.Is(err, os.ErrNotExist):
	default:
		return fmt.Errorf("%s: %w", path, err)
	}
	var xattrs map[string][]byte
	if st != nil {
		if xattrs, err = listXattrs(path); err != nil {
			return err
		}
	}
	// A leading dot keeps the temporary file out of globs such as ifcfg-*.
	tmp, err := os.CreateTemp(dir, "."+base+".ktriage-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file beside %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if st != nil {
		if err = tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("keeping the owner of %s: %w", path, err)
		}
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("keeping the mode of %s: %w", path, err)
	}
	for name, val := range xattrs {
		if err = unix.Fsetxattr(int(tmp.Fd()), name, val, 0); err != nil {
			return fmt.Errorf("keeping extended attribute %s of %s: %w", name, path, err)
		}
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmpName, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmpName, err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmpName, path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// listXattrs reads every extended attribute of path.
func listXattrs(path string) (map[string][]byte, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing extended attributes of %s: %w", path, err)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, fmt.Errorf("listing extended attributes of %s: %w", path, err)
	}
	out := map[string][]byte{}
	start := 0
	for i := 0; i < size; i++ {
		if buf[i] != 0 {
			continue
		}
		name := string(buf[start:i])
		start = i + 1
		if name == "" {
			continue
		}
		vsz, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, fmt.Errorf("reading extended attribute %s of %s: %w", name, path, err)
		}
		val := make([]byte, vsz)
		if vsz > 0 {
			if vsz, err = unix.Lgetxattr(path, name, val); err != nil {
				return nil, fmt.Errorf("reading extended attribute %s of %s: %w", name, path, err)
			}
		}
		out[name] = val[:vsz]
	}
	return out, nil
}
