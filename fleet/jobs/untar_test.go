package jobs

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// member is one header of a hostile tar and, for a regular file, its body.
type member struct {
	h    tar.Header
	body string
}

func makeTar(t *testing.T, ms ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		h := m.h
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%q: %v", h.Name, err)
		}
		tw.Write([]byte(m.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugeTar is a header that declares 1 TiB (after its PAX header, at
// offset 1024), and 3 bytes of data.
func hugeTar() []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "vmcore", Mode: 0o644, Size: 1 << 40, Typeflag: tar.TypeReg})
	b.WriteString("abc")
	b.Write(make([]byte, 509+1024))
	return b.Bytes()
}

// files lists what untar left under dir: each file's path and size.
func files(t *testing.T, dir string) map[string]int64 {
	got := map[string]int64{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		got[rel] = info.Size()
		if d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("a symlink was made: %s", rel)
		}
		return nil
	})
	return got
}

// TestUntarHostile feeds untar the tars a hostile client could send. Each
// either unpacks to what it says, inside the directory, or fails naming
// the member and its offset; nothing is written beside the directory.
func TestUntarHostile(t *testing.T) {
	reg := func(name, body string) member { return member{tar.Header{Name: name, Typeflag: tar.TypeReg}, body} }
	deep := strings.Repeat("a/", 5000) + "f"
	for _, c := range []struct {
		name    string
		tar     []byte
		limit   int64
		want    map[string]int64 // files left, when it succeeds
		wantErr string
	}{
		// 10 KB that declare a 10 GiB tree of 5000 levels: a tree that
		// os.RemoveAll cannot remove (a descriptor per level).
		{name: "deep nesting", tar: makeTar(t, reg(deep, "x")), wantErr: "levels deep"},
		{name: "deep directories", tar: makeTar(t, member{h: tar.Header{Name: deep + "/", Typeflag: tar.TypeDir}}), wantErr: "levels deep"},
		{name: "long name", tar: makeTar(t, reg(strings.Repeat("n", 2000), "x")), wantErr: "2000 bytes"},
		{name: "sixteen levels", tar: makeTar(t, reg(strings.Repeat("d/", 15)+"f", "x")), want: map[string]int64{strings.Repeat("d/", 15) + "f": 1}},
		{name: "huge declared size", tar: hugeTar(), wantErr: `tar offset 1024: member "vmcore": over the`},
		{name: "symlink then a file through it", tar: makeTar(t,
			member{h: tar.Header{Name: "link", Linkname: "/tmp", Typeflag: tar.TypeSymlink}},
			reg("link/x", "abc")), want: map[string]int64{"link/x": 3}},
		{name: "hard link", tar: makeTar(t, reg("a", "abc"),
			member{h: tar.Header{Name: "b", Linkname: "/etc/passwd", Typeflag: tar.TypeLink}}), want: map[string]int64{"a": 3}},
		{name: "duplicate", tar: makeTar(t, reg("vmcore-dmesg.txt", "one"), reg("vmcore-dmesg.txt", "two")), wantErr: `tar offset 1024: member "vmcore-dmesg.txt"`},
		{name: "absolute", tar: makeTar(t, reg("/etc/x", "abc")), wantErr: `member "/etc/x" is not a path inside`},
		{name: "dot dot", tar: makeTar(t, reg("./../x", "abc")), wantErr: `member "./../x" is not a path inside`},
		{name: "dot dot inside", tar: makeTar(t, reg("a/../../x", "abc")), wantErr: `member "a/../../x" is not a path inside`},
		{name: "long PAX name climbing out", tar: makeTar(t, reg(strings.Repeat("a/", 200)+strings.Repeat("../", 201)+"x", "abc")), wantErr: "is not a path inside"},
		{name: "backslashes", tar: makeTar(t, reg(`..\..\x`, "abc")), want: map[string]int64{`..\..\x`: 3}},
		{name: "many members", tar: makeTar(t, func() []member {
			var ms []member
			for i := range maxTarFiles + 1 {
				ms = append(ms, member{h: tar.Header{Name: "d" + strings.Repeat("x", i%7) + "/", Typeflag: tar.TypeDir}})
			}
			return ms
		}()...), wantErr: "more than 2000 members"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "in")
			os.Mkdir(dir, 0o700)
			limit := c.limit
			if limit == 0 {
				limit = int64(len(c.tar))
			}
			err := untar(bytes.NewReader(c.tar), dir, limit)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "tar offset") {
					t.Errorf("err %v, want one naming the offset and %q", err, c.wantErr)
				}
				if len(err.Error()) > 400 {
					t.Errorf("an error of %d bytes", len(err.Error()))
				}
			} else if err != nil {
				t.Errorf("err %v", err)
			} else if got := files(t, dir); !equal(got, c.want) {
				t.Errorf("unpacked %v, want %v", got, c.want)
			}
			ents, _ := os.ReadDir(base)
			if len(ents) != 1 {
				t.Errorf("%d entries beside the directory", len(ents)-1)
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("what it unpacked cannot be removed: %v", err)
			}
		})
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestUntarSparse: GNU tar --sparse stores a 1 GiB file with one byte of
// data in 10 KB. Unpacked under the tar's own size it is refused (it was
// written out whole, zeros and all); a sparse member that does not expand
// the tar is unpacked, in GNU's old format too (it was skipped).
func TestUntarSparse(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	src := t.TempDir()
	for name, size := range map[string]int64{"vmcore": 1 << 30, "small": 8192} {
		f, err := os.Create(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(size)
		f.WriteAt([]byte("x"), size/2)
		f.Close()
	}
	for _, format := range []string{"gnu", "posix"} {
		for _, c := range []struct {
			file    string
			wantErr bool
		}{{"vmcore", true}, {"small", false}} {
			out := filepath.Join(t.TempDir(), "sparse.tar")
			if b, err := exec.Command("tar", "--sparse", "--format="+format, "-C", src, "-cf", out, c.file).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, b)
			}
			data, _ := os.ReadFile(out)
			dir := t.TempDir()
			err := untar(bytes.NewReader(data), dir, int64(len(data)))
			got := files(t, dir)
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), `member "vmcore": over the`) {
					t.Errorf("%s: a %d-byte tar of a sparse 1 GiB file: %v, %v", format, len(data), err, got)
				}
				if got["vmcore"] > int64(len(data)) {
					t.Errorf("%s: %d bytes written from a %d-byte tar", format, got["vmcore"], len(data))
				}
			} else if err != nil || got[c.file] != 8192 {
				t.Errorf("%s: a sparse file of 8 KiB: %v, %v", format, err, got)
			}
		}
	}
}
