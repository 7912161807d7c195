package hostroot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/decompress"
)

// node is an archive member held in memory.
type node struct {
	name    string // relative to the top folder
	mode    fs.FileMode
	size    int64
	modTime time.Time
	data    []byte // a kept regular file's content
	link    string // a symlink's target
	state   nodeState
	shared  bool     // data is another member's (a hard link)
	kids    []string // a directory's entries' base names, sorted once built
}

type nodeState int

const (
	kept nodeState = iota
	streamed
	skipped
)

func (n *node) Name() string {
	if n.name == "." {
		return "."
	}
	return path.Base(n.name)
}
func (n *node) Size() int64        { return n.size }
func (n *node) Mode() fs.FileMode  { return n.mode }
func (n *node) ModTime() time.Time { return n.modTime }
func (n *node) IsDir() bool        { return n.mode.IsDir() }
func (n *node) Sys() any           { return nil }

// memBackend holds an archive's members by name.
type memBackend struct {
	nodes map[string]*node
}

func (b *memBackend) get(name string) (*node, error) {
	n, ok := b.nodes[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return n, nil
}

func (b *memBackend) lstat(name string) (fs.FileInfo, error) {
	n, err := b.get(name)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (b *memBackend) readlink(name string) (string, error) {
	n, err := b.get(name)
	if err != nil {
		return "", err
	}
	if n.mode&fs.ModeSymlink == 0 {
		return "", fs.ErrInvalid
	}
	return n.link, nil
}

func (b *memBackend) readDir(name string) ([]fs.DirEntry, error) {
	n, err := b.get(name)
	if err != nil {
		return nil, err
	}
	if !n.IsDir() {
		return nil, errNotDir
	}
	return b.entries(n), nil
}

func (b *memBackend) entries(n *node) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(n.kids))
	for _, k := range n.kids {
		out = append(out, fs.FileInfoToDirEntry(b.nodes[path.Join(n.name, k)]))
	}
	return out
}

func (b *memBackend) open(name string) (fs.File, error) {
	n, err := b.get(name)
	if err != nil {
		return nil, err
	}
	switch {
	case n.IsDir():
		return &memDir{n: n, ents: b.entries(n)}, nil
	case n.state == streamed:
		return nil, ErrStreamed
	case n.state == skipped || !n.mode.IsRegular():
		return nil, ErrSkipped
	}
	return &memFile{n: n, Reader: bytes.NewReader(n.data)}, nil
}

func (b *memBackend) close() error {
	b.nodes = nil
	return nil
}

// memFile is an open kept file.
type memFile struct {
	n *node
	*bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.n, nil }
func (f *memFile) Close() error               { return nil }

// memDir is an open directory.
type memDir struct {
	n    *node
	ents []fs.DirEntry
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.n, nil }
func (d *memDir) Close() error               { return nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: errors.New("is a directory")}
}

