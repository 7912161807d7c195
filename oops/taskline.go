package oops

import (
	"strconv"
	"strings"
)

// taskLine is what the kernel's task and version line says, in any of its
// generations:
//
//	CPU: 3 PID: 0 Comm: swapper/3 Kdump: loaded Tainted: G  OE --------- -  - 4.18.0-305.el8.x86_64 #1
//	CPU: 1 UID: 0 PID: 2 Comm: kthreadd Not tainted 6.12.0 #1
//	Pid: 0, comm: swapper Not tainted 2.6.32-504.23.4.el6.x86_64 #1 HP ProLiant DL380p Gen8
//	     Not tainted 3.10.0-1160.el7.x86_64 #1          (hung task)
//	6.1.0-rc5 #12 Not tainted                          (lockdep)
type taskLine struct {
	cpu, pid *int
	comm     string
	tainted  *string
	release  string
	hardware string // only the 2.6.x "Pid:" line puts the machine after the version
}

// parseTaskLine reads a task/version line; ok is false for other lines.
func parseTaskLine(t string) (tl taskLine, ok bool) {
	t = strings.TrimSpace(t)
	notTainted := strings.Index(t, "Not tainted")
	taintedAt := strings.Index(t, "Tainted: ")
	if notTainted < 0 && taintedAt < 0 {
		return tl, false
	}
	// The release is the token before the first " #" that looks like one.
	rest := t
	relEnd := -1
	for off := 0; ; {
		i := strings.Index(rest[off:], " #")
		if i < 0 {
			break
		}
		i += off
		j := strings.LastIndexByte(rest[:i], ' ')
		// arm and ppc before 3.19 put the release in parentheses:
		// "CPU: 0    Not tainted  (3.4.103 #2)".
		tok := strings.TrimPrefix(rest[j+1:i], "(")
		if looksLikeRelease(tok) {
			tl.release = tok
			relEnd = i
			break
		}
		off = i + 2
	}
	taintEnd := relEnd
	if tl.release == "" && strings.HasPrefix(t, "Pid: ") {
		// 2.6.9's task line has no build number after the release:
		// "Pid: 4321, comm: ls Not tainted 2.6.9-89.ELsmp".
		from := max(notTainted, taintedAt)
		for _, tok := range strings.Fields(t[from:]) {
			if looksLikeRelease(tok) {
				tl.release = tok
				taintEnd = from + strings.Index(t[from:], tok) + len(tok)
				break
			}
		}
	}
	if notTainted >= 0 {
		e := ""
		tl.tainted = &e
	} else {
		end := len(t)
		if taintEnd >= 0 && taintEnd > taintedAt {
			end = taintEnd - len(tl.release)
		}
		var b strings.Builder
		for _, c := range t[taintedAt+len("Tainted: ") : end] {
			if c >= 'A' && c <= 'Z' && c != 'G' {
				b.WriteRune(c)
			}
		}
		e := b.String()
		tl.tainted = &e
	}
	if v, ok := intAfter(t, "CPU: "); ok {
		tl.cpu = &v
	}
	if v, ok := intAfter(t, "PID: "); ok {
		tl.pid = &v
	}
	if c := wordAfter(t, "Comm: "); c != "" {
		tl.comm = c
	}
	if strings.HasPrefix(t, "Pid: ") {
		if v, ok := intAfter(t, "Pid: "); ok {
			tl.pid = &v
		}
		tl.comm = wordAfter(t, "comm: ")
		if relEnd >= 0 {
			// "... #1 HP ProLiant DL380p Gen8"
			after := strings.TrimSpace(t[relEnd+2:])
			if k := strings.IndexByte(after, ' '); k >= 0 {
				tl.hardware = strings.TrimSpace(after[k+1:])
			}
		}
	}
	return tl, true
}

func looksLikeRelease(tok string) bool {
	return len(tok) >= 3 && tok[0] >= '0' && tok[0] <= '9' && strings.IndexByte(tok, '.') > 0
}

func intAfter(t, key string) (int, bool) {
	i := strings.Index(t, key)
	if i < 0 {
		return 0, false
	}
	s := t[i+len(key):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	v, err := strconv.Atoi(s[:j])
	return v, err == nil
}

func wordAfter(t, key string) string {
	i := strings.Index(t, key)
	if i < 0 {
		return ""
	}
	s := strings.TrimLeft(t[i+len(key):], " ")
	if j := strings.IndexByte(s, ' '); j >= 0 {
		s = s[:j]
	}
	return strings.TrimRight(s, ",")
}
