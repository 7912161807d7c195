package remedy

import "fmt"

// Stack is a network configuration stack: the software that brings a
// host's interfaces up at boot, and so the place an offload setting must
// be written to survive a reboot.
type Stack int

// The stacks remedy reads and writes.
const (
	// Ifcfg is initscripts (RHEL 6 and 7, and NetworkManager's ifcfg-rh
	// plugin): ifcfg-<nic> files run ETHTOOL_OPTS at ifup.
	Ifcfg Stack = iota + 1
	// NetworkManager applies the [ethtool] feature-* keys of a keyfile
	// profile when it activates the connection (RHEL 8 and later).
	NetworkManager
	// Netplan renders its ethernets' offload keys into systemd .link
	// files at boot (Ubuntu).
	Netplan
	// Networkd is systemd-networkd with udev: the [Link] *Offload= keys of
	// the first matching .link file apply when the interface appears.
	Networkd
)

// AllStacks lists every stack remedy can write, in a fixed order, for
// naming the choices when a host's own stack is unknown.
func AllStacks() []Stack { return []Stack{Ifcfg, NetworkManager, Netplan, Networkd} }

// String is the stack's usual name.
func (s Stack) String() string {
	switch s {
	case Ifcfg:
		return "ifcfg"
	case NetworkManager:
		return "NetworkManager"
	case Netplan:
		return "netplan"
	case Networkd:
		return "systemd-networkd"
	}
	return fmt.Sprintf("Stack(%d)", int(s))
}

// Persistence says in a few words where this stack keeps an offload
// setting across reboots, which is where remedy apply writes it.
func (s Stack) Persistence() string {
	switch s {
	case Ifcfg:
		return "ETHTOOL_OPTS in ifcfg-<nic>"
	case NetworkManager:
		return "ethtool.feature-* in the NetworkManager keyfile"
	case Netplan:
		return "*-offload keys in netplan's ethernets.<nic>"
	case Networkd:
		return "*Offload= keys in a systemd .link file"
	}
	return s.String()
}

// Stacks detects the network stacks configured under root, in AllStacks
// order, by what Scan finds there: ifcfg files, NetworkManager keyfiles and
// netplan YAML each name their stack; systemd .link files count only when
// none of those is present, as plan writes a .link file only for an
// interface no other file configures (every systemd host ships vendor .link
// files). A root with none of them gives none; a file that does not parse
// is an error, as for Scan.
func Stacks(root string) ([]Stack, error) {
	h, err := scan(root)
	if err != nil {
		return nil, fmt.Errorf("cannot tell the network stack under %s: %w", root, err)
	}
	return h.stacks(), nil
}

func (h *Host) stacks() []Stack {
	var out []Stack
	if len(h.ifcfgs) > 0 {
		out = append(out, Ifcfg)
	}
	if len(h.keyfiles) > 0 {
		out = append(out, NetworkManager)
	}
	if len(h.netplans) > 0 {
		out = append(out, Netplan)
	}
	if len(out) == 0 && (h.networkdDir || len(h.links) > 0) {
		out = append(out, Networkd)
	}
	return out
}
