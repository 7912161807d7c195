package hostfacts

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureTop opens the sosreport under testdata/hosts/NAME: its one top
// folder, as the caller of Read sees an unpacked sosreport.
func fixtureTop(t *testing.T, name string) (fs.FS, string) {
	t.Helper()
	tops, err := filepath.Glob(filepath.Join("testdata", "hosts", name, "sosreport-*"))
	if err != nil || len(tops) != 1 {
		t.Fatalf("%s: want one sosreport-* folder, got %v (%v)", name, tops, err)
	}
	return os.DirFS(tops[0]), filepath.Base(tops[0])
}

type wantKernel struct {
	pkg, version, release string
	running               bool
}

type wantOffload struct {
	dev  string
	on   []string // short names that must be on
	off  []string // short names that must be off
	fixd []string // short names that must be [fixed]
}

type wantLog struct {
	suffix string
	kind   LogKind
	year   int
	from   YearSource
}

func TestReadFixtures(t *testing.T) {
	tests := []struct {
		name      string
		host      string
		release   string
		arch      string
		distroID  string
		versionID string
		redhat    string
		date      string // 2006-01-02
		kernels   []wantKernel
		scheme    Scheme
		modules   []string // some that must be loaded
		noModules bool
		offloads  []wantOffload
		bonds     map[string][]string
		logs      []wantLog
	}{
		{
			name: "debian12-sos", host: "vm", release: "6.18.44-fc-v1272", arch: "x86_64",
			distroID: "debian", versionID: "12", date: "2026-12-05",
			noModules: true,
			offloads: []wantOffload{
				{dev: "eth0", on: []string{"tx", "tso", "gso", "gro"}, off: []string{"lro"}, fixd: []string{"rx", "lro"}},
				{dev: "ifb0"}, {dev: "ifb1"}, {dev: "lo"},
			},
			logs: []wantLog{{"sos_commands/kernel/dmesg", LogDmesg, 2026, YearFromReport}},
		},
		{
			name: "rhel6", host: "hosta", release: "2.6.32-504.23.4.el6.x86_64", arch: "x86_64",
			distroID: "rhel", versionID: "6.6", redhat: "Red Hat Enterprise Linux Server release 6.6 (Santiago)", date: "2015-09-23",
			scheme: SchemeRPM,
			kernels: []wantKernel{
				{"kernel", "2.6.32-431.el6", "2.6.32-431.el6.x86_64", false},
				{"kernel", "2.6.32-504.23.4.el6", "2.6.32-504.23.4.el6.x86_64", true},
				{"kernel", "2.6.32-573.3.1.el6", "2.6.32-573.3.1.el6.x86_64", false},
			},
			modules: []string{"bonding", "ixgbe", "8021q"},
			offloads: []wantOffload{
				{dev: "eth0", on: []string{"rx", "tx", "tso", "gso", "gro", "lro"}},
				{dev: "eth1", on: []string{"rx", "tx", "tso", "gso", "gro", "lro"}},
				{dev: "lo", fixd: []string{"rx", "lro"}},
			},
			bonds: map[string][]string{"bond0": {"eth0", "eth1"}},
			logs: []wantLog{
				{"sos_commands/kernel/dmesg", LogDmesg, 2015, YearFromReport},
				{"var/crash/127.0.0.1-2015-09-23-03:12:44/vmcore-dmesg.txt", LogVmcoreDmesg, 2015, YearFromDirName},
				{"var/log/messages", LogSyslog, 2015, YearFromReport},
				{"var/log/messages-20150920", LogSyslog, 2015, YearFromName},
			},
		},
		{
			name: "rhel8", host: "web-r8a", release: "4.18.0-372.26.1.el8_6.x86_64", arch: "x86_64",
			distroID: "rhel", versionID: "8.6", redhat: "Red Hat Enterprise Linux release 8.6 (Ootpa)", date: "2022-10-03",
			scheme: SchemeRPM,
			kernels: []wantKernel{
				{"kernel-core", "4.18.0-348.el8", "4.18.0-348.el8.x86_64", false},
				{"kernel-core", "4.18.0-372.26.1.el8_6", "4.18.0-372.26.1.el8_6.x86_64", true},
				{"kernel-core", "4.18.0-425.3.1.el8", "4.18.0-425.3.1.el8.x86_64", false},
			},
			modules: []string{"vmxnet3", "xfs"},
			offloads: []wantOffload{
				{dev: "ens192", on: []string{"rx", "tx", "tso", "gso", "gro", "lro"}},
				{dev: "ens224", on: []string{"rx", "tx", "tso"}, off: []string{"gro", "lro"}},
				{dev: "lo"},
			},
			logs: []wantLog{
				{"sos_commands/logs/journalctl_--no-pager_--catalog_--boot", LogJournal, 2022, YearFromReport},
				{"sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1", LogJournal, 2022, YearFromReport},
			},
		},
		{
			name: "rhel9", host: "db-r9b", release: "5.14.0-284.11.1.el9_2.x86_64", arch: "x86_64",
			distroID: "rhel", versionID: "9.2", redhat: "Red Hat Enterprise Linux release 9.2 (Plow)", date: "2023-06-21",
			scheme: SchemeRPM,
			kernels: []wantKernel{
				{"kernel-core", "5.14.0-162.6.1.el9_1", "5.14.0-162.6.1.el9_1.x86_64", false},
				{"kernel-core", "5.14.0-284.11.1.el9_2", "5.14.0-284.11.1.el9_2.x86_64", true},
				{"kernel-debug-core", "5.14.0-284.11.1.el9_2", "5.14.0-284.11.1.el9_2.x86_64+debug", false},
			},
			modules: []string{"bonding", "ice"},
			offloads: []wantOffload{
				{dev: "bond0", off: []string{"lro"}},
				{dev: "ens1f0", on: []string{"rx", "tx", "tso", "gso", "gro"}, off: []string{"lro"}},
				{dev: "ens1f1", on: []string{"gro"}, off: []string{"lro"}},
			},
			bonds: map[string][]string{"bond0": {"ens1f0", "ens1f1"}},
			logs: []wantLog{
				{"sos_commands/logs/journalctl_--no-pager_--catalog_--boot", LogJournal, 2023, YearFromReport},
				{"sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1", LogJournal, 2023, YearFromReport},
			},
		},
		{
			name: "ubuntu2204", host: "gpu-node03", release: "5.15.0-91-generic", arch: "x86_64",
			distroID: "ubuntu", versionID: "22.04", date: "2024-02-12",
			scheme: SchemeDeb,
			kernels: []wantKernel{
				{"linux-image-5.15.0-88-generic", "5.15.0-88.98", "5.15.0-88-generic", false},
				{"linux-image-5.15.0-91-generic", "5.15.0-91.101", "5.15.0-91-generic", true},
				{"linux-image-5.15.0-94-generic", "5.15.0-94.104", "5.15.0-94-generic", false},
			},
			modules: []string{"amdgpu", "mlx5_core"},
			offloads: []wantOffload{
				{dev: "eno1", on: []string{"rx", "gro"}, off: []string{"lro"}},
				{dev: "enp65s0f0np0", on: []string{"tso"}, off: []string{"lro"}},
			},
			logs: []wantLog{
				{"var/crash/202402120914/dmesg.202402120914", LogVmcoreDmesg, 2024, YearFromDirName},
				{"var/log/kern.log", LogSyslog, 2024, YearFromReport},
				{"var/log/kern.log.1", LogSyslog, 2024, YearFromReport},
				{"var/log/syslog", LogSyslog, 2024, YearFromReport},
				{"var/log/syslog.2.gz", LogSyslog, 2024, YearFromReport},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, top := fixtureTop(t, tt.name)
			f, err := ReadWith(fsys, Options{TopName: top})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range f.Problems {
				t.Errorf("problem: %v", p)
			}
			if f.Hostname != tt.host {
				t.Errorf("Hostname = %q, want %q", f.Hostname, tt.host)
			}
			if f.Uname.Release != tt.release || f.Uname.Arch != tt.arch {
				t.Errorf("Uname = %+v, want release %q arch %q", f.Uname, tt.release, tt.arch)
			}
			if f.Uname.Source != "sos_commands/kernel/uname_-a" || !strings.Contains(f.Uname.Line, tt.release) {
				t.Errorf("Uname read from %q: %q", f.Uname.Source, f.Uname.Line)
			}
			if f.Distro.ID != tt.distroID || f.Distro.VersionID != tt.versionID || f.Distro.RedHatRelease != tt.redhat {
				t.Errorf("Distro = %+v, want %s %s %q", f.Distro, tt.distroID, tt.versionID, tt.redhat)
			}
			if got := f.Date.Format("2006-01-02"); got != tt.date {
				t.Errorf("Date = %s, want %s", got, tt.date)
			}
			checkKernels(t, f, tt.kernels, tt.scheme)
			if tt.noModules != (len(f.Modules) == 0) {
				t.Errorf("%d modules, want none: %v", len(f.Modules), tt.noModules)
			}
			for _, m := range tt.modules {
				if !hasModule(f.Modules, m) {
					t.Errorf("module %s not found", m)
				}
			}
			checkOffloads(t, f, tt.offloads)
			if len(f.Bonds) != len(tt.bonds) {
				t.Errorf("%d bonds, want %d", len(f.Bonds), len(tt.bonds))
			}
			for _, b := range f.Bonds {
				if got, want := strings.Join(b.Slaves, ","), strings.Join(tt.bonds[b.Name], ","); got != want {
					t.Errorf("bond %s slaves %s, want %s", b.Name, got, want)
				}
			}
			checkLogs(t, f.Logs, tt.logs)
		})
	}
}

