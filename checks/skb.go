package checks

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/kobj"
)

// CHECKSUM_PARTIAL: the stack left the checksum to the device (or to
// skb_checksum_help), starting at csum_start.
const checksumPartial = 3

// layout is how an sk_buff holds tail, end and the header positions.
type layout int

const (
	// layoutOffsets: offsets from head, as 64-bit kernels do
	// (NET_SKBUFF_DATA_USES_OFFSET).
	layoutOffsets layout = iota
	// layoutPointers: addresses, as 32-bit kernels do.
	layoutPointers
)

// String is the layout as evidence names it: "offsets" or "pointers".
func (l layout) String() string {
	if l == layoutPointers {
		return "pointers"
	}
	return "offsets"
}

// skbView is an sk_buff with what every check needs computed once: the
// buffer positions as offsets from head whatever the layout, and its
// skb_shared_info when the evidence has it.
type skbView struct {
	obj *kobj.Object
	v   *kobj.Value
	env Env

	// layout says whether tail, end and the headers are offsets from head
	// or pointers; layoutFrom says what decided it.
	layout     layout
	layoutFrom string

	head, data       uint64
	hasHead, hasData bool
	tailRaw, endRaw  uint64
	hasTail, hasEnd  bool
	// dataOff, tailOff, endOff are data, tail and end relative to head.
	dataOff, tailOff, endOff int64

	len, dataLen       uint64
	hasLen, hasDataLen bool

	// shinfoAddr is head+end, where skb_shinfo() finds the shared info;
	// 0 when it cannot be computed.
	shinfoAddr uint64
	shinfo     *kobj.Object
}

func newSKB(o *kobj.Object, env Env) *skbView {
	env = norm(env)
	s := &skbView{obj: o, v: o.Value, env: env}
	s.head, s.hasHead = s.v.Uint("head")
	s.data, s.hasData = s.v.Uint("data")
	s.tailRaw, s.hasTail = s.v.Uint("tail")
	s.endRaw, s.hasEnd = s.v.Uint("end")
	s.len, s.hasLen = s.v.Uint("len")
	s.dataLen, s.hasDataLen = s.v.Uint("data_len")
	s.decideLayout()
	if s.hasHead && s.hasData {
		s.dataOff = int64(s.data - s.head)
	}
	if s.layout == layoutPointers {
		s.tailOff = int64(s.tailRaw - s.head)
		s.endOff = int64(s.endRaw - s.head)
	} else {
		s.tailOff = int64(s.tailRaw)
		s.endOff = int64(s.endRaw)
	}
	if s.hasHead && s.hasEnd && s.head != 0 {
		s.shinfoAddr = s.head + uint64(s.endOff)
		s.shinfo = env.Objects.Find("skb_shared_info", s.shinfoAddr)
	}
	return s
}

// decideLayout picks offsets or pointers: the word size when given or
// evident (a pointer above 4G, the release's architecture), else whether
// tail and end look like addresses next to head or like small offsets.
func (s *skbView) decideLayout() {
	set := func(ptr bool, from string) {
		s.layout, s.layoutFrom = layoutOffsets, from
		if ptr {
			s.layout = layoutPointers
		}
	}
	switch {
	case s.env.PtrSize == 8:
		set(false, "ptr_size")
	case s.env.PtrSize == 4:
		set(true, "ptr_size")
	case s.hasHead && s.head > 0xffffffff:
		set(false, "pointer width")
	case releaseBits(s.env.Release) == 64:
		set(false, "release")
	case releaseBits(s.env.Release) == 32:
		set(true, "release")
	case s.hasHead && s.head != 0 && s.hasTail && s.hasEnd && s.tailRaw >= s.head && s.endRaw >= s.head:
		set(true, "magnitude")
	case s.hasHead && s.head != 0 && (s.hasTail && s.tailRaw >= s.head || s.hasEnd && s.endRaw >= s.head):
		// One of tail and end shown, and it is an address at or above
		// head: an offset never is (head is a kernel address).
		set(true, "magnitude")
	default:
		set(false, "magnitude")
	}
}

func (s *skbView) ptrSize() int {
	if s.env.PtrSize != 0 {
		return s.env.PtrSize
	}
	if s.layout == layoutPointers {
		return 4
	}
	return 8
}

func (s *skbView) finding(check string, sev Severity, verdict string, ev map[string]any) Finding {
	return Finding{Check: check, Severity: sev, Object: s.obj, Verdict: verdict, Evidence: ev}
}

// headlen is skb_headlen(): what the linear area must hold.
func (s *skbView) headlen() (int64, bool) {
	if !s.hasLen || !s.hasDataLen || s.len < s.dataLen {
		return 0, false
	}
	return int64(s.len - s.dataLen), true
}

