package kernel

import (
	"encoding/binary"
	"fmt"
)

// prbLayout is a printk_ringbuffer layout as VMCOREINFO describes it.
type prbLayout struct {
	rbSize, descRing, textRing                uint64
	countBits, descs, infos, headID, tailID   uint64
	sizeBits, data                            uint64
	descSize, stateVar, textLpos, begin, next uint64
	infoSize, seq, tsNsec, textLen, callerID  uint64
}

// layout61 is Linux 6.1's (the fixtures' VMCOREINFO).
var layout61 = prbLayout{
	rbSize: 88, descRing: 0, textRing: 48,
	countBits: 0, descs: 8, infos: 16, headID: 24, tailID: 32,
	sizeBits: 0, data: 8,
	descSize: 24, stateVar: 0, textLpos: 8, begin: 0, next: 8,
	infoSize: 88, seq: 0, tsNsec: 8, textLen: 16, callerID: 20,
}

// layoutOdd moves every member, to prove the offsets come from VMCOREINFO.
var layoutOdd = prbLayout{
	rbSize: 112, descRing: 8, textRing: 72,
	countBits: 4, descs: 16, infos: 24, headID: 40, tailID: 48,
	sizeBits: 4, data: 16,
	descSize: 32, stateVar: 8, textLpos: 16, begin: 8, next: 0,
	infoSize: 96, seq: 8, tsNsec: 16, textLen: 0, callerID: 4,
}

func (l prbLayout) vmcoreinfo(s *synthKernel) {
	for k, v := range map[string]uint64{
		"SIZE(printk_ringbuffer)":                  l.rbSize,
		"OFFSET(printk_ringbuffer.desc_ring)":      l.descRing,
		"OFFSET(printk_ringbuffer.text_data_ring)": l.textRing,
		"OFFSET(prb_desc_ring.count_bits)":         l.countBits,
		"OFFSET(prb_desc_ring.descs)":              l.descs,
		"OFFSET(prb_desc_ring.infos)":              l.infos,
		"OFFSET(prb_desc_ring.head_id)":            l.headID,
		"OFFSET(prb_desc_ring.tail_id)":            l.tailID,
		"OFFSET(prb_data_ring.size_bits)":          l.sizeBits,
		"OFFSET(prb_data_ring.data)":               l.data,
		"SIZE(prb_desc)":                           l.descSize,
		"OFFSET(prb_desc.state_var)":               l.stateVar,
		"OFFSET(prb_desc.text_blk_lpos)":           l.textLpos,
		"OFFSET(prb_data_blk_lpos.begin)":          l.begin,
		"OFFSET(prb_data_blk_lpos.next)":           l.next,
		"SIZE(printk_info)":                        l.infoSize,
		"OFFSET(printk_info.seq)":                  l.seq,
		"OFFSET(printk_info.ts_nsec)":              l.tsNsec,
		"OFFSET(printk_info.text_len)":             l.textLen,
		"OFFSET(printk_info.caller_id)":            l.callerID,
		"OFFSET(atomic_long_t.counter)":            0,
	} {
		s.info[k] = fmt.Sprint(v)
	}
}

// prb builds a lockless ring the way kernel/printk/printk_ringbuffer.c
// fills it, with hooks to set any state by hand.
type prb struct {
	l          prbLayout
	countBits  uint
	sizeBits   uint
	descs      []byte
	infos      []byte
	data       []byte
	headLpos   uint64
	head, tail uint64
}

func newPRB(l prbLayout, countBits, sizeBits uint, startLpos uint64) *prb {
	return &prb{l: l, countBits: countBits, sizeBits: sizeBits,
		descs: make([]byte, (1<<countBits)*l.descSize),
		infos: make([]byte, (1<<countBits)*l.infoSize),
		data:  make([]byte, 1<<sizeBits), headLpos: startLpos}
}

// alloc reserves a data block for text the kernel's way (data_alloc,
// get_next_lpos): blocks are 8-byte aligned, start with the id, and a
// block that would cross the end of the ring goes to its start instead.
func (r *prb) alloc(id uint64, text []byte) (begin, next uint64) {
	dsize := uint64(1) << r.sizeBits
	size := (8 + uint64(len(text)) + 7) &^ 7
	begin = r.headLpos
	next = begin + size
	at := begin % dsize
	if begin/dsize != next/dsize {
		next = next/dsize*dsize + size
		binary.LittleEndian.PutUint64(r.data[at:], id) // the id stays at begin
		at = 0
	}
	binary.LittleEndian.PutUint64(r.data[at:], id)
	copy(r.data[at+8:], text)
	r.headLpos = next
	return begin, next
}

