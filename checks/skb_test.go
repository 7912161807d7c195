package checks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/kobj"
)

const rhel6 = "2.6.32-642.4.2.el6.x86_64"

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		ev, _ := json.Marshal(f.Evidence)
		fmt.Fprintf(&b, "  %s %s %s: %s\n    %s\n", f.Severity, f.Check, f.Object.Name(), f.Message(), ev)
	}
	return b.String()
}

func num(t *testing.T, ev map[string]any, key string) int64 {
	t.Helper()
	v, ok := ev[key]
	if !ok {
		t.Fatalf("evidence has no %q: %v", key, ev)
	}
	n, ok := v.(int64)
	if !ok {
		t.Fatalf("evidence %q is %T, not int64", key, v)
	}
	return n
}

// where returns the findings keep says yes to, in order.
func where(fs []Finding, keep func(Finding) bool) []Finding {
	var out []Finding
	for _, f := range fs {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func bySeverity(fs []Finding, sev Severity) []Finding {
	return where(fs, func(f Finding) bool { return f.Severity == sev })
}

func byCheck(fs []Finding, check string) []Finding {
	return where(fs, func(f Finding) bool { return f.Check == check })
}

func TestSeed(t *testing.T) {
	env := Env{
		Objects:     set(seedSKB(), seedShinfo()),
		Regs:        seedRegs(),
		Release:     rhel6,
		RIPFunction: "skb_checksum",
	}
	fs := Run(env)
	errs := bySeverity(fs, SeverityError)
	if len(errs) != 1 || len(bySeverity(fs, SeverityWarning)) != 0 {
		t.Fatalf("want exactly one error and no warning:\n%s", dump(fs))
	}
	f := errs[0]
	if f.Check != CheckSKBDataLen || f.Object.Name() != "sk_buff ffff880fe9624868" {
		t.Fatalf("error is %s on %s", f.Check, f.Object.Name())
	}
	for k, want := range map[string]int64{
		"len": 210, "data_len": 144, "nr_frags": 0, "paged_bytes": 0, "missing": 144, "headlen": 66,
		"walk_offset": 34, "walk_len": 176, "linear_supplies": 32, "paged_supplies": 0, "walk_left": 144,
		"stale_frags": 13,
	} {
		if got := num(t, f.Evidence, k); got != want {
			t.Errorf("evidence %s = %d, want %d", k, got, want)
		}
	}
	if f.Evidence["frag_list"] != "0x0" || f.Evidence["skb_shared_info"] != "0xffff881062d2dd80" {
		t.Errorf("evidence frag_list/skb_shared_info: %v", f.Evidence)
	}
	regs, _ := f.Evidence["registers"].(map[string]string)
	wantRegs := map[string]string{"RBX": "missing", "R12": "headlen", "R13": "headlen", "R8": "skb",
		"RAX": "skb_shared_info", "RDI": "tail_pointer", "R9": "tail_pointer"}
	if !reflect.DeepEqual(regs, wantRegs) {
		t.Errorf("registers = %v, want %v", regs, wantRegs)
	}
	for _, want := range []string{
		"data_len is 144 but skb_shared_info has nr_frags 0 and no frag_list: the 144 bytes of paged data do not exist",
		"skb_checksum_help asked for 176 bytes from offset 34, the linear area holds 32 of them, and __skb_checksum hit BUG_ON(len) with 144 left",
		"RBX = 0x90 = 144 is the missing byte count",
		"R12 = R13 = 0x42 = 66 is headlen",
		"R8 holds the skb",
		"RAX holds its skb_shared_info",
		"frags[0].size 64 lies beyond nr_frags 0: stale, not counted",
	} {
		if !strings.Contains(f.Message(), want) {
			t.Errorf("message lacks %q:\n%s", want, f.Message())
		}
	}
	stale := byCheck(fs, CheckSKBStaleFrags)
	if len(stale) != 1 || stale[0].Severity != SeverityInfo || !strings.Contains(stale[0].Message(), "frags[0] (page 0xffffea0038d05b58, offset 0, size 64)") {
		t.Errorf("stale frags:\n%s", dump(stale))
	}
	if len(NextSteps(env)) != 0 {
		t.Errorf("next steps with everything dumped: %v", NextSteps(env))
	}
	if _, err := json.Marshal(fs); err != nil {
		t.Error(err)
	}
}

// The verdict does not depend on the context: without registers, RIP or
// release the error stays, only the corroboration goes.
func TestSeedWithoutContext(t *testing.T) {
	for _, env := range []Env{
		{Objects: set(seedSKB(), seedShinfo())},
		{Objects: set(seedSKB(), seedShinfo()), RIPFunction: "skb_checksum+725", PtrSize: 8},
		{Objects: set(seedSKB(), seedShinfo()), RIPFunction: "tcp_sendmsg", Regs: seedRegs()},
	} {
		fs := SKB(seedSKB(), env)
		errs := bySeverity(fs, SeverityError)
		if len(errs) != 1 || errs[0].Check != CheckSKBDataLen || len(bySeverity(fs, SeverityWarning)) != 0 {
			t.Fatalf("%+v:\n%s", env, dump(fs))
		}
		ev := errs[0].Evidence
		if num(t, ev, "missing") != 144 {
			t.Error("missing")
		}
		_, mech := ev["walk_len"]
		if mech != (env.RIPFunction == "skb_checksum+725") {
			t.Errorf("RIP %q: mechanics %v:\n%s", env.RIPFunction, mech, errs[0].Message())
		}
		_, regs := ev["registers"]
		if regs != (env.Regs != nil) {
			t.Errorf("registers cited: %v", regs)
		}
		if ev["registers"] == nil && strings.Contains(errs[0].Message(), "registers") {
			t.Error(errs[0].Message())
		}
	}
}

func TestConsistent(t *testing.T) {
	linear := tcpSKB()
	linear.ipSummed = 0

	twoFrags, twoSh := withFrags(tcpSKB(), 1448, 1000)
	twoFrags.ipSummed = 0

	// A TSO write: CHECKSUM_PARTIAL, headers in the linear area, three
	// full segments in frags, a clone on its way to the device.
	tso, tsoSh := withFrags(tcpSKB(), 1448, 1448, 1448)
	tso.cloned, tso.fclone = 1, 2
	tsoSh.gsoSize, tsoSh.gsoSegs, tsoSh.gsoType = 1448, 3, 1
	tsoSh.dataref = 0x10002

	// A frag_list skb whose list is dumped.
	fl, flSh := withFrags(tcpSKB(), 1000)
	fl.ipSummed = 0
	fl.dataLen += 500
	fl.len += 500
	fl.truesize += 1000
	flSh.fragList = 0xffff8800aaaa0000
	member := skbSpec{addr: 0xffff8800aaaa0000, head: 0xffff8800bbbb0000, data: 0xffff8800bbbb0040,
		tail: 0x40 + 500, end: 640, len: 500, mac: 0xffff, network: 0xffff, transport: 0xffff, truesize: 1280}

	cases := []struct {
		name string
		objs []*kobj.Object
		env  Env
	}{
		{"linear only", []*kobj.Object{linear.object(), shSpec{dataref: 1, gsoSegs: 1}.object(linear.shinfoAddr())}, Env{Release: rhel6}},
		{"two frags", []*kobj.Object{twoFrags.object(), twoSh.object(twoFrags.shinfoAddr())}, Env{Release: rhel6}},
		{"checksum partial tso", []*kobj.Object{tso.object(), tsoSh.object(tso.shinfoAddr())}, Env{Release: rhel6, RIPFunction: "skb_checksum", Regs: seedRegs()}},
		{"frag_list dumped", []*kobj.Object{fl.object(), flSh.object(fl.shinfoAddr()), member.object(),
			shSpec{dataref: 1}.object(member.shinfoAddr())}, Env{Release: "4.18.0-305.el8.x86_64"}},
		{"bv_len frags, unknown release", []*kobj.Object{twoFrags.object(), func() *kobj.Object {
			sh := twoSh
			sh.sizeField = "bv_len"
			sh.slots = 17
			return sh.object(twoFrags.shinfoAddr())
		}()}, Env{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env.Objects = set(c.objs...)
			fs := Run(c.env)
			for _, f := range fs {
				if f.Severity != SeverityInfo {
					t.Fatalf("consistent skb got:\n%s", dump(fs))
				}
			}
			if ns := NextSteps(c.env); len(ns) != 0 {
				t.Errorf("next steps %v", ns)
			}
		})
	}
}

// Each case breaks one invariant: its check must fire with its severity,
// and no other check may call anything an error.
func TestViolations(t *testing.T) {
	base := func() (skbSpec, shSpec) { return withFrags(tcpSKB(), 1448) }
	cases := []struct {
		name    string
		mutate  func(*skbSpec, *shSpec)
		env     Env
		check   string
		sev     Severity
		message string
	}{
		{"len below data_len", func(sp *skbSpec, sh *shSpec) { sp.len = 100 }, Env{},
			CheckSKBLen, SeverityError, "len 100 is smaller than data_len 1448"},
		{"linear area disagrees", func(sp *skbSpec, sh *shSpec) { sp.len += 10; sp.truesize += 10 }, Env{},
			CheckSKBLinear, SeverityError, "len - data_len = 1524 - 1448 = 76, but the linear area holds tail - (data - head) = 320 - 254 = 66 bytes"},
		{"tail beyond end", func(sp *skbSpec, sh *shSpec) { sp.tail = 400; sp.len += 80 }, Env{},
			CheckSKBLayout, SeverityError, "tail (400) lies 16 bytes beyond end (384)"},
		{"data before head", func(sp *skbSpec, sh *shSpec) {
			sp.data = sp.head - 16
			sp.len += 270
			sp.mac, sp.network, sp.csumStart, sp.transport = 0, 14, 34, 34
		}, Env{}, CheckSKBLayout, SeverityError, "data lies 16 bytes before head"},
		{"frags short of data_len", func(sp *skbSpec, sh *shSpec) { sh.frags = []uint64{1000} }, Env{},
			CheckSKBDataLen, SeverityError, "data_len is 1448 but skb_shared_info's 1 frag holds 1000 bytes and there is no frag_list: 448 bytes of paged data do not exist"},
		{"frags beyond data_len", func(sp *skbSpec, sh *shSpec) { sh.frags = []uint64{1448, 100}; sh.nrFrags = 2 }, Env{},
			CheckSKBDataLen, SeverityError, "100 bytes more than data_len"},
		{"frag_list not dumped", func(sp *skbSpec, sh *shSpec) { sh.fragList = 0xffff8800cccc0000; sh.frags = []uint64{1000} }, Env{},
			CheckSKBDataLen, SeverityWarning, "must hold the other 448 bytes, but they are not dumped (sk_buff ffff8800cccc0000)"},
		{"nr_frags beyond 2.6.32's 18", func(sp *skbSpec, sh *shSpec) { sh.nrFrags = 19 }, Env{Release: rhel6},
			CheckSKBNrFrags, SeverityError, "nr_frags 19 exceeds MAX_SKB_FRAGS 18"},
		{"nr_frags 18 on a 17 kernel", func(sp *skbSpec, sh *shSpec) {
			sh.nrFrags = 18
			sh.frags = []uint64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
			sp.dataLen, sp.len, sp.truesize = 1800, 1866, 4096
		}, Env{Release: "3.10.0-1160.el7.x86_64"}, CheckSKBNrFrags, SeverityError, "nr_frags 18 exceeds MAX_SKB_FRAGS 17"},
		{"nr_frags 18, release unknown", func(sp *skbSpec, sh *shSpec) {
			sh.nrFrags = 18
			sh.frags = []uint64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
			sp.dataLen, sp.len, sp.truesize = 1800, 1866, 4096
		}, Env{}, CheckSKBNrFrags, SeverityInfo, "release unknown: assumed 65536/PAGE_SIZE + 2 = 18"},
		{"nr_frags 20 on 6.8", func(sp *skbSpec, sh *shSpec) {
			sh.nrFrags = 20
			sh.slots = 45
			sh.frags = make([]uint64, 20)
			for i := range sh.frags {
				sh.frags[i] = 100
			}
			sp.dataLen, sp.len, sp.truesize = 2000, 2066, 4096
		}, Env{Release: "6.8.0-45-generic"}, CheckSKBNrFrags, SeverityWarning, "CONFIG_MAX_SKB_FRAGS"},
		{"csum field beyond tail", func(sp *skbSpec, sh *shSpec) { sp.csumStart = 310 }, Env{},
			CheckSKBCsum, SeverityError, "csum_start + csum_offset = 310 + 16 ends at 328, beyond tail 320"},
		{"csum_start in headroom", func(sp *skbSpec, sh *shSpec) { sp.csumStart = 200 }, Env{},
			CheckSKBCsum, SeverityError, "csum_start 200 lies in the headroom, 54 bytes before data"},
		{"csum offsets not set yet (TCP write queue)", func(sp *skbSpec, sh *shSpec) { sp.csumStart, sp.csumOffset = 0, 0 }, Env{},
			CheckSKBCsum, SeverityInfo, "the offsets are not set yet"},
		{"network header beyond end", func(sp *skbSpec, sh *shSpec) { sp.network = 500 }, Env{},
			CheckSKBHeaders, SeverityError, "network_header 500 is at or beyond end 384"},
		{"truesize below len", func(sp *skbSpec, sh *shSpec) { sp.truesize = 1000 }, Env{},
			CheckSKBTruesize, SeverityWarning, "truesize 1000 is below len 1514"},
		{"payload refs above data refs", func(sp *skbSpec, sh *shSpec) { sh.dataref = 0x20001 }, Env{},
			CheckSKBDataref, SeverityError, "counts 2 payload-only references but only 1 references to the whole data"},
		{"dataref zero", func(sp *skbSpec, sh *shSpec) { sh.dataref = 0 }, Env{},
			CheckSKBDataref, SeverityWarning, "dataref is 0"},
		{"cloned with one reference", func(sp *skbSpec, sh *shSpec) { sp.cloned = 1 }, Env{},
			CheckSKBDataref, SeverityInfo, "cloned is set but dataref counts a single reference"},
		{"gso_segs wrong", func(sp *skbSpec, sh *shSpec) {
			sh.frags = []uint64{1448, 1448, 1448}
			sh.nrFrags = 3
			sp.dataLen, sp.len, sp.truesize = 4344, 4410, 8192
			sh.gsoSize, sh.gsoSegs, sh.gsoType = 1448, 7, 1
		}, Env{}, CheckSKBGSO, SeverityWarning, "gso_segs is 7 but len 4410 with gso_size 1448 makes 3 to 4 segments (ceil((len - headers) / gso_size), headers 54 to 66 bytes)"},
		{"gso_segs unset", func(sp *skbSpec, sh *shSpec) { sh.gsoSize, sh.gsoSegs = 1448, 0 }, Env{},
			CheckSKBGSO, SeverityInfo, "gso_segs is 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, sh := base()
			c.mutate(&sp, &sh)
			c.env.Objects = set(sp.object(), sh.object(sp.shinfoAddr()))
			fs := Run(c.env)
			var hit *Finding
			for i, f := range fs {
				if f.Check == c.check && f.Severity == c.sev {
					hit = &fs[i]
				}
				if f.Severity == SeverityError && f.Check != c.check {
					t.Errorf("other error %s:\n%s", f.Check, dump(fs))
				}
			}
			if hit == nil {
				t.Fatalf("no %s %s:\n%s", c.sev, c.check, dump(fs))
			}
			if !strings.Contains(hit.Message(), c.message) {
				t.Errorf("message lacks %q:\n%s", c.message, hit.Message())
			}
			if hit.Object.Name() != fmt.Sprintf("sk_buff %x", sp.addr) {
				t.Errorf("object %s", hit.Object.Name())
			}
		})
	}
}

// 32-bit kernels keep tail, end and (before 3.11) the headers as pointers.
func Test32Bit(t *testing.T) {
	mk := func() (skbSpec, shSpec) {
		sp := skbSpec{addr: 0xf3a1c0c0, head: 0xf5e0a800, data: 0xf5e0a800 + 64,
			tail: 64 + 54, end: 192, ipSummed: 3, csumStart: 64 + 34, csumOffset: 16,
			mac: 64, network: 78, transport: 98, truesize: 1024, ptr32: true}
		sp, sh := withFrags(sp, 500)
		sh.pageBase = 0xc1a00000
		return sp, sh
	}
	for _, env := range []Env{{PtrSize: 4}, {Release: "2.6.32-642.el6.i686"}, {}} {
		sp, sh := mk()
		objs := set(sp.object(), sh.object(sp.shinfoAddr()))
		env.Objects = objs
		fs := Run(env)
		if len(bySeverity(fs, SeverityError))+len(bySeverity(fs, SeverityWarning)) != 0 {
			t.Errorf("%+v consistent 32-bit skb:\n%s", env, dump(fs))
		}
	}

	// Inconsistent: data_len counts a frag that is gone.
	sp, sh := mk()
	sh.frags, sh.nrFrags, sh.stale = nil, 0, []uint64{500}
	env := Env{Objects: set(sp.object(), sh.object(sp.shinfoAddr())), RIPFunction: "skb_checksum",
		Regs: map[string]uint64{"EAX": sp.shinfoAddr(), "EBX": 500, "ECX": 54}}
	fs := Run(env)
	errs := bySeverity(fs, SeverityError)
	if len(errs) != 1 || errs[0].Check != CheckSKBDataLen {
		t.Fatalf("32-bit inconsistent:\n%s", dump(fs))
	}
	ev := errs[0].Evidence
	if num(t, ev, "missing") != 500 || num(t, ev, "walk_offset") != 34 || num(t, ev, "walk_len") != 520 ||
		num(t, ev, "linear_supplies") != 20 {
		t.Errorf("32-bit arithmetic:\n%s", dump(errs))
	}
	if !strings.Contains(errs[0].Message(), "EBX = 0x1f4 = 500 is the missing byte count") ||
		!strings.Contains(errs[0].Message(), "ECX = 0x36 = 54 is headlen") {
		t.Errorf("32-bit registers:\n%s", errs[0].Message())
	}
	if !strings.Contains(errs[0].Message(), "frags[0].size 500 lies beyond nr_frags 0") {
		t.Errorf("32-bit stale frag:\n%s", errs[0].Message())
	}
	// Layout evidence says pointers.
	sp.tail += 8
	fs = SKB(sp.object(), Env{Objects: set(sh.object(sp.shinfoAddr()))})
	var lin []Finding
	for _, f := range fs {
		if f.Evidence["layout"] == "pointers" && f.Check == CheckSKBLinear {
			lin = append(lin, f)
		}
	}
	if len(lin) != 1 || !strings.Contains(lin[0].Message(), "tail - data = 0xf5e0a87e - 0xf5e0a840 = 62") {
		t.Errorf("32-bit linear:\n%s", dump(fs))
	}
}

func TestShinfoMissing(t *testing.T) {
	env := Env{Objects: set(seedSKB()), Release: rhel6, RIPFunction: "skb_checksum", Regs: seedRegs()}
	fs := Run(env)
	if len(byCheck(fs, CheckSKBDataLen)) != 0 || len(bySeverity(fs, SeverityError)) != 0 {
		t.Fatalf("verdict without skb_shared_info:\n%s", dump(fs))
	}
	miss := byCheck(fs, CheckSKBShinfoMissing)
	if len(miss) != 1 || miss[0].Severity != SeverityInfo ||
		!strings.Contains(miss[0].Message(), "head + end = 0xffff881062d2dc00 + 384 = 0xffff881062d2dd80") ||
		miss[0].Evidence["skb_shared_info"] != "0xffff881062d2dd80" {
		t.Errorf("missing info:\n%s", dump(fs))
	}
	if got, want := NextSteps(env), []string{"skb_shared_info ffff881062d2dd80"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NextSteps = %v, want %v", got, want)
	}

	// A frag_list that was not dumped asks for its first skb.
	sp, sh := withFrags(tcpSKB(), 1000)
	sh.fragList = 0xffff8800cccc0000
	sp.dataLen += 200
	sp.len += 200
	env = Env{Objects: set(sp.object(), sh.object(sp.shinfoAddr()))}
	if got, want := NextSteps(env), []string{"sk_buff ffff8800cccc0000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NextSteps = %v, want %v", got, want)
	}

	// A grep'd paste without head asks for the whole skb.
	partial := &kobj.Object{Type: "sk_buff", Addr: seedSKBAddr, Value: vst(fld("len", vi(210)), fld("data_len", vi(144)))}
	env = Env{Objects: set(partial)}
	if got, want := NextSteps(env), []string{"sk_buff ffff880fe9624868"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NextSteps = %v, want %v", got, want)
	}
	if fs := Run(env); len(fs) != 0 {
		t.Errorf("partial skb:\n%s", dump(fs))
	}
}

