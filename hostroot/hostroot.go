// Package hostroot reads a whole host's evidence: an unpacked sosreport, a
// host's own /, or a sosreport archive (tar, plain or compressed with gzip,
// xz, bzip2 or zstd), as one fs.FS whose names are relative to the
// sosreport's top folder. An archive is read in one streaming pass and never
// unpacked to disk: the logs a predicate selects are handed to a callback
// during the pass, decompressed when they are rotated and compressed, and
// the other small files are kept in memory, so that a parser reads
// configuration through the fs.FS afterwards whatever the root was. Nothing
// is written anywhere, not even a temporary file.
package hostroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/rootfs"
)

// Kind is what a Root was opened from.
type Kind int

// The kinds of root.
const (
	// Dir is a directory: an unpacked sosreport or a host's /.
	Dir Kind = iota + 1
	// Archive is a sosreport archive read in one pass.
	Archive
)

func (k Kind) String() string {
	switch k {
	case Dir:
		return "directory"
	case Archive:
		return "archive"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// SkipReason says why a file is in the root's listing but cannot be read.
type SkipReason int

// The reasons a file is skipped.
const (
	// TooLarge: a file not streamed and larger than Options.MaxFile.
	TooLarge SkipReason = iota + 1
	// Special: a device, FIFO or socket, never opened.
	Special
	// Unreadable: a file of a directory root that could not be opened
	// for streaming (a live host's log that the user may not read).
	Unreadable
)

func (s SkipReason) String() string {
	switch s {
	case TooLarge:
		return "larger than the bound on a kept file"
	case Special:
		return "a device, FIFO or socket"
	case Unreadable:
		return "unreadable"
	}
	return fmt.Sprintf("SkipReason(%d)", int(s))
}

// Skipped is a file the root lists but does not hold.
type Skipped struct {
	// Name is relative to the top folder.
	Name string
	// Size is the file's size as the archive or directory gives it.
	Size   int64
	Reason SkipReason
	// Err is why an Unreadable file could not be read, or nil.
	Err error
}

// Member describes a file handed to Options.Stream.
type Member struct {
	// Name is relative to the top folder, as given to Streamed.
	Name string
	// Size is the file's size as stored: compressed, when Compression
	// is not "".
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	// Compression is the format ("gzip", "xz", "zstd", "bzip2") the
	// file was stored in, known by its magic number and undone in the
	// reader Stream is given; "" for a plain file.
	Compression string
}

// The defaults of Options.
const (
	DefaultMaxFile  = 4 << 20
	DefaultMaxKept  = 256 << 20
	DefaultMaxTotal = 64 << 30
)

// Options says what Open does with the files it finds.
type Options struct {
	// Streamed selects the files handed to Stream; nil means
	// DefaultLogs. It sees names relative to the top folder.
	Streamed func(name string) bool
	// Stream is called for each regular file Streamed selects, during
	// an archive's single pass (in archive order) or during a walk of a
	// directory (in name order), with the file's content, decompressed
	// when it is stored compressed. It need not read r to the end. Its
	// error ends Open, wrapped with the file's name. When Stream is nil
	// no file is streamed. Only a regular file is streamed: not a
	// link, nor an archive's hard link (whose data is its target's,
	// streamed under the target's name if at all).
	Stream func(name string, info Member, r io.Reader) error
	// Descend says whether the walk of a directory root that finds the
	// streamed files enters the directory dir (relative to the top
	// folder): a host's / is large. nil means DefaultLogDirs when
	// Streamed is nil, and otherwise every directory but the
	// pseudo-filesystems proc, sys, dev and run at the top. An archive
	// is read whole regardless.
	Descend func(dir string) bool
	// MaxFile bounds a file an archive's root keeps in memory
	// (DefaultMaxFile when 0); larger ones that are not streamed are
	// listed in Root.Skipped.
	MaxFile int64
	// MaxKept bounds the bytes an archive's root keeps in all
	// (DefaultMaxKept when 0); past it Open fails, naming the file.
	MaxKept int64
	// MaxTotal bounds the bytes decompressed in all, the archive's own
	// stream and the compressed files in it (DefaultMaxTotal when 0), so
	// that a compression bomb ends with an error wrapping ErrTooLarge.
	MaxTotal int64
}

func (o *Options) defaults() {
	if o.MaxFile <= 0 {
		o.MaxFile = DefaultMaxFile
	}
	if o.MaxKept <= 0 {
		o.MaxKept = DefaultMaxKept
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.Stream == nil {
		o.Streamed = func(string) bool { return false }
	}
	if o.Streamed == nil {
		o.Streamed = DefaultLogs
		if o.Descend == nil {
			o.Descend = DefaultLogDirs
		}
	}
	if o.Descend == nil {
		o.Descend = func(dir string) bool {
			switch dir {
			case "proc", "sys", "dev", "run":
				return false
			}
			return true
		}
	}
}

// Errors that Open's and the root's errors wrap.
var (
	// ErrUnsafe: an archive member whose name is absolute or holds "..",
	// whose relative link leads above the top folder, or that lies
	// through a link or outside the top folder.
	ErrUnsafe = errors.New("unsafe archive member")
	// ErrOutside: a path that leads outside the root.
	ErrOutside = rootfs.ErrOutside
	// ErrTooLarge: more decompressed or kept bytes than the options allow.
	ErrTooLarge = errors.New("over the bound")
	// ErrStreamed: a member of an archive that was handed to
	// Options.Stream during the pass, and so is not held.
	ErrStreamed = errors.New("streamed during the archive's pass, not held")
	// ErrSkipped: a file listed in Root.Skipped.
	ErrSkipped = errors.New("skipped")
	// ErrNotArchive: a file that is not a (compressed) tar archive.
	ErrNotArchive = errors.New("not a tar archive")
)

// ArchiveError is an error met while reading an archive: it names the
// archive, the member being read and where.
type ArchiveError struct {
	// Archive is the archive's path as given to Open.
	Archive string
	// Member is the member being read (as stored, top folder included),
	// or "" before the first.
	Member string
	// Offset is the byte offset in the tar stream (decompressed, when
	// the archive is compressed) that had been read when the error
	// came.
	Offset int64
	Err    error
}

func (e *ArchiveError) Error() string {
	if e.Member == "" {
		return fmt.Sprintf("%s: at byte %d of the tar stream: %v", e.Archive, e.Offset, e.Err)
	}
	m := e.Member
	if len(m) > 256 {
		// A hostile name is shown by its start; Member has it whole.
		m = m[:256] + "..."
	}
	return fmt.Sprintf("%s: member %s, at byte %d of the tar stream: %v", e.Archive, m, e.Offset, e.Err)
}

func (e *ArchiveError) Unwrap() error { return e.Err }

// Root is a host's files, read from a directory or an archive. It is an
// fs.FS (with ReadDir, Stat, ReadLink and Lstat) in which an absolute link
// names a path of the host, resolved under the root as in a chroot, and no
// path leads outside it.
type Root struct {
	// Kind is what the root was opened from.
	Kind Kind
	// Path is the path given to Open.
	Path string
	// Top names the sosreport's folder ("sosreport-host-2026-12-05-xyz"):
	// the top folder stripped from an archive's names, the folder found
	// inside the directory given, or the directory given when it is a
	// sosreport-* folder itself; "" for a host's / or an archive of one.
	Top string
	// Skipped lists the files the root names but does not hold.
	Skipped []Skipped

	b backend
}

// backend is where a root's files are: a directory or an archive's
// members in memory. Its names are clean and free of links: the root
// resolves them.
type backend interface {
	lstat(name string) (fs.FileInfo, error)
	readlink(name string) (string, error)
	// open opens a regular file or directory.
	open(name string) (fs.File, error)
	readDir(name string) ([]fs.DirEntry, error)
	close() error
}

var (
	_ fs.ReadDirFS  = (*Root)(nil)
	_ fs.StatFS     = (*Root)(nil)
	_ fs.ReadLinkFS = (*Root)(nil)
)

// Open reads the root at path: a directory (an unpacked sosreport's top
// folder, a directory holding exactly one sosreport-* folder, or a host's
// /), or an archive file (or a pipe) of a sosreport, known by its magic
// numbers. The files opt selects are handed to opt.Stream before Open
// returns.
func Open(path string, opt Options) (*Root, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	opt.defaults()
	if fi.IsDir() {
		return openDir(path, opt)
	}
	if !fi.Mode().IsRegular() && fi.Mode().Type() != fs.ModeNamedPipe {
		return nil, fmt.Errorf("%s: %w: a %s", path, ErrNotArchive, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return openArchive(f, path, opt)
}

// OpenReader reads a sosreport archive from r, as Open reads one from a
// file; name names it in errors.
func OpenReader(r io.Reader, name string, opt Options) (*Root, error) {
	opt.defaults()
	return openArchive(r, name, opt)
}

// Close releases the root's directory or memory.
func (r *Root) Close() error { return r.b.close() }

func pathErr(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Open opens the regular file or directory name, following links. A
// device, FIFO or socket is refused (ErrSkipped) without being opened, as
// is a member an archive's pass streamed (ErrStreamed) or skipped.
func (r *Root) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	real, err := r.resolve(name, true)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	f, err := r.b.open(real)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return f, nil
}

// ReadDir lists the directory name, following links, in name order.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	real, err := r.resolve(name, true)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	ents, err := r.b.readDir(real)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	return ents, nil
}

// Stat describes name, following links.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	return r.stat("stat", name, true)
}

// Lstat describes name; a link is described, not followed.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	return r.stat("lstat", name, false)
}

func (r *Root) stat(op, name string, follow bool) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	real, err := r.resolve(name, follow)
	if err != nil {
		return nil, pathErr(op, name, err)
	}
	fi, err := r.b.lstat(real)
	if err != nil {
		return nil, pathErr(op, name, err)
	}
	return fi, nil
}

// ReadLink returns the target of the link name, as stored.
func (r *Root) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	real, err := r.resolve(name, false)
	if err != nil {
		return "", pathErr("readlink", name, err)
	}
	t, err := r.b.readlink(real)
	if err != nil {
		return "", pathErr("readlink", name, err)
	}
	return t, nil
}

