package kb

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ktriage/ktriage/internal/version"
)

// crashTypes are the syzkaller crash types an entry may name in match.types.
var crashTypes = []string{
	"BUG", "WARNING", "DoS", "HANG", "LOCKDEP", "LEAK", "ATOMIC_SLEEP",
	"NULL-POINTER-DEREFERENCE", "MEMORY_SAFETY_BUG", "MEMORY_SAFETY_UBSAN", "UBSAN",
	"REFCOUNT_WARNING", "KASAN-READ", "KASAN-WRITE", "KASAN-USE-AFTER-FREE-READ",
	"KASAN-USE-AFTER-FREE-WRITE", "KASAN-INVALID-FREE", "KASAN-NULL-POINTER-DEREFERENCE-READ",
	"KASAN-NULL-POINTER-DEREFERENCE-WRITE", "KMSAN-UNINIT-VALUE", "KMSAN-INFO-LEAK",
	"KMSAN-USE-AFTER-FREE", "KCSAN-DATARACE", "KCSAN-ASSERT", "KFENCE-USE-AFTER-FREE-READ",
	"KFENCE-USE-AFTER-FREE-WRITE", "KFENCE-READ", "KFENCE-WRITE", "KFENCE-MEMORY-CORRUPTION",
	"KFENCE-INVALID-FREE", "REBOOT", "SYZ_FAILURE",
}

// ethtoolFeatures are the offload names (ethtool -K short forms) a workaround
// may switch.
var ethtoolFeatures = []string{"rx", "tx", "sg", "tso", "ufo", "gso", "gro", "lro",
	"rxvlan", "txvlan", "ntuple", "rxhash", "rx-gro-hw", "tx-udp-segmentation"}

// joinScopes lists scopes for a message: "all, bond-slaves".
func joinScopes(ss []Scope) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ethtoolScopes are the places an ethtool_offload action may apply to.
var ethtoolScopes = []Scope{ScopeAll, ScopeBondSlaves, ScopeDevice, ScopeDriver}

// referenceKinds are the kinds a reference may have.
var referenceKinds = []string{"commit", "cve", "bug", "mail", "url"}

// lintForms are the shapes lint checks names against.
type lintForms struct {
	id, commit, cve, sysctl, module *regexp.Regexp
}

// forms compiles the lint shapes on first use rather than at package
// initialisation: every ktriage command links kb, most never lint.
var forms = sync.OnceValue(func() *lintForms {
	return &lintForms{
		id:     regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`),
		commit: regexp.MustCompile(`^[0-9a-f]{12,40}$`),
		cve:    regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`),
		sysctl: regexp.MustCompile(`^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$`),
		module: regexp.MustCompile(`^[A-Za-z0-9_-]+$`),
	}
})

// Lint checks every entry and returns one error per problem, each a
// *Problem naming the file and, where it can be found, the line. It checks
// required fields, that ids have the required form, equal their file names
// and are unique, that patterns compile and version ranges parse, that crash
// types, reference kinds and workaround actions are known, that commit
// hashes are 12 to 40 lowercase hex digits, that everything marked
// verified cites a source, and that the source of a verified commit names
// its hash, in the URL or in a quoted excerpt.
func (k *KB) Lint() []error {
	var errs []error
	seen := map[string]*Entry{}
	for _, e := range k.entries {
		if prev, ok := seen[e.ID]; ok {
			errs = append(errs, e.problem("$.id", nil, "duplicate entry id %q: defined in %s and in %s", e.ID, prev.File, e.File))
		}
		seen[e.ID] = e
		for _, p := range e.lint() {
			errs = append(errs, p)
		}
	}
	return errs
}