func checkKernels(t *testing.T, f *Facts, want []wantKernel, scheme Scheme) {
	t.Helper()
	if len(f.Kernels) != len(want) {
		t.Fatalf("kernels %+v, want %d", f.Kernels, len(want))
	}
	for i, w := range want {
		k := f.Kernels[i]
		if k.Package != w.pkg || k.Version != w.version || k.Release != w.release || k.Running != w.running || k.Scheme != scheme {
			t.Errorf("kernel %d = %+v, want %+v scheme %s", i, k, w, scheme)
		}
	}
	if len(want) > 0 {
		if k, ok := f.RunningKernel(); !ok || k.Release != f.Uname.Release {
			t.Errorf("RunningKernel = %+v, %v", k, ok)
		}
	}
}

func hasModule(ms []Module, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

func checkOffloads(t *testing.T, f *Facts, want []wantOffload) {
	t.Helper()
	if len(f.Offloads) != len(want) {
		var devs []string
		for _, o := range f.Offloads {
			devs = append(devs, o.Device)
		}
		t.Fatalf("offloads of %v, want %d", devs, len(want))
	}
	for i, w := range want {
		o := f.Offloads[i]
		if o.Device != w.dev {
			t.Errorf("offloads[%d] is %s, want %s", i, o.Device, w.dev)
			continue
		}
		for _, n := range w.on {
			if st, ok := o.State(n); !ok || !st.On {
				t.Errorf("%s %s: %+v %v, want on", o.Device, n, st, ok)
			}
		}
		for _, n := range w.off {
			if st, ok := o.State(n); !ok || st.On {
				t.Errorf("%s %s: %+v %v, want off", o.Device, n, st, ok)
			}
		}
		for _, n := range w.fixd {
			if st, ok := o.State(n); !ok || !st.Fixed {
				t.Errorf("%s %s: %+v %v, want [fixed]", o.Device, n, st, ok)
			}
		}
	}
}

func checkLogs(t *testing.T, got []Log, want []wantLog) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("logs %+v, want %d", got, len(want))
	}
	for i, w := range want {
		l := got[i]
		if l.Name != w.suffix || l.Kind != w.kind || l.Year != w.year || l.YearFrom != w.from {
			t.Errorf("log %d = %+v (%s, %s), want %+v", i, l, l.Kind, l.YearFrom, w)
		}
		if l.Compressed != strings.HasSuffix(l.Name, ".gz") {
			t.Errorf("%s: Compressed = %v", l.Name, l.Compressed)
		}
	}
}

