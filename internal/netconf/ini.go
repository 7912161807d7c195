package netconf

import "strings"

// iniFile is the common shape of NetworkManager keyfiles and systemd unit
// style .link files: [groups] of key=value lines, with the byte position of
// every line kept so that an edit can change one line and keep the rest.
type iniFile struct {
	Path   string
	Data   []byte
	Groups []iniGroup
}

type iniGroup struct {
	Name string
	Line int
	// HeadEnd is the offset just past the header line; LastEnd is just
	// past the group's last key line (HeadEnd when it has none).
	HeadEnd, LastEnd int
	Keys             []iniKey
}

type iniKey struct {
	Key, Value string
	Line       int
	// ValStart and ValEnd delimit the raw value on its line.
	ValStart, ValEnd int
}

type iniSyntax struct {
	comments     string // characters that start a comment line
	spacesAround bool   // "Key = Value" allowed (systemd), not in keyfiles
	continuation bool   // a trailing backslash continues the value (systemd)
}

func parseINI(path string, data []byte, syn iniSyntax) (*iniFile, error) {
	f := &iniFile{Path: path, Data: data}
	off, n := 0, 0
	for off < len(data) {
		n++
		end := off
		for end < len(data) && data[end] != '\n' {
			end++
		}
		next := end
		if next < len(data) {
			next++
		}
		line := string(data[off:end])
		trim := strings.TrimSpace(line)
		switch {
		case trim == "" || strings.ContainsRune(syn.comments, rune(trim[0])):
		case trim[0] == '[':
			if !strings.HasSuffix(trim, "]") || len(trim) < 3 || strings.ContainsAny(trim[1:len(trim)-1], "[]") {
				return nil, perr(path, n, "bad group header %q", trim)
			}
			f.Groups = append(f.Groups, iniGroup{Name: trim[1 : len(trim)-1], Line: n, HeadEnd: next, LastEnd: next})
		default:
			eq := strings.IndexByte(line, '=')
			if eq < 0 {
				return nil, perr(path, n, "not a key=value line: %q", trim)
			}
			key := line[:eq]
			if syn.spacesAround {
				key = strings.TrimSpace(key)
			} else {
				key = strings.TrimLeft(key, " \t")
				if strings.TrimRight(key, " \t") != key && strings.TrimSpace(key) == "" {
					return nil, perr(path, n, "empty key: %q", trim)
				}
				key = strings.TrimRight(key, " \t")
			}
			if key == "" || strings.ContainsAny(key, " \t") && !strings.Contains(key, "[") {
				return nil, perr(path, n, "bad key in %q", trim)
			}
			if len(f.Groups) == 0 {
				return nil, perr(path, n, "key %q before any [group]", key)
			}
			vs := off + eq + 1
			if syn.spacesAround {
				for vs < end && (data[vs] == ' ' || data[vs] == '\t') {
					vs++
				}
			}
			ve := end
			for ve > vs && (data[ve-1] == ' ' || data[ve-1] == '\t' || data[ve-1] == '\r') {
				ve--
			}
			val := string(data[vs:ve])
			// systemd: "Key=a \" + newline + "b" is one value.
			for syn.continuation && strings.HasSuffix(val, "\\") && next < len(data) {
				off, end = next, next
				for end < len(data) && data[end] != '\n' {
					end++
				}
				next = end
				if next < len(data) {
					next++
				}
				n++
				val = strings.TrimSuffix(val, "\\") + " " + strings.TrimSpace(string(data[off:end]))
				ve = end
			}
			// A continuation with no line left to continue is refused: a
			// key added after it would become part of its value
			// (FuzzLink: "0=\\" at the end of the file swallowed the
			// offload key written after it).
			if syn.continuation && strings.HasSuffix(val, "\\") {
				return nil, perr(path, n, "a backslash continues the value of %s past the end of the file", key)
			}
			g := &f.Groups[len(f.Groups)-1]
			g.Keys = append(g.Keys, iniKey{Key: key, Value: val, Line: n, ValStart: vs, ValEnd: ve})
			g.LastEnd = next
		}
		off = next
	}
	return f, nil
}

// get returns the last value of key in the last group named group, as the
// tools that read these files do for repeated keys.
func (f *iniFile) get(group, key string) (iniKey, bool) {
	for gi := len(f.Groups) - 1; gi >= 0; gi-- {
		g := f.Groups[gi]
		if g.Name != group {
			continue
		}
		for ki := len(g.Keys) - 1; ki >= 0; ki-- {
			if g.Keys[ki].Key == key {
				return g.Keys[ki], true
			}
		}
	}
	return iniKey{}, false
}

func (f *iniFile) value(group, key string) string {
	k, _ := f.get(group, key)
	return k.Value
}

// setKeys returns the file with each key of group set to its value: an
// existing key's value is replaced in place, a missing key is added after
// the group's last key, and a missing group is appended at the end.
func (f *iniFile) setKeys(group string, kv [][2]string) []byte {
	gi := -1
	for i := len(f.Groups) - 1; i >= 0; i-- {
		if f.Groups[i].Name == group {
			gi = i
			break
		}
	}
	var ss []Splice
	var add strings.Builder
	for _, p := range kv {
		if k, ok := f.get(group, p[0]); ok {
			if k.Value != p[1] {
				ss = append(ss, Splice{k.ValStart, k.ValEnd, p[1]})
			}
			continue
		}
		add.WriteString(p[0] + "=" + p[1] + "\n")
	}
	if add.Len() > 0 {
		if gi >= 0 {
			at := f.Groups[gi].LastEnd
			text := add.String()
			if at > 0 && f.Data[at-1] != '\n' {
				text = "\n" + text
			}
			ss = append(ss, Splice{at, at, text})
		} else {
			var pre string
			if n := len(f.Data); n > 0 {
				if f.Data[n-1] != '\n' {
					pre = "\n\n"
				} else if n < 2 || f.Data[n-2] != '\n' {
					pre = "\n"
				}
			}
			ss = append(ss, Splice{len(f.Data), len(f.Data), pre + "[" + group + "]\n" + add.String()})
		}
	}
	return ApplySplices(f.Data, ss)
}
