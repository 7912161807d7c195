package kb

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/ktriage/ktriage/internal/yamlshape"
)

// Entry is one known kernel bug: how to recognise its crashes, why it
// happens, where it was fixed, what to do meanwhile, and where each fact comes
// from. Facts that could not be checked against a public source carry
// Verified false.
type Entry struct {
	// ID is the entry's name, ^[a-z0-9][a-z0-9-]*$, equal to its file name.
	ID string `yaml:"id" json:"id"`
	// Title is a one-line name for the bug.
	Title string `yaml:"title" json:"title"`
	// Summary says in a few sentences what goes wrong and how it shows.
	Summary string `yaml:"summary" json:"summary"`
	// Verified is true when the bug's identity and its fix are confirmed by
	// public sources the entry cites; single facts may still be unverified.
	Verified bool `yaml:"verified" json:"verified"`
	// Match says which crashes are this bug.
	Match MatchSpec `yaml:"match" json:"match"`
	// RootCause explains the defect.
	RootCause Fact `yaml:"root_cause" json:"root_cause"`
	// FixedIn names the fixing commit and fixed distribution kernels.
	FixedIn *FixedIn `yaml:"fixed_in,omitempty" json:"fixed_in,omitempty"`
	// Workaround is what can be done without a fixed kernel.
	Workaround *Workaround `yaml:"workaround,omitempty" json:"workaround,omitempty"`
	// References are commits, CVEs, bug reports and pages about the bug.
	References []Reference `yaml:"references" json:"references"`
	// Tests are real crash reports of the bug and near misses: the kernel
	// log lines of public reports, which the entry must (and must not)
	// match. Lint requires at least one of each.
	Tests *Tests `yaml:"tests,omitempty" json:"tests,omitempty"`

	// File is where the entry was read from; embedded entries are
	// "embedded:entries/<id>.yaml".
	File string `yaml:"-" json:"file"`
	// Overrides is the File of the built-in entry this one replaces: a
	// --kb-dir entry with a built-in's id takes its place. Empty otherwise.
	Overrides string `yaml:"-" json:"overrides,omitempty"`

	ast    *ast.File
	blocks []*compiledBlock
	// src is the entry's text; lazy is set while its samples and syntax
	// tree are still to be read from it (parseEntryFast).
	src      []byte
	lazy     bool
	fullOnce sync.Once
	fullErr  error
}

