// Package hostilefile makes, for tests, the files a hostile or careless user
// hands ktriage in place of a regular one: a FIFO (a reader that opens it
// waits for a writer), a huge sparse file (a reader that slurps it runs out
// of memory), a character device that reads zeros without end. Each maker
// creates the parent directories and fails the test when it cannot; a device
// needs root, which the test command has.
package hostilefile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

func parent(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
}

// FIFO makes a named pipe at path.
func FIFO(t testing.TB, path string) {
	t.Helper()
	parent(t, path)
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Sparse makes a file of size bytes at path that takes no room on disk.
func Sparse(t testing.TB, path string, size int64) {
	t.Helper()
	parent(t, path)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// Zero makes at path a character device like /dev/zero (1, 5): it reads
// zeros without end. It needs root (testshared.Require).
func Zero(t testing.TB, path string) {
	t.Helper()
	parent(t, path)
	err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|5)
	testshared.Require(t, err == nil, "mknod %s (needs root): %v", path, err)
}
