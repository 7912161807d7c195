// Package hostfacts reads what a crash diagnosis needs to know about the
// host a crash happened on: its name, the running kernel (uname), the
// kernel packages installed beside it, the distribution, the loaded
// modules, the offload state of its NICs, its bonds and the log files that
// may hold the crash. It reads them from a sosreport (sos 2.x as shipped
// with RHEL 6, 3.x and 4.x layouts) or from a host's root directory,
// through an fs.FS whose names are relative to the sosreport's top folder
// or to /, and from the running host with Live.
//
// Each file format has its own parser that takes bytes and the name to put
// in its errors and never opens a file; Read does the I/O. The network
// formats (ethtool -k, /proc/net/bonding) are internal/netconf's.
//
// A file that is present but cannot be read or parsed does not make Read
// fail: its error goes to Facts.Problems and the facts it would have given
// are missing, because a partly readable sosreport is the usual case and
// the rest of it still helps.
package hostfacts

import (
	"fmt"
	"time"

	"github.com/ktriage/ktriage/internal/netconf"
)

// Facts is what Read found about one host.
type Facts struct {
	// Hostname is the host's name, from hostname output, /etc/hostname
	// or the node name in uname; "" when none was found.
	Hostname string
	// Uname is the running kernel as uname reports it.
	Uname Uname
	// Distro is the distribution, from /etc/os-release and
	// /etc/redhat-release.
	Distro Distro
	// Kernels are the installed kernel image packages, oldest first in
	// the order of their package manager; Running marks the one uname
	// names.
	Kernels []Kernel
	// Modules are the loaded modules, from lsmod or /proc/modules.
	Modules []Module
	// Offloads are ethtool -k results, one per interface, in name order.
	Offloads []*netconf.Offloads
	// Bonds are the bonding masters in /proc/net/bonding, in name order.
	Bonds []*netconf.Bond
	// Logs are the log files present that may hold a kernel crash.
	Logs []Log
	// Date is when the sosreport was made (sos_commands/date/date or the
	// top folder's name); zero for a live host or when unknown.
	Date time.Time
	// Problems are files that were present but could not be read or
	// parsed, and commands that could not run; the facts they would have
	// given are missing.
	Problems []error
}

// Uname is the running kernel as uname -a prints it.
type Uname struct {
	// Line is the whole uname -a line, or /proc/version's line when
	// that is all there was.
	Line string
	// Nodename is the host name uname printed; "" from /proc sources.
	Nodename string
	// Release is uname -r: 2.6.32-504.23.4.el6.x86_64, 6.1.0-13-amd64.
	Release string
	// Version is uname -v: "#1 SMP Fri May 29 10:16:43 EDT 2015".
	Version string
	// Arch is uname -m: x86_64, aarch64; "" when unknown.
	Arch string
	// Source is the file the fields were read from.
	Source string
}

// Distro names the distribution.
type Distro struct {
	// ID is os-release's ID (rhel, debian, ubuntu), or derived from
	// redhat-release on hosts that have no os-release (RHEL 6).
	ID string
	// VersionID is os-release's VERSION_ID (8.9, 12, 22.04), or the
	// number in redhat-release.
	VersionID string
	// Name is os-release's PRETTY_NAME, else redhat-release's line.
	Name string
	// RedHatRelease is /etc/redhat-release's line, when present.
	RedHatRelease string
}

// Scheme is how a kernel package's version orders, named as the
// knowledge base's release ranges name it (see package kb).
type Scheme string

// Schemes of installed kernels.
const (
	// SchemeRPM: RPM's epoch:version-release order.
	SchemeRPM Scheme = "rpm"
	// SchemeDeb: dpkg's order of Debian package versions.
	SchemeDeb Scheme = "deb"
)

// String returns the scheme's name.
func (s Scheme) String() string { return string(s) }