// The founding case's logs hold what the integrator's tests look for: the
// skb_checksum oops in messages and vmcore-dmesg, a different oops in the
// rotated file, with the host's name on syslog lines.
func TestRHEL6Crashes(t *testing.T) {
	fsys, top := fixtureTop(t, "rhel6")
	f, err := ReadWith(fsys, Options{TopName: top})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"var/log/messages": {"Sep 23 03:12:40 hosta kernel: [191691.047083] kernel BUG at net/core/skbuff.c:1886!", "skb_checksum+0x2d5/0x2f0", "bond_start_xmit"},
		"var/crash/127.0.0.1-2015-09-23-03:12:44/vmcore-dmesg.txt": {"<2>[191691.047083] kernel BUG at net/core/skbuff.c:1886!", "[<ffffffff8145d60a>] skb_checksum_help+0x8a/0x150"},
		"var/log/messages-20150920":                                {"Sep 14 02:14:30 hosta kernel:", "kernel BUG at net/core/skbuff.c:127!", "skb_over_panic+0x5d/0x70"},
	}
	for _, l := range f.Logs {
		w, ok := want[l.Name]
		if !ok {
			continue
		}
		delete(want, l.Name)
		data, err := fs.ReadFile(fsys, l.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range w {
			if !strings.Contains(string(data), s) {
				t.Errorf("%s lacks %q", l.Name, s)
			}
		}
		if l.Name == "var/log/messages-20150920" && strings.Contains(string(data), "skbuff.c:1886") {
			t.Errorf("%s holds the founding crash, want only the older one", l.Name)
		}
	}
	for n := range want {
		t.Errorf("%s not listed in Logs", n)
	}
	// ETHTOOL_OPTS already holding a ring size, for remedy's append.
	data, err := fs.ReadFile(fsys, "etc/sysconfig/network-scripts/ifcfg-eth0")
	if err != nil || !strings.Contains(string(data), `ETHTOOL_OPTS="-G eth0 rx 4096"`) {
		t.Errorf("ifcfg-eth0: %v %q", err, data)
	}
}

