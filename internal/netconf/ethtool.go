package netconf

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"sync"
)

// FeatureState is one line of ethtool -k: whether the offload is active,
// whether the driver lets it change, and what was asked for when the kernel
// could not give it.
type FeatureState struct {
	On    bool
	Fixed bool
	// Requested is "on" or "off" when ethtool printed [requested X]: the
	// wanted state differs from the active one (a dependency holds it).
	Requested string
}

// Offloads is ethtool -k output for one interface, keyed by the long name
// ethtool prints (rx-checksumming, ...).
type Offloads struct {
	Device string
	// Legacy is true for the old "Offload parameters for X:" format.
	Legacy   bool
	Features map[string]FeatureState
}

// State returns the state of a feature given by any of its names.
func (o *Offloads) State(name string) (FeatureState, bool) {
	if f, ok := LookupFeature(name); ok {
		name = f.Long
	}
	s, ok := o.Features[name]
	return s, ok
}

// ethtoolLineRE is compiled on first use: most commands never read ethtool
// output, and a regexp compiled at start-up costs each of them.
var ethtoolLineRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\t?\s*([a-z0-9_-]+): (on|off)(?: \[(fixed|requested (?:on|off))\])?\s*$`)
})

// ParseEthtoolK parses the output of ethtool -k (or --show-features /
// --show-offload) for one or more interfaces: the modern "Features for X:"
// header with [fixed] and [requested on|off] marks, and the old "Offload
// parameters for X:" one. Stderr noise ethtool interleaves ("Cannot get
// device ... settings") is skipped. A feature line before any header, or
// output with no header at all, is an error naming the line.
func ParseEthtoolK(path string, data []byte) ([]*Offloads, error) {
	var out []*Offloads
	var cur *Offloads
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if dev, ok := strings.CutPrefix(line, "Features for "); ok && strings.HasSuffix(dev, ":") {
			cur = &Offloads{Device: strings.TrimSuffix(dev, ":"), Features: map[string]FeatureState{}}
			out = append(out, cur)
			continue
		}
		if dev, ok := strings.CutPrefix(line, "Offload parameters for "); ok && strings.HasSuffix(dev, ":") {
			cur = &Offloads{Device: strings.TrimSuffix(dev, ":"), Legacy: true, Features: map[string]FeatureState{}}
			out = append(out, cur)
			continue
		}
		m := ethtoolLineRE().FindStringSubmatch(raw)
		if m == nil {
			// "Cannot get device ...", "Actual changes:", a shell prompt.
			continue
		}
		if cur == nil {
			return nil, perr(path, n, "feature line %q before any \"Features for IF:\" header", line)
		}
		if strings.ContainsAny(cur.Device, " \t/") || cur.Device == "" {
			return nil, perr(path, n, "bad interface name %q in the header", cur.Device)
		}
		st := FeatureState{On: m[2] == "on"}
		switch {
		case m[3] == "fixed":
			st.Fixed = true
		case strings.HasPrefix(m[3], "requested "):
			st.Requested = strings.TrimPrefix(m[3], "requested ")
		}
		cur.Features[m[1]] = st
	}
	if err := sc.Err(); err != nil {
		return nil, perr(path, n+1, "reading: %v", err)
	}
	if len(out) == 0 {
		return nil, perr(path, 0, "no \"Features for IF:\" or \"Offload parameters for IF:\" header: not ethtool -k output")
	}
	return out, nil
}
