package remedy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/remedytest"
)

// vethRoot writes a RHEL 6 style root describing bond0 over the veth pair.
func vethRoot(t *testing.T, a, b string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, ifcfgDir)
	os.MkdirAll(dir, 0o755)
	files := map[string]string{
		"ifcfg-bond0": "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=active-backup miimon=100\"\nONBOOT=yes\n",
		"ifcfg-" + a:  "DEVICE=" + a + "\nMASTER=bond0\nSLAVE=yes\nONBOOT=yes\n",
		"ifcfg-" + b:  "DEVICE=" + b + "\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS=\"-G " + b + " rx 4096\"\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestVethApplyNow: apply --now in a network namespace, then the real
// ethtool -k says the features are off; lro, [fixed] off on veth, is
// reported as such and not asked for.
func TestVethApplyNow(t *testing.T) {
	ns := remedytest.VethNetns(t, "ktv0", "ktv1")
	root := vethRoot(t, "ktv0", "ktv1")
	r := ExecRunner{Netns: ns}
	h, p := plan(t, root)
	res, err := Apply(context.Background(), h, p, ApplyOptions{Now: true, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 || len(res.Runtime) != 2 {
		t.Fatalf("%+v", res)
	}
	for _, rr := range res.Runtime {
		if rr.Err != nil || rr.Command == nil {
			t.Errorf("%s: %+v", rr.Iface, rr)
		}
		for _, c := range rr.Command {
			if c == "lro" && (contains(rr.FixedOK, "lro") || contains(rr.Fixed, "lro")) {
				t.Errorf("asked to change [fixed] lro: %v", rr.Command)
			}
		}
	}
	for _, dev := range []string{"ktv0", "ktv1"} {
		out, err := exec.Command("ip", "netns", "exec", ns, "ethtool", "-k", dev).CombinedOutput()
		if err != nil {
			t.Fatal(err, string(out))
		}
		offs, err := netconf.ParseEthtoolK("ethtool -k", out)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range netconf.Features {
			st, ok := offs[0].State(f.Long)
			if !ok || st.On {
				t.Errorf("%s %s: %+v (present %v)\n%s", dev, f.Long, st, ok, out)
			}
		}
	}
	// Now and after a reboot: yes.
	sts, err := Verify(context.Background(), h, seedWorkaround(t), VerifyOptions{Live: true, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Now != "yes" || s.Boot != "no" {
			// h was scanned before apply: boot is judged from the old files.
			t.Errorf("%+v", s)
		}
	}
	h2, p2 := plan(t, root)
	if len(p2.Edits) != 0 {
		t.Fatal("second plan not empty")
	}
	res2, err := Apply(context.Background(), h2, p2, ApplyOptions{Now: true, Runner: r})
	if err != nil || res2.Run != nil {
		t.Fatalf("second apply: %v %+v", err, res2)
	}
	for _, rr := range res2.Runtime {
		if rr.Command != nil || len(rr.Already) != 5 || !strings.Contains(strings.Join(rr.FixedOK, " "), "lro") {
			t.Errorf("second --now on %s: %+v", rr.Iface, rr)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
