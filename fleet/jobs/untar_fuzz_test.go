package jobs

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUntar feeds untar arbitrary bytes: it must never panic, never write
// outside its directory (the directory beside it stays empty), and never
// unpack more than its limit.
func FuzzUntar(f *testing.F) {
	for _, members := range [][]tar.Header{
		{{Name: "vmcore-dmesg.txt", Size: 3, Typeflag: tar.TypeReg}},
		{{Name: "../up.txt", Size: 3, Typeflag: tar.TypeReg}},
		{{Name: "d/", Typeflag: tar.TypeDir}, {Name: "d/vmcore", Size: 3, Typeflag: tar.TypeReg}},
		{{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}, {Name: "link/x", Size: 3, Typeflag: tar.TypeReg}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range members {
			h.Mode = 0o644
			tw.WriteHeader(&h)
			if h.Size > 0 {
				tw.Write([]byte("abc"))
			}
		}
		tw.Close()
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dir, beside := filepath.Join(base, "in"), filepath.Join(base, "beside")
		os.Mkdir(dir, 0o700)
		os.Mkdir(beside, 0o700)
		const limit = 1 << 16
		untar(bytes.NewReader(data), dir, limit)
		var total int64
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if rel, _ := filepath.Rel(dir, p); rel == "" || rel[0] == '.' {
				t.Fatalf("written outside the directory: %s", p)
			}
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
			return nil
		})
		if total > limit {
			t.Fatalf("unpacked %d bytes, limit %d", total, limit)
		}
	})
}
