package remedy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/rootfs"
)

// Host is a machine's network configuration as read under a root directory
// (/ for the running system, or a copy such as an unpacked sosreport).
type Host struct {
	// Root is the absolute root directory every path is read under.
	Root     string
	ifcfgs   []*netconf.Ifcfg
	keyfiles []*netconf.Keyfile
	// links are the .link files in the order udev considers them.
	links    []*netconf.LinkFile
	netplans []*netconf.Netplan
	// bonds is /proc/net/bonding, when present under the root.
	bonds []*netconf.Bond
	// ethtool holds ethtool -k output found under the root (a sosreport's
	// sos_commands/networking/ethtool_-k_*), by interface.
	ethtool map[string]*netconf.Offloads
	// macs are interface addresses from sys/class/net, by interface.
	macs map[string]string
	// drivers are interface drivers from sys/class/net, by interface.
	drivers map[string]string
	// release is /etc/redhat-release, trimmed, or "".
	release string
	// networkdDir is true when etc/systemd/network exists.
	networkdDir bool
	// readOnly: the host was read from a copy (a sosreport), not a root
	// to change.
	readOnly bool
}

// Places remedy reads, relative to the root.
const (
	ifcfgDir    = "etc/sysconfig/network-scripts"
	nmDir       = "etc/NetworkManager/system-connections"
	netplanDir  = "etc/netplan"
	bondingDir  = "proc/net/bonding"
	sysNetDir   = "sys/class/net"
	sosEthtoolK = "sos_commands/networking"
	// runDir is where apply records its runs (backups and run.json),
	// relative to the root.
	runDir = "var/lib/ktriage/remedy"
)

var linkDirs = []string{"etc/systemd/network", "run/systemd/network", "usr/lib/systemd/network", "lib/systemd/network"}

// Real is the path on this machine of a host path (/etc/...) under the
// root. It never leaves the root: the host path is cleaned as an absolute
// path first.
func (h *Host) Real(hostPath string) string {
	return filepath.Join(h.Root, filepath.FromSlash(path.Clean("/"+hostPath)))
}

// maxConfigFile bounds a configuration file Scan reads: the largest real
// one is a few KiB, so a bigger file is not configuration (a sparse or
// device file planted in an unpacked sosreport) and is refused unread.
const maxConfigFile = 4 << 20

// maxAbsLinks bounds the absolute links followed to read one file.
const maxAbsLinks = 8

