package netconf

import (
	"path/filepath"
	"strings"
)

// Ifcfg is one initscripts ifcfg-* file: a shell fragment of variable
// assignments that ifup sources. The parser keeps its bytes and the position of
// every assignment so that it can change one value and leave every other
// byte as it was.
type Ifcfg struct {
	// Path is where the file was read, as shown to the operator.
	Path string
	// Data is the file's content.
	Data []byte
	// Vars are the assignments in file order; a later one overrides an
	// earlier one of the same name, as in the shell.
	Vars []IfcfgVar
}

// IfcfgVar is one NAME=value assignment with its value as the shell sees it
// and where it is in the file, so that it can be edited in place.
type IfcfgVar struct {
	Name  string
	Value string // after quote removal and expansion of earlier variables
	Line  int    // line of NAME
	// Start and End delimit the raw value (after '='); End is where the
	// value stops.
	Start, End int
	// Quote is '"' or '\'' when the raw value ends with a quoted string,
	// and 0 otherwise; the closing quote is then at End-1.
	Quote byte
	// Dynamic is true when the value uses command substitution or a
	// parameter form the parser does not evaluate: its real value is unknown.
	Dynamic bool
}

// Get returns the effective assignment of name (the last one), because
// sourcing the file leaves the last value in force.
func (f *Ifcfg) Get(name string) (IfcfgVar, bool) {
	for i := len(f.Vars) - 1; i >= 0; i-- {
		if f.Vars[i].Name == name {
			return f.Vars[i], true
		}
	}
	return IfcfgVar{}, false
}

// Value returns the effective value of name, or "".
func (f *Ifcfg) Value(name string) string {
	v, _ := f.Get(name)
	return v.Value
}

// Device is the interface the file configures: DEVICE, or the name after
// "ifcfg-" as initscripts falls back to.
func (f *Ifcfg) Device() string {
	if d := f.Value("DEVICE"); d != "" {
		return d
	}
	return strings.TrimPrefix(filepath.Base(f.Path), "ifcfg-")
}

// IsBondMaster tells whether the file defines a bonding master, which
// initscripts recognises by TYPE=Bond or BONDING_OPTS (or, on old releases,
// by a DEVICE named bond*).
func (f *Ifcfg) IsBondMaster() bool {
	if strings.EqualFold(f.Value("TYPE"), "bond") {
		return true
	}
	if _, ok := f.Get("BONDING_OPTS"); ok {
		return true
	}
	return strings.HasPrefix(f.Device(), "bond") && f.Value("MASTER") == ""
}

// Master is the bond this interface is enslaved to (MASTER with SLAVE=yes),
// or "".
func (f *Ifcfg) Master() string {
	m := f.Value("MASTER")
	if m == "" {
		return ""
	}
	switch strings.ToLower(f.Value("SLAVE")) {
	case "yes", "true", "1", "y":
		return m
	}
	return ""
}