func (s *skbView) hasBuffer() bool {
	return s.hasHead && s.hasData && s.hasTail && s.hasEnd && s.head != 0
}

// SKB checks one sk_buff, reading its skb_shared_info at head+end from
// env.Objects when present. Findings come in a fixed order (lengths and
// buffer, then the shared info, checksum, headers, truesize) so output is
// stable; a check whose fields were not dumped says nothing.
func SKB(skb *kobj.Object, env Env) []Finding {
	if skb == nil || skb.Value == nil {
		return nil
	}
	env = norm(env)
	s := newSKB(skb, env)
	var out []Finding
	out = append(out, s.checkLen()...)
	out = append(out, s.checkLinear()...)
	out = append(out, s.checkLayout()...)
	if s.shinfo != nil {
		nr, nrOK := s.checkNrFragsFindings(&out)
		out = append(out, s.checkDataLen(nr, nrOK)...)
		out = append(out, s.checkDataref()...)
		out = append(out, s.checkGSO()...)
	} else if s.shinfoAddr != 0 {
		out = append(out, s.shinfoMissing())
	}
	out = append(out, s.checkCsum()...)
	out = append(out, s.checkHeaders()...)
	out = append(out, s.checkTruesize()...)
	return out
}

func (s *skbView) checkLen() []Finding {
	if !s.hasLen || !s.hasDataLen || s.len >= s.dataLen {
		return nil
	}
	wrapped := uint32(s.len - s.dataLen)
	return []Finding{s.finding(CheckSKBLen, SeverityError,
		fmt.Sprintf("len %d is smaller than data_len %d: skb_headlen() = len - data_len wraps to %d, so anything that reads the linear area runs past it",
			s.len, s.dataLen, wrapped),
		map[string]any{"len": int64(s.len), "data_len": int64(s.dataLen), "headlen_wrapped": int64(wrapped)})}
}

func (s *skbView) checkLinear() []Finding {
	hl, ok := s.headlen()
	if !ok || !s.hasHead || !s.hasData || !s.hasTail || s.head == 0 {
		return nil
	}
	linear := s.tailOff - s.dataOff
	if linear == hl {
		return nil
	}
	var span string
	if s.layout == layoutPointers {
		span = fmt.Sprintf("tail - data = %#x - %#x = %d", s.tailRaw, s.data, linear)
	} else {
		span = fmt.Sprintf("tail - (data - head) = %d - %d = %d", s.tailOff, s.dataOff, linear)
	}
	return []Finding{s.finding(CheckSKBLinear, SeverityError,
		fmt.Sprintf("skb_headlen() = len - data_len = %d - %d = %d, but the linear area holds %s bytes: len, data_len and tail disagree",
			s.len, s.dataLen, hl, span),
		map[string]any{"layout": s.layout.String(), "len": int64(s.len), "data_len": int64(s.dataLen), "headlen": hl,
			"tail": s.tailOff, "data_offset": s.dataOff, "linear_bytes": linear})}
}

func (s *skbView) checkLayout() []Finding {
	if !s.hasHead || !s.hasData || !s.hasTail || !s.hasEnd {
		return nil
	}
	ev := map[string]any{"layout": s.layout.String(), "head": hex(s.head), "data": hex(s.data), "data_offset": s.dataOff,
		"tail": s.tailOff, "end": s.endOff}
	if s.head == 0 {
		return []Finding{s.finding(CheckSKBLayout, SeverityError,
			"head is NULL: the skb has no data buffer (already freed, or this memory is not an sk_buff)", ev)}
	}
	var bad []string
	if s.dataOff < 0 {
		bad = append(bad, fmt.Sprintf("data lies %d bytes before head (what skb_push's skb_under_panic guards)", -s.dataOff))
	}
	if s.tailOff < s.dataOff {
		bad = append(bad, fmt.Sprintf("tail (%d) lies before data (%d)", s.tailOff, s.dataOff))
	}
	if s.endOff < s.tailOff {
		bad = append(bad, fmt.Sprintf("tail (%d) lies %d bytes beyond end (%d), into skb_shared_info (what skb_put's skb_over_panic guards)",
			s.tailOff, s.tailOff-s.endOff, s.endOff))
	}
	if len(bad) == 0 {
		return nil
	}
	return []Finding{s.finding(CheckSKBLayout, SeverityError,
		"head <= data <= tail <= end does not hold: "+strings.Join(bad, "; "), ev)}
}

// checkNrFragsFindings appends the nr_frags verdicts and returns nr_frags
// and whether the frags below it can be summed.
func (s *skbView) checkNrFragsFindings(out *[]Finding) (uint64, bool) {
	f, nr, ok := nrFrags(s.shinfo.Value, s.env)
	for i := range f {
		f[i].Object = s.obj
		f[i].Evidence["skb_shared_info"] = hex(s.shinfoAddr)
	}
	*out = append(*out, f...)
	return nr, ok
}

