package kernel

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/ktriage/ktriage/dump"
)

// Generation names a printk log buffer layout.
type Generation int

// The three printk generations, each selected by the VMCOREINFO symbols the
// kernel exports (as kexec-tools' vmcore-dmesg and makedumpfile do).
const (
	// GenUnknown: VMCOREINFO names no printk buffer.
	GenUnknown Generation = iota
	// GenLegacy: a plain character ring with inline <N> levels (< 3.5).
	GenLegacy
	// GenStructured: struct printk_log records (3.5 – 5.9).
	GenStructured
	// GenLockless: the lockless printk_ringbuffer (5.10+).
	GenLockless
)

// String names the layout as users know it from kernel sources.
func (g Generation) String() string {
	switch g {
	case GenLegacy:
		return "legacy log_buf"
	case GenStructured:
		return "printk_log records"
	case GenLockless:
		return "printk_ringbuffer"
	}
	return "unknown"
}

// DmesgGeneration says which printk layout this kernel uses, so callers can
// report it and tests can tell a wrong guess from a decoding bug.
func (k *Kernel) DmesgGeneration() Generation {
	if _, ok := k.info.Symbol("prb"); ok {
		return GenLockless
	}
	if _, ok := k.info.Symbol("log_buf"); !ok {
		return GenUnknown
	}
	if _, ok := k.info.Symbol("log_end"); ok {
		return GenLegacy
	}
	if _, ok := k.info.Symbol("log_first_idx"); ok {
		return GenStructured
	}
	return GenUnknown
}

// Limits on what a corrupt (or hostile) dump can make Dmesg allocate or
// loop over. Real buffers are far smaller: log_buf_len is at most 2 GiB by
// the kernel's own limit, and in practice a few MiB.
const (
	maxLogBytes = 1 << 30
	maxDescBits = 30
	readChunk   = 1 << 16
	// firstReadAlloc is readBounded's first allocation: a buffer up to
	// this size (a log_buf_len of 1 MiB has a 2.75 MiB printk_info array)
	// is read without regrowing, since each doubling copies and touches
	// fresh memory (a third of `ktriage dmesg`'s page faults); a lying
	// size costs no more than this before reads must succeed.
	firstReadAlloc = 4 << 20
	outFlushBytes  = 1 << 16
)

// Dmesg writes the kernel log exactly as `makedumpfile --dump-dmesg`
// (version 1.7.2, Debian 12's) writes it: the ring from its oldest record
// on, each record as "[%5lu.%06lu] text" with embedded newlines indented
// under the text and bytes that are neither printable nor space shown as
// \xNN; the legacy buffer raw. If memory ends or lies midway it returns an
// error after writing what it could decode.
func (k *Kernel) Dmesg(w io.Writer) error {
	out := &logWriter{w: w, buf: make([]byte, 0, outFlushBytes+1024)}
	var err error
	switch g := k.DmesgGeneration(); g {
	case GenLockless:
		err = k.dmesgLockless(out)
	case GenStructured:
		err = k.dmesgStructured(out)
	case GenLegacy:
		err = k.dmesgLegacy(out)
	default:
		err = errors.New("kernel: VMCOREINFO names no printk buffer (no SYMBOL(prb), SYMBOL(log_buf))")
	}
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err == nil && out.written == 0 {
		// A crashed kernel has always logged something: an empty log is a
		// ring the walk could not follow, and must not pass for a log.
		err = fmt.Errorf("kernel: the %s holds no readable record: %w", k.DmesgGeneration(), ErrEmptyLog)
	}
	return err
}

// ErrEmptyLog is wrapped by Dmesg's error when the printk buffer gave no
// record at all: its indices or descriptors are corrupt (or the dump's
// memory is not the kernel's). A caller that can go on without the log
// tells it from a log cut midway with errors.Is.
var ErrEmptyLog = errors.New("the printk buffer is corrupt or empty")

// logWriter batches output and remembers the first write error.
type logWriter struct {
	w       io.Writer
	buf     []byte
	err     error
	written int64 // bytes passed to w
}

func (o *logWriter) flush() error {
	if o.err == nil && len(o.buf) > 0 {
		var n int
		n, o.err = o.w.Write(o.buf)
		o.written += int64(n)
	}
	o.buf = o.buf[:0]
	return o.err
}

func (o *logWriter) maybeFlush() error {
	if len(o.buf) >= outFlushBytes {
		return o.flush()
	}
	return o.err
}

