package dump

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

const (
	flatHeaderSize = 4096 // MAX_SIZE_MDF_HEADER
	flatRecordHdr  = 16
	// maxFlatOffset bounds a record's destination: 4 PiB is more than any
	// dump; past it the stream is corrupt (and would make a huge sparse
	// spool file).
	maxFlatOffset = 1 << 52
)

// flatRec maps [dst, dst+n) of the rearranged file to [src, src+n) of the
// flattened one.
type flatRec struct {
	dst, src, n int64
}

// flatReader serves the rearranged file of a flattened stream through an
// index built in one pass; later writes to the same range win, as in
// makedumpfile -R.
type flatReader struct {
	r    io.ReaderAt
	recs []flatRec // sorted by dst, non-overlapping
	size int64
	warn []string
}

func checkFlatHeader(h []byte, name string) error {
	if len(h) < 32 || !bytes.HasPrefix(h, magicFlat) {
		return &FormatError{File: name, Offset: 0, Msg: "not a makedumpfile flattened stream (bad signature)"}
	}
	if t := int64(binary.BigEndian.Uint64(h[16:])); t != 1 {
		return &FormatError{File: name, Offset: 16, Msg: fmt.Sprintf("flattened header type %d, want 1", t)}
	}
	if v := int64(binary.BigEndian.Uint64(h[24:])); v != 1 {
		return &FormatError{File: name, Offset: 24, Msg: fmt.Sprintf("flattened header version %d, want 1", v)}
	}
	return nil
}

// checkFlatRecord validates one record header read at file offset at.
func checkFlatRecord(dst, n int64, at int64, name string) error {
	if dst < 0 || dst >= maxFlatOffset {
		return &FormatError{File: name, Offset: at, Msg: fmt.Sprintf("flattened record destination offset %d is invalid", dst)}
	}
	if n < 0 || n > maxFlatOffset-dst {
		return &FormatError{File: name, Offset: at + 8, Msg: fmt.Sprintf("flattened record size %d is invalid", n)}
	}
	return nil
}

// indexFlattened reads the record headers of a seekable flattened stream
// (seeking over the data) and builds the offset map.
func indexFlattened(r io.ReaderAt, size int64, name string) (*flatReader, error) {
	h := make([]byte, 32)
	if err := readFull(r, h, 0, size, name, "flattened header"); err != nil {
		return nil, err
	}
	if err := checkFlatHeader(h, name); err != nil {
		return nil, err
	}
	fr := &flatReader{r: r}
	var recs []flatRec
	win := make([]byte, 64<<10)
	winAt, winN := int64(-1), 0
	pos := int64(flatHeaderSize)
	for {
		if pos+flatRecordHdr > size {
			fr.warn = append(fr.warn, fmt.Sprintf("%s: offset %d: flattened stream ends (size %d) without its end marker: truncated, later parts of the dump are missing", name, pos, size))
			break
		}
		if winAt < 0 || pos < winAt || pos+flatRecordHdr > winAt+int64(winN) {
			n, err := r.ReadAt(win, pos)
			if n < flatRecordHdr {
				if err == nil || err == io.EOF {
					err = errShort
				}
				return nil, &FormatError{File: name, Offset: pos + int64(n), Msg: "reading a flattened record header", Err: err}
			}
			winAt, winN = pos, n
		}
		b := win[pos-winAt:]
		dst := int64(binary.BigEndian.Uint64(b))
		n := int64(binary.BigEndian.Uint64(b[8:]))
		if dst == -1 {
			break
		}
		if err := checkFlatRecord(dst, n, pos, name); err != nil {
			return nil, err
		}
		src := pos + flatRecordHdr
		if n > size-src {
			fr.warn = append(fr.warn, fmt.Sprintf("%s: offset %d: flattened record of %d bytes for offset %d is cut short by the end of the file (size %d): truncated", name, src, n, dst, size))
			n = size - src
			if n > 0 {
				recs = append(recs, flatRec{dst: dst, src: src, n: n})
			}
			break
		}
		if n > 0 {
			recs = append(recs, flatRec{dst: dst, src: src, n: n})
		}
		pos = src + n
	}
	fr.recs = resolveFlat(recs)
	for _, rc := range fr.recs {
		fr.size = max(fr.size, rc.dst+rc.n)
	}
	return fr, nil
}

