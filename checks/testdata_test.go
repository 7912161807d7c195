package checks

import "github.com/ktriage/ktriage/kobj"

// Constructors for the objects the tests check: the seed's sk_buff and
// skb_shared_info exactly as crash(8) printed them
// (../shared/seed/000_3286c7f043f8c294.txt), and specs for made-up skbs.

func vi(n uint64) *kobj.Value { return &kobj.Value{Kind: kobj.Int, Num: n} }
func vp(n uint64) *kobj.Value { return &kobj.Value{Kind: kobj.Pointer, Num: n} }
func vsym(n uint64, sym string) *kobj.Value {
	return &kobj.Value{Kind: kobj.Pointer, Num: n, Symbol: sym}
}
func vstr(n uint64, s string) *kobj.Value { return &kobj.Value{Kind: kobj.Pointer, Num: n, Str: s} }
func fld(name string, v *kobj.Value) kobj.Field {
	return kobj.Field{Name: name, Value: v}
}
func vst(fs ...kobj.Field) *kobj.Value   { return &kobj.Value{Kind: kobj.Struct, Fields: fs} }
func varr(es ...*kobj.Value) *kobj.Value { return &kobj.Value{Kind: kobj.Array, Elems: es} }

const (
	seedSKBAddr    = 0xffff880fe9624868
	seedHead       = 0xffff881062d2dc00
	seedShinfoAddr = 0xffff881062d2dd80
)

// seedRegs is the exception frame of the seed's `bt`.
func seedRegs() map[string]uint64 {
	return map[string]uint64{
		"RIP": 0xffffffff81451ff5, "RSP": 0xffff880061a034d0, "RFLAGS": 0x00010206,
		"RAX": 0xffff881062d2dd80, "RBX": 0x90, "RCX": 0xff2a5251,
		"RDX": 0x180, "RSI": 0, "RDI": 0xffff881062d2dd40,
		"RBP": 0xffff880061a03530, "R8": 0xffff880fe9624868, "R9": 0xffff881062d2dd40,
		"R10": 0x20, "R11": 0x3, "R12": 0x42,
		"R13": 0x42, "R14": 0, "R15": 0xffffffffa014a580,
		"ORIG_RAX": 0xffffffffffffffff, "CS": 0x10, "SS": 0x18,
	}
}

// seedSKB is `sk_buff ffff880fe9624868` from the seed, field for field.
func seedSKB() *kobj.Object {
	v := vst(
		fld("next", vp(0)),
		fld("prev", vp(0)),
		fld("sk", vp(0xffff881063a669c0)),
		fld("tstamp", vst(fld("tv64", vi(1445352847620836094)))),
		fld("dev", vp(0xffff881068560020)),
		fld("_skb_dst", vi(18446612200945595328)),
		fld("sp", vp(0)),
		fld("cb", &kobj.Value{Kind: kobj.String, Str: "\x00"}),
		fld("len", vi(210)),
		fld("data_len", vi(144)),
		fld("mac_len", vi(0)),
		fld("hdr_len", vi(320)),
		fld("", vst(
			fld("csum", vi(1048864)),
			fld("", vst(fld("csum_start", vi(288)), fld("csum_offset", vi(16)))),
		)),
		fld("priority", vi(0)),
		fld("flags1_begin", vp(0xffff880fe96248e4)),
		fld("local_df", vi(0)),
		fld("cloned", vi(1)),
		fld("ip_summed", vi(3)),
		fld("nohdr", vi(0)),
		fld("nfctinfo", vi(0)),
		fld("pkt_type", vi(0)),
		fld("fclone", vi(2)),
		fld("ipvs_property", vi(0)),
		fld("peeked", vi(1)),
		fld("nf_trace", vi(0)),
		fld("protocol", vi(8)),
		fld("flags1_end", vp(0xffff880fe96248e8)),
		fld("destructor", vsym(0xffffffff814b3ed0, "tcp_wfree")),
		fld("nfct", vp(0)),
		fld("nfct_reasm", vp(0)),
		fld("nf_bridge", vp(0)),
		fld("iif", vi(0)),
		fld("tc_index", vi(0)),
		fld("tc_verd", vi(8192)),
		fld("flags2_begin", vp(0xffff880fe9624910)),
		fld("queue_mapping", vi(5)),
		fld("ndisc_nodetype", vi(1)),
		fld("__RH_UNUSED", vi(0)),
		fld("ooo_okay", vi(0)),
		fld("encapsulation", vi(0)),
		fld("flags2_end", vp(0xffff880fe9624914)),
		fld("", vst(fld("napi_id", vi(0)), fld("dma_cookie", vi(0)))),
		fld("secmark", vi(0)),
		fld("", vst(fld("mark", vi(0)), fld("dropcount", vi(0)))),
		fld("vlan_tci", vi(0)),
		fld("rxhash", vi(0)),
		fld("transport_header", vi(288)),
		fld("network_header", vi(268)),
		fld("mac_header", vi(4294967295)),
		fld("tail", vi(320)),
		fld("end", vi(384)),
		fld("head", vstr(seedHead, "")),
		fld("data", vstr(0xffff881062d2dcfe, "")),
		fld("truesize", vi(856)),
		fld("users", vst(fld("counter", vi(1)))),
	)
	return &kobj.Object{Type: "sk_buff", Addr: seedSKBAddr, Value: v, Source: "seed"}
}