// A skb_shared_info dumped without its skb is still checked on its own.
func TestShinfoAlone(t *testing.T) {
	sh := shSpec{dataref: 0x30001, nrFrags: 40}
	fs := Run(Env{Objects: set(sh.object(0xffff881062d2dd80)), Release: rhel6})
	if len(fs) != 2 || fs[0].Check != CheckSKBNrFrags || fs[1].Check != CheckSKBDataref ||
		fs[0].Object.Name() != "skb_shared_info ffff881062d2dd80" {
		t.Errorf("shinfo alone:\n%s", dump(fs))
	}
}

func TestMaxFrags(t *testing.T) {
	cases := []struct {
		rel       string
		page      int
		max, hard int
		assumed   bool
	}{
		{"2.6.32-642.4.2.el6.x86_64", 4096, 18, 18, false},
		{"2.6.32-642.4.2.el6.ppc64", 65536, 16, 16, false},
		{"3.2.0-4-amd64", 4096, 18, 18, true},
		{"3.10.0-1160.el7.x86_64", 4096, 17, 17, false},
		{"4.18.0-305.el8.aarch64", 65536, 16, 16, false},
		{"6.1.0-13-amd64", 4096, 17, 17, false},
		{"6.8.0-45-generic", 4096, 17, 45, false},
		{"", 4096, 18, 18, true},
		{"garbage", 4096, 18, 18, true},
	}
	for _, c := range cases {
		m := skbMaxFrags(c.rel, c.page)
		if m.max != c.max || m.hard != c.hard || m.assumed != c.assumed {
			t.Errorf("%q/%d: %+v", c.rel, c.page, m)
		}
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[string]string{"skb_checksum+725": "skb_checksum", "__skb_checksum.isra.3": "__skb_checksum",
		"skb_copy_bits": "skb_copy_bits", " skb_checksum ": "skb_checksum"} {
		if got := baseFunction(in); got != want {
			t.Errorf("baseFunction(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]int{"2.6.32-642.4.2.el6.x86_64": 64, "3.16.0-4-686-pae": 32, "2.6.32-642.el6.i686": 32, "5.10.0": 0} {
		if got := releaseBits(in); got != want {
			t.Errorf("releaseBits(%q) = %d", in, got)
		}
	}
	if Run(Env{}) != nil || NextSteps(Env{}) != nil || SKB(nil, Env{}) != nil {
		t.Error("nil objects")
	}
}
