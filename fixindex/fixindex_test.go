package fixindex

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
)

// fixture is one commit message of testdata/commits: "# " metadata lines,
// a "---" line, then the message.
type fixture struct {
	name, upstream, msg string
}

func readFixtures(t testing.TB) []fixture {
	t.Helper()
	files, err := filepath.Glob("testdata/commits/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no commit fixtures: %v", err)
	}
	var out []fixture
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		meta, msg, ok := strings.Cut(string(data), "\n---\n")
		if !ok {
			t.Fatalf("%s: no --- line", f)
		}
		fx := fixture{name: filepath.Base(f), msg: msg}
		for _, l := range strings.Split(meta, "\n") {
			if v, ok := strings.CutPrefix(l, "# upstream: "); ok {
				fx.upstream = strings.Fields(v)[0]
			}
		}
		out = append(out, fx)
	}
	return out
}

// gitRun runs git in dir with a fixed identity and dates, no user or
// system configuration.
func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(gitEnv(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.org", "GIT_COMMITTER_NAME=Test",
		"GIT_COMMITTER_EMAIL=test@example.org", "GIT_AUTHOR_DATE=2023-01-01T00:00:00Z",
		"GIT_COMMITTER_DATE=2023-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitMsg(t testing.TB, dir, msg string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(f, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", f)
	return gitRun(t, dir, "rev-parse", "HEAD")
}

// testRepo builds the fixture repository:
//
//	init, 01 truesize, 02 6pack          tag v6.1
//	03 fastopen, 04 belkin               tag v6.2-rc1
//	05 list_del (Fixes: 6pack)           tag v6.2, tag not-a-release
//	06 Fixes-only                        HEAD (main)
//
// and a branch stable off 04 whose commit is tagged v6.1.9: 04 is in
// v6.1.9 and v6.2-rc1, and v6.1.9 is the lower version.
func testRepo(t testing.TB) (dir string, hashes map[string]string) {
	t.Helper()
	dir = t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	hashes = map[string]string{}
	hashes["init"] = commitMsg(t, dir, "init: empty tree\n")
	fx := readFixtures(t)
	tagAfter := map[string][]string{
		"02-6pack-decode-data.txt":    {"v6.1"},
		"04-belkin-sa-int-status.txt": {"v6.2-rc1"},
		"05-synthetic-list-del.txt":   {"v6.2", "not-a-release", "v6.3-custom"},
	}
	for _, f := range fx {
		hashes[f.name] = commitMsg(t, dir, f.msg)
		for _, tag := range tagAfter[f.name] {
			gitRun(t, dir, "tag", "-a", "-m", tag, tag)
		}
		if f.name == "04-belkin-sa-int-status.txt" {
			gitRun(t, dir, "checkout", "-q", "-b", "stable")
			hashes["stable"] = commitMsg(t, dir, "stable: a release of the 6.1 branch\n")
			gitRun(t, dir, "tag", "v6.1.9")
			gitRun(t, dir, "checkout", "-q", "main")
		}
	}
	return dir, hashes
}

func byHash(ix *Index) map[string]*Commit {
	m := map[string]*Commit{}
	for i := range ix.Commits {
		m[ix.Commits[i].Hash] = &ix.Commits[i]
	}
	return m
}

