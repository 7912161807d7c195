package remedy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/hostilefile"
	"github.com/ktriage/ktriage/internal/remedytest"
)

// TestScanHostileRoot: a root is input like any other. A file that links
// out of it, is not a regular file, or is far larger than any network
// configuration makes Scan fail promptly, naming the file, without reading
// outside the root, hanging on a FIFO or reading the file whole.
func TestScanHostileRoot(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("DEVICE=eth9\n"), 0o644)
	cases := []struct {
		name string
		file string // relative to the root
		make func(t *testing.T, p string)
		want string
	}{
		{"absolute link, read under the root", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			if err := os.Symlink(secret, p); err != nil {
				t.Fatal(err)
			}
		}, strings.TrimPrefix(secret, "/") + ": no such file"},
		{"relative link out of the root", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			rel, _ := filepath.Rel(filepath.Dir(p), secret)
			if err := os.Symlink(rel, p); err != nil {
				t.Fatal(err)
			}
		}, "outside the root"},
		{"link to /dev/zero", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, "dev/zero: no such file"},
		{"link to the root's /dev/zero", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			root := strings.TrimSuffix(p, "/"+ifcfgDir+"/ifcfg-eth9")
			hostilefile.Zero(t, filepath.Join(root, "dev", "zero"))
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"absolute link loop", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			if err := os.Symlink("/"+ifcfgDir+"/ifcfg-eth9", p); err != nil {
				t.Fatal(err)
			}
		}, "ifcfg-eth9"},
		{"fifo", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) { hostilefile.FIFO(t, p) }, "not a regular file"},
		{"link to a directory", ifcfgDir + "/ifcfg-eth9", func(t *testing.T, p string) {
			os.Mkdir(filepath.Join(filepath.Dir(p), "sub"), 0o755)
			if err := os.Symlink("sub", p); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"huge sparse netplan", netplanDir + "/01-huge.yaml", func(t *testing.T, p string) { hostilefile.Sparse(t, p, 2<<30) }, "larger than"},
		{"sysfs address links out", sysNetDir + "/eth9/address", func(t *testing.T, p string) {
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink("../../../../../../../../../../dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, "outside the root"},
		{"directory links out", netplanDir, func(t *testing.T, p string) {
			os.WriteFile(filepath.Join(outside, "x.yaml"), []byte("network: {version: 2}\n"), 0o644)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
		}, "outside the root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := remedytest.Root(t, "rhel6")
			c.make(t, filepath.Join(root, filepath.FromSlash(c.file)))
			done := make(chan error, 1)
			go func() { _, err := Scan(root); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Scan hung")
			}
			if err == nil || !strings.Contains(err.Error(), "/"+c.file) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming /%s and saying %q", err, c.file, c.want)
			}
		})
	}
}

// TestScanMissingRoot: a root that does not exist is named.
func TestScanMissingRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Scan(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v", err)
	}
}

// TestApplyLinkAfterPlan: a directory swapped for a link out of the root
// between plan and apply is not written through.
func TestApplyLinkAfterPlan(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	outside := t.TempDir()
	h, p := plan(t, root)
	real := filepath.Join(root, ifcfgDir)
	ents, _ := os.ReadDir(real)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(real, e.Name()))
		os.WriteFile(filepath.Join(outside, e.Name()), b, 0o644)
	}
	os.RemoveAll(real)
	if err := os.Symlink(outside, real); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, outside)
	if _, err := Apply(context.Background(), h, p, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "outside the root") {
		t.Fatalf("apply through a link out of the root: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, outside))
}

// TestRevertHostileRoot: revert reads its run records under the root too.
// A run directory that links out of the root is not written through, a
// run.json that is a device is not read whole, and a backup path that
// climbs out of the run directory is not read.
func TestRevertHostileRoot(t *testing.T) {
	outside := t.TempDir()
	sum := func(b []byte) string { return digest(b) }
	secret := []byte("root:x:0:0\n")
	os.WriteFile(filepath.Join(outside, "secret"), secret, 0o644)
	cases := []struct {
		name string
		make func(t *testing.T, root string)
		want string
	}{
		{"run directory links out", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(outside, "runs", "20260101T000000.000000Z"), 0o755)
			os.WriteFile(filepath.Join(outside, "runs", "20260101T000000.000000Z", "run.json"), []byte(`{"id":"20260101T000000.000000Z","status":"applied","files":[]}`), 0o644)
			os.MkdirAll(filepath.Join(root, "var/lib/ktriage"), 0o755)
			if err := os.Symlink(filepath.Join(outside, "runs"), filepath.Join(root, runDir)); err != nil {
				t.Fatal(err)
			}
		}, "outside the root"},
		{"run.json is /dev/zero", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, runDir, "20260101T000000.000000Z"), 0o755)
			if err := os.Symlink("/dev/zero", filepath.Join(root, runDir, "20260101T000000.000000Z", "run.json")); err != nil {
				t.Fatal(err)
			}
		}, "/" + runDir + "/20260101T000000.000000Z/run.json"},
		{"backup climbs out", func(t *testing.T, root string) {
			dir := filepath.Join(root, runDir, "20260101T000000.000000Z")
			os.MkdirAll(dir, 0o755)
			cur := []byte("DEVICE=eth9\n")
			os.WriteFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-eth9"), cur, 0o644)
			rel, _ := filepath.Rel(dir, filepath.Join(outside, "secret"))
			rec := fmt.Sprintf(`{"id":"20260101T000000.000000Z","status":"applied","files":[{"path":"/etc/sysconfig/network-scripts/ifcfg-eth9","backup":%q,"old_sha256":%q,"new_sha256":%q}]}`, rel, sum(secret), sum(cur))
			os.WriteFile(filepath.Join(dir, "run.json"), []byte(rec), 0o644)
		}, "outside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := remedytest.Root(t, "rhel6")
			c.make(t, root)
			before := snapshot(t, outside)
			done := make(chan error, 1)
			go func() { _, err := Revert(root, ""); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Revert hung")
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error saying %q", err, c.want)
			}
			sameSnapshot(t, before, snapshot(t, outside))
			if b, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-eth9")); strings.Contains(string(b), "root:x") {
				t.Error("a file outside the root was copied into it")
			}
		})
	}
}

