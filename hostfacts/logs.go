package hostfacts

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Where logs are, relative to the root. sos copies var/log and var/crash
// as they are on the host and writes journalctl and dmesg output under
// sos_commands.
const (
	varLogDir    = "var/log"
	varCrash     = "var/crash"
	sosLogsDir   = "sos_commands/logs"
	sosKernelDir = "sos_commands/kernel"
)

// syslogBases are the syslog files a kernel's messages go to: RHEL's
// messages, Debian's and Ubuntu's syslog and kern.log.
var syslogBases = []string{"messages", "syslog", "kern.log"}

var compressedSuffixes = []string{".gz", ".xz", ".bz2", ".zst"}

// rotatedDateRE is logrotate's dateext suffix: messages-20150920.
var rotatedDateRE = regexp.MustCompile(`-((?:19|20)\d\d)(\d\d)(\d\d)$`)

// syslogLog classifies a file name in var/log; ok is false for files that
// are not syslog files a kernel writes to (secure, cron, maillog, ...).
func syslogLog(name string) (Log, bool) {
	base := path.Base(name)
	l := Log{Name: name, Kind: LogSyslog}
	for _, s := range compressedSuffixes {
		if b, ok := strings.CutSuffix(base, s); ok {
			base, l.Compressed = b, true
			break
		}
	}
	for _, b := range syslogBases {
		rest, ok := strings.CutPrefix(base, b)
		if !ok {
			continue
		}
		switch {
		case rest == "":
		case rotatedDateRE.MatchString(rest) && len(rest) == 9:
			m := rotatedDateRE.FindStringSubmatch(rest)
			if y, mo := atoi(m[1]), atoi(m[2]); mo >= 1 && mo <= 12 {
				l.Year, l.YearFrom = y, YearFromName
			}
		case rest[0] == '.' && allDigits(rest[1:]):
			// syslog.1, kern.log.2: numbered rotation.
		default:
			continue
		}
		return l, true
	}
	return Log{}, false
}

// journalLog classifies a file in sos_commands/logs: journalctl output in
// the default (short) format; --disk-usage, --list-boots, verbose and
// JSON output hold no syslog-style lines.
func journalLog(name string) (Log, bool) {
	base := path.Base(name)
	if !strings.HasPrefix(base, "journalctl_") {
		return Log{}, false
	}
	for _, skip := range []string{"--disk-usage", "--list-boots", "verbose", "json", "--header", "--verify", "export"} {
		if strings.Contains(base, skip) {
			return Log{}, false
		}
	}
	return Log{Name: name, Kind: LogJournal}, true
}

var (
	// kdump's directory on RHEL: 127.0.0.1-2015-09-23-03:12:44.
	rhelCrashDirRE = regexp.MustCompile(`-((?:19|20)\d\d)-(\d\d)-(\d\d)-\d\d:\d\d:\d\d$`)
	// kdump-tools' on Debian and Ubuntu: 202309231312, and its
	// dmesg.202309231312 file.
	debCrashStampRE = regexp.MustCompile(`^((?:19|20)\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$`)
)

// crashLog classifies a file in a var/crash directory: vmcore-dmesg.txt
// (kdump on RHEL and Fedora) or dmesg.STAMP (kdump-tools); dir is the
// crash directory's name, which dates the crash.
func crashLog(dir, name string) (Log, bool) {
	base := path.Base(name)
	l := Log{Name: name, Kind: LogVmcoreDmesg}
	switch {
	case base == "vmcore-dmesg.txt":
	case strings.HasPrefix(base, "dmesg.") && debCrashStampRE.MatchString(strings.TrimPrefix(base, "dmesg.")):
	default:
		return Log{}, false
	}
	if m := rhelCrashDirRE.FindStringSubmatch(dir); m != nil {
		l.Year, l.YearFrom = atoi(m[1]), YearFromDirName
	} else if m := debCrashStampRE.FindStringSubmatch(dir); m != nil {
		l.Year, l.YearFrom = atoi(m[1]), YearFromDirName
	}
	return l, true
}

// hintYear fills in a year hint the name did not give: the file's
// modification time, else the report's date.
func hintYear(l *Log, mod time.Time, report time.Time) {
	if l.YearFrom != YearUnknown {
		return
	}
	switch {
	case !mod.IsZero() && mod.Year() > 1970:
		l.Year, l.YearFrom = mod.Year(), YearFromModTime
	case !report.IsZero():
		l.Year, l.YearFrom = report.Year(), YearFromReport
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
