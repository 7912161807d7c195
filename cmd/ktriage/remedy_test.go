package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/remedytest"
)

const seedOpts = "rx off tx off tso off gso off gro off lro off"

func TestRemedyPlanApplyRHEL6(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	out, err := runCLI(t, "remedy", "plan", "--root", root, "tcp-trim-head-skb-data-len")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{
		"+ETHTOOL_OPTS=\"-K eth0 " + seedOpts + "\"\n",
		"-ETHTOOL_OPTS=\"-G eth1 rx 4096\"   # bigger ring, see ticket 4711\n",
		"+ETHTOOL_OPTS=\"-G eth1 rx 4096; -K eth1 " + seedOpts + "\"   # bigger ring, see ticket 4711\n",
		"  ethtool -K eth0 " + seedOpts + "\n",
		"  ethtool -K eth1 " + seedOpts + "\n",
		"cost: ",
		"dry run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n+++ b/") != 2 {
		t.Errorf("want exactly two files in the diff:\n%s", out)
	}
	out, err = runCLI(t, "remedy", "apply", "--root", root, "tcp-trim-head-skb-data-len")
	if err != nil || !strings.Contains(out, "wrote /etc/sysconfig/network-scripts/ifcfg-eth0") || !strings.Contains(out, "revert --run") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err = runCLI(t, "remedy", "apply", "--root", root, "tcp-trim-head-skb-data-len")
	if err != nil || !strings.Contains(out, "nothing to change") || strings.Contains(out, "wrote") {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	out, err = runCLI(t, "remedy", "verify", "--root", root)
	if err != nil || !strings.Contains(out, "eth0") || !strings.Contains(out, "unknown  yes") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	k := filepath.Join(t.TempDir(), "ethtool-k")
	os.WriteFile(k, []byte("Offload parameters for eth0:\nrx-checksumming: on\ntx-checksumming: off\n"), 0o644)
	out, err = runCLI(t, "remedy", "verify", "--root", root, "--ethtool-k", k, "tcp-trim-head-skb-data-len")
	if err == nil || !strings.Contains(out, "eth0   no") {
		t.Errorf("verify with rx on: %v\n%s", err, out)
	}
	out, err = runCLI(t, "remedy", "revert", "--root", root)
	if err != nil || !strings.Contains(out, "restored /etc/sysconfig/network-scripts/ifcfg-eth1") {
		t.Fatalf("revert: %v\n%s", err, out)
	}
}

func TestRemedyMalformedExitsNonZero(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	bad := filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-eth0")
	os.WriteFile(bad, []byte("DEVICE=eth0\nETHTOOL_OPTS=\"-K eth0 tso off\n"), 0o644)
	before, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-eth1"))
	out, err := runCLI(t, "remedy", "apply", "--root", root, "tcp-trim-head-skb-data-len")
	if err == nil || !strings.Contains(err.Error(), "ifcfg-eth0:2: unterminated double quote") {
		t.Fatalf("got %v\n%s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-eth1"))
	if string(before) != string(after) {
		t.Error("ifcfg-eth1 changed")
	}
	if _, err := os.Stat(filepath.Join(root, "var")); err == nil {
		t.Error("a run directory was made")
	}
}

func TestRemedyNowNeedsNamespaceOffRoot(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	_, err := runCLI(t, "remedy", "apply", "--root", root, "--now", "tcp-trim-head-skb-data-len")
	if err == nil || !strings.Contains(err.Error(), "--netns") {
		t.Fatalf("got %v", err)
	}
}

func TestRemedyFromDiagnosis(t *testing.T) {
	out, err := runCLI(t, "analyze", "--json", "../../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	diag := filepath.Join(t.TempDir(), "DIAGNOSIS.json")
	os.WriteFile(diag, []byte(out), 0o644)
	root := remedytest.Root(t, "rhel6")
	out, err = runCLI(t, "remedy", "plan", "--root", root, diag)
	if err != nil || !strings.Contains(out, "+ETHTOOL_OPTS=\"-K eth0 "+seedOpts+"\"") {
		t.Fatalf("plan from a diagnosis: %v\n%s", err, out)
	}
}

// TestRemedyVethCLI runs the command as a person would: apply --now in a
// network namespace holding a veth pair, checked with the real ethtool.
func TestRemedyVethCLI(t *testing.T) {
	ns := remedytest.VethNetns(t, "ktc0", "ktc1")
	root := t.TempDir()
	dir := filepath.Join(root, "etc/sysconfig/network-scripts")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "ifcfg-bond0"), []byte("DEVICE=bond0\nTYPE=Bond\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ifcfg-ktc0"), []byte("DEVICE=ktc0\nMASTER=bond0\nSLAVE=yes\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ifcfg-ktc1"), []byte("DEVICE=ktc1\nMASTER=bond0\nSLAVE=yes\nETHTOOL_OPTS=\"-G ktc1 rx 4096\"\n"), 0o644)
	out, err := runCLI(t, "remedy", "apply", "--root", root, "--now", "--netns", ns, "tcp-trim-head-skb-data-len")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "now ktc0: ran ethtool -K ktc0") || !strings.Contains(out, "lro [fixed] off already") {
		t.Errorf("apply --now output:\n%s", out)
	}
	for _, dev := range []string{"ktc0", "ktc1"} {
		k, err := exec.Command("ip", "netns", "exec", ns, "ethtool", "-k", dev).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"rx-checksumming", "tx-checksumming", "tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload", "large-receive-offload"} {
			if !strings.Contains(string(k), "\n"+f+": off") {
				t.Errorf("%s: %s not off:\n%s", dev, f, k)
			}
		}
	}
	out, err = runCLI(t, "remedy", "verify", "--root", root, "--netns", ns)
	if err != nil || strings.Count(out, "  yes  ") != 2 {
		t.Errorf("verify: %v\n%s", err, out)
	}
}

