// Package fixindex indexes the fixes in a user's own kernel git tree, so
// that a crash can be told "possibly fixed by COMMIT 'TITLE' (first in
// vX.Y)". Build streams `git log` once for the messages of commits that
// quote a crash (syzbot reports, BUG:/KASAN:/WARNING: headers, call traces)
// or carry Fixes: tags, and once for the graph, to find each one's first
// release tag; the index is stored as JSON lines (Write, WriteFile) and read
// back with Load. Lookup finds the commits whose quoted crash has the
// crash's title (strongest), its guilty function, or its frames.
package fixindex

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
)

// FormatVersion is the version of the stored index; Load refuses others,
// so an old index is rebuilt rather than misread.
const FormatVersion = 1

// Index is the fix index of one git tree.
type Index struct {
	// Repo is the tree's directory as given to Build, made absolute.
	Repo string
	// Head is the commit the index was built at, Since the excluded
	// revision ("" for the whole history).
	Head  string
	Since string
	// Built is when Build ran.
	Built time.Time
	// Commits are the indexed commits, newest first (git log order).
	Commits []Commit

	once     sync.Once
	byTitle  map[string][]int
	byGuilty map[string][]int
	byFunc   map[string][]int
	byFixes  map[string][]int // by the first 8 digits of a Fixes: hash
}

// Commit is one indexed commit: what its message says of a crash and what
// it fixes.
type Commit struct {
	// Hash is the full commit hash, Subject its title line.
	Hash    string `json:"hash"`
	Subject string `json:"subject"`
	// Titles are the syzkaller-style titles of the reports quoted in the
	// message, as oops computes them for a crash.
	Titles []string `json:"titles,omitempty"`
	// Headers are the quoted crash header lines as written ("BUG: KASAN:
	// slab-out-of-bounds in foo+0x1/0x2"), prefixes stripped.
	Headers []string `json:"headers,omitempty"`
	// Guilty are the functions the quoted crashes blame (a header's
	// "in func", a report's guilty function).
	Guilty []string `json:"guilty,omitempty"`
	// Functions are the functions named in quoted frames and headers,
	// the reporting machinery left out.
	Functions []string `json:"functions,omitempty"`
	// Fixes are the commits its Fixes: tags name.
	Fixes []Fix `json:"fixes,omitempty"`
	// Reporters are the syzbot Reported-by ids ("syzbot+0123abcd").
	Reporters []string `json:"reporters,omitempty"`
	// Release is the first release tag (in kernel version order) that
	// contains the commit; "" when no release tag does yet.
	Release string `json:"release,omitempty"`
	// Truncated is set when the message was longer than the indexer
	// reads, so later quotes may be missing.
	Truncated bool `json:"truncated,omitempty"`
}

// Fix is the target of a Fixes: tag.
type Fix struct {
	Hash    string `json:"hash"`
	Subject string `json:"subject,omitempty"`
}

// QuotesCrash reports whether the message quotes a crash, rather than
// only carrying Fixes: tags.
func (c *Commit) QuotesCrash() bool {
	return len(c.Headers) > 0 || len(c.Titles) > 0 || len(c.Functions) > 0
}

// Strength is how a commit came to be a candidate fix, weakest first.
type Strength int

// The strengths of a candidate.
const (
	// FramesMatch: at least minSharedFrames of the crash's frames are
	// named in the commit's quoted trace.
	FramesMatch Strength = iota + 1
	// GuiltyMatch: the crash's guilty function is the one the commit's
	// quoted crash blames.
	GuiltyMatch
	// TitleMatch: the commit quotes a crash with the crash's title.
	TitleMatch
)

// String names the strength.
func (s Strength) String() string {
	switch s {
	case TitleMatch:
		return "title"
	case GuiltyMatch:
		return "guilty-function"
	case FramesMatch:
		return "frames"
	}
	return "none"
}

// Candidate is a commit that may fix a crash, with why.
type Candidate struct {
	Commit   *Commit
	Strength Strength
	Why      string
}

