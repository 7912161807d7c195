package kb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/hostilefile"
)

// TestEmbeddedKB is the knowledge base's own gate: it must lint clean and
// hold enough entries, with enough fixes verified in a cited public source.
func TestEmbeddedKB(t *testing.T) {
	k := embeddedKB(t)
	for _, err := range k.Lint() {
		t.Errorf("lint: %v", err)
	}
	if k.Len() < 16 {
		t.Errorf("%d entries, want at least 16", k.Len())
	}
	if k.Verified() < 10 {
		t.Errorf("%d verified entries, want at least 10", k.Verified())
	}
	fixes := 0
	for _, e := range k.Entries() {
		if !strings.HasPrefix(e.File, embeddedPrefix+"entries/") || baseName(e.File) != e.ID {
			t.Errorf("entry %s comes from %s", e.ID, e.File)
		}
		u := e.FixedIn
		if u != nil && u.Upstream != nil && u.Upstream.Verified && isHTTPURL(u.Upstream.Source) && e.citesCommit(u.Upstream.Commit) {
			fixes++
		}
	}
	if fixes < 10 {
		t.Errorf("%d entries with a fixing commit verified in a cited URL, want at least 10", fixes)
	}
	seed := k.Get(seedID)
	if seed == nil {
		t.Fatalf("no %s entry", seedID)
	}
	w := seed.Workaround
	if w == nil || w.EthtoolOffload == nil || w.EthtoolOffload.Scope != "bond-slaves" || w.EthtoolOffload.State != "off" ||
		strings.Join(w.EthtoolOffload.Features, ",") != "rx,tx,tso,gso,gro,lro" {
		t.Errorf("seed workaround = %+v", w)
	}
	if seed.FixedIn.Upstream.Title != "tcp: fix tcp_trim_head()" || seed.FixedIn.Upstream.Verified {
		t.Errorf("seed fix = %+v: the title is known, the hash is not verified", seed.FixedIn.Upstream)
	}
}