// TestScanMaskedLink: a .link file linked to /dev/null is how systemd masks
// a vendor file of the same name; it reads as empty, not as a link out of
// the root.
func TestScanMaskedLink(t *testing.T) {
	root := remedytest.Root(t, "networkd")
	for _, d := range []string{"etc/systemd/network", "usr/lib/systemd/network"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "usr/lib/systemd/network/99-default.link"), []byte("[Match]\nOriginalName=*\n[Link]\nTCPSegmentationOffload=true\n"), 0o644)
	if err := os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/network/99-default.link")); err != nil {
		t.Fatal(err)
	}
	h, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range h.links {
		if strings.HasPrefix(l.Path(), "/usr/lib/") {
			t.Errorf("the masked %s was read", l.Path())
		}
	}
}

// TestPlanRefusesUnparsableEdit: an edit whose result its own parser no
// longer reads (FuzzNetplan found one: an odd but accepted netplan file
// whose ethernet the insertion splits) is refused, naming the file, so that
// apply never writes a configuration the host cannot boot with. The netplan
// editor now refuses it itself; plan's re-read covers every kind.
func TestPlanRefusesUnparsableEdit(t *testing.T) {
	root := remedytest.Root(t, "ubuntu-netplan")
	np := filepath.Join(root, netplanDir, "50-cloud-init.yaml")
	if err := os.WriteFile(np, []byte(" \nnetwork:\n  0: 0\n  1: 0\n  ethernets:\n   eno9:\n    00:\n#\n    00"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPlan(h, seedWorkaround(t), Options{Ifaces: []string{"eno9"}})
	if err == nil || !strings.Contains(err.Error(), "/etc/netplan/50-cloud-init.yaml") || !strings.Contains(err.Error(), "cannot read") {
		t.Fatalf("got %v, want a refusal naming the file", err)
	}
}

// TestLoadWorkaroundHostileFile: a DIAGNOSIS.json that is a FIFO or a
// sparse 2 GB file is refused by name, not waited on or read whole.
func TestLoadWorkaroundHostileFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	hostilefile.FIFO(t, fifo)
	huge := filepath.Join(dir, "huge.json")
	os.WriteFile(huge, nil, 0o644)
	if err := os.Truncate(huge, 2<<30); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, huge} {
		done := make(chan error, 1)
		go func() { _, err := LoadWorkaround(p, nil); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("%s: %v", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: hung", p)
		}
	}
}

// TestScanSysfsFiles: sys/class/net holds files beside the interface
// directories (bonding_masters, with the bonding module loaded); they are
// not interfaces and no error.
func TestScanSysfsFiles(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	os.MkdirAll(filepath.Join(root, sysNetDir, "eth0"), 0o755)
	os.WriteFile(filepath.Join(root, sysNetDir, "eth0", "address"), []byte("3C:EC:EF:10:20:30\n"), 0o644)
	os.WriteFile(filepath.Join(root, sysNetDir, "bonding_masters"), []byte("bond0\n"), 0o644)
	h, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if h.macs["eth0"] != "3c:ec:ef:10:20:30" {
		t.Errorf("macs %v", h.macs)
	}
}

// TestHostileNames: an interface name from a flag, a kb entry or sysfs is
// checked as the kernel would, and every command plan shows quotes its
// words, so that a profile named "$(reboot)" is shown as one word, not run
// when the operator pastes the line.
func TestHostileNames(t *testing.T) {
	for _, bad := range []string{"a/b", "..", "eth0\n[Link]", "$(reboot) x", "abcdefghijklmnop", "-K"} {
		root := remedytest.Root(t, "rhel6")
		h, err := Scan(root)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewPlan(h, seedWorkaround(t), Options{Ifaces: []string{bad}}); err == nil || !strings.Contains(err.Error(), "--iface") {
			t.Errorf("--iface %q: got %v", bad, err)
		}
	}
	root := remedytest.Root(t, "rhel6")
	if err := os.MkdirAll(filepath.Join(root, sysNetDir, "eth0\n[Link]"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(root); err == nil || !strings.Contains(err.Error(), "/"+sysNetDir+"/eth0\n[Link]") {
		t.Errorf("a sysfs interface named with a newline: %v", err)
	}

	root = remedytest.Root(t, "rhel8-nm")
	kf := filepath.Join(root, nmDir, "bond0-port1.nmconnection")
	b, _ := os.ReadFile(kf)
	os.WriteFile(kf, []byte(strings.Replace(string(b), "id=bond0-port1", "id=$(reboot) 'x'", 1)), 0o600)
	_, p := plan(t, root, "ens3f0")
	want := `nmcli connection up '$(reboot) '\''x'\'''`
	if !strings.Contains(strings.Join(p.Notes, "\n"), want) {
		t.Errorf("notes %q, want the profile quoted: %s", p.Notes, want)
	}
}