// lint checks one entry (see KB.Lint).
func (e *Entry) lint() []*Problem {
	var ps []*Problem
	if err := e.Full(); err != nil {
		return []*Problem{{File: e.File, ID: e.ID, Msg: "the entry does not parse whole", Err: err}}
	}
	add := func(path string, err error, format string, args ...any) {
		ps = append(ps, e.problem(path, err, format, args...))
	}

	// identity and required text
	switch {
	case e.ID == "":
		add("$", nil, "id is required")
	case !forms().id.MatchString(e.ID):
		add("$.id", nil, "id %q must match %s", e.ID, forms().id)
	case e.ID != baseName(e.File):
		add("$.id", nil, "id %q differs from the file name %q", e.ID, baseName(e.File))
	}
	if strings.TrimSpace(e.Title) == "" {
		add("$", nil, "title is required")
	}
	if strings.TrimSpace(e.Summary) == "" {
		add("$", nil, "summary is required")
	}
	if strings.TrimSpace(e.RootCause.Text) == "" {
		add("$.root_cause", nil, "root_cause.text is required")
	}
	lintSourced("$.root_cause", e.RootCause.Provenance, "root_cause", add)

	// match rule
	blocks, probs := e.compileBlocks()
	ps = append(ps, probs...)
	e.lintBlock(&e.Match.MatchBlock, -1, add)
	for i := range e.Match.Any {
		e.lintBlock(&e.Match.Any[i], i, add)
	}
	for _, b := range blocks {
		if !b.identifying() {
			add(blockPath(b.index), nil, "match block has no title, function, frame or location condition: it would match too much")
		}
	}

	// fix
	if f := e.FixedIn; f != nil {
		if u := f.Upstream; u != nil {
			switch {
			case u.Commit == "":
				add("$.fixed_in.upstream", nil, "fixed_in.upstream.commit is required")
			case !forms().commit.MatchString(u.Commit):
				add("$.fixed_in.upstream.commit", nil, "commit %q is not 12 to 40 lowercase hex digits", u.Commit)
			}
			if strings.TrimSpace(u.Title) == "" {
				add("$.fixed_in.upstream", nil, "fixed_in.upstream.title is required")
			}
			if u.Release != "" {
				if _, err := version.ParseUpstream(u.Release); err != nil {
					add("$.fixed_in.upstream.release", err, "release %q does not parse", u.Release)
				}
			}
			if u.ReleaseVerified && u.Release == "" {
				add("$.fixed_in.upstream", nil, "release_verified is set but release is empty")
			}
			lintSourced("$.fixed_in.upstream", Provenance{Verified: u.Verified || u.ReleaseVerified, Source: u.Source}, "fixed_in.upstream", add)
			if u.Verified && !e.citesCommit(u.Commit) {
				add("$.fixed_in.upstream.commit", nil, "verified fix %s has no verified commit reference with a url", u.Commit)
			}
			if u.Verified && u.Source != "" && !namesCommit(u.Commit, u.Source, u.Excerpt) {
				add("$.fixed_in.upstream.source", nil, "verified fix %s: neither its source URL nor its excerpt names the hash", u.Commit)
			}
			if u.Excerpt != "" && u.Source == "" {
				add("$.fixed_in.upstream.excerpt", nil, "excerpt without the source it quotes")
			}
			lintExcerpt("$.fixed_in.upstream.excerpt", u.Excerpt, add)
		}
		for i, d := range f.Distros {
			p := fmt.Sprintf("$.fixed_in.distros[%d]", i)
			if strings.TrimSpace(d.Name) == "" || strings.TrimSpace(d.Version) == "" {
				add(p, nil, "distro fix needs name and version")
			}
			lintSourced(p, d.Provenance, "distro fix", add)
		}
	}
	if e.Verified {
		if e.FixedIn == nil || e.FixedIn.Upstream == nil || !e.FixedIn.Upstream.Verified {
			add("$.verified", nil, "entry is verified but its upstream fix is not")
		}
	}

	// workaround
	if w := e.Workaround; w != nil {
		e.lintWorkaround(w, add)
	}

	// real samples
	e.lintTests(add)

	// references
	if len(e.References) == 0 {
		add("$", nil, "at least one reference is required")
	}
	for i, r := range e.References {
		p := fmt.Sprintf("$.references[%d]", i)
		switch r.Kind {
		case "commit":
			if !forms().commit.MatchString(r.ID) {
				add(p+".id", nil, "commit %q is not 12 to 40 lowercase hex digits", r.ID)
			}
			if r.Verified && r.URL != "" && !namesCommit(r.ID, r.URL, r.Excerpt) {
				add(p+".url", nil, "verified commit %s: neither its url nor its excerpt names the hash", r.ID)
			}
		case "cve":
			if !forms().cve.MatchString(r.ID) {
				add(p+".id", nil, "CVE id %q must look like CVE-2019-11477", r.ID)
			}
		case "bug", "mail":
			if strings.TrimSpace(r.ID) == "" && r.URL == "" {
				add(p, nil, "%s reference needs an id or a url", r.Kind)
			}
		case "url":
			if r.URL == "" {
				add(p, nil, "url reference needs a url")
			}
		default:
			add(p+".kind", nil, "reference kind %q is not one of %s", r.Kind, strings.Join(referenceKinds, ", "))
		}
		if r.URL != "" && !isHTTPURL(r.URL) {
			add(p+".url", nil, "url %q is not an http(s) URL", r.URL)
		}
		if r.Verified && r.URL == "" {
			add(p, nil, "verified reference has no url to its source")
		}
		if r.Excerpt != "" && r.URL == "" {
			add(p+".excerpt", nil, "excerpt without the url it quotes")
		}
		lintExcerpt(p+".excerpt", r.Excerpt, add)
	}
	return ps
}