// nrFrags checks nr_frags against MAX_SKB_FRAGS; ok is false when nr_frags
// is missing or beyond any frags[] array, so that no sum is made over
// slots that do not exist.
func nrFrags(sh *kobj.Value, env Env) (f []Finding, nr uint64, ok bool) {
	nr, has := sh.Uint("nr_frags")
	if !has {
		return nil, 0, false
	}
	mf := skbMaxFrags(env.Release, env.PageSize)
	ev := map[string]any{"nr_frags": int64(nr), "max_skb_frags": int64(mf.max), "max_from": mf.why, "page_size": int64(env.PageSize)}
	switch {
	case nr > uint64(mf.hard):
		return []Finding{{Check: CheckSKBNrFrags, Severity: SeverityError, Evidence: ev,
			Verdict: fmt.Sprintf("nr_frags %d exceeds MAX_SKB_FRAGS %d (%s): frags[] has no slot %d, so the count is corrupt and the frags cannot be summed",
				nr, mf.hard, mf.why, mf.hard)}}, nr, false
	case nr > uint64(mf.max):
		ev["max_configurable"] = int64(mf.hard)
		return []Finding{{Check: CheckSKBNrFrags, Severity: SeverityWarning, Evidence: ev,
			Verdict: fmt.Sprintf("nr_frags %d exceeds the default MAX_SKB_FRAGS %d (%s): legal only if the kernel was built with a larger CONFIG_MAX_SKB_FRAGS",
				nr, mf.max, mf.why)}}, nr, true
	case mf.assumed && nr > uint64(skbMaxFrags("4.0", env.PageSize).max):
		return []Finding{{Check: CheckSKBNrFrags, Severity: SeverityInfo, Evidence: ev,
			Verdict: fmt.Sprintf("nr_frags %d is legal only where MAX_SKB_FRAGS is %d (2.6.x with %d-byte pages); %s",
				nr, mf.max, env.PageSize, mf.why)}}, nr, true
	}
	return nil, nr, true
}

// frag is one skb_frag_t as the dump shows it, whatever the release named
// its members (size/bv_len/len, page/page.p/bv_page/netmem).
type frag struct {
	size, page, off                uint64
	hasSize, hasPage, hasOff, dump bool
}

func readFrag(v *kobj.Value) frag {
	var f frag
	if v == nil {
		return f
	}
	f.dump = true
	for _, p := range []string{"size", "bv_len", "len"} {
		if x, ok := v.Uint(p); ok {
			f.size, f.hasSize = x, true
			break
		}
	}
	for _, p := range []string{"page.p", "page", "bv_page", "netmem"} {
		if x, ok := v.Uint(p); ok {
			f.page, f.hasPage = x, true
			break
		}
	}
	for _, p := range []string{"page_offset", "bv_offset", "offset"} {
		if x, ok := v.Uint(p); ok {
			f.off, f.hasOff = x, true
			break
		}
	}
	return f
}

func frags(sh *kobj.Value) []frag {
	a, ok := sh.Get("frags")
	if !ok || a.Kind != kobj.Array {
		return nil
	}
	out := make([]frag, len(a.Elems))
	for i, e := range a.Elems {
		out[i] = readFrag(e)
	}
	return out
}

// fragWalk is what following frag_list through the dumped sk_buffs gave.
type fragWalk struct {
	bytes uint64 // sum of len over the skbs reached
	skbs  int
	// missing is the first skb of the list that was not dumped (or was
	// dumped without len); 0 when the whole list was read.
	missing uint64
	cycle   bool
}

// walkFragList follows frag_list and next the way skb_walk_frags does.
func walkFragList(first uint64, set *kobj.Set) fragWalk {
	var w fragWalk
	seen := map[uint64]bool{}
	for addr := first; addr != 0; {
		if seen[addr] || w.skbs > 4096 {
			w.cycle = true
			return w
		}
		seen[addr] = true
		o := set.Find("sk_buff", addr)
		if o == nil || o.Value == nil {
			w.missing = addr
			return w
		}
		l, ok := o.Value.Uint("len")
		if !ok {
			w.missing = addr
			return w
		}
		w.bytes += l
		w.skbs++
		addr, _ = o.Value.Uint("next")
	}
	return w
}

// walker describes a function that walks a packet from an offset to its
// end and stops hard when the bytes run out.
type walker struct {
	caller, fn, stop string
	// fromCsum: the walk starts at csum_start (checksumming a
	// CHECKSUM_PARTIAL skb); otherwise it copies the whole packet.
	fromCsum bool
}

