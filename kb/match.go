package kb

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ktriage/ktriage/oops"
)

// Crash is what the matcher knows of one crash. The caller fills it from a
// parsed report; function names may carry offsets, modules and compiler
// suffixes, which the matcher removes (see NormalizeFunction).
type Crash struct {
	// Title is the syzkaller-style title ("kernel BUG in tcp_sendmsg").
	Title string
	// Type is the syzkaller crash type (BUG, WARNING, DoS, ...).
	Type string
	// Guilty is the guilty function.
	Guilty string
	// Frames are the call trace's function names, RIP function first.
	Frames []string
	// Location is the file:line the kernel printed, if any.
	Location string
	// Modules are the loaded modules.
	Modules []string
	// Release is the kernel release (uname -r).
	Release string
	// PackageVersion is the distribution package version of the kernel when
	// known (Debian and Ubuntu print it after "#1 SMP ... Debian"); ranges
	// in the deb scheme compare against it.
	PackageVersion string
}

// Match is a knowledge-base entry that a crash matches, with the reasons.
type Match struct {
	Entry *Entry
	// Evidence are sentences, one per condition that held.
	Evidence []string
}

// NormalizeFunction reduces a trace entry to a bare function name: it drops
// a "? " marker, a "+0x5c/0x70" offset, a " [module]" tag and compiler clone
// suffixes (.isra.N, .constprop.N, .part.N, .cold, .llvm.N), by oops's one
// rule for them.
func NormalizeFunction(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "? ")
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	return oops.StripCloneSuffixes(s)
}

// normalizeModule folds the '-' and '_' spellings of module names.
func normalizeModule(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
}

// Match returns the entries whose match rule the crash satisfies, in the
// knowledge base's order, each with evidence.
func (k *KB) Match(c Crash) []Match {
	c = normalizeCrash(c)
	var out []Match
	for _, e := range k.entries {
		if ev, ok := e.match(&c); ok {
			out = append(out, Match{Entry: e, Evidence: ev})
		}
	}
	return out
}

// matchCrash reports whether the crash satisfies the entry's match rule, with
// the evidence.
func (e *Entry) matchCrash(c Crash) (Match, bool) {
	c = normalizeCrash(c)
	ev, ok := e.match(&c)
	if !ok {
		return Match{}, false
	}
	return Match{Entry: e, Evidence: ev}, true
}

func normalizeCrash(c Crash) Crash {
	c.Guilty = NormalizeFunction(c.Guilty)
	frames := make([]string, 0, len(c.Frames))
	for _, f := range c.Frames {
		if f = NormalizeFunction(f); f != "" {
			frames = append(frames, f)
		}
	}
	c.Frames = frames
	c.Title = strings.TrimSpace(c.Title)
	c.Type = strings.TrimSpace(c.Type)
	c.Release = strings.TrimSpace(c.Release)
	c.PackageVersion = strings.TrimSpace(c.PackageVersion)
	return c
}

// match tries each effective block and returns the evidence of the first
// that holds.
func (e *Entry) match(c *Crash) ([]string, bool) {
	for _, b := range e.blocks {
		if ev, ok := b.eval(c); ok {
			if len(e.blocks) > 1 {
				ev = append([]string{fmt.Sprintf("signature %d of %d", b.index+1, len(e.blocks))}, ev...)
			}
			return ev, true
		}
	}
	return nil, false
}

// eval checks a block and its parent; every condition must hold.
func (b *compiledBlock) eval(c *Crash) ([]string, bool) {
	ev, ok := b.evalOwn(c)
	if !ok {
		return nil, false
	}
	if b.parent != nil {
		pev, ok := b.parent.evalOwn(c)
		if !ok {
			return nil, false
		}
		ev = append(ev, pev...)
	}
	return ev, true
}

func (b *compiledBlock) evalOwn(c *Crash) ([]string, bool) {
	var ev []string
	if len(b.types) > 0 {
		if !slices.ContainsFunc(b.types, func(t string) bool { return strings.EqualFold(t, c.Type) }) {
			return nil, false
		}
		ev = append(ev, fmt.Sprintf("crash type %s is one of %s", c.Type, strings.Join(b.types, ", ")))
	}
	// The pattern conditions: the value must match one of the patterns; a
	// guilty function or location the crash lacks matches none.
	for _, p := range []struct {
		res       []*regexp.Regexp
		value     string
		mayBeNone bool   // an empty value is still matched against
		whole     bool   // the patterns are anchored (see anchored)
		evidence  string // format of value and pattern as written
	}{
		{b.titles, c.Title, true, false, "title %q matches /%s/"},
		{b.functions, c.Guilty, false, true, "guilty function %s matches /%s/"},
		{b.locations, c.Location, false, false, "bug location %s matches /%s/"},
	} {
		if len(p.res) == 0 {
			continue
		}
		if p.value == "" && !p.mayBeNone {
			return nil, false
		}
		re := firstMatch(p.res, p.value)
		if re == nil {
			return nil, false
		}
		pat := re.String()
		if p.whole {
			pat = unanchor(re)
		}
		ev = append(ev, fmt.Sprintf(p.evidence, p.value, pat))
	}
	if len(b.frames) > 0 {
		found := false
		for _, seq := range b.frames {
			if got, ok := subsequence(seq, c.Frames); ok {
				ev = append(ev, fmt.Sprintf("frames %s in order", strings.Join(got, " → ")))
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	if len(b.modules) > 0 {
		found := ""
		for _, want := range b.modules {
			for _, have := range c.Modules {
				if normalizeModule(want) == normalizeModule(have) {
					found = have
					break
				}
			}
			if found != "" {
				break
			}
		}
		if found == "" {
			return nil, false
		}
		ev = append(ev, fmt.Sprintf("module %s is loaded", found))
	}
	if len(b.releases) > 0 {
		if c.Release == "" && c.PackageVersion == "" {
			ev = append(ev, "kernel release unknown: release ranges not checked")
		} else {
			found := false
			for i := range b.releases {
				if s, ok := b.releases[i].contains(c); ok {
					ev = append(ev, s)
					found = true
					break
				}
			}
			if !found {
				return nil, false
			}
		}
	}
	return ev, true
}

// contains reports whether the crash's kernel falls in the range, with the
// evidence sentence.
func (r *compiledRange) contains(c *Crash) (string, bool) {
	v, text, ok := crashVersion(r.Scheme, c)
	if !ok {
		return "", false
	}
	if r.hasLo && compareSchemeVersions(v, r.lo) < 0 {
		return "", false
	}
	if r.hasHi && compareSchemeVersions(v, r.hi) >= 0 {
		return "", false
	}
	return fmt.Sprintf("release %s in %s", text, r.Range.String()), true
}

// subsequence finds the patterns in order (not necessarily adjacent) in
// frames and returns the matched names. Greedy earliest matching finds a
// subsequence whenever one exists.
func subsequence(seq []*regexp.Regexp, frames []string) ([]string, bool) {
	got := make([]string, 0, len(seq))
	i := 0
	for _, f := range frames {
		if i == len(seq) {
			break
		}
		if seq[i].MatchString(f) {
			got = append(got, f)
			i++
		}
	}
	return got, i == len(seq)
}

func firstMatch(res []*regexp.Regexp, s string) *regexp.Regexp {
	for _, re := range res {
		if re.MatchString(s) {
			return re
		}
	}
	return nil
}

// unanchor shows a whole-name pattern as the author wrote it.
func unanchor(re *regexp.Regexp) string {
	s := re.String()
	s = strings.TrimPrefix(s, "^(?:")
	return strings.TrimSuffix(s, ")$")
}
