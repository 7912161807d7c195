package remedy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ktriage/ktriage/internal/remedytest"
)

// TestOneOpener: remedy reads and writes under a root only through
// internal/rootfs (an fs.FS for reads, so that a root can one day be an
// archive, and an os.Root for writes), and netconf never opens a file at
// all. A call that opens, stats, creates, renames or removes a file by path
// in their non-test sources is an error naming it: such a call resolves
// links out of the root, as Scan's and revert's did before.
func TestOneOpener(t *testing.T) {
	forbidden := map[string]map[string]bool{
		"os": set("Open", "OpenFile", "ReadFile", "ReadDir", "Create", "CreateTemp", "WriteFile", "Stat", "Lstat",
			"Readlink", "Mkdir", "MkdirAll", "MkdirTemp", "Remove", "RemoveAll", "Rename", "Symlink", "Link", "Chmod",
			"Chown", "Lchown", "Chtimes", "Truncate", "OpenRoot", "OpenInRoot", "DirFS", "CopyFS", "NewFile", "Chdir"),
		"ioutil":     set("ReadFile", "ReadDir", "WriteFile", "TempFile", "TempDir"),
		"filepath":   set("Walk", "WalkDir", "EvalSymlinks", "Glob"),
		"syscall":    set("Open", "Openat", "Creat", "Mkfifo", "Mknod", "Unlink", "Rename", "Stat", "Lstat"),
		"unix":       set("Open", "Openat", "Openat2", "Creat", "Stat", "Lstat", "Fstatat", "Unlinkat", "Renameat"),
		"atomicfile": set("Write", "WriteIn"),
		// boundedio.ReadFile reads a file the user names on the command
		// line (DIAGNOSIS.json, --ethtool-k), which is not under the root;
		// ReadRegular reads what rootfs opened.
		"boundedio": set(),
	}
	allowed := map[string]bool{
		// The files the user names, outside the root.
		"remedy/plan.go:boundedio.ReadFile":   true,
		"remedy/verify.go:boundedio.ReadFile": true,
	}
	for _, dir := range []string{".", "../internal/netconf"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.ToSlash(filepath.Join(filepath.Base(mustAbs(t, dir)), filepath.Base(f)))
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				fns, watched := forbidden[pkg.Name]
				call := pkg.Name + "." + sel.Sel.Name
				if !watched || allowed[name+":"+call] {
					return true
				}
				if fns[sel.Sel.Name] || pkg.Name == "boundedio" && sel.Sel.Name != "ReadRegular" && !strings.HasPrefix(sel.Sel.Name, "Err") {
					t.Errorf("%s: %s opens or changes a file by path: go through internal/rootfs", fset.Position(sel.Pos()), call)
				}
				return true
			})
		}
	}
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func mustAbs(t *testing.T, dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestScanAnyFS: Scan's reader takes any fs.FS, so a root that is not a
// directory (an archive) needs only an fs.FS: a fixture root as an
// in-memory fstest.MapFS gives the same plan as the directory.
func TestScanAnyFS(t *testing.T) {
	for _, fixture := range []string{"rhel6", "rhel8-nm", "ubuntu-netplan", "networkd"} {
		root := remedytest.Root(t, fixture)
		mfs := fstest.MapFS{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			b, err := os.ReadFile(p)
			mfs[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b, Mode: 0o644}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		h1, err := Scan(root)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := scanFS(mfs, root)
		if err != nil {
			t.Fatalf("%s as an fs.FS: %v", fixture, err)
		}
		p1, err1 := NewPlan(h1, seedWorkaround(t), Options{})
		p2, err2 := NewPlan(h2, seedWorkaround(t), Options{})
		if fmt.Sprint(err1) != fmt.Sprint(err2) || (err1 == nil && p1.Diff() != p2.Diff()) {
			t.Errorf("%s: the directory and the fs.FS differ: %v / %v", fixture, err1, err2)
		}
	}
}