var walkers = map[string]walker{
	"skb_checksum":           {"skb_checksum_help", "__skb_checksum", "hit BUG_ON(len)", true},
	"__skb_checksum":         {"skb_checksum_help", "__skb_checksum", "hit BUG_ON(len)", true},
	"skb_copy_and_csum_bits": {"skb_copy_and_csum_dev", "skb_copy_and_csum_bits", "hit BUG_ON(len)", true},
	"skb_copy_bits":          {"", "skb_copy_bits", "returned -EFAULT", false},
}

func (s *skbView) checkDataLen(nr uint64, nrOK bool) []Finding {
	sh := s.shinfo.Value
	if !nrOK || !s.hasDataLen {
		return nil
	}
	fs := frags(sh)
	if uint64(len(fs)) < nr {
		return []Finding{s.finding(CheckSKBDataLen, SeverityInfo,
			fmt.Sprintf("nr_frags is %d but the dump of skb_shared_info %x shows %d frags: data_len %d could not be checked",
				nr, s.shinfoAddr, len(fs), s.dataLen),
			map[string]any{"nr_frags": int64(nr), "frags_dumped": int64(len(fs)), "data_len": int64(s.dataLen)})}
	}
	sizes := []int64{}
	var paged uint64
	var terms []string
	for i := uint64(0); i < nr; i++ {
		if !fs[i].hasSize {
			return nil
		}
		sizes = append(sizes, int64(fs[i].size))
		terms = append(terms, fmt.Sprint(fs[i].size))
		paged += fs[i].size
	}
	fragsBytes := paged
	fl, _ := sh.Uint("frag_list")
	var fw fragWalk
	if fl != 0 {
		fw = walkFragList(fl, s.env.Objects)
		paged += fw.bytes
	}
	ev := map[string]any{
		"len": int64(s.len), "data_len": int64(s.dataLen), "nr_frags": int64(nr), "frag_sizes": sizes,
		"frags_bytes": int64(fragsBytes), "frag_list": hex(fl), "paged_bytes": int64(paged),
		"skb_shared_info": hex(s.shinfoAddr),
	}
	if hl, ok := s.headlen(); ok {
		ev["headlen"] = hl
	}
	if fl != 0 {
		ev["frag_list_skbs"] = int64(fw.skbs)
		ev["frag_list_bytes"] = int64(fw.bytes)
		if fw.missing != 0 {
			ev["frag_list_undumped"] = hex(fw.missing)
		}
		if fw.cycle {
			ev["frag_list_cycle"] = true
		}
	}
	incomplete := fl != 0 && fw.missing != 0
	if paged == s.dataLen && !incomplete {
		return nil
	}
	if incomplete && paged <= s.dataLen {
		need := s.dataLen - paged
		ev["frag_list_needed"] = int64(need)
		msg := fmt.Sprintf("data_len is %d; %s, so the frag_list skbs from %#x on must hold the other %d bytes, but they are not dumped (sk_buff %x): their lengths are unknown",
			s.dataLen, s.fragsPhrase(nr, fragsBytes, terms, fl, fw, true), fw.missing, need, fw.missing)
		stale, _ := s.staleFrags(nr, fs)
		out := []Finding{s.finding(CheckSKBDataLen, SeverityWarning, msg, ev)}
		return append(out, stale...)
	}

	have := s.fragsPhrase(nr, fragsBytes, terms, fl, fw, false)
	var verdict string
	switch {
	case paged < s.dataLen && paged == 0:
		verdict = fmt.Sprintf("data_len is %d but %s: the %d bytes of paged data do not exist", s.dataLen, have, s.dataLen)
	case paged < s.dataLen:
		verdict = fmt.Sprintf("data_len is %d but %s: %d bytes of paged data do not exist", s.dataLen, have, s.dataLen-paged)
	default:
		verdict = fmt.Sprintf("data_len is %d but %s: %d bytes more than data_len, so len and data_len undercount the packet", s.dataLen, have, paged-s.dataLen)
	}
	f := s.finding(CheckSKBDataLen, SeverityError, verdict, ev)
	if paged < s.dataLen {
		missing := s.dataLen - paged
		ev["missing"] = int64(missing)
		f.Mechanics = s.mechanics(paged, ev)
		f.Registers = s.corroborate(missing, ev)
	} else {
		ev["excess"] = int64(paged - s.dataLen)
	}
	stale, note := s.staleFrags(nr, fs)
	if len(stale) > 0 {
		ev["stale_frags"] = stale[0].Evidence["stale_count"]
		f.Notes = []string{note}
	}
	return append([]Finding{f}, stale...)
}

