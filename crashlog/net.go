package crashlog

import (
	"net/netip"
	"strings"
)

// Limits on what a Session keeps of `net` and `net -s` output.
const (
	// MaxNetDevs is the most network devices a Session keeps.
	MaxNetDevs = 4096
	// MaxSockets is the most sockets a Session keeps (a `foreach net -s`
	// of a busy server lists tens of thousands).
	MaxSockets = 1 << 15
	// maxDevAddrs bounds the addresses kept per device.
	maxDevAddrs = 64
	// maxHeaderGap is how many lines a task header may precede the socket
	// listing it heads: crash prints them adjacent; a paste may put a
	// blank line or two between.
	maxHeaderGap = 3
)

// NetDev is one line of crash(8) `net` output: a network device and the
// addresses configured on it.
type NetDev struct {
	// Addr is the net_device address.
	Addr uint64
	// Name is the interface name ("eth1", "bond0").
	Name string
	// Addrs are the IPv4 then IPv6 addresses crash printed, in order; IPv6
	// addresses in canonical form (RFC 5952) so that they compare equal to
	// a Socket's, IPv4 and masked ones ("1.xx.xx.20") as printed. Nil when
	// the device has none.
	Addrs []string
	// Line is the document line.
	Line int
}

// TaskRef names the task a task header ("PID: 29860  TASK: ffff…  CPU: 9
// COMMAND: "proc1"") announced.
type TaskRef struct {
	// PID is the task's process ID.
	PID int
	// TaskAddr is the task_struct address.
	TaskAddr uint64
	// CPU is the task's CPU; -1 when crash printed "-" or nothing.
	CPU int
	// Comm is the COMMAND name without its quotes.
	Comm string
}

// Socket is one line of crash(8) `net -s` output (also printed per task by
// `foreach net -s`): an open file descriptor that is a socket.
type Socket struct {
	// FD is the file descriptor number in the owning task.
	FD int
	// Socket is the struct socket address, Sock the struct sock address
	// (what an sk_buff's sk points to).
	Socket uint64
	Sock   uint64
	// Family and Type split crash's FAMILY:TYPE column: "INET" and
	// "STREAM", "INET6", "UNIX", "NETLINK/ROUTE" and "RAW"; a number when
	// crash did not know the value.
	Family string
	Type   string
	// LocalRaw and RemoteRaw are the SOURCE-PORT and DESTINATION-PORT
	// columns as crash printed them ("1.xx.xx.20-443",
	// "fe80:0:0:0:0:0:0:1-22"). Both are "" when crash printed no
	// addresses (UNIX and other non-INET sockets, or IPv6 addresses it
	// could not read).
	LocalRaw  string
	RemoteRaw string
	// Local and Remote are the same endpoints as host:port:
	// "1.xx.xx.20:443", "[fe80::1]:22". IPv6 addresses are made canonical
	// (crash prints all eight groups, `net` the compressed form) unless an
	// author masked them; IPv4 and masked addresses stay as printed.
	Local  string
	Remote string
	// Task is the task whose header the line was listed under: set only
	// when the line belongs to a listing that a task header directly
	// preceded (its "FD SOCKET …" column header, or the socket lines
	// themselves when a filter removed that). crash prints one such
	// listing per task for `net -s` and `foreach net -s`, so Task proves
	// that the task holds the socket as fd FD. Nil when no header was
	// shown, as for a grep'd line ("net -s | grep ADDR"): such a line
	// proves nothing about which task holds the socket, even if the
	// document shows a task elsewhere. Sockets of one listing share one
	// TaskRef.
	Task *TaskRef
	// Filtered is set when the command at the prompt above the line piped
	// crash's output through another program ("net -s | grep ADDR") or ran
	// one ("!grep ADDR sockets.out"): lines of the listing, task headers
	// included, may have been removed.
	Filtered bool
	// Line is the document line.
	Line int
}