// resolveFlat turns records in write order into a sorted, non-overlapping
// map in which the last write to every byte wins.
func resolveFlat(recs []flatRec) []flatRec {
	type seqRec struct {
		flatRec
		seq int
	}
	s := make([]seqRec, len(recs))
	for i, r := range recs {
		s[i] = seqRec{r, i}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].dst < s[j].dst })
	overlap := false
	for i := 1; i < len(s); i++ {
		if s[i].dst < s[i-1].dst+s[i-1].n {
			overlap = true
			break
		}
	}
	out := make([]flatRec, 0, len(s))
	if !overlap {
		for _, r := range s {
			out = appendMerged(out, r.flatRec)
		}
		return out
	}
	// Sweep over the elementary intervals between record boundaries; the
	// active record with the highest sequence number owns each.
	var pts []int64
	for _, r := range s {
		pts = append(pts, r.dst, r.dst+r.n)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	h := &recHeap{}
	j := 0
	for k := 0; k+1 < len(pts); k++ {
		a, b := pts[k], pts[k+1]
		if a == b {
			continue
		}
		for j < len(s) && s[j].dst <= a {
			heap.Push(h, heapRec{s[j].flatRec, s[j].seq})
			j++
		}
		for h.Len() > 0 && (*h)[0].dst+(*h)[0].n <= a {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			continue
		}
		w := (*h)[0]
		out = appendMerged(out, flatRec{dst: a, src: w.src + (a - w.dst), n: b - a})
	}
	return out
}

func appendMerged(out []flatRec, r flatRec) []flatRec {
	if k := len(out) - 1; k >= 0 && out[k].dst+out[k].n == r.dst && out[k].src+out[k].n == r.src {
		out[k].n += r.n
		return out
	}
	return append(out, r)
}

type heapRec struct {
	flatRec
	seq int
}

// recHeap is a max-heap by write sequence.
type recHeap []heapRec

func (h recHeap) Len() int           { return len(h) }
func (h recHeap) Less(i, j int) bool { return h[i].seq > h[j].seq }
func (h recHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *recHeap) Push(x any)        { *h = append(*h, x.(heapRec)) }
func (h *recHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// ReadAt serves the rearranged file; bytes no record wrote read as zeros.
func (f *flatReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > f.size-off {
		p = p[:f.size-off]
	}
	i := sort.Search(len(f.recs), func(i int) bool { return f.recs[i].dst+f.recs[i].n > off })
	done := 0
	for done < len(p) {
		at := off + int64(done)
		if i >= len(f.recs) || f.recs[i].dst > at {
			// A gap: zeros up to the next record.
			end := int64(len(p))
			if i < len(f.recs) {
				end = min(end, f.recs[i].dst-off)
			}
			clear(p[done:end])
			done = int(end)
			continue
		}
		rc := f.recs[i]
		k := min(int64(len(p)-done), rc.dst+rc.n-at)
		n, err := f.r.ReadAt(p[done:done+int(k)], rc.src+(at-rc.dst))
		done += n
		if int64(n) < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
		i++
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// maxSpool bounds the bytes OpenFlattened copies from a stream into its
// temporary file: more than any dump we expect, less than a disk fills
// with before a runaway producer (an endless stream of valid records) is
// noticed. A variable so that tests can lower it.
var maxSpool int64 = 1 << 40

// OpenFlattened opens a dump arriving as a stream — makedumpfile -F output
// piped on stdin, say. A seekable regular file is indexed in place; any
// other stream has its magic checked on its first bytes, so that a stream
// that is no dump (/dev/zero, a log) is refused before anything is copied,
// and is then rearranged once into a temporary file in tmpdir ("" for the
// default), at most 1 TiB of it. A plain ELF or kdump-compressed stream is
// spooled the same way. The temporary file is unlinked as soon as it is
// created (where the system allows it), so that no signal, not even
// SIGKILL, can leave it behind; elsewhere it is removed on Close.
func OpenFlattened(r io.Reader, name string, tmpdir string) (d *Dump, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, &FormatError{File: name, Offset: -1, Msg: fmt.Sprintf("internal error parsing dump: %v", p)}
		}
	}()
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			pos, err := f.Seek(0, io.SeekCurrent)
			if err == nil && pos == 0 {
				return openReaderAt(f, st.Size(), name, "")
			}
		}
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head, perr := br.Peek(sniffLen)
	switch {
	case len(head) < 8:
		if perr == io.EOF {
			perr = nil
		}
		return nil, &FormatError{File: name, Offset: int64(len(head)), Msg: fmt.Sprintf("stream too short for any dump format (%d bytes)", len(head)), Err: perr}
	case Sniff(head) == "":
		return nil, &FormatError{File: name, Offset: 0, Msg: fmt.Sprintf("unknown dump format (magic %q): not ELF, kdump-compressed or flattened; nothing was spooled", head[:8])}
	}
	tmp, err := os.CreateTemp(tmpdir, "ktriage-vmcore-*")
	if err != nil {
		return nil, err
	}
	tmpName := tmp.Name()
	if os.Remove(tmpName) == nil {
		tmpName = "" // unlinked: gone with the last descriptor
	}
	fail := func(e error) (*Dump, error) {
		tmp.Close()
		if tmpName != "" {
			os.Remove(tmpName)
		}
		return nil, e
	}
	lim := &spoolLimit{w: tmp, left: maxSpool}
	var size int64
	var outer Format
	var warn []string
	if Sniff(head) == FormatFlattened {
		outer = FormatFlattened
		size, warn, err = spoolFlattened(br, lim, name)
	} else {
		size, err = io.Copy(io.NewOffsetWriter(lim, 0), br)
		if err != nil {
			err = &FormatError{File: name, Offset: size, Msg: "spooling the dump to " + tmp.Name(), Err: err}
		}
	}
	if err != nil {
		return fail(err)
	}
	d, err = openReaderAt(tmp, size, name, outer)
	if err != nil {
		return fail(err)
	}
	d.info.Warnings = append(warn, d.info.Warnings...)
	d.closers = append(d.closers, tmp)
	d.tmp = tmpName
	return d, nil
}

