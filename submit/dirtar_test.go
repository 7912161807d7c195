package submit

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirTar: a directory streams as a tar that archive/tar reads back
// file for file (a name past ustar's 100 bytes, an empty file, a
// subdirectory; ktriage's markers and a symlink left out); its size is
// known before it is read, a rewind gives the same bytes, and a file that
// shrinks between tries is an error naming it rather than a short member.
func TestDirTar(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"vmcore-dmesg.txt":          strings.Repeat("[    1.000000] line\n", 100),
		"vmcore":                    strings.Repeat("\x00\x01", 5000),
		"empty":                     "",
		strings.Repeat("n", 120):    "long name",
		filepath.Join("sub", "log"): "in a subdirectory",
	}
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".ktriage-key"), []byte("k"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "passwd"))

	dt, err := newDirTar(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dt.Close()
	size, err := dt.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	read := func() []byte {
		t.Helper()
		if _, err := dt.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(dt)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first, second := read(), read()
	if int64(len(first)) != size || !bytes.Equal(first, second) {
		t.Fatalf("read %d then %d bytes (equal %v), size said %d", len(first), len(second), bytes.Equal(first, second), size)
	}
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(first))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	if len(got) != len(files) {
		t.Errorf("members %d, want %d", len(got), len(files))
	}
	for name, body := range files {
		if got[filepath.ToSlash(name)] != body {
			t.Errorf("member %q: %d bytes, want %d", name, len(got[filepath.ToSlash(name)]), len(body))
		}
	}

	os.WriteFile(filepath.Join(dir, "vmcore"), []byte("cut"), 0o644)
	dt.Seek(0, io.SeekStart)
	if _, err := io.ReadAll(dt); err == nil || !strings.Contains(err.Error(), "vmcore shrank") {
		t.Errorf("a shrunk file: %v", err)
	}
	if _, err := newDirTar(t.TempDir()); err == nil {
		t.Error("an empty directory packed")
	}
}
