package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, path string) // what is at path before
		perm    os.FileMode
		wantErr string // "" for success
		mode    os.FileMode
	}{
		{"new file takes perm", func(*testing.T, string) {}, 0o640, "", 0o640},
		{"existing file keeps its mode", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 0o644, "", 0o600},
		{"symbolic link refused", func(t *testing.T, p string) {
			if err := os.Symlink("elsewhere", p); err != nil {
				t.Fatal(err)
			}
		}, 0o644, "is a symbolic link", 0},
		{"directory refused", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, 0o644, "not a regular file", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "ifcfg-eth0")
			c.setup(t, p)
			err := Write(p, []byte("new\n"), c.perm)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, os.ErrInvalid) {
					t.Fatalf("got %v, want %q wrapping os.ErrInvalid", err, c.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(p)
				fi, _ := os.Stat(p)
				if string(got) != "new\n" || fi.Mode().Perm() != c.mode {
					t.Fatalf("content %q mode %v, want \"new\\n\" %v", got, fi.Mode().Perm(), c.mode)
				}
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".ktriage-") {
					t.Errorf("temporary file %s left", e.Name())
				}
			}
		})
	}
}
