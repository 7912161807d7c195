package hostfacts

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// Each parser has a fuzz target seeded with real output; beyond not
// panicking, the targets check that errors are *ParseError naming the
// file and that what parses keeps the invariants Read relies on.

// checkErr fails unless err is nil or a *ParseError naming file.
func checkErr(t *testing.T, err error, file string) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != file {
		t.Fatalf("error %v does not name %s", err, file)
	}
}

func FuzzUname(f *testing.F) {
	f.Add([]byte("Linux hosta 2.6.32-504.23.4.el6.x86_64 #1 SMP Fri May 29 10:16:43 EDT 2015 x86_64 x86_64 x86_64 GNU/Linux\n"))
	f.Add([]byte("Linux vm 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 x86_64 GNU/Linux\n"))
	f.Add([]byte("Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, parse := range map[string]func(string, []byte) (Uname, error){"uname": parseUname, "version": parseProcVersion, "osrelease": parseOsrelease} {
			u, err := parse(name, data)
			checkErr(t, err, name)
			if err == nil && (!plausibleRelease(u.Release) || strings.ContainsAny(u.Arch, " \t\n")) {
				t.Fatalf("%s: implausible %+v", name, u)
			}
		}
	})
}

func FuzzRPMList(f *testing.F) {
	f.Add([]byte("kernel-2.6.32-504.23.4.el6.x86_64                           Thu 09 Jul 2015 11:36:49 AM EDT\nkernel-devel-2.6.32-504.23.4.el6.x86_64                     Thu 09 Jul 2015 11:37:02 AM EDT\n"), "")
	f.Add([]byte("kernel-core-4.18.0-80.el8.x86_64\tTue 14 May 2019\t1557842400\tRed Hat, Inc.\n"), "x86_64")
	f.Add([]byte("kernel-debug-core-5.14.0-284.11.1.el9_2.x86_64\nkernel-2.6.18-398.el5\n"), "x86_64")
	f.Fuzz(func(t *testing.T, data []byte, arch string) {
		ks, err := parseRPMList("installed-rpms", data, arch)
		checkErr(t, err, "installed-rpms")
		for _, k := range ks {
			if !rpmKernelRE.MatchString(k.Package) || k.Scheme != SchemeRPM || k.Version == "" {
				t.Fatalf("not a kernel image: %+v", k)
			}
			if k.Release != "" && !strings.HasPrefix(k.Release, k.Version+".") {
				t.Fatalf("release %q does not extend version %q", k.Release, k.Version)
			}
		}
	})
}

func FuzzDpkgList(f *testing.F) {
	f.Add([]byte(dpkgHeader + "ii  linux-image-6.1.0-13-amd64                6.1.55-1                        amd64        Linux 6.1 for 64-bit PCs (signed)\nrc  linux-image-5.10.0-26-amd64 5.10.197-1 amd64 x\n"))
	f.Add([]byte("||/ Name Version Description\n+++-===\nii  linux-image-2.6.32-5-amd64 2.6.32-48squeeze6 Linux\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := parseDpkgList("dpkg_-l", data)
		checkErr(t, err, "dpkg_-l")
		checkDebKernels(t, ks)
	})
}

func FuzzDpkgStatus(f *testing.F) {
	f.Add([]byte(dpkgStatusSample))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := parseDpkgStatus("status", data)
		checkErr(t, err, "status")
		checkDebKernels(t, ks)
	})
}

func checkDebKernels(t *testing.T, ks []Kernel) {
	t.Helper()
	for _, k := range ks {
		if !strings.HasPrefix(k.Package, "linux-image-") || k.Scheme != SchemeDeb || !plausibleRelease(k.Release) || !strings.Contains(k.Package, k.Release) {
			t.Fatalf("not a kernel image: %+v", k)
		}
	}
}

func FuzzModules(f *testing.F) {
	f.Add([]byte("Module                  Size  Used by\nbonding               127331  0 \nllc                     5418  2 garp,stp\nipv6 593920 36 [permanent]\n"))
	f.Add([]byte("nf_conntrack 172032 2 nf_nat,xt_conntrack, Live 0x0000000000000000 (POE)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, parse := range map[string]func(string, []byte) ([]Module, error){"lsmod": parseLsmod, "modules": parseProcModules} {
			ms, err := parse(name, data)
			checkErr(t, err, name)
			if len(ms) > maxModules {
				t.Fatalf("%s: %d modules", name, len(ms))
			}
			for _, m := range ms {
				if m.Name == "" || m.Size < 0 {
					t.Fatalf("%s: %+v", name, m)
				}
			}
		}
	})
}

func FuzzRelease(f *testing.F) {
	f.Add([]byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"))
	f.Add([]byte("Red Hat Enterprise Linux Server release 6.6 (Santiago)\n"))
	f.Add([]byte("Sat Dec  5 02:00:15 UTC 2026\n"))
	f.Add([]byte("hosta\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseOSRelease("os-release", data)
		checkErr(t, err, "os-release")
		_, err = parseRedHatRelease("redhat-release", data)
		checkErr(t, err, "redhat-release")
		_, err = parseDate("date", data)
		checkErr(t, err, "date")
		h, err := parseHostname("hostname", data)
		checkErr(t, err, "hostname")
		if err == nil && (h == "" || strings.ContainsAny(h, " \t\n/")) {
			t.Fatalf("host name %q", h)
		}
		topNameDate(string(data))
	})
}

func FuzzLogNames(f *testing.F) {
	f.Add("var/log/messages-20150920.gz", "127.0.0.1-2015-09-23-03:12:44")
	f.Add("sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1", "202402120914")
	f.Fuzz(func(t *testing.T, name, dir string) {
		for _, cl := range []func() (Log, bool){
			func() (Log, bool) { return syslogLog(name) },
			func() (Log, bool) { return journalLog(name) },
			func() (Log, bool) { return crashLog(dir, name) },
		} {
			if l, ok := cl(); ok && (l.Name != name || l.Kind == 0 || (l.YearFrom != YearUnknown) != (l.Year != 0)) {
				t.Fatalf("%+v", l)
			}
		}
	})
}

// FuzzRead puts the fuzzed bytes at every path Read reads, so that a
// hostile sosreport can only cost problems, never a panic.
func FuzzRead(f *testing.F) {
	f.Add([]byte("Features for eth0:\nrx-checksumming: on\n"))
	f.Add([]byte("Ethernet Channel Bonding Driver: v3.6.0 (September 26, 2009)\n\nSlave Interface: eth0\n"))
	f.Add([]byte("kernel-2.6.32-504.23.4.el6.x86_64 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{}
		for _, n := range []string{
			"sos_commands/kernel/uname_-a", "sos_commands/host/hostname", "sos_commands/date/date", "etc/os-release",
			"etc/redhat-release", "sos_commands/rpm/package-data", "sos_commands/dpkg/dpkg_-l", "var/lib/dpkg/status",
			"sos_commands/kernel/lsmod", "proc/modules", "sos_commands/networking/ethtool_-k_eth0", "proc/net/bonding/bond0",
			"etc/sysconfig/network", "var/log/messages",
		} {
			fsys[n] = &fstest.MapFile{Data: data}
		}
		fa, err := Read(fsys)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range fa.Problems {
			if p == nil {
				t.Fatal("nil problem")
			}
		}
	})
}