// String is the sentence analyze shows: possibly fixed by 0123456789ab
// "subject" (first in v6.2).
func (c Candidate) String() string {
	rel := "in no release yet"
	if c.Commit.Release != "" {
		rel = "first in " + c.Commit.Release
	}
	return fmt.Sprintf("possibly fixed by %s %q (%s): %s", short(c.Commit.Hash), c.Commit.Subject, rel, c.Why)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// MaxCandidates bounds Lookup's answer: beyond a handful, weak matches on
// a common function are noise.
const MaxCandidates = 10

// minSharedFrames is how many of a crash's (non-generic) frames a commit's
// quoted trace must name for a frames match: one shared function is common
// (tcp_sendmsg is in thousands of traces), two in one trace much less so.
const minSharedFrames = 2

// maxLookupFrames is how many of the crash's top frames take part: deeper
// frames are the syscall and softirq plumbing every trace shares.
const maxLookupFrames = 12

// Lookup returns the indexed commits that may fix the crash, strongest
// first and, within a strength, newest first; at most MaxCandidates. A
// commit appears once, at its strongest.
func (ix *Index) Lookup(c kb.Crash) []Candidate { return ix.lookup(c, nil) }

// LookupReport is Lookup for a parsed report, seen as the knowledge base
// sees it (kb.CrashOf); the report's other titles (AltTitles, syzkaller's
// "bad-access in f" family) match as titles too.
func (ix *Index) LookupReport(r *oops.Report) []Candidate {
	return ix.lookup(kb.CrashOf(r), r.AltTitles)
}

func (ix *Index) lookup(c kb.Crash, alt []string) []Candidate {
	ix.buildMaps()
	best := map[int]Candidate{}
	consider := func(i int, s Strength, why string) {
		if prev, ok := best[i]; ok && prev.Strength >= s {
			return
		}
		best[i] = Candidate{Commit: &ix.Commits[i], Strength: s, Why: why}
	}
	for _, t := range append([]string{c.Title}, alt...) {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		for _, i := range ix.byTitle[t] {
			consider(i, TitleMatch, fmt.Sprintf("its message quotes a crash titled %q", t))
		}
	}
	if g := kb.NormalizeFunction(c.Guilty); g != "" {
		for _, i := range ix.byGuilty[g] {
			consider(i, GuiltyMatch, fmt.Sprintf("its message quotes a crash in %s, the guilty function", g))
		}
	}
	var frames []string
	for _, f := range c.Frames {
		if fn := kb.NormalizeFunction(f); fn != "" && !isGeneric(fn) && !slices.Contains(frames, fn) {
			frames = append(frames, fn)
			if len(frames) == maxLookupFrames {
				break
			}
		}
	}
	shared := map[int][]string{}
	for _, fn := range frames {
		for _, i := range ix.byFunc[fn] {
			shared[i] = append(shared[i], fn)
		}
	}
	for i, fns := range shared {
		if len(fns) >= minSharedFrames {
			consider(i, FramesMatch, fmt.Sprintf("its quoted trace names %s, as the crash's does", strings.Join(fns, ", ")))
		}
	}
	idx := make([]int, 0, len(best))
	for i := range best {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		if s := cmp.Compare(best[b].Strength, best[a].Strength); s != 0 {
			return s
		}
		return cmp.Compare(a, b)
	})
	if len(idx) > MaxCandidates {
		idx = idx[:MaxCandidates]
	}
	out := make([]Candidate, len(idx))
	for k, i := range idx {
		out[k] = best[i]
	}
	return out
}

// FixesOf returns the indexed commits whose Fixes: tags name commit (a
// full or abbreviated hash of at least 8 digits), newest first: the
// follow-ups of a known bug's fix, which a kernel carrying that fix may
// still need.
func (ix *Index) FixesOf(commit string) []*Commit {
	commit = strings.ToLower(strings.TrimSpace(commit))
	if len(commit) < 8 {
		return nil
	}
	ix.buildMaps()
	var out []*Commit
	for _, i := range ix.byFixes[commit[:8]] {
		for _, f := range ix.Commits[i].Fixes {
			if strings.HasPrefix(commit, f.Hash) || strings.HasPrefix(f.Hash, commit) {
				out = append(out, &ix.Commits[i])
				break
			}
		}
	}
	return out
}

// buildMaps indexes the commits by title, guilty function, function and
// Fixes: target, once; Lookup and FixesOf may then run concurrently.
func (ix *Index) buildMaps() { ix.once.Do(ix.indexCommits) }

func (ix *Index) indexCommits() {
	ix.byTitle, ix.byGuilty, ix.byFunc, ix.byFixes = map[string][]int{}, map[string][]int{}, map[string][]int{}, map[string][]int{}
	for i := range ix.Commits {
		c := &ix.Commits[i]
		// A header line that is itself a syzbot title ("KASAN:
		// use-after-free Read in foo") matches as a title too.
		for _, t := range append(slices.Clone(c.Titles), c.Headers...) {
			addOnce(ix.byTitle, t, i)
		}
		for _, g := range c.Guilty {
			addOnce(ix.byGuilty, g, i)
		}
		for _, f := range c.Functions {
			addOnce(ix.byFunc, f, i)
		}
		for _, f := range c.Fixes {
			if len(f.Hash) >= 8 {
				addOnce(ix.byFixes, f.Hash[:8], i)
			}
		}
	}
}

func addOnce(m map[string][]int, k string, i int) {
	l := m[k]
	if len(l) > 0 && l[len(l)-1] == i {
		return
	}
	m[k] = append(l, i)
}
