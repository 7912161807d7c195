package remedy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/remedytest"
	"github.com/ktriage/ktriage/kb"
)

// snapshot hashes every file under root, to prove nothing changed.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			m[rel+"/"] = "dir"
			return nil
		}
		b, _ := os.ReadFile(p)
		fi, _ := d.Info()
		m[rel] = fmt.Sprintf("%x %v", sha256.Sum256(b), fi.Mode())
		return nil
	})
	return m
}

func sameSnapshot(t *testing.T, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s changed: %s -> %s", k, v, b[k])
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}

func seedWorkaround(t *testing.T) *Workaround {
	t.Helper()
	k, err := kb.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	w, err := LoadWorkaround("tcp-trim-head-skb-data-len", k)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func plan(t *testing.T, root string, ifaces ...string) (*Host, *Plan) {
	t.Helper()
	h, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(h, seedWorkaround(t), Options{Ifaces: ifaces})
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

const seedK = "rx off tx off tso off gso off gro off lro off"

// TestRHEL6Seed is the acceptance case: the seed's two cases, apply
// with backups, a second apply that changes nothing, and revert.
func TestRHEL6Seed(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	dir := filepath.Join(root, ifcfgDir)
	old0, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth0"))
	old1, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth1"))
	h, p := plan(t, root)
	if got := strings.Join(p.Interfaces, " "); got != "eth0 eth1" {
		t.Fatalf("interfaces %q, want the two slaves", got)
	}
	if len(p.Edits) != 2 {
		t.Fatalf("%d edits, want 2:\n%s", len(p.Edits), p.Diff())
	}
	want0 := string(old0) + `ETHTOOL_OPTS="-K eth0 ` + seedK + `"` + "\n"
	want1 := strings.Replace(string(old1), `ETHTOOL_OPTS="-G eth1 rx 4096"`, `ETHTOOL_OPTS="-G eth1 rx 4096; -K eth1 `+seedK+`"`, 1)
	if string(p.Edits[0].New) != want0 || string(p.Edits[1].New) != want1 {
		t.Fatalf("edits:\n%s", p.Diff())
	}
	for _, c := range []string{"ethtool -K eth0 " + seedK, "ethtool -K eth1 " + seedK} {
		found := false
		for _, pc := range p.Commands {
			found = found || strings.Join(pc, " ") == c
		}
		if !found {
			t.Errorf("no runtime command %q in %v", c, p.Commands)
		}
	}
	res, err := Apply(context.Background(), h, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth0")); string(got) != want0 {
		t.Errorf("ifcfg-eth0 after apply:\n%s", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth1")); string(got) != want1 {
		t.Errorf("ifcfg-eth1 after apply:\n%s", got)
	}
	for _, f := range res.Run.Files {
		b, err := os.ReadFile(filepath.Join(res.RunDir, f.Backup))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string][]byte{"/etc/sysconfig/network-scripts/ifcfg-eth0": old0, "/etc/sysconfig/network-scripts/ifcfg-eth1": old1}[f.Path]; string(b) != string(want) {
			t.Errorf("backup of %s is not the old file", f.Path)
		}
	}
	if !strings.HasPrefix(res.RunDir, filepath.Join(root, runDir)) {
		t.Errorf("run dir %s outside the root", res.RunDir)
	}
	// Idempotent.
	before := snapshot(t, root)
	h2, p2 := plan(t, root)
	if len(p2.Edits) != 0 || len(p2.InPlace) != 2 {
		t.Fatalf("second plan: %d edits, in place %v", len(p2.Edits), p2.InPlace)
	}
	res2, err := Apply(context.Background(), h2, p2, ApplyOptions{})
	if err != nil || res2.Run != nil {
		t.Fatalf("second apply: %v %+v", err, res2)
	}
	sameSnapshot(t, before, snapshot(t, root))
	// Verify from files: boot yes.
	sts, err := Verify(context.Background(), h2, seedWorkaround(t), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Boot != "yes" || s.Now != "unknown" {
			t.Errorf("verify %+v", s)
		}
	}
	// Revert restores both files byte for byte.
	rr, err := Revert(root, "")
	if err != nil || len(rr.Restored) != 2 || rr.Run.Status != "reverted" {
		var rec *RunRecord
		var restored []string
		if rr != nil {
			rec, restored = rr.Run, rr.Restored
		}
		t.Fatalf("revert: %v %v %+v", err, restored, rec)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth0")); string(got) != string(old0) {
		t.Error("ifcfg-eth0 not restored")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ifcfg-eth1")); string(got) != string(old1) {
		t.Error("ifcfg-eth1 not restored")
	}
	if _, err := Revert(root, ""); err == nil {
		t.Error("a second revert found something to revert")
	}
}

func TestRevertRefusesChangedFile(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	h, p := plan(t, root)
	if _, err := Apply(context.Background(), h, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, ifcfgDir, "ifcfg-eth0")
	os.WriteFile(f, []byte("DEVICE=eth0\n# edited by hand\n"), 0o644)
	before := snapshot(t, root)
	if _, err := Revert(root, ""); err == nil || !strings.Contains(err.Error(), "changed after run") {
		t.Fatalf("revert over a hand edit: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, root))
}

func TestMalformedTouchesNothing(t *testing.T) {
	for name, content := range map[string]string{
		"unterminated": "DEVICE=eth2\nETHTOOL_OPTS=\"-K eth2 tso off\n",
		"command":      "DEVICE=eth2\nthis is not an assignment\n",
		"blank value":  "DEVICE=eth2\nNAME=two words\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := remedytest.Root(t, "rhel6")
			os.WriteFile(filepath.Join(root, ifcfgDir, "ifcfg-eth2"), []byte(content), 0o644)
			before := snapshot(t, root)
			_, err := Scan(root)
			var pe *netconf.ParseError
			if !errors.As(err, &pe) || pe.File != "/etc/sysconfig/network-scripts/ifcfg-eth2" || pe.Line == 0 {
				t.Fatalf("error %v does not name the file and line", err)
			}
			sameSnapshot(t, before, snapshot(t, root))
		})
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"feature on", "ifcfg-eth1", "DEVICE=eth1\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS=\"-G eth1 rx 4096; -K eth1 tso on\"\n", `ifcfg-eth1:4: ETHTOOL_OPTS already turns tso on for eth1`},
		{"long name on", "ifcfg-eth1", "DEVICE=eth1\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS='-K eth1 generic-receive-offload on'\n", `already turns generic-receive-offload on`},
		{"two files", "ifcfg-slave0", "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\n", `eth0 is configured by 2 files`},
		{"dynamic", "ifcfg-eth1", "DEVICE=eth1\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS=\"-K $(cat /x) tso off\"\n", `command substitution`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := remedytest.Root(t, "rhel6")
			os.WriteFile(filepath.Join(root, ifcfgDir, c.file), []byte(c.content), 0o644)
			h, err := Scan(root)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewPlan(h, seedWorkaround(t), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestPartlyInPlace(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	os.WriteFile(filepath.Join(root, ifcfgDir, "ifcfg-eth1"), []byte("DEVICE=${NAME:-eth1}\n"), 0o644)
	// ${NAME:-x} is dynamic: DEVICE unknown, the file name decides.
	os.WriteFile(filepath.Join(root, ifcfgDir, "ifcfg-eth1"), []byte("DEVICE=eth1\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS=\"-K ${DEVICE} rx off tso off\"\n"), 0o644)
	_, p := plan(t, root)
	var e1 *Edit
	for _, e := range p.Edits {
		if strings.HasSuffix(e.Path, "ifcfg-eth1") {
			e1 = e
		}
	}
	if e1 == nil || !strings.Contains(string(e1.New), `ETHTOOL_OPTS="-K ${DEVICE} rx off tso off; -K eth1 tx off gso off gro off lro off"`) {
		t.Fatalf("edit:\n%s", p.Diff())
	}
}

func TestAtomicKeepsModeOwnerXattr(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	f := filepath.Join(root, ifcfgDir, "ifcfg-eth0")
	if err := os.Chmod(f, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(f, "user.ktriage-test", []byte("system_u:object_r:net_conf_t:s0"), 0); err != nil {
		t.Skipf("no user xattrs on this filesystem: %v", err)
	}
	if os.Geteuid() == 0 {
		os.Chown(f, 4242, 4343)
	}
	h, p := plan(t, root)
	if _, err := Apply(context.Background(), h, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode())
	}
	buf := make([]byte, 256)
	n, err := unix.Getxattr(f, "user.ktriage-test", buf)
	if err != nil || string(buf[:n]) != "system_u:object_r:net_conf_t:s0" {
		t.Errorf("xattr lost: %q %v", buf[:n], err)
	}
	if os.Geteuid() == 0 {
		var st unix.Stat_t
		unix.Stat(f, &st)
		if st.Uid != 4242 || st.Gid != 4343 {
			t.Errorf("owner %d:%d, want 4242:4343", st.Uid, st.Gid)
		}
	}
	// No temporary file left beside it.
	ents, _ := os.ReadDir(filepath.Dir(f))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".ktriage-") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

func TestOtherDistros(t *testing.T) {
	cases := []struct {
		root   string
		ifaces string
		want   map[string][]string // file -> substrings of the new content
	}{
		{"rhel8-nm", "ens3f0 ens3f1", map[string][]string{
			"/etc/NetworkManager/system-connections/bond0-port1.nmconnection": {"mtu=9000\n\n[ethtool]\nfeature-rx=false\nfeature-tx=false\nfeature-tso=false\nfeature-gso=false\nfeature-gro=false\nfeature-lro=false\n"},
			"/etc/NetworkManager/system-connections/bond0-port2.nmconnection": {"[ethtool]\nfeature-tso=false\nring-rx=4096\nfeature-rx=false\n", "feature-lro=false\n"},
		}},
		{"ubuntu-netplan", "eno1 eno2", map[string][]string{
			"/etc/netplan/50-cloud-init.yaml": {"      mtu: 9000\n      receive-checksum-offload: false\n", "      receive-checksum-offload: false\n      transmit-checksum-offload: false\n", "      large-receive-offload: false\n  bonds:\n"},
		}},
		{"networkd", "enp1s0 enp2s0", map[string][]string{
			"/etc/systemd/network/10-enp1s0.link":         {"RxBufferSize=4096\nReceiveChecksumOffload=false\n", "LargeReceiveOffload=false\n"},
			"/etc/systemd/network/00-ktriage-enp2s0.link": {"[Match]\nMACAddress=52:54:00:12:34:57\n", "NamePolicy=keep kernel database onboard slot path\n", "GenericReceiveOffload=false\n"},
		}},
	}
	for _, c := range cases {
		t.Run(c.root, func(t *testing.T) {
			root := remedytest.Root(t, c.root)
			h, p := plan(t, root)
			if got := strings.Join(p.Interfaces, " "); got != c.ifaces {
				t.Errorf("interfaces %q, want %q", got, c.ifaces)
			}
			if len(p.Edits) != len(c.want) {
				t.Fatalf("%d edits:\n%s", len(p.Edits), p.Diff())
			}
			for _, e := range p.Edits {
				for _, s := range c.want[e.Path] {
					if !strings.Contains(string(e.New), s) {
						t.Errorf("%s lacks %q:\n%s", e.Path, s, e.New)
					}
				}
			}
			modes := map[string]os.FileMode{}
			for _, e := range p.Edits {
				if fi, err := os.Stat(h.Real(e.Path)); err == nil {
					modes[e.Path] = fi.Mode()
				}
			}
			if _, err := Apply(context.Background(), h, p, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			for path, m := range modes {
				if fi, _ := os.Stat(h.Real(path)); fi.Mode() != m {
					t.Errorf("%s mode %v, was %v", path, fi.Mode(), m)
				}
			}
			h2, p2 := plan(t, root)
			if len(p2.Edits) != 0 {
				t.Fatalf("second plan not empty:\n%s", p2.Diff())
			}
			sts, _ := Verify(context.Background(), h2, seedWorkaround(t), VerifyOptions{})
			for _, s := range sts {
				if s.Boot != "yes" {
					t.Errorf("%+v", s)
				}
			}
			if rr, err := Revert(root, ""); err != nil || len(rr.Restored) != len(c.want) {
				t.Fatalf("revert: %v %v", rr, err)
			}
			_, p3 := plan(t, root)
			if p3.Diff() != p.Diff() {
				t.Error("revert did not bring the files back")
			}
		})
	}
}

func TestNetplanConflict(t *testing.T) {
	root := remedytest.Root(t, "ubuntu-netplan")
	f := filepath.Join(root, netplanDir, "50-cloud-init.yaml")
	b, _ := os.ReadFile(f)
	os.WriteFile(f, []byte(strings.Replace(string(b), "receive-checksum-offload: false", "receive-checksum-offload: yes", 1)), 0o600)
	h, _ := Scan(root)
	_, err := NewPlan(h, seedWorkaround(t), Options{})
	if err == nil || !strings.Contains(err.Error(), "50-cloud-init.yaml:14: ethernets.eno2 already sets receive-checksum-offload: yes") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadWorkaroundDiagnosis(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "DIAGNOSIS.json")
	os.WriteFile(f, []byte(`{"matches":[{"id":"tcp-trim-head-skb-data-len","workaround":{"text":"x","verified":true,"ethtool_offload":{"features":["rx","tx","tso","gso","gro","lro"],"state":"off","scope":"bond-slaves"}}}]}`), 0o644)
	w, err := LoadWorkaround(f, nil)
	if err != nil || w.EntryID != "tcp-trim-head-skb-data-len" || w.Offload.Scope != "bond-slaves" || len(w.Offload.Features) != 6 {
		t.Fatalf("%+v %v", w, err)
	}
	os.WriteFile(f, []byte(`{"matches":[{"id":"x","workaround":{"text":"no offload"}}]}`), 0o644)
	if _, err := LoadWorkaround(f, nil); err == nil {
		t.Error("a diagnosis without an offload workaround was accepted")
	}
}

func TestApplyDetectsChangeSincePlan(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	h, p := plan(t, root)
	f := filepath.Join(root, ifcfgDir, "ifcfg-eth1")
	os.WriteFile(f, []byte("DEVICE=eth1\n"), 0o644)
	before := snapshot(t, root)
	if _, err := Apply(context.Background(), h, p, ApplyOptions{Clock: func() time.Time { return time.Unix(0, 0) }}); err == nil {
		t.Fatal("applied over a file changed since the plan")
	}
	sameSnapshot(t, before, snapshot(t, root))
}

func TestVerdictErr(t *testing.T) {
	cases := []struct {
		name string
		v    Verdict
		want string // "" when the verdict passes
	}{
		{"in force", Verdict{{Iface: "eth0", Now: "yes", Boot: "yes"}}, ""},
		{"unknown and partial pass", Verdict{{Iface: "eth0", Now: "unknown", Boot: "yes"}, {Iface: "eth1", Now: "partial", Boot: "yes"}}, ""},
		{"off now", Verdict{{Iface: "eth0", Now: "no", Boot: "yes"}, {Iface: "eth1", Now: "yes", Boot: "yes"}}, "not in force on 1 of 2 interfaces"},
		{"not after reboot", Verdict{{Iface: "eth0", Now: "yes", Boot: "no"}, {Iface: "eth1", Now: "no", Boot: "no"}}, "not in force on 2 of 2 interfaces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.v.Err()
			if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestVerifyReadsEthtoolKFiles(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	h, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(t.TempDir(), "ethtool-k")
	os.WriteFile(k, []byte("Offload parameters for eth0:\nrx-checksumming: on\ntx-checksumming: off\n"), 0o644)
	v, err := Verify(context.Background(), h, seedWorkaround(t), VerifyOptions{EthtoolK: []string{k}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 || v[0].Iface != "eth0" || v[0].Now != "no" || v[1].Now != "unknown" || v.Err() == nil {
		t.Fatalf("%+v", v)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("rx-checksumming: on\n"), 0o644)
	var pe *netconf.ParseError
	if _, err := Verify(context.Background(), h, seedWorkaround(t), VerifyOptions{EthtoolK: []string{bad}}); !errors.As(err, &pe) || pe.File != bad || pe.Line != 1 {
		t.Fatalf("a bad ethtool -k file: %v", err)
	}
}

func TestStacks(t *testing.T) {
	cases := []struct {
		root string
		want []Stack
	}{
		{"rhel6", []Stack{Ifcfg}},
		{"rhel8-nm", []Stack{NetworkManager}},
		{"ubuntu-netplan", []Stack{Netplan}},
		{"networkd", []Stack{Networkd}},
	}
	for _, c := range cases {
		t.Run(c.root, func(t *testing.T) {
			got, err := Stacks(filepath.Join("testdata", "roots", c.root))
			if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
	if got, err := Stacks(t.TempDir()); err != nil || len(got) != 0 {
		t.Errorf("an empty root: %v %v", got, err)
	}
	phrases := map[string]bool{}
	for _, s := range AllStacks() {
		if p := s.Persistence(); p == s.String() || phrases[p] {
			t.Errorf("%v: phrase %q", s, p)
		}
		phrases[s.Persistence()] = true
	}
}

// TestApplyRefusesSosreport: a sosreport is a copy of a host, read to plan:
// apply changes nothing in it, whether it was read from its directory or
// through ScanFS.
func TestApplyRefusesSosreport(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	if err := os.MkdirAll(filepath.Join(root, "sos_commands", "networking"), 0o755); err != nil {
		t.Fatal(err)
	}
	h, p := plan(t, root)
	before := snapshot(t, root)
	if _, err := Apply(context.Background(), h, p, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "sosreport") {
		t.Errorf("apply on a sosreport directory: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, root))

	hf, err := ScanFS(os.DirFS(root), "sosreport.tar.xz")
	if err != nil {
		t.Fatal(err)
	}
	pf, err := NewPlan(hf, seedWorkaround(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pf.Diff() != p.Diff() {
		t.Errorf("the plan read through ScanFS differs:\n%s\nwant\n%s", pf.Diff(), p.Diff())
	}
	if _, err := Apply(context.Background(), hf, pf, ApplyOptions{}); err == nil {
		t.Error("applied a plan of a host read through ScanFS")
	}
	sameSnapshot(t, before, snapshot(t, root))
}
