package owner

import (
	"fmt"
	"net/netip"
	"strings"
)

// Memory is what a dump's memory shows around a corrupt sk_buff, read by
// the caller (who has the memory reader), so that this package builds the
// chain from facts and never reads memory or text itself.
type Memory struct {
	SKB MemSKB
	// Sock is skb->sk's struct sock; nil when sk is NULL or could not be
	// read (SKB.SK and SKB.SKErr tell which).
	Sock *MemSock
	// Holder is the descriptor whose file holds the sock's socket; nil
	// when no task's descriptor table was found to hold it. HolderErr
	// then says, as a clause, why the search may have missed it ("none
	// of the 48 tasks read holds it, and the task list broke: …"), ""
	// when every table was read.
	Holder    *MemHolder
	HolderErr string
	// Device is the device the chain ends on: the one whose IPv4 address
	// is the sock's local address or, failing that, skb->dev.
	Device *MemDevice
}

// MemSKB is the corrupt sk_buff and how the crashing context holds it.
type MemSKB struct {
	Addr uint64
	// Cache is the kmem_cache the sk_buff is an object of;
	// FcloneSecond is set when it is the second sk_buff of an object of
	// skbuff_fclone_cache (the clone TCP transmits), not its start.
	Cache        string
	FcloneSecond bool
	// Regs are the crashing CPU's registers that hold Addr, by crash's
	// names; Slot the first stack slot that holds it (0: none), on the
	// stack of the task Task names ("pid 104 (insmod)").
	Regs []string
	Slot uint64
	Task string
	// SK is skb->sk (0: NULL); SKErr says why it could not be read.
	SK    uint64
	SKErr string
	// Destructor is the symbol skb->destructor points to, "" if none.
	Destructor string
	// Dev is skb->dev and DevName its name, "" when unread.
	Dev     uint64
	DevName string
}

// MemSock is a struct sock as memory shows it.
type MemSock struct {
	Addr uint64
	// Cache is the kmem_cache the sock is an object of and SockCache
	// whether that is a cache of socks (TCP, UDP, RAW…); CacheErr says
	// why the cache is unknown.
	Cache     string
	SockCache bool
	CacheErr  string
	// Family and Type as crash's net -s names them: "INET", "STREAM".
	Family, Type string
	// Local and Remote are the endpoints, invalid when unknown.
	Local, Remote netip.AddrPort
	// Socket is sk->sk_socket, File socket->file (0 when NULL).
	Socket, File uint64
}

// MemHolder is the descriptor and task whose file holds the socket.
type MemHolder struct {
	FD   int
	PID  int
	Comm string
	// File is the descriptor's struct file, Socket its private_data.
	File, Socket uint64
}

// MemDevice is a network device.
type MemDevice struct {
	Name string
	Addr uint64
	// ByAddress is the sock's local address found on the device, invalid
	// when the device is skb->dev.
	ByAddress netip.Addr
}

