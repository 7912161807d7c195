package netconf

import (
	"path"
	"strings"
)

// LinkFile is a systemd .link file: udev applies the [Link] settings of the
// first .link file (in file-name order across /etc, /run and /usr/lib) whose
// [Match] fits an interface when the interface appears, which is how a
// systemd-networkd host keeps offload settings across reboots.
type LinkFile struct {
	ini *iniFile
}

// linkSyntax is systemd's unit-file syntax.
var linkSyntax = iniSyntax{comments: "#;", spacesAround: true, continuation: true}

// ParseLink parses a .link file: [Section] headers, Key=Value lines, '#'
// and ';' comments, backslash continuations.
func ParseLink(path string, data []byte) (*LinkFile, error) {
	f, err := parseINI(path, data, linkSyntax)
	if err != nil {
		return nil, err
	}
	// [Link] Name= is carried into the file plan writes for an interface.
	if k, ok := f.get("Link", "Name"); ok && k.Value != "" {
		if err := checkName(path, k.Line, "Name", k.Value); err != nil {
			return nil, err
		}
	}
	return &LinkFile{ini: f}, nil
}

// Path is where the file was read.
func (l *LinkFile) Path() string { return l.ini.Path }

// Data is the file's content as read.
func (l *LinkFile) Data() []byte { return l.ini.Data }

// Setting returns the [Link] value of key and its line.
func (l *LinkFile) Setting(key string) (string, int, bool) {
	k, ok := l.ini.get("Link", key)
	return k.Value, k.Line, ok
}

// LinkSettings are the [Link] lines other than offloads; a new .link file
// for one interface carries them over from the file that matched it before,
// so that naming and MAC policies do not change.
func (l *LinkFile) LinkSettings() [][2]string {
	var out [][2]string
	for _, g := range l.ini.Groups {
		if g.Name != "Link" {
			continue
		}
		for _, k := range g.Keys {
			if _, isOffload := LookupFeature(k.Key); !isOffload {
				out = append(out, [2]string{k.Key, k.Value})
			}
		}
	}
	return out
}

// Matches tells whether the file's [Match] section selects an interface
// with this name and MAC. exact is true when the match names the interface
// itself (not a glob or an empty match), so that editing the file affects
// this interface alone. Conditions remedy cannot evaluate make it report
// false with unknown true.
func (l *LinkFile) Matches(dev, mac string) (match, exact, unknown bool) {
	match, exact = true, false
	for _, g := range l.ini.Groups {
		if g.Name != "Match" {
			continue
		}
		for _, k := range g.Keys {
			vals := strings.Fields(k.Value)
			switch k.Key {
			case "OriginalName":
				any := false
				for _, v := range vals {
					if ok, _ := path.Match(v, dev); ok {
						any = true
						if v == dev {
							exact = true
						}
					}
				}
				match = match && any
			case "MACAddress", "PermanentMACAddress":
				any := false
				for _, v := range vals {
					if mac != "" && strings.EqualFold(v, mac) {
						any, exact = true, true
					}
				}
				match = match && any
			default:
				unknown = true
			}
		}
	}
	if unknown {
		return false, false, true
	}
	return match, exact, false
}

// SetLink returns the file with the given [Link] keys set.
func (l *LinkFile) SetLink(kv [][2]string) []byte { return l.ini.setKeys("Link", kv) }
