package hostfacts

import (
	"strconv"
	"strings"
)

// maxModules bounds the modules kept from one file: a real host loads a
// few hundred.
const maxModules = 10000

// parseLsmod parses lsmod output:
//
//	Module                  Size  Used by
//	bonding               127331  0
//	ixgbe                 243652  0
//	mdio                    4769  1 ixgbe
//
// The "Used by" column is a count and, when there are users, their names
// separated by commas (with a trailing comma on old kmod/module-init-tools,
// and "[permanent]" or "-" on some).
func parseLsmod(name string, data []byte) ([]Module, error) {
	var out []Module
	header := false
	for n, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if !header {
			if f[0] != "Module" {
				return nil, perr(name, n+1, "not lsmod output: want the \"Module Size Used by\" header, got %q", clip(l))
			}
			header = true
			continue
		}
		if len(f) < 3 {
			return nil, perr(name, n+1, "module line %q has no size and use count", clip(l))
		}
		m, err := moduleFields(name, n+1, f[0], f[1], f[2])
		if err != nil {
			return nil, err
		}
		if len(f) > 3 {
			m.UsedBy = users(f[3])
		}
		if len(out) == maxModules {
			return nil, perr(name, n+1, "more than %d modules", maxModules)
		}
		out = append(out, m)
	}
	if !header {
		return nil, perr(name, 0, "empty: not lsmod output")
	}
	return out, nil
}

// parseProcModules parses /proc/modules:
//
//	bonding 127331 0 - Live 0xffffffffa0236000
//	mdio 4769 1 ixgbe, Live 0xffffffffa0133000
//	nvidia 35282944 2 nvidia_modeset, Live 0xffffffffc0a00000 (POE)
func parseProcModules(name string, data []byte) ([]Module, error) {
	var out []Module
	for n, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			return nil, perr(name, n+1, "not a /proc/modules line: %q", clip(l))
		}
		m, err := moduleFields(name, n+1, f[0], f[1], f[2])
		if err != nil {
			return nil, err
		}
		if f[3] != "-" {
			m.UsedBy = users(f[3])
		}
		if last := f[len(f)-1]; len(f) >= 7 && strings.HasPrefix(last, "(") && strings.HasSuffix(last, ")") {
			m.Taints = strings.Trim(last, "()")
		}
		if len(out) == maxModules {
			return nil, perr(name, n+1, "more than %d modules", maxModules)
		}
		out = append(out, m)
	}
	return out, nil
}

func moduleFields(file string, line int, name, size, refs string) (Module, error) {
	s, err := strconv.ParseInt(size, 10, 64)
	if err != nil || s < 0 {
		return Module{}, perr(file, line, "module %q: size %q is not a number", clip(name), clip(size))
	}
	r, err := strconv.Atoi(refs)
	if err != nil {
		// A module being unloaded shows "-" (lsmod) for its count.
		if refs != "-" {
			return Module{}, perr(file, line, "module %q: use count %q is not a number", clip(name), clip(refs))
		}
		r = 0
	}
	return Module{Name: name, Size: s, Refs: r}, nil
}

func users(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" && u != "-" && u != "[permanent]" {
			out = append(out, u)
		}
	}
	return out
}
