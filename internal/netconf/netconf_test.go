package netconf

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestParseIfcfgSyntax(t *testing.T) {
	data := "# comment\nexport A='x y' # trailing\nB=\"q \\\"quoted\\\" \\$HOME $A\"\nC=un\\ quoted\nD=\"multi\nline\"\nDEVICE=eth9\nE=\"-K ${DEVICE} tso off\"; F=2\nG=$(hostname)\nH=\n"
	f, err := ParseIfcfg("ifcfg-x", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "x y", "B": `q "quoted" $HOME x y`, "C": "un quoted", "D": "multi\nline", "E": "-K eth9 tso off", "F": "2", "H": ""}
	for k, v := range want {
		if got := f.Value(k); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if g, _ := f.Get("G"); !g.Dynamic {
		t.Error("$(...) not dynamic")
	}
	if e, _ := f.Get("E"); e.Line != 8 || e.Quote != '"' {
		t.Errorf("E: %+v", e)
	}
	if f.Device() != "eth9" {
		t.Error(f.Device())
	}
	for _, bad := range []string{"A='x\n", "A=\"x\n", "ls -l\n", "A=b c\n", "A=x|y\n", "=x\n"} {
		if _, err := ParseIfcfg("ifcfg-x", []byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSplitEthtoolOpts(t *testing.T) {
	o := SplitEthtoolOpts("-G ethX rx 4096; -G eth1 tx 4096;autoneg off speed 100; --offload eth1 rx off tso on")
	if len(o) != 4 || !o[2].Legacy || o[3].Offload == nil || o[3].Offload.Device != "eth1" || len(o[3].Offload.Settings) != 2 || o[3].Offload.Settings[1] != [2]string{"tso", "on"} {
		t.Fatalf("%+v", o)
	}
}

func TestParseEthtoolK(t *testing.T) {
	data := `Features for eth0:
Cannot get device udp-fragmentation-offload settings: Operation not supported
rx-checksumming: on
tx-checksumming: on
	tx-checksum-ipv4: off [fixed]
generic-segmentation-offload: off [requested on]
large-receive-offload: off [fixed]
Offload parameters for eth1:
rx-checksumming: off
tcp-segmentation-offload: on
`
	offs, err := ParseEthtoolK("k", []byte(data))
	if err != nil || len(offs) != 2 {
		t.Fatal(err, offs)
	}
	e0, e1 := offs[0], offs[1]
	if s, _ := e0.State("rx"); !s.On || s.Fixed {
		t.Errorf("rx %+v", s)
	}
	if s, _ := e0.State("gso"); s.On || s.Requested != "on" {
		t.Errorf("gso %+v", s)
	}
	if s, _ := e0.State("lro"); s.On || !s.Fixed {
		t.Errorf("lro %+v", s)
	}
	if s, _ := e0.Features["tx-checksum-ipv4"]; !s.Fixed {
		t.Error("sub-feature")
	}
	if !e1.Legacy || e1.Device != "eth1" {
		t.Errorf("%+v", e1)
	}
	if s, ok := e1.State("tso"); !ok || !s.On {
		t.Errorf("tso %+v", s)
	}
	if _, err := ParseEthtoolK("k", []byte("rx-checksumming: on\n")); err == nil {
		t.Error("feature before header accepted")
	}
}

func TestParseBonding(t *testing.T) {
	b, err := ParseBonding("bond0", "p", []byte("Ethernet Channel Bonding Driver: v3.6.0\n\nBonding Mode: fault-tolerance (active-backup)\nCurrently Active Slave: eth0\n\nSlave Interface: eth0\nPermanent HW addr: 00:1B:21:3A:4C:10\n\nSlave Interface: eth1\n"))
	if err != nil || strings.Join(b.Slaves, " ") != "eth0 eth1" || b.ActiveSlave != "eth0" || b.SlaveHWAddrs["eth0"] != "00:1b:21:3a:4c:10" {
		t.Fatalf("%+v %v", b, err)
	}
	if _, err := ParseBonding("x", "p", []byte("hello\n")); err == nil {
		t.Error("non-bonding accepted")
	}
}

func TestKeyfileAndLink(t *testing.T) {
	if _, err := ParseKeyfile("k", []byte("id=x\n")); err == nil {
		t.Error("key before group accepted")
	}
	if _, err := ParseKeyfile("k", []byte("[connection\n")); err == nil {
		t.Error("bad header accepted")
	}
	l, err := ParseLink("l", []byte("[Match]\nOriginalName=en* \\\n  eth*\n; comment\n[Link]\nNamePolicy = keep\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m, exact, _ := l.Matches("eth3", ""); !m || exact {
		t.Errorf("continuation glob: %v %v", m, exact)
	}
	if v, _, _ := l.Setting("NamePolicy"); v != "keep" {
		t.Errorf("%q", v)
	}
	l2, _ := ParseLink("l", []byte("[Match]\nPath=pci-0000:02:00.0\n"))
	if m, _, unknown := l2.Matches("eth0", ""); m || !unknown {
		t.Error("Path= evaluated")
	}
}

func TestNetplanFlowRefused(t *testing.T) {
	np, err := ParseNetplan("n", []byte("network:\n  ethernets:\n    eth0: {dhcp4: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := np.SetOffloads(np.Ethernets[0], [][2]string{{"large-receive-offload", "false"}}); err == nil || !strings.Contains(err.Error(), "flow style") {
		t.Fatalf("%v", err)
	}
	if _, err := ParseNetplan("n", []byte("network: [\n")); err == nil {
		t.Error("bad YAML accepted")
	}
}

// TestNetplanDeepNesting: YAML nested far deeper than any netplan file is
// refused with the file and line before the parser, whose memory grows with
// the square of the nesting, sees it.
func TestNetplanDeepNesting(t *testing.T) {
	var block strings.Builder
	block.WriteString("network:\n")
	for i := range 600 {
		block.WriteString(strings.Repeat(" ", i+2) + "-\n")
	}
	for name, doc := range map[string]string{
		"flow":  "network: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n",
		"map":   "network:\n  ethernets: " + strings.Repeat("{a: ", 50000) + "x" + strings.Repeat("}", 50000) + "\n",
		"block": block.String(),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ParseNetplan("/etc/netplan/deep.yaml", []byte(doc))
			runtime.ReadMemStats(&after)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "/etc/netplan/deep.yaml" || pe.Line == 0 || !strings.Contains(err.Error(), "nested deeper") {
				t.Errorf("got %v, want a ParseError naming the file and line", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
				t.Errorf("allocated %d MB", n>>20)
			}
		})
	}
}

// TestNetplanSetOffloadsChecksItsOutput: goccy accepts some text that is
// not YAML by the spec (a key's value continued at the key's own
// indentation, found by FuzzNetplan); an insertion into such an entry would
// leave a file that does not parse, and is refused instead, naming the file
// and entry.
func TestNetplanSetOffloadsChecksItsOutput(t *testing.T) {
	np, err := ParseNetplan("/etc/netplan/x.yaml", []byte(" \nnetwork:\n  0: 0\n  1: 0\n  ethernets:\n   00:\n    00:\n#\n    00"))
	if err != nil || len(np.Ethernets) == 0 {
		t.Fatalf("goccy no longer accepts the input (%v): find another that it accepts and the insertion breaks, or drop the read-back check's test if none is left", err)
	}
	out, err := np.SetOffloads(np.Ethernets[0], [][2]string{{"large-receive-offload", "false"}})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != "/etc/netplan/x.yaml" || !strings.Contains(err.Error(), "ethernets.00") {
		t.Fatalf("got %v and\n%q\nwant a ParseError naming the file and entry", err, out)
	}
}

// TestDanglingContinuation: a .link value whose backslash continues past
// the end of the file is refused, naming its line, since a key written
// after it would be swallowed into its value.
func TestDanglingContinuation(t *testing.T) {
	for _, data := range []string{"[Link]\n0=\\", "[Link]\nName=x\\\n", "[Link]\nA=b \\\n  c \\"} {
		_, err := ParseLink("x.link", []byte(data))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "past the end of the file") {
			t.Errorf("%q: %v", data, err)
		}
	}
	if _, err := ParseLink("x.link", []byte("[Link]\nA=b \\\n  c\n")); err != nil {
		t.Errorf("a continued value: %v", err)
	}
}
