package crashlog

import (
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kobj"
)

// checkStructInvariants states what must hold of the dumps, reads, results
// and instructions of any Session, whatever the input.
func checkStructInvariants(t *testing.T, s *Session) {
	t.Helper()
	if len(s.Dumps) > MaxDumps || len(s.Reads) > MaxReads || len(s.Evals) > MaxEvals ||
		len(s.Disasm) > MaxInsns || len(s.StackWords) > MaxStackWords {
		t.Fatalf("over the limits: %d dumps, %d reads, %d evals, %d insns, %d words",
			len(s.Dumps), len(s.Reads), len(s.Evals), len(s.Disasm), len(s.StackWords))
	}
	in := map[*kobj.Object]bool{}
	for i, d := range s.Dumps {
		if d.Object == nil || d.Object.Value == nil || d.Object.Value.Kind != kobj.Struct {
			t.Fatalf("dump %d has no struct value: %+v", i, d)
		}
		if d.Span.Start < 1 || d.Span.Start > d.Span.End {
			t.Fatalf("dump %d span %+v", i, d.Span)
		}
		if i > 0 && d.Span.Start < s.Dumps[i-1].Span.Start {
			t.Fatalf("dump %d out of order", i)
		}
		if d.Truncated && !d.Partial || d.Filtered && !d.Partial {
			t.Fatalf("dump %d truncated or filtered but not partial: %+v", i, d)
		}
		if (d.Object.Addr == 0 || d.Object.Type == "") && d.Note == "" {
			t.Fatalf("dump %d: unknown address or type without a note", i)
		}
		if n := countValues(d.Object.Value, 0); n > MaxDumpValues+1 {
			t.Fatalf("dump %d has %d values", i, n)
		}
		in[d.Object] = true
	}
	for _, o := range s.Objects.All() {
		if !in[o] {
			t.Fatalf("object %s not among the dumps", o.Name())
		}
	}
	for _, o := range s.Partial {
		if !in[o] {
			t.Fatalf("partial %s not among the dumps", o.Name())
		}
		if o.Addr != 0 && o.Type != "" && s.Objects.Find(o.Type, o.Addr) != nil {
			t.Fatalf("partial %s kept beside its full dump", o.Name())
		}
	}
	for _, r := range s.Reads {
		if len(r.Words) == 0 || r.Size == 0 || r.Symbols != nil && len(r.Symbols) != len(r.Words) {
			t.Fatalf("bad read %+v", r)
		}
	}
	for _, e := range s.Evals {
		if e.Value == nil {
			t.Fatalf("eval without value at line %d", e.Line)
		}
	}
}

// countValues counts the values in v, bounding the walk by depth.
func countValues(v *kobj.Value, depth int) int {
	if v == nil || depth > MaxDumpDepth+2 {
		return 0
	}
	n := 1
	for _, f := range v.Fields {
		n += countValues(f.Value, depth+1)
	}
	seen := map[*kobj.Value]bool{}
	for _, e := range v.Elems {
		if !seen[e] { // repeats share one value
			seen[e] = true
			n += countValues(e, depth+1)
		}
	}
	return n
}

func scanStruct(t *testing.T, text string) *Session {
	t.Helper()
	s := scanAllVariants(t, text)
	checkStructInvariants(t, s)
	return s
}

func object(t *testing.T, s *Session, typ string, addr uint64) *kobj.Value {
	t.Helper()
	o := s.Objects.Find(typ, addr)
	if o == nil {
		var have []string
		for _, d := range s.Dumps {
			have = append(have, d.Object.Name())
		}
		t.Fatalf("no full %s %x; dumps: %v", typ, addr, have)
	}
	return o.Value
}

// wantNums checks members by path: numbers (integers and pointers).
func wantNums(t *testing.T, what string, v *kobj.Value, want map[string]uint64) {
	t.Helper()
	for path, w := range want {
		got, ok := v.Uint(path)
		if !ok || got != w {
			m, _ := v.Get(path)
			t.Errorf("%s %s = %d (%v), want %d; value %+v", what, path, got, ok, w, m)
		}
	}
}

