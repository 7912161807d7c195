package netconf

import (
	"errors"
	"strings"
	"testing"
)

// Each parser has a fuzz target; seed corpora are in testdata/fuzz. Beyond
// not panicking, the targets check that errors name the file and that an
// edit round-trips: what is written parses again and says what was meant.
// remedy's FuzzPlanIfcfg checks its ETHTOOL_OPTS edit the same way.

func FuzzIfcfg(f *testing.F) {
	f.Add([]byte("DEVICE=eth0\nETHTOOL_OPTS=\"-G eth0 rx 4096\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseIfcfg("ifcfg-eth0", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "ifcfg-eth0" {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		for _, v := range fc.Vars {
			if v.Line < 1 || v.Start > v.End || v.End > len(data) || (v.Quote != 0 && data[v.End-1] != v.Quote) {
				t.Fatalf("%s: bad position %+v", v.Name, v)
			}
			for _, o := range SplitEthtoolOpts(v.Value) {
				if len(o.Args) == 0 {
					t.Fatalf("empty part of %q", v.Value)
				}
			}
		}
	})
}

// iniRoundTrip sets key in group of a parsed keyfile or .link file and
// checks that the result parses again with the key set: what remedy writes
// must read back as meant.
func iniRoundTrip(t *testing.T, f *iniFile, syn iniSyntax, group, key string) {
	t.Helper()
	if _, ok := f.get(group, key); ok {
		return
	}
	out := f.setKeys(group, [][2]string{{key, "false"}})
	g, err := parseINI(f.Path, out, syn)
	if err != nil {
		t.Fatalf("edited file does not parse: %v\n%q", err, out)
	}
	if v := g.value(group, key); v != "false" {
		t.Fatalf("%s=%q after the edit\n%q", key, v, out)
	}
}

func FuzzKeyfile(f *testing.F) {
	f.Add([]byte("[connection]\nid=eth0\ninterface-name=eth0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParseKeyfile("k.nmconnection", data); err == nil {
			iniRoundTrip(t, k.ini, keyfileSyntax, "ethtool", "feature-rx")
		}
	})
}

func FuzzLink(f *testing.F) {
	f.Add([]byte("[Match]\nOriginalName=eth0\n\n[Link]\nNamePolicy=keep\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, err := ParseLink("x.link", data); err == nil {
			l.Matches("eth0", "52:54:00:12:34:56")
			iniRoundTrip(t, l.ini, linkSyntax, "Link", "ReceiveChecksumOffload")
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
