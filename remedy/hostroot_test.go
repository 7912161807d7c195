package remedy

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ktriage/ktriage/hostroot"
	"github.com/ktriage/ktriage/internal/remedytest"
)

// TestScanHostroot: ScanFS reads a hostroot.Root unchanged, an archive's or
// a directory's, and plans what it plans from the directory, links to
// /dev/null (a masked .link file) and absolute links included.
func TestScanHostroot(t *testing.T) {
	const top = "sosreport-host-2026-12-05-abcdef"
	for _, fixture := range []string{"rhel6", "rhel8-nm", "ubuntu-netplan", "networkd"} {
		t.Run(fixture, func(t *testing.T) {
			root := remedytest.Root(t, fixture)
			for name, target := range map[string]string{
				"etc/systemd/network/10-masked.link": "/dev/null",
				"etc/hostname.link":                  "/etc/hostname.real",
			} {
				p := filepath.Join(root, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "etc/hostname.real"), []byte("h\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				fi, err := d.Info()
				if err != nil {
					return err
				}
				link, _ := os.Readlink(p)
				h, err := tar.FileInfoHeader(fi, link)
				if err != nil {
					return err
				}
				h.Name = top + "/" + filepath.ToSlash(rel)
				if d.IsDir() {
					h.Name += "/"
				}
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
				if fi.Mode().IsRegular() {
					b, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					_, err = tw.Write(b)
					return err
				}
				return nil
			})
			if err != nil || tw.Close() != nil {
				t.Fatal(err)
			}
			want, err := Scan(root)
			if err != nil {
				t.Fatal(err)
			}
			pw, errw := NewPlan(want, seedWorkaround(t), Options{})
			ar, err := hostroot.OpenReader(bytes.NewReader(buf.Bytes()), fixture+".tar", hostroot.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dr, err := hostroot.Open(root, hostroot.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*hostroot.Root{ar, dr} {
				h, err := ScanFS(r, root)
				if err != nil {
					t.Fatalf("%s: %v", r.Kind, err)
				}
				p, err := NewPlan(h, seedWorkaround(t), Options{})
				if fmt.Sprint(err) != fmt.Sprint(errw) || (err == nil && p.Diff() != pw.Diff()) {
					t.Errorf("%s: differs from the directory: %v / %v", r.Kind, err, errw)
				}
				if b, err := fs.ReadFile(r, "etc/hostname.link"); err != nil || string(b) != "h\n" {
					t.Errorf("%s: absolute link: %q, %v", r.Kind, b, err)
				}
			}
		})
	}
}
