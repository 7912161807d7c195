package kview

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NetDev is one network device with its IPv4 addresses.
type NetDev struct {
	Addr    uint64 // struct net_device
	Name    string
	Index   int
	Net     uint64 // the struct net it lives in
	IPv4    []netip.Addr
	Feature uint64 // dev->features (NETIF_F_* bits)
}

// maxDevs bounds a walk of one namespace's devices.
const maxDevs = 1 << 16

// NetDevices returns the devices of every network namespace
// (net_namespace_list, or init_net alone when that list cannot be read).
func (v *View) NetDevices() ([]NetDev, error) {
	syms, err := v.k.Symbols()
	if err != nil {
		return nil, err
	}
	nets := []uint64{}
	if head, ok := syms.Lookup("net_namespace_list"); ok {
		if off, err := v.Offset("net", "list"); err == nil {
			_ = v.List(head, func(node uint64) error {
				nets = append(nets, node-off)
				if len(nets) > maxDevs {
					return fmt.Errorf("too many namespaces")
				}
				return nil
			})
		}
	}
	if len(nets) == 0 {
		initNet, ok := syms.Lookup("init_net")
		if !ok {
			return nil, fmt.Errorf("net: kallsyms has neither net_namespace_list nor init_net")
		}
		nets = append(nets, initNet)
	}
	headOff, err := v.Offset("net", "dev_base_head")
	if err != nil {
		return nil, err
	}
	listOff, err := v.Offset("net_device", "dev_list")
	if err != nil {
		return nil, err
	}
	nameOff, err := v.Offset("net_device", "name")
	if err != nil {
		return nil, err
	}
	var out []NetDev
	for _, n := range nets {
		err := v.List(n+headOff, func(node uint64) error {
			if len(out) >= maxDevs {
				return fmt.Errorf("more than %d devices", maxDevs)
			}
			d := NetDev{Addr: node - listOff, Net: n}
			var name [16]byte
			if err := v.Read(name[:], d.Addr+nameOff); err != nil {
				return err
			}
			d.Name = cstr(name[:])
			if !plausibleName(d.Name) {
				return fmt.Errorf("node %#x: net_device at %#x has no plausible name (%q): %w", node, d.Addr, d.Name, errCorruptNode)
			}
			if idx, err := v.Uint(d.Addr, "net_device", "ifindex"); err == nil {
				d.Index = int(int32(idx))
			}
			d.Feature, _ = v.Uint(d.Addr, "net_device", "features")
			d.IPv4 = v.ipv4Addrs(d.Addr)
			out = append(out, d)
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("devices of net %#x: %w", n, err)
		}
	}
	return out, nil
}

func (v *View) ipv4Addrs(dev uint64) []netip.Addr {
	in, err := v.Uint(dev, "net_device", "ip_ptr")
	if err != nil || in == 0 {
		return nil
	}
	ifa, err := v.Uint(in, "in_device", "ifa_list")
	var out []netip.Addr
	for i := 0; err == nil && ifa != 0 && i < 256; i++ {
		if a, err := v.Uint(ifa, "in_ifaddr", "ifa_local"); err == nil {
			out = append(out, be32(uint32(a)))
		}
		ifa, err = v.Uint(ifa, "in_ifaddr", "ifa_next")
	}
	return out
}

// be32 turns a __be32 read as a little-endian word into an address.
func be32(x uint32) netip.Addr {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], x)
	return netip.AddrFrom4(b)
}

// Sock is what a struct sock says of its connection.
type Sock struct {
	Addr     uint64
	Family   int // AF_INET = 2, AF_INET6 = 10, AF_UNIX = 1, ...
	Type     int // SOCK_STREAM = 1, SOCK_DGRAM = 2, ...
	Protocol int // IPPROTO_TCP = 6, ...
	State    int // TCP_ESTABLISHED = 1, ...
	Local    netip.AddrPort
	Remote   netip.AddrPort
	// Socket is sk->sk_socket, 0 for a sock no file holds (a request or
	// time-wait sock, or one being torn down).
	Socket uint64
	Net    uint64
}

// SockInfo reads the struct sock at sk.
func (v *View) SockInfo(sk uint64) (Sock, error) {
	s := Sock{Addr: sk}
	fam, err := v.Uint(sk, "sock", "__sk_common.skc_family")
	if err != nil {
		return s, err
	}
	s.Family = int(fam)
	if t, err := v.Uint(sk, "sock", "sk_type"); err == nil {
		s.Type = int(t)
	}
	if p, err := v.Uint(sk, "sock", "sk_protocol"); err == nil {
		s.Protocol = int(p)
	}
	if st, err := v.Uint(sk, "sock", "__sk_common.skc_state"); err == nil {
		s.State = int(st)
	}
	s.Socket, _ = v.Uint(sk, "sock", "sk_socket")
	s.Net, _ = v.Uint(sk, "sock", "__sk_common.skc_net.net")
	if s.Family == 2 {
		saddr, err1 := v.Uint(sk, "sock", "__sk_common.skc_rcv_saddr")
		daddr, err2 := v.Uint(sk, "sock", "__sk_common.skc_daddr")
		sport, err3 := v.Uint(sk, "sock", "__sk_common.skc_num")
		dport, err4 := v.Uint(sk, "sock", "__sk_common.skc_dport")
		if err1 == nil && err2 == nil && err3 == nil && err4 == nil {
			// skc_num is host order; skc_dport network order.
			s.Local = netip.AddrPortFrom(be32(uint32(saddr)), uint16(sport))
			s.Remote = netip.AddrPortFrom(be32(uint32(daddr)), uint16(dport>>8|dport<<8))
		}
	}
	return s, nil
}
