package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

func TestRootFS(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc", "net"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "net", "a"), []byte("a\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s\n"), 0o644)
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := fstest.TestFS(d.FS(), "etc/net/a"); err != nil {
		t.Fatal(err)
	}
	// Links out of the root, absolute or relative, are refused by name.
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "abs"))
	os.Symlink("../../"+filepath.Base(outside)+"/secret", filepath.Join(root, "rel"))
	os.Symlink(outside, filepath.Join(root, "dir"))
	for _, name := range []string{"abs", "rel", "dir/secret"} {
		if _, err := fs.ReadFile(d.FS(), name); !errors.Is(err, ErrOutside) && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v", name, err)
		}
		if err := d.WriteFile(name, []byte("x"), 0o644); err == nil {
			t.Errorf("%s: written through", name)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "s\n" {
		t.Error("a file outside the root changed")
	}
	// A FIFO opens without blocking.
	syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644)
	done := make(chan error, 1)
	go func() {
		f, err := d.FS().Open("fifo")
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	// A sub-root cannot be left either.
	sub, err := d.Sub("etc/net")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	os.Symlink("../../abs", filepath.Join(root, "etc", "net", "up"))
	if _, err := fs.ReadFile(sub.FS(), "up"); !errors.Is(err, ErrOutside) {
		t.Errorf("leaving a sub-root: %v", err)
	}
}

func TestLock(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "state"), 0o700)
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	unlock, err := d.Lock("state", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lock("state", 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := d.Lock("state", time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}