func (d *memDir) ReadDir(count int) ([]fs.DirEntry, error) {
	if count <= 0 {
		e := d.ents
		d.ents = nil
		return e, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	count = min(count, len(d.ents))
	e := d.ents[:count]
	d.ents = d.ents[count:]
	return e, nil
}

// tarReader is what the pass reads the tar stream through: it counts the
// bytes read, for errors, and how many of the last were zeros, to tell an
// archive that ends with its end-of-archive blocks from one cut short at a
// member's boundary, which archive/tar takes for the end.
type tarReader struct {
	r      io.Reader
	off    int64
	zeros  int64
	member string
}

func (t *tarReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.off += int64(n)
	if n > 0 {
		i := n - 1
		for i >= 0 && p[i] == 0 {
			i--
		}
		if i < 0 {
			t.zeros += int64(n)
		} else {
			t.zeros = int64(n - 1 - i)
		}
	}
	return n, err
}

// openArchive reads the archive in r in one pass.
func openArchive(r io.Reader, name string, opt Options) (*Root, error) {
	root := &Root{Kind: Archive, Path: name}
	total := &budget{left: opt.MaxTotal, max: opt.MaxTotal}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(16)
	var stream io.Reader = br
	tr := &tarReader{}
	fail := func(err error) error {
		return &ArchiveError{Archive: name, Member: tr.member, Offset: tr.off, Err: err}
	}
	if f := decompress.Sniff(head); f != "" {
		dr, err := decompress.NewReader(br, f, "archive stream", 1<<62)
		if err != nil {
			return nil, fail(err)
		}
		defer dr.Close()
		stream = &countedReader{r: dr, b: total}
	}
	tr.r = stream
	b := &memBackend{nodes: map[string]*node{".": {name: ".", mode: fs.ModeDir | 0o755}}}
	root.b = b
	p := &pass{opt: opt, root: root, b: b, total: total, br: bufio.NewReaderSize(nil, 64<<10)}
	t := tar.NewReader(tr)
	first := true
	for {
		tr.member = ""
		h, err := t.Next()
		if err == io.EOF {
			if first {
				return nil, fail(fmt.Errorf("%w: no member", ErrNotArchive))
			}
			if tr.zeros < 512 {
				return nil, fail(fmt.Errorf("ends without the end-of-archive blocks, after a whole member (a truncated file?): %w", io.ErrUnexpectedEOF))
			}
			// The rest of a compressed stream is read too, so that
			// its checksum is checked.
			if _, err := io.Copy(io.Discard, tr); err != nil {
				return nil, fail(err)
			}
			break
		}
		if err != nil {
			if first && errors.Is(err, tar.ErrHeader) {
				err = fmt.Errorf("%w: %w", ErrNotArchive, err)
			}
			return nil, fail(err)
		}
		first = false
		tr.member = h.Name
		if err := p.member(h, t); err != nil {
			return nil, fail(err)
		}
		// What was not read of the member is read here rather than by
		// Next, so that an error in it names the member.
		if _, err := io.Copy(io.Discard, t); err != nil {
			return nil, fail(err)
		}
	}
	p.finish()
	return root, nil
}

// pass is the state of one archive's pass.
type pass struct {
	opt      Options
	root     *Root
	b        *memBackend
	total    *budget
	br       *bufio.Reader
	kept     int64
	topKnown bool
}

// clean makes a stored name relative to the top folder. ok is false for
// the top folder itself (or "."). The first member decides the top folder:
// the first element of its name when that is a sosreport-* folder.
func (p *pass) clean(stored string) (string, bool, error) {
	if len(stored) > maxPath {
		return "", false, fmt.Errorf("%w: its name is %d bytes long, over Linux's PATH_MAX (%d)", ErrUnsafe, len(stored), maxPath)
	}
	n := stored
	for strings.HasPrefix(n, "./") {
		n = n[2:]
	}
	n = strings.TrimRight(n, "/")
	if n == "" || n == "." {
		return "", false, nil
	}
	if strings.HasPrefix(n, "/") {
		return "", false, fmt.Errorf("%w: its name is absolute", ErrUnsafe)
	}
	if slices.Contains(strings.Split(n, "/"), "..") {
		return "", false, fmt.Errorf("%w: its name holds \"..\"", ErrUnsafe)
	}
	n = path.Clean(n)
	if !p.topKnown {
		p.topKnown = true
		first, _, _ := strings.Cut(n, "/")
		if strings.HasPrefix(first, "sosreport-") {
			p.root.Top = first
		}
	}
	if p.root.Top != "" {
		if n == p.root.Top {
			return "", false, nil
		}
		rest, ok := strings.CutPrefix(n, p.root.Top+"/")
		if !ok {
			return "", false, fmt.Errorf("%w: it lies outside the top folder %s", ErrUnsafe, p.root.Top)
		}
		n = rest
	}
	return n, true, nil
}

// maxPath is Linux's PATH_MAX, which bounds a name or link target a real
// host has, and so the work one member's name costs.
const maxPath = 4096

// nodeCost is what a member's node is charged against MaxKept beside its
// name and content, so that millions of empty members are bounded too.
const nodeCost = 200

// charge counts n bytes against MaxKept.
func (p *pass) charge(n int64) error {
	if p.kept+n > p.opt.MaxKept {
		return fmt.Errorf("keeping its %d bytes would hold %w of %d bytes in all: raise the bound, or stream such files", n, ErrTooLarge, p.opt.MaxKept)
	}
	p.kept += n
	return nil
}

// parent makes the directories above name, as a member whose directory was
// not stored implies them, and refuses a name that lies through a link or
// a file.
func (p *pass) parent(name string, mt time.Time) (*node, error) {
	dir := path.Dir(name)
	if dir == "." {
		return p.b.nodes["."], nil
	}
	if n, ok := p.b.nodes[dir]; ok {
		if !n.IsDir() {
			what := "a file"
			if n.mode&fs.ModeSymlink != 0 {
				what = "a link to " + n.link
			}
			return nil, fmt.Errorf("%w: it lies under %s, which is not a directory but %s", ErrUnsafe, dir, what)
		}
		return n, nil
	}
	up, err := p.parent(dir, mt)
	if err != nil {
		return nil, err
	}
	if err := p.charge(int64(len(dir)) + nodeCost); err != nil {
		return nil, err
	}
	n := &node{name: dir, mode: fs.ModeDir | 0o755, modTime: mt}
	p.b.nodes[dir] = n
	up.kids = append(up.kids, path.Base(dir))
	return n, nil
}

// add puts n in the tree, replacing a member of the same name stored
// earlier, as tar does when it extracts.
func (p *pass) add(n *node) error {
	up, err := p.parent(n.name, n.modTime)
	if err != nil {
		return err
	}
	if old, ok := p.b.nodes[n.name]; ok {
		if old.IsDir() && n.IsDir() {
			// A directory stored again keeps what is in it.
			old.mode, old.modTime = n.mode, n.modTime
			return nil
		}
		if old.IsDir() && len(old.kids) > 0 {
			return fmt.Errorf("%w: it replaces a directory that is not empty", ErrUnsafe)
		}
		if !old.shared {
			p.kept -= int64(len(old.data))
		}
	} else {
		if err := p.charge(int64(len(n.name)+len(n.link)) + nodeCost); err != nil {
			return err
		}
		up.kids = append(up.kids, path.Base(n.name))
	}
	p.b.nodes[n.name] = n
	return nil
}

// member reads one member.
func (p *pass) member(h *tar.Header, t *tar.Reader) error {
	name, ok, err := p.clean(h.Name)
	if err != nil || !ok {
		return err
	}
	fi := h.FileInfo()
	n := &node{name: name, mode: fi.Mode(), size: h.Size, modTime: h.ModTime}
	switch h.Typeflag {
	case tar.TypeDir:
		n.size = 0
		return p.add(n)
	case tar.TypeSymlink:
		if h.Linkname == "" || len(h.Linkname) > maxPath {
			return fmt.Errorf("%w: a link to nothing, or to more than PATH_MAX (%d) bytes", ErrUnsafe, maxPath)
		}
		if !strings.HasPrefix(h.Linkname, "/") {
			// Relative to the link's directory, within the top folder.
			if t := path.Join(path.Dir(name), h.Linkname); t == ".." || strings.HasPrefix(t, "../") {
				return fmt.Errorf("%w: its link to %s leads above the top folder", ErrUnsafe, h.Linkname)
			}
		}
		n.link, n.size = h.Linkname, int64(len(h.Linkname))
		return p.add(n)
	case tar.TypeLink:
		target, ok, err := p.clean(h.Linkname)
		if err != nil {
			return fmt.Errorf("its hard link to %s: %w", h.Linkname, err)
		}
		old, found := p.b.nodes[target]
		if !ok || !found || !old.mode.IsRegular() {
			return fmt.Errorf("%w: its hard link to %s names no regular file stored before it", ErrUnsafe, h.Linkname)
		}
		// The same content under another name; kept bytes are shared.
		c := *old
		c.name, c.kids, c.shared = name, nil, true
		return p.add(&c)
	case tar.TypeReg, tar.TypeGNUSparse:
		return p.regular(n, t)
	case tar.TypeXGlobalHeader:
		return nil
	}
	// Devices, FIFOs and anything unknown are listed, never read.
	n.state = skipped
	if n.mode.IsRegular() {
		n.mode |= fs.ModeIrregular
	}
	p.root.Skipped = append(p.root.Skipped, Skipped{Name: name, Size: h.Size, Reason: Special})
	return p.add(n)
}

// regular reads a regular member: streamed, kept or skipped.
func (p *pass) regular(n *node, t *tar.Reader) error {
	if p.opt.Streamed(n.name) {
		n.state = streamed
		if err := p.add(n); err != nil {
			return err
		}
		p.br.Reset(t)
		m := Member{Name: n.name, Size: n.size, Mode: n.mode, ModTime: n.modTime}
		rd, closeFn, err := decoded(p.br, &m, n.name, p.total)
		if err != nil {
			return err
		}
		defer closeFn()
		sr := &stickyReader{r: rd}
		err = p.opt.Stream(n.name, m, sr)
		if sr.err != nil {
			return sr.err
		}
		if err != nil {
			return fmt.Errorf("streaming it: %w", err)
		}
		return nil
	}
	if _, err := p.parent(n.name, n.modTime); err != nil {
		return err
	}
	if n.size > p.opt.MaxFile {
		n.state = skipped
		p.root.Skipped = append(p.root.Skipped, Skipped{Name: n.name, Size: n.size, Reason: TooLarge})
		return p.add(n)
	}
	if err := p.charge(n.size); err != nil {
		return err
	}
	// The size was checked against MaxFile and MaxKept before this
	// allocation.
	n.data = make([]byte, n.size)
	if _, err := io.ReadFull(t, n.data); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return p.add(n)
}

// finish sorts every directory's entries, as fs.ReadDirFS promises.
func (p *pass) finish() {
	for _, n := range p.b.nodes {
		if n.IsDir() {
			slices.Sort(n.kids)
		}
	}
}
