package owner

import (
	"strings"
	"testing"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/kobj"
)

func skb(addr, sk uint64) *kobj.Object {
	return &kobj.Object{Type: "sk_buff", Addr: addr, Value: &kobj.Value{Kind: kobj.Struct, Fields: []kobj.Field{
		{Name: "sk", Value: &kobj.Value{Kind: kobj.Pointer, Num: sk}},
		{Name: "destructor", Value: &kobj.Value{Kind: kobj.Pointer, Num: 0xffffffff814b3ed0, Symbol: "tcp_wfree"}},
	}}}
}

func seedInput() Input {
	return Input{
		SKBs:       []*kobj.Object{skb(0xffff880fe9624868, 0xffff881063a669c0)},
		Regs:       map[string]uint64{"R8": 0xffff880fe9624868, "RBX": 0x90},
		StackWords: []crashlog.StackWord{{Slot: 0xffff880061a03508, Cache: "skbuff_fclone_cache"}},
		Reads:      []crashlog.Read{{Addr: 0xffff880061a03508, Size: 8, Words: []uint64{0xffff880fe9624868}}},
		Sockets: []crashlog.Socket{{FD: 7330, Socket: 0xffff880da69e6700, Sock: 0xffff881063a669c0, Family: "INET", Type: "STREAM",
			Local: "1.xx.xx.20:443", Remote: "11.xx.xx.190:51000"}},
		Tasks:   []crashlog.Task{{PID: 29860, Comm: "proc1"}},
		NetDevs: []crashlog.NetDev{{Name: "lo", Addrs: []string{"1.xx.xx.20"}}, {Name: "eth1"}, {Name: "bond0"}},
	}
}

func TestSeedChain(t *testing.T) {
	o, next := Correlate(seedInput())
	if o == nil || *o.Socket != "ffff881063a669c0" || *o.FD != 7330 || *o.Local != "1.xx.xx.20:443" ||
		*o.Remote != "11.xx.xx.190:51000" || *o.Device != "lo" || *o.PID != 29860 || *o.Comm != "proc1" || *o.Type != "INET:STREAM" {
		t.Fatalf("owner %+v", o)
	}
	proof := map[string]Proof{}
	for _, l := range o.Links {
		proof[l.From+"->"+l.To] = l.Proof
	}
	want := map[string]Proof{"stack->sk_buff": Proven, "sk_buff->socket": Proven, "socket->file descriptor": Proven,
		"socket->device": Proven, "file descriptor->process": Inferred}
	for k, v := range want {
		if proof[k] != v {
			t.Errorf("%s: %q, want %q (%+v)", k, proof[k], v, o.Links)
		}
	}
	if !strings.Contains(strings.Join(next, "\n"), "net -s 29860") {
		t.Errorf("next steps %q", next)
	}
}

func TestProcessProvenByHeader(t *testing.T) {
	in := seedInput()
	in.Sockets[0].Task = &crashlog.TaskRef{PID: 29860, Comm: "proc1"}
	in.Tasks = append(in.Tasks, crashlog.Task{PID: 1, Comm: "init"})
	o, _ := Correlate(in)
	last := o.Links[len(o.Links)-1]
	if *o.PID != 29860 || last.Proof != Proven {
		t.Errorf("%+v", o.Links)
	}
}

func TestSeveralProcessesNoProof(t *testing.T) {
	in := seedInput()
	in.Tasks = append(in.Tasks, crashlog.Task{PID: 1, Comm: "init"})
	o, next := Correlate(in)
	if o.PID != nil || o.Comm != nil {
		t.Errorf("a process was named without proof: %v", *o.PID)
	}
	if !strings.Contains(strings.Join(next, "\n"), "foreach net -s") {
		t.Errorf("next %q", next)
	}
}

func TestNoSocketTable(t *testing.T) {
	in := seedInput()
	in.Sockets, in.StackWords, in.Reads, in.Regs = nil, nil, nil, nil
	o, next := Correlate(in)
	if o.FD != nil || *o.Socket != "ffff881063a669c0" || o.Links[0].Proof != Inferred {
		t.Errorf("%+v", o)
	}
	j := strings.Join(next, "\n")
	if !strings.Contains(j, "bt -F") || !strings.Contains(j, "foreach net -s | grep ffff881063a669c0") {
		t.Errorf("next %q", next)
	}
}
