package hostfacts

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/internal/netconf"
)

// Options tune Read.
type Options struct {
	// ModTime returns a file's modification time (the zero time when
	// unknown), for the year hint of logs whose name has no date. Nil
	// means modification times are not trusted: a tree checked out of
	// git or copied without -p has the copy's times, not the host's.
	ModTime func(name string) time.Time
	// TopName is the sosreport's top folder (or archive) name, whose
	// date is the report's when sos_commands/date/date is missing.
	TopName string
}

// Bounds on what is read: the largest real file of each kind is far
// smaller (a dpkg status file of a desktop is a few MiB).
const (
	maxSmallFile   = 1 << 20
	maxPackageList = 64 << 20
)

// Places Read looks, relative to the root, in order of preference.
var (
	unamePaths    = []string{"sos_commands/kernel/uname_-a", "sos_commands/general/uname_-a", "uname"}
	hostnamePaths = []string{"sos_commands/host/hostname", "sos_commands/general/hostname", "hostname", "etc/hostname"}
	datePaths     = []string{"sos_commands/date/date", "sos_commands/general/date", "date"}
	osRelPaths    = []string{"etc/os-release", "usr/lib/os-release"}
	lsmodPaths    = []string{"sos_commands/kernel/lsmod", "lsmod"}
	dpkgLPaths    = []string{"sos_commands/dpkg/dpkg_-l", "installed-debs"}
)

const (
	sosRPMDir        = "sos_commands/rpm"
	sosNetworkingDir = "sos_commands/networking"
	bondingDir       = "proc/net/bonding"
	dpkgStatus       = "var/lib/dpkg/status"
)

// Read reads the facts of the host whose sosreport or root directory fsys
// holds, without trusting file modification times (see Options).
func Read(fsys fs.FS) (*Facts, error) {
	return ReadWith(fsys, Options{})
}

// ReadWith is Read with options. It fails only when fsys's root cannot
// be listed; what it cannot read or parse below goes to Facts.Problems.
func ReadWith(fsys fs.FS, opt Options) (*Facts, error) {
	if _, err := fs.ReadDir(fsys, "."); err != nil {
		return nil, fmt.Errorf("reading the host's files: %w", err)
	}
	r := &reader{fsys: fsys, opt: opt, f: &Facts{}}
	r.readUname()
	r.readHostname()
	r.readDistro()
	r.readDate()
	r.readKernels()
	r.readModules()
	r.readNetwork()
	r.readLogs()
	return r.f, nil
}

type reader struct {
	fsys fs.FS
	opt  Options
	f    *Facts
}

func (r *reader) problem(err error) { r.f.Problems = append(r.f.Problems, err) }

// read reads the regular file name, bounded; ok is false when it does not
// exist, and any other failure is recorded as a problem.
func (r *reader) read(name string, max int64) ([]byte, bool) {
	f, err := r.fsys.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.problem(fmt.Errorf("opening %s: %w", name, err))
		}
		return nil, false
	}
	defer f.Close()
	data, err := boundedio.ReadRegular(f, max)
	if err != nil {
		r.problem(fmt.Errorf("reading %s: %w", name, err))
		return nil, false
	}
	return data, true
}

// readDir lists the directory name; a missing one is empty.
func (r *reader) readDir(name string) []fs.DirEntry {
	ents, err := fs.ReadDir(r.fsys, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.problem(fmt.Errorf("listing %s: %w", name, err))
	}
	return ents
}

// first parses the first of names that exists and parses; a file that
// exists but does not parse is a problem and the next name is tried.
func first[T any](r *reader, names []string, parse func(string, []byte) (T, error)) (T, bool) {
	var zero T
	for _, n := range names {
		data, ok := r.read(n, maxSmallFile)
		if !ok {
			continue
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			continue // sos leaves an empty file when a command printed nothing
		}
		v, err := parse(n, data)
		if err != nil {
			r.problem(err)
			continue
		}
		return v, true
	}
	return zero, false
}