func (e *Entry) lintBlock(b *MatchBlock, i int, add func(string, error, string, ...any)) {
	bp := blockPath(i)
	for j, t := range b.Types {
		if !slices.Contains(crashTypes, t) {
			add(fmt.Sprintf("%s.types[%d]", bp, j), nil, "crash type %q is not a known syzkaller type", t)
		}
	}
	for j, seq := range b.Frames {
		if len(seq) == 0 {
			add(fmt.Sprintf("%s.frames[%d]", bp, j), nil, "empty frame sequence")
		}
		for k, pat := range seq {
			if strings.TrimSpace(pat) == "" {
				add(fmt.Sprintf("%s.frames[%d][%d]", bp, j, k), nil, "empty frame pattern")
			}
		}
	}
	for j, pats := range [][]string{b.Titles, b.Functions, b.Locations} {
		field := []string{"titles", "functions", "locations"}[j]
		for k, pat := range pats {
			if strings.TrimSpace(pat) == "" {
				add(fmt.Sprintf("%s.%s[%d]", bp, field, k), nil, "empty %s pattern", field)
			}
		}
	}
	for j, m := range b.Modules {
		if !forms().module.MatchString(m) {
			add(fmt.Sprintf("%s.modules[%d]", bp, j), nil, "module name %q is not valid", m)
		}
	}
	for j, r := range b.Releases {
		p := fmt.Sprintf("%s.releases[%d]", bp, j)
		if !slices.Contains(schemes, r.Scheme) {
			continue // reported by compile
		}
		if r.Min == "" && r.MaxExclusive == "" {
			add(p, nil, "range has neither min nor max_exclusive")
		}
		if r.Min != "" && r.MaxExclusive != "" {
			lo, err1 := parseBound(r.Scheme, r.Min)
			hi, err2 := parseBound(r.Scheme, r.MaxExclusive)
			if err1 == nil && err2 == nil && compareSchemeVersions(lo, hi) >= 0 {
				add(p, nil, "range %s is empty: min is not below max_exclusive", r)
			}
		}
		lintSourced(p, r.Provenance, "release range", add)
	}
	lintSourced(bp, b.Provenance, "match signature", add)
}