func TestSeedDumps(t *testing.T) {
	sess := seedSession(t)

	skb := object(t, sess, "sk_buff", 0xffff880fe9624868)
	wantNums(t, "sk_buff", skb, map[string]uint64{
		"len": 210, "data_len": 144, "csum_start": 288, "csum_offset": 16, "csum": 1048864,
		"ip_summed": 3, "cloned": 1, "head": 0xffff881062d2dc00, "data": 0xffff881062d2dcfe,
		"tail": 320, "end": 384, "sk": 0xffff881063a669c0, "users.counter": 1, "truesize": 856,
		"mac_header": 4294967295, "tstamp.tv64": 1445352847620836094, "next": 0,
		"destructor": 0xffffffff814b3ed0, "_skb_dst": 18446612200945595328,
	})
	if d, _ := skb.Get("destructor"); d.Kind != kobj.Pointer || d.Symbol != "tcp_wfree" {
		t.Errorf("destructor = %+v", d)
	}
	if h, _ := skb.Get("head"); h.Str != "" || h.Raw != `0xffff881062d2dc00 ""` {
		t.Errorf("head = %+v", h)
	}
	if c, _ := skb.Get("cloned"); c.Kind != kobj.Int || c.Raw != `1 '\001'` {
		t.Errorf("cloned = %+v", c)
	}
	if cb, _ := skb.Get("cb"); cb.Kind != kobj.String || !strings.HasPrefix(cb.Str, strings.Repeat("\x00", 24)+"XXX\x00") {
		t.Errorf("cb = %q", cb.Str)
	}
	if skb.Type != "struct sk_buff" {
		t.Errorf("sk_buff type %q", skb.Type)
	}
	// csum_start is inside an anonymous union, itself inside another.
	var anon int
	for _, f := range skb.Fields {
		if f.Name == "" {
			anon++
		}
	}
	if anon != 3 {
		t.Errorf("sk_buff has %d anonymous members, want 3", anon)
	}

	sh := object(t, sess, "skb_shared_info", 0xffff881062d2dd80)
	wantNums(t, "skb_shared_info", sh, map[string]uint64{
		"nr_frags": 0, "frag_list": 0, "dataref.counter": 65538, "gso_segs": 1,
		"frags.0.size": 64, "frags.0.page": 0xffffea0038d05b58, "frags.17.page": 0x800000ce0,
		"frags.1.page_offset": 1657986776, "tx_flags.hardware": 0, "tx_flags.flags": 0,
		"hwtstamps.syststamp.tv64": 0, "destructor_arg": 0,
	})
	if f, _ := sh.Get("frags"); f.Kind != kobj.Array || len(f.Elems) != 18 {
		t.Errorf("frags = %v with %d elements, want an array of 18", f.Kind, len(f.Elems))
	}

	// The grep'd views of the same sk_buff are dumps, but neither replace
	// the full one nor stand as partial objects beside it.
	var filtered []string
	for _, d := range sess.Dumps {
		if d.Filtered {
			filtered = append(filtered, d.Command)
			if !d.Partial || d.Object.Addr != 0xffff880fe9624868 || d.Object.Type != "sk_buff" {
				t.Errorf("filtered dump %+v", d)
			}
		}
	}
	want := []string{"sk_buff ffff880fe9624868|grep len", "sk_buff ffff880fe9624868|grep head", "sk_buff ffff880fe9624868|grep end"}
	if strings.Join(filtered, ";") != strings.Join(want, ";") {
		t.Errorf("filtered dumps %q, want %q", filtered, want)
	}
	if len(sess.Partial) != 0 || len(sess.Objects.All()) != 2 || len(sess.Dumps) != 5 {
		t.Errorf("%d objects, %d partial, %d dumps; want 2, 0, 5", len(sess.Objects.All()), len(sess.Partial), len(sess.Dumps))
	}
	lines := strings.Split(readShared(t, testshared.Seed), "\n")
	o := sess.Objects.Find("sk_buff", 0xffff880fe9624868)
	if o.Source != "line 229-301" || lines[228] != "struct sk_buff {" || lines[300] != "}" {
		t.Errorf("sk_buff source %q", o.Source)
	}
	if g := sess.Dumps[1]; g.Span != (Span{330, 333}) || !g.Object.Value.Has("data_len") || g.Object.Value.Has("len ") {
		t.Errorf("grep len dump %+v", g)
	}
}