const validEntry = `id: user-bug
title: A user's own bug
summary: Something local.
verified: false
match:
  types: [BUG]
  functions: ['my_driver_xmit']
root_cause: {text: Local driver bug.}
references:
  - {kind: url, url: "https://example.org/bug/1", verified: false}
tests:
  reports:
    - source: https://example.org/bug/1
      log: |
        [  12.000000] kernel BUG at drivers/net/mydrv.c:42!
        [  12.000001] invalid opcode: 0000 [#1] SMP
        [  12.000002] RIP: 0010:my_driver_xmit+0x10/0x20 [mydrv]
        [  12.000003] Call Trace:
        [  12.000004]  dev_hard_start_xmit+0x90/0x1e0
        [  12.000005]  __dev_queue_xmit+0x6c3/0x9a0
  near_misses:
    - source: https://example.org/bug/2
      note: A WARNING in the same function is another bug.
      log: |
        [  12.000000] WARNING: CPU: 0 PID: 1 at drivers/net/mydrv.c:50 my_driver_xmit+0x10/0x20 [mydrv]
        [  12.000001] RIP: 0010:my_driver_xmit+0x10/0x20 [mydrv]
        [  12.000002] Call Trace:
        [  12.000003]  dev_hard_start_xmit+0x90/0x1e0
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadUserDir(t *testing.T) {
	base := embeddedKB(t)

	dir := t.TempDir()
	writeFile(t, dir, "user-bug.yaml", validEntry)
	writeFile(t, dir, "README.txt", "not an entry")
	k, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if k.Len() != base.Len()+1 || k.Get("user-bug") == nil {
		t.Fatalf("Load merged %d entries (embedded %d); user-bug=%v", k.Len(), base.Len(), k.Get("user-bug"))
	}
	if got := matchIDs(k.Match(Crash{Type: "BUG", Guilty: "my_driver_xmit"})); len(got) != 1 || got[0] != "user-bug" {
		t.Errorf("user entry matches = %v", got)
	}
	if errs := k.Lint(); len(errs) != 0 {
		t.Errorf("lint of the merged KB: %v", errs)
	}

	// An entry with a built-in's id replaces it, and says which file it
	// replaces; the built-in's signature no longer matches.
	over := t.TempDir()
	p := writeFile(t, over, seedID+".yaml", strings.Replace(validEntry, "id: user-bug", "id: "+seedID, 1))
	k, err = Load(over)
	if err != nil {
		t.Fatalf("override of %s: %v", seedID, err)
	}
	got := k.Get(seedID)
	if k.Len() != base.Len() || got == nil || got.File != p || got.Overrides != embeddedPrefix+"entries/"+seedID+".yaml" {
		t.Fatalf("after override: %d entries (want %d), %s from %v overriding %v", k.Len(), base.Len(), seedID, got.File, got.Overrides)
	}
	if ov := k.Overridden(); len(ov) != 1 || ov[0] != got {
		t.Errorf("Overridden() = %v, want [%s]", ov, seedID)
	}
	if len(base.Overridden()) != 0 {
		t.Errorf("the embedded KB reports overridden entries: %v", base.Overridden())
	}
	if ids := matchIDs(k.Match(Crash{Type: "BUG", Guilty: "my_driver_xmit"})); !slices.Contains(ids, seedID) {
		t.Errorf("the overriding entry does not match its own crash: %v", ids)
	}
	if base.Get(seedID).Overrides != "" {
		t.Errorf("loading an override marked the embedded KB's entry")
	}

	// Two user files with the same id stay an error naming both; the
	// first is kept.
	dup := t.TempDir()
	p1 := writeFile(t, dup, "user-bug.yaml", validEntry)
	p2 := writeFile(t, dup, "user-bug.yml", strings.Replace(validEntry, "title: A user's own bug", "title: again", 1))
	k, err = Load(dup)
	if err == nil {
		t.Fatal("two user entries with one id loaded without error")
	}
	msg := err.Error()
	if !strings.Contains(msg, p1) || !strings.Contains(msg, p2) || !strings.Contains(msg, "duplicate entry id") {
		t.Errorf("duplicate error does not name both files: %v", err)
	}
	if k == nil || k.Len() != base.Len()+1 || k.Get("user-bug").File != p1 {
		t.Errorf("KB after duplicate: %v entries, want the embedded %d and the first user entry", k.Len(), base.Len())
	}

	// Broken YAML: the error names the file and line, and wraps goccy's error.
	bad := t.TempDir()
	p = writeFile(t, bad, "broken.yaml", "id: broken\ntitle: [unclosed\n")
	writeFile(t, bad, "user-bug.yaml", validEntry)
	k, err = Load(bad)
	if err == nil {
		t.Fatal("broken YAML loaded without error")
	}
	var prob *Problem
	if !errors.As(err, &prob) || prob.File != p || prob.Line == 0 {
		t.Errorf("error %v: want a *Problem naming %s with a line", err, p)
	}
	if k.Get("user-bug") == nil {
		t.Errorf("the good entry beside the broken one was not loaded")
	}

	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("missing directory loaded without error")
	}
}

func TestParseEntryErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      *regexp.Regexp // on the error text
	}{
		{"syntax", "id: x\ntitle: [a\n", regexp.MustCompile(`^x\.yaml:\d+:\d+: `)},
		{"unknown field", validEntry + "colour: red\n", regexp.MustCompile(`^x\.yaml:29:1: unknown field "colour"`)},
		{"unknown nested field", strings.Replace(validEntry, "  types: [BUG]", "  types: [BUG]\n  function: ['x']", 1), regexp.MustCompile(`^x\.yaml:7:3: unknown field "function"`)},
		{"wrong type", strings.Replace(validEntry, "verified: false\nmatch", "verified: maybe\nmatch", 1), regexp.MustCompile(`^x\.yaml:4:\d+: `)},
		{"bad regexp", strings.Replace(validEntry, "'my_driver_xmit'", "'my_driver_(xmit'", 1), regexp.MustCompile(`^x\.yaml:7: user-bug: functions pattern "my_driver_\(xmit" does not compile: error parsing regexp`)},
		{"bad frame regexp", strings.Replace(validEntry, "  functions: ['my_driver_xmit']", "  frames: [['a', '[b']]", 1), regexp.MustCompile(`^x\.yaml:7: user-bug: frame pattern "\[b" does not compile`)},
		{"bad bound", strings.Replace(validEntry, "  types: [BUG]", "  types: [BUG]\n  releases: [{min: 'abc', scheme: upstream}]", 1), regexp.MustCompile(`^x\.yaml:7: user-bug: range bound min "abc" does not parse`)},
		{"bad scheme", strings.Replace(validEntry, "  types: [BUG]", "  types: [BUG]\n  releases: [{min: '1.0', scheme: pacman}]", 1), regexp.MustCompile(`unknown version scheme "pacman"`)},
		{"duplicate key", validEntry + "title: again\n", regexp.MustCompile(`^x\.yaml:29:\d+: .*already defined`)},
		{"empty", "# nothing\n", regexp.MustCompile(`^x\.yaml: empty file`)},
		{"two documents", validEntry + "---\n" + validEntry, regexp.MustCompile(`^x\.yaml: 2 YAML documents`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := parseEntry("x.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("parsed without error: %+v", e)
			}
			if !c.want.MatchString(err.Error()) {
				t.Errorf("error %q does not match %s", err, c.want)
			}
		})
	}
}

// TestLintRules checks that each rule fires, names the file, the entry and a
// line, and that the valid entry is clean.
func TestLintRules(t *testing.T) {
	e, err := parseEntry("user-bug.yaml", []byte(validEntry))
	if err != nil {
		t.Fatal(err)
	}
	if ps := e.lint(); len(ps) != 0 {
		t.Fatalf("valid entry has problems: %v", ps)
	}
	r := strings.NewReplacer
	cases := []struct {
		name string
		edit *strings.Replacer
		file string
		want string
	}{
		{"id differs from file", r("id: user-bug", "id: other-bug"), "user-bug.yaml", `id "other-bug" differs from the file name "user-bug"`},
		{"bad id", r("id: user-bug", "id: User_Bug"), "User_Bug.yaml", `id "User_Bug" must match`},
		{"missing title", r("title: A user's own bug\n", ""), "", "title is required"},
		{"missing summary", r("summary: Something local.\n", ""), "", "summary is required"},
		{"missing root cause", r("root_cause: {text: Local driver bug.}\n", ""), "", "root_cause.text is required"},
		{"no identifying condition", r("  functions: ['my_driver_xmit']\n", ""), "", "match block has no title, function, frame or location condition"},
		{"unknown type", r("types: [BUG]", "types: [OOPS]"), "", `crash type "OOPS" is not a known syzkaller type`},
		{"empty range", r("  types: [BUG]", "  types: [BUG]\n  releases: [{min: '5.2', max_exclusive: '5.1', scheme: upstream}]"), "", "is empty: min is not below max_exclusive"},
		{"open range", r("  types: [BUG]", "  types: [BUG]\n  releases: [{scheme: rpm}]"), "", "range has neither min nor max_exclusive"},
		{"verified range without source", r("  types: [BUG]", "  types: [BUG]\n  releases: [{max_exclusive: '5.1', scheme: upstream, verified: true}]"), "", "release range is marked verified but cites no source"},
		{"short commit", r("references:\n", "fixed_in:\n  upstream: {commit: abc123, title: fix, verified: false}\nreferences:\n"), "", `commit "abc123" is not 12 to 40 lowercase hex digits`},
		{"upper-case commit", r("references:\n", "references:\n  - {kind: commit, id: 3B4929F65B0D, verified: false}\n"), "", `commit "3B4929F65B0D" is not 12 to 40`},
		{"verified fix without source", r("references:\n", "fixed_in:\n  upstream: {commit: 3b4929f65b0d8249f19a50245cd88ed1a2f78cff, title: fix, verified: true}\nreferences:\n"), "", "fixed_in.upstream is marked verified but cites no source"},
		{"verified fix without commit reference", r("references:\n", "fixed_in:\n  upstream: {commit: 3b4929f65b0d8249f19a50245cd88ed1a2f78cff, title: fix, verified: true, source: 'https://example.org/c'}\nreferences:\n"), "", "has no verified commit reference with a url"},
		{"verified entry without verified fix", r("verified: false\nmatch", "verified: true\nmatch"), "", "entry is verified but its upstream fix is not"},
		{"bad release", r("references:\n", "fixed_in:\n  upstream: {commit: 3b4929f65b0d, title: fix, release: soon, verified: false}\nreferences:\n"), "", `release "soon" does not parse`},
		{"verified reference without url", r(`{kind: url, url: "https://example.org/bug/1", verified: false}`, `{kind: cve, id: CVE-2019-11477, verified: true}`), "", "verified reference has no url"},
		{"bad cve", r(`{kind: url, url: "https://example.org/bug/1", verified: false}`, `{kind: cve, id: CVE-19-1}`), "", `CVE id "CVE-19-1"`},
		{"unknown reference kind", r("kind: url", "kind: tweet"), "", `reference kind "tweet"`},
		{"non-http url", r("https://example.org/bug/1", "ftp://example.org/bug/1"), "", "is not an http(s) URL"},
		{"no references", r("references:\n  - {kind: url, url: \"https://example.org/bug/1\", verified: false}\n", "references: []\n"), "", "at least one reference is required"},
		{"unknown ethtool feature", r("references:\n", "workaround:\n  text: t\n  ethtool_offload: {features: [tso, turbo], state: 'off', scope: all}\nreferences:\n"), "", `ethtool feature "turbo"`},
		{"bad ethtool state", r("references:\n", "workaround:\n  text: t\n  ethtool_offload: {features: [tso], state: disabled, scope: all}\nreferences:\n"), "", `state "disabled" must be on or off`},
		{"unknown ethtool scope", r("references:\n", "workaround:\n  text: t\n  ethtool_offload: {features: [tso], state: 'off', scope: everywhere}\nreferences:\n"), "", `scope "everywhere"`},
		{"driver scope without driver", r("references:\n", "workaround:\n  text: t\n  ethtool_offload: {features: [tso], state: 'off', scope: driver}\nreferences:\n"), "", "scope driver needs driver"},
		{"bad sysctl", r("references:\n", "workaround:\n  text: t\n  sysctl: [{key: 'tcp sack', value: '0'}]\nreferences:\n"), "", `sysctl key "tcp sack"`},
		{"workaround without text", r("references:\n", "workaround:\n  sysctl: [{key: net.ipv4.tcp_sack, value: '0'}]\nreferences:\n"), "", "workaround.text is required"},
		{"long excerpt", r(`verified: false}`, `verified: false, excerpt: "`+strings.Repeat("3b4929f65b0d ", 200)+`"}`), "", "excerpt of 2600 bytes is not a short quote"},
		{"long fix excerpt", r("references:\n", "fixed_in:\n  upstream: {commit: 3b4929f65b0d, title: fix, verified: false, source: 'https://example.org/c', excerpt: '"+strings.Repeat("x", 2000)+"'}\nreferences:\n"), "", "excerpt of 2000 bytes is not a short quote"},
		{"bad module", r("references:\n", "workaround:\n  text: t\n  avoid_modules: ['xt TCPMSS']\nreferences:\n"), "", `module name "xt TCPMSS"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := c.file
			if file == "" {
				file = "user-bug.yaml"
			}
			e, err := parseEntry(file, []byte(c.edit.Replace(validEntry)))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var found *Problem
			for _, p := range e.lint() {
				if strings.Contains(p.Msg, c.want) {
					found = p
				}
			}
			if found == nil {
				t.Fatalf("no problem containing %q in %v", c.want, e.lint())
			}
			if found.File != file || found.Line == 0 || !strings.HasPrefix(found.Error(), file+":") {
				t.Errorf("problem %q: want file %s and a line", found.Error(), file)
			}
		})
	}

	// KB.Lint reports an id defined twice even when entries are assembled by hand.
	a, _ := parseEntry("user-bug.yaml", []byte(validEntry))
	b, _ := parseEntry("user-bug.yaml", []byte(validEntry))
	k := &KB{entries: []*Entry{a, b}}
	if errs := k.Lint(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "duplicate entry id") {
		t.Errorf("duplicate ids: %v", errs)
	}
	if _, err := New(a, b); err == nil || !strings.Contains(err.Error(), "duplicate entry id") {
		t.Errorf("New with duplicate ids: %v", err)
	}
}

