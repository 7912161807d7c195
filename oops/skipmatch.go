package oops

import (
	"regexp"
	"strings"
)

// nameMatcher matches function names against a list of anchored patterns.
// Most patterns are plain prefixes ("^kmalloc") or names ("^kfree$"): those
// are checked with string comparisons, and only the rest go to one regexp,
// because a regexp alternation of hundreds of branches costs microseconds
// per name.
type nameMatcher struct {
	exact    map[string]bool
	prefixes []string
	rest     *regexp.Regexp // nil when every pattern was plain
}

func newNameMatcher(patterns []string) *nameMatcher {
	m := &nameMatcher{exact: map[string]bool{}}
	var rest []string
	for _, p := range patterns {
		body := strings.TrimPrefix(p, "^")
		exact := strings.HasSuffix(body, "$")
		body = strings.TrimSuffix(body, "$")
		if !strings.HasPrefix(p, "^") || body == "" || strings.ContainsAny(body, `\.[]()*+?|{}^$`) {
			rest = append(rest, p)
			continue
		}
		if exact {
			m.exact[body] = true
		} else {
			m.prefixes = append(m.prefixes, body)
		}
	}
	if len(rest) > 0 {
		m.rest = regexp.MustCompile(strings.Join(rest, "|"))
	}
	return m
}

func (m *nameMatcher) match(fn string) bool {
	if m.exact[fn] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return m.rest != nil && m.rest.MatchString(fn)
}