func TestStructTranscripts(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, s *Session)
	}{
		{"struct_stripped.txt", func(t *testing.T, s *Session) {
			v := object(t, s, "sk_buff", 0xffff9c2e4b1f3e00)
			wantNums(t, "sk_buff", v, map[string]uint64{
				"len": 210, "data_len": 144, "dev": 0xffff9c2e41a8c000, "rbnode.rb_left": 0xffff9c2e41a8c000,
				"list.next": 0, "sk": 0xffff9c2e4f2a1180, "csum_start": 0x32, "csum_offset": 16,
				"ip_summed": 3, "users.refs.counter": 1, "end": 0x140, "head": 0xffff9c2e5a3c8000,
				"__cloned_offset": 0xffff9c2e4b1f3e7e, "extensions": 0,
			})
			if d, _ := v.Get("destructor"); d.Symbol != "tcp_wfree" {
				t.Errorf("destructor %+v", d)
			}
			if cb, _ := v.Get("cb"); len(cb.Str) != 48 || cb.Str[4] != '(' || cb.Str[8] != 0x10 {
				t.Errorf("cb = %q", cb.Str)
			}
			if v.Fields[0].Name != "" || v.Fields[0].Value.Fields[0].Name != "" {
				t.Errorf("first members should be anonymous: %+v", v.Fields[0])
			}
		}},
		{"struct_crlf.txt", func(t *testing.T, s *Session) {
			v := object(t, s, "skb_shared_info", 0xffff9c2e5a3c8140)
			wantNums(t, "skb_shared_info", v, map[string]uint64{
				"nr_frags": 2, "gso_size": 1448, "dataref.counter": 1, "frags.0.bv_len": 1448,
				"frags.1.bv_page": 0xffffe4d4c12a3b80, "frags.16.bv_page": 0, "hwtstamps.hwtstamp": 0,
			})
			if f, _ := v.Get("frags"); len(f.Elems) != 17 {
				t.Errorf("%d frags", len(f.Elems))
			}
		}},
		{"struct_truncated.txt", func(t *testing.T, s *Session) {
			if len(s.Dumps) != 4 || len(s.Objects.All()) != 0 || len(s.Partial) != 4 {
				t.Fatalf("%d dumps, %d objects, %d partial", len(s.Dumps), len(s.Objects.All()), len(s.Partial))
			}
			cut := s.Dumps[0]
			if !cut.Truncated || !cut.Partial || cut.Object.Addr != 0xffff88003a7c1e00 || cut.Span != (Span{2, 11}) ||
				!strings.Contains(cut.Note, "cut short") {
				t.Errorf("cut dump %+v", cut)
			}
			wantNums(t, "cut sk_buff", cut.Object.Value, map[string]uint64{"len": 1514, "data_len": 0, "tstamp.tv64": 0})
			sock := s.Dumps[1]
			if sock.Object.Type != "sock" || sock.Object.Addr != 0xffff88003b8e4000 || sock.Truncated || !sock.Partial || sock.Filtered {
				t.Errorf("sock member list %+v", sock)
			}
			wantNums(t, "sock", sock.Object.Value, map[string]uint64{"sk_state": 1, "sk_protocol": 6})
			wantNums(t, "sock", s.Dumps[2].Object.Value, map[string]uint64{"sk_wmem_alloc.counter": 2305})
			end := s.Dumps[3]
			if !end.Truncated || end.Object.Type != "skb_shared_info" || end.Span != (Span{24, 31}) {
				t.Errorf("dump cut by the end of the paste %+v", end)
			}
			wantNums(t, "cut skb_shared_info", end.Object.Value, map[string]uint64{"gso_size": 0, "frags.0.page.p": 0})
		}},
		{"struct_two.txt", func(t *testing.T, s *Session) {
			if len(s.Dumps) != 5 {
				t.Fatalf("%d dumps", len(s.Dumps))
			}
			wantNums(t, "list_head 1", object(t, s, "list_head", 0xffff88003a7c1e00), map[string]uint64{"next": 0xffff88003a7c1f00})
			wantNums(t, "list_head 2", object(t, s, "list_head", 0xffff88003a7c1f00), map[string]uint64{"next": 0xffff88003a7c2000})
			wantNums(t, "queue", object(t, s, "sk_buff_head", 0xffff88003b8e4120), map[string]uint64{
				"qlen": 1, "lock.rlock.raw_lock.val.counter": 0})
			orphan := s.Dumps[3]
			if orphan.Object.Addr != 0 || orphan.Command != "" || !strings.Contains(orphan.Note, "no crash> prompt") || orphan.Partial {
				t.Errorf("dump without a prompt %+v", orphan)
			}
			wantNums(t, "orphan queue", object(t, s, "sk_buff_head", 0), map[string]uint64{"next": 0xffff88003b8e4120})
			other := s.Dumps[4]
			if other.Object.Type != "list_head" || other.Object.Addr != 0 || !strings.Contains(other.Note, "another type") {
				t.Errorf("dump of another type than its prompt %+v", other)
			}
		}},
		{"struct_union.txt", func(t *testing.T, s *Session) {
			k := object(t, s, "ktime", 0xffff880fe9624880)
			if k.Type != "union ktime" {
				t.Errorf("type %q", k.Type)
			}
			wantNums(t, "ktime", k, map[string]uint64{"tv64": 1445352847620836094})
			a := object(t, s, "nf_inet_addr", 0xffff88003c1a2b40)
			wantNums(t, "nf_inet_addr", a, map[string]uint64{
				"ip": 16777343, "all.0": 16777343, "all.3": 0, "in.s_addr": 16777343,
				"in6.in6_u.u6_addr16.1": 256, "in6.in6_u.u6_addr32.0": 16777343,
			})
			if b, _ := a.Get("in6.in6_u.u6_addr8"); b.Kind != kobj.String || b.Str != "\x7f\x00\x00\x01"+strings.Repeat("\x00", 12) {
				t.Errorf("u6_addr8 = %+v", b)
			}
		}},
		{"struct_intarray.txt", func(t *testing.T, s *Session) {
			v := object(t, s, "kernel_stat", 0xffff88007fc0e200)
			wantNums(t, "kernel_stat", v, map[string]uint64{
				"softirqs.1": 884123, "softirqs.9": 9, "nmi.15": 0, "mask.1": 255, "flags.0": 1, "flags.1": 0,
				"hooks.0": 0xffffffff81462368, "grid.1.0": 3,
			})
			for path, n := range map[string]int{"softirqs": 10, "nmi": 16, "mask": 3, "names": 2, "grid": 2} {
				if a, _ := v.Get(path); a == nil || a.Kind != kobj.Array || len(a.Elems) != n {
					t.Errorf("%s = %+v, want an array of %d", path, a, n)
				}
			}
			if m, _ := v.Get("mask.0"); !m.Neg || int64(m.Num) != -1 {
				t.Errorf("mask.0 = %+v", m)
			}
			if m, _ := v.Int("mask.2"); m != -2147483648 {
				t.Errorf("mask.2 = %d", m)
			}
			if st, _ := v.Get("state"); st.Kind != kobj.Unknown || st.Raw != "TASK_RUNNING" {
				t.Errorf("enum = %+v", st)
			}
			if n, _ := v.Get("names.1"); n.Kind != kobj.String || !strings.HasPrefix(n.Str, "lo\x00") {
				t.Errorf("names.1 = %+v", n)
			}
		}},
		{"struct_32bit.txt", func(t *testing.T, s *Session) {
			v := object(t, s, "sk_buff", 0xf3a4c0c0)
			wantNums(t, "sk_buff", v, map[string]uint64{
				"sk": 0xf2c81a00, "len": 66, "head": 0xf3a54800, "end": 0xf3a548c0, "users.counter": 1,
				"tstamp.off_usec": 620836,
			})
			if d, _ := v.Get("data"); d.Str != "E" || d.Num != 0xf3a54842 {
				t.Errorf("data = %+v", d)
			}
			if len(s.Reads) != 2 {
				t.Fatalf("reads %+v", s.Reads)
			}
			r := s.Reads[0]
			if r.Addr != 0xf3a4c0c0 || r.Size != 4 || len(r.Words) != 4 || r.Words[2] != 0xf2c81a00 || r.Symbols != nil {
				t.Errorf("read %+v", r)
			}
			r = s.Reads[1]
			if r.Addr != 0xc0a1b2c0 || len(r.Words) != 2 || r.Symbols[0] != "sock_wfree" || r.Symbols[1] != "" || r.Words[1] != 0xf3a4c0c0 {
				t.Errorf("rd -s read %+v", r)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tc.check(t, scanStruct(t, readTestdata(t, tc.file)))
		})
	}
}

