// Package owner follows a corrupt kernel object to whoever owned it: the
// sk_buff found on the crashing stack, its socket, the file descriptor and
// process holding the socket, and the device its address lives on. Every
// link says whether the evidence proves it or only suggests it, and why.
package owner

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/kobj"
)

// Proof strengths of a link.
const (
	Proven   = "proven"
	Inferred = "inferred"
)

// Link is one step of the chain.
type Link struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Proof string `json:"proof"`
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

// Socket is one line of crash(8) `net -s` output.
type Socket struct {
	FD           int
	Socket, Sock uint64
	Family, Type string
	// Local and Remote are "addr:port".
	Local, Remote string
	// PID and Comm name the task whose `net -s` block listed the socket;
	// PID is nil when the line was shown without its task header.
	PID  *int
	Comm string
	Line int
}

// Task is one process of crash(8) `ps` output.
type Task struct {
	PID  int
	Comm string
}

// NetDev is one device of crash(8) `net` output.
type NetDev struct {
	Name  string
	Addrs []string
}

// StackWord is a word of the crashing stack: a `bt -F` slot with the slab
// cache or symbol crash printed for it, or an `rd` of that slot.
type StackWord struct {
	Slot uint64
	// Label is what bt -F printed ("[skbuff_fclone_cache]"), "" for rd.
	Label string
	// Value is the word itself when known (rd output), else 0.
	Value uint64
}

// Input is what the evidence shows.
type Input struct {
	// SKBs are the sk_buffs dumped, corrupt ones first.
	SKBs []*kobj.Object
	// Regs are the crashing context's registers.
	Regs       map[string]uint64
	StackWords []StackWord
	Sockets    []Socket
	Tasks      []Task
	NetDevs    []NetDev
	// SocketTable is set when the evidence holds a `foreach net -s` (every
	// task's sockets): then a socket missing from it is owned by no task.
	SocketTable bool
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
	var s *Socket
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
	case s.PID != nil:
		pid, comm := *s.PID, s.Comm
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
	labels := map[uint64]string{}
	for _, w := range in.StackWords {
		if w.Label != "" {
			labels[w.Slot] = w.Label
		}
	}
	for _, w := range in.StackWords {
		if w.Value != addr {
			continue
		}
		why := fmt.Sprintf("stack slot %x holds %x", w.Slot, addr)
		if lab := labels[w.Slot]; lab != "" {
			why += fmt.Sprintf(", an object of %s (bt -F)", strings.Trim(lab, "[]"))
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

func deviceOf(local string, devs []NetDev) string {
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
