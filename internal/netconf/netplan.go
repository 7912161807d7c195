package netconf

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/ktriage/ktriage/internal/yamlshape"
)

// Netplan is one netplan YAML file (/etc/netplan/*.yaml). netplan renders
// its ethernets' offload keys into systemd .link files at boot, so on an
// Ubuntu host this is where an offload setting persists.
type Netplan struct {
	Path      string
	Data      []byte
	Renderer  string
	Ethernets []*NetplanEthernet
	// Bonds maps a bond's name to its interfaces (ethernet ids).
	Bonds map[string][]string
}

// NetplanEthernet is one entry under network.ethernets.
type NetplanEthernet struct {
	ID string
	// Name is the interface name: set-name, else match.name when it is not
	// a glob, else the id itself when there is no match.
	Name     string
	MAC      string
	Renderer string
	Line     int
	// indent is the column (0-based) of the entry's keys; endLine the last
	// line (1-based) of its block; flow is true for {...} style.
	indent  int
	endLine int
	flow    bool
	// Settings are the entry's scalar keys (value as written, line).
	Settings map[string]NetplanValue
}

// NetplanValue is a scalar setting of an ethernets entry as written, and
// its line.
type NetplanValue struct {
	Value string
	Line  int
}

// ParseNetplan parses a netplan YAML file. YAML that does not parse, or a
// network/ethernets/bonds node of the wrong kind, is an error naming the
// file and line.
func ParseNetplan(path string, data []byte) (np *Netplan, err error) {
	defer func() {
		if r := recover(); r != nil {
			np, err = nil, perr(path, 0, "YAML parser failed on this input: %v", r)
		}
	}()
	if se := yamlshape.Check(data); se != nil {
		return nil, perr(path, se.Line, "%s", se.Msg)
	}
	f, perror := parser.ParseBytes(data, 0)
	if perror != nil {
		return nil, &ParseError{File: path, Msg: "invalid YAML", Err: perror}
	}
	np = &Netplan{Path: path, Data: data, Bonds: map[string][]string{}}
	// bondIfaces keeps each bond interface's line, to check the names once
	// every ethernet is known.
	type bondIface struct {
		id   string
		line int
	}
	var bondIfaces []bondIface
	lines := strings.Split(string(data), "\n")
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		top, ok := entries(doc.Body)
		if !ok {
			return nil, perr(path, nodeLine(doc.Body), "top level is not a mapping")
		}
		for _, kv := range top {
			if keyName(kv) != "network" {
				continue
			}
			netw, ok := entries(kv.Value)
			if !ok {
				return nil, perr(path, nodeLine(kv.Value), "network: is not a mapping")
			}
			for _, sec := range netw {
				switch keyName(sec) {
				case "renderer":
					np.Renderer = scalar(sec.Value)
				case "ethernets":
					eths, ok := entries(sec.Value)
					if !ok {
						return nil, perr(path, nodeLine(sec.Value), "ethernets: is not a mapping")
					}
					for _, e := range eths {
						ne, err := netplanEthernet(path, lines, e)
						if err != nil {
							return nil, err
						}
						np.Ethernets = append(np.Ethernets, ne)
					}
				case "bonds":
					bonds, ok := entries(sec.Value)
					if !ok {
						return nil, perr(path, nodeLine(sec.Value), "bonds: is not a mapping")
					}
					for _, b := range bonds {
						if err := checkName(path, nodeLine(b.Key), "bonds", keyName(b)); err != nil {
							return nil, err
						}
						props, _ := entries(b.Value)
						for _, p := range props {
							if keyName(p) != "interfaces" {
								continue
							}
							seq, ok := p.Value.(*ast.SequenceNode)
							if !ok {
								return nil, perr(path, nodeLine(p.Value), "bonds.%s.interfaces is not a list", keyName(b))
							}
							for _, v := range seq.Values {
								np.Bonds[keyName(b)] = append(np.Bonds[keyName(b)], scalar(v))
								bondIfaces = append(bondIfaces, bondIface{scalar(v), nodeLine(v)})
							}
						}
					}
				}
			}
		}
	}
	// A bond's interface is an ethernets id; the id is the interface's
	// name unless that ethernet matches by other means.
	for _, bi := range bondIfaces {
		named := false
		for _, e := range np.Ethernets {
			named = named || e.ID == bi.id
		}
		if !named {
			if err := checkName(path, bi.line, "bond interfaces", bi.id); err != nil {
				return nil, err
			}
		}
	}
	return np, nil
}

