// Package dump opens Linux memory dumps (vmcores) and serves their physical
// memory, notes and VMCOREINFO text. It reads the containers the capture
// tools write — ELF (/proc/vmcore, makedumpfile -E, QEMU dump-guest-memory),
// makedumpfile's kdump-compressed format (zlib, LZO, snappy, zstd or raw
// pages; split dumps) and the flattened stream format (makedumpfile -F, QEMU
// kdump-*) — and knows nothing of kernels: address translation, symbols and
// types are package kernel's job.
//
// A dump is read at random through an io.ReaderAt: only the headers, counts
// of the dumpable-page bitmap (an eighth of its size; the bitmap itself is
// read a page at a time) and, for flattened streams, an offset index are
// held in memory. Pages read in pieces (page tables, structures) go through
// a bounded LRU cache of decompressed pages, whole pages are decompressed
// straight into the caller's buffer, so a 64 GB dump is never read whole.
// Corrupt input gives errors naming the file and the offset; pages that
// cannot be read are reported one by one as *PageError while the rest of
// the dump stays readable.
package dump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Dump is an open memory dump. It is safe for concurrent use; reads of
// compressed pages are serialized through its page cache.
type Dump struct {
	name    string
	closers []io.Closer // files to close on Close
	tmp     string      // a spooled temp file to remove on Close, or ""
	mem     memory
	info    Info

	vmcoreinfo string
}

// memory is one container's physical-memory view.
type memory interface {
	// readAt fills p, which does not cross a page boundary, with the
	// physical memory at paddr.
	readAt(p []byte, paddr uint64) error
	// pages calls fn for each page frame the container holds, in order.
	pages(fn func(pfn uint64) bool)
}

// Info describes a dump for the user and for the layers above: what kind of
// container it is, and what the capture tool recorded about the crash.
type Info struct {
	// Format is the container: FormatELF, FormatKdump or FormatFlattened
	// (a flattened stream of either of the other two).
	Format Format
	// Compression is how the pages are stored ("mixed" for several page
	// compressions in one kdump-compressed file).
	Compression Compression
	// Arch is the machine the dump was taken on ("x86_64", "aarch64", …),
	// or "" when the container does not say.
	Arch string
	// PageSize is the dump's page (block) size in bytes.
	PageSize int
	// CPUs is the number of CPUs the capture recorded (the kdump header's
	// nr_cpus, or the number of NT_PRSTATUS notes).
	CPUs int
	// DumpLevel is makedumpfile's -d level, -1 when unknown (ELF dumps).
	DumpLevel int
	// ExcludedClasses names the page classes the dump level excluded:
	// "zero", "cache", "cache-private", "user", "free".
	ExcludedClasses []string
	// CrashTime is VMCOREINFO's CRASHTIME, else the kdump header's
	// timestamp; zero if neither is known.
	CrashTime time.Time
	// Release is the kernel release (utsname or VMCOREINFO OSRELEASE).
	Release string
	// PanicCPU is the CPU that panicked, -1 when the container does not
	// say (the kdump header's current_cpu is not trustworthy: makedumpfile
	// and QEMU leave it 0). Package kernel finds it from panic_cpu.
	PanicCPU int
	// Notes are the dump's ELF notes in file order (the kdump header's
	// note blob for kdump-compressed files).
	Notes []Note
	// Size is the size of the dump file in bytes (of the rearranged file
	// for flattened streams).
	Size int64
	// HeaderVersion is the kdump header version, 0 for ELF.
	HeaderVersion int
	// Incomplete is set when the capture tool marked the dump incomplete
	// (it ran out of space): some pages will be missing.
	Incomplete bool
	// Split is set for one part of a split kdump-compressed dump; StartPFN
	// and EndPFN give the part's page range.
	Split            bool
	StartPFN, EndPFN uint64
	// MaxPFN is one past the highest page frame the dump describes.
	MaxPFN uint64
	// Warnings are problems found at open time that leave the dump usable
	// (a file truncated in its page data, say).
	Warnings []string
}

// Format names a dump container. Its values are the words the JSON output
// and `ktriage vmcore info` have always shown.
type Format string

// The containers dump reads.
const (
	// FormatELF is an ELF core: /proc/vmcore, makedumpfile -E, QEMU's
	// dump-guest-memory.
	FormatELF Format = "elf"
	// FormatKdump is makedumpfile's kdump-compressed file (or its DISKDUMP
	// ancestor).
	FormatKdump Format = "kdump-compressed"
	// FormatFlattened is makedumpfile -F's flattened stream of either of
	// the others.
	FormatFlattened Format = "flattened"
)

// Compression names how a dump stores its pages.
type Compression string