// TestCrashSkbFixture reads what crash 8.0.2 printed for the corrupt skb of
// a real dump: an rd line and grep'd members, without prompts.
func TestCrashSkbFixture(t *testing.T) {
	s := scanStruct(t, readShared(t, "fixtures/vmcore/skbcsum-kdump/crash-skb.txt"))
	if len(s.Reads) != 1 || s.Reads[0].Addr != 0xffffffffc03e9380 || s.Reads[0].Words[0] != 0xffff8afc013cd300 || s.Reads[0].Line != 3 {
		t.Errorf("reads %+v", s.Reads)
	}
	if w, ok := s.Word(0xffffffffc03e9380); !ok || w != 0xffff8afc013cd300 {
		t.Errorf("Word = %x %v", w, ok)
	}
	if len(s.Objects.All()) != 0 || len(s.Partial) != 1 {
		t.Fatalf("%d objects, %d partial", len(s.Objects.All()), len(s.Partial))
	}
	p := s.Partial[0]
	if p.Type != "" || p.Addr != 0 || p.Source != "line 4-14" || !strings.Contains(s.Dumps[0].Note, "unknown") {
		t.Errorf("partial %+v, dump %+v", p, s.Dumps[0])
	}
	wantNums(t, "grep'd skb", p.Value, map[string]uint64{
		"len": 210, "data_len": 144, "ip_summed": 3, "csum_start": 50, "csum_offset": 16,
		"head": 0xffff8afc01c55c00, "data": 0xffff8afc01c55c10, "end": 192, "dev": 0xffff8afc024bc000,
		"nr_frags": 0, "frag_list": 0,
	})
	if d, _ := p.Value.Get("data"); d.Str != "\xff\xff\xff\xff\xff\xff\x12j\x11\xd2\x1fp\b" {
		t.Errorf("data string %q", d.Str)
	}
}