// seedFrag is one 2.6.32 skb_frag_t.
func seedFrag(page, off, size uint64) *kobj.Value {
	return vst(fld("page", vp(page)), fld("page_offset", vi(off)), fld("size", vi(size)))
}

// seedShinfo is `skb_shared_info ffff881062d2dd80` from the seed.
func seedShinfo() *kobj.Object {
	v := vst(
		fld("dataref", vst(fld("counter", vi(65538)))),
		fld("nr_frags", vi(0)),
		fld("gso_size", vi(0)),
		fld("gso_segs", vi(1)),
		fld("gso_type", vi(0)),
		fld("ip6_frag_id", vi(0)),
		fld("tx_flags", vst(
			fld("", vst(fld("hardware", vi(0)), fld("software", vi(0)), fld("in_progress", vi(0)),
				fld("reserved", vi(0)), fld("dev_zerocopy", vi(0)), fld("shared_frag", vi(0)))),
			fld("flags", vi(0)),
		)),
		fld("frag_list", vp(0)),
		fld("hwtstamps", vst(
			fld("hwtstamp", vst(fld("tv64", vi(0)))),
			fld("syststamp", vst(fld("tv64", vi(0)))),
		)),
		fld("frags", varr(
			seedFrag(0xffffea0038d05b58, 0, 64),
			seedFrag(0x24, 1657986776, 4294936592),
			seedFrag(0xffffffffa01def70, 0, 0),
			seedFrag(0x0, 2686314640, 4294967295),
			seedFrag(0xffff881062d2dcc8, 4205894280, 4294936591),
			seedFrag(0x600000000, 0, 0),
			seedFrag(0x0, 1657986352, 4294936592),
			seedFrag(0xffff881062d2dd40, 1457633567, 1820893016),
			seedFrag(0x98da4b7d16a72354, 0, 4096),
			seedFrag(0x6060972fa5c0a4, 2443502653, 201326592),
			seedFrag(0x0, 0, 0),
			seedFrag(0x0, 0, 0),
			seedFrag(0xffffea00393fe030, 50, 304),
			seedFrag(0xffff8809e505fdc0, 0, 4294936588),
			seedFrag(0xc5df21e59cece0e9, 401553718, 2699719059),
			seedFrag(0x0, 1740561163, 533550841),
			seedFrag(0x5000000ef1ef3d7, 906265306, 4294961664),
			seedFrag(0x800000ce0, 0, 0),
		)),
		fld("destructor_arg", vp(0)),
	)
	return &kobj.Object{Type: "skb_shared_info", Addr: seedShinfoAddr, Value: v, Source: "seed"}
}

func set(objs ...*kobj.Object) *kobj.Set {
	s := &kobj.Set{}
	for _, o := range objs {
		s.Add(o)
	}
	return s
}

// skbSpec describes a made-up sk_buff; tail, end and the headers are
// offsets from head, converted to pointers when ptr32 is set.
type skbSpec struct {
	addr, head, data         uint64
	tail, end                uint64
	len, dataLen             uint64
	ipSummed                 uint64
	csumStart, csumOffset    uint64
	transport, network, mac  uint64 // offsets; 0xffff = unset (NULL when ptr32)
	truesize, cloned, fclone uint64
	next                     uint64
	ptr32                    bool
}

// shSpec describes its skb_shared_info.
type shSpec struct {
	dataref                   uint64
	nrFrags                   uint64
	gsoSize, gsoSegs, gsoType uint64
	fragList                  uint64
	frags                     []uint64 // sizes of the frags in use
	stale                     []uint64 // sizes of slots beyond nr_frags
	slots                     int      // length of frags[]; 0 = 18
	sizeField                 string   // "size" unless set ("bv_len" for 5.x)
	pageBase                  uint64
}