func (e *Entry) lintWorkaround(w *Workaround, add func(string, error, string, ...any)) {
	const wp = "$.workaround"
	if strings.TrimSpace(w.Text) == "" {
		add(wp, nil, "workaround.text is required")
	}
	lintSourced(wp, w.Provenance, "workaround", add)
	if o := w.EthtoolOffload; o != nil {
		op := wp + ".ethtool_offload"
		if len(o.Features) == 0 {
			add(op, nil, "ethtool_offload needs features")
		}
		for i, f := range o.Features {
			if !slices.Contains(ethtoolFeatures, f) {
				add(fmt.Sprintf("%s.features[%d]", op, i), nil, "ethtool feature %q is not one of %s", f, strings.Join(ethtoolFeatures, ", "))
			}
		}
		if o.State != "on" && o.State != "off" {
			add(op+".state", nil, "ethtool_offload.state %q must be on or off", o.State)
		}
		if !slices.Contains(ethtoolScopes, o.Scope) {
			add(op+".scope", nil, "ethtool_offload.scope %q is not one of %s", o.Scope, joinScopes(ethtoolScopes))
		}
		if o.Scope == ScopeDevice && len(o.Devices) == 0 {
			add(op, nil, "scope device needs devices")
		}
		if o.Scope == ScopeDriver && o.Driver == "" {
			add(op, nil, "scope driver needs driver")
		}
	}
	for i, s := range w.Sysctl {
		p := fmt.Sprintf("%s.sysctl[%d]", wp, i)
		if !forms().sysctl.MatchString(s.Key) {
			add(p+".key", nil, "sysctl key %q is not a dotted parameter name", s.Key)
		}
		if strings.TrimSpace(s.Value) == "" {
			add(p, nil, "sysctl %s needs a value", s.Key)
		}
	}
	for i, m := range w.ModuleOptions {
		p := fmt.Sprintf("%s.module_options[%d]", wp, i)
		if !forms().module.MatchString(m.Module) || m.Option == "" || m.Value == "" {
			add(p, nil, "module option needs module, option and value")
		}
	}
	for i, c := range w.KernelCmdline {
		if strings.TrimSpace(c) == "" || strings.ContainsAny(c, " \t") {
			add(fmt.Sprintf("%s.kernel_cmdline[%d]", wp, i), nil, "kernel_cmdline item %q must be one parameter", c)
		}
	}
	for i, m := range w.AvoidModules {
		if !forms().module.MatchString(m) {
			add(fmt.Sprintf("%s.avoid_modules[%d]", wp, i), nil, "module name %q is not valid", m)
		}
	}
}

// lintSourced requires a source URL for a verified fact.
func lintSourced(p string, pv Provenance, what string, add func(string, error, string, ...any)) {
	if pv.Source != "" && !isHTTPURL(pv.Source) {
		add(p+".source", nil, "%s source %q is not an http(s) URL", what, pv.Source)
	}
	if pv.Verified && pv.Source == "" {
		add(p, nil, "%s is marked verified but cites no source", what)
	}
}

// citesCommit reports whether a verified commit reference with a URL names
// the commit (or a prefix of it of at least 12 digits).
func (e *Entry) citesCommit(commit string) bool {
	for _, r := range e.References {
		if r.Kind != "commit" || !r.Verified || r.URL == "" || len(r.ID) < 12 {
			continue
		}
		if strings.HasPrefix(commit, r.ID) || strings.HasPrefix(r.ID, commit) {
			return true
		}
	}
	return false
}

// maxExcerpt bounds an excerpt: a line or two of its source naming the
// commit. A long one proves little, since a pasted page of git log names
// many hashes, and is not what a reader checks by eye.
const maxExcerpt = 1024

// lintExcerpt reports an excerpt longer than maxExcerpt.
func lintExcerpt(path, excerpt string, add func(path string, err error, format string, args ...any)) {
	if len(excerpt) > maxExcerpt {
		add(path, nil, "excerpt of %d bytes is not a short quote (at most %d): keep the lines that name the commit", len(excerpt), maxExcerpt)
	}
}

// namesCommit reports whether one of texts (a URL, an excerpt) names the
// commit: it holds a run of at least 12 hex digits that abbreviates the
// commit, or that the commit (itself abbreviated) abbreviates. Shorter runs
// are too ambiguous to count as naming a commit, as in the kernel's Fixes:
// tags.
func namesCommit(commit string, texts ...string) bool {
	commit = strings.ToLower(commit)
	if len(commit) < 12 {
		return false
	}
	for _, t := range texts {
		for _, run := range hexRuns(t) {
			run = strings.ToLower(run)
			if len(run) >= 12 && (strings.HasPrefix(commit, run) || strings.HasPrefix(run, commit)) {
				return true
			}
		}
	}
	return false
}

// hexRuns returns the maximal runs of hex digits in s.
func hexRuns(s string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		hex := i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f' || s[i] >= 'A' && s[i] <= 'F')
		switch {
		case hex && start < 0:
			start = i
		case !hex && start >= 0:
			runs = append(runs, s[start:i])
			start = -1
		}
	}
	return runs
}

// identifying reports whether the block (with its parent) names a title,
// function, frame or location condition.
func (b *compiledBlock) identifying() bool {
	own := len(b.titles) > 0 || len(b.functions) > 0 || len(b.frames) > 0 || len(b.locations) > 0
	if own {
		return true
	}
	return b.parent != nil && b.parent.identifying()
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
