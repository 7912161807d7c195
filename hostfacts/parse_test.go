package hostfacts

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseUname(t *testing.T) {
	tests := []struct {
		line, release, arch, version, node string
		bad                                bool
	}{
		// sos_commands/kernel/uname_-a of the rhel6 fixture: coreutils 8.4
		// prints machine, processor and platform.
		{line: "Linux hosta 2.6.32-504.23.4.el6.x86_64 #1 SMP Fri May 29 10:16:43 EDT 2015 x86_64 x86_64 x86_64 GNU/Linux",
			release: "2.6.32-504.23.4.el6.x86_64", arch: "x86_64", version: "#1 SMP Fri May 29 10:16:43 EDT 2015", node: "hosta"},
		// This machine's, as sos 4.0 saved it (debian12-sos): coreutils 9
		// leaves out processor and platform when they are "unknown".
		{line: "Linux vm 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 x86_64 GNU/Linux",
			release: "6.18.44-fc-v1272", arch: "x86_64", version: "#1 SMP PREEMPT_DYNAMIC @0", node: "vm"},
		// Debian 12's stock kernel; the version names the package version.
		{line: "Linux deb12 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) x86_64 GNU/Linux",
			release: "6.1.0-13-amd64", arch: "x86_64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", node: "deb12"},
		{line: "Linux arm1 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:29:11 UTC 2023 aarch64 aarch64 aarch64 GNU/Linux",
			release: "5.15.0-91-generic", arch: "aarch64", version: "#101-Ubuntu SMP Tue Nov 14 13:29:11 UTC 2023", node: "arm1"},
		{line: "Linux h 4.18.0-80.el8.x86_64+debug #1 SMP Wed Mar 13 12:02:46 UTC 2019 x86_64 x86_64 x86_64 GNU/Linux",
			release: "4.18.0-80.el8.x86_64+debug", arch: "x86_64", version: "#1 SMP Wed Mar 13 12:02:46 UTC 2019", node: "h"},
		{line: "Linux box 5.10.0 #1 SMP x86_64 unknown unknown GNU/Linux", release: "5.10.0", arch: "x86_64", version: "#1 SMP", node: "box"},
		{line: "uname: command not found", bad: true},
		{line: "Linux host notaversion #1", bad: true},
		{line: "", bad: true},
	}
	for _, tt := range tests {
		u, err := parseUname("uname_-a", []byte(tt.line+"\n"))
		if tt.bad {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "uname_-a" {
				t.Errorf("%q: err %v, want a ParseError naming the file", tt.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if u.Release != tt.release || u.Arch != tt.arch || u.Version != tt.version || u.Nodename != tt.node || u.Line != tt.line {
			t.Errorf("%q: got %+v", tt.line, u)
		}
	}
}

func TestParseProcVersion(t *testing.T) {
	tests := []struct{ line, release, arch string }{
		// RHEL 6.6's /proc/version.
		{"Linux version 2.6.32-504.23.4.el6.x86_64 (mockbuild@x86-028.build.eng.bos.redhat.com) (gcc version 4.4.7 20120313 (Red Hat 4.4.7-11) (GCC) ) #1 SMP Fri May 29 10:16:43 EDT 2015",
			"2.6.32-504.23.4.el6.x86_64", "x86_64"},
		// Debian 12's: the release does not name the architecture.
		{"Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)",
			"6.1.0-13-amd64", ""},
		{"Linux version 3.10.0-957.el7.x86_64.debug (mockbuild@x86-040.build.eng.bos.redhat.com) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-36) (GCC) ) #1 SMP Thu Oct 4 20:48:51 UTC 2018",
			"3.10.0-957.el7.x86_64.debug", "x86_64"},
	}
	for _, tt := range tests {
		u, err := parseProcVersion("proc/version", []byte(tt.line))
		if err != nil || u.Release != tt.release || u.Arch != tt.arch || !strings.HasPrefix(u.Version, "#1 SMP") {
			t.Errorf("%q: %+v %v", tt.line, u, err)
		}
	}
	if data, err := os.ReadFile("/proc/version"); err == nil {
		if u, err := parseProcVersion("/proc/version", data); err != nil || u.Release == "" {
			t.Errorf("this host's /proc/version: %+v %v", u, err)
		}
	}
	if _, err := parseProcVersion("proc/version", []byte("Linux 6.1\n")); err == nil {
		t.Error("a line without \"version\" parsed")
	}
	if _, err := parseOsrelease("osrelease", []byte("6.1.0-13-amd64\n")); err != nil {
		t.Error(err)
	}
}

func TestParseRPMList(t *testing.T) {
	type k struct{ pkg, version, release, arch string }
	tests := []struct {
		name, data, arch string
		want             []k
		bad              bool
	}{
		{
			// sos 2.x/3.x: "%-59s %s" of NVRA and the en_US install date.
			name: "sos3 el7",
			data: "kernel-3.10.0-862.el7.x86_64                                Tue 19 Jun 2018 09:01:22 AM EDT\n" +
				"kernel-3.10.0-957.el7.x86_64                                Mon 21 Jan 2019 02:11:55 PM EST\n" +
				"kernel-debug-3.10.0-957.el7.x86_64                          Mon 21 Jan 2019 02:12:40 PM EST\n" +
				"kernel-devel-3.10.0-957.el7.x86_64                          Mon 21 Jan 2019 02:12:01 PM EST\n" +
				"kernel-headers-3.10.0-957.el7.x86_64                        Mon 21 Jan 2019 02:11:40 PM EST\n" +
				"kernel-tools-libs-3.10.0-957.el7.x86_64                     Mon 21 Jan 2019 02:11:41 PM EST\n" +
				"kernel-uek-4.14.35-1902.300.11.el7uek.x86_64                Fri 10 Apr 2020 11:00:00 AM EDT\n" +
				"gpg-pubkey-f4a80eb5-53a7ff4b                                Tue 19 Jun 2018 09:05:10 AM EDT\n" +
				"python-perf-3.10.0-957.el7.x86_64                           Mon 21 Jan 2019 02:11:45 PM EST\n",
			want: []k{
				{"kernel", "3.10.0-862.el7", "3.10.0-862.el7.x86_64", "x86_64"},
				{"kernel", "3.10.0-957.el7", "3.10.0-957.el7.x86_64", "x86_64"},
				{"kernel-debug", "3.10.0-957.el7", "3.10.0-957.el7.x86_64.debug", "x86_64"},
				{"kernel-uek", "4.14.35-1902.300.11.el7uek", "4.14.35-1902.300.11.el7uek.x86_64", "x86_64"},
			},
		},
		{
			// sos 4 package-data: tab-separated, NVRA first.
			name: "package-data el8",
			data: "kernel-core-4.18.0-80.el8.x86_64\tTue 14 May 2019 10:00:00 AM EDT\t1557842400\tRed Hat, Inc.\tx86-vm-07.build.eng.bos.redhat.com\t(none)\tRSA/SHA256\n" +
				"kernel-4.18.0-80.el8.x86_64\tTue 14 May 2019 10:00:01 AM EDT\t1557842401\tRed Hat, Inc.\tx86-vm-07.build.eng.bos.redhat.com\t(none)\tRSA/SHA256\n" +
				"kernel-rt-core-4.18.0-80.rt9.138.el8.x86_64\tTue 14 May 2019 10:00:02 AM EDT\t1557842402\tRed Hat, Inc.\tx86-vm-07\t(none)\tRSA/SHA256\n" +
				"kernel-debug-core-4.18.0-80.el8.x86_64\tTue 14 May 2019 10:00:03 AM EDT\t1557842403\tRed Hat, Inc.\tx86-vm-07\t(none)\tRSA/SHA256\n" +
				"kernel-modules-4.18.0-80.el8.x86_64\tTue 14 May 2019 10:00:04 AM EDT\t1557842404\tRed Hat, Inc.\tx86-vm-07\t(none)\tRSA/SHA256\n",
			want: []k{
				{"kernel-core", "4.18.0-80.el8", "4.18.0-80.el8.x86_64", "x86_64"},
				{"kernel-debug-core", "4.18.0-80.el8", "4.18.0-80.el8.x86_64+debug", "x86_64"},
				{"kernel-rt-core", "4.18.0-80.rt9.138.el8", "4.18.0-80.rt9.138.el8.x86_64", "x86_64"},
			},
		},
		{
			// rpm -qa without an architecture (rpm's default query
			// format): the running kernel's is borrowed.
			name: "no arch", arch: "x86_64",
			data: "kernel-2.6.18-398.el5\nkernel-headers-2.6.18-398.el5\nbash-3.2-33.el5\n",
			want: []k{{"kernel", "2.6.18-398.el5", "2.6.18-398.el5.x86_64", ""}},
		},
		{
			name: "no arch, none to borrow",
			data: "kernel-2.6.18-398.el5\n",
			want: []k{{"kernel", "2.6.18-398.el5", "", ""}},
		},
		{name: "not a list", data: "Cannot open Packages index\nerror: cannot open Packages database in /var/lib/rpm\nfoo\nbar\n", bad: true},
		{name: "empty", data: "\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := parseRPMList("installed-rpms", []byte(tt.data), tt.arch)
			if tt.bad {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.File != "installed-rpms" {
					t.Fatalf("err %v, want a ParseError naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != len(tt.want) {
				t.Fatalf("got %+v, want %d", ks, len(tt.want))
			}
			for i, w := range tt.want {
				g := ks[i]
				if g.Package != w.pkg || g.Version != w.version || g.Release != w.release || g.Arch != w.arch || g.Scheme != SchemeRPM || g.Source != "installed-rpms" {
					t.Errorf("%d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// dpkgHeader is dpkg 1.21's (Debian 12) header, as in the debian12-sos
// fixture.
const dpkgHeader = `Desired=Unknown/Install/Remove/Purge/Hold
| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend
|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)
||/ Name                                      Version                         Architecture Description
+++-=========================================-===============================-============-================================================================================
`

func TestParseDpkgList(t *testing.T) {
	type k struct{ pkg, version, release, arch string }
	tests := []struct {
		name, data string
		want       []k
		bad        bool
	}{
		{
			name: "debian 12",
			data: dpkgHeader +
				"ii  adduser                                   3.134                           all          add and remove users and groups\n" +
				"ii  linux-image-6.1.0-12-amd64                6.1.52-1                        amd64        Linux 6.1 for 64-bit PCs (signed)\n" +
				"ii  linux-image-6.1.0-13-amd64                6.1.55-1                        amd64        Linux 6.1 for 64-bit PCs (signed)\n" +
				"ii  linux-image-6.1.0-13-amd64-dbg            6.1.55-1                        amd64        Debug symbols for linux-image-6.1.0-13-amd64\n" +
				"ii  linux-image-6.1.0-13-cloud-amd64-unsigned 6.1.55-1                        amd64        Linux 6.1 for x86-64 cloud\n" +
				"ii  linux-image-6.1.0-0.deb11.13-amd64        6.1.55-1~deb11u1                amd64        Linux 6.1 for 64-bit PCs (signed)\n" +
				"ii  linux-image-amd64                         6.1.55-1                        amd64        Linux for 64-bit PCs (meta-package)\n" +
				"rc  linux-image-5.10.0-26-amd64               5.10.197-1                      amd64        Linux 5.10 for 64-bit PCs (signed)\n" +
				"ii  linux-headers-6.1.0-13-amd64              6.1.55-1                        amd64        Header files for Linux 6.1.0-13-amd64\n",
			want: []k{
				{"linux-image-6.1.0-12-amd64", "6.1.52-1", "6.1.0-12-amd64", "amd64"},
				{"linux-image-6.1.0-0.deb11.13-amd64", "6.1.55-1~deb11u1", "6.1.0-0.deb11.13-amd64", "amd64"},
				{"linux-image-6.1.0-13-amd64", "6.1.55-1", "6.1.0-13-amd64", "amd64"},
				{"linux-image-6.1.0-13-cloud-amd64-unsigned", "6.1.55-1", "6.1.0-13-cloud-amd64", "amd64"},
			},
		},
		{
			// dpkg 1.15 (Debian 6) has no Architecture column.
			name: "debian 6",
			data: `Desired=Unknown/Install/Remove/Purge/Hold
| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend
|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)
||/ Name                                 Version                              Description
+++-====================================-====================================-======================================================================
ii  linux-image-2.6.32-5-amd64           2.6.32-48squeeze6                    Linux 2.6.32 for 64-bit PCs
ii  linux-base                           2.6.32-48squeeze6                    Linux image base package
`,
			want: []k{{"linux-image-2.6.32-5-amd64", "2.6.32-48squeeze6", "2.6.32-5-amd64", ""}},
		},
		{
			name: "ubuntu unsigned",
			data: dpkgHeader +
				"ii  linux-image-unsigned-5.15.0-91-generic    5.15.0-91.101                   amd64        Linux kernel image for version 5.15.0 on 64 bit x86 SMP\n" +
				"ii  linux-image-unsigned-5.15.0-91-generic-dbgsym 5.15.0-91.101               amd64        debug symbols\n",
			want: []k{{"linux-image-unsigned-5.15.0-91-generic", "5.15.0-91.101", "5.15.0-91-generic", "amd64"}},
		},
		{name: "no rule", data: "dpkg-query: no packages found matching linux-image\n", bad: true},
		{name: "truncated line", data: dpkgHeader + "ii  linux-image-6.1.0-13-amd64\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := parseDpkgList("dpkg_-l", []byte(tt.data))
			if tt.bad {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.File != "dpkg_-l" {
					t.Fatalf("err %v, want a ParseError naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != len(tt.want) {
				t.Fatalf("got %+v, want %d", ks, len(tt.want))
			}
			for i, w := range tt.want {
				g := ks[i]
				if g.Package != w.pkg || g.Version != w.version || g.Release != w.release || g.Arch != w.arch || g.Scheme != SchemeDeb {
					t.Errorf("%d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// A stanza of Debian 12's /var/lib/dpkg/status, and a removed kernel
// whose configuration is kept.
const dpkgStatusSample = `Package: adduser
Status: install ok installed
Priority: important
Architecture: all
Version: 3.134

Package: linux-image-6.1.0-13-amd64
Status: install ok installed
Priority: optional
Section: kernel
Installed-Size: 398953
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Source: linux-signed-amd64 (6.1.55+1)
Version: 6.1.55-1
Replaces: linux-image-6.1.0-13-amd64-unsigned
Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
Description: Linux 6.1 for 64-bit PCs (signed)
 The Linux kernel 6.1 and modules for use on PCs with AMD64, Intel 64 or
 VIA Nano processors.
Built-Using: linux (= 6.1.55-1)

Package: linux-image-5.10.0-26-amd64
Status: deinstall ok config-files
Priority: optional
Architecture: amd64
Version: 5.10.197-1
`

func TestParseDpkgStatus(t *testing.T) {
	ks, err := parseDpkgStatus("status", []byte(dpkgStatusSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 || ks[0].Package != "linux-image-6.1.0-13-amd64" || ks[0].Version != "6.1.55-1" || ks[0].Release != "6.1.0-13-amd64" || ks[0].Arch != "amd64" {
		t.Errorf("got %+v", ks)
	}
	if _, err := parseDpkgStatus("status", []byte("Version: 1.0\nStatus: install ok installed\n")); err == nil {
		t.Error("a stanza without Package parsed")
	}
	if _, err := parseDpkgStatus("status", []byte("Package: a\nnot a field\n")); err == nil {
		t.Error("a line without a colon parsed")
	}
	// This host's own status file, when it is a Debian host: real and
	// large.
	if data, err := os.ReadFile("/var/lib/dpkg/status"); err == nil {
		if _, err := parseDpkgStatus("/var/lib/dpkg/status", data); err != nil {
			t.Errorf("this host's dpkg status: %v", err)
		}
	}
}

func TestParseModules(t *testing.T) {
	// kmod's lsmod (RHEL 8, Debian 12), with [permanent] and a list of users.
	lsmod := `Module                  Size  Used by
xt_conntrack           16384  1
nf_conntrack          172032  2 nf_nat,xt_conntrack
ipv6                  593920  36 [permanent]
bonding               245760  0
`
	ms, err := parseLsmod("lsmod", []byte(lsmod))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[1].Name != "nf_conntrack" || ms[1].Size != 172032 || ms[1].Refs != 2 ||
		strings.Join(ms[1].UsedBy, ",") != "nf_nat,xt_conntrack" || len(ms[2].UsedBy) != 0 || ms[2].Refs != 36 {
		t.Errorf("lsmod: %+v", ms)
	}
	// /proc/modules with a taint and the zero addresses a user sees.
	procModules := `nvidia_uvm 1376256 0 - Live 0x0000000000000000 (POE)
xt_conntrack 16384 1 - Live 0x0000000000000000
nf_conntrack 172032 2 nf_nat,xt_conntrack, Live 0x0000000000000000
`
	ms, err = parseProcModules("modules", []byte(procModules))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Taints != "POE" || ms[1].Taints != "" || strings.Join(ms[2].UsedBy, ",") != "nf_nat,xt_conntrack" {
		t.Errorf("proc/modules: %+v", ms)
	}
	if data, err := os.ReadFile("/proc/modules"); err == nil {
		if _, err := parseProcModules("/proc/modules", data); err != nil {
			t.Errorf("this host's /proc/modules: %v", err)
		}
	}
	for _, bad := range []string{"bonding 127331 0\n", "Module Size Used by\nbonding big 0\n", "Module Size Used by\nbonding 1\n"} {
		if _, err := parseLsmod("lsmod", []byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := parseProcModules("modules", []byte("bonding x 0 - Live 0x0\n")); err == nil {
		t.Error("a bad size parsed")
	}
}

func TestParseRelease(t *testing.T) {
	d, err := parseOSRelease("os-release", []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"))
	if err != nil || d.ID != "debian" || d.VersionID != "12" || d.Name != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os-release: %+v %v", d, err)
	}
	if _, err := parseOSRelease("os-release", []byte("hello\n")); err == nil {
		t.Error("a file without ID or NAME parsed")
	}
	tests := []struct{ line, id, ver string }{
		{"Red Hat Enterprise Linux Server release 6.6 (Santiago)", "rhel", "6.6"},
		{"CentOS Linux release 7.9.2009 (Core)", "centos", "7.9.2009"},
		{"Rocky Linux release 9.2 (Blue Onyx)", "rocky", "9.2"},
		{"Fedora release 38 (Thirty Eight)", "fedora", "38"},
	}
	for _, tt := range tests {
		d, err := parseRedHatRelease("redhat-release", []byte(tt.line+"\n"))
		if err != nil || d.ID != tt.id || d.VersionID != tt.ver || d.RedHatRelease != tt.line {
			t.Errorf("%q: %+v %v", tt.line, d, err)
		}
	}
	if _, err := parseRedHatRelease("redhat-release", []byte("Foo Linux\n")); err == nil {
		t.Error("a line without a release parsed")
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sat Dec  5 02:00:15 UTC 2026", "2026-12-05 02:00:15"},
		{"Wed Sep 23 10:15:02 EDT 2015", "2015-09-23 10:15:02"},
		{"Mon 03 Oct 2022 03:05:18 PM EDT", "2022-10-03 15:05:18"},
		{"Tue Oct  3 15:05:18 CEST 2023", "2023-10-03 15:05:18"},
	}
	for _, tt := range tests {
		d, err := parseDate("date", []byte(tt.in+"\n"))
		if err != nil || d.Format("2006-01-02 15:04:05") != tt.want {
			t.Errorf("%q: %v %v, want %s", tt.in, d, err, tt.want)
		}
	}
	if _, err := parseDate("date", []byte("yesterday\n")); err == nil {
		t.Error("\"yesterday\" parsed")
	}
	tops := []struct {
		top, want string
	}{
		{"sosreport-vm-2026-12-05-zinvqbe", "2026-12-05"},
		{"sosreport-db01-12345678-2023-06-21-tzsvqcf.tar.xz", "2023-06-21"},
		{"sosreport-hosta.01480002-20150923101502", "2015-09-23"},
		{"sosreport-host-20190101123456.tar.bz2", "2019-01-01"},
		{"sosreport-host", ""},
		{"sosreport-host-2019-13-01-abcdefg", ""},
	}
	for _, tt := range tops {
		d, ok := topNameDate(tt.top)
		got := ""
		if ok {
			got = d.Format("2006-01-02")
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.top, got, tt.want)
		}
	}
}

func TestLogNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		year int
		gz   bool
	}{
		{"var/log/messages", true, 0, false},
		{"var/log/messages-20150920", true, 2015, false},
		{"var/log/messages-20150920.gz", true, 2015, true},
		{"var/log/messages.1", true, 0, false},
		{"var/log/syslog.2.gz", true, 0, true},
		{"var/log/kern.log.1", true, 0, false},
		{"var/log/messages-2015", false, 0, false},
		{"var/log/maillog", false, 0, false},
		{"var/log/syslog-ng", false, 0, false},
		{"var/log/messages.lock", false, 0, false},
	}
	for _, tt := range tests {
		l, ok := syslogLog(tt.name)
		if ok != tt.ok || (ok && (l.Year != tt.year || l.Compressed != tt.gz || l.Kind != LogSyslog)) {
			t.Errorf("%s: %+v %v", tt.name, l, ok)
		}
	}
	for name, want := range map[string]bool{
		"journalctl_--no-pager_--catalog_--boot_-1": true, "journalctl_--no-pager": true,
		"journalctl_--disk-usage": false, "journalctl_--list-boots": false, "journalctl_--no-pager_-o_verbose": false, "dmesg": false,
	} {
		if _, ok := journalLog("sos_commands/logs/" + name); ok != want {
			t.Errorf("%s: %v, want %v", name, ok, want)
		}
	}
	crash := []struct {
		dir, file string
		ok        bool
		year      int
	}{
		{"127.0.0.1-2015-09-23-03:12:44", "vmcore-dmesg.txt", true, 2015},
		{"202402120914", "dmesg.202402120914", true, 2024},
		{"somewhere", "vmcore-dmesg.txt", true, 0},
		{"202402120914", "dump.202402120914", false, 0},
		{"127.0.0.1-2015-09-23-03:12:44", "vmcore", false, 0},
	}
	for _, tt := range crash {
		l, ok := crashLog(tt.dir, "var/crash/"+tt.dir+"/"+tt.file)
		if ok != tt.ok || (ok && l.Year != tt.year) {
			t.Errorf("%s/%s: %+v %v", tt.dir, tt.file, l, ok)
		}
	}
	for _, k := range []LogKind{LogSyslog, LogJournal, LogDmesg, LogVmcoreDmesg, 0} {
		if k.String() == "" {
			t.Errorf("LogKind(%d) has no name", k)
		}
	}
	for _, s := range []YearSource{YearUnknown, YearFromName, YearFromModTime, YearFromReport, YearFromDirName, 99} {
		if s.String() == "" {
			t.Errorf("YearSource(%d) has no name", s)
		}
	}
}

// Formats of other releases of ethtool and the bonding driver than the
// fixtures', read through Read.
func TestReadOtherFormats(t *testing.T) {
	fsys := fstest.MapFS{
		// ethtool 2.6.33 (RHEL 6.0): the old "Offload parameters" format
		// with no [fixed] marks.
		"sos_commands/networking/ethtool_-k_eth0": {Data: []byte(`Offload parameters for eth0:
rx-checksumming: on
tx-checksumming: on
scatter-gather: on
tcp-segmentation-offload: on
udp-fragmentation-offload: off
generic-segmentation-offload: on
generic-receive-offload: on
large-receive-offload: off
`)},
		// ethtool 4.8 (Debian 9) on virtio_net: "Features for" with
		// [fixed] and [requested on].
		"sos_commands/networking/ethtool_-k_eth1": {Data: []byte(`Features for eth1:
rx-checksumming: on [fixed]
tx-checksumming: on
	tx-checksum-ipv4: off [fixed]
	tx-checksum-ip-generic: on
	tx-checksum-ipv6: off [fixed]
	tx-checksum-fcoe-crc: off [fixed]
	tx-checksum-sctp: off [fixed]
scatter-gather: on
	tx-scatter-gather: on
	tx-scatter-gather-fraglist: off [fixed]
tcp-segmentation-offload: on
	tx-tcp-segmentation: on
	tx-tcp-ecn-segmentation: on
	tx-tcp-mangleid-segmentation: off
	tx-tcp6-segmentation: on
udp-fragmentation-offload: on
generic-segmentation-offload: off [requested on]
generic-receive-offload: on
large-receive-offload: off [fixed]
`)},
		// An interface gone when sos ran: an error, not ethtool output.
		"sos_commands/networking/ethtool_-k_eth9": {Data: []byte("Cannot get device feature names: No such device\n")},
		// sos's other ethtool files are not -k output.
		"sos_commands/networking/ethtool_-i_eth0": {Data: []byte("driver: ixgbe\n")},
		// The 6.x bonding driver: the banner carries the kernel release,
		// 802.3ad details follow.
		"proc/net/bonding/bond0": {Data: []byte(`Ethernet Channel Bonding Driver: v6.1.0-13-amd64

Bonding Mode: IEEE 802.3ad Dynamic link aggregation
Transmit Hash Policy: layer3+4 (1)
MII Status: up
MII Polling Interval (ms): 100
Up Delay (ms): 0
Down Delay (ms): 0
Peer Notification Delay (ms): 0

802.3ad info
LACP active: on
LACP rate: fast
Min links: 0
Aggregator selection policy (ad_select): stable
System priority: 65535
System MAC address: 52:54:00:4a:11:02
Active Aggregator Info:
	Aggregator ID: 1
	Number of ports: 2
	Actor Key: 15
	Partner Key: 1
	Partner Mac Address: 00:1c:73:aa:bb:cc

Slave Interface: enp1s0
MII Status: up
Speed: 10000 Mbps
Duplex: full
Link Failure Count: 0
Permanent HW addr: 52:54:00:4a:11:02
Slave queue ID: 0
Aggregator ID: 1
Actor Churn State: none
Partner Churn State: none
Actor Churned Count: 0
Partner Churned Count: 0

Slave Interface: enp2s0
MII Status: up
Speed: 10000 Mbps
Duplex: full
Link Failure Count: 0
Permanent HW addr: 52:54:00:4a:11:03
Slave queue ID: 0
Aggregator ID: 1
Actor Churn State: none
Partner Churn State: none
Actor Churned Count: 0
Partner Churned Count: 0
`)},
		// A uname file that is not uname output: the next source is used.
		"sos_commands/kernel/uname_-a": {Data: []byte("sh: uname: command not found\n")},
		"proc/sys/kernel/osrelease":    {Data: []byte("6.1.0-13-amd64\n")},
		"proc/modules":                 {Data: []byte("bonding 245760 0 - Live 0x0000000000000000\n")},
		"var/lib/dpkg/status":          {Data: []byte(dpkgStatusSample)},
		"etc/hostname":                 {Data: []byte("deb12\n")},
	}
	f, err := Read(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Offloads) != 2 || !f.Offloads[0].Legacy || f.Offloads[1].Legacy {
		t.Fatalf("offloads %+v", f.Offloads)
	}
	if st, _ := f.Offloads[0].State("tso"); !st.On || st.Fixed {
		t.Errorf("eth0 tso %+v", st)
	}
	if st, _ := f.Offloads[1].State("gso"); st.On || st.Requested != "on" {
		t.Errorf("eth1 gso %+v", st)
	}
	if len(f.Bonds) != 1 || strings.Join(f.Bonds[0].Slaves, ",") != "enp1s0,enp2s0" || !strings.Contains(f.Bonds[0].Mode, "802.3ad") {
		t.Errorf("bonds %+v", f.Bonds)
	}
	if f.Uname.Release != "6.1.0-13-amd64" || f.Uname.Source != "proc/sys/kernel/osrelease" || f.Hostname != "deb12" {
		t.Errorf("uname %+v host %q", f.Uname, f.Hostname)
	}
	if len(f.Kernels) != 1 || !f.Kernels[0].Running {
		t.Errorf("kernels %+v", f.Kernels)
	}
	if len(f.Modules) != 1 {
		t.Errorf("modules %+v", f.Modules)
	}
	var files []string
	for _, p := range f.Problems {
		files = append(files, p.Error())
	}
	if len(f.Problems) != 2 || !strings.Contains(files[0], "uname_-a") || !strings.Contains(files[1], "ethtool_-k_eth9") {
		t.Errorf("problems %q, want the uname and the eth9 files", files)
	}
}