// tcpSKB is a consistent 64-bit TCP transmit skb in the seed's shape, the
// bytes put where the spec says: headroom 254, Ethernet+IPv4+TCP with
// timestamps = 66 bytes of headers, payload in frags.
func tcpSKB() skbSpec {
	return skbSpec{
		addr: 0xffff880012340000, head: 0xffff880056780000, data: 0xffff880056780000 + 254,
		tail: 320, end: 384, len: 66, dataLen: 0, ipSummed: 3, csumStart: 288, csumOffset: 16,
		transport: 288, network: 268, mac: 254, truesize: 856, cloned: 0,
	}
}

func (sp skbSpec) shinfoAddr() uint64 { return sp.head + sp.end }

func (sp skbSpec) object() *kobj.Object {
	hdr := func(off uint64) *kobj.Value {
		if sp.ptr32 {
			if off == 0xffff {
				return vp(0)
			}
			return vp(sp.head + off)
		}
		return vi(off)
	}
	pos := func(off uint64) *kobj.Value {
		if sp.ptr32 {
			return vp(sp.head + off)
		}
		return vi(off)
	}
	fs := []kobj.Field{
		fld("next", vp(sp.next)),
		fld("prev", vp(0)),
		fld("len", vi(sp.len)),
		fld("data_len", vi(sp.dataLen)),
		fld("", vst(
			fld("csum", vi(sp.csumOffset<<16|sp.csumStart)),
			fld("", vst(fld("csum_start", vi(sp.csumStart)), fld("csum_offset", vi(sp.csumOffset)))),
		)),
		fld("cloned", vi(sp.cloned)),
		fld("ip_summed", vi(sp.ipSummed)),
		fld("fclone", vi(sp.fclone)),
		fld("transport_header", hdr(sp.transport)),
		fld("network_header", hdr(sp.network)),
		fld("mac_header", hdr(sp.mac)),
	}
	fs = append(fs,
		fld("tail", pos(sp.tail)),
		fld("end", pos(sp.end)),
		fld("head", vstr(sp.head, "")),
		fld("data", vstr(sp.data, "")),
		fld("truesize", vi(sp.truesize)),
		fld("users", vst(fld("counter", vi(1)))),
	)
	return &kobj.Object{Type: "sk_buff", Addr: sp.addr, Value: vst(fs...)}
}

func (sh shSpec) object(addr uint64) *kobj.Object {
	slots := sh.slots
	if slots == 0 {
		slots = 18
	}
	sizeField := sh.sizeField
	if sizeField == "" {
		sizeField = "size"
	}
	base := sh.pageBase
	if base == 0 {
		base = 0xffffea0000100000
	}
	var es []*kobj.Value
	for i := 0; i < slots; i++ {
		var size, page uint64
		switch {
		case i < len(sh.frags):
			size, page = sh.frags[i], base+uint64(i)*0x38
		case i-len(sh.frags) < len(sh.stale):
			size, page = sh.stale[i-len(sh.frags)], base+uint64(i)*0x38
		}
		es = append(es, vst(fld("page", vp(page)), fld("page_offset", vi(0)), fld(sizeField, vi(size))))
	}
	fs := []kobj.Field{
		fld("dataref", vst(fld("counter", vi(sh.dataref)))),
		fld("nr_frags", vi(sh.nrFrags)),
		fld("gso_size", vi(sh.gsoSize)),
		fld("gso_segs", vi(sh.gsoSegs)),
		fld("gso_type", vi(sh.gsoType)),
		fld("frag_list", vp(sh.fragList)),
		fld("frags", varr(es...)),
	}
	return &kobj.Object{Type: "skb_shared_info", Addr: addr, Value: vst(fs...)}
}

// withFrags makes sp carry n frags of the given sizes after its linear part.
func withFrags(sp skbSpec, sizes ...uint64) (skbSpec, shSpec) {
	var sum uint64
	for _, s := range sizes {
		sum += s
	}
	sp.dataLen = sum
	sp.len = (sp.tail - (sp.data - sp.head)) + sum
	sp.truesize = sp.end + 256 + sum
	return sp, shSpec{dataref: 1, nrFrags: uint64(len(sizes)), gsoSegs: 1, frags: sizes}
}