func (r *reader) readUname() {
	if u, ok := first(r, unamePaths, parseUname); ok {
		r.f.Uname = u
		return
	}
	if u, ok := first(r, []string{"proc/sys/kernel/osrelease"}, parseOsrelease); ok {
		r.f.Uname = u
		return
	}
	if u, ok := first(r, []string{"proc/version"}, parseProcVersion); ok {
		r.f.Uname = u
	}
}

func (r *reader) readHostname() {
	if h, ok := first(r, hostnamePaths, parseHostname); ok {
		r.f.Hostname = h
		return
	}
	// RHEL 6 keeps the name in /etc/sysconfig/network.
	if h, ok := first(r, []string{"etc/sysconfig/network"}, parseSysconfigNetwork); ok {
		r.f.Hostname = h
		return
	}
	if r.f.Uname.Nodename != "" && r.f.Uname.Nodename != "(none)" {
		r.f.Hostname = r.f.Uname.Nodename
		return
	}
	if h, ok := first(r, []string{"proc/sys/kernel/hostname"}, parseHostname); ok {
		r.f.Hostname = h
	}
}

// parseSysconfigNetwork takes HOSTNAME from RHEL 6's
// /etc/sysconfig/network, an ifcfg-style shell fragment.
func parseSysconfigNetwork(name string, data []byte) (string, error) {
	f, err := netconf.ParseIfcfg(name, data)
	if err != nil {
		return "", err
	}
	v, ok := f.Get("HOSTNAME")
	if !ok || v.Value == "" {
		return "", perr(name, 0, "no HOSTNAME")
	}
	return parseHostname(name, []byte(v.Value))
}

func (r *reader) readDistro() {
	d, _ := first(r, osRelPaths, parseOSRelease)
	if rh, ok := first(r, []string{"etc/redhat-release"}, parseRedHatRelease); ok {
		d.RedHatRelease = rh.RedHatRelease
		if d.ID == "" {
			d.ID = rh.ID
		}
		if d.VersionID == "" {
			d.VersionID = rh.VersionID
		}
		if d.Name == "" {
			d.Name = rh.Name
		}
	}
	r.f.Distro = d
}

func (r *reader) readDate() {
	if t, ok := first(r, datePaths, parseDate); ok {
		r.f.Date = t
		return
	}
	if t, ok := topNameDate(r.opt.TopName); ok {
		r.f.Date = t
	}
}

// rpmListFile reports whether a file in sos_commands/rpm is a package
// list: sos 2's rpm_-qa_--qf_..., sos 3's and 4's sh_-c_rpm_..._-qa_...
// and package-data; not rpm -Va, --showrc or lsof.
func rpmListFile(base string) bool {
	if base == "package-data" {
		return true
	}
	return (strings.HasPrefix(base, "rpm_-qa") || strings.HasPrefix(base, "sh_-c_rpm")) && strings.Contains(base, "-qa")
}

func (r *reader) readKernels() {
	var ks []Kernel
	rpmNames := []string{}
	for _, e := range r.readDir(sosRPMDir) {
		if !e.IsDir() && rpmListFile(e.Name()) {
			rpmNames = append(rpmNames, path.Join(sosRPMDir, e.Name()))
		}
	}
	// Sorted names put package-data after the NVRA list; either does.
	sort.Strings(rpmNames)
	rpmNames = append(rpmNames, "installed-rpms")
	for _, n := range rpmNames {
		data, ok := r.read(n, maxPackageList)
		if !ok {
			continue
		}
		got, err := parseRPMList(n, data, r.f.Uname.Arch)
		if err != nil {
			r.problem(err)
			continue
		}
		ks = got
		break
	}
	if ks == nil {
		if got, ok := first(r, dpkgLPaths, parseDpkgList); ok {
			ks = got
		} else if data, ok := r.read(dpkgStatus, maxPackageList); ok {
			got, err := parseDpkgStatus(dpkgStatus, data)
			if err != nil {
				r.problem(err)
			}
			ks = got
		}
	}
	r.setKernels(ks)
}