// record appends one record as makedumpfile's dump_record/dump_log_entry
// format it. The C code tests isprint/isspace on a plain (signed) char and
// prints it with %02x, so bytes >= 0x80 come out sign-extended
// ("\xffffffe2"); we reproduce that.
func (o *logWriter) record(tsNsec uint64, text []byte) {
	b := o.buf
	start := len(b)
	b = append(b, '[')
	sec := strconv.AppendUint(nil, tsNsec/1e9, 10)
	for i := len(sec); i < 5; i++ {
		b = append(b, ' ')
	}
	b = append(b, sec...)
	b = append(b, '.')
	usec := (tsNsec % 1e9) / 1000
	var u [6]byte
	for i := 5; i >= 0; i-- {
		u[i] = byte('0' + usec%10)
		usec /= 10
	}
	b = append(b, u[:]...)
	b = append(b, ']', ' ')
	indent := len(b) - start
	for _, c := range text {
		switch {
		case c == '\n':
			b = append(b, '\n')
			for range indent {
				b = append(b, ' ')
			}
		case c >= 0x20 && c < 0x7f, c >= '\t' && c <= '\r':
			b = append(b, c)
		case c >= 0x80:
			b = append(b, `\xffffff`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	o.buf = append(b, '\n')
}

const hexDigits = "0123456789abcdef"

// readBounded reads size bytes of kernel memory in chunks, so a corrupt size
// costs at most what is actually readable (or firstReadAlloc), never a huge
// allocation up front.
func (k *Kernel) readBounded(vaddr, size uint64, what string) ([]byte, error) {
	if size > maxLogBytes {
		return nil, fmt.Errorf("kernel: %s: size %d is implausible", what, size)
	}
	buf := make([]byte, 0, min(size, firstReadAlloc))
	for off := uint64(0); off < size; {
		n := min(size-off, readChunk)
		buf = slices.Grow(buf, int(n))
		m, err := k.ReadVirt(buf[len(buf):len(buf)+int(n)], vaddr+off)
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, fmt.Errorf("kernel: reading %s: %w", what, err)
		}
		off += n
	}
	return buf, nil
}

// layout looks up SIZE/OFFSET values, remembering the first missing one
// so that one error can name it.
type layout struct {
	info    dump.VMCOREINFO
	missing string
}

func (l *layout) off(key string) uint64 {
	v, ok := l.info.Offset(key)
	if !ok || v < 0 || v > 1<<20 {
		if l.missing == "" {
			l.missing = "OFFSET(" + key + ")"
		}
		return 0
	}
	return uint64(v)
}

func (l *layout) size(key string) uint64 {
	v, ok := l.info.Size(key)
	if !ok || v <= 0 || v > 1<<20 {
		if l.missing == "" {
			l.missing = "SIZE(" + key + ")"
		}
		return 0
	}
	return uint64(v)
}

func (l *layout) err() error {
	if l.missing != "" {
		return fmt.Errorf("kernel: VMCOREINFO lacks a usable %s", l.missing)
	}
	return nil
}

// field reads a little-endian integer of n bytes at off in b, or 0 when b is
// too short (only corrupt layouts get there).
func field(b []byte, off uint64, n int) uint64 {
	if off > uint64(len(b)) || uint64(len(b))-off < uint64(n) {
		return 0
	}
	switch n {
	case 2:
		return uint64(binary.LittleEndian.Uint16(b[off:]))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b[off:]))
	}
	return binary.LittleEndian.Uint64(b[off:])
}

// Descriptor states of the lockless ring (kernel/printk/printk_ringbuffer.h).
const (
	descCommitted = 1
	descFinalized = 2
	descIDMask    = ^uint64(3 << 62)
)

