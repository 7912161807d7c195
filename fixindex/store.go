package fixindex

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ktriage/ktriage/internal/atomicfile"
)

// header is the first line of a stored index.
type header struct {
	Format  int       `json:"fixindex"`
	Repo    string    `json:"repo"`
	Head    string    `json:"head"`
	Since   string    `json:"since,omitempty"`
	Built   time.Time `json:"built"`
	Commits int       `json:"commits"`
}

// maxStoredLine bounds one line of a stored index: a commit's fields are
// bounded by the parser (a few KiB at most).
const maxStoredLine = 1 << 20

// ErrFormat is wrapped by Load and Read for a file that is not a fix index
// of FormatVersion.
var ErrFormat = errors.New("not a ktriage fix index of this version")

// DefaultPath is where the index is kept when the user names no file:
// fixindex.json in ktriage's directory of the user's cache
// ($XDG_CACHE_HOME/ktriage, ~/.cache/ktriage).
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("fix index: no cache directory: %w", err)
	}
	return filepath.Join(dir, "ktriage", "fixindex.json"), nil
}

// Write stores the index as JSON lines: a header line with the format
// version, then one commit per line.
func (ix *Index) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header{Format: FormatVersion, Repo: ix.Repo, Head: ix.Head, Since: ix.Since, Built: ix.Built, Commits: len(ix.Commits)}); err != nil {
		return err
	}
	for i := range ix.Commits {
		if err := enc.Encode(&ix.Commits[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile stores the index at path atomically (a reader sees the old
// index or the new one), creating its directory.
func (ix *Index) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("fix index %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := ix.Write(&buf); err != nil {
		return fmt.Errorf("fix index %s: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("fix index %s: %w", path, err)
	}
	return nil
}

// Load reads an index stored by WriteFile.
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fix index: %w", err)
	}
	defer f.Close()
	ix, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("fix index %s: %w", path, err)
	}
	return ix, nil
}

// Read reads an index written by Write. Errors name the line.
func Read(r io.Reader) (*Index, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxStoredLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("line 1: %w", err)
		}
		return nil, fmt.Errorf("empty file: %w", ErrFormat)
	}
	var h header
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format == 0 {
		return nil, fmt.Errorf("line 1: no fix-index header: %w", ErrFormat)
	}
	if h.Format != FormatVersion {
		return nil, fmt.Errorf("line 1: format %d, want %d (rebuild it with ktriage kb index): %w", h.Format, FormatVersion, ErrFormat)
	}
	ix := &Index{Repo: h.Repo, Head: h.Head, Since: h.Since, Built: h.Built}
	line := 1
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Commit
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if !isHash([]byte(c.Hash)) {
			return nil, fmt.Errorf("line %d: commit hash %q is not a full hash", line, clip(c.Hash, 80))
		}
		ix.Commits = append(ix.Commits, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(ix.Commits) != h.Commits {
		return nil, fmt.Errorf("%d commits, the header says %d: the file is cut short", len(ix.Commits), h.Commits)
	}
	return ix, nil
}