// setKernels records ks and marks the running one.
func (r *reader) setKernels(ks []Kernel) {
	for i := range ks {
		ks[i].Running = ks[i].Release != "" && ks[i].Release == r.f.Uname.Release
	}
	r.f.Kernels = ks
}

func (r *reader) readModules() {
	if ms, ok := first(r, lsmodPaths, parseLsmod); ok {
		r.f.Modules = ms
		return
	}
	if ms, ok := first(r, []string{"proc/modules"}, parseProcModules); ok {
		r.f.Modules = ms
	}
}

func (r *reader) readNetwork() {
	seen := map[string]bool{}
	for _, e := range r.readDir(sosNetworkingDir) {
		dev, ok := strings.CutPrefix(e.Name(), "ethtool_-k_")
		if e.IsDir() || !ok || netconf.CheckIfaceName(dev) != nil {
			continue
		}
		n := path.Join(sosNetworkingDir, e.Name())
		data, ok := r.read(n, maxSmallFile)
		if !ok || len(strings.TrimSpace(string(data))) == 0 {
			continue
		}
		offs, err := netconf.ParseEthtoolK(n, data)
		if err != nil {
			r.problem(err)
			continue
		}
		for _, o := range offs {
			if !seen[o.Device] {
				seen[o.Device] = true
				r.f.Offloads = append(r.f.Offloads, o)
			}
		}
	}
	sort.Slice(r.f.Offloads, func(i, j int) bool { return r.f.Offloads[i].Device < r.f.Offloads[j].Device })
	for _, e := range r.readDir(bondingDir) {
		if e.IsDir() {
			continue
		}
		n := path.Join(bondingDir, e.Name())
		data, ok := r.read(n, maxSmallFile)
		if !ok {
			continue
		}
		b, err := netconf.ParseBonding(e.Name(), n, data)
		if err != nil {
			r.problem(err)
			continue
		}
		r.f.Bonds = append(r.f.Bonds, b)
	}
}

func (r *reader) readLogs() {
	var logs []Log
	for _, e := range r.readDir(varLogDir) {
		if e.IsDir() {
			continue
		}
		if l, ok := syslogLog(path.Join(varLogDir, e.Name())); ok {
			logs = append(logs, l)
		}
	}
	for _, e := range r.readDir(sosLogsDir) {
		if e.IsDir() {
			continue
		}
		if l, ok := journalLog(path.Join(sosLogsDir, e.Name())); ok {
			logs = append(logs, l)
		}
	}
	// dmesg, and dmesg -T where a sos version saved that too.
	for _, e := range r.readDir(sosKernelDir) {
		if n := e.Name(); n != "dmesg" && !strings.HasPrefix(n, "dmesg_") {
			continue
		}
		name := path.Join(sosKernelDir, e.Name())
		if fi, err := fs.Stat(r.fsys, name); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			logs = append(logs, Log{Name: name, Kind: LogDmesg})
		}
	}
	for _, d := range r.readDir(varCrash) {
		if !d.IsDir() {
			continue
		}
		dir := path.Join(varCrash, d.Name())
		for _, e := range r.readDir(dir) {
			if e.IsDir() {
				continue
			}
			if l, ok := crashLog(d.Name(), path.Join(dir, e.Name())); ok {
				logs = append(logs, l)
			}
		}
	}
	for i := range logs {
		var mod time.Time
		if r.opt.ModTime != nil && logs[i].YearFrom == YearUnknown {
			mod = r.opt.ModTime(logs[i].Name)
		}
		hintYear(&logs[i], mod, r.f.Date)
	}
	sort.SliceStable(logs, func(i, j int) bool { return logs[i].Name < logs[j].Name })
	r.f.Logs = logs
}