// dmesgLockless follows makedumpfile's dump_lockless_dmesg: every id from
// tail_id to head_id inclusive whose descriptor holds that id in the
// committed or finalized state and has data.
func (k *Kernel) dmesgLockless(out *logWriter) error {
	l := &layout{info: k.info}
	rbSize := l.size("printk_ringbuffer")
	descRing := l.off("printk_ringbuffer.desc_ring")
	textRing := l.off("printk_ringbuffer.text_data_ring")
	countBitsOff := l.off("prb_desc_ring.count_bits")
	descsOff := l.off("prb_desc_ring.descs")
	infosOff := l.off("prb_desc_ring.infos")
	headOff := l.off("prb_desc_ring.head_id")
	tailOff := l.off("prb_desc_ring.tail_id")
	counter := l.off("atomic_long_t.counter")
	sizeBitsOff := l.off("prb_data_ring.size_bits")
	dataOff := l.off("prb_data_ring.data")
	descSize := l.size("prb_desc")
	stateOff := l.off("prb_desc.state_var")
	lposOff := l.off("prb_desc.text_blk_lpos")
	beginOff := l.off("prb_data_blk_lpos.begin")
	nextOff := l.off("prb_data_blk_lpos.next")
	infoSize := l.size("printk_info")
	tsOff := l.off("printk_info.ts_nsec")
	textLenOff := l.off("printk_info.text_len")
	if err := l.err(); err != nil {
		return err
	}
	prbSym, _ := k.info.Symbol("prb")
	rbAddr, err := k.readU64(prbSym)
	if err != nil {
		return fmt.Errorf("kernel: reading prb: %w", err)
	}
	rb, err := k.readBounded(rbAddr, rbSize, "printk_ringbuffer")
	if err != nil {
		// Name the pointer that led here: a zeroed or garbage prb
		// otherwise reads as a bare failed translation.
		return fmt.Errorf("kernel: SYMBOL(prb) at %#x points to %#x: %w", prbSym, rbAddr, err)
	}
	countBits := field(rb, descRing+countBitsOff, 4)
	sizeBits := field(rb, textRing+sizeBitsOff, 4)
	if countBits > maxDescBits || sizeBits > maxDescBits {
		return fmt.Errorf("kernel: printk_ringbuffer count_bits %d, size_bits %d: implausible", countBits, sizeBits)
	}
	count := uint64(1) << countBits
	dsize := uint64(1) << sizeBits
	descs, err := k.readBounded(field(rb, descRing+descsOff, 8), count*descSize, "printk descriptors")
	if err != nil {
		return err
	}
	infos, err := k.readBounded(field(rb, descRing+infosOff, 8), count*infoSize, "printk_info array")
	if err != nil {
		return err
	}
	data, err := k.readBounded(field(rb, textRing+dataOff, 8), dsize, "printk text ring")
	if err != nil {
		return err
	}
	tail := field(rb, descRing+tailOff+counter, 8)
	head := field(rb, descRing+headOff+counter, 8)

	dump := func(id uint64) {
		slot := id % count
		d := descs[slot*descSize:]
		sv := field(d, stateOff+counter, 8)
		if sv&descIDMask != id {
			return
		}
		if st := sv >> 62; st != descCommitted && st != descFinalized {
			return
		}
		begin := field(d, lposOff+beginOff, 8) % dsize
		next := field(d, lposOff+nextOff, 8) % dsize
		if begin == next {
			return
		}
		inf := infos[slot*infoSize:]
		textLen := field(inf, textLenOff, 2)
		if begin > next {
			begin = 0
		}
		begin += 8
		if next-begin < textLen { // unsigned, as in C
			textLen = next - begin
		}
		end := min(begin+textLen, dsize)
		var text []byte
		if begin < end {
			text = data[begin:end]
		}
		out.record(field(inf, tsOff, 8), text)
	}

	// makedumpfile walks every id in [tail, head]. That is at most count
	// live records in a sane ring; for a corrupt one (head far beyond tail,
	// or head with state bits so the C loop would never end) we visit the
	// slots instead and print, in id order, those whose id the walk would
	// have reached: the same output, bounded work.
	n := (head - tail) & descIDMask
	if head&^descIDMask == 0 && n < count+(1<<16) {
		id := tail
		for i := uint64(0); ; i++ {
			dump(id)
			if err := out.maybeFlush(); err != nil {
				return err
			}
			if id == head || i > n {
				break
			}
			id = (id + 1) & descIDMask
		}
		return nil
	}
	start := tail
	if tail&^descIDMask != 0 {
		dump(tail)
		start = (tail + 1) & descIDMask
	}
	type slotID struct{ pos, id uint64 }
	var ids []slotID
	for slot := range count {
		sv := field(descs[slot*descSize:], stateOff+counter, 8)
		id := sv & descIDMask
		if id%count != slot {
			continue
		}
		pos := (id - start) & descIDMask
		if head&^descIDMask == 0 && pos > n {
			continue
		}
		ids = append(ids, slotID{pos, id})
	}
	slices.SortFunc(ids, func(a, b slotID) int { return cmp.Compare(a.pos, b.pos) })
	for _, s := range ids {
		dump(s.id)
		if err := out.maybeFlush(); err != nil {
			return err
		}
	}
	if head&^descIDMask != 0 {
		return fmt.Errorf("kernel: printk head_id %#x has state bits set: the ring is corrupt", head)
	}
	return nil
}