// IgnoredIfcfg reports whether initscripts skips this file name (backup and
// package-manager leftovers), so that a reader does not count them as a
// second file for a device.
func IgnoredIfcfg(name string) bool {
	for _, suf := range []string{"~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return strings.HasPrefix(name, ".")
}

// ParseIfcfg parses an ifcfg file with the shell's quoting rules: single
// and double quotes, backslash escapes and continuations, comments, and
// $NAME/${NAME} expansion of variables assigned earlier in the file. A line
// that is not an assignment, a comment or blank, or an unterminated quote, is
// an error naming the file and line: such a file would not source cleanly,
// and remedy will not edit what it cannot read.
func ParseIfcfg(path string, data []byte) (*Ifcfg, error) {
	f := &Ifcfg{Path: path, Data: data}
	env := map[string]string{}
	p := &shParser{data: data, path: path}
	for {
		p.skipBlank()
		if p.i >= len(data) {
			break
		}
		c := data[p.i]
		if c == '\n' || c == ';' {
			p.i++
			continue
		}
		if c == '#' {
			p.skipComment()
			continue
		}
		line := lineAt(data, p.i)
		if strings.HasPrefix(string(data[p.i:]), "export ") || strings.HasPrefix(string(data[p.i:]), "export\t") {
			p.i += len("export")
			p.skipBlank()
		}
		start := p.i
		for p.i < len(data) && isNameByte(data[p.i], p.i == start) {
			p.i++
		}
		if p.i == start || p.i >= len(data) || data[p.i] != '=' {
			end := p.i
			for end < len(data) && data[end] != '\n' {
				end++
			}
			return nil, perr(path, line, "not a shell variable assignment: %q", string(data[start:end]))
		}
		v := IfcfgVar{Name: string(data[start:p.i]), Line: line}
		p.i++
		v.Start = p.i
		val, quote, dyn, err := p.value(env)
		if err != nil {
			return nil, err
		}
		v.End, v.Value, v.Quote, v.Dynamic = p.i, val, quote, dyn
		env[v.Name] = val
		f.Vars = append(f.Vars, v)
		// After a value: blanks, then end of line, a comment or ';'.
		p.skipBlank()
		if p.i < len(data) {
			switch data[p.i] {
			case '\n', ';':
			case '#':
				p.skipComment()
			default:
				return nil, perr(path, lineAt(data, p.i), "unexpected %q after %s=...: a value with blanks must be quoted", string(data[p.i]), v.Name)
			}
		}
	}
	// The device and its bond are interface names that plan writes into
	// files and commands: they must be names the kernel would take.
	if v, ok := f.Get("DEVICE"); ok && v.Value != "" {
		if err := checkName(path, v.Line, "DEVICE", v.Value); err != nil {
			return nil, err
		}
	} else if err := checkName(path, 0, "the interface named by the file name", f.Device()); err != nil {
		return nil, err
	}
	if v, ok := f.Get("MASTER"); ok && v.Value != "" {
		if err := checkName(path, v.Line, "MASTER", v.Value); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
}

type shParser struct {
	data []byte
	path string
	i    int
}

func (p *shParser) skipBlank() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\r':
			p.i++
		case '\\':
			if p.i+1 < len(p.data) && p.data[p.i+1] == '\n' {
				p.i += 2
				continue
			}
			return
		default:
			return
		}
	}
}

func (p *shParser) skipComment() {
	for p.i < len(p.data) && p.data[p.i] != '\n' {
		p.i++
	}
}

// value reads one shell word starting at p.i and returns its value, the kind
// of quote that ends it, and whether it is dynamic.
func (p *shParser) value(env map[string]string) (string, byte, bool, error) {
	var b strings.Builder
	var quote byte
	dyn := false
	d := p.data
	for p.i < len(d) {
		c := d[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';':
			return b.String(), quote, dyn, nil
		case c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')':
			return "", 0, false, perr(p.path, lineAt(d, p.i), "unquoted shell metacharacter %q in a value", string(c))
		case c == '\'':
			start := p.i
			p.i++
			for p.i < len(d) && d[p.i] != '\'' {
				b.WriteByte(d[p.i])
				p.i++
			}
			if p.i >= len(d) {
				return "", 0, false, perr(p.path, lineAt(d, start), "unterminated single quote")
			}
			p.i++
			quote = '\''
			continue
		case c == '"':
			start := p.i
			p.i++
			closed := false
			for p.i < len(d) {
				c := d[p.i]
				if c == '"' {
					closed = true
					p.i++
					break
				}
				if c == '\\' && p.i+1 < len(d) {
					n := d[p.i+1]
					switch n {
					case '$', '`', '"', '\\':
						b.WriteByte(n)
						p.i += 2
						continue
					case '\n':
						p.i += 2
						continue
					}
					b.WriteByte(c)
					p.i++
					continue
				}
				if c == '$' || c == '`' {
					if p.expand(&b, env) {
						dyn = true
					}
					continue
				}
				b.WriteByte(c)
				p.i++
			}
			if !closed {
				return "", 0, false, perr(p.path, lineAt(d, start), "unterminated double quote")
			}
			quote = '"'
			continue
		case c == '\\':
			if p.i+1 >= len(d) {
				// A backslash ending the file escapes nothing, and the
				// value no longer ends with a quoted string.
				p.i++
				break
			}
			if d[p.i+1] != '\n' {
				b.WriteByte(d[p.i+1])
			}
			p.i += 2
		case c == '$' || c == '`':
			if p.expand(&b, env) {
				dyn = true
			}
		default:
			b.WriteByte(c)
			p.i++
		}
		quote = 0
	}
	return b.String(), quote, dyn, nil
}

