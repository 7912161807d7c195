// Package remedytest holds the test fixtures that remedy's tests and the
// command's share: copies of the fixture host roots, and a network
// namespace with a veth pair for running the real ethtool against.
package remedytest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// RootsDir is the directory of fixture host roots (remedy/testdata/roots):
// rhel6 (initscripts ifcfg), rhel8-nm (NetworkManager keyfiles),
// ubuntu-netplan and networkd (systemd .link files).
func RootsDir() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/remedytest/remedytest.go
	return filepath.Join(filepath.Dir(file), "..", "..", "remedy", "testdata", "roots")
}

// Root copies the fixture root name into a temporary directory, keeping
// file modes, so that a test may change it.
func Root(t testing.TB, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(RootsDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying fixture root %s: %v", name, err)
	}
	return dst
}

// VethNetns makes a network namespace holding a veth pair named a and b,
// both up, and removes it when the test ends. It needs root, ip and
// ethtool, which the test command provides: without them the test is
// skipped on a user's clone and fails under CI=true (testshared.Require).
func VethNetns(t testing.TB, a, b string) string {
	t.Helper()
	testshared.Require(t, os.Geteuid() == 0, "needs root for ip netns")
	ip := testshared.Tool(t, "ip")
	testshared.Tool(t, "ethtool")
	ns := fmt.Sprintf("ktriage-%s-%d", a, os.Getpid())
	out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput()
	testshared.Require(t, err == nil, "ip netns add %s: %v: %s", ns, err, out)
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	if out, err := exec.Command(ip, "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput(); err != nil {
		t.Fatalf("veth %s/%s: %v: %s", a, b, err, out)
	}
	for _, d := range []string{a, b} {
		if out, err := exec.Command(ip, "-n", ns, "link", "set", d, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v: %s", d, err, out)
		}
	}
	return ns
}