// taskHeaderParser is a block parser that needs the task headers the
// Scanner consumes itself, as the start of a bt.
type taskHeaderParser interface {
	taskHeader(lineno int, h btHeader)
}

// offerTaskHeader gives a task header line ("PID: …  TASK: …  CPU: …
// COMMAND: …") to the block parsers that use one: `net -s` listings sit
// under the same header as a bt. The Scanner calls it where it opens a bt
// on the header.
func (s *Scanner) offerTaskHeader(lineno int, h btHeader) {
	for _, b := range s.blocks {
		if p, ok := b.(taskHeaderParser); ok {
			p.taskHeader(lineno, h)
		}
	}
}

// netParser reads `net` (devices) and `net -s` (sockets) output.
type netParser struct {
	devs    []NetDev
	socks   []Socket
	dropped int

	// devCmd: the command at the prompt lists devices (`net`, `net -n`);
	// inDevs: a device listing is open (its header or a device line was
	// the last line seen).
	devCmd bool
	inDevs bool
	// filtered: the command's output went through another program.
	filtered bool

	// pending is the last task header, seen on line pendingLine, not yet
	// claimed by a listing; group is the task of the open listing, whose
	// last line was groupLine.
	pending     *TaskRef
	pendingLine int
	group       *TaskRef
	groupLine   int

	// names shares the family, type and device names that repeat.
	names interner
}

func (p *netParser) prompt(lineno int, cmd string) {
	p.devCmd = isNetDevCommand(cmd)
	p.inDevs = false
	p.filtered = isFilteredCommand(cmd)
	p.pending, p.group = nil, nil
}

func (p *netParser) taskHeader(lineno int, h btHeader) {
	if p.pending != nil && p.pendingLine == lineno {
		return // offered twice
	}
	p.group = nil
	p.inDevs = false
	p.pending = nil
	if h.pid == nil || h.task == "" {
		return
	}
	addr, ok := parseHex(h.task)
	if !ok {
		return
	}
	cpu := -1
	if h.cpu != nil {
		cpu = *h.cpu
	}
	p.pending = &TaskRef{PID: *h.pid, TaskAddr: addr, CPU: cpu, Comm: strings.Clone(h.command)}
	p.pendingLine = lineno
}

// claim returns the task of a listing starting on lineno: the pending
// header when it is close enough above.
func (p *netParser) claim(lineno int) *TaskRef {
	t := p.pending
	p.pending = nil
	if t != nil && lineno > p.pendingLine && lineno-p.pendingLine <= maxHeaderGap {
		return t
	}
	return nil
}

func (p *netParser) line(lineno int, t string, cmd string) bool {
	switch {
	case isSocketHeader(t):
		p.inDevs = false
		p.group = p.claim(lineno)
		p.groupLine = lineno
		return true
	case t == "No open sockets.":
		p.inDevs = false
		p.pending, p.group = nil, nil
		return true
	}
	if sk, ok := parseSocket(t); ok {
		p.inDevs = false
		switch {
		case p.pending != nil:
			// Socket lines right under the task header: the column
			// header was filtered out.
			p.group = p.claim(lineno)
		case p.group != nil && lineno-p.groupLine > maxHeaderGap:
			p.group = nil
		}
		p.groupLine = lineno
		sk.Task = p.group
		sk.Filtered = p.filtered
		sk.Line = lineno
		p.addSocket(sk)
		return true
	}
	if isNetDevHeader(t) {
		p.inDevs = true
		p.pending, p.group = nil, nil
		return true
	}
	if p.inDevs || p.devCmd {
		if d, ok := parseNetDev(t); ok {
			p.inDevs = true
			p.pending, p.group = nil, nil
			d.Line = lineno
			p.addDev(d)
			return true
		}
	}
	// Not net output: whatever listing was open has ended.
	p.inDevs, p.devCmd = false, false
	p.pending, p.group = nil, nil
	return false
}

