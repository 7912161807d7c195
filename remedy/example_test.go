package remedy

import (
	"strings"
	"testing"

	"github.com/ktriage/ktriage/kb"
)

// TestExamples plans the founding case's workaround on a minimal host of
// each stack: each persists the six offloads off where that stack keeps
// them, and every plan carries the runtime command.
func TestExamples(t *testing.T) {
	k, err := kb.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	w, err := LoadWorkaround("tcp-trim-head-skb-data-len", k)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Examples(w, "ens3")
	if err != nil {
		t.Fatal(err)
	}
	want := map[Stack][]string{
		Ifcfg:          {"+++ b/etc/sysconfig/network-scripts/ifcfg-ens3", `+ETHTOOL_OPTS="-K ens3 rx off tx off tso off gso off gro off lro off"`},
		NetworkManager: {"+++ b/etc/NetworkManager/system-connections/ens3.nmconnection", "+[ethtool]", "+feature-lro=false"},
		Netplan:        {"+++ b/etc/netplan/01-netcfg.yaml", "+      receive-checksum-offload: false", "+      large-receive-offload: false"},
		Networkd:       {"+++ b/etc/systemd/network/00-ktriage-ens3.link", "+OriginalName=ens3", "+LargeReceiveOffload=false"},
	}
	if len(ex) != len(want) {
		t.Fatalf("%d examples, want %d", len(ex), len(want))
	}
	for _, e := range ex {
		diff := e.Plan.Diff()
		for _, line := range want[e.Stack] {
			if !strings.Contains(diff, line+"\n") {
				t.Errorf("%s: diff lacks %q:\n%s", e.Stack, line, diff)
			}
		}
		if len(e.Plan.Commands) != 1 || strings.Join(e.Plan.Commands[0], " ") != "ethtool -K ens3 rx off tx off tso off gso off gro off lro off" {
			t.Errorf("%s: commands %q", e.Stack, e.Plan.Commands)
		}
	}
	if _, err := Examples(&Workaround{EntryID: "x", Offload: kb.EthtoolOffload{State: "sideways"}}, "eth0"); err == nil {
		t.Error("an invalid workaround was planned")
	}
}
