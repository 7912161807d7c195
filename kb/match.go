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

// Confidence is how sure a match is.
type Confidence int

// The confidences of a match, weakest first.
const (
	// Possible: only the guilty function agrees, or every condition holds
	// but the kernel's release is outside the affected ranges (fixed in
	// this kernel already?).
	Possible Confidence = iota + 1
	// Likely: every condition of a signature holds, but the release is
	// unknown, so the affected ranges could not be checked.
	Likely
	// Exact: every condition of a signature holds and the release is in an
	// affected range, stated or implied by the fix's first release.
	Exact
)

// String names the confidence as JSON and the text output spell it.
func (c Confidence) String() string {
	switch c {
	case Exact:
		return "exact"
	case Likely:
		return "likely"
	case Possible:
		return "possible"
	}
	return "none"
}

// Match is a knowledge-base entry that a crash matches, with the reasons.
type Match struct {
	Entry *Entry
	// Confidence is how sure the match is; Why says it in a sentence.
	Confidence Confidence
	Why        string
	// Evidence are sentences, one per condition that held.
	Evidence []string
}

// CrashOf builds the matcher's view of a parsed report: its title, type,
// guilty function, the RIP function followed by the reliable frames, the
// bug location, modules and release.
func CrashOf(r *oops.Report) Crash {
	c := Crash{Title: r.Title, Type: r.Type, Modules: r.Modules}
	if r.GuiltyFunction != nil {
		c.Guilty = *r.GuiltyFunction
	}
	if r.RIP != nil {
		c.Frames = append(c.Frames, r.RIP.Function)
	}
	for _, f := range r.Frames {
		if f.Reliable {
			c.Frames = append(c.Frames, f.Function)
		}
	}
	if r.BugLocation != nil {
		c.Location = *r.BugLocation
	}
	if r.Release != nil {
		c.Release = *r.Release
	}
	return c
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

// Match returns the entries the crash matches at any confidence, in the
// knowledge base's order, each with its confidence and evidence.
func (k *KB) Match(c Crash) []Match {
	c = normalizeCrash(c)
	var out []Match
	for _, e := range k.entries {
		if m, ok := e.match(&c); ok {
			out = append(out, m)
		}
	}
	return out
}

// matchCrash reports whether the crash matches the entry at any confidence.
func (e *Entry) matchCrash(c Crash) (Match, bool) {
	c = normalizeCrash(c)
	return e.match(&c)
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

// releaseState is what a block's release ranges say of a crash.
type releaseState int

const (
	releaseNoRanges releaseState = iota // the block lists no ranges
	releaseUnknown                      // the crash's release is unknown
	releaseIn                           // in one of the ranges
	releaseOut                          // known and in none of them
)

// match tries each effective block and returns the strongest match: a block
// whose conditions hold is exact with its release in range, likely with
// the release unknown, possible with the release out of range; failing
// every block, a guilty function that one of the entry's function patterns
// names is a possible match.
func (e *Entry) match(c *Crash) (Match, bool) {
	best := Match{Entry: e}
	for _, b := range e.blocks {
		ev, rel, ok := b.eval(c)
		if !ok {
			continue
		}
		conf, why := Exact, "every condition of a signature holds"
		switch rel {
		case releaseIn:
			why += " and the release is in an affected range"
		case releaseNoRanges:
			conf, why = Likely, why+", but the entry states no affected releases to check the kernel against"
		case releaseUnknown:
			conf, why = Likely, why+", but the kernel release is unknown: the affected ranges were not checked"
		case releaseOut:
			conf, why = Possible, why+", but the release is outside the affected ranges: fixed in this kernel already?"
		}
		if conf <= best.Confidence {
			continue
		}
		if len(e.blocks) > 1 {
			ev = append([]string{fmt.Sprintf("signature %d of %d", b.index+1, len(e.blocks))}, ev...)
		}
		best.Confidence, best.Why, best.Evidence = conf, why, ev
	}
	if best.Confidence == 0 && c.Guilty != "" {
		for _, b := range e.blocks {
			for _, fb := range []*compiledBlock{b, b.parent} {
				if fb == nil {
					continue
				}
				if re := firstMatch(fb.functions, c.Guilty); re != nil {
					best.Confidence = Possible
					best.Why = "only the guilty function agrees; the crash's other facts do not fit this bug"
					best.Evidence = []string{fmt.Sprintf("guilty function %s matches /%s/", c.Guilty, unanchor(re))}
					return best, true
				}
			}
		}
	}
	return best, best.Confidence > 0
}

// eval checks a block and its parent: every condition but the release
// ranges must hold; the ranges' verdict is returned beside.
func (b *compiledBlock) eval(c *Crash) ([]string, releaseState, bool) {
	ev, rel, ok := b.evalOwn(c)
	if !ok {
		return nil, 0, false
	}
	if b.parent != nil {
		pev, prel, ok := b.parent.evalOwn(c)
		if !ok {
			return nil, 0, false
		}
		ev = append(ev, pev...)
		rel = combineRelease(rel, prel)
	}
	return ev, rel, true
}

// combineRelease joins the verdicts of two sets of ranges that must both
// hold: out beats unknown beats in beats none.
func combineRelease(a, b releaseState) releaseState {
	rank := func(s releaseState) int { return []int{0, 2, 1, 3}[s] }
	if rank(a) >= rank(b) {
		return a
	}
	return b
}

func (b *compiledBlock) evalOwn(c *Crash) ([]string, releaseState, bool) {
	var ev []string
	if len(b.types) > 0 {
		if !slices.ContainsFunc(b.types, func(t string) bool { return strings.EqualFold(t, c.Type) }) {
			return nil, 0, false
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
			return nil, 0, false
		}
		re := firstMatch(p.res, p.value)
		if re == nil {
			return nil, 0, false
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
			return nil, 0, false
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
			return nil, 0, false
		}
		ev = append(ev, fmt.Sprintf("module %s is loaded", found))
	}
	rel := releaseNoRanges
	if len(b.releases) > 0 {
		if c.Release == "" && c.PackageVersion == "" {
			rel = releaseUnknown
			ev = append(ev, "kernel release unknown: release ranges not checked")
		} else {
			rel = releaseOut
			for i := range b.releases {
				if s, ok := b.releases[i].contains(c); ok {
					if b.releases[i].implied {
						s += " (" + b.releases[i].Note + ")"
					}
					ev = append(ev, s)
					rel = releaseIn
					break
				}
			}
			if rel == releaseOut {
				ev = append(ev, fmt.Sprintf("release %s is in none of the affected ranges", c.Release+c.PackageVersion))
			}
		}
	}
	return ev, rel, true
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

// Affected is what an entry's release ranges say of one kernel.
type Affected struct {
	// Known is false when the entry states no ranges and implies none,
	// or the kernel's release reads in none of their schemes.
	Known bool
	// Affected is set when the kernel falls in one of the ranges.
	Affected bool
	// Why is the evidence: the range it falls in, or that it falls in none.
	Why string
}

// Affects tells whether a kernel (its uname -r release and, for Debian and
// Ubuntu, its package version) falls in the entry's affected ranges, stated
// or implied by the fix's first release, whatever crash it had: the
// question asked of every kernel installed on a host.
func (e *Entry) Affects(release, packageVersion string) Affected {
	c := &Crash{Release: strings.TrimSpace(release), PackageVersion: strings.TrimSpace(packageVersion)}
	var ranges []*compiledRange
	seen := map[*compiledRange]bool{}
	for _, b := range e.blocks {
		for _, bb := range []*compiledBlock{b, b.parent} {
			if bb == nil {
				continue
			}
			for i := range bb.releases {
				r := &bb.releases[i]
				if !seen[r] {
					seen[r] = true
					ranges = append(ranges, r)
				}
			}
		}
	}
	if len(ranges) == 0 {
		return Affected{Why: "the entry states no affected releases"}
	}
	checked := false
	for _, r := range ranges {
		if _, _, ok := crashVersion(r.Scheme, c); !ok {
			continue
		}
		checked = true
		if s, ok := r.contains(c); ok {
			if r.implied {
				s += " (" + r.Note + ")"
			}
			return Affected{Known: true, Affected: true, Why: s}
		}
	}
	if !checked {
		return Affected{Why: fmt.Sprintf("release %s reads in none of the entry's version schemes", c.Release)}
	}
	return Affected{Known: true, Why: fmt.Sprintf("release %s is in none of the affected ranges", c.Release+c.PackageVersion)}
}
