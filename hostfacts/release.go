package hostfacts

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parseOSRelease parses os-release(5): KEY=VALUE lines, values optionally
// in single or double quotes with backslash escapes in double quotes.
// Lines that are not assignments are ignored, as systemd does.
func parseOSRelease(name string, data []byte) (Distro, error) {
	vars := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		vars[k] = unquoteOSRelease(v)
	}
	d := Distro{ID: vars["ID"], VersionID: vars["VERSION_ID"], Name: vars["PRETTY_NAME"]}
	if d.Name == "" {
		d.Name = strings.TrimSpace(vars["NAME"] + " " + vars["VERSION"])
	}
	if d.ID == "" && d.Name == "" {
		return Distro{}, perr(name, 0, "no ID, NAME or PRETTY_NAME: not os-release")
	}
	return d, nil
}

func unquoteOSRelease(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// redHatIDs map the product names redhat-release starts with to
// os-release IDs, for hosts too old to have os-release (RHEL 6).
var redHatIDs = []struct{ prefix, id string }{
	{"Red Hat Enterprise Linux", "rhel"},
	{"CentOS", "centos"},
	{"Scientific Linux", "scientific"},
	{"Oracle Linux", "ol"},
	{"Fedora", "fedora"},
	{"Rocky Linux", "rocky"},
	{"AlmaLinux", "almalinux"},
	{"CloudLinux", "cloudlinux"},
}

var releaseNumRE = regexp.MustCompile(`\brelease ([0-9]+(?:\.[0-9]+)*)`)

// parseRedHatRelease parses /etc/redhat-release: "Red Hat Enterprise
// Linux Server release 6.6 (Santiago)".
func parseRedHatRelease(name string, data []byte) (Distro, error) {
	l := firstLine(data)
	m := releaseNumRE.FindStringSubmatch(l)
	if m == nil {
		return Distro{}, perr(name, 1, "no \"release N\" in %q: not redhat-release", clip(l))
	}
	d := Distro{Name: l, VersionID: m[1], RedHatRelease: l}
	for _, p := range redHatIDs {
		if strings.HasPrefix(l, p.prefix) {
			d.ID = p.id
			break
		}
	}
	return d, nil
}

// parseHostname parses hostname output or /etc/hostname: one name.
func parseHostname(name string, data []byte) (string, error) {
	h := firstLine(data)
	if h == "" || len(h) > 253 || strings.ContainsAny(h, " \t/") {
		return "", perr(name, 1, "not a host name: %q", clip(h))
	}
	return h, nil
}

// dateLayouts are the ways date(1) prints the time in the locales sos
// runs with: C (sos 3 and 4) and en_US (older RHEL sos).
var dateLayouts = []string{
	"Mon Jan _2 15:04:05 MST 2006",
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon _2 Jan 2006 03:04:05 PM MST",
	"Mon Jan _2 03:04:05 PM MST 2006",
	time.UnixDate,
}

// parseDate parses the output of date(1) as sos saves it. Only the
// wall-clock reading is kept: the zone's abbreviation is not resolved.
func parseDate(name string, data []byte) (time.Time, error) {
	l := strings.Join(strings.Fields(firstLine(data)), " ")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(strings.ReplaceAll(layout, "_", ""), l); err == nil {
			return t, nil
		}
	}
	// A layout not listed: the year is the last field, which is
	// all a log's year hint needs.
	f := strings.Fields(l)
	if len(f) >= 4 {
		if y, err := strconv.Atoi(f[len(f)-1]); err == nil && y >= 1970 && y < 10000 {
			return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, perr(name, 1, "not date(1) output: %q", clip(l))
}

var (
	// sos 4: sosreport-HOST[-CASE]-2026-12-05-abcdefg
	topDashedRE = regexp.MustCompile(`-((?:19|20)\d\d)-(\d\d)-(\d\d)-[a-z0-9]+$`)
	// sos 2 and 3: sosreport-HOST[.CASE]-20150923031244, -20150923.
	topPackedRE = regexp.MustCompile(`-((?:19|20)\d\d)(\d\d)(\d\d)(?:\d{6})?$`)
)

// topNameDate is the date in a sosreport's top folder name (or archive
// name without its suffix), or false.
func topNameDate(top string) (time.Time, bool) {
	top = strings.TrimSuffix(strings.TrimSuffix(top, "/"), ".tar")
	for _, suf := range []string{".tar.xz", ".tar.gz", ".tar.bz2", ".tar.zst", ".txz", ".tgz"} {
		top = strings.TrimSuffix(top, suf)
	}
	m := topDashedRE.FindStringSubmatch(top)
	if m == nil {
		m = topPackedRE.FindStringSubmatch(top)
	}
	if m == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	if mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
}