func TestBuild(t *testing.T) {
	dir, h := testRepo(t)
	start := time.Now()
	ix, err := Build(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %d of 7 commits in %v", len(ix.Commits), time.Since(start))
	got := byHash(ix)
	for _, name := range []string{"init", "01-tcp-truesize.txt", "03-tcp-fastopen-crash.txt", "stable"} {
		if c := got[h[name]]; c != nil {
			t.Errorf("%s indexed: %+v", name, *c)
		}
	}
	cases := []struct {
		name                string
		release             string
		headers, titles     []string
		guilty, funcs       []string
		fixes               []string
		reporters           []string
		subjectPrefix       string
		wantNoTitle, noGuil bool
	}{
		{name: "02-6pack-decode-data.txt", release: "v6.1",
			headers:       []string{"BUG: KASAN: slab-out-of-bounds in drivers/net/hamradio/6pack.c:843"},
			subjectPrefix: "net: 6pack: fix slab-out-of-bounds in decode_data", wantNoTitle: true, noGuil: true},
		{name: "04-belkin-sa-int-status.txt", release: "v6.1.9",
			headers:       []string{"BUG: KASAN: slab-out-of-bounds in belkin_sa_read_int_callback()"},
			guilty:        []string{"belkin_sa_read_int_callback"},
			funcs:         []string{"belkin_sa_read_int_callback", "__usb_hcd_giveback_urb", "dummy_timer"},
			subjectPrefix: "USB: serial: belkin_sa: validate interrupt status length", wantNoTitle: true},
		{name: "05-synthetic-list-del.txt", release: "v6.2",
			headers: []string{"kernel BUG at lib/list_debug.c:51!"},
			titles:  []string{"BUG: corrupted list in __dentry_kill"},
			funcs:   []string{"__list_del_entry_valid", "__dentry_kill"},
			fixes:   []string{"19d1532a1876"}},
		{name: "06-synthetic-fixes-only.txt", release: "",
			fixes: []string{"4ce058df2ee0"}, reporters: []string{"syzbot+0123456789abcdef0123"}, wantNoTitle: true, noGuil: true},
	}
	for _, c := range cases {
		cm := got[h[c.name]]
		if cm == nil {
			t.Errorf("%s not indexed", c.name)
			continue
		}
		if cm.Release != c.release {
			t.Errorf("%s: first release %q, want %q", c.name, cm.Release, c.release)
		}
		if !strings.HasPrefix(cm.Subject, c.subjectPrefix) {
			t.Errorf("%s: subject %q", c.name, cm.Subject)
		}
		for _, want := range c.headers {
			if !slices.Contains(cm.Headers, want) {
				t.Errorf("%s: headers %q lack %q", c.name, cm.Headers, want)
			}
		}
		for _, want := range c.titles {
			if !slices.Contains(cm.Titles, want) {
				t.Errorf("%s: titles %q lack %q", c.name, cm.Titles, want)
			}
		}
		if c.wantNoTitle && len(cm.Titles) > 0 {
			t.Errorf("%s: titles %q from a quote too short to title", c.name, cm.Titles)
		}
		for _, want := range c.guilty {
			if !slices.Contains(cm.Guilty, want) {
				t.Errorf("%s: guilty %q lack %q", c.name, cm.Guilty, want)
			}
		}
		if c.noGuil && len(cm.Guilty) > 0 {
			t.Errorf("%s: guilty %q", c.name, cm.Guilty)
		}
		for _, want := range c.funcs {
			if !slices.Contains(cm.Functions, want) {
				t.Errorf("%s: functions %q lack %q", c.name, cm.Functions, want)
			}
		}
		for _, fn := range cm.Functions {
			if isGeneric(fn) {
				t.Errorf("%s: generic frame %s indexed", c.name, fn)
			}
		}
		var fixes []string
		for _, f := range cm.Fixes {
			fixes = append(fixes, f.Hash)
		}
		if !slices.Equal(fixes, c.fixes) {
			t.Errorf("%s: fixes %q, want %q", c.name, fixes, c.fixes)
		}
		if !slices.Equal(cm.Reporters, c.reporters) {
			t.Errorf("%s: reporters %q, want %q", c.name, cm.Reporters, c.reporters)
		}
	}
	if ix.Head != h["06-synthetic-fixes-only.txt"] {
		t.Errorf("head %s", ix.Head)
	}
	// git log order: newest first.
	if len(ix.Commits) == 4 && ix.Commits[0].Hash != h["06-synthetic-fixes-only.txt"] {
		t.Errorf("first commit %s, want the newest", ix.Commits[0].Hash)
	}

	// --since v6.1 leaves out v6.1's history.
	ix2, err := Build(context.Background(), dir, "v6.1")
	if err != nil {
		t.Fatal(err)
	}
	got2 := byHash(ix2)
	if got2[h["02-6pack-decode-data.txt"]] != nil || got2[h["04-belkin-sa-int-status.txt"]] == nil || len(ix2.Commits) != 3 {
		t.Errorf("--since v6.1 indexed %d commits: %v", len(ix2.Commits), got2)
	}
	if c := got2[h["04-belkin-sa-int-status.txt"]]; c != nil && c.Release != "v6.1.9" {
		t.Errorf("--since v6.1: belkin first in %q", c.Release)
	}
}

func TestLookup(t *testing.T) {
	dir, h := testRepo(t)
	ix, err := Build(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	// A round trip through the stored form must answer the same.
	path := filepath.Join(t.TempDir(), "sub", "fixindex.json")
	if err := ix.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range []*Index{ix, loaded} {
		for _, c := range []struct {
			name   string
			crash  kb.Crash
			want   string
			str    Strength
			reason string
		}{
			{"title", kb.Crash{Title: "BUG: corrupted list in __dentry_kill", Guilty: "__dentry_kill"},
				"05-synthetic-list-del.txt", TitleMatch, `quotes a crash titled "BUG: corrupted list in __dentry_kill"`},
			{"guilty", kb.Crash{Title: "KASAN: slab-out-of-bounds Read in belkin_sa_read_int_callback", Guilty: "belkin_sa_read_int_callback+0x3c/0x80 [belkin_sa]"},
				"04-belkin-sa-int-status.txt", GuiltyMatch, "in belkin_sa_read_int_callback, the guilty function"},
			{"frames", kb.Crash{Title: "WARNING in usb_something", Guilty: "usb_something", Frames: []string{"usb_something", "kasan_report", "belkin_sa_read_int_callback.cold", "__usb_hcd_giveback_urb+0x1/0x2"}},
				"04-belkin-sa-int-status.txt", FramesMatch, "names belkin_sa_read_int_callback, __usb_hcd_giveback_urb"},
		} {
			cands := idx.Lookup(c.crash)
			if len(cands) == 0 {
				t.Errorf("%s: no candidate", c.name)
				continue
			}
			top := cands[0]
			if top.Commit.Hash != h[c.want] || top.Strength != c.str || !strings.Contains(top.Why, c.reason) {
				t.Errorf("%s: top candidate %s %v %q, want %s %v", c.name, top.Commit.Subject, top.Strength, top.Why, c.want, c.str)
			}
			if s := top.String(); !strings.HasPrefix(s, "possibly fixed by "+h[c.want][:12]) || !strings.Contains(s, "(first in "+top.Commit.Release+")") {
				t.Errorf("%s: %s", c.name, s)
			}
		}
		// One shared frame is not enough; nothing matches an unrelated crash.
		for _, c := range []kb.Crash{
			{Title: "WARNING in foo", Guilty: "foo", Frames: []string{"foo", "__usb_hcd_giveback_urb"}},
			{Title: "kernel BUG in tcp_sendmsg", Guilty: "tcp_sendmsg", Frames: []string{"tcp_sendmsg", "dump_stack", "kasan_report"}},
			{},
		} {
			if got := idx.Lookup(c); len(got) != 0 {
				t.Errorf("Lookup(%+v) = %v", c, got)
			}
		}
	}
	// The follow-ups of a fix, by its Fixes: tags, full hash or abbreviated.
	for _, q := range []string{"4ce058df2ee02cc2a0f0fd5cd64ce6f1482a0b65", "4CE058DF2EE0", "4ce058df"} {
		if got := loaded.FixesOf(q); len(got) != 1 || got[0].Hash != h["06-synthetic-fixes-only.txt"] {
			t.Errorf("FixesOf(%s) = %v", q, got)
		}
	}
	for _, q := range []string{"4ce058df3", "4ce058d", ""} {
		if got := loaded.FixesOf(q); len(got) != 0 {
			t.Errorf("FixesOf(%q) = %v", q, got)
		}
	}
	// A report's other titles match as titles.
	rep := &oops.Report{Title: "some other title", AltTitles: []string{"BUG: corrupted list in __dentry_kill"}}
	if got := loaded.LookupReport(rep); len(got) != 1 || got[0].Commit.Hash != h["05-synthetic-list-del.txt"] || got[0].Strength != TitleMatch {
		t.Errorf("LookupReport by an alternative title: %v", got)
	}
	if loaded.Head != ix.Head || loaded.Repo != ix.Repo || len(loaded.Commits) != len(ix.Commits) {
		t.Errorf("loaded index differs: %+v", loaded)
	}
}

// TestBuildHostile: what is not a repository, an option smuggled in as
// --since, a revision that does not exist, and a 1 MiB message.
func TestBuildHostile(t *testing.T) {
	ctx := context.Background()
	// The environment must not point git at another repository.
	other, _ := testRepo(t)
	t.Setenv("GIT_DIR", filepath.Join(other, ".git"))
	notRepo := t.TempDir()
	if _, err := Build(ctx, notRepo, ""); !errors.Is(err, ErrNotRepository) || !strings.Contains(err.Error(), notRepo) {
		t.Errorf("not a repository: %v", err)
	}
	if _, err := Build(ctx, filepath.Join(notRepo, "missing"), ""); err == nil {
		t.Errorf("missing directory: no error")
	}
	file := filepath.Join(notRepo, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := Build(ctx, file, ""); !errors.Is(err, ErrNotRepository) {
		t.Errorf("a file: %v", err)
	}

	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	if _, err := Build(ctx, dir, ""); err == nil || !strings.Contains(err.Error(), "no HEAD commit") {
		t.Errorf("empty repository: %v", err)
	}
	var big strings.Builder
	big.WriteString("mm: fix a huge one\n\nBUG: KASAN: use-after-free in huge_victim+0x10/0x20\nCall Trace:\n huge_caller+0x1/0x2\n")
	for big.Len() < 1<<20 {
		big.WriteString("filler line that quotes nothing at all, again and again and again\n")
	}
	big.WriteString("BUG: KASAN: use-after-free in beyond_the_bound+0x1/0x2\n")
	hash := commitMsg(t, dir, big.String())
	for _, since := range []string{"--output=/tmp/x", "-n1", "no-such-tag"} {
		if _, err := Build(ctx, dir, since); err == nil {
			t.Errorf("--since %q: no error", since)
		}
	}
	ix, err := Build(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Commits) != 1 || ix.Commits[0].Hash != hash {
		t.Fatalf("1 MiB message: %d commits", len(ix.Commits))
	}
	c := ix.Commits[0]
	if !c.Truncated || !slices.Contains(c.Guilty, "huge_victim") || slices.Contains(c.Guilty, "beyond_the_bound") || c.Subject != "mm: fix a huge one" {
		t.Errorf("1 MiB message: truncated %v, guilty %q, subject %q", c.Truncated, c.Guilty, c.Subject)
	}

	// A cancelled context stops git.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Build(cctx, dir, ""); err == nil {
		t.Errorf("cancelled build: no error")
	}
}

func TestReadErrors(t *testing.T) {
	h := `{"fixindex":1,"repo":"/r","head":"` + strings.Repeat("a", 40) + `","built":"2023-01-01T00:00:00Z","commits":1}` + "\n"
	good := `{"hash":"` + strings.Repeat("b", 40) + `","subject":"s"}` + "\n"
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"not json", "hello\n", "no fix-index header"},
		{"other version", strings.Replace(h, `"fixindex":1`, `"fixindex":2`, 1), "format 2, want 1"},
		{"short", h, "the file is cut short"},
		{"bad line", h + "{\n", "line 2"},
		{"bad hash", h + `{"hash":"xyz"}` + "\n", `line 2: commit hash "xyz"`},
		{"huge line", h + strings.Repeat("x", maxStoredLine+1) + "\n", "line 2"},
	} {
		_, err := Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	ix, err := Read(strings.NewReader(h + good))
	if err != nil || len(ix.Commits) != 1 {
		t.Errorf("good index: %v", err)
	}
	var buf bytes.Buffer
	if err := ix.Write(&buf); err != nil || buf.String() != h+good {
		t.Errorf("rewrite differs: %v\n%s", err, buf.String())
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if p, err := DefaultPath(); err != nil || p != "/x/cache/ktriage/fixindex.json" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
}
