package kview_test

import (
	"testing"

	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// TestTcpskbGuest reads, on the tcpskb dump of every kernel series (-d 31
// on 6.1, -d 1 on 6.12: see vmcores.Set.Tcpskb), what the guest itself
// recorded before the crash: the module global holds the skb the module
// printed, whose sk is the process's sock; the process is a task with that
// pid and comm whose fd holds a socket on that sock; the sock's addresses are
// the ones the process printed; the device is there with the local address.
func TestTcpskbGuest(t *testing.T) {
	for _, set := range vmcores.Sets {
		t.Run(set, func(t *testing.T) {
			s := vmcores.Require(t, set)
			e := s.Tcpskb(t)
			g := e.Guest
			if g == nil {
				t.Fatal("no guest record")
			}
			_, k, err := triage.OpenVmcore(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			v := kview.New(k)
			addr, mod, err := v.Lookup("tcpskb_bad_skb")
			if err != nil || mod != "tcpskb" {
				t.Fatalf("tcpskb_bad_skb: %v in %q", err, mod)
			}
			skb, err := v.U64(addr)
			if err != nil || skb != uint64(g.SKB) {
				t.Fatalf("tcpskb_bad_skb holds %#x (%v), guest printed %#x", skb, err, uint64(g.SKB))
			}
			sk, err := v.Uint(skb, "sk_buff", "sk")
			if err != nil || sk != uint64(g.SK) {
				t.Errorf("skb->sk %#x (%v), guest printed %#x", sk, err, uint64(g.SK))
			}
			dataLen, _ := v.Uint(skb, "sk_buff", "data_len")
			if int(dataLen) != g.Len {
				t.Errorf("data_len %d, guest wrote %d", dataLen, g.Len)
			}
			info, err := v.SockInfo(sk)
			if err != nil {
				t.Fatal(err)
			}
			if info.Local.String() != g.Local || info.Remote.String() != g.Remote || info.Family != 2 || info.Type != 1 || info.Protocol != 6 {
				t.Errorf("sock %+v, guest: local %s remote %s", info, g.Local, g.Remote)
			}
			tasks, err := v.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			var proc *kview.Task
			for _, tk := range tasks {
				if tk.PID == g.PID {
					proc = tk
				}
			}
			if proc == nil || proc.Comm != g.Comm {
				t.Fatalf("pid %d: %+v, guest comm %s", g.PID, proc, g.Comm)
			}
			files, err := v.Files(proc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range files {
				if f.Num == g.FD {
					found = f.Type == "SOCK" && f.Sock == sk && f.Socket == info.Socket
					if !found {
						t.Errorf("fd %d: %+v", f.Num, f)
					}
				}
			}
			if !found {
				t.Errorf("fd %d not a socket on sk %#x", g.FD, sk)
			}
			devs, err := v.NetDevices()
			if err != nil {
				t.Fatal(err)
			}
			dev := false
			for _, d := range devs {
				if d.Name == g.Dev {
					for _, a := range d.IPv4 {
						dev = dev || a == info.Local.Addr()
					}
				}
			}
			if !dev {
				t.Errorf("no device %s with %s among %d", g.Dev, info.Local.Addr(), len(devs))
			}
		})
	}
}