// expand handles $NAME, ${NAME}, and marks $(...), `...`, ${NAME...} forms
// and positional parameters as dynamic, skipping over them. It returns true
// when the value became dynamic.
func (p *shParser) expand(b *strings.Builder, env map[string]string) bool {
	d := p.data
	if d[p.i] == '`' {
		p.i++
		for p.i < len(d) && d[p.i] != '`' && d[p.i] != '\n' {
			p.i++
		}
		if p.i < len(d) && d[p.i] == '`' {
			p.i++
		}
		return true
	}
	p.i++ // '$'
	if p.i >= len(d) {
		b.WriteByte('$')
		return false
	}
	switch c := d[p.i]; {
	case c == '{':
		end := p.i + 1
		for end < len(d) && d[end] != '}' && d[end] != '\n' {
			end++
		}
		name := string(d[p.i+1 : min(end, len(d))])
		if end < len(d) && d[end] == '}' {
			end++
		}
		p.i = end
		if isName(name) {
			b.WriteString(env[name])
			return false
		}
		return true
	case c == '(':
		depth := 0
		for p.i < len(d) && d[p.i] != '\n' {
			if d[p.i] == '(' {
				depth++
			} else if d[p.i] == ')' {
				depth--
				if depth == 0 {
					p.i++
					break
				}
			}
			p.i++
		}
		return true
	case isNameByte(c, true):
		start := p.i
		for p.i < len(d) && isNameByte(d[p.i], false) {
			p.i++
		}
		b.WriteString(env[string(d[start:p.i])])
		return false
	case c >= '0' && c <= '9' || strings.IndexByte("@*#?$!-", c) >= 0:
		p.i++
		return true
	default:
		b.WriteByte('$')
		return false
	}
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

// EthtoolOpt is one ';'-separated part of ETHTOOL_OPTS as initscripts runs
// it: with a '-' anywhere it is "ethtool PART" (and must name its device),
// otherwise "ethtool -s DEVICE PART".
type EthtoolOpt struct {
	Raw    string
	Args   []string
	Legacy bool // no '-': run as ethtool -s DEVICE PART
	// Offload is set for -K/--offload/--features parts: the device they
	// name and their feature settings in order (name as written, "on"/"off").
	Offload *OffloadOpt
}

// OffloadOpt is an ethtool -K invocation: which device and which feature
// settings.
type OffloadOpt struct {
	Device   string
	Settings [][2]string
}

// SplitEthtoolOpts splits an ETHTOOL_OPTS value the way initscripts'
// ethtool_set does: on ';', each part word-split on blanks.
func SplitEthtoolOpts(v string) []EthtoolOpt {
	var out []EthtoolOpt
	for _, part := range strings.Split(v, ";") {
		args := strings.Fields(part)
		if len(args) == 0 {
			continue
		}
		o := EthtoolOpt{Raw: part, Args: args, Legacy: !strings.Contains(part, "-")}
		if !o.Legacy {
			switch args[0] {
			case "-K", "--offload", "--features":
				oo := &OffloadOpt{}
				if len(args) > 1 {
					oo.Device = args[1]
				}
				for i := 2; i+1 < len(args); i += 2 {
					oo.Settings = append(oo.Settings, [2]string{args[i], args[i+1]})
				}
				o.Offload = oo
			}
		}
		out = append(out, o)
	}
	return out
}