// The page compressions of kdump-compressed files; ELF dumps are
// CompressionNone.
const (
	CompressionNone   Compression = "none"
	CompressionZlib   Compression = "zlib"
	CompressionLZO    Compression = "lzo"
	CompressionSnappy Compression = "snappy"
	CompressionZstd   Compression = "zstd"
	// CompressionMixed: the header announces more than one compression.
	CompressionMixed Compression = "mixed"
)

// Note is one ELF note: the kernel's per-CPU registers (CORE/NT_PRSTATUS),
// VMCOREINFO, QEMU's CPU state and whatever else the capture stored.
type Note struct {
	Name string
	Type uint32
	Desc []byte
}

// PRStatus is one CPU's NT_PRSTATUS note: the registers the kernel saved
// when it stopped that CPU, the start of every backtrace.
type PRStatus struct {
	// CPU is the note's index among the NT_PRSTATUS notes, which the kernel
	// writes in CPU order.
	CPU int
	// PID is pr_pid: the task running on that CPU (0 for the idle task).
	PID int
	// Regs holds x86_64 registers under their upper-case names (R15 … RIP,
	// CS, EFLAGS, RSP, SS, FS_BASE, GS_BASE, DS, ES, FS, GS, ORIG_RAX); nil
	// for other architectures.
	Regs map[string]uint64
}

// FormatError reports corrupt or unsupported input: which file, where in
// it, and what was wrong, so that a user can tell a truncated copy from a
// format we do not read.
type FormatError struct {
	File   string
	Offset int64 // -1 when no offset applies
	Msg    string
	Err    error // the underlying error, if any
}