// Provenance says where a fact comes from: Verified is true when the fact
// was read in the public source at Source (an http(s) URL); Note qualifies
// it. Every fact of an entry carries one, so every reader (lint, kb show,
// the text output) marks the unverified ones the same way.
type Provenance struct {
	Verified bool   `yaml:"verified" json:"verified"`
	Source   string `yaml:"source,omitempty" json:"source,omitempty"`
	Note     string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Fact is a statement with its provenance.
type Fact struct {
	Text       string `yaml:"text" json:"text"`
	Provenance `yaml:",inline"`
}

// MatchBlock is one set of conditions, all of which must hold. Within a
// field the listed alternatives are ORed: a crash of any listed type, a title
// matching any listed pattern, any listed frame sequence, any listed module,
// a release in any listed range.
type MatchBlock struct {
	// Types are syzkaller crash types (BUG, WARNING, DoS, HANG,
	// NULL-POINTER-DEREFERENCE, KASAN-USE-AFTER-FREE-READ, ...).
	Types []string `yaml:"types,omitempty" json:"types,omitempty"`
	// Titles are regular expressions searched in the report title.
	Titles []string `yaml:"titles,omitempty" json:"titles,omitempty"`
	// Functions are regular expressions that must match the whole guilty
	// function name (compiler suffixes removed).
	Functions []string `yaml:"functions,omitempty" json:"functions,omitempty"`
	// Frames are ordered frame subsequences: each is a list of function
	// name patterns (whole-name matches) that must appear in this order,
	// not necessarily adjacent, in the trace (RIP function first).
	Frames [][]string `yaml:"frames,omitempty" json:"frames,omitempty"`
	// Locations are regular expressions searched in the file:line the kernel
	// printed ("kernel BUG at net/core/skbuff.c:1886!").
	Locations []string `yaml:"locations,omitempty" json:"locations,omitempty"`
	// Modules are module names one of which must be in the module list.
	Modules []string `yaml:"modules,omitempty" json:"modules,omitempty"`
	// Releases are version ranges the kernel must fall in.
	Releases []Range `yaml:"releases,omitempty" json:"releases,omitempty"`
	// Provenance says whether this signature is confirmed by a source.
	Provenance `yaml:",inline"`
}

// MatchSpec is an entry's match rule: the conditions written directly under
// match apply to every crash; when Any is present, at least one of its blocks
// must hold as well. Effectively each Any block is ANDed with the top-level
// conditions, and the blocks are ORed.
type MatchSpec struct {
	MatchBlock `yaml:",inline"`
	Any        []MatchBlock `yaml:"any,omitempty" json:"any,omitempty"`
}

// Range is a half-open version interval [Min, MaxExclusive) in one scheme;
// an empty bound is open.
type Range struct {
	Min          string `yaml:"min,omitempty" json:"min,omitempty"`
	MaxExclusive string `yaml:"max_exclusive,omitempty" json:"max_exclusive,omitempty"`
	// Scheme is upstream (kernel.org order), rpm (rpmvercmp over the
	// release's epoch:version-release), deb (dpkg order over
	// Crash.PackageVersion) or deb-abi (dpkg order over the release's ABI,
	// 6.1.0-13 of 6.1.0-13-amd64).
	Scheme     string `yaml:"scheme" json:"scheme"`
	Provenance `yaml:",inline"`
}

// String formats the range as [min, max) (scheme).
func (r Range) String() string {
	lo, hi := r.Min, r.MaxExclusive
	if lo == "" {
		lo = "-∞"
	}
	if hi == "" {
		hi = "∞"
	}
	return fmt.Sprintf("[%s, %s) (%s)", lo, hi, r.Scheme)
}

// FixedIn records where the bug was fixed.
type FixedIn struct {
	Upstream *UpstreamFix `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	Distros  []DistroFix  `yaml:"distros,omitempty" json:"distros,omitempty"`
}

// UpstreamFix is the mainline commit that fixed the bug. Verified covers the
// commit hash together with its title; ReleaseVerified covers Release.
type UpstreamFix struct {
	Commit          string `yaml:"commit" json:"commit"`
	Title           string `yaml:"title" json:"title"`
	Release         string `yaml:"release,omitempty" json:"release,omitempty"`
	Verified        bool   `yaml:"verified" json:"verified"`
	ReleaseVerified bool   `yaml:"release_verified,omitempty" json:"release_verified"`
	Source          string `yaml:"source,omitempty" json:"source,omitempty"`
	// Excerpt is a short verbatim quote of Source naming the commit, for
	// sources whose URL does not: it lets lint check the citation offline.
	Excerpt string `yaml:"excerpt,omitempty" json:"excerpt,omitempty"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
}

// DistroFix is a distribution kernel that carries the fix.
type DistroFix struct {
	Name       string `yaml:"name" json:"name"`
	Version    string `yaml:"version" json:"version"`
	Provenance `yaml:",inline"`
}

// Workaround is what an operator can do until the kernel is fixed: a text
// for people and structured actions for tools (remedy plans them).
type Workaround struct {
	Text       string `yaml:"text" json:"text"`
	Provenance `yaml:",inline"`

	EthtoolOffload *EthtoolOffload `yaml:"ethtool_offload,omitempty" json:"ethtool_offload,omitempty"`
	Sysctl         []Sysctl        `yaml:"sysctl,omitempty" json:"sysctl,omitempty"`
	ModuleOptions  []ModuleOption  `yaml:"module_options,omitempty" json:"module_options,omitempty"`
	KernelCmdline  []string        `yaml:"kernel_cmdline,omitempty" json:"kernel_cmdline,omitempty"`
	// AvoidModules are modules (netfilter targets, tc actions) whose use
	// triggers the bug; the action is to stop using them.
	AvoidModules []string `yaml:"avoid_modules,omitempty" json:"avoid_modules,omitempty"`
}

// EthtoolOffload switches NIC offload features (ethtool -K short names).
type EthtoolOffload struct {
	Features []string `yaml:"features" json:"features"`
	// State is "on" or "off".
	State string `yaml:"state" json:"state"`
	// Scope is where to apply it.
	Scope   Scope    `yaml:"scope" json:"scope"`
	Devices []string `yaml:"devices,omitempty" json:"devices,omitempty"`
	Driver  string   `yaml:"driver,omitempty" json:"driver,omitempty"`
}

// Scope says which NICs an ethtool_offload action applies to; entries spell
// it as the constants' values.
type Scope string

// The scopes of an ethtool_offload action.
const (
	// ScopeAll is every physical NIC.
	ScopeAll Scope = "all"
	// ScopeBondSlaves is the slaves of every bond (and the bond itself for
	// software offloads).
	ScopeBondSlaves Scope = "bond-slaves"
	// ScopeDevice is the Devices listed.
	ScopeDevice Scope = "device"
	// ScopeDriver is the NICs driven by Driver.
	ScopeDriver Scope = "driver"
)

// Sysctl is a kernel parameter setting.
type Sysctl struct {
	Key   string `yaml:"key" json:"key"`
	Value string `yaml:"value" json:"value"`
}

// ModuleOption is a module parameter setting (modprobe.d).
type ModuleOption struct {
	Module string `yaml:"module" json:"module"`
	Option string `yaml:"option" json:"option"`
	Value  string `yaml:"value" json:"value"`
}

// Reference is a pointer to public material about the bug.
type Reference struct {
	// Kind is commit, cve, bug, mail or url.
	Kind string `yaml:"kind" json:"kind"`
	// ID is the commit hash, CVE id or bug number (not used for url).
	ID    string `yaml:"id,omitempty" json:"id,omitempty"`
	URL   string `yaml:"url,omitempty" json:"url,omitempty"`
	Title string `yaml:"title,omitempty" json:"title,omitempty"`
	// Verified means the reference was seen, with what the entry says of
	// it, at URL.
	Verified bool `yaml:"verified" json:"verified"`
	// Excerpt is a short verbatim quote of URL naming the commit, for a
	// commit reference whose URL does not name it (a mail, a later fix).
	Excerpt string `yaml:"excerpt,omitempty" json:"excerpt,omitempty"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Tests are an entry's real-world samples.
type Tests struct {
	// Reports are crashes of this bug; each must match the entry.
	Reports []Sample `yaml:"reports" json:"reports"`
	// NearMisses are crashes of other bugs that look alike (the same
	// function, another defect); none may match above "possible".
	NearMisses []Sample `yaml:"near_misses" json:"near_misses"`
}

// Sample is the kernel log of one published crash report. Log holds the
// machine output as published (timestamps and prefixes as the report had
// them); Source is the http(s) URL it was published at.
type Sample struct {
	Source string `yaml:"source" json:"source"`
	// Note says what the sample is: for a near miss, which bug it is.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
	Log  string `yaml:"log" json:"log"`
}

// compiledBlock is an effective match block (top-level conditions merged with
// one Any block) with its patterns compiled.
type compiledBlock struct {
	index     int            // index in Any, or -1 for the top-level block alone
	parent    *compiledBlock // top-level conditions that must hold too, or nil
	types     []string
	titles    []*regexp.Regexp
	functions []*regexp.Regexp
	frames    [][]*regexp.Regexp
	locations []*regexp.Regexp
	modules   []string
	releases  []compiledRange
}

type compiledRange struct {
	Range
	lo, hi schemeVersion
	hasLo  bool
	hasHi  bool
	// implied: the range is the fix's first release, not one stated.
	implied bool
}

// parseEntry decodes one YAML entry. name is the file name used in errors and
// for the id check (its base name without extension must equal the id). It
// fails on YAML errors, unknown fields, regular expressions that do not
// compile and version bounds that do not parse; every error names the file
// and, where known, the line. Other problems are reported by Lint.
func parseEntry(name string, data []byte) (*Entry, error) {
	if err := checkShape(name, data); err != nil {
		return nil, err
	}
	file, err := parseYAML(data)
	if err != nil {
		return nil, yamlError(name, err)
	}
	docs := 0
	for _, d := range file.Docs {
		if d != nil && d.Body != nil {
			docs++
		}
	}
	if docs == 0 {
		return nil, &Problem{File: name, Msg: "empty file: want one entry"}
	}
	if docs > 1 {
		return nil, &Problem{File: name, Msg: fmt.Sprintf("%d YAML documents: want one entry per file", docs)}
	}
	var e Entry
	if err := decodeStrict(data, &e); err != nil {
		return nil, yamlError(name, err)
	}
	e.File = name
	e.ast = file
	e.trim()
	blocks, probs := e.compileBlocks()
	e.blocks = blocks
	var fatal []error
	for _, p := range probs {
		fatal = append(fatal, p)
	}
	if len(fatal) > 0 {
		return nil, errors.Join(fatal...)
	}
	return &e, nil
}

// parseEntryFast decodes a built-in entry for matching: its samples
// (tests:, most of its text) and its syntax tree, which only lint and kb
// show need, are read on first use (Full). Loading the built-in entries at
// every analyze costs a fifth of what a full parse does.
func parseEntryFast(name string, data []byte) (*Entry, error) {
	if err := checkShape(name, data); err != nil {
		return nil, err
	}
	var e Entry
	if err := decodeStrict(withoutTests(data), &e); err != nil {
		return parseEntry(name, data) // the full parse names the problem
	}
	e.File, e.src, e.lazy = name, data, true
	e.trim()
	blocks, probs := e.compileBlocks()
	if len(probs) > 0 {
		return parseEntry(name, data)
	}
	e.blocks = blocks
	return &e, nil
}

// Full reads what parseEntryFast left for later: the samples and the
// syntax tree that locates problems. It is a no-op on an entry read whole.
func (e *Entry) Full() error {
	e.fullOnce.Do(func() {
		if !e.lazy {
			return
		}
		f, err := parseEntry(e.File, e.src)
		if err != nil {
			e.fullErr = err
			return
		}
		e.Tests, e.ast = f.Tests, f.ast
		e.lazy = false
	})
	return e.fullErr
}

// withoutTests cuts the top-level tests: block from an entry's text: a line
// starting "tests:" at the first column, to the next line that starts at
// the first column (another key, a document marker) or the end.
func withoutTests(data []byte) []byte {
	start := -1
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		end := len(data)
		if j >= 0 {
			end = i + j + 1
		}
		line := data[i:end]
		switch {
		case start < 0 && bytes.HasPrefix(line, []byte("tests:")):
			start = i
		case start >= 0 && len(line) > 0 && line[0] != ' ' && line[0] != '\t' && line[0] != '\n' && line[0] != '\r' && line[0] != '#':
			out := append(bytes.Clone(data[:start]), data[i:]...)
			return withoutTests(out)
		}
		i = end
	}
	if start < 0 {
		return data
	}
	return data[:start]
}

// maxEntryFile bounds an entry's text: real entries are a few KiB.
const maxEntryFile = 256 << 10

// checkShape refuses an entry too large, or nested too deep for the YAML
// parser to take safely (see yamlshape), naming the file and line.
func checkShape(name string, data []byte) error {
	if len(data) > maxEntryFile {
		return &Problem{File: name, Msg: fmt.Sprintf("%d bytes, larger than the %d an entry may be", len(data), maxEntryFile)}
	}
	if se := yamlshape.Check(data); se != nil {
		return &Problem{File: name, Line: se.Line, Msg: se.Msg}
	}
	return nil
}

// parseYAML parses data into an AST, turning a parser panic into an error.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("YAML parser failed on this input: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// decodeStrict decodes data into v, rejecting unknown fields. goccy's
// decoder can panic on some malformed input (found by FuzzLoadEntry: a tag on
// a sequence item); the panic becomes an error so that a bad user file never
// takes ktriage down.
func decodeStrict(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(v)
}

// trim removes the trailing newlines folded scalars leave on prose fields.
func (e *Entry) trim() {
	for _, p := range []*string{&e.Title, &e.Summary, &e.RootCause.Text, &e.RootCause.Note} {
		*p = strings.TrimSpace(*p)
	}
	if w := e.Workaround; w != nil {
		w.Text, w.Note = strings.TrimSpace(w.Text), strings.TrimSpace(w.Note)
	}
	if f := e.FixedIn; f != nil && f.Upstream != nil {
		f.Upstream.Note = strings.TrimSpace(f.Upstream.Note)
	}
}

// yamlError wraps a goccy error with the file name and the line and column
// goccy reports.
func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return &Problem{File: name, Line: tk.Position.Line, Column: tk.Position.Column, Msg: ye.GetMessage(), Err: err}
		}
		return &Problem{File: name, Msg: ye.GetMessage(), Err: err}
	}
	return &Problem{File: name, Msg: "invalid YAML", Err: err}
}

// Problem is an error in a knowledge-base file, located by file and line.
type Problem struct {
	File   string
	Line   int // 0 when unknown
	Column int // 0 when unknown
	ID     string
	Msg    string
	Err    error // the underlying error, if any
}

// Error formats the problem as file:line:col: [id: ]message.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.ID != "" {
		b.WriteString(p.ID + ": ")
	}
	b.WriteString(p.Msg)
	if p.Err != nil && !strings.Contains(p.Msg, p.Err.Error()) {
		var ye yaml.Error
		if !errors.As(p.Err, &ye) {
			b.WriteString(": " + p.Err.Error())
		}
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// problem builds a Problem located at the YAML path p (goccy path syntax,
// e.g. "$.match.any[0].titles[1]"), falling back to the nearest enclosing
// node that exists.
func (e *Entry) problem(p string, err error, format string, args ...any) *Problem {
	return &Problem{File: e.File, Line: e.lineOf(p), ID: e.ID, Msg: fmt.Sprintf(format, args...), Err: err}
}

// lineOf returns the line of the node at a YAML path, or of its nearest
// existing ancestor, or 0.
func (e *Entry) lineOf(p string) int {
	_ = e.Full()
	if e.ast == nil {
		return 0
	}
	for p != "" && p != "$" {
		if yp, err := yaml.PathString(p); err == nil {
			if n, err := yp.FilterFile(e.ast); err == nil && n != nil {
				if tk := n.GetToken(); tk != nil && tk.Position != nil {
					return tk.Position.Line
				}
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	// The document itself: the line of its first node.
	for _, d := range e.ast.Docs {
		if d != nil && d.Body != nil {
			if tk := d.Body.GetToken(); tk != nil && tk.Position != nil {
				return tk.Position.Line
			}
		}
	}
	return 0
}

// anchored wraps a function pattern so that it must match the whole name.
func anchored(p string) string { return `^(?:` + p + `)$` }

// blockPath is the YAML path of block i (-1 = top level).
func blockPath(i int) string {
	if i < 0 {
		return "$.match"
	}
	return fmt.Sprintf("$.match.any[%d]", i)
}

// compileBlocks builds the effective match blocks. It also returns the
// problems that make the entry unusable: bad regular expressions and bad
// version bounds.
func (e *Entry) compileBlocks() ([]*compiledBlock, []*Problem) {
	var probs []*Problem
	top, p := e.compileBlock(&e.Match.MatchBlock, -1)
	probs = append(probs, p...)
	if r, ok := e.impliedRange(); ok {
		top.releases = append(top.releases, r)
	}
	if len(e.Match.Any) == 0 {
		return []*compiledBlock{top}, probs
	}
	var blocks []*compiledBlock
	for i := range e.Match.Any {
		b, p := e.compileBlock(&e.Match.Any[i], i)
		probs = append(probs, p...)
		blocks = append(blocks, mergeBlocks(top, b))
	}
	return blocks, probs
}

// impliedRange is the affected range an entry without any implies by its
// fix: the upstream releases before the fix's first release. A kernel at
// or after it then matches only possibly ("fixed in this kernel
// already?"), as with stated ranges.
func (e *Entry) impliedRange() (compiledRange, bool) {
	if e.FixedIn == nil || e.FixedIn.Upstream == nil || e.FixedIn.Upstream.Release == "" {
		return compiledRange{}, false
	}
	if len(e.Match.Releases) > 0 {
		return compiledRange{}, false
	}
	for _, b := range e.Match.Any {
		if len(b.Releases) > 0 {
			return compiledRange{}, false
		}
	}
	u := e.FixedIn.Upstream
	hi, err := parseBound("upstream", u.Release)
	if err != nil {
		return compiledRange{}, false
	}
	note := "implied by the fix's first release"
	if !u.ReleaseVerified {
		note += ", itself unverified"
	}
	r := Range{MaxExclusive: u.Release, Scheme: "upstream", Provenance: Provenance{Verified: u.ReleaseVerified, Note: note}}
	return compiledRange{Range: r, hi: hi, hasHi: true, implied: true}, true
}

func (e *Entry) compileBlock(mb *MatchBlock, i int) (*compiledBlock, []*Problem) {
	var probs []*Problem
	bp := blockPath(i)
	cb := &compiledBlock{index: i, types: mb.Types, modules: mb.Modules}
	compileList := func(field string, pats []string, whole bool) []*regexp.Regexp {
		var out []*regexp.Regexp
		for j, pat := range pats {
			src := pat
			if whole {
				src = anchored(pat)
			}
			re, err := regexp.Compile(src)
			if err != nil {
				probs = append(probs, e.problem(fmt.Sprintf("%s.%s[%d]", bp, field, j), err,
					"%s pattern %q does not compile", field, pat))
				continue
			}
			out = append(out, re)
		}
		return out
	}
	cb.titles = compileList("titles", mb.Titles, false)
	cb.functions = compileList("functions", mb.Functions, true)
	cb.locations = compileList("locations", mb.Locations, false)
	for j, seq := range mb.Frames {
		var cs []*regexp.Regexp
		for k, pat := range seq {
			re, err := regexp.Compile(anchored(pat))
			if err != nil {
				probs = append(probs, e.problem(fmt.Sprintf("%s.frames[%d][%d]", bp, j, k), err,
					"frame pattern %q does not compile", pat))
				continue
			}
			cs = append(cs, re)
		}
		if len(cs) == len(seq) && len(cs) > 0 {
			cb.frames = append(cb.frames, cs)
		}
	}
	for j, r := range mb.Releases {
		cr := compiledRange{Range: r}
		rp := fmt.Sprintf("%s.releases[%d]", bp, j)
		if r.Min != "" {
			v, err := parseBound(r.Scheme, r.Min)
			if err != nil {
				probs = append(probs, e.problem(rp+".min", err, "range bound min %q does not parse", r.Min))
				continue
			}
			cr.lo, cr.hasLo = v, true
		}
		if r.MaxExclusive != "" {
			v, err := parseBound(r.Scheme, r.MaxExclusive)
			if err != nil {
				probs = append(probs, e.problem(rp+".max_exclusive", err, "range bound max_exclusive %q does not parse", r.MaxExclusive))
				continue
			}
			cr.hi, cr.hasHi = v, true
		}
		if !cr.hasLo && !cr.hasHi {
			if _, err := parseBound(r.Scheme, "1.0"); err != nil {
				probs = append(probs, e.problem(rp+".scheme", err, "range scheme %q", r.Scheme))
				continue
			}
		}
		cb.releases = append(cb.releases, cr)
	}
	return cb, probs
}

// mergeBlocks ANDs the top-level conditions with one Any block. Where both
// constrain the same field, the Any block's alternatives must match and so
// must the top level's; that is expressed by keeping both as separate
// conjuncts.
func mergeBlocks(top, b *compiledBlock) *compiledBlock {
	m := *b
	m.parent = top
	return &m
}

// baseName is the file name without directory and .yaml/.yml extension.
func baseName(file string) string {
	b := path.Base(strings.ReplaceAll(file, "\\", "/"))
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(b, ext) {
			return strings.TrimSuffix(b, ext)
		}
	}
	return b
}
