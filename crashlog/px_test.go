package crashlog

import (
	"strings"
	"testing"

	"github.com/ktriage/ktriage/kobj"
)

func TestSeedEvals(t *testing.T) {
	s := seedSession(t)
	if len(s.Evals) != 2 {
		t.Fatalf("evals %+v", s.Evals)
	}
	for i, e := range s.Evals {
		if e.Expr != "0xffff881062d2dc00+384" || e.Value.Kind != kobj.Pointer || e.Value.Num != 0xffff881062d2dd80 ||
			e.Line != []int{354, 357}[i] || e.Truncated {
			t.Errorf("eval %d = %+v %+v", i, e, e.Value)
		}
	}
}

const pxTranscript = `crash> p jiffies
jiffies = $1 = 4295892296
crash> p *(struct sk_buff *)0xffff880fe9624868
$2 = {
  next = 0x0,
  prev = 0x0,
  len = 210,
  data_len = 144,
  users = {
    counter = 1
  }
}
crash> p/x skb->len
$3 = 0xd2
crash> p tcp_wfree
$4 = {void (struct sk_buff *)} 0xffffffff814b3ed0 <tcp_wfree>
crash> p init_net.count
$5 = {
  counter = 3
}
crash> pd sysctl_tcp_mem
$6 = {188484, 251313, 376968}
crash> p -x ((struct sk_buff *)0xffff880fe9624868)->destructor
$7 = (void (*)(struct sk_buff *)) 0xffffffff814b3ed0 <tcp_wfree>
crash> p *(struct skb_shared_info *)0xffff881062d2dd80
$8 = {
  nr_frags = 0,
  frags = {{
A remark where the rest was.
$9 = 5
`

func TestEvals(t *testing.T) {
	s := scanStruct(t, pxTranscript)
	type want struct {
		expr string
		kind kobj.Kind
		num  uint64
		path string
	}
	wants := []want{
		{"jiffies", kobj.Int, 4295892296, ""},
		{"*(struct sk_buff *)0xffff880fe9624868", kobj.Struct, 144, "data_len"},
		{"skb->len", kobj.Pointer, 0xd2, ""},
		{"tcp_wfree", kobj.Pointer, 0xffffffff814b3ed0, ""},
		{"init_net.count", kobj.Struct, 3, "counter"},
		{"sysctl_tcp_mem", kobj.Array, 251313, "1"},
		{"((struct sk_buff *)0xffff880fe9624868)->destructor", kobj.Pointer, 0xffffffff814b3ed0, ""},
		{"*(struct skb_shared_info *)0xffff881062d2dd80", kobj.Struct, 0, "nr_frags"},
		{"", kobj.Int, 5, ""},
	}
	if len(s.Evals) != len(wants) {
		t.Fatalf("%d evals: %+v", len(s.Evals), s.Evals)
	}
	for i, w := range wants {
		e := s.Evals[i]
		n, ok := e.Value.Uint(w.path)
		if e.Expr != w.expr || e.Value.Kind != w.kind || !ok || n != w.num {
			t.Errorf("eval %d = %+v %+v", i, e, e.Value)
		}
	}
	if s.Evals[3].Value.Symbol != "tcp_wfree" || s.Evals[3].Value.Type != "void (struct sk_buff *)" {
		t.Errorf("function value %+v", s.Evals[3].Value)
	}
	if s.Evals[6].Value.Type != "void (*)(struct sk_buff *)" {
		t.Errorf("cast %+v", s.Evals[6].Value)
	}
	if !s.Evals[7].Truncated || s.Evals[1].Truncated {
		t.Errorf("truncation: %v %v", s.Evals[7].Truncated, s.Evals[1].Truncated)
	}
	// A whole struct printed through a cast is an object at that address.
	o := s.Objects.Find("sk_buff", 0xffff880fe9624868)
	if o == nil || o.Value.Type != "struct sk_buff" || o.Source != "line 4-12" || !o.Value.Has("users.counter") {
		t.Fatalf("object from p: %+v", o)
	}
	if len(s.Dumps) != 1 || !strings.HasPrefix(s.Dumps[0].Command, "p *(struct sk_buff") {
		t.Errorf("dumps %+v", s.Dumps)
	}
}

func TestCastObject(t *testing.T) {
	for expr, ok := range map[string]bool{
		"*(struct sk_buff *)0xffff880fe9624868":   true,
		"*(struct sk_buff *) 0xffff880fe9624868":  true,
		"*(union ktime *)0xffff880fe9624880":      true,
		"*(struct sk_buff **)0xffff880fe9624868":  false,
		"*(struct sk_buff *)skb":                  false,
		"(struct sk_buff *)0xffff880fe9624868":    false,
		"*(struct sk_buff *)0xffff880fe9624868+1": false,
	} {
		if _, _, _, got := castObject(expr); got != ok {
			t.Errorf("castObject(%q) = %v", expr, got)
		}
	}
}