func TestParseScalar(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind kobj.Kind
		num  uint64
		neg  bool
		sym  string
		str  string
		typ  string
		rep  int
	}{
		{in: "0x0", kind: kobj.Pointer},
		{in: "0xffffffff814b3ed0 <tcp_wfree>", kind: kobj.Pointer, num: 0xffffffff814b3ed0, sym: "tcp_wfree"},
		{in: "0xffffffff8145d72a <skb_checksum_help+426>", kind: kobj.Pointer, num: 0xffffffff8145d72a, sym: "skb_checksum_help+426"},
		{in: `0xffff881062d2dc00 ""`, kind: kobj.Pointer, num: 0xffff881062d2dc00},
		{in: `0xffff8afc01c55c10 "\377\022j"`, kind: kobj.Pointer, num: 0xffff8afc01c55c10, str: "\xff\x12j"},
		{in: "(struct sk_buff *) 0xffff880fe9624868", kind: kobj.Pointer, num: 0xffff880fe9624868, typ: "struct sk_buff *"},
		{in: "{void (struct sk_buff *)} 0xffffffff814b3ed0 <tcp_wfree>", kind: kobj.Pointer, num: 0xffffffff814b3ed0, sym: "tcp_wfree", typ: "void (struct sk_buff *)"},
		{in: "210", kind: kobj.Int, num: 210},
		{in: "18446744073709551615", kind: kobj.Int, num: ^uint64(0)},
		{in: "18446744073709551616", kind: kobj.Unknown},
		{in: "-1", kind: kobj.Int, num: ^uint64(0), neg: true},
		{in: `1 '\001'`, kind: kobj.Int, num: 1},
		{in: `-1 '\377'`, kind: kobj.Int, num: ^uint64(0), neg: true},
		{in: `'a'`, kind: kobj.Int, num: 'a'},
		{in: "true", kind: kobj.Int, num: 1},
		{in: "false", kind: kobj.Int},
		{in: `"\000\XXX\t\x41\101"`, kind: kobj.String, str: "\x00XXX\tAA"},
		{in: `"ab", '\000' <repeats 3 times>`, kind: kobj.String, str: "ab\x00\x00\x00"},
		{in: `'\000' <repeats 4 times>, "z"`, kind: kobj.String, str: "\x00\x00\x00\x00z"},
		{in: "0 <repeats 16 times>", kind: kobj.Int, rep: 16},
		{in: "TCP_ESTABLISHED", kind: kobj.Unknown},
		{in: "(SKB_GSO_TCPV4 | SKB_GSO_DODGY)", kind: kobj.Unknown},
		{in: "<optimized out>", kind: kobj.Unknown},
		{in: "1.5", kind: kobj.Unknown},
		{in: "0xzz", kind: kobj.Unknown},
	} {
		v, rep := parseScalar(tc.in)
		if tc.rep == 0 {
			tc.rep = 1
		}
		if v.Kind != tc.kind || v.Num != tc.num || v.Neg != tc.neg || v.Symbol != tc.sym || v.Str != tc.str || v.Type != tc.typ || rep != tc.rep || v.Raw != tc.in {
			t.Errorf("parseScalar(%q) = %+v rep %d", tc.in, v, rep)
		}
	}
}