func (p *netParser) addSocket(sk Socket) {
	if len(p.socks) >= MaxSockets {
		p.dropped++
		return
	}
	sk.Family = p.names.get(sk.Family)
	sk.Type = p.names.get(sk.Type)
	sk.LocalRaw = strings.Clone(sk.LocalRaw)
	sk.RemoteRaw = strings.Clone(sk.RemoteRaw)
	sk.Local = strings.Clone(sk.Local)
	sk.Remote = strings.Clone(sk.Remote)
	p.socks = append(p.socks, sk)
}

func (p *netParser) addDev(d NetDev) {
	if len(p.devs) >= MaxNetDevs {
		p.dropped++
		return
	}
	d.Name = p.names.get(d.Name)
	for i, a := range d.Addrs {
		d.Addrs[i] = strings.Clone(a)
	}
	p.devs = append(p.devs, d)
}

func (p *netParser) finish(sess *Session) {
	sess.NetDevs = p.devs
	sess.Sockets = p.socks
	sess.RowsDropped += p.dropped
}

// ---- commands ----

// commandWords returns the words of cmd up to a pipe or redirection.
func commandWords(cmd string) []string {
	if i := strings.IndexAny(cmd, "|>"); i >= 0 {
		cmd = cmd[:i]
	}
	return strings.Fields(cmd)
}

// isNetDevCommand says whether cmd lists network devices: `net` alone or
// with -n, not the -s, -S, -a, -N or -R forms.
func isNetDevCommand(cmd string) bool {
	w := commandWords(cmd)
	if len(w) == 0 || w[0] != "net" {
		return false
	}
	for _, a := range w[1:] {
		if strings.HasPrefix(a, "-") && strings.ContainsAny(a, "sSaNRxd") {
			return false
		}
	}
	return true
}

// isFilteredCommand says whether what follows the prompt is crash output
// passed through another program, or another program's output.
func isFilteredCommand(cmd string) bool {
	return strings.IndexByte(cmd, '|') >= 0 || strings.HasPrefix(cmd, "!")
}

// ---- line parsers ----

// fieldsPrefix says whether t's space-separated fields start with want.
func fieldsPrefix(t string, want ...string) bool {
	for _, w := range want {
		var f string
		f, t = nextField(t)
		if f != w {
			return false
		}
	}
	return true
}

// isSocketHeader recognises "FD      SOCKET            SOCK       FAMILY:TYPE
// SOURCE-PORT DESTINATION-PORT" (and its 32-bit spacing).
func isSocketHeader(t string) bool {
	return len(t) > 2 && t[0] == 'F' && fieldsPrefix(t, "FD", "SOCKET", "SOCK", "FAMILY:TYPE")
}

// isNetDevHeader recognises "   NET_DEVICE     NAME   IP ADDRESS(ES)" (and
// "DEVICE" for kernels before 2.3).
func isNetDevHeader(t string) bool {
	if len(t) < 6 || t[0] != 'N' && t[0] != 'D' {
		return false
	}
	f, rest := nextField(t)
	return (f == "NET_DEVICE" || f == "DEVICE") && trimSpace(rest) != "" &&
		fieldsPrefix(rest, "NAME", "IP", "ADDRESS(ES)") && len(strings.Fields(rest)) == 3
}

// parseAddr parses an address crash printed: 8 or 16 hex digits.
func parseAddr(s string) (uint64, bool) {
	if len(s) != 8 && len(s) != 16 {
		return 0, false
	}
	return parseHex(s)
}