// TestLintCitations: a verified commit's source must name its hash, in the
// URL or in a quoted excerpt, by at least twelve digits; lint checks that
// offline.
func TestLintCitations(t *testing.T) {
	const (
		hash    = "3b4929f65b0d8249f19a50245cd88ed1a2f78cff"
		named   = "https://git.example.org/commit/?id=" + hash
		unnamed = "https://lists.example.org/netdev/2019/06/17/1"
	)
	// entry has a verified fix cited at fixSource (with fixExcerpt) and a
	// verified commit reference at refURL (with refExcerpt).
	entry := func(fixSource, fixExcerpt, refURL, refExcerpt string) string {
		return strings.Replace(validEntry, "references:\n", fmt.Sprintf(`fixed_in:
  upstream: {commit: %[1]s, title: fix, verified: true, source: %[2]q, excerpt: %[3]q}
references:
  - {kind: commit, id: %[1]s, url: %[4]q, excerpt: %[5]q, verified: true}
`, hash, fixSource, fixExcerpt, refURL, refExcerpt), 1)
	}
	const (
		fixProblem = "verified fix " + hash + ": neither its source URL nor its excerpt names the hash"
		refProblem = "verified commit " + hash + ": neither its url nor its excerpt names the hash"
	)
	cases := []struct {
		name string
		src  string
		want []string // problems, in any order; none when empty
	}{
		{"both URLs name the hash", entry(named, "", named, ""), nil},
		{"fix source does not name it", entry(unnamed, "", named, ""), []string{fixProblem}},
		{"reference URL does not name it", entry(named, "", unnamed, ""), []string{refProblem}},
		{"excerpts name it", entry(unnamed, `Fixes: 3b4929f65b0d ("tcp: limit payload size of sacked skbs")`, unnamed, "commit "+hash), nil},
		{"upper-case hex in the excerpt", entry(unnamed, "Commit 3B4929F65B0D", named, ""), nil},
		{"ten digits are too few", entry(unnamed, "Commit 3b4929f65b (tcp: limit payload size)", named, ""), []string{fixProblem}},
		{"a longer run that is another commit", entry(unnamed, "commit 3b4929f65b0d8249f19a50245cd88ed1a2f78cfe", named, ""), []string{fixProblem}},
		{"a hash inside a longer run", entry(unnamed, "sha 03b4929f65b0d8249", named, ""), []string{fixProblem}},
		{"excerpt without source", strings.Replace(entry(named, "", named, ""), `source: "`+named+`", excerpt: ""`, `excerpt: "`+hash+`"`, 1),
			[]string{"fixed_in.upstream is marked verified but cites no source", "excerpt without the source it quotes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := parseEntry("user-bug.yaml", []byte(c.src))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var got []string
			for _, p := range e.lint() {
				if p.Line == 0 {
					t.Errorf("problem %q has no line", p.Error())
				}
				got = append(got, p.Msg)
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems %q, want %q", got, want)
			}
		})
	}
}