// Error says file, offset and problem in one line.
func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Offset >= 0 {
		fmt.Fprintf(&b, ": offset %d (0x%x)", e.Offset, e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives the underlying I/O or decoding error.
func (e *FormatError) Unwrap() error { return e.Err }

// PageErrorKind says why a page could not be read, so that callers can
// tell a page the dump deliberately left out from a damaged one.
type PageErrorKind int

const (
	// PageExcluded: the capture filtered the page out (makedumpfile's dump
	// level), or marked it never written in an incomplete dump.
	PageExcluded PageErrorKind = iota
	// PageAbsent: the address is not in the dump at all (a hole in RAM,
	// outside every PT_LOAD, past the highest page).
	PageAbsent
	// PageCorrupt: the dump claims the page but its data is unreadable
	// (past EOF, fails to decompress, bad descriptor).
	PageCorrupt
)

// String names the kind in one word, for messages and logs.
func (k PageErrorKind) String() string {
	switch k {
	case PageExcluded:
		return "excluded"
	case PageAbsent:
		return "absent"
	case PageCorrupt:
		return "corrupt"
	}
	return fmt.Sprintf("PageErrorKind(%d)", int(k))
}

// PageError reports one physical page that could not be read. ReadPhys
// returns it so that callers can go on reading the rest of the dump.
type PageError struct {
	Addr   uint64 // the physical address requested (within the failing page)
	Kind   PageErrorKind
	Reason string
	Err    error // the underlying error (decompression, I/O), if any
}

// Error names the address and why its page could not be read.
func (e *PageError) Error() string {
	s := fmt.Sprintf("physical address 0x%x: %s", e.Addr, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the underlying I/O or decompression error.
func (e *PageError) Unwrap() error { return e.Err }

// magicFlat starts a flattened stream (makedumpfile's MAKEDUMPFILE_SIGNATURE
// padded to 16 bytes).
var magicFlat = []byte("makedumpfile\x00\x00\x00\x00")

// magics is the one table of container magic numbers: Sniff and the
// openers' dispatch both read it.
var magics = []struct {
	magic  []byte
	format Format
}{
	{[]byte("\x7fELF"), FormatELF},
	{[]byte("KDUMP   "), FormatKdump},
	{[]byte("DISKDUMP"), FormatKdump},
	{magicFlat, FormatFlattened},
}

// sniffLen is how many leading bytes Sniff needs to tell every format.
const sniffLen = 16

// Sniff tells a dump's container from the file's first bytes (16 are
// enough), or "" when they start none of the containers Open reads. It reads
// the same magic table Open does, so a caller that sniffs first agrees
// with Open about what is a dump.
func Sniff(head []byte) Format {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.format
		}
	}
	return ""
}

// Open opens the dump at path, detecting the container by its magic.
func Open(path string) (*Dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		// A pipe or device: read it as a flattened stream if it is one.
		d, err := OpenFlattened(f, path, "")
		if err != nil {
			f.Close()
			return nil, err
		}
		d.closers = append(d.closers, f)
		return d, nil
	}
	d, err := OpenReaderAt(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closers = append(d.closers, f)
	return d, nil
}

// OpenReaderAt opens a dump held by r (size bytes), detecting the container
// by its magic. name is used in error messages. The caller keeps r open
// until Close.
func OpenReaderAt(r io.ReaderAt, size int64, name string) (d *Dump, err error) {
	defer func() {
		// The parsers check every size they read; this is the last line of
		// defence of "never panic" for input we did not foresee.
		if p := recover(); p != nil {
			d, err = nil, &FormatError{File: name, Offset: -1, Msg: fmt.Sprintf("internal error parsing dump: %v", p)}
		}
	}()
	return openReaderAt(r, size, name, "")
}

// openReaderAt dispatches on the magic. outer is the container wrapping
// this one (FormatFlattened), "" at the top.
func openReaderAt(r io.ReaderAt, size int64, name string, outer Format) (*Dump, error) {
	var magic [sniffLen]byte
	n, err := r.ReadAt(magic[:], 0)
	if n < 8 {
		if err == nil || err == io.EOF {
			err = nil
		}
		return nil, &FormatError{File: name, Offset: int64(n), Msg: fmt.Sprintf("file too short for any dump format (%d bytes)", size), Err: err}
	}
	m := magic[:n]
	switch Sniff(m) {
	case FormatELF:
		return openELF(r, size, name, outer)
	case FormatKdump:
		return openKdump(r, size, name, outer)
	case FormatFlattened:
		if outer != "" {
			return nil, &FormatError{File: name, Offset: 0, Msg: "flattened stream nested in a flattened stream"}
		}
		fr, err := indexFlattened(r, size, name)
		if err != nil {
			return nil, err
		}
		d, err := openReaderAt(fr, fr.size, name, FormatFlattened)
		if err != nil {
			if len(fr.warn) > 0 {
				// The stream's truncation is the better explanation.
				return nil, fmt.Errorf("%s; %w", fr.warn[0], err)
			}
			return nil, err
		}
		d.info.Warnings = append(fr.warn, d.info.Warnings...)
		return d, nil
	}
	return nil, &FormatError{File: name, Offset: 0, Msg: fmt.Sprintf("unknown dump format (magic %q): not ELF, kdump-compressed or flattened", m[:8])}
}

// Close releases the file Open opened and any temporary spool file.
func (d *Dump) Close() error {
	var err error
	for _, c := range d.closers {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	d.closers = nil
	if c, ok := d.mem.(interface{ close() }); ok {
		c.close()
	}
	if d.tmp != "" {
		if e := os.Remove(d.tmp); e != nil && err == nil {
			err = e
		}
		d.tmp = ""
	}
	return err
}

// Name is the file name the dump was opened with, for messages.
func (d *Dump) Name() string { return d.name }

// Info describes the dump.
func (d *Dump) Info() Info { return d.info }

// VMCOREINFO returns the dump's VMCOREINFO text as the kernel wrote it
// (the note's descriptor with trailing NUL padding removed: every line,
// CRASHTIME included, ends in "\n" on the kernels we have seen), or "" if
// the dump has none (QEMU ELF dumps of guests without -device vmcoreinfo;
// see FindVMCOREINFO).
func (d *Dump) VMCOREINFO() string { return d.vmcoreinfo }

// RequireVMCOREINFO is VMCOREINFO for callers that cannot go on without
// it: the error names the file and says where the notes were looked for.
func (d *Dump) RequireVMCOREINFO() (string, error) {
	if d.vmcoreinfo != "" {
		return d.vmcoreinfo, nil
	}
	return "", &FormatError{File: d.name, Offset: -1, Msg: fmt.Sprintf("no VMCOREINFO note among the dump's %d notes (a QEMU dump of a guest without -device vmcoreinfo?)", len(d.info.Notes))}
}

// ReadPhys reads len(p) bytes of physical memory at paddr, across page
// boundaries. n counts the bytes read before the first page that could not
// be read, which is returned as a *PageError; p is still filled past it
// with every readable page (unreadable ones zeroed), so a caller that
// tolerates holes can use all of p. Pages the dump stores as zero read as
// zeros.
func (d *Dump) ReadPhys(p []byte, paddr uint64) (int, error) {
	ps := uint64(d.info.PageSize)
	var first error
	n := 0
	for off := 0; off < len(p); {
		a := paddr + uint64(off)
		if a < paddr {
			// Wrapped past the top of the address space.
			clear(p[off:])
			if first == nil {
				first, n = &PageError{Addr: a, Kind: PageAbsent, Reason: "address wraps past 2^64"}, off
			}
			break
		}
		chunk := int(ps - a%ps)
		if chunk > len(p)-off {
			chunk = len(p) - off
		}
		if err := d.mem.readAt(p[off:off+chunk], a); err != nil {
			clear(p[off : off+chunk])
			if first == nil {
				first, n = err, off
			}
		}
		off += chunk
	}
	if first != nil {
		return n, first
	}
	return len(p), nil
}

// PRStatus decodes the dump's NT_PRSTATUS notes, one per CPU in note order.
func (d *Dump) PRStatus() []PRStatus {
	var out []PRStatus
	for _, n := range d.info.Notes {
		if n.Name != "CORE" || n.Type != ntPRStatus {
			continue
		}
		out = append(out, decodePRStatus(len(out), n.Desc, d.info.Arch))
	}
	return out
}

// FindVMCOREINFO looks for the VMCOREINFO text in physical memory: the
// kernel keeps it in a page of its own (vmcoreinfo_data) that starts with
// "OSRELEASE=". This is the fallback for dumps without a VMCOREINFO note,
// and a way to learn where the text lives. It scans every readable page,
// which is slow on big dumps. limit bounds the pages scanned (0: all).
func (d *Dump) FindVMCOREINFO(limit int) (paddr uint64, text string, err error) {
	ps := d.info.PageSize
	buf := make([]byte, ps)
	scanned := 0
	found := false
	d.PresentPages(func(pfn uint64) bool {
		if limit > 0 && scanned >= limit {
			return false
		}
		scanned++
		a := pfn * uint64(ps)
		if _, err := d.ReadPhys(buf, a); err != nil || !bytes.HasPrefix(buf, []byte("OSRELEASE=")) {
			return true
		}
		t := buf
		if i := bytes.IndexByte(t, 0); i >= 0 {
			t = t[:i]
		}
		paddr, text, found = a, string(t), true
		return false
	})
	if found {
		return paddr, text, nil
	}
	return 0, "", &FormatError{File: d.name, Offset: -1, Msg: fmt.Sprintf("no page starting with OSRELEASE= among %d pages scanned", scanned)}
}

// PresentPages calls fn for every page frame the dump claims to hold (the
// dumpable bitmap of kdump-compressed files, the PT_LOAD ranges of ELF),
// in increasing order, until fn returns false. Pages may still fail to read.
func (d *Dump) PresentPages(fn func(pfn uint64) bool) {
	d.mem.pages(fn)
}

// finish fills the Info fields that come from the notes and VMCOREINFO.
func (d *Dump) finish() {
	for _, n := range d.info.Notes {
		if n.Name == "VMCOREINFO" && d.vmcoreinfo == "" {
			d.vmcoreinfo = string(bytes.TrimRight(n.Desc, "\x00"))
		}
	}
	if i := strings.IndexByte(d.vmcoreinfo, 0); i >= 0 {
		// Trailing NULs are the note's padding; one inside the text ends
		// it for every parser, so what follows is lost: say so.
		d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("%s: VMCOREINFO has a NUL byte at offset %d of its %d bytes: the %d bytes after it are ignored",
			d.name, i, len(d.vmcoreinfo), len(d.vmcoreinfo)-i-1))
	}
	if d.vmcoreinfo != "" {
		kv, err := ParseVMCOREINFO(d.vmcoreinfo)
		if err != nil {
			// The good lines still serve; the user learns which were not.
			d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("%s: %v", d.name, err))
		}
		if d.info.Release == "" {
			d.info.Release = kv["OSRELEASE"]
		}
		if s, ok := kv["CRASHTIME"]; ok {
			if t, err := strconv.ParseInt(s, 10, 64); err == nil && t > 0 {
				d.info.CrashTime = time.Unix(t, 0).UTC()
			}
		}
		if d.info.PageSize == 0 {
			if ps, ok := kv.PageSize(); ok && ps > 0 && ps&(ps-1) == 0 && ps <= 1<<20 {
				d.info.PageSize = int(ps)
			}
		}
	}
	if d.info.PageSize == 0 {
		d.info.PageSize = 4096
	}
	if d.info.CPUs == 0 {
		for _, n := range d.info.Notes {
			if n.Name == "CORE" && n.Type == ntPRStatus {
				d.info.CPUs++
			}
		}
	}
}

// excludedClasses names the page classes makedumpfile's dump level drops.
func excludedClasses(level int) []string {
	if level < 0 {
		return nil
	}
	names := []string{"zero", "cache", "cache-private", "user", "free"}
	var out []string
	for i, n := range names {
		if level&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

var errShort = errors.New("unexpected end of file")

// readFull reads len(p) bytes at off, turning a short read into a
// FormatError naming the offset at which the file ended.
func readFull(r io.ReaderAt, p []byte, off int64, size int64, name, what string) error {
	if off < 0 || off > size || int64(len(p)) > size-off {
		return &FormatError{File: name, Offset: off, Msg: fmt.Sprintf("%s (%d bytes) extends past the end of the file (size %d): truncated?", what, len(p), size)}
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = errShort
	}
	return &FormatError{File: name, Offset: off + int64(n), Msg: "reading " + what, Err: err}
}