// parseSocket recognises a `net -s` line "7330 ffff880da69e6700
// ffff881063a669c0 INET:STREAM  1.xx.xx.20-443 11.xx.xx.190-51000", with
// IPv6 endpoints, without endpoints (UNIX:STREAM), and with a remark an
// author added after it ("<--").
func parseSocket(t string) (Socket, bool) {
	var sk Socket
	if !isDigit(t[0]) {
		return sk, false
	}
	c := newColumns(t)
	fd := column(&c, parseDec)
	sock1 := column(&c, parseAddr)
	sock2 := column(&c, parseAddr)
	famType := c.next()
	if !c.ok {
		return sk, false
	}
	fam, typ, ok := splitFamilyType(famType)
	if !ok {
		return sk, false
	}
	sk.FD, sk.Socket, sk.Sock, sk.Family, sk.Type = fd, sock1, sock2, fam, typ
	f, rest := nextField(c.rest)
	if host, port, ok := parseEndpoint(f); ok {
		sk.LocalRaw, sk.Local = f, joinHostPort(host, port)
		f, _ = nextField(rest)
		if host, port, ok := parseEndpoint(f); ok {
			sk.RemoteRaw, sk.Remote = f, joinHostPort(host, port)
		}
	}
	return sk, true
}

// splitFamilyType splits "INET:STREAM", "NETLINK/ROUTE:RAW", "16:3".
func splitFamilyType(s string) (string, string, bool) {
	i := strings.IndexByte(s, ':')
	if i < 1 || i > 16 || len(s)-i-1 < 1 || len(s)-i-1 > 12 {
		return "", "", false
	}
	fam, typ := s[:i], s[i+1:]
	for j := 0; j < len(fam); j++ {
		c := fam[j]
		if !(isUpper(c) || isDigit(c) || c == '/' || 'a' <= c && c <= 'z') {
			return "", "", false
		}
	}
	for j := 0; j < len(typ); j++ {
		if c := typ[j]; !isUpper(c) && !isDigit(c) {
			return "", "", false
		}
	}
	return fam, typ, true
}

// parseEndpoint splits "1.xx.xx.20-443" and "fe80:0:0:0:0:0:0:1-22" into
// host and port. Hosts may be masked with x or *.
func parseEndpoint(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, '-')
	if i < 1 || len(s)-i-1 < 1 || len(s)-i-1 > 5 {
		return "", "", false
	}
	host, port = s[:i], s[i+1:]
	n, ok := parseDec(port)
	if !ok || n > 65535 || !isHostAddr(host) {
		return "", "", false
	}
	return host, port, true
}

// isHostAddr accepts an IPv4 or IPv6 address as printed, masked or not.
func isHostAddr(s string) bool {
	if len(s) < 2 || len(s) > 64 || !strings.ContainsAny(s, ".:") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isHexDigit(c) || c == '.' || c == ':' || c == 'x' || c == 'X' || c == '*') {
			return false
		}
	}
	return true
}

// canonicalHost returns an IPv6 address in canonical form when it parses;
// anything else as it is.
func canonicalHost(h string) string {
	if strings.IndexByte(h, ':') < 0 {
		return h
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String()
	}
	return h
}

// joinHostPort gives "host:port", "[v6]:port".
func joinHostPort(host, port string) string {
	host = canonicalHost(host)
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// parseNetDev recognises a `net` line "ffff881068593020  lo    1.xx.xx.20",
// with no address, several comma-separated ones, and a remark after them.
func parseNetDev(t string) (NetDev, bool) {
	var d NetDev
	f, rest := nextField(t)
	addr, ok := parseAddr(f)
	if !ok {
		return d, false
	}
	name, rest := nextField(rest)
	if !isIfName(name) {
		return d, false
	}
	if i := strings.Index(rest, "<-"); i >= 0 {
		rest = rest[:i]
	}
	for rest != "" {
		var a string
		a, rest = nextField(rest)
		for _, a := range strings.Split(a, ",") {
			if a == "" {
				continue
			}
			if !isHostAddr(a) {
				return d, false
			}
			if len(d.Addrs) < maxDevAddrs {
				d.Addrs = append(d.Addrs, canonicalHost(a))
			}
		}
	}
	d.Addr, d.Name = addr, name
	return d, true
}

// isIfName accepts a Linux interface name.
func isIfName(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || isUpper(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == ':') {
			return false
		}
	}
	return true
}
