package netconf

import "strings"

// Keyfile is a NetworkManager connection profile in keyfile format
// (system-connections/*.nmconnection). NetworkManager applies its [ethtool]
// feature-* keys whenever it activates the connection, so this is where an
// offload setting on a NetworkManager host persists.
type Keyfile struct {
	ini *iniFile
}

// keyfileSyntax is NetworkManager's: '#' comments, no blanks around '='.
var keyfileSyntax = iniSyntax{comments: "#"}

// ParseKeyfile parses a keyfile: [group] headers, key=value lines, '#'
// comments. A line of another shape, or a key before any group, is an
// error naming the file and line.
func ParseKeyfile(path string, data []byte) (*Keyfile, error) {
	f, err := parseINI(path, data, keyfileSyntax)
	if err != nil {
		return nil, err
	}
	if k, ok := f.get("connection", "interface-name"); ok && k.Value != "" {
		if err := checkName(path, k.Line, "interface-name", k.Value); err != nil {
			return nil, err
		}
	}
	return &Keyfile{ini: f}, nil
}

// Path is where the keyfile was read.
func (k *Keyfile) Path() string { return k.ini.Path }

// Data is the keyfile's content as read.
func (k *Keyfile) Data() []byte { return k.ini.Data }

// Value returns the last value of key in group, or "".
func (k *Keyfile) Value(group, key string) string { return k.ini.value(group, key) }

// ID is the connection's name, which nmcli commands take.
func (k *Keyfile) ID() string { return k.ini.value("connection", "id") }

// Device is the interface the profile binds to (connection.interface-name).
func (k *Keyfile) Device() string { return k.ini.value("connection", "interface-name") }

// MAC is the hardware address the profile binds to, lower case, or "".
func (k *Keyfile) MAC() string {
	for _, g := range []string{"ethernet", "802-3-ethernet"} {
		if v := k.ini.value(g, "mac-address"); v != "" {
			return strings.ToLower(v)
		}
	}
	return ""
}

// IsBond tells whether the profile defines a bond master.
func (k *Keyfile) IsBond() bool { return k.ini.value("connection", "type") == "bond" }

// Master is the bond (interface name or connection id/uuid) this profile is
// a port of, or "" when it is not a bond port.
func (k *Keyfile) Master() string {
	st := k.ini.value("connection", "slave-type")
	if st == "" {
		st = k.ini.value("connection", "port-type")
	}
	if st != "bond" {
		return ""
	}
	if m := k.ini.value("connection", "master"); m != "" {
		return m
	}
	return k.ini.value("connection", "controller")
}

// EthtoolSetting returns the profile's [ethtool] value of a feature-* key
// and its line.
func (k *Keyfile) EthtoolSetting(key string) (value string, line int, ok bool) {
	kk, ok := k.ini.get("ethtool", key)
	return kk.Value, kk.Line, ok
}

// SetEthtool returns the file with the given [ethtool] keys set.
func (k *Keyfile) SetEthtool(kv [][2]string) []byte { return k.ini.setKeys("ethtool", kv) }
