package kobj

import "testing"

func TestGetThroughAnonymous(t *testing.T) {
	i := func(n uint64) *Value { return &Value{Kind: Int, Num: n} }
	skb := &Value{Kind: Struct, Fields: []Field{
		{"len", i(210)},
		{"", &Value{Kind: Struct, Fields: []Field{
			{"csum", i(1048864)},
			{"", &Value{Kind: Struct, Fields: []Field{{"csum_start", i(288)}, {"csum_offset", i(16)}}}},
		}}},
		{"users", &Value{Kind: Struct, Fields: []Field{{"counter", i(1)}}}},
		{"frags", &Value{Kind: Array, Elems: []*Value{{Kind: Struct, Fields: []Field{{"size", i(64)}}}}}},
	}}
	cases := map[string]uint64{"len": 210, "csum_start": 288, "csum_offset": 16, "users.counter": 1, "frags.0.size": 64}
	for p, want := range cases {
		if got, ok := skb.Uint(p); !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", p, got, ok, want)
		}
	}
	for _, p := range []string{"nope", "frags.1.size", "users.x", "len.x"} {
		if skb.Has(p) {
			t.Errorf("%s found", p)
		}
	}
	var s Set
	o := &Object{Type: "sk_buff", Addr: 0xffff880fe9624868, Value: skb}
	s.Add(o)
	s.Add(&Object{Type: "sk_buff", Addr: 0xffff880fe9624868})
	if s.Find("sk_buff", 0xffff880fe9624868) != o || len(s.All()) != 1 || o.Name() != "sk_buff ffff880fe9624868" {
		t.Error("set")
	}
}