// fragsPhrase says what the shared info holds: "skb_shared_info has
// nr_frags 0 and no frag_list", "its 2 frags hold 100 bytes (60 + 40) and
// there is no frag_list".
func (s *skbView) fragsPhrase(nr, fragsBytes uint64, terms []string, fl uint64, fw fragWalk, partial bool) string {
	var b strings.Builder
	switch nr {
	case 0:
		b.WriteString("skb_shared_info has nr_frags 0")
	case 1:
		fmt.Fprintf(&b, "skb_shared_info's 1 frag holds %d bytes", fragsBytes)
	default:
		fmt.Fprintf(&b, "skb_shared_info's %d frags hold %d bytes (%s)", nr, fragsBytes, strings.Join(terms, " + "))
	}
	switch {
	case fl == 0 && nr == 0:
		b.WriteString(" and no frag_list")
	case fl == 0:
		b.WriteString(" and there is no frag_list")
	case partial && fw.skbs > 0:
		fmt.Fprintf(&b, " and the %d dumped frag_list skbs %d", fw.skbs, fw.bytes)
	case partial:
		fmt.Fprintf(&b, " and frag_list is %#x", fl)
	default:
		fmt.Fprintf(&b, " and the %d frag_list skbs hold %d", fw.skbs, fw.bytes)
		if fw.cycle {
			b.WriteString(" (the list loops)")
		}
	}
	return b.String()
}

// mechanics explains, when the faulting function walks the packet, how the
// walk ran out of bytes: the arithmetic an engineer does by hand from
// csum_start, the headroom and headlen.
func (s *skbView) mechanics(paged uint64, ev map[string]any) string {
	w, ok := walkers[baseFunction(s.env.RIPFunction)]
	if !ok {
		return ""
	}
	hl, ok := s.headlen()
	if !ok || !s.hasHead || !s.hasData {
		return ""
	}
	var off int64
	if w.fromCsum {
		ip, ok1 := s.v.Uint("ip_summed")
		cs, ok2 := s.v.Uint("csum_start")
		if !ok1 || !ok2 || ip != checksumPartial {
			return ""
		}
		off = int64(cs) - s.dataOff
	}
	L := int64(s.len)
	if off < 0 || off > L {
		return ""
	}
	asked := L - off
	lin := clamp(hl-off, 0, asked)
	skip := max(off-hl, 0)
	pg := clamp(int64(paged)-skip, 0, asked-lin)
	left := asked - lin - pg
	if left <= 0 {
		return ""
	}
	ev["walker"] = w.fn
	ev["walk_offset"] = off
	ev["walk_len"] = asked
	ev["linear_supplies"] = lin
	ev["paged_supplies"] = pg
	ev["walk_left"] = left
	holds := fmt.Sprintf("the linear area holds %d of them", lin)
	if pg > 0 {
		holds += fmt.Sprintf(" and the frags %d", pg)
	}
	if w.fromCsum {
		ev["caller"] = w.caller
		return fmt.Sprintf("%s asked for %d bytes from offset %d, %s, and %s %s with %d left",
			w.caller, asked, off, holds, w.fn, w.stop, left)
	}
	return fmt.Sprintf("a copy of the whole packet asks for %d bytes, %s, and %s %s with %d left",
		asked, holds, w.fn, w.stop, left)
}

