// Package owner follows a corrupt kernel object to whoever owned it: the
// sk_buff found on the crashing stack, its socket, the file descriptor and
// process holding the socket, and the device its address lives on. Every
// link says whether the evidence proves it or only suggests it, and why.
package owner

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/kobj"
)

// Proof is how strongly the evidence supports a link.
type Proof string

// Proof strengths of a link, as the JSON contract spells them.
const (
	// Proven: the evidence shows the link (a dumped pointer, a socket
	// listed under its task's header).
	Proven Proof = "proven"
	// Inferred: the evidence only suggests it (the one process shown).
	Inferred Proof = "inferred"
)

// Link is one step of the chain.
type Link struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Proof Proof  `json:"proof"`
	Why   string `json:"why"`
}

// Owner is the chain from a corrupt sk_buff to its owner, in the JSON
// contract's shape. Unknown values are nil.
type Owner struct {
	SKB    *string `json:"skb"`
	Socket *string `json:"socket"`
	FD     *int    `json:"fd"`
	Type   *string `json:"type"`
	Local  *string `json:"local"`
	Remote *string `json:"remote"`
	Device *string `json:"device"`
	PID    *int    `json:"pid"`
	Comm   *string `json:"comm"`
	Links  []Link  `json:"links"`
}

// Input is what the evidence shows, as crash(8) output reads it.
type Input struct {
	// SKBs are the sk_buffs dumped, corrupt ones first.
	SKBs []*kobj.Object
	// Regs are the crashing context's registers.
	Regs map[string]uint64
	// StackWords and Reads (`bt -f`/`-F` words and `rd` lines) tell what
	// the crashing stack's slots hold.
	StackWords []crashlog.StackWord
	Reads      []crashlog.Read
	// Sockets (`net -s`) lead from the sk_buff's sock to a file descriptor
	// and, under a task header, to its process.
	Sockets []crashlog.Socket
	// Tasks (`ps`) name the process when only one is shown.
	Tasks []crashlog.Task
	// NetDevs (`net`) name the device a socket's local address is on.
	NetDevs []crashlog.NetDev
}

// Correlate builds the chain for the first sk_buff of in, and says which
// crash(8) commands would complete it. It returns nil when no sk_buff is
// known.
func Correlate(in Input) (*Owner, []string) {
	if len(in.SKBs) == 0 {
		return nil, nil
	}
	skb := in.SKBs[0]
	o := &Owner{Links: []Link{}}
	var next []string
	addr := fmt.Sprintf("%x", skb.Addr)
	o.SKB = &addr

	// stack -> sk_buff
	if l, ok := stackLink(skb.Addr, in); ok {
		o.Links = append(o.Links, l)
	} else {
		o.Links = append(o.Links, Link{From: "stack", To: "sk_buff", Proof: Inferred,
			Why: fmt.Sprintf("sk_buff %x was dumped, but neither a register nor a stack word shown holds its address", skb.Addr)})
		next = append(next, "bt -F   # find the sk_buff among the crashing stack's words")
	}

	// sk_buff -> socket
	sk, ok := skb.Value.Uint("sk")
	if !ok || sk == 0 {
		if ok {
			o.Links = append(o.Links, Link{From: "sk_buff", To: "socket", Proof: Proven, Why: "sk is NULL: the sk_buff has no owning socket"})
		}
		return o, next
	}
	sock := fmt.Sprintf("%x", sk)
	o.Socket = &sock
	o.Links = append(o.Links, Link{From: "sk_buff", To: "socket", Proof: Proven,
		Why: fmt.Sprintf("the sk_buff dump shows sk = 0x%x", sk)})
	if d, ok := skb.Value.Get("destructor"); ok && d.Symbol != "" {
		o.Links[len(o.Links)-1].Why += fmt.Sprintf(" (destructor %s)", d.Symbol)
	}

	// socket -> file descriptor
	var s *crashlog.Socket
	for i := range in.Sockets {
		if in.Sockets[i].Sock == sk {
			s = &in.Sockets[i]
			break
		}
	}
	if s == nil {
		next = append(next, fmt.Sprintf("foreach net -s | grep %x   # which task holds the socket, with its fd", sk))
		return o, next
	}
	fd, typ, local, remote := s.FD, s.Family+":"+s.Type, s.Local, s.Remote
	o.FD, o.Type, o.Local, o.Remote = &fd, &typ, &local, &remote
	o.Links = append(o.Links, Link{From: "socket", To: "file descriptor", Proof: Proven,
		Why: fmt.Sprintf("net -s lists sock %x as fd %d (%s %s -> %s)", sk, fd, typ, local, remote)})

	// local address -> device
	if dev := deviceOf(local, in.NetDevs); dev != "" {
		o.Device = &dev
		o.Links = append(o.Links, Link{From: "socket", To: "device", Proof: Proven,
			Why: fmt.Sprintf("net shows %s on %s", hostOf(local), dev)})
	} else if len(in.NetDevs) == 0 {
		next = append(next, "net   # the devices and their addresses")
	}

	// file descriptor -> process
	switch {
	case s.Task != nil:
		pid, comm := s.Task.PID, s.Task.Comm
		o.PID = &pid
		if comm != "" {
			o.Comm = &comm
		}
		o.Links = append(o.Links, Link{From: "file descriptor", To: "process", Proof: Proven,
			Why: fmt.Sprintf("fd %d is listed under the net -s header of PID %d", fd, pid)})
	case len(in.Tasks) == 1:
		t := in.Tasks[0]
		pid, comm := t.PID, t.Comm
		o.PID, o.Comm = &pid, &comm
		o.Links = append(o.Links, Link{From: "file descriptor", To: "process", Proof: Inferred,
			Why: fmt.Sprintf("the transcript's ps shows one process, %d %s; no net -s header ties fd %d to it", pid, comm, fd)})
		next = append(next, fmt.Sprintf("net -s %d   # prove that PID %d holds fd %d", pid, pid, fd))
	default:
		why := "no net -s header names the task holding the fd"
		if len(in.Tasks) > 1 {
			why = fmt.Sprintf("%d processes are shown and none is tied to fd %d", len(in.Tasks), fd)
		}
		o.Links = append(o.Links, Link{From: "file descriptor", To: "process", Proof: Inferred, Why: why + ": no process named"})
		next = append(next, fmt.Sprintf("foreach net -s | grep -B%d %x   # the task holding the socket", 200, sk))
	}
	return o, next
}