// desc writes a descriptor and its info for id in the given state.
func (r *prb) desc(id, state, begin, next, ts uint64, textLen uint16) {
	slot := id % (1 << r.countBits)
	d := r.descs[slot*r.l.descSize:]
	binary.LittleEndian.PutUint64(d[r.l.stateVar:], id|state<<62)
	binary.LittleEndian.PutUint64(d[r.l.textLpos+r.l.begin:], begin)
	binary.LittleEndian.PutUint64(d[r.l.textLpos+r.l.next:], next)
	inf := r.infos[slot*r.l.infoSize:]
	binary.LittleEndian.PutUint64(inf[r.l.seq:], id)
	binary.LittleEndian.PutUint64(inf[r.l.tsNsec:], ts)
	binary.LittleEndian.PutUint16(inf[r.l.textLen:], textLen)
	binary.LittleEndian.PutUint32(inf[r.l.callerID:], 0x80000001)
}

// add appends a record with text in the given state.
func (r *prb) add(id, state, ts uint64, text string) {
	b, n := r.alloc(id, []byte(text))
	r.desc(id, state, b, n, ts, uint16(len(text)))
}

// install places the ring in s: descriptors and infos in kernel .data like
// the static ring, the text in the direct map like a log_buf_len= ring, and
// SYMBOL(prb) pointing at printk_rb_static.
func (r *prb) install(s *synthKernel) {
	r.l.vmcoreinfo(s)
	descs := s.symbol("", r.descs)
	infos := s.symbol("", r.infos)
	data := s.direct(r.data)
	rb := make([]byte, r.l.rbSize)
	dr, tr := rb[r.l.descRing:], rb[r.l.textRing:]
	binary.LittleEndian.PutUint32(dr[r.l.countBits:], uint32(r.countBits))
	binary.LittleEndian.PutUint64(dr[r.l.descs:], descs)
	binary.LittleEndian.PutUint64(dr[r.l.infos:], infos)
	binary.LittleEndian.PutUint64(dr[r.l.headID:], r.head)
	binary.LittleEndian.PutUint64(dr[r.l.tailID:], r.tail)
	binary.LittleEndian.PutUint32(tr[r.l.sizeBits:], uint32(r.sizeBits))
	binary.LittleEndian.PutUint64(tr[r.l.data:], data)
	rbV := s.symbol("printk_rb_static", rb)
	s.symbol("prb", u64le(rbV))
}

// printkLog builds a 3.5 – 5.9 log_buf of struct printk_log records.
type printkLog struct {
	buf         []byte
	first, next uint32
}

const printkLogHdr = 16 // ts_nsec u64, len u16, text_len u16, dict_len u16, facility u8, flags:5 level:3

// add appends a record at next, wrapping (with a zero-length marker) when
// it and a following marker header would not fit, as log_store does.
func (p *printkLog) add(ts uint64, text, dict string) {
	size := uint32((printkLogHdr + len(text) + len(dict) + 7) &^ 7)
	if p.next+size+printkLogHdr > uint32(len(p.buf)) {
		clear(p.buf[p.next : p.next+printkLogHdr])
		p.next = 0
	}
	r := p.buf[p.next:]
	binary.LittleEndian.PutUint64(r, ts)
	binary.LittleEndian.PutUint16(r[8:], uint16(size))
	binary.LittleEndian.PutUint16(r[10:], uint16(len(text)))
	binary.LittleEndian.PutUint16(r[12:], uint16(len(dict)))
	r[14] = 0
	r[15] = 6 << 5
	copy(r[printkLogHdr:], text)
	copy(r[printkLogHdr+len(text):], dict)
	p.next += size
}

// install puts the buffer in vmalloc space across a page boundary (log_buf
// is a pointer) and the indices in kernel .data.
func (p *printkLog) install(s *synthKernel) {
	const pad = pageSize - 96
	v := s.vmallocBuf(append(make([]byte, pad), p.buf...)) + pad
	s.symbol("log_buf", u64le(v))
	s.symbol("log_buf_len", u32le(uint32(len(p.buf))))
	s.symbol("log_first_idx", u32le(p.first))
	s.symbol("log_next_idx", u32le(p.next))
	s.symbol("clear_idx", u32le(p.first))
	for k, v := range map[string]int{
		"SIZE(printk_log)": printkLogHdr, "OFFSET(printk_log.ts_nsec)": 0, "OFFSET(printk_log.len)": 8,
		"OFFSET(printk_log.text_len)": 10, "OFFSET(printk_log.dict_len)": 12,
	} {
		s.info[k] = fmt.Sprint(v)
	}
}
