package submit

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// dirTar is a directory's regular files (not ktriage's own markers) as a
// tar stream, read from the files themselves, one open at a time, and made
// afresh at each rewind: a kdump directory's vmcore is sent without a copy
// of it in a temporary file (a crashed host's /tmp may be small). Its size
// is known in advance, for Content-Length.
type dirTar struct {
	dir     string
	root    fs.FS
	entries []tarEntry
	size    int64
	r       io.Reader
	open    *os.File
}

type tarEntry struct {
	name   string
	header []byte // the member's header block(s), long names included
	size   int64
}

// newDirTar lists dir's files and lays out their tar.
func newDirTar(dir string) (*dirTar, error) {
	t := &dirTar{dir: dir, root: os.DirFS(dir)}
	err := fs.WalkDir(t.root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".ktriage-") || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name, h.Uname, h.Gname = p, "", ""
		var b bytes.Buffer
		if err := tar.NewWriter(&b).WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		t.entries = append(t.entries, tarEntry{name: p, header: b.Bytes(), size: info.Size()})
		t.size += int64(b.Len()) + info.Size() + pad(info.Size())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", dir, err)
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("packing %s: no file to send in it", dir)
	}
	t.size += 2 * 512 // the end of the archive
	t.rewind()
	return t, nil
}

// pad is the zeros that round a member's content up to a 512-byte block.
func pad(n int64) int64 { return (512 - n%512) % 512 }

// rewind starts the stream again from its first member.
func (t *dirTar) rewind() {
	t.closeOpen()
	var parts []io.Reader
	for _, e := range t.entries {
		parts = append(parts, bytes.NewReader(e.header), &memberReader{t: t, e: e}, bytes.NewReader(make([]byte, pad(e.size))))
	}
	parts = append(parts, bytes.NewReader(make([]byte, 2*512)))
	t.r = io.MultiReader(parts...)
}

func (t *dirTar) Read(p []byte) (int, error) { return t.r.Read(p) }

// Seek supports what Client.try does: to the end for the size, and back
// to the start for each try.
func (t *dirTar) Seek(offset int64, whence int) (int64, error) {
	switch {
	case offset == 0 && whence == io.SeekStart:
		t.rewind()
		return 0, nil
	case offset == 0 && whence == io.SeekEnd:
		t.closeOpen()
		t.r = bytes.NewReader(nil)
		return t.size, nil
	}
	return 0, errors.New("a directory's tar stream seeks only to its start or end")
}

// Close closes the file being read, if any.
func (t *dirTar) Close() error {
	t.closeOpen()
	return nil
}

func (t *dirTar) closeOpen() {
	if t.open != nil {
		t.open.Close()
		t.open = nil
	}
}

// memberReader is one member's content, opened when first read: exactly
// the size its header gave, or an error if the file changed size since.
type memberReader struct {
	t    *dirTar
	e    tarEntry
	r    io.Reader
	left int64
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.r == nil {
		f, err := m.t.root.Open(m.e.name)
		if err != nil {
			return 0, fmt.Errorf("packing %s: %w", m.t.dir, err)
		}
		m.t.closeOpen()
		m.t.open = f.(*os.File)
		m.r, m.left = io.LimitReader(f, m.e.size), m.e.size
	}
	if m.left == 0 {
		m.t.closeOpen()
		return 0, io.EOF
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	if err == io.EOF && m.left > 0 {
		return n, fmt.Errorf("packing %s: %s shrank by %d bytes while it was sent", m.t.dir, m.e.name, m.left)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
