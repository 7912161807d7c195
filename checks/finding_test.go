package checks

import (
	"encoding/json"
	"testing"

	"github.com/ktriage/ktriage/kobj"
)

// TestFindingText: the message and the JSON item are made from the fields,
// sentence by sentence, in the order a ticket tells them.
func TestFindingText(t *testing.T) {
	skb := &kobj.Object{Type: "sk_buff", Addr: 0xffff880fe9624868}
	for _, c := range []struct {
		name string
		f    Finding
		msg  string
		json string
	}{
		{"verdict only", Finding{Check: CheckSKBLen, Severity: SeverityError, Object: skb, Verdict: "len 1 is smaller than data_len 2"},
			"len 1 is smaller than data_len 2",
			`{"check":"skb-len","severity":"error","object":"sk_buff ffff880fe9624868","message":"len 1 is smaller than data_len 2","evidence":null}`},
		{"every part", Finding{Check: CheckSKBDataLen, Severity: SeverityError, Object: skb, Verdict: "v", Mechanics: "m",
			Registers: []Agreement{{Registers: []string{"RBX"}, Role: "missing", Value: 144}, {Registers: []string{"R8", "R9"}, Role: "skb", Value: 1}},
			Notes:     []string{"n"}, Evidence: map[string]any{"len": int64(210)}},
			"v. m. The registers agree: RBX = 0x90 = 144 is the missing byte count, R8 = R9 hold the skb. n",
			`{"check":"skb-data-len","severity":"error","object":"sk_buff ffff880fe9624868","message":"v. m. The registers agree: RBX = 0x90 = 144 is the missing byte count, R8 = R9 hold the skb. n","evidence":{"len":210}}`},
		{"no object", Finding{Check: CheckSKBGSO, Severity: SeverityInfo, Verdict: "v", Notes: []string{"a", "b"}},
			"v. a. b",
			`{"check":"skb-gso","severity":"info","object":"","message":"v. a. b","evidence":null}`},
	} {
		if got := c.f.Message(); got != c.msg {
			t.Errorf("%s: message %q, want %q", c.name, got, c.msg)
		}
		b, err := json.Marshal(c.f)
		if err != nil || string(b) != c.json {
			t.Errorf("%s: JSON %s (%v), want %s", c.name, b, err, c.json)
		}
	}
}
