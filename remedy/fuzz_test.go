package remedy

import (
	"strings"
	"testing"
)

// Each parser has a fuzz target; seed corpora are in testdata/fuzz. Beyond
// not panicking, the targets check the edit round trip: what remedy writes
// parses again and says what was meant, and a second plan finds nothing to
// do.

func FuzzIfcfg(f *testing.F) {
	f.Add([]byte("DEVICE=eth0\nETHTOOL_OPTS=\"-G eth0 rx 4096\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseIfcfg("ifcfg-eth0", data)
		if err != nil {
			return
		}
		e, _, err := planIfcfg(fc, "eth0", Features, "off")
		if err != nil || e == nil {
			return
		}
		f2, err := ParseIfcfg("ifcfg-eth0", e.New)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, e.New)
		}
		if e2, _, err := planIfcfg(f2, "eth0", Features, "off"); err != nil || e2 != nil {
			t.Fatalf("second plan: %v %v\n%q", err, e2 != nil, e.New)
		}
	})
}

func FuzzKeyfile(f *testing.F) {
	f.Add([]byte("[connection]\nid=eth0\ninterface-name=eth0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyfile("k.nmconnection", data)
		if err != nil {
			return
		}
		if _, _, ok := k.EthtoolSetting("feature-rx"); ok {
			return
		}
		out := k.SetEthtool([][2]string{{"feature-rx", "false"}})
		k2, err := ParseKeyfile("k.nmconnection", out)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, out)
		}
		if v, _, _ := k2.EthtoolSetting("feature-rx"); v != "false" {
			t.Fatalf("feature-rx=%q after the edit\n%q", v, out)
		}
	})
}

func FuzzLink(f *testing.F) {
	f.Add([]byte("[Match]\nOriginalName=eth0\n\n[Link]\nNamePolicy=keep\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLink("x.link", data)
		if err != nil {
			return
		}
		l.Matches("eth0", "52:54:00:12:34:56")
		if _, _, ok := l.Setting("ReceiveChecksumOffload"); ok {
			return
		}
		out := l.SetLink([][2]string{{"ReceiveChecksumOffload", "false"}})
		l2, err := ParseLink("x.link", out)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, out)
		}
		if v, _, _ := l2.Setting("ReceiveChecksumOffload"); v != "false" {
			t.Fatalf("ReceiveChecksumOffload=%q after the edit\n%q", v, out)
		}
	})
}

func FuzzNetplan(f *testing.F) {
	f.Add([]byte("network:\n  ethernets:\n    eth0:\n      dhcp4: true\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		np, err := ParseNetplan("n.yaml", data)
		if err != nil || len(np.Ethernets) == 0 {
			return
		}
		e := np.Ethernets[0]
		if e.flow || e.Name == "" {
			return
		}
		if _, ok := e.Settings["large-receive-offload"]; ok {
			return
		}
		out, err := np.SetOffloads(e, [][2]string{{"large-receive-offload", "false"}})
		if err != nil {
			return
		}
		np2, err := ParseNetplan("n.yaml", out)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, out)
		}
		e2 := np2.Ethernet(e.Name, "")
		if e2 == nil || e2.Settings["large-receive-offload"].Value != "false" {
			t.Fatalf("large-receive-offload not set on %s after the edit\n%q", e.Name, out)
		}
	})
}

func FuzzBonding(f *testing.F) {
	f.Add([]byte("Ethernet Channel Bonding Driver: v3.7.1\n\nSlave Interface: eth0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBonding("bond0", "bond0", data)
		if err != nil {
			return
		}
		for _, s := range b.Slaves {
			if s == "" || strings.ContainsAny(s, " \t/") {
				t.Fatalf("bad slave %q", s)
			}
		}
	})
}

func FuzzEthtoolK(f *testing.F) {
	f.Add([]byte("Features for eth0:\nrx-checksumming: on [fixed]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		offs, err := ParseEthtoolK("k", data)
		if err != nil {
			return
		}
		if len(offs) == 0 {
			t.Fatal("no interface and no error")
		}
		for _, o := range offs {
			for name, st := range o.Features {
				if name == "" || (st.Requested != "" && st.Requested != "on" && st.Requested != "off") {
					t.Fatalf("%q %+v", name, st)
				}
			}
		}
	})
}