// FromMemory builds the chain from what a dump's memory shows. Every link
// rests on a pointer read from memory, so links are Proven unless a
// pointer does not lead where it should (a sock that is no object of a
// sock cache).
func FromMemory(m Memory) *Owner {
	o := &Owner{Links: []Link{}}
	addr := fmt.Sprintf("%x", m.SKB.Addr)
	o.SKB = &addr
	s := m.SKB
	of := ""
	switch {
	case s.Cache != "" && s.FcloneSecond:
		of = ", the second sk_buff of an object of " + s.Cache
	case s.Cache != "":
		of = ", the start of an object of " + s.Cache
	}
	on := ""
	if s.Task != "" {
		on = " of " + s.Task
	}
	switch {
	case s.Slot != 0:
		why := fmt.Sprintf("stack slot %x%s holds %x%s", s.Slot, on, s.Addr, of)
		if len(s.Regs) > 0 {
			why += fmt.Sprintf("; %s %s it too", strings.Join(s.Regs, ", "), verb(len(s.Regs)))
		}
		o.Links = append(o.Links, Link{From: "stack", To: "sk_buff", Proof: Proven, Why: why})
	case len(s.Regs) > 0:
		o.Links = append(o.Links, Link{From: "stack", To: "sk_buff", Proof: Proven,
			Why: fmt.Sprintf("register %s of the crashing CPU (its NT_PRSTATUS note) %s %x%s", strings.Join(s.Regs, ", "), verb(len(s.Regs)), s.Addr, of)})
	}
	switch {
	case s.SKErr != "":
		o.Links = append(o.Links, Link{From: "sk_buff", To: "socket", Proof: Inferred, Why: "skb->sk could not be read: " + s.SKErr})
	case s.SK == 0:
		o.Links = append(o.Links, Link{From: "sk_buff", To: "socket", Proof: Proven, Why: "skb->sk is NULL: the sk_buff has no owning socket"})
	}
	if k := m.Sock; k != nil {
		sock := fmt.Sprintf("%x", k.Addr)
		o.Socket = &sock
		why := fmt.Sprintf("skb->sk = %#x", k.Addr)
		if s.Destructor != "" {
			why += fmt.Sprintf(" (destructor %s)", s.Destructor)
		}
		proof := Proven
		switch {
		case k.Cache != "" && k.SockCache:
			why += ", an object of " + k.Cache
		case k.Cache != "":
			why += ", an object of " + k.Cache + ", which is not a cache of socks"
			proof = Inferred
		case k.CacheErr != "":
			why += " (its slab cache is unknown: " + k.CacheErr + ")"
			proof = Inferred
		}
		if k.Family != "" {
			why += fmt.Sprintf("; sock_common says family %s, type %s", k.Family, k.Type)
			typ := k.Family + ":" + k.Type
			o.Type = &typ
		}
		if k.Local.IsValid() {
			l, r := k.Local.String(), k.Remote.String()
			o.Local, o.Remote = &l, &r
			why += fmt.Sprintf(", %s -> %s", l, r)
		}
		o.Links = append(o.Links, Link{From: "sk_buff", To: "socket", Proof: proof, Why: why})
		switch h := m.Holder; {
		case h != nil:
			fd, pid, comm := h.FD, h.PID, h.Comm
			o.FD, o.PID = &fd, &pid
			if comm != "" {
				o.Comm = &comm
			}
			o.Links = append(o.Links, Link{From: "socket", To: "file descriptor", Proof: Proven,
				Why: fmt.Sprintf("sk->sk_socket = %#x, whose file is %#x; fd %d of pid %d (%s) holds file %#x whose private_data is socket %#x", k.Socket, k.File, fd, pid, comm, h.File, h.Socket)})
			o.Links = append(o.Links, Link{From: "file descriptor", To: "process", Proof: Proven,
				Why: fmt.Sprintf("fd %d is in the descriptor table of pid %d (%s)", fd, pid, comm)})
		case k.Socket == 0:
			o.Links = append(o.Links, Link{From: "socket", To: "file descriptor", Proof: Proven,
				Why: "sk->sk_socket is NULL: no file holds the sock (a request or time-wait sock, or one being torn down)"})
		default:
			why := fmt.Sprintf("sk->sk_socket = %#x, whose file is %#x, but no task's descriptor table holds that file", k.Socket, k.File)
			if m.HolderErr != "" {
				why = fmt.Sprintf("sk->sk_socket = %#x, whose file is %#x; %s", k.Socket, k.File, m.HolderErr)
			}
			o.Links = append(o.Links, Link{From: "socket", To: "file descriptor", Proof: Inferred, Why: why})
		}
	}
	if d := m.Device; d != nil {
		dev := d.Name
		o.Device = &dev
		if d.ByAddress.IsValid() {
			o.Links = append(o.Links, Link{From: "socket", To: "device", Proof: Proven,
				Why: fmt.Sprintf("the sock's local address %s is an IPv4 address of %s (net_device %#x)", d.ByAddress, d.Name, d.Addr)})
		} else {
			o.Links = append(o.Links, Link{From: "sk_buff", To: "device", Proof: Proven,
				Why: fmt.Sprintf("skb->dev = %#x, net_device %s", d.Addr, d.Name)})
		}
	}
	return o
}

func verb(n int) string {
	if n > 1 {
		return "hold"
	}
	return "holds"
}
