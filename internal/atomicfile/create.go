package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Create writes a new file name with data, all or nothing, and never over
// an existing file (or link): the data goes to a temporary file in the same
// directory, is synced, and is hard-linked to name, which fails with an
// error wrapping fs.ErrExist when name exists; the temporary file is then
// removed and the directory synced. A reader never sees a partial file,
// and two writers racing for one name cannot both win.
func Create(name string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	if _, err := r.Lstat(base); err == nil {
		return fmt.Errorf("%s: %w", name, fs.ErrExist)
	}
	tmp, tmpName, err := createTemp(r, ".", base, perm)
	if err != nil {
		return fmt.Errorf("creating a temporary file beside %s: %w", name, err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		r.Remove(tmpName)
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, tmpName), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", filepath.Join(dir, tmpName), err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("closing %s: %w", filepath.Join(dir, tmpName), err)
	}
	if err = r.Link(tmpName, base); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return syncDir(r, ".")
}
