package netconf

import (
	"strings"
	"testing"
)

// TestHostileIfaceNames: an interface name in any configuration format is
// refused, naming the file and line, when the kernel would refuse it: a
// name with '/', "..", a newline or a blank became a file in another
// directory, an injected [Link] section or a word split in a command.
func TestHostileIfaceNames(t *testing.T) {
	cases := []struct {
		name  string
		parse func(data []byte) error
		data  string
		want  string // file:line
	}{
		{"ifcfg DEVICE with a slash", ifcfg, "BOOTPROTO=none\nDEVICE=../../x\n", "ifcfg-eth0:2"},
		{"ifcfg DEVICE dot-dot", ifcfg, "DEVICE=..\n", "ifcfg-eth0:1"},
		{"ifcfg DEVICE with a newline", ifcfg, "DEVICE=\"eth0\n[Link]\"\n", "ifcfg-eth0:1"},
		{"ifcfg DEVICE too long", ifcfg, "DEVICE=abcdefghijklmnop\n", "ifcfg-eth0:1"},
		{"ifcfg DEVICE command", ifcfg, "DEVICE='$(reboot) x'\n", "ifcfg-eth0:1"},
		{"ifcfg MASTER", ifcfg, "DEVICE=eth0\nMASTER='bond 0'\nSLAVE=yes\n", "ifcfg-eth0:2"},
		{"keyfile interface-name", keyfile, "[connection]\nid=x\ninterface-name=a/b\n", "k.nmconnection:3"},
		{"keyfile interface-name tab", keyfile, "[connection]\ninterface-name=a\tb\n", "k.nmconnection:2"},
		{"link Name", link, "[Match]\nOriginalName=eth0\n[Link]\nName=..\n", "x.link:4"},
		{"netplan id", netplan, "network:\n  ethernets:\n    \"../etc\":\n      dhcp4: true\n", "x.yaml:3"},
		{"netplan set-name", netplan, "network:\n  ethernets:\n    e0:\n      match: {macaddress: \"00:11:22:33:44:55\"}\n      set-name: \"a\\nb\"\n", "x.yaml:3"},
		{"netplan match.name", netplan, "network:\n  ethernets:\n    e0:\n      match: {name: \"$(id)x y\"}\n", "x.yaml:3"},
		{"netplan bond name", netplan, "network:\n  bonds:\n    \"bond/0\":\n      interfaces: [eth0]\n", "x.yaml:3"},
		{"netplan bond interface", netplan, "network:\n  bonds:\n    bond0:\n      interfaces:\n        - \"a b\"\n", "x.yaml:5"},
		{"bonding slave", bonding, "Ethernet Channel Bonding Driver: v3\n\nSlave Interface: $(x)\x01\n", "bonding/bond0:3"},
		{"bonding slave too long", bonding, "Ethernet Channel Bonding Driver: v3\n\nSlave Interface: abcdefghijklmnopq\n", "bonding/bond0:3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse([]byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want+":") {
				t.Fatalf("got %v, want a refusal at %s", err, c.want)
			}
		})
	}
	// The names the kernel takes still parse.
	for _, ok := range []string{"eth0", "eth0:1", "enp0s31f6", "bond0.100", "a-b_c@d", "abcdefghijklmno"} {
		if err := CheckIfaceName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if _, err := ParseBonding("bond\n0", "bonding/x", []byte("Ethernet Channel Bonding Driver: v3\n")); err == nil {
		t.Error("a bond file name with a newline was taken as a bond")
	}
	if _, err := ParseIfcfg("/etc/sysconfig/network-scripts/ifcfg-a b", []byte("BOOTPROTO=dhcp\n")); err == nil {
		t.Error("an ifcfg file name with a blank was taken as the device")
	}
}

func ifcfg(d []byte) error   { _, err := ParseIfcfg("ifcfg-eth0", d); return err }
func keyfile(d []byte) error { _, err := ParseKeyfile("k.nmconnection", d); return err }
func link(d []byte) error    { _, err := ParseLink("x.link", d); return err }
func netplan(d []byte) error { _, err := ParseNetplan("x.yaml", d); return err }
func bonding(d []byte) error { _, err := ParseBonding("bond0", "bonding/bond0", d); return err }