// TestLoadHostileDir: a --kb-dir is input like any other. A FIFO, a link to
// a device, a huge file or a deeply nested one is refused by name (and
// line, where there is one) without hanging or taking memory in proportion
// to the nesting; the good entry beside it still loads.
func TestLoadHostileDir(t *testing.T) {
	flow := "id: deep\ntitle: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	var block strings.Builder
	block.WriteString("id: deep\ntitle:\n")
	for i := range 600 {
		block.WriteString(strings.Repeat(" ", i+1) + "-\n")
	}
	bomb := strings.Replace(validEntry, "  functions: ['my_driver_xmit']",
		"  functions: &a ['a','a','a','a','a','a','a','a','a','a']\n  frames: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]", 1)
	cases := []struct {
		name string
		make func(t *testing.T, p string)
		want string
	}{
		{"fifo", func(t *testing.T, p string) { hostilefile.FIFO(t, p) }, "not a regular file"},
		{"link to /dev/zero", func(t *testing.T, p string) {
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"huge sparse file", func(t *testing.T, p string) { hostilefile.Sparse(t, p, 2<<30) }, "larger than"},
		{"huge excerpt", func(t *testing.T, p string) {
			os.WriteFile(p, []byte(validEntry+"excerpt: \""+strings.Repeat("a", 20<<20)+"\"\n"), 0o644)
		}, "larger than"},
		{"deep flow nesting", func(t *testing.T, p string) { os.WriteFile(p, []byte(flow), 0o644) }, ":2: nested deeper than"},
		{"deep block nesting", func(t *testing.T, p string) { os.WriteFile(p, []byte(block.String()), 0o644) }, "nested deeper than"},
		{"wrong types", func(t *testing.T, p string) {
			os.WriteFile(p, []byte("id: [1, 2]\ntitle: {a: b}\nfixed_in: 5\n"), 0o644)
		}, ":1:5: "},
		{"aliases", func(t *testing.T, p string) { os.WriteFile(p, []byte(bomb), 0o644) }, ""},
	}
	// What loading the built-in entries alone allocates: the bound is on
	// what the hostile file adds to it.
	var b0, b1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&b0)
	if _, err := Load(""); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&b1)
	base := b1.TotalAlloc - b0.TotalAlloc
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "hostile.yaml")
			c.make(t, p)
			writeFile(t, dir, "user-bug.yaml", validEntry)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			done := make(chan struct{})
			var k *KB
			var err error
			go func() { k, err = Load(dir); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Load hung")
			}
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > base+64<<20 {
				t.Errorf("allocated %d MB, the built-in entries %d MB", n>>20, base>>20)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("got %v, want an error naming %s and %q", err, p, c.want)
			}
			if k.Get("user-bug") == nil {
				t.Error("the good entry beside the hostile one was not loaded")
			}
		})
	}
}

