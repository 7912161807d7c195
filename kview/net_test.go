package kview_test

import (
	"testing"
)

// TestNetDevices: the fixture guest's loopback (ifindex 1; the guest never
// brings it up, so it has no address) and the skb's device (R13 at the
// crash, crash-skb.txt's dev) are among the devices of init_net.
func TestNetDevices(t *testing.T) {
	v := openFixture(t, "skbcsum-kdump")
	_, members := crashSKB(t)
	devs, err := v.NetDevices()
	if err != nil {
		t.Fatal(err)
	}
	var lo, dev bool
	for _, d := range devs {
		t.Logf("%s #%d %#x %v", d.Name, d.Index, d.Addr, d.IPv4)
		if d.Name == "lo" && d.Index == 1 {
			lo = true
		}
		if d.Addr == members["dev"] {
			dev = true
		}
	}
	if !lo || !dev {
		t.Errorf("lo: %v; the skb's dev %#x: %v", lo, members["dev"], dev)
	}
}
