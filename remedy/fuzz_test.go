package remedy

import (
	"testing"

	"github.com/ktriage/ktriage/internal/netconf"
)

// FuzzPlanIfcfg checks remedy's ETHTOOL_OPTS edit on any ifcfg file the
// parser accepts (internal/netconf fuzzes the parser itself, on the same
// corpus): the edited file parses again, and a second plan finds nothing
// to do.
func FuzzPlanIfcfg(f *testing.F) {
	f.Add([]byte("DEVICE=eth0\nETHTOOL_OPTS=\"-G eth0 rx 4096\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := netconf.ParseIfcfg("ifcfg-eth0", data)
		if err != nil {
			return
		}
		e, _, err := planIfcfg(fc, "eth0", netconf.Features, "off")
		if err != nil || e == nil {
			return
		}
		f2, err := netconf.ParseIfcfg("ifcfg-eth0", e.New)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, e.New)
		}
		if e2, _, err := planIfcfg(f2, "eth0", netconf.Features, "off"); err != nil || e2 != nil {
			t.Fatalf("second plan: %v %v\n%q", err, e2 != nil, e.New)
		}
	})
}