// TestAnalyzeRootPersistence: the workaround line names the host's own way
// of keeping offloads across reboots, or every way without --root; the
// JSON does not change with --root.
func TestAnalyzeRootPersistence(t *testing.T) {
	const head = "Workaround: ethtool -K <nic> rx off tx off tso off gso off gro off lro off on each bond slave, made persistent "
	cases := []struct {
		root, want string
	}{
		{"rhel6", "(ETHTOOL_OPTS in ifcfg-<nic>)"},
		{"rhel8-nm", "(ethtool.feature-* in the NetworkManager keyfile)"},
		{"ubuntu-netplan", "(*-offload keys in netplan's ethernets.<nic>)"},
		{"networkd", "(*Offload= keys in a systemd .link file)"},
		{"", "by the host's network stack, one of: ETHTOOL_OPTS in ifcfg-<nic>; ethtool.feature-* in the NetworkManager keyfile; *-offload keys in netplan's ethernets.<nic>; *Offload= keys in a systemd .link file (analyze --root DIR picks it)"},
	}
	const ticket = "../../examples/ticket-skb-checksum.txt"
	for _, c := range cases {
		t.Run(c.root, func(t *testing.T) {
			args := []string{"analyze", ticket}
			if c.root != "" {
				args = []string{"analyze", "--root", filepath.Join(remedytest.RootsDir(), c.root), ticket}
			}
			out, err := runCLI(t, args...)
			if err != nil || !strings.Contains(out, "\n"+head+c.want+"\n") {
				t.Fatalf("%v: want %q in\n%s", err, head+c.want, out)
			}
		})
	}
	plain, err := runCLI(t, "analyze", "--json", ticket)
	if err != nil {
		t.Fatal(err)
	}
	withRoot, err := runCLI(t, "analyze", "--json", "--root", filepath.Join(remedytest.RootsDir(), "rhel8-nm"), ticket)
	if err != nil || withRoot != plain {
		t.Errorf("--json changed with --root: %v", err)
	}
}

// TestAnalyzeBadRoot: a --root that cannot be read costs only the choice
// of stack: the diagnosis still prints, a warning names the root's
// problem (the file, for a file), and the workaround names every choice.
func TestAnalyzeBadRoot(t *testing.T) {
	const ticket = "../../examples/ticket-skb-checksum.txt"
	const every = "by the host's network stack, one of: "
	unparsable := remedytest.Root(t, "rhel6")
	os.WriteFile(filepath.Join(unparsable, "etc/sysconfig/network-scripts/ifcfg-eth9"), []byte("DEVICE=eth9\nnot an assignment\n"), 0o644)
	linked := remedytest.Root(t, "rhel6")
	os.Symlink("../../../../../../../../../../etc/passwd", filepath.Join(linked, "etc/sysconfig/network-scripts/ifcfg-eth9"))
	cases := []struct {
		name, root, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope"), "nope"},
		{"unparsable file", unparsable, "/etc/sysconfig/network-scripts/ifcfg-eth9:2"},
		{"link out of the root", linked, "/etc/sysconfig/network-scripts/ifcfg-eth9: links outside the root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runCLI(t, "analyze", "--root", c.root, ticket)
			if err != nil {
				t.Fatalf("analyze failed instead of warning: %v", err)
			}
			for _, want := range []string{"kernel BUG in dev_hard_start_xmit", "warning: --root", c.want, every} {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestRemedyApplyFailureSaysSo: an apply that fails says it failed, never
// "nothing to change" (the state directory linked out of the root made
// apply print that above its error).
func TestRemedyApplyFailureSaysSo(t *testing.T) {
	root := remedytest.Root(t, "rhel6")
	os.MkdirAll(filepath.Join(root, "var"), 0o755)
	if err := os.Symlink(t.TempDir(), filepath.Join(root, "var", "lib")); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "remedy", "apply", "--root", root, "tcp-trim-head-skb-data-len")
	if err == nil || !strings.Contains(err.Error(), "apply failed") || strings.Contains(out, "nothing to change") {
		t.Fatalf("apply with its state directory linked out: %v\n%s", err, out)
	}
}