// The Debian fixture is what sos wrote: its layout must hold the paths
// the reader relies on, not a tree shaped after the reader.
func TestDebianFixtureIsSosLayout(t *testing.T) {
	fsys, top := fixtureTop(t, "debian12-sos")
	if !strings.HasPrefix(top, "sosreport-vm-2026-12-05-") {
		t.Errorf("top folder %s", top)
	}
	for _, n := range []string{"version.txt", "sos_logs/sos.log", "sos_reports/manifest.json", "sos_commands/dpkg/dpkg_-l", "installed-debs"} {
		if _, err := fs.Stat(fsys, n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := fs.Stat(fsys, "installed-rpms"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("installed-rpms: %v, want none", err)
	}
	v, err := fs.ReadFile(fsys, "version.txt")
	if err != nil || !strings.Contains(string(v), "sosreport: 4.0") {
		t.Errorf("version.txt: %q %v", v, err)
	}
	// Without sos_commands/date/date the top folder's name dates it.
	f, err := ReadWith(withoutNames(fsys, "sos_commands/date/date", "date"), Options{TopName: top})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Date.Format("2006-01-02"); got != "2026-12-05" {
		t.Errorf("date from %s = %s", top, got)
	}
	// A caller that trusts modification times gets them for logs
	// whose names hold no date.
	mod := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	f, err = ReadWith(fsys, Options{ModTime: func(string) time.Time { return mod }})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Logs) != 1 || f.Logs[0].Year != 2021 || f.Logs[0].YearFrom != YearFromModTime {
		t.Errorf("logs with ModTime: %+v", f.Logs)
	}
}

// withoutNames hides names from fsys, as if sos had not collected them.
func withoutNames(fsys fs.FS, names ...string) fs.FS {
	return hidingFS{fsys, names}
}

type hidingFS struct {
	fs.FS
	hide []string
}

func (h hidingFS) Open(name string) (fs.File, error) {
	for _, n := range h.hide {
		if n == name {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	return h.FS.Open(name)
}