// stackLink says how the crashing context holds the skb's address.
func stackLink(addr uint64, in Input) (Link, bool) {
	var regs []string
	for name, v := range in.Regs {
		if v == addr {
			regs = append(regs, name)
		}
	}
	sortStrings(regs)
	caches := map[uint64]string{}
	for _, w := range in.StackWords {
		if w.Cache != "" {
			caches[w.Slot] = w.Cache
		}
	}
	if slot, ok := stackSlot(addr, in); ok {
		why := fmt.Sprintf("stack slot %x holds %x", slot, addr)
		if c := caches[slot]; c != "" {
			why += fmt.Sprintf(", an object of %s (bt -F)", c)
		}
		if len(regs) > 0 {
			verb := "holds"
			if len(regs) > 1 {
				verb = "hold"
			}
			why += fmt.Sprintf("; %s %s it too", strings.Join(regs, ", "), verb)
		}
		return Link{From: "stack", To: "sk_buff", Proof: Proven, Why: why}, true
	}
	if len(regs) > 0 {
		return Link{From: "stack", To: "sk_buff", Proof: Proven,
			Why: fmt.Sprintf("register %s of the crashing context holds %x", strings.Join(regs, ", "), addr)}, true
	}
	return Link{}, false
}

// stackSlot finds the first stack slot shown to hold addr: bt -f/-FF words
// first, then rd words.
func stackSlot(addr uint64, in Input) (uint64, bool) {
	for _, w := range in.StackWords {
		if w.Value == addr {
			return w.Slot, true
		}
	}
	for _, r := range in.Reads {
		size := uint64(r.Size)
		if size == 0 {
			size = 8
		}
		for i, v := range r.Words {
			if v == addr {
				return r.Addr + uint64(i)*size, true
			}
		}
	}
	return 0, false
}

func hostOf(addrPort string) string {
	if strings.HasPrefix(addrPort, "[") {
		if i := strings.Index(addrPort, "]"); i > 0 {
			return addrPort[1:i]
		}
	}
	if i := strings.LastIndexByte(addrPort, ':'); i > 0 {
		return addrPort[:i]
	}
	return addrPort
}

func deviceOf(local string, devs []crashlog.NetDev) string {
	h := hostOf(local)
	for _, d := range devs {
		for _, a := range d.Addrs {
			if a == h {
				return d.Name
			}
		}
	}
	return ""
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