// errSpoolCap is wrapped by the error for a stream larger than maxSpool.
var errSpoolCap = errors.New("the stream is larger than the 1 TiB ktriage spools from a pipe: save it to a file and open the file")

// spoolLimit is the spool file, refusing writes past maxSpool bytes.
type spoolLimit struct {
	w    io.WriterAt
	left int64
}

func (l *spoolLimit) WriteAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errSpoolCap
	}
	l.left -= int64(len(p))
	return l.w.WriteAt(p, off)
}

// spoolFlattened rearranges a flattened stream into w (makedumpfile -R).
func spoolFlattened(br *bufio.Reader, w io.WriterAt, name string) (int64, []string, error) {
	h := make([]byte, flatHeaderSize)
	if n, err := io.ReadFull(br, h); err != nil {
		return 0, nil, &FormatError{File: name, Offset: int64(n), Msg: "reading the flattened header", Err: err}
	}
	if err := checkFlatHeader(h, name); err != nil {
		return 0, nil, err
	}
	pos := int64(flatHeaderSize)
	var size int64
	var rh [flatRecordHdr]byte
	for {
		if n, err := io.ReadFull(br, rh[:]); err != nil {
			if n == 0 && err == io.EOF {
				return size, []string{fmt.Sprintf("%s: offset %d: flattened stream ends without its end marker: truncated, later parts of the dump are missing", name, pos)}, nil
			}
			return size, nil, &FormatError{File: name, Offset: pos + int64(n), Msg: "reading a flattened record header", Err: err}
		}
		dst := int64(binary.BigEndian.Uint64(rh[:]))
		n := int64(binary.BigEndian.Uint64(rh[8:]))
		if dst == -1 {
			return size, nil, nil
		}
		if err := checkFlatRecord(dst, n, pos, name); err != nil {
			return size, nil, err
		}
		pos += flatRecordHdr
		got, err := io.Copy(io.NewOffsetWriter(w, dst), io.LimitReader(br, n))
		size = max(size, dst+got)
		if err != nil {
			return size, nil, &FormatError{File: name, Offset: pos + got, Msg: "spooling a flattened record", Err: err}
		}
		if got < n {
			return size, []string{fmt.Sprintf("%s: offset %d: flattened record of %d bytes for offset %d is cut short after %d bytes: truncated", name, pos+got, n, dst, got)}, nil
		}
		pos += n
	}
}