// TestLintUserEntries: entries from --kb-dir, overriding or not, pass
// through the same lint as built-ins, and their problems name the user's
// file.
func TestLintUserEntries(t *testing.T) {
	dir := t.TempDir()
	// An override without near misses and with an unsourced verified fact.
	over := strings.Replace(validEntry, "id: user-bug", "id: "+seedID, 1)
	over = over[:strings.Index(over, "  near_misses:")]
	over = strings.Replace(over, "root_cause: {text: Local driver bug.}", "root_cause: {text: Local driver bug., verified: true}", 1)
	pOver := writeFile(t, dir, seedID+".yaml", over)
	// A new entry whose id differs from its file name.
	pNew := writeFile(t, dir, "other-name.yaml", validEntry)
	k, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range k.Lint() {
		msgs = append(msgs, e.Error())
	}
	for _, c := range []struct{ file, want string }{
		{pOver, "tests.near_misses: at least one near miss"},
		{pOver, "root_cause is marked verified but cites no source"},
		{pNew, `id "user-bug" differs from the file name "other-name"`},
	} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, c.file+":") && strings.Contains(m, c.want) }) {
			t.Errorf("lint of user entries lacks %q for %s:\n%s", c.want, c.file, strings.Join(msgs, "\n"))
		}
	}
}