func TestTokenize(t *testing.T) {
	kinds := func(toks []token) string {
		var sb strings.Builder
		for _, tk := range toks {
			switch tk.kind {
			case tokLBrace:
				sb.WriteString("{ ")
			case tokRBrace:
				sb.WriteString("} ")
			case tokComma:
				sb.WriteString(", ")
			case tokName:
				sb.WriteString(tk.text + "= ")
			case tokScalar:
				sb.WriteString("[" + tk.text + "] ")
			}
		}
		return strings.TrimSpace(sb.String())
	}
	for in, want := range map[string]string{
		"nr_frags = 0, <---- 0":                         "nr_frags= [0] ,",
		"frag_list = 0x0, <--- no list":                 "frag_list= [0x0] ,",
		"data_len = 144, <---- indicates fragments":     "data_len= [144] ,",
		"destructor = 0xffffffff814b3ed0 <tcp_wfree>, ": "destructor= [0xffffffff814b3ed0 <tcp_wfree>] ,",
		"frags = {{":                           "frags= { {",
		"}, {":                                 "} , {",
		"}},":                                  "} } ,",
		`cb = "a,b}c", `:                       `cb= ["a,b}c"] ,`,
		`x = "ab", '\000' <repeats 3 times>, `: `x= ["ab", '\000' <repeats 3 times>] ,`,
		`names = {"ab", "cd"},`:                `names= { ["ab"] , ["cd"] } ,`,
		"ETHTOOL_OPTS=\"-K eth1 rx off\"":      `[ETHTOOL_OPTS="-K eth1 rx off"]`,
		"fn = {void (void)} 0xffffffff81000000 <f>,": "fn= [{void (void)} 0xffffffff81000000 <f>] ,",
		"a = (A | B),":     "a= [(A | B)] ,",
		"mask = {-1, 255}": "mask= { [-1] , [255] }",
		"So the sk_buff belongs to tcp_socket (\"sk =\")": `[So the sk_buff belongs to tcp_socket ("sk =")]`,
	} {
		if got := kinds(tokenize(in, nil)); got != want {
			t.Errorf("tokenize(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseStructCmd(t *testing.T) {
	for _, tc := range []struct {
		cmd      string
		ok       bool
		typ      string
		members  bool
		filtered bool
		addrs    []uint64
	}{
		{cmd: "sk_buff ffff880fe9624868", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "struct sk_buff 0xffff880fe9624868", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "struct -x sk_buff ffff880fe9624868", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "struct sk_buff ffff880fe9624868 -x", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "sk_buff ffff880fe9624868|grep len", ok: true, typ: "sk_buff", filtered: true, addrs: []uint64{0xffff880fe9624868}},
		{cmd: "sk_buff ffff880fe9624868 | less", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "struct sock.sk_state,sk_protocol ffff88003b8e4000", ok: true, typ: "sock", members: true, addrs: []uint64{0xffff88003b8e4000}},
		{cmd: "union ktime ffff880fe9624880", ok: true, typ: "ktime", addrs: []uint64{0xffff880fe9624880}},
		{cmd: "struct list_head ffff88003a7c1e00 ffff88003a7c1f00", ok: true, typ: "list_head", addrs: []uint64{0xffff88003a7c1e00, 0xffff88003a7c1f00}},
		{cmd: "struct sk_buff ffff880fe9624868 2", ok: true, typ: "sk_buff", addrs: []uint64{0xffff880fe9624868}},
		{cmd: "task_struct init_task", ok: true, typ: "task_struct", addrs: []uint64{0}},
		{cmd: "struct sk_buff"},
		{cmd: "struct sk_buff ffff880fe9624868 > skb.txt"},
		{cmd: "bt -F"},
		{cmd: "rd ffff880061a03508"},
		{cmd: ""},
	} {
		c := parseStructCmd(tc.cmd)
		var addrs []uint64
		for _, s := range c.slots {
			addrs = append(addrs, s.addr)
		}
		if c.ok != tc.ok || c.typ != tc.typ && tc.ok || c.members != tc.members || c.filtered != tc.filtered && tc.ok ||
			len(addrs) != len(tc.addrs) || len(addrs) > 0 && addrs[0] != tc.addrs[0] {
			t.Errorf("parseStructCmd(%q) = %+v", tc.cmd, c)
		}
	}
}

// TestStructDumpBounds feeds dumps past the limits: too deep, too long,
// too many.
func TestStructDumpBounds(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("crash> struct deep ffff880000000000\nstruct deep {\n")
	for i := 0; i < 100; i++ {
		sb.WriteString("a = {\n")
	}
	sb.WriteString("x = 1\n")
	for i := 0; i < 100; i++ {
		sb.WriteString("}\n")
	}
	sb.WriteString("after = 2\n}\n")
	sb.WriteString("crash> struct long ffff880000001000\nstruct long {\n")
	for i := 0; i < MaxDumpLines+10; i++ {
		sb.WriteString("m = 1,\n")
	}
	sb.WriteString("last = 2\n}\ncrash> struct wide ffff880000002000\nstruct wide {\n")
	sb.WriteString("a = {0 <repeats 100000000 times>},\n")
	sb.WriteString("s = '\\000' <repeats 100000000 times>\n}\n")
	for i := 0; i < MaxDumps+5; i++ {
		sb.WriteString("crash> struct many 0x")
		sb.WriteString(strings.Repeat("f", 8))
		sb.WriteString("\nstruct many {\nx = 1\n}\n")
	}
	s := scan(sb.String(), nil)
	checkStructInvariants(t, s)
	// Dumps that lost members to the limits are partial views.
	deep := s.Dumps[0]
	if deep.Object.Type != "deep" || !deep.Truncated || !deep.Partial || !deep.Object.Value.Has("after") ||
		s.Objects.Find("deep", 0xffff880000000000) != nil {
		t.Fatalf("deep dump %+v", deep)
	}
	if !s.Dumps[1].Truncated || len(s.Dumps[1].Object.Value.Fields) != MaxDumpLines {
		t.Errorf("long dump: %d fields, truncated %v", len(s.Dumps[1].Object.Value.Fields), s.Dumps[1].Truncated)
	}
	wide := s.Dumps[2].Object.Value
	if a, _ := wide.Get("a"); len(a.Elems) != maxArrayElems {
		t.Errorf("repeats expanded to %d", len(a.Elems))
	}
	if str, _ := wide.Get("s"); len(str.Str) != maxStringLen {
		t.Errorf("string of %d bytes", len(str.Str))
	}
	if len(s.Dumps) != MaxDumps || s.DroppedOutput != 8 {
		t.Errorf("%d dumps, %d dropped", len(s.Dumps), s.DroppedOutput)
	}
}

// TestStructNotDumps: layouts, prose and shell assignments are no dumps.
func TestStructNotDumps(t *testing.T) {
	text := `crash> struct sk_buff -o ffff880fe9624868
struct sk_buff {
  [ffff880fe9624868] struct sk_buff *next;
  [ffff880fe9624870] struct sk_buff *prev;
}
crash> struct sk_buff
struct sk_buff {
    struct sk_buff *next;
    struct sk_buff *prev;
}
SIZE: 232
ETHTOOL_OPTS="-K eth1 rx off tx off"
We set x = 5 and went home.
crash> ptype struct list_head
type = struct list_head {
    struct list_head *next;
    struct list_head *prev;
}
`
	s := scanStruct(t, text)
	if len(s.Dumps) != 0 {
		for _, d := range s.Dumps {
			t.Errorf("dump %+v: %+v", d, d.Object.Value)
		}
	}
}