// readDir lists the directory at the host path in fsys, in name order; a
// missing one is empty.
func readDir(fsys fs.FS, hostPath string) ([]fs.DirEntry, error) {
	ents, err := fs.ReadDir(fsys, fsName(hostPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return ents, err
}

// fsName is a host path (/etc/...) as an fs.FS name (etc/...).
func fsName(hostPath string) string {
	n := strings.TrimPrefix(path.Clean("/"+hostPath), "/")
	if n == "" {
		return "."
	}
	return n
}

// readFile reads the regular file at the host path in fsys, of at most
// maxConfigFile bytes. A link to /dev/null reads as empty, and an absolute
// link is followed under the root (up to maxAbsLinks of them), since the
// root is the host's /. The root's fs.FS (rootfs) opens without blocking,
// so a FIFO is refused rather than waited on, and what was opened is
// checked, so a device or a directory is refused too.
func readFile(fsys fs.FS, hostPath string) ([]byte, error) {
	name := fsName(hostPath)
	var f fs.File
	for hops := 0; ; hops++ {
		var err error
		f, err = fsys.Open(name)
		if err == nil {
			break
		}
		t, lerr := fs.ReadLink(fsys, name)
		if lerr != nil || !path.IsAbs(t) || hops == maxAbsLinks {
			return nil, err
		}
		// A link to /dev/null is how systemd masks a file of the same
		// name further down its search path: it reads as empty.
		if t == os.DevNull {
			return []byte{}, nil
		}
		// An absolute link names a path on the host, whose / is the
		// root, as in a chroot.
		name = fsName(t)
	}
	defer f.Close()
	return boundedio.ReadRegular(f, maxConfigFile)
}

// Scan reads every configuration file remedy knows under root. Any file
// that does not parse makes Scan fail, with every such file named, because
// a plan made from a partly read host could be wrong. So does a file that
// links outside the root, is not a regular file or is implausibly large:
// nothing outside the root is read, and no file is read whole unbounded.
func Scan(root string) (*Host, error) {
	h, err := scan(root)
	if err != nil {
		return nil, fmt.Errorf("cannot read the host's network configuration, nothing was changed: %w", err)
	}
	return h, nil
}

// IsSosreport tells a root that is a sosreport (it has sos_commands/): a
// copy of a host, never to be changed.
func (h *Host) IsSosreport() bool {
	if h.readOnly {
		return true
	}
	d, err := rootfs.Open(h.Root)
	if err != nil {
		return false
	}
	defer d.Close()
	fi, err := fs.Stat(d.FS(), "sos_commands")
	return err == nil && fi.IsDir()
}

// ScanFS reads the configuration of a host whose root is fsys (a
// sosreport, unpacked or read from its archive); label names it in the plan
// and in errors. A host read this way is read-only: Apply refuses it.
func ScanFS(fsys fs.FS, label string) (*Host, error) {
	h, err := scanFS(fsys, label)
	if err != nil {
		return nil, fmt.Errorf("cannot read the host's network configuration in %s: %w", label, err)
	}
	h.readOnly = true
	return h, nil
}

// scan is Scan with its errors unprefixed, for callers that change nothing.
func scan(root string) (*Host, error) {
	d, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if fi, err := fs.Stat(d.FS(), "."); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root %s is not a directory", d.Path())
	}
	return scanFS(d.FS(), d.Path())
}

// scanFS reads the configuration in fsys, the root abs; it reads through
// fsys alone, so the root could be an archive.
func scanFS(fsys fs.FS, abs string) (*Host, error) {
	h := &Host{Root: abs, ethtool: map[string]*netconf.Offloads{}, macs: map[string]string{}, drivers: map[string]string{}}
	var errs []error
	read := func(dir string, keep func(name string) bool, parse func(hostPath string, data []byte) error) {
		ents, err := readDir(fsys, "/"+dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading /%s: %w", dir, err))
			return
		}
		for _, e := range ents {
			if e.IsDir() || !keep(e.Name()) {
				continue
			}
			hp := "/" + dir + "/" + e.Name()
			data, err := readFile(fsys, hp)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading %s: %w", hp, err))
				continue
			}
			if err := parse(hp, data); err != nil {
				errs = append(errs, err)
			}
		}
	}
	read(ifcfgDir, func(n string) bool { return strings.HasPrefix(n, "ifcfg-") && !netconf.IgnoredIfcfg(n) }, func(p string, d []byte) error {
		f, err := netconf.ParseIfcfg(p, d)
		if err == nil {
			h.ifcfgs = append(h.ifcfgs, f)
		}
		return err
	})
	read(nmDir, func(n string) bool { return strings.HasSuffix(n, ".nmconnection") }, func(p string, d []byte) error {
		f, err := netconf.ParseKeyfile(p, d)
		if err == nil {
			h.keyfiles = append(h.keyfiles, f)
		}
		return err
	})
	read(netplanDir, func(n string) bool { return strings.HasSuffix(n, ".yaml") }, func(p string, d []byte) error {
		f, err := netconf.ParseNetplan(p, d)
		if err == nil {
			h.netplans = append(h.netplans, f)
		}
		return err
	})
	read(bondingDir, func(string) bool { return true }, func(p string, d []byte) error {
		b, err := netconf.ParseBonding(path.Base(p), p, d)
		if err == nil {
			h.bonds = append(h.bonds, b)
		}
		return err
	})
	read(sosEthtoolK, func(n string) bool { return strings.HasPrefix(n, "ethtool_-k_") }, func(p string, d []byte) error {
		offs, err := netconf.ParseEthtoolK(p, d)
		for _, o := range offs {
			h.ethtool[o.Device] = o
		}
		return err
	})
	// .link files: a name in an earlier directory hides the same name in
	// a later one; the survivors are taken in name order.
	seen := map[string]bool{}
	var links []*netconf.LinkFile
	for _, dir := range linkDirs {
		read(dir, func(n string) bool { return strings.HasSuffix(n, ".link") && !seen[n] }, func(p string, d []byte) error {
			seen[path.Base(p)] = true
			f, err := netconf.ParseLink(p, d)
			if err == nil {
				links = append(links, f)
			}
			return err
		})
	}
	sort.SliceStable(links, func(i, j int) bool { return path.Base(links[i].Path()) < path.Base(links[j].Path()) })
	h.links = links
	if fi, err := fs.Stat(fsys, linkDirs[0]); err == nil && fi.IsDir() {
		h.networkdDir = true
	}
	// sysfs and the release file are optional: a missing one is no error
	// (nor is a path through a file, such as sys/class/net/bonding_masters
	// taken for an interface), but one that is there is read as carefully
	// as the rest.
	optional := func(hp string) string {
		b, err := readFile(fsys, hp)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				errs = append(errs, fmt.Errorf("reading %s: %w", hp, err))
			}
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if ents, err := readDir(fsys, "/"+sysNetDir); err == nil {
		for _, e := range ents {
			dev := e.Name()
			if err := netconf.CheckIfaceName(dev); err != nil {
				errs = append(errs, fmt.Errorf("reading /%s/%s: %w", sysNetDir, dev, err))
				continue
			}
			if a := optional("/" + sysNetDir + "/" + dev + "/address"); a != "" {
				h.macs[dev] = strings.ToLower(a)
			}
			if t, err := fs.ReadLink(fsys, path.Join(sysNetDir, dev, "device", "driver")); err == nil {
				h.drivers[dev] = path.Base(filepath.ToSlash(t))
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("reading /%s: %w", sysNetDir, err))
	}
	h.release = optional("/etc/redhat-release")
	for _, f := range h.ifcfgs {
		if hw := strings.ToLower(f.Value("HWADDR")); hw != "" && h.macs[f.Device()] == "" {
			h.macs[f.Device()] = hw
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return h, nil
}

// bondSlaves returns each bond's slaves as every source names them (ifcfg
// MASTER/SLAVE, keyfile ports, netplan bonds, /proc/net/bonding).
func (h *Host) bondSlaves() map[string][]string {
	out := map[string][]string{}
	add := func(bond, dev string) {
		for _, d := range out[bond] {
			if d == dev {
				return
			}
		}
		out[bond] = append(out[bond], dev)
	}
	for _, f := range h.ifcfgs {
		if m := f.Master(); m != "" {
			add(m, f.Device())
		}
	}
	for _, k := range h.keyfiles {
		m := k.Master()
		if m == "" {
			continue
		}
		bond := m
		for _, b := range h.keyfiles {
			if b.IsBond() && (b.Device() == m || b.ID() == m || b.Value("connection", "uuid") == m) && b.Device() != "" {
				bond = b.Device()
			}
		}
		dev := k.Device()
		if dev == "" {
			dev = h.devByMAC(k.MAC())
		}
		if dev != "" {
			add(bond, dev)
		}
	}
	for _, np := range h.netplans {
		for bond, ids := range np.Bonds {
			for _, id := range ids {
				name := id
				for _, e := range np.Ethernets {
					if e.ID == id && e.Name != "" {
						name = e.Name
					}
				}
				add(bond, name)
			}
		}
	}
	for _, b := range h.bonds {
		for _, s := range b.Slaves {
			add(b.Name, s)
		}
	}
	for _, s := range out {
		sort.Strings(s)
	}
	return out
}

func (h *Host) devByMAC(mac string) string {
	if mac == "" {
		return ""
	}
	for d, m := range h.macs {
		if m == mac {
			return d
		}
	}
	return ""
}

// physical lists the interfaces the configuration describes as Ethernet
// NICs (not bonds, bridges, VLANs or loopback).
func (h *Host) physical() []string {
	set := map[string]bool{}
	for _, f := range h.ifcfgs {
		t := strings.ToLower(f.Value("TYPE"))
		if (t == "" || t == "ethernet") && !f.IsBondMaster() && f.Device() != "lo" && f.Value("VLAN") != "yes" && !strings.Contains(f.Device(), ".") && !strings.Contains(f.Device(), ":") {
			set[f.Device()] = true
		}
	}
	for _, k := range h.keyfiles {
		if t := k.Value("connection", "type"); (t == "ethernet" || t == "802-3-ethernet") && k.Device() != "" {
			set[k.Device()] = true
		}
	}
	for _, np := range h.netplans {
		for _, e := range np.Ethernets {
			if e.Name != "" {
				set[e.Name] = true
			}
		}
	}
	for d := range h.drivers {
		if d != "lo" {
			set[d] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
