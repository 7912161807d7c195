package boundedio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		make func(p string) error
		want error // nil: read
	}{
		{"regular", func(p string) error { return os.WriteFile(p, []byte("DEVICE=eth0\n"), 0o644) }, nil},
		{"at the bound", func(p string) error { return os.WriteFile(p, make([]byte, 64), 0o644) }, nil},
		{"past the bound", func(p string) error { return os.WriteFile(p, make([]byte, 65), 0o644) }, ErrTooLarge},
		{"sparse 2 GB", func(p string) error { return os.Truncate(p, 2<<30) }, ErrTooLarge},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, ErrNotRegular},
		{"link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, ErrNotRegular},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, ErrNotRegular},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.NewReplacer(" ", "-", "/", "-").Replace(c.name))
			if c.name == "sparse 2 GB" {
				os.WriteFile(p, nil, 0o644)
			}
			if err := c.make(p); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := ReadFile(p, 64); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, c.want) || c.want != nil && !strings.Contains(err.Error(), p) {
					t.Errorf("got %v, want %v naming %s", err, c.want, p)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("hung")
			}
		})
	}
}