// Kernel is one installed kernel image package.
type Kernel struct {
	// Package is the package name: kernel, kernel-core, kernel-uek,
	// linux-image-6.1.0-13-amd64.
	Package string
	// Version is the package's version: 2.6.32-504.23.4.el6 (RPM
	// version-release), 6.1.55-1 (the Debian package version, which
	// kb calls PackageVersion and uname does not show).
	Version string
	// Release is the kernel release as uname -r prints it when this
	// kernel runs (2.6.32-504.23.4.el6.x86_64, 6.1.0-13-amd64); ""
	// when it cannot be derived (an RPM list without architectures and
	// no uname to borrow it from).
	Release string
	// Arch is the package's architecture; "" when the list omits it.
	Arch string
	// Scheme orders Version.
	Scheme Scheme
	// Running is true for the kernel uname names.
	Running bool
	// Source is the file (or command) the package was listed in.
	Source string
}

// Module is one loaded kernel module.
type Module struct {
	Name string
	Size int64
	// Refs is the use count.
	Refs int
	// UsedBy are the modules that use this one.
	UsedBy []string
	// Taints are the taint letters /proc/modules shows ("OE"); lsmod
	// does not show them.
	Taints string
}

// LogKind says what a log file holds and so how its lines look.
type LogKind int

// Kinds of log files.
const (
	// LogSyslog: a syslog file (messages, syslog, kern.log): lines
	// "Mon DD HH:MM:SS host kernel: ..." with no year.
	LogSyslog LogKind = iota + 1
	// LogJournal: journalctl output, which prints syslog-style dates
	// with no year by default.
	LogJournal
	// LogDmesg: dmesg output: seconds since boot, no date.
	LogDmesg
	// LogVmcoreDmesg: the kernel log kdump saved beside a vmcore
	// (vmcore-dmesg.txt, Ubuntu's dmesg.YYYYMMDDHHMM).
	LogVmcoreDmesg
)

var logKindNames = map[LogKind]string{LogSyslog: "syslog", LogJournal: "journal", LogDmesg: "dmesg", LogVmcoreDmesg: "vmcore-dmesg"}

// String names the kind.
func (k LogKind) String() string {
	if s, ok := logKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("LogKind(%d)", int(k))
}

// YearSource says where a log's year hint came from, from most to least
// trustworthy.
type YearSource int

// Sources of a year hint.
const (
	// YearUnknown: no hint.
	YearUnknown YearSource = iota
	// YearFromName: a rotated file's date suffix (messages-20150920).
	YearFromName
	// YearFromModTime: the file's modification time, the time of its
	// last line.
	YearFromModTime
	// YearFromReport: when the sosreport was made.
	YearFromReport
	// YearFromDirName: a crash directory's name
	// (127.0.0.1-2015-09-23-03:12:44, Ubuntu's dmesg.201509230312).
	YearFromDirName
)

var yearSourceNames = map[YearSource]string{YearUnknown: "unknown", YearFromName: "file name", YearFromModTime: "modification time", YearFromReport: "report date", YearFromDirName: "crash directory"}

// String names the source.
func (s YearSource) String() string {
	if n, ok := yearSourceNames[s]; ok {
		return n
	}
	return fmt.Sprintf("YearSource(%d)", int(s))
}

// Log is a log file that may hold a kernel crash.
type Log struct {
	// Name is the file's name in the fs.FS Read was given.
	Name string
	Kind LogKind
	// Compressed is true for a rotated .gz/.xz/.bz2 file.
	Compressed bool
	// Year is the year the file's syslog-style lines (which print none)
	// most likely belong to: the year of its last lines. 0 when unknown.
	// A file that spans a new year holds lines of the year before too.
	Year int
	// YearFrom says where Year came from.
	YearFrom YearSource
}

// ParseError is a file that does not have the format its name promises:
// netconf's, the one owner of the kind, so that callers see one type.
type ParseError = netconf.ParseError

func perr(file string, line int, format string, args ...any) error {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// RunningKernel returns the installed kernel uname names, if listed.
func (f *Facts) RunningKernel() (Kernel, bool) {
	for _, k := range f.Kernels {
		if k.Running {
			return k, true
		}
	}
	return Kernel{}, false
}
