package dump

import (
	"fmt"
	"strings"
)

// maxVMCOREINFO bounds the text ParseVMCOREINFO accepts: the kernel's
// buffer is one page (VMCOREINFO_BYTES); a few pages allow for big ones.
const maxVMCOREINFO = 1 << 20

// ParseVMCOREINFO splits VMCOREINFO text into its KEY=VALUE pairs, keys
// verbatim ("OSRELEASE", "SYMBOL(init_uts_ns)", "OFFSET(uts_namespace.name)",
// "NUMBER(phys_base)", "SIZE(page)", "LENGTH(mem_section)", "CRASHTIME",
// "KERNELOFFSET", "BUILD-ID", "CONFIG_X86_PAE", …), values verbatim: the
// encodings differ by key (SYMBOL and KERNELOFFSET are hex without 0x,
// SIZE/OFFSET/LENGTH decimal, NUMBER decimal or 0x-hex, CRASHTIME decimal)
// and decoding them is the caller's business. A later duplicate key wins,
// as in the kernel's readers. The last line may lack its "\n" (CRASHTIME
// is appended at crash time); NUL padding ends the text. Malformed lines
// (no "=", an empty or unbalanced key) are an error naming the line, after
// the good lines have been collected into the map returned with it.
func ParseVMCOREINFO(s string) (map[string]string, error) {
	if len(s) > maxVMCOREINFO {
		return nil, fmt.Errorf("vmcoreinfo: %d bytes, more than %d", len(s), maxVMCOREINFO)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	m := make(map[string]string)
	var bad []string
	line := 0
	for len(s) > 0 {
		line++
		var l string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, ""
		}
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		eq := strings.IndexByte(l, '=')
		if eq <= 0 {
			bad = append(bad, fmt.Sprintf("line %d %q: no KEY=", line, trunc(l)))
			continue
		}
		k := l[:eq]
		if !validKey(k) {
			bad = append(bad, fmt.Sprintf("line %d %q: bad key", line, trunc(l)))
			continue
		}
		m[k] = l[eq+1:]
	}
	if len(bad) > 0 {
		if len(bad) > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		return m, fmt.Errorf("vmcoreinfo: %s", strings.Join(bad, "; "))
	}
	return m, nil
}

// validKey accepts NAME or KIND(arg) keys of printable characters.
func validKey(k string) bool {
	open := strings.IndexByte(k, '(')
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	if open < 0 {
		return !strings.ContainsRune(k, ')')
	}
	return open > 0 && strings.HasSuffix(k, ")") && len(k) > open+2 && strings.Count(k, "(") == 1 && strings.Count(k, ")") == 1
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
