package fixindex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/version"
)

// ErrNotRepository is returned by Build for a directory git does not take
// for a repository.
var ErrNotRepository = errors.New("not a git repository")

// grepPattern preselects, inside git, the messages worth parsing: those
// holding a crash header, a call trace, a syzbot Reported-by or a Fixes:
// tag. It is a superset of what parseMessage indexes, so that git, not
// the pipe, skips the other 80% of a kernel's history.
const grepPattern = `BUG: |KASAN: |KMSAN: |KCSAN: |KFENCE: |UBSAN: |WARNING: |kernel BUG at |general protection fault|Oops|Unable to handle kernel|divide error: |INFO: task |INFO: rcu |soft lockup|unreferenced object|possible deadlock|refcount_t: |list_add corruption|list_del corruption|Kernel panic|Call [Tt]race:|RIP: |syzbot|[Ff]ixes: [0-9a-fA-F]`

// releaseTagRE is what counts as a release tag: v6.1, v6.2-rc3, v6.1.12.
var releaseTagRE = regexp.MustCompile(`^v\d+\.\d+(?:\.\d+)*(?:-rc\d+)?$`)

// Build indexes the commits of the git tree at gitDir (a work tree or a
// bare repository) reachable from HEAD, and, when since is not empty, not
// from since (a tag or any revision). It runs git twice, streaming each:
//
//   - git log --no-merges -z --format='%H %B' --grep=… reads the messages
//     git preselects; each is parsed as it arrives and only the commits
//     that quote a crash or carry Fixes: are kept;
//   - git log --topo-order --format='%H %P' %D over HEAD and every tag,
//     children before parents, carries to each commit the lowest-versioned
//     release tag among its descendants: the first release containing it.
//
// The second pass replaces a `git tag --contains` (or `git describe
// --contains`) per commit, which walks the graph once per commit and takes
// hours on a kernel tree, with one walk; it holds only the frontier of
// commits whose children were seen and parents not yet.
func Build(ctx context.Context, gitDir, since string) (*Index, error) {
	abs, err := filepath.Abs(gitDir)
	if err != nil {
		return nil, fmt.Errorf("fix index of %s: %w", gitDir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("fix index: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("fix index: %s: %w (not a directory)", abs, ErrNotRepository)
	}
	if strings.HasPrefix(since, "-") {
		return nil, fmt.Errorf("fix index: --since %q: a revision does not start with '-'", since)
	}
	if _, err := git(ctx, abs, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("fix index: %s: %w (%v)", abs, ErrNotRepository, err)
	}
	head, err := git(ctx, abs, "rev-parse", "--verify", "--end-of-options", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("fix index: %s has no HEAD commit: %w", abs, err)
	}
	ix := &Index{Repo: abs, Head: head, Since: since, Built: time.Now().UTC()}
	revs := []string{"HEAD"}
	if since != "" {
		s, err := git(ctx, abs, "rev-parse", "--verify", "--end-of-options", since+"^{commit}")
		if err != nil {
			return nil, fmt.Errorf("fix index: --since %q is not a commit in %s: %w", since, abs, err)
		}
		revs = append(revs, "^"+s)
	}

	args := []string{"-c", "log.showSignature=false", "log", "--no-merges", "--no-color", "-z",
		"--format=%H %B", "-E", "--grep=" + grepPattern, "--end-of-options"}
	err = stream(ctx, abs, append(args, revs...), 0, func(rec []byte, truncated bool) error {
		hash, msg, ok := bytes.Cut(rec, []byte{' '})
		if !ok || !isHash(hash) {
			return fmt.Errorf("git log record does not start with a commit hash: %.40q", rec)
		}
		c, ok := parseMessage(string(hash), msg)
		if !ok {
			return nil
		}
		c.Truncated = c.Truncated || truncated
		ix.Commits = append(ix.Commits, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fix index of %s: reading messages: %w", abs, err)
	}
	if err := ix.firstReleases(ctx, revs); err != nil {
		return nil, fmt.Errorf("fix index of %s: first releases: %w", abs, err)
	}
	return ix, nil
}

// release is a release tag and its parsed version.
type release struct {
	name string
	v    version.Upstream
}

func lower(a, b *release) *release {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case version.CompareUpstream(b.v, a.v) < 0:
		return b
	}
	return a
}

// firstReleases sets each indexed commit's Release in one topological walk
// of HEAD and every tag (see Build).
func (ix *Index) firstReleases(ctx context.Context, revs []string) error {
	want := make(map[string]int, len(ix.Commits))
	for i := range ix.Commits {
		want[ix.Commits[i].Hash] = i
	}
	if len(want) == 0 {
		return nil
	}
	// pending holds, for a commit not yet output, the lowest release among
	// the children already output: the frontier of the walk.
	pending := map[string]*release{}
	tags := map[string]*release{}
	args := []string{"log", "--topo-order", "--no-color", "-z", "--decorate-refs=refs/tags/",
		"--format=%H %P%x09%D", "--tags", "--end-of-options"}
	// The walk excludes since's history too: no indexed commit is in it.
	return stream(ctx, ix.Repo, append(args, revs...), 64<<10, func(rec []byte, _ bool) error {
		line, deco, _ := strings.Cut(strings.TrimSpace(string(rec)), "\t")
		ids := strings.Fields(line)
		if len(ids) == 0 || !isHash([]byte(ids[0])) {
			return fmt.Errorf("git log record does not start with a commit hash: %.40q", rec)
		}
		h := ids[0]
		r := pending[h]
		delete(pending, h)
		for _, d := range strings.Split(deco, ", ") {
			name, ok := strings.CutPrefix(d, "tag: ")
			if !ok || !releaseTagRE.MatchString(name) {
				continue
			}
			t := tags[name]
			if t == nil {
				v, err := version.ParseUpstream(name)
				if err != nil {
					continue
				}
				t = &release{name: name, v: v}
				tags[name] = t
			}
			r = lower(r, t)
		}
		if i, ok := want[h]; ok && r != nil {
			ix.Commits[i].Release = r.name
		}
		if r != nil {
			for _, p := range ids[1:] {
				pending[p] = lower(pending[p], r)
			}
		}
		return nil
	})
}

// isHash reports whether b is a full SHA-1 or SHA-256 commit id.
func isHash(b []byte) bool {
	if len(b) != 40 && len(b) != 64 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// gitEnv keeps the user's environment from pointing git elsewhere than
// the tree named (GIT_DIR and the like beat -C) or changing its output
// (pager, replaced objects), and its prompts from blocking.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "PAGER=cat", "LC_ALL=C", "GIT_NO_REPLACE_OBJECTS=1")
}

// git runs a short git command and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", gitError(args, err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

func gitError(args []string, err error, stderr []byte) error {
	msg := strings.TrimSpace(string(stderr))
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	if msg != "" {
		return fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return fmt.Errorf("git %s: %w", args[0], err)
}

// stream runs git and hands each NUL-terminated record of its output to
// fn as it is read, without holding more than one record. A record longer
// than max (maxMessage plus room for the hash when max is 0) is cut there
// and the rest of it skipped; fn is told. fn's error stops git.
func stream(ctx context.Context, dir string, args []string, max int, fn func(rec []byte, truncated bool) error) (err error) {
	if max == 0 {
		max = maxMessage + 128
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return gitError(args, err, nil)
	}
	defer func() {
		if err != nil {
			cancel()
		}
		werr := cmd.Wait()
		if err == nil && werr != nil {
			err = gitError(args, werr, stderr.Bytes())
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
	br := bufio.NewReaderSize(out, 64<<10)
	var rec []byte
	for {
		chunk, rerr := br.ReadSlice(0)
		truncated := false
		switch {
		case rerr == nil || rerr == bufio.ErrBufferFull:
			rec = appendBounded(rec, chunk, max)
			if rerr == bufio.ErrBufferFull {
				continue
			}
			rec = bytes.TrimSuffix(rec, []byte{0})
		case rerr == io.EOF:
			rec = appendBounded(rec, chunk, max)
			if len(bytes.TrimSpace(rec)) == 0 {
				return nil
			}
		default:
			return rerr
		}
		if len(rec) >= max {
			truncated = true
		}
		// git log -z puts the separator before each record after the
		// first; a record may start with the newline %B ends with.
		rec = bytes.TrimLeft(rec, "\n")
		if len(rec) > 0 {
			if err := fn(rec, truncated); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		rec = rec[:0]
	}
}

// appendBounded appends chunk to rec up to max bytes in all; the rest is
// dropped.
func appendBounded(rec, chunk []byte, max int) []byte {
	if room := max - len(rec); room > 0 {
		if len(chunk) > room {
			chunk = chunk[:room]
		}
		rec = append(rec, chunk...)
	}
	return rec
}

// limitedWriter keeps the first n bytes written to it and drops the rest,
// so a chatty git cannot grow the error message without bound.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		q := p
		if len(q) > l.n {
			q = q[:l.n]
		}
		l.n -= len(q)
		l.w.Write(q)
	}
	return len(p), nil
}