// ModTime is the modification time of name itself (a link's own), which
// dates the lines of a log that gives no year.
func (r *Root) ModTime(name string) (time.Time, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// maxLinks bounds the links followed to resolve one name, as Linux's
// ELOOP does.
const maxLinks = 40

// resolve returns the name, free of links, that name leads to; the last
// element is followed when follow is set. An absolute link starts again at
// the root; ".." above the root is refused (ErrOutside).
func (r *Root) resolve(name string, follow bool) (string, error) {
	var done []string
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", fmt.Errorf("%w (\"..\" above it)", ErrOutside)
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(done, c)...)
		last := len(todo) == 0
		fi, err := r.b.lstat(cur)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 && (!last || follow) {
			if links++; links > maxLinks {
				return "", fmt.Errorf("%s: too many links", cur)
			}
			t, err := r.b.readlink(cur)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(t, "/") {
				done = done[:0]
			}
			todo = append(strings.Split(t, "/"), todo...)
			continue
		}
		if !last && !fi.IsDir() {
			return "", fmt.Errorf("%s: %w", cur, errNotDir)
		}
		done = append(done, c)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

var errNotDir = errors.New("not a directory")

// DefaultLogs selects the kernel's and the system's logs in a sosreport or
// on a host, and their rotations, compressed or not.
func DefaultLogs(name string) bool {
	for _, ext := range []string{"", ".gz", ".xz", ".bz2", ".zst"} {
		n, ok := strings.CutSuffix(name, ext)
		if !ok {
			continue
		}
		for _, p := range logPatterns {
			if m, _ := path.Match(p, n); m {
				return true
			}
		}
	}
	return false
}

var logPatterns = []string{
	"var/log/messages*",
	"var/log/syslog*",
	"var/log/kern.log*",
	"var/log/dmesg*",
	"sos_commands/logs/journalctl_*",
	"sos_commands/kernel/dmesg*",
	"var/crash/*/vmcore-dmesg.txt",
	"var/crash/*/dmesg.*",
}

// DefaultLogDirs says whether a directory can hold a file DefaultLogs
// selects, so that the walk of a host's / finding them stays in /var/log,
// /var/crash and sos_commands.
func DefaultLogDirs(dir string) bool {
	for _, p := range logPatterns {
		pd := path.Dir(p)
		// dir is pd or one of its parents.
		pe, de := strings.Split(pd, "/"), strings.Split(dir, "/")
		if len(de) > len(pe) {
			continue
		}
		ok := true
		for i := range de {
			if m, _ := path.Match(pe[i], de[i]); !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// topOf is the sosreport folder a directory holds, or "": the directory
// itself is the top when it holds sos_commands or etc.
func topOf(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var tops []string
	for _, e := range ents {
		switch e.Name() {
		case "sos_commands", "sos_reports", "etc":
			return "", nil
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), "sosreport-") {
			tops = append(tops, e.Name())
		}
	}
	switch len(tops) {
	case 0:
		return "", nil
	case 1:
		return tops[0], nil
	}
	return "", fmt.Errorf("%s holds %d sosreports (%s): name one", dir, len(tops), strings.Join(tops, ", "))
}
