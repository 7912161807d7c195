package remedy

import (
	"fmt"
	"strings"
	"testing/fstest"
)

// exampleConfigs are, per stack, one interface's configuration as each
// stack's installer leaves it (DHCP, nothing else): the host Examples plans
// on. The paths are the ones Scan reads.
var exampleConfigs = []struct {
	stack Stack
	files map[string]string // path under the root, with IFACE for the interface
}{
	{Ifcfg, map[string]string{"etc/sysconfig/network-scripts/ifcfg-IFACE": "DEVICE=IFACE\nBOOTPROTO=dhcp\nONBOOT=yes\n"}},
	{NetworkManager, map[string]string{"etc/NetworkManager/system-connections/IFACE.nmconnection": "[connection]\nid=IFACE\ntype=ethernet\ninterface-name=IFACE\n\n[ipv4]\nmethod=auto\n"}},
	{Netplan, map[string]string{"etc/netplan/01-netcfg.yaml": "network:\n  version: 2\n  ethernets:\n    IFACE:\n      dhcp4: true\n"}},
	{Networkd, map[string]string{"etc/systemd/network/20-IFACE.network": "[Match]\nName=IFACE\n\n[Network]\nDHCP=yes\n"}},
}

// Example is what `remedy plan` does on a host of one stack.
type Example struct {
	Stack Stack
	Plan  *Plan
}

// Examples plans w for the interface iface on one minimal host of each
// stack, through the planner remedy plan runs on a real host: what a fleet
// page shows as a bucket's remedy, before anyone runs remedy plan on a
// host of its own (whose configuration may differ).
func Examples(w *Workaround, iface string) ([]Example, error) {
	if err := validOffload(w); err != nil {
		return nil, err
	}
	var out []Example
	for _, c := range exampleConfigs {
		fsys := fstest.MapFS{}
		for p, body := range c.files {
			fsys[strings.ReplaceAll(p, "IFACE", iface)] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(body, "IFACE", iface)), Mode: 0o644}
		}
		h, err := ScanFS(fsys, "/")
		if err != nil {
			return nil, fmt.Errorf("example %s host: %w", c.stack, err)
		}
		p, err := NewPlan(h, w, Options{Ifaces: []string{iface}})
		if err != nil {
			return nil, fmt.Errorf("example %s plan: %w", c.stack, err)
		}
		out = append(out, Example{Stack: c.stack, Plan: p})
	}
	return out, nil
}
