package hostroot

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// mkTree lays out files (content), links ("->target") and FIFOs ("|")
// under dir.
func mkTree(t *testing.T, dir string, tree map[string]string) {
	t.Helper()
	for name, v := range tree {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(v, "->"):
			err = os.Symlink(v[2:], p)
		case v == "|":
			err = syscall.Mkfifo(p, 0o600)
		default:
			err = os.WriteFile(p, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenDir: an unpacked sosreport, given as its folder or the folder
// holding it, and a host's /, read in place: logs streamed, links under
// the root, a FIFO never opened, a link out of the root refused.
func TestOpenDir(t *testing.T) {
	gz := string(pack(t, "gzip", []byte(kernLine)))
	tree := map[string]string{
		"etc/hostname":                  "host1\n",
		"etc/localtime":                 "->/usr/share/zoneinfo/UTC",
		"usr/share/zoneinfo/UTC":        "TZif2",
		"etc/escape":                    "->../../../../etc/passwd",
		"etc/systemd/network/99-x.link": "->/dev/null",
		"var/log/messages":              kernLine,
		"var/log/messages-20261201.gz":  gz,
		"var/log/messages.pipe":         "|",
		"var/log/audit/audit.log":       "not a kernel log",
		"proc/kmsg":                     "not walked",
	}
	for _, c := range []struct {
		name string
		sos  bool // laid out as a sosreport, and opened from above it
		top  string
	}{
		{name: "sosreport folder", sos: true, top: top},
		{name: "folder holding one sosreport", sos: true, top: top},
		{name: "host root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			root := base
			tr := tree
			if c.sos {
				root = filepath.Join(base, top)
				tr = maps2(tree, map[string]string{"sos_commands/kernel/dmesg": "dmesg\n"})
			}
			mkTree(t, root, tr)
			open := root
			if c.name == "folder holding one sosreport" {
				open = base
			}
			col := newCollect()
			r, err := Open(open, Options{Stream: col.stream})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Kind != Dir || r.Top != c.top {
				t.Errorf("kind %v top %q", r.Kind, r.Top)
			}
			want := []string{"var/log/messages", "var/log/messages-20261201.gz"}
			if c.sos {
				want = append([]string{"sos_commands/kernel/dmesg"}, want...)
			}
			if got := slices.Sorted(maps.Keys(col.got)); !slices.Equal(got, want) {
				t.Errorf("streamed %q, want %q", got, want)
			}
			if col.got["var/log/messages-20261201.gz"] != kernLine || col.info["var/log/messages-20261201.gz"].Compression != "gzip" {
				t.Errorf("compressed log streamed as %q", col.got["var/log/messages-20261201.gz"])
			}
			if b, err := fs.ReadFile(r, "etc/localtime"); err != nil || string(b) != "TZif2" {
				t.Errorf("absolute link: %q, %v", b, err)
			}
			if _, err := r.Open("etc/escape"); !errors.Is(err, ErrOutside) {
				t.Errorf("link out of the root: %v", err)
			}
			if _, err := r.Open("var/log/messages.pipe"); !errors.Is(err, ErrSkipped) {
				t.Errorf("FIFO: %v", err)
			}
			if _, err := r.Open("etc/systemd/network/99-x.link"); err == nil {
				t.Errorf("link to /dev/null opened")
			}
			if l, err := r.ReadLink("etc/systemd/network/99-x.link"); err != nil || l != "/dev/null" {
				t.Errorf("readlink: %q %v", l, err)
			}
			if mt, err := r.ModTime("var/log/messages"); err != nil || mt.IsZero() {
				t.Errorf("ModTime: %v %v", mt, err)
			}
		})
	}
}

// TestOpenDirTwoSosreports: a folder holding two sosreports is ambiguous.
func TestOpenDirTwoSosreports(t *testing.T) {
	d := t.TempDir()
	mkTree(t, d, map[string]string{"sosreport-a/etc/x": "x", "sosreport-b/etc/x": "x"})
	if _, err := Open(d, Options{}); err == nil || !strings.Contains(err.Error(), "name one") {
		t.Errorf("two sosreports: %v", err)
	}
}

func maps2(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestDefaultLogs: the logs that are streamed, and the directories a
// host's walk enters to find them.
func TestDefaultLogs(t *testing.T) {
	for name, want := range map[string]bool{
		"var/log/messages":                             true,
		"var/log/messages-20261201.gz":                 true,
		"var/log/syslog.2.bz2":                         true,
		"var/log/kern.log":                             true,
		"var/log/dmesg.1.zst":                          true,
		"sos_commands/logs/journalctl_--no-pager":      true,
		"sos_commands/kernel/dmesg_-T":                 true,
		"var/crash/127.0.0.1-2026/vmcore-dmesg.txt":    true,
		"var/crash/127.0.0.1-2026/vmcore-dmesg.txt.xz": true,
		"var/crash/202612050102/dmesg.202612050102":    true,
		"var/crash/127.0.0.1-2026/vmcore":              false,
		"var/log/audit/audit.log":                      false,
		"var/log/messages/x":                           false,
		"etc/messages":                                 false,
	} {
		if DefaultLogs(name) != want {
			t.Errorf("DefaultLogs(%q) = %v", name, !want)
		}
	}
	for dir, want := range map[string]bool{
		"var": true, "var/log": true, "var/crash": true, "var/crash/x": true,
		"sos_commands": true, "sos_commands/logs": true, "usr": false, "var/lib": false, "proc": false, "var/log/audit": false,
	} {
		if DefaultLogDirs(dir) != want {
			t.Errorf("DefaultLogDirs(%q) = %v", dir, !want)
		}
	}
}
