package owner

import (
	"net/netip"
	"strings"
	"testing"
)

// TestFromMemory: each shape of what memory shows gives the links it
// proves, and no more.
func TestFromMemory(t *testing.T) {
	skb := MemSKB{Addr: 0xffff8afc013cd300, Cache: "skbuff_head_cache", Regs: []string{"RCX"}, Slot: 0xffffceb500403b50, Task: "pid 104 (insmod)"}
	tcp := &MemSock{Addr: 0xffff8afc02000000, Cache: "TCP", SockCache: true, Family: "INET", Type: "STREAM",
		Local: netip.MustParseAddrPort("10.0.2.15:40000"), Remote: netip.MustParseAddrPort("10.0.2.2:5000"),
		Socket: 0xffff8afc03000000, File: 0xffff8afc04000000}
	withSK := skb
	withSK.SK = tcp.Addr
	withSK.Destructor = "tcp_wfree"
	holder := &MemHolder{FD: 3, PID: 57, Comm: "sender", File: tcp.File, Socket: tcp.Socket}
	eth0 := &MemDevice{Name: "eth0", Addr: 0xffff8afc05000000, ByAddress: netip.MustParseAddr("10.0.2.15")}
	for _, c := range []struct {
		name string
		m    Memory
		// links are "from>to=proof" in order; fields the owner's.
		links                []string
		socket, device, comm string
		fd, pid              int
		why                  []string
	}{
		{name: "no socket, skb->dev", m: Memory{SKB: skb, Device: &MemDevice{Name: "csum0", Addr: 0xffff8afc024bc000}},
			links:  []string{"stack>sk_buff=proven", "sk_buff>socket=proven", "sk_buff>device=proven"},
			device: "csum0", fd: -1, pid: -1,
			why: []string{"stack slot ffffceb500403b50 of pid 104 (insmod) holds ffff8afc013cd300, the start of an object of skbuff_head_cache; RCX holds it too", "sk is NULL", "skb->dev = 0xffff8afc024bc000, net_device csum0"}},
		{name: "tcp socket held by a task", m: Memory{SKB: withSK, Sock: tcp, Holder: holder, Device: eth0},
			links:  []string{"stack>sk_buff=proven", "sk_buff>socket=proven", "socket>file descriptor=proven", "file descriptor>process=proven", "socket>device=proven"},
			socket: "ffff8afc02000000", device: "eth0", comm: "sender", fd: 3, pid: 57,
			why: []string{"skb->sk = 0xffff8afc02000000 (destructor tcp_wfree), an object of TCP; sock_common says family INET, type STREAM, 10.0.2.15:40000 -> 10.0.2.2:5000", "fd 3 of pid 57 (sender) holds file 0xffff8afc04000000 whose private_data is socket 0xffff8afc03000000", "10.0.2.15 is an IPv4 address of eth0"}},
		{name: "sock in a kmalloc cache", m: Memory{SKB: withSK, Sock: &MemSock{Addr: tcp.Addr, Cache: "kmalloc-2k", Family: "INET", Type: "STREAM"}},
			links:  []string{"stack>sk_buff=proven", "sk_buff>socket=inferred", "socket>file descriptor=proven"},
			socket: "ffff8afc02000000", fd: -1, pid: -1,
			why: []string{"not a cache of socks", "sk_socket is NULL"}},
		{name: "socket no task holds", m: Memory{SKB: withSK, Sock: tcp},
			links:  []string{"stack>sk_buff=proven", "sk_buff>socket=proven", "socket>file descriptor=inferred"},
			socket: "ffff8afc02000000", fd: -1, pid: -1,
			why: []string{"no task's descriptor table holds that file"}},
		{name: "tables unreadable", m: Memory{SKB: withSK, Sock: tcp, HolderErr: "the task list could not be read: tasks: kallsyms has no init_task"},
			links:  []string{"stack>sk_buff=proven", "sk_buff>socket=proven", "socket>file descriptor=inferred"},
			socket: "ffff8afc02000000", fd: -1, pid: -1,
			why: []string{"whose file is 0xffff8afc04000000; the task list could not be read: tasks: kallsyms has no init_task"}},
		{name: "fclone clone", m: Memory{SKB: MemSKB{Addr: 0xe8, Cache: "skbuff_fclone_cache", FcloneSecond: true, Regs: []string{"RCX"}}},
			links: []string{"stack>sk_buff=proven", "sk_buff>socket=proven"}, fd: -1, pid: -1,
			why: []string{"register RCX of the crashing CPU (its NT_PRSTATUS note) holds e8, the second sk_buff of an object of skbuff_fclone_cache"}},
		{name: "sk unreadable, register only", m: Memory{SKB: MemSKB{Addr: 1, Regs: []string{"RDI", "R12"}, SKErr: "no sk member"}},
			links: []string{"stack>sk_buff=proven", "sk_buff>socket=inferred"}, fd: -1, pid: -1,
			why: []string{"register RDI, R12 of the crashing CPU (its NT_PRSTATUS note) hold 1", "no sk member"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := FromMemory(c.m)
			var links []string
			whys := ""
			for _, l := range o.Links {
				links = append(links, l.From+">"+l.To+"="+string(l.Proof))
				whys += l.Why + "\n"
			}
			if strings.Join(links, " ") != strings.Join(c.links, " ") {
				t.Errorf("links %v, want %v", links, c.links)
			}
			for _, w := range c.why {
				if !strings.Contains(whys, w) {
					t.Errorf("no link says %q:\n%s", w, whys)
				}
			}
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			num := func(p *int) int {
				if p == nil {
					return -1
				}
				return *p
			}
			if str(o.Socket) != c.socket || str(o.Device) != c.device || str(o.Comm) != c.comm || num(o.FD) != c.fd || num(o.PID) != c.pid {
				t.Errorf("socket %q device %q comm %q fd %d pid %d", str(o.Socket), str(o.Device), str(o.Comm), num(o.FD), num(o.PID))
			}
			if c.socket != "" && c.m.Sock.Local.IsValid() && (str(o.Local) != c.m.Sock.Local.String() || str(o.Type) != "INET:STREAM") {
				t.Errorf("local %q type %q", str(o.Local), str(o.Type))
			}
		})
	}
}