// dmesgStructured follows makedumpfile's dump_dmesg for 3.5 – 5.9: records
// from log_first_idx to log_next_idx, a zero-length record meaning "wrap to
// the start of the buffer".
func (k *Kernel) dmesgStructured(out *logWriter) error {
	l := &layout{info: k.info}
	recName := "printk_log"
	if _, ok := k.info.Size(recName); !ok {
		if _, ok := k.info.Size("log"); ok {
			recName = "log" // called struct log before 3.11
		}
	}
	hdrSize := l.size(recName)
	lenOff := l.off(recName + ".len")
	textLenOff := l.off(recName + ".text_len")
	tsOff := l.off(recName + ".ts_nsec")
	if err := l.err(); err != nil {
		return err
	}
	firstSym, _ := k.info.Symbol("log_first_idx")
	nextSym, ok := k.info.Symbol("log_next_idx")
	if !ok {
		return errors.New("kernel: VMCOREINFO lacks SYMBOL(log_next_idx)")
	}
	bufAddr, bufLen, err := k.logBuf()
	if err != nil {
		return err
	}
	first, err := k.readU32(firstSym)
	if err != nil {
		return fmt.Errorf("kernel: reading log_first_idx: %w", err)
	}
	next, err := k.readU32(nextSym)
	if err != nil {
		return fmt.Errorf("kernel: reading log_next_idx: %w", err)
	}
	buf, err := k.readBounded(bufAddr, uint64(bufLen), "log_buf")
	if err != nil {
		return err
	}
	size := uint64(len(buf))
	recLen := func(p uint64) uint64 { return field(buf, p+lenOff, 2) }

	// The walk visits each record once; a revisit is a cycle in a corrupt
	// buffer. makedumpfile then rewrites its output to end with the cycle's
	// last record, which is where we stop.
	seen := make([]uint64, (size+63)/64)
	visit := func(p uint64) { seen[p/64] |= 1 << (p % 64) } // p < size here
	p := uint64(first)
	for p != uint64(next) {
		if p+hdrSize > size {
			return fmt.Errorf("kernel: printk_log index %#x is outside log_buf (%#x bytes): the buffer is corrupt", p, size)
		}
		visit(p)
		rec := p
		if recLen(p) == 0 {
			rec = 0
		}
		// The text ends where the record does: a corrupt text_len larger
		// than its record would print the records after it again, each
		// time (FuzzRingbuffer: 8 MB of output from a 4 KiB buffer).
		textLen := field(buf, rec+textLenOff, 2)
		lo := min(rec+hdrSize, size)
		hi := max(lo, min(rec+hdrSize+textLen, rec+recLen(rec), size))
		text := buf[lo:hi]
		out.record(field(buf, rec+tsOff, 8), text)
		if err := out.maybeFlush(); err != nil {
			return err
		}
		if l := recLen(p); l == 0 {
			p = recLen(0)
		} else {
			p += l
		}
		if p < size && seen[p/64]&(1<<(p%64)) != 0 {
			return fmt.Errorf("kernel: cycle in printk_log records at index %#x: the buffer is corrupt", p)
		}
		if p > size-hdrSize || size < hdrSize {
			return fmt.Errorf("kernel: printk_log index %#x is outside log_buf (%#x bytes): the buffer is corrupt", p, size)
		}
	}
	return nil
}

// dmesgLegacy follows makedumpfile for kernels before 3.5: the character
// ring written raw, oldest byte first once it has wrapped.
func (k *Kernel) dmesgLegacy(out *logWriter) error {
	endSym, _ := k.info.Symbol("log_end")
	bufAddr, bufLen, err := k.logBuf()
	if err != nil {
		return err
	}
	// log_end became "unsigned" (from unsigned long) in 2.6.25.
	var end uint64
	if k.version >= kver(2, 6, 25) {
		var e uint32
		e, err = k.readU32(endSym)
		end = uint64(e)
	} else {
		end, err = k.readU64(endSym)
	}
	if err != nil {
		return fmt.Errorf("kernel: reading log_end: %w", err)
	}
	size := uint64(bufLen)
	if end < size {
		b, err := k.readBounded(bufAddr, end, "log_buf")
		out.buf = append(out.buf, b...)
		return err
	}
	idx := end & (size - 1)
	old, err := k.readBounded(bufAddr+idx, size-idx, "log_buf")
	if err != nil {
		return err
	}
	cur, err := k.readBounded(bufAddr, idx, "log_buf")
	if err != nil {
		return err
	}
	out.buf = append(append(out.buf, old...), cur...)
	return nil
}

// logBuf reads where the structured and the legacy log keep their text:
// the log_buf pointer and log_buf_len, an int. Generation detection has
// seen SYMBOL(log_buf).
func (k *Kernel) logBuf() (addr uint64, size int64, err error) {
	bufSym, _ := k.info.Symbol("log_buf")
	lenSym, ok := k.info.Symbol("log_buf_len")
	if !ok {
		return 0, 0, errors.New("kernel: VMCOREINFO lacks SYMBOL(log_buf_len)")
	}
	if addr, err = k.readU64(bufSym); err != nil {
		return 0, 0, fmt.Errorf("kernel: reading log_buf: %w", err)
	}
	v, err := k.readU32(lenSym)
	if err != nil {
		return 0, 0, fmt.Errorf("kernel: reading log_buf_len: %w", err)
	}
	if size = int64(int32(v)); size <= 0 {
		return 0, 0, fmt.Errorf("kernel: log_buf_len %d is implausible", size)
	}
	return addr, size, nil
}
