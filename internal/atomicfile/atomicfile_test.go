package atomicfile

import (
	"errors"
	"io/fs"
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

// TestCreate: Create writes a new file whole, refuses an existing file or
// link, and leaves no temporary file behind.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.yaml")
	if err := Create(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "one" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := Create(p, []byte("two"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("existing file changed to %q", b)
	}
	link := filepath.Join(dir, "dangling.yaml")
	os.Symlink(filepath.Join(dir, "nowhere"), link)
	if err := Create(link, []byte("x"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over a dangling link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Errorf("wrote through the link")
	}
	if err := Create(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644); err == nil {
		t.Errorf("missing directory: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want the file and the link", len(ents))
	}
}