func netplanEthernet(path string, lines []string, e *ast.MappingValueNode) (*NetplanEthernet, error) {
	ne := &NetplanEthernet{ID: keyName(e), Line: nodeLine(e.Key), Settings: map[string]NetplanValue{}}
	if ne.ID == "" {
		return nil, perr(path, ne.Line, "ethernets entry without a name")
	}
	props, ok := entries(e.Value)
	if !ok {
		if e.Value == nil || e.Value.Type() == ast.NullType {
			ne.flow = true // "eth0:" with nothing: no block to add to
			return ne.finish(), nil
		}
		return nil, perr(path, nodeLine(e.Value), "ethernets.%s is not a mapping", ne.ID)
	}
	if m, ok := e.Value.(*ast.MappingNode); ok && m.IsFlowStyle {
		ne.flow = true
	}
	var matchName string
	hasMatch := false
	for _, p := range props {
		k := keyName(p)
		switch k {
		case "match":
			hasMatch = true
			ms, _ := entries(p.Value)
			for _, m := range ms {
				switch keyName(m) {
				case "name":
					matchName = scalar(m.Value)
				case "macaddress":
					ne.MAC = strings.ToLower(scalar(m.Value))
				}
			}
		case "set-name":
			ne.Name = scalar(p.Value)
		case "renderer":
			ne.Renderer = scalar(p.Value)
		default:
			if _, isScalar := p.Value.(ast.ScalarNode); isScalar {
				ne.Settings[k] = NetplanValue{scalar(p.Value), nodeLine(p.Key)}
			}
		}
		if !ne.flow && ne.indent == 0 {
			if tk := p.Key.GetToken(); tk != nil && tk.Position != nil {
				ne.indent = tk.Position.Column - 1
			}
		}
	}
	if ne.Name == "" {
		switch {
		case matchName != "" && !strings.ContainsAny(matchName, "*?["):
			ne.Name = matchName
		case !hasMatch:
			ne.Name = ne.ID
		}
	}
	if ne.Name != "" {
		if err := checkName(path, ne.Line, "ethernets."+ne.ID, ne.Name); err != nil {
			return nil, err
		}
	}
	if !ne.flow {
		// The block runs on while lines are blank or indented deeper
		// than the entry's own key.
		keyIndent := indentOf(lines[ne.Line-1])
		ne.endLine = ne.Line
		for i := ne.Line; i < len(lines); i++ {
			t := strings.TrimSpace(lines[i])
			if t == "" {
				continue
			}
			if indentOf(lines[i]) <= keyIndent {
				break
			}
			ne.endLine = i + 1
		}
		if ne.indent <= keyIndent {
			return nil, perr(path, ne.Line, "cannot tell the indentation of ethernets.%s", ne.ID)
		}
	}
	return ne.finish(), nil
}

func (ne *NetplanEthernet) finish() *NetplanEthernet { return ne }

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// entries returns the key/value pairs of a mapping node (goccy gives a
// one-entry mapping as a bare MappingValueNode).
func entries(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	case *ast.TagNode:
		return entries(m.Value)
	case *ast.AnchorNode:
		return entries(m.Value)
	}
	return nil, false
}

func keyName(kv *ast.MappingValueNode) string {
	if kv == nil || kv.Key == nil {
		return ""
	}
	return scalar(kv.Key)
}

func scalar(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return fmt.Sprint(n)
}

func nodeLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// Ethernet finds the entry configuring interface dev (by name, or by MAC
// when mac is known).
func (np *Netplan) Ethernet(dev, mac string) *NetplanEthernet {
	for _, e := range np.Ethernets {
		if e.Name == dev || (mac != "" && e.MAC == mac && e.Name == "") {
			return e
		}
	}
	return nil
}

// NetplanBool reads a netplan boolean as netplan does (true/on/yes/y,
// false/off/no/n); ok is false for anything else.
func NetplanBool(v string) (on, ok bool) {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "y":
		return true, true
	case "false", "off", "no", "n":
		return false, true
	}
	return false, false
}

// SetOffloads returns the file with the given keys added to ethernets.ID as
// lines at the entry's indentation after its last line. Existing keys are
// left to the caller (it refuses or skips them). A flow-style entry cannot
// be extended without rewriting it, and is an error, as is an insertion
// whose result does not read back with the keys set.
func (np *Netplan) SetOffloads(e *NetplanEthernet, kv [][2]string) ([]byte, error) {
	if e.flow {
		return nil, perr(np.Path, e.Line, "ethernets.%s is written in flow style ({...}) or empty: rewrite it as a block mapping, then run remedy again", e.ID)
	}
	// Offset just past endLine.
	off, line := 0, 1
	for off < len(np.Data) && line <= e.endLine {
		if np.Data[off] == '\n' {
			line++
		}
		off++
	}
	var b strings.Builder
	if off > 0 && np.Data[off-1] != '\n' {
		b.WriteByte('\n')
	}
	pad := strings.Repeat(" ", e.indent)
	for _, p := range kv {
		b.WriteString(pad + p[0] + ": " + p[1] + "\n")
	}
	out := ApplySplices(np.Data, []Splice{{off, off, b.String()}})
	// The insertion trusts the entry's lines as goccy read them, and goccy
	// accepts some text the YAML spec (and netplan) does not: read the
	// result back, and refuse rather than write a file netplan rejects.
	np2, err := ParseNetplan(np.Path, out)
	var e2 *NetplanEthernet
	if err == nil {
		for _, x := range np2.Ethernets {
			if x.ID == e.ID {
				e2 = x
			}
		}
	}
	for _, p := range kv {
		if e2 == nil || e2.Settings[p[0]].Value != p[1] {
			why := "it does not read back"
			if err != nil {
				why = err.Error()
			}
			return nil, perr(np.Path, e.Line, "adding %s to ethernets.%s would leave a file netplan cannot read (%s): add it by hand", p[0], e.ID, why)
		}
	}
	return out, nil
}
