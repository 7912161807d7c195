package hostroot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/ktriage/ktriage/internal/decompress"
	"github.com/ktriage/ktriage/internal/rootfs"
)

// dirBackend reads a directory through rootfs, confined to it.
type dirBackend struct {
	d   *rootfs.Dir
	fs  fs.FS
	rfs fs.ReadLinkFS
}

func (b *dirBackend) lstat(name string) (fs.FileInfo, error) { return b.rfs.Lstat(name) }

func (b *dirBackend) readlink(name string) (string, error) { return b.rfs.ReadLink(name) }

func (b *dirBackend) readDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(b.fs, name) }

func (b *dirBackend) close() error { return b.d.Close() }

// open refuses what is neither a regular file nor a directory before
// opening it, and checks what it opened, in case it was swapped between.
func (b *dirBackend) open(name string) (fs.File, error) {
	fi, err := b.rfs.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrSkipped, Special)
	}
	f, err := b.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() && !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrSkipped, Special)
	}
	return f, nil
}

// openDir opens a directory root and streams the files opt selects.
func openDir(p string, opt Options) (*Root, error) {
	top, err := topOf(p)
	if err != nil {
		return nil, err
	}
	d, err := rootfs.Open(filepath.Join(p, top))
	if err != nil {
		return nil, err
	}
	name := top
	if base := filepath.Base(d.Path()); top == "" && strings.HasPrefix(base, "sosreport-") {
		// Given the sosreport's folder itself: nothing is stripped,
		// but Top still names it.
		name = base
	}
	fsys := d.FS()
	rfs, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("%s: the root's file system reads no links", p)
	}
	r := &Root{Kind: Dir, Path: p, Top: name, b: &dirBackend{d: d, fs: fsys, rfs: rfs}}
	if err := r.streamDir(fsys, d.Path(), opt); err != nil {
		d.Close()
		return nil, err
	}
	return r, nil
}

// streamDir walks the directory, entering what opt.Descend allows and
// following no link, and hands each regular file opt.Streamed selects to
// opt.Stream. A file or directory that cannot be read is listed in
// Skipped: on a live host some logs are the administrator's alone.
func (r *Root) streamDir(fsys fs.FS, abs string, opt Options) error {
	total := &budget{left: opt.MaxTotal, max: opt.MaxTotal}
	br := bufio.NewReaderSize(nil, 64<<10)
	return fs.WalkDir(fsys, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			if name == "." {
				return err
			}
			r.Skipped = append(r.Skipped, Skipped{Name: name, Reason: Unreadable, Err: err})
			return nil
		}
		if e.IsDir() {
			if name != "." && !opt.Descend(name) {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || !opt.Streamed(name) {
			return nil
		}
		f, err := fsys.Open(name)
		if err != nil {
			r.Skipped = append(r.Skipped, Skipped{Name: name, Reason: Unreadable, Err: err})
			return nil
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			// Swapped for something else since it was listed.
			r.Skipped = append(r.Skipped, Skipped{Name: name, Reason: Special, Err: err})
			return nil
		}
		m := Member{Name: name, Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime()}
		br.Reset(f)
		rd, closeFn, err := decoded(br, &m, name, total)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(abs, name), err)
		}
		defer closeFn()
		sr := &stickyReader{r: rd}
		err = opt.Stream(name, m, sr)
		if sr.err != nil {
			err = sr.err
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(abs, name), err)
		}
		return nil
	})
}

// decoded is br decompressed when its magic number says it is compressed,
// counted against total; m.Compression is set.
func decoded(br *bufio.Reader, m *Member, name string, total *budget) (io.Reader, func(), error) {
	head, _ := br.Peek(16)
	f := decompress.Sniff(head)
	if f == "" {
		return br, func() {}, nil
	}
	m.Compression = string(f)
	// The decompressor's own limit is off: total bounds all of them.
	dr, err := decompress.NewReader(br, f, "member data", 1<<62)
	if err != nil {
		return nil, nil, err
	}
	return &countedReader{r: dr, b: total}, func() { dr.Close() }, nil
}

// budget is how many decompressed bytes are left to read in all.
type budget struct{ left, max int64 }

// countedReader counts what r gives against a budget.
type countedReader struct {
	r io.Reader
	b *budget
}

func (c *countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.b.left -= int64(n)
	if c.b.left < 0 {
		return n, fmt.Errorf("decompresses to %w of %d bytes in all (a compression bomb?)", ErrTooLarge, c.b.max)
	}
	return n, err
}

// stickyReader keeps the first error other than io.EOF that r gave, so that
// a Stream callback that drops a read error does not hide a corrupt file.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}
