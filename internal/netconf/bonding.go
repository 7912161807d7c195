package netconf

import (
	"bufio"
	"bytes"
	"strings"
)

// Bond is what the kernel says of one bonding master in /proc/net/bonding:
// its live slaves, which may differ from the configuration files (a slave
// added by hand, a file not yet applied).
type Bond struct {
	Name         string
	Mode         string
	ActiveSlave  string
	Slaves       []string
	SlaveHWAddrs map[string]string // slave -> permanent MAC
}

// ParseBonding parses /proc/net/bonding/NAME. The file must start with the
// driver's banner; a file that does not is not bonding status and is an
// error naming the line.
func ParseBonding(name, path string, data []byte) (*Bond, error) {
	if err := checkName(path, 0, "the bond named by the file name", name); err != nil {
		return nil, err
	}
	b := &Bond{Name: name, SlaveHWAddrs: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n, seenBanner, cur := 0, false, ""
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !seenBanner {
			if !strings.HasPrefix(line, "Ethernet Channel Bonding Driver") {
				return nil, perr(path, n, "not /proc/net/bonding output: want the \"Ethernet Channel Bonding Driver\" banner, got %q", line)
			}
			seenBanner = true
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Bonding Mode":
			b.Mode = v
		case "Currently Active Slave":
			b.ActiveSlave = v
		case "Slave Interface":
			if err := checkName(path, n, "Slave Interface", v); err != nil {
				return nil, err
			}
			cur = v
			b.Slaves = append(b.Slaves, v)
		case "Permanent HW addr":
			if cur != "" {
				b.SlaveHWAddrs[cur] = strings.ToLower(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, perr(path, n+1, "reading: %v", err)
	}
	if !seenBanner {
		return nil, perr(path, 0, "empty: not /proc/net/bonding output")
	}
	return b, nil
}