func clamp(x, lo, hi int64) int64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// corroborate finds the crash-time registers that hold a quantity of this
// skb: the byte count the walk was short by, headlen, or one of its
// addresses. Small counts need at least 8 to be cited: a register holding
// 2 proves nothing. A register is cited once, for the first quantity it
// holds.
func (s *skbView) corroborate(missing uint64, ev map[string]any) []Agreement {
	if len(s.env.Regs) == 0 {
		return nil
	}
	var quantities []Agreement
	if missing >= 8 {
		quantities = append(quantities, Agreement{Role: "missing", Value: missing})
	}
	if hl, ok := s.headlen(); ok && hl >= 8 {
		quantities = append(quantities, Agreement{Role: "headlen", Value: uint64(hl)})
	}
	quantities = append(quantities, Agreement{Role: "skb", Value: s.obj.Addr})
	if s.shinfoAddr != 0 {
		quantities = append(quantities, Agreement{Role: "skb_shared_info", Value: s.shinfoAddr})
	}
	if s.hasHead && s.head != 0 {
		quantities = append(quantities, Agreement{Role: "head", Value: s.head})
		if s.hasData && s.data != s.head {
			quantities = append(quantities, Agreement{Role: "data", Value: s.data})
		}
		if s.hasTail {
			quantities = append(quantities, Agreement{Role: "tail_pointer", Value: s.head + uint64(s.tailOff)})
		}
	}
	names := sortedRegs(s.env.Regs)
	cited := map[string]string{}
	var out []Agreement
	for _, q := range quantities {
		for _, n := range names {
			if _, done := cited[n]; done {
				continue
			}
			if s.env.Regs[n] == q.Value {
				q.Registers = append(q.Registers, n)
			}
		}
		if len(q.Registers) == 0 {
			continue
		}
		for _, n := range q.Registers {
			cited[n] = q.Role
		}
		out = append(out, q)
	}
	if len(out) > 0 {
		ev["registers"] = cited
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// staleFrags reports frags at or beyond nr_frags with non-zero sizes: the
// kernel ignores them, but the first few can be a frag removed without
// data_len following. Called only when data_len does not balance; note is
// the sentence the data_len verdict carries about them.
func (s *skbView) staleFrags(nr uint64, fs []frag) (f []Finding, note string) {
	var nonzero []map[string]any
	for i := nr; i < uint64(len(fs)); i++ {
		if fs[i].hasSize && fs[i].size != 0 {
			m := map[string]any{"index": int64(i), "size": int64(fs[i].size)}
			if fs[i].hasPage {
				m["page"] = hex(fs[i].page)
			}
			if fs[i].hasOff {
				m["page_offset"] = int64(fs[i].off)
			}
			nonzero = append(nonzero, m)
		}
	}
	if len(nonzero) == 0 {
		return nil, ""
	}
	// The run of plausible descriptors right at nr_frags is the telling
	// part; further slots are usually memory the allocator never cleared.
	var run, sizes []string
	for i := nr; i < uint64(len(fs)) && s.plausibleFrag(fs[i]); i++ {
		run = append(run, fmt.Sprintf("frags[%d] (page %#x, offset %d, size %d)", i, fs[i].page, fs[i].off, fs[i].size))
		sizes = append(sizes, fmt.Sprintf("frags[%d].size %d", i, fs[i].size))
	}
	sf := s.finding(CheckSKBStaleFrags, SeverityInfo,
		fmt.Sprintf("%d frags beyond nr_frags %d hold non-zero sizes; they are stale and not counted", len(nonzero), nr),
		map[string]any{"nr_frags": int64(nr), "stale_count": int64(len(nonzero)), "stale": nonzero, "plausible": int64(len(run))})
	if len(run) > 0 {
		why := fmt.Sprintf("%s, right at nr_frags, still look%s like a frag descriptor: consistent with frags dropped (nr_frags lowered) while data_len kept counting them",
			strings.Join(run, ", "), plural(len(run)))
		if rest := len(nonzero) - len(run); rest > 0 {
			why += fmt.Sprintf("; the other %d look like leftover memory", rest)
		}
		sf.Notes = []string{why}
		note = fmt.Sprintf("%s lie%s beyond nr_frags %d: stale, not counted", strings.Join(sizes, ", "), plural(len(run)), nr)
	} else {
		note = fmt.Sprintf("the %d non-zero frag sizes beyond nr_frags %d are leftover memory, not counted", len(nonzero), nr)
	}
	return []Finding{sf}, note
}

// plausibleFrag: a kernel page pointer, an offset and size within 64K.
func (s *skbView) plausibleFrag(f frag) bool {
	if !f.hasSize || !f.hasPage || f.size == 0 || f.size > 65536 || f.page == 0 {
		return false
	}
	if f.hasOff && f.off >= 65536 {
		return false
	}
	if s.ptrSize() == 4 {
		return f.page >= 0x80000000 && f.page <= 0xffffffff
	}
	return f.page>>48 == 0xffff
}

func (s *skbView) shinfoMissing() Finding {
	ev := map[string]any{"skb_shared_info": hex(s.shinfoAddr), "head": hex(s.head), "end": s.endOff,
		"layout": s.layout.String(), "unchecked": []string{CheckSKBDataLen, CheckSKBNrFrags, CheckSKBDataref, CheckSKBGSO}}
	if s.hasDataLen {
		ev["data_len"] = int64(s.dataLen)
	}
	where := fmt.Sprintf("head + end = %#x + %d = %#x", s.head, s.endOff, s.shinfoAddr)
	if s.layout == layoutPointers {
		where = fmt.Sprintf("end = %#x", s.shinfoAddr)
	}
	what := "data_len cannot be checked against the frags and frag_list"
	if s.hasDataLen && s.dataLen > 0 {
		what = fmt.Sprintf("whether its frags and frag_list hold the %d bytes of data_len is unproven", s.dataLen)
	}
	return s.finding(CheckSKBShinfoMissing, SeverityInfo,
		fmt.Sprintf("skb_shared_info at %s is not in the evidence: %s, and nr_frags, dataref and gso were not checked; `skb_shared_info %x` shows it",
			where, what, s.shinfoAddr), ev)
}

func (s *skbView) checkDataref() []Finding {
	f := datarefFindings(s.shinfo.Value)
	for i := range f {
		f[i].Object = s.obj
		f[i].Evidence["skb_shared_info"] = hex(s.shinfoAddr)
	}
	cnt, ok := dataref(s.shinfo.Value)
	cloned, okc := s.v.Uint("cloned")
	if !ok || !okc {
		return f
	}
	low, high := cnt&0xffff, cnt>>16
	ev := map[string]any{"dataref": hex(cnt), "data_refs": int64(low), "payload_refs": int64(high),
		"cloned": int64(cloned), "skb_shared_info": hex(s.shinfoAddr)}
	if fc, ok := s.v.Uint("fclone"); ok {
		ev["fclone"] = int64(fc)
	}
	switch {
	case cloned != 0 && low == 1:
		f = append(f, s.finding(CheckSKBDataref, SeverityInfo,
			"cloned is set but dataref counts a single reference to the data: the other clone is gone, skb_cloned() is false and the data may be written in place", ev))
	case cloned == 0 && low > 1:
		f = append(f, s.finding(CheckSKBDataref, SeverityInfo,
			fmt.Sprintf("cloned is 0 but dataref counts %d references to the data: another skb shares this buffer without this one being marked a clone", low), ev))
	case cloned != 0 && low > 1 && low >= high:
		f = append(f, s.finding(CheckSKBDataref, SeverityInfo,
			fmt.Sprintf("a clone: %d skbs share this data buffer and its skb_shared_info (dataref %#x: %d data references, %d payload-only), so nr_frags, frags and frag_list are common to them while len and data_len are each skb's own",
				low, cnt, low, high), ev))
	}
	return f
}

func dataref(sh *kobj.Value) (uint64, bool) {
	if c, ok := sh.Uint("dataref.counter"); ok {
		return c & 0xffffffff, true
	}
	if c, ok := sh.Uint("dataref"); ok {
		return c & 0xffffffff, true
	}
	return 0, false
}

// datarefFindings checks the two halves of dataref against each other:
// SKB_DATAREF_SHIFT splits it into references to the whole data (low) and
// to the payload only (high), and the first may never be below the second.
func datarefFindings(sh *kobj.Value) []Finding {
	cnt, ok := dataref(sh)
	if !ok {
		return nil
	}
	low, high := cnt&0xffff, cnt>>16
	ev := map[string]any{"dataref": hex(cnt), "data_refs": int64(low), "payload_refs": int64(high)}
	switch {
	case high > low:
		return []Finding{{Check: CheckSKBDataref, Severity: SeverityError, Evidence: ev,
			Verdict: fmt.Sprintf("dataref %#x counts %d payload-only references but only %d references to the whole data: whole >= payload is broken (a reference dropped twice, or the shared info overwritten)",
				cnt, high, low)}}
	case low == 0:
		return []Finding{{Check: CheckSKBDataref, Severity: SeverityWarning, Evidence: ev,
			Verdict: "dataref is 0: the data buffer was released (skb_release_data ran) while this skb still points at it, or this memory is not its skb_shared_info"}}
	}
	return nil
}

func (s *skbView) checkGSO() []Finding {
	sh := s.shinfo.Value
	gs, ok1 := sh.Uint("gso_size")
	segs, ok2 := sh.Uint("gso_segs")
	if !ok1 || !ok2 || gs == 0 || !s.hasLen {
		return nil
	}
	gt, _ := sh.Uint("gso_type")
	hl, ok := s.headlen()
	if !ok || !s.hasHead || !s.hasData {
		return nil
	}
	// The headers lie in the linear area, so they are at most headlen and
	// at least what lies before the transport header (+20 for TCP).
	hdrMax := hl
	hdrMin := int64(0)
	if th, ok := s.headerOffset("transport_header"); ok && th >= s.dataOff {
		hdrMin = th - s.dataOff
		if gt&0x11 != 0 { // SKB_GSO_TCPV4 | SKB_GSO_TCPV6
			hdrMin += 20
		}
	}
	if hdrMin > hdrMax {
		hdrMin = hdrMax
	}
	L := int64(s.len)
	ceil := func(n int64) int64 {
		if n <= 0 {
			return 0
		}
		return (n + int64(gs) - 1) / int64(gs)
	}
	lo, hi := max(ceil(L-hdrMax), 1), max(ceil(L-hdrMin), 1)
	ev := map[string]any{"len": int64(s.len), "gso_size": int64(gs), "gso_segs": int64(segs), "gso_type": hex(gt),
		"header_bytes_min": hdrMin, "header_bytes_max": hdrMax, "segs_min": lo, "segs_max": hi}
	switch {
	case segs == 0:
		return []Finding{s.finding(CheckSKBGSO, SeverityInfo,
			fmt.Sprintf("gso_size is %d but gso_segs is 0: not filled in (some paths, UFO among them, leave it); ceil((len - headers) / gso_size) would give %s", gs, rangeText(lo, hi)), ev)}
	case int64(segs) < lo || int64(segs) > hi:
		return []Finding{s.finding(CheckSKBGSO, SeverityWarning,
			fmt.Sprintf("gso_segs is %d but len %d with gso_size %d makes %s segments (ceil((len - headers) / gso_size), headers %s bytes)",
				segs, s.len, gs, rangeText(lo, hi), rangeText(hdrMin, hdrMax)), ev)}
	}
	return nil
}

func rangeText(lo, hi int64) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// headerOffset reads a header field as an offset from head; false when the
// field is absent or unset (~0 in its width, or NULL as a pointer).
func (s *skbView) headerOffset(name string) (int64, bool) {
	raw, ok := s.v.Uint(name)
	if !ok || raw == 0xffff || raw == 0xffffffff {
		return 0, false
	}
	if s.layout == layoutPointers {
		switch {
		case raw == 0:
			return 0, false
		case raw < 0x10000 && raw < s.head:
			return int64(raw), true // a u16 offset (3.11+ on 32-bit)
		default:
			return int64(raw - s.head), true
		}
	}
	return int64(raw), true
}

func (s *skbView) checkCsum() []Finding {
	ip, ok := s.v.Uint("ip_summed")
	if !ok || ip != checksumPartial || !s.hasBuffer() {
		return nil
	}
	cs, ok1 := s.v.Uint("csum_start")
	co, ok2 := s.v.Uint("csum_offset")
	if !ok1 || !ok2 {
		return nil
	}
	ev := map[string]any{"ip_summed": int64(ip), "csum_start": int64(cs), "csum_offset": int64(co),
		"data_offset": s.dataOff, "tail": s.tailOff, "layout": s.layout.String()}
	if hl, ok := s.headlen(); ok {
		ev["headlen"] = hl
	}
	if th, ok := s.headerOffset("transport_header"); ok {
		ev["transport_header"] = th
	}
	if cs == 0 && co == 0 && s.dataOff > 0 {
		// Never set, not corrupt: TCP marks a segment CHECKSUM_PARTIAL
		// when it queues it and sets the offsets at transmit, on the
		// clone it sends (tcp_v4_send_check), so the original on the
		// write queue keeps zeros.
		return []Finding{s.finding(CheckSKBCsum, SeverityInfo,
			"CHECKSUM_PARTIAL with csum_start and csum_offset both 0: the offsets are not set yet, as on a segment still on TCP's write queue (they are set at transmit, on the clone sent)", ev)}
	}
	var bad []string
	if int64(cs) < s.dataOff {
		bad = append(bad, fmt.Sprintf("csum_start %d lies in the headroom, %d bytes before data (offset %d): the checksum would start outside the packet",
			cs, s.dataOff-int64(cs), s.dataOff))
	}
	if end := int64(cs + co + 2); end > s.tailOff {
		bad = append(bad, fmt.Sprintf("the checksum field at csum_start + csum_offset = %d + %d ends at %d, beyond tail %d: outside the linear area, where skb_checksum_help would BUG_ON(offset + sizeof(__sum16) > skb_headlen(skb))",
			cs, co, end, s.tailOff))
	}
	if len(bad) == 0 {
		return nil
	}
	return []Finding{s.finding(CheckSKBCsum, SeverityError, "CHECKSUM_PARTIAL, but "+strings.Join(bad, "; "), ev)}
}

func (s *skbView) checkHeaders() []Finding {
	if !s.hasHead || !s.hasEnd || s.head == 0 {
		return nil
	}
	ev := map[string]any{"end": s.endOff, "layout": s.layout.String()}
	var bad []string
	for _, h := range []string{"transport_header", "network_header", "mac_header"} {
		off, ok := s.headerOffset(h)
		if !ok {
			continue
		}
		ev[h] = off
		switch {
		case off < 0:
			bad = append(bad, fmt.Sprintf("%s lies %d bytes before head", h, -off))
		case off >= s.endOff:
			bad = append(bad, fmt.Sprintf("%s %d is at or beyond end %d", h, off, s.endOff))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return []Finding{s.finding(CheckSKBHeaders, SeverityError,
		"header offsets outside the buffer [0, end): "+strings.Join(bad, "; "), ev)}
}

func (s *skbView) checkTruesize() []Finding {
	ts, ok := s.v.Uint("truesize")
	if !ok || !s.hasLen || ts >= s.len {
		return nil
	}
	return []Finding{s.finding(CheckSKBTruesize, SeverityWarning,
		fmt.Sprintf("truesize %d is below len %d: the socket is charged for less memory than the packet holds (an accounting bug, or a corrupt len)", ts, s.len),
		map[string]any{"truesize": int64(ts), "len": int64(s.len)})}
}

// shinfoAlone checks a skb_shared_info no dumped sk_buff points at: what
// it says on its own (nr_frags, dataref).
func shinfoAlone(o *kobj.Object, env Env) []Finding {
	if o.Value == nil {
		return nil
	}
	env = norm(env)
	f, _, _ := nrFrags(o.Value, env)
	f = append(f, datarefFindings(o.Value)...)
	for i := range f {
		f[i].Object = o
	}
	return f
}
