package crashlog

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// checkRows states what must hold of the ps, net and net -s rows of any
// Session.
func checkRows(t *testing.T, s *Session) {
	t.Helper()
	if len(s.Tasks) > MaxTasks || len(s.NetDevs) > MaxNetDevs || len(s.Sockets) > MaxSockets || s.RowsDropped < 0 {
		t.Fatalf("over the limits: %d tasks, %d devices, %d sockets, %d dropped", len(s.Tasks), len(s.NetDevs), len(s.Sockets), s.RowsDropped)
	}
	prev := 0
	for i, x := range s.Tasks {
		if x.Line <= prev || !psStates[x.State] || x.Comm == "" || len(x.Comm) > maxCommLen || x.CPU < -1 || x.MemPct < 0 || x.MemPct > 100 {
			t.Fatalf("task %d: %+v", i, x)
		}
		prev = x.Line
	}
	prev = 0
	for i, d := range s.NetDevs {
		if d.Line <= prev || !isIfName(d.Name) || len(d.Addrs) > maxDevAddrs || d.Addrs != nil && len(d.Addrs) == 0 {
			t.Fatalf("device %d: %+v", i, d)
		}
		prev = d.Line
	}
	prev = 0
	for i, x := range s.Sockets {
		if x.Line <= prev || x.Family == "" || x.Type == "" {
			t.Fatalf("socket %d: %+v", i, x)
		}
		if (x.LocalRaw == "") != (x.Local == "") || (x.RemoteRaw == "") != (x.Remote == "") || x.Local == "" && x.Remote != "" {
			t.Fatalf("socket %d endpoints: %+v", i, x)
		}
		if x.Task != nil && (x.Task.PID < 0 || x.Task.CPU < -1) {
			t.Fatalf("socket %d task: %+v", i, x.Task)
		}
		prev = x.Line
	}
}

func TestSeedNet(t *testing.T) {
	sess := scanAllVariants(t, readShared(t, testshared.Seed))
	checkRows(t, sess)

	wantTasks := []Task{{PID: 29860, PPID: 29591, CPU: 9, TaskAddr: 0xffff881061546040, State: "IN",
		MemPct: 5.7, VSZ: 6181920, RSS: 3977016, Comm: "proc1"}}
	got := append([]Task(nil), sess.Tasks...)
	for i := range got {
		got[i].Line = 0
	}
	if !reflect.DeepEqual(got, wantTasks) {
		t.Errorf("tasks = %+v, want %+v", sess.Tasks, wantTasks)
	}

	wantDevs := []NetDev{
		{Addr: 0xffff881068593020, Name: "lo", Addrs: []string{"1.xx.xx.20"}},
		{Addr: 0xffff881068560020, Name: "eth1"},
		{Addr: 0xffff881062192020, Name: "bond0"},
		{Addr: 0xffff881062345020, Name: "bond1"},
	}
	devs := append([]NetDev(nil), sess.NetDevs...)
	for i := range devs {
		devs[i].Line = 0
	}
	if !reflect.DeepEqual(devs, wantDevs) {
		t.Errorf("devices = %s", dump(&Session{NetDevs: sess.NetDevs}))
	}

	if len(sess.Sockets) != 1 {
		t.Fatalf("sockets = %s", dump(&Session{Sockets: sess.Sockets}))
	}
	sk := sess.Sockets[0]
	want := Socket{FD: 7330, Socket: 0xffff880da69e6700, Sock: 0xffff881063a669c0, Family: "INET", Type: "STREAM",
		LocalRaw: "1.xx.xx.20-443", RemoteRaw: "11.xx.xx.190-51000", Local: "1.xx.xx.20:443", Remote: "11.xx.xx.190:51000",
		Task: nil, Filtered: true, Line: sk.Line}
	if !reflect.DeepEqual(sk, want) {
		t.Errorf("socket = %+v\nwant %+v", sk, want)
	}
	// The grep'd line has no header: it names no task, though the document
	// shows a ps line and a bt header elsewhere.
	if lines := strings.Split(readShared(t, testshared.Seed), "\n"); !strings.HasPrefix(lines[sk.Line-1], "7330 ") {
		t.Errorf("socket line %d = %q", sk.Line, lines[sk.Line-1])
	}
	if sess.RowsDropped != 0 {
		t.Errorf("dropped %d", sess.RowsDropped)
	}
}

func TestNetTranscript(t *testing.T) {
	text := readTestdata(t, "net_foreach.txt")
	sess := scanAllVariants(t, text)
	if crlf := scan(readTestdata(t, "net_foreach_crlf.txt"), nil); !reflect.DeepEqual(crlf, sess) {
		t.Errorf("the stripped CRLF copy differs:\n%s", dump(crlf))
	}
	lines := strings.Split(text, "\n")

	systemd := &TaskRef{PID: 1, TaskAddr: 0xffff88107c6c0040, CPU: 3, Comm: "systemd"}
	proc1 := &TaskRef{PID: 29860, TaskAddr: 0xffff881061546040, CPU: 9, Comm: "proc1"}
	type sock struct {
		fd                      int
		sock                    uint64
		family, typ             string
		localRaw, local, remote string
		task                    *TaskRef
	}
	want := []sock{
		{7, 0xffff88107a1b6800, "NETLINK/ROUTE", "RAW", "", "", "", systemd},
		{9, 0xffff881079d4f000, "UNIX", "DGRAM", "", "", "", systemd},
		{12, 0xffff88105f2e4c00, "INET6", "STREAM", "fe80:0:0:0:0:0:0:1-22", "[fe80::1]:22", "[fe80::21b:21ff:fe3c:4d5e]:51544", systemd},
		{14, 0xffff881079d4f400, "UNIX", "STREAM", "", "", "", systemd},
		{15, 0xffff88105f2e5400, "INET6", "STREAM", "0:0:0:0:0:0:0:0-22", "[::]:22", "[::]:0", systemd},
		{3, 0xffff881063a66000, "INET", "STREAM", "0.0.0.0-443", "0.0.0.0:443", "0.0.0.0:0", proc1},
		{7330, 0xffff881063a669c0, "INET", "STREAM", "10.12.0.20-443", "10.12.0.20:443", "10.40.7.190:51000", proc1},
		{7331, 0xffff881063a67380, "INET", "DGRAM", "10.12.0.20-53", "10.12.0.20:53", "0.0.0.0:0", proc1},
	}
	if len(sess.Sockets) != len(want) {
		t.Fatalf("sockets = %s", dump(&Session{Sockets: sess.Sockets}))
	}
	for i, w := range want {
		g := sess.Sockets[i]
		if g.FD != w.fd || g.Sock != w.sock || g.Family != w.family || g.Type != w.typ || g.LocalRaw != w.localRaw ||
			g.Local != w.local || g.Remote != w.remote || !reflect.DeepEqual(g.Task, w.task) || g.Filtered {
			t.Errorf("socket %d = %+v task %+v, want %+v", i, g, g.Task, w)
		}
		if f, _ := nextField(strings.TrimSpace(lines[g.Line-1])); f != strconv.Itoa(w.fd) {
			t.Errorf("socket %d line %d = %q", i, g.Line, lines[g.Line-1])
		}
	}
	if sess.Sockets[0].Task != sess.Sockets[4].Task {
		t.Error("the sockets of one listing do not share their TaskRef")
	}

	type task struct {
		pid, ppid, cpu int
		st             string
		comm           string
		active         bool
	}
	wantTasks := []task{
		{0, 0, 0, "RU", "swapper/0", true}, {0, 0, 1, "RU", "swapper/1", true}, {1, 0, 3, "IN", "systemd", false},
		{2, 0, 0, "IN", "kthreadd", false}, {47, 2, 4, "ID", "kworker/4:1", false}, {1204, 1, 5, "UN", "sshd", false},
		{29860, 29591, 9, "RU", "proc1", true}, {29861, 29860, 2, "ZO", "proc1", false},
	}
	if len(sess.Tasks) != len(wantTasks) {
		t.Fatalf("tasks = %s", dump(&Session{Tasks: sess.Tasks}))
	}
	for i, w := range wantTasks {
		g := sess.Tasks[i]
		if g.PID != w.pid || g.PPID != w.ppid || g.CPU != w.cpu || g.State != w.st || g.Comm != w.comm || g.Active != w.active {
			t.Errorf("task %d = %+v, want %+v", i, g, w)
		}
	}
	if x := sess.Tasks[6]; x.TaskAddr != 0xffff881061546040 || x.MemPct != 5.7 || x.VSZ != 6181920 || x.RSS != 3977016 {
		t.Errorf("proc1 = %+v", x)
	}
	if x := sess.Tasks[1]; x.TaskAddr != 0xffff88107c6e8ae0 || !strings.Contains(lines[x.Line-1], "swapper/1") {
		t.Errorf("swapper/1 = %+v", x)
	}

	wantDevs := []NetDev{
		{Addr: 0xffff88107a3c8000, Name: "lo", Addrs: []string{"127.0.0.1", "::1"}},
		{Addr: 0xffff881068560000, Name: "eth0", Addrs: []string{"10.12.0.20", "10.12.0.21", "fe80::21b:21ff:fe3c:4d5e"}},
		{Addr: 0xffff881068564000, Name: "eth1"},
		{Addr: 0xffff881062190000, Name: "bond0.100", Addrs: []string{"192.168.xx.5"}},
	}
	devs := append([]NetDev(nil), sess.NetDevs...)
	for i := range devs {
		if !strings.HasPrefix(strings.TrimSpace(lines[devs[i].Line-1]), hexString(devs[i].Addr)) {
			t.Errorf("device %d line %d = %q", i, devs[i].Line, lines[devs[i].Line-1])
		}
		devs[i].Line = 0
	}
	if !reflect.DeepEqual(devs, wantDevs) {
		t.Errorf("devices = %s", dump(&Session{NetDevs: sess.NetDevs}))
	}
	if len(sess.Backtraces) != 0 || len(sess.SysBlocks) != 0 {
		t.Errorf("found bt or sys: %s", dump(sess))
	}
}

// withoutRows is a scanner with none of the ps and net parsers: the
// scanner as it was before them.
func withoutRows() *Scanner {
	var blocks []blockParser
	for _, b := range NewScanner().blocks {
		switch b.(type) {
		case *psParser, *netParser:
		default:
			blocks = append(blocks, b)
		}
	}
	return &Scanner{blocks: blocks}
}

func feed(s *Scanner, text string) *Session {
	for i, l := range strings.Split(text, "\n") {
		s.Line(i+1, l)
	}
	return s.Finish()
}

// TestBtUnchanged: the ps and net parsers take no line bt or sys would
// have used, on any transcript.
func TestBtUnchanged(t *testing.T) {
	docs := map[string]string{}
	for _, name := range []string{"bt_net.txt", "net_foreach.txt", "bt_all_cpus.txt", "bt_flags.txt",
		"bt_pasted_noise.txt", "bt_sysrq_panic.txt", "bt_truncated.txt", "sys_variants.txt"} {
		docs[name] = readTestdata(t, name)
	}
	for name, text := range docs {
		t.Run(name, func(t *testing.T) {
			with, without := feed(NewScanner(), text), feed(withoutRows(), text)
			if !reflect.DeepEqual(with.Backtraces, without.Backtraces) || !reflect.DeepEqual(with.SysBlocks, without.SysBlocks) {
				t.Errorf("bt or sys differ:\n%s\nwithout the row parsers:\n%s", dump(with), dump(without))
			}
		})
	}
}

func TestBtAndNet(t *testing.T) {
	text := readTestdata(t, "bt_net.txt")
	sess := scanAllVariants(t, text)
	if len(sess.Backtraces) != 3 {
		t.Fatalf("backtraces = %d:\n%s", len(sess.Backtraces), dump(sess))
	}
	b := sess.Backtraces[0]
	if derefInt(b.PID) != 29860 || b.Task != "ffff881061546040" || len(b.AllFrames) != 8 || b.Exception != nil ||
		b.AllFrames[7].Function != "system_call_fastpath" || len(b.AllFrames[7].Regs) != 21 || b.AllFrames[7].Regs["ORIG_RAX"] != 0x2d {
		t.Errorf("proc1 bt = %s", dump(&Session{Backtraces: []*Backtrace{b}}))
	}
	b = sess.Backtraces[1]
	if derefInt(b.PID) != 0 || len(b.AllFrames) != 12 || b.Exception == nil || b.Exception.Function != "skb_checksum" ||
		len(b.Exception.Regs) != 21 || len(b.Trace) != 5 || b.Trace[4].Function != "bond_dev_queue_xmit" {
		t.Errorf("swapper bt = %s", dump(&Session{Backtraces: []*Backtrace{b}}))
	}
	// A frame pasted under the last net -s listing continues the header's
	// bt, as it did before the net parser existed (TestBtUnchanged).
	if b = sess.Backtraces[2]; derefInt(b.PID) != 1204 || len(b.AllFrames) != 1 {
		t.Errorf("last bt = %s", dump(&Session{Backtraces: []*Backtrace{b}}))
	}

	proc1 := &TaskRef{PID: 29860, TaskAddr: 0xffff881061546040, CPU: 9, Comm: "proc1"}
	sshd := &TaskRef{PID: 1204, TaskAddr: 0xffff881076a3e080, CPU: 5, Comm: "sshd"}
	want := []struct {
		fd     int
		local  string
		remote string
		task   *TaskRef
	}{
		{3, "0.0.0.0:443", "0.0.0.0:0", proc1},
		{7330, "1.xx.xx.20:443", "11.xx.xx.190:51000", proc1},
		{3, "0.0.0.0:22", "0.0.0.0:0", sshd},
		{4, "[::]:22", "[::]:0", sshd},
	}
	if len(sess.Sockets) != len(want) {
		t.Fatalf("sockets = %s", dump(&Session{Sockets: sess.Sockets}))
	}
	for i, w := range want {
		g := sess.Sockets[i]
		if g.FD != w.fd || g.Local != w.local || g.Remote != w.remote || !reflect.DeepEqual(g.Task, w.task) || g.Filtered {
			t.Errorf("socket %d = %+v task %+v", i, g, g.Task)
		}
	}
}

// TestTaskHeaderWiring checks that the Scanner itself offers task headers
// to the net parser (scanner.go calling offerTaskHeader where it opens a bt
// on a header): without it a socket never names its task.
func TestTaskHeaderWiring(t *testing.T) {
	text := "crash> net -s\nPID: 1204   TASK: ffff881076a3e080  CPU: 5   COMMAND: \"sshd\"\n" +
		"FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT\n" +
		" 3 ffff881076b1c000 ffff881076c2d000 INET:STREAM  0.0.0.0-22 0.0.0.0-0\n"
	sess := scan(text, nil)
	if len(sess.Sockets) != 1 {
		t.Fatalf("sockets = %s", dump(sess))
	}
	if sess.Sockets[0].Task == nil || sess.Sockets[0].Task.PID != 1204 {
		t.Errorf("task = %+v", sess.Sockets[0].Task)
	}
}

// TestNetProvenance: which socket lines name their task.
func TestNetProvenance(t *testing.T) {
	const (
		hdr   = "PID: 1204   TASK: ffff881076a3e080  CPU: 5   COMMAND: \"sshd\"\n"
		cols  = "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT\n"
		sock3 = " 3 ffff881076b1c000 ffff881076c2d000 INET:STREAM  0.0.0.0-22 0.0.0.0-0\n"
		sock4 = " 4 ffff881076b1c280 ffff881076c2d800 UNIX:STREAM\n"
		frame = " #0 [ffff880d2a1bfa48] schedule at ffffffff8152a7b0\n"
	)
	tests := []struct {
		name     string
		text     string
		tasks    []bool // per socket: named its task
		filtered bool   // the last socket is marked filtered
	}{
		{"listing", "crash> net -s\n" + hdr + cols + sock3 + sock4, []bool{true, true}, false},
		{"no prompt", hdr + cols + sock3 + sock4, []bool{true, true}, false},
		{"blank lines doubled", hdr + "\n" + cols + "\n" + sock3 + "\n" + sock4, []bool{true, true}, false},
		{"grep'd line", "crash> net -s | grep ffff881076c2d000\n" + sock3, []bool{false}, true},
		{"shell grep of a saved listing", "crash> !grep ffff881076c2d000 sockets.out\n" + sock3, []bool{false}, true},
		{"headers kept by grep", "crash> foreach net -s | grep -e PID -e ffff881076c2d000\n" + hdr + sock3, []bool{true}, true},
		{"column header without task header", cols + sock3, []bool{false}, false},
		{"a header far above", hdr + "\n\n\n\n\n" + cols + sock3, []bool{false}, false},
		{"a bt between", hdr + frame + frame + frame + frame + sock3, []bool{false}, false},
		{"register line between", hdr + "    RIP: 00000033a5a0ec5c  RSP: 00007f2b5a7fbc40  RFLAGS: 00000246\n" + cols + sock3, []bool{false}, false},
		{"prose between", hdr + cols + sock3 + "this one is odd\n" + sock4, []bool{true, false}, false},
		{"a prompt between", hdr + cols + sock3 + "crash> net -s | grep x\n" + sock4, []bool{true, false}, true},
		{"no open sockets ends the task", hdr + "No open sockets.\n" + sock3, []bool{false}, false},
		{"next task's header without its column header", hdr + cols + sock3 + hdr + sock4, []bool{true, true}, false},
		{"second column header without its task header", hdr + cols + sock3 + cols + sock4, []bool{true, false}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess := scan(tc.text, nil)
			checkRows(t, sess)
			if len(sess.Sockets) != len(tc.tasks) {
				t.Fatalf("sockets = %s", dump(sess))
			}
			for i, named := range tc.tasks {
				g := sess.Sockets[i]
				if (g.Task != nil) != named || g.Task != nil && g.Task.PID != 1204 {
					t.Errorf("socket %d task = %+v, want named=%v", i, g.Task, named)
				}
				if i == len(tc.tasks)-1 && g.Filtered != tc.filtered {
					t.Errorf("socket %d filtered = %v", i, g.Filtered)
				}
			}
		})
	}
}

func TestParseSocket(t *testing.T) {
	tests := []struct {
		line                string
		ok                  bool
		fd                  int
		family, typ         string
		local, remote, lraw string
	}{
		{"7330 ffff880da69e6700 ffff881063a669c0 INET:STREAM  1.xx.xx.20-443 11.xx.xx.190-51000 <--", true, 7330, "INET", "STREAM", "1.xx.xx.20:443", "11.xx.xx.190:51000", "1.xx.xx.20-443"},
		{"12 ffff88107a7f9680 ffff88105f2e4c00 INET6:STREAM fe80:0:0:0:0:0:0:1-22 fe80:0:0:0:21b:21ff:fe3c:4d5e-51544", true, 12, "INET6", "STREAM", "[fe80::1]:22", "[fe80::21b:21ff:fe3c:4d5e]:51544", "fe80:0:0:0:0:0:0:1-22"},
		{"5 ffff88107a7f9680 ffff88105f2e4c00 INET6:STREAM 0:0:0:0:0:ffff:a0c:14-443 0:0:0:0:0:ffff:a28:7be-51000", true, 5, "INET6", "STREAM", "[::ffff:10.12.0.20]:443", "[::ffff:10.40.7.190]:51000", "0:0:0:0:0:ffff:a0c:14-443"},
		{"5 ffff88107a7f9680 ffff88105f2e4c00 INET6:STREAM fe80:xx:xx:1-22 fe80:xx:xx:2-51544", true, 5, "INET6", "STREAM", "[fe80:xx:xx:1]:22", "[fe80:xx:xx:2]:51544", "fe80:xx:xx:1-22"},
		{"6 ffff88107a7f9680 ffff88105f2e4c00 INET6:DGRAM (cannot get IPv6 addresses)", true, 6, "INET6", "DGRAM", "", "", ""},
		{"9 ffff88107a7f8c80 ffff881079d4f000 UNIX:DGRAM", true, 9, "UNIX", "DGRAM", "", "", ""},
		{"9 ffff88107a7f8c80 ffff881079d4f000 16:3", true, 9, "16", "3", "", "", ""},
		{"3   c1a2b3c4   c5d6e7f8   INET:STREAM     10.0.0.1-22      10.0.0.2-40000", true, 3, "INET", "STREAM", "10.0.0.1:22", "10.0.0.2:40000", "10.0.0.1-22"},
		{"3 ffff880da69e6400 ffff881063a66000 INET:STREAM 0.0.0.0-443 remark", true, 3, "INET", "STREAM", "0.0.0.0:443", "", "0.0.0.0-443"},
		{"3 ffff880da69e6400 ffff881063a66000 INET:STREAM 0.0.0.0-99999 0.0.0.0-0", true, 3, "INET", "STREAM", "", "", ""},
		// not socket lines
		{"3 ffff880da69e6400 ffff881063a66000", false, 0, "", "", "", "", ""},
		{"3 ffff880da69e640 ffff881063a66000 INET:STREAM", false, 0, "", "", "", "", ""},
		{"3 ffff880da69e6400 ffff881063a66000 INET:", false, 0, "", "", "", "", ""},
		{"3 ffff880da69e6400 ffff881063a66000 :STREAM", false, 0, "", "", "", "", ""},
		{"3 ffff880da69e6400 ffff881063a66000 note: the socket", false, 0, "", "", "", "", ""},
		{"29860  29591   9  ffff881061546040  IN   5.7 6181920 3977016  [proc1]", false, 0, "", "", "", "", ""},
		{"0000000000000000 ffff881063a669c0 ffff880da69e6700 0000000000000001", false, 0, "", "", "", "", ""},
		{"12 sockets were open at 10:42:01", false, 0, "", "", "", "", ""},
	}
	for _, tc := range tests {
		sk, ok := parseSocket(tc.line)
		if !accepted(t, tc.line, ok, tc.ok) {
			continue
		}
		if sk.FD != tc.fd || sk.Family != tc.family || sk.Type != tc.typ || sk.Local != tc.local || sk.Remote != tc.remote || sk.LocalRaw != tc.lraw {
			t.Errorf("%q = %+v", tc.line, sk)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	tests := []struct {
		line  string
		ok    bool
		name  string
		addrs []string
	}{
		{"ffff881068593020  lo    1.xx.xx.20", true, "lo", []string{"1.xx.xx.20"}},
		{"ffff881068560020  eth1", true, "eth1", nil},
		{"ffff881068560020  eth1   <-- the bonded slave", true, "eth1", nil},
		{"ffff88107a3c8000  lo         127.0.0.1, ::1", true, "lo", []string{"127.0.0.1", "::1"}},
		{"ffff88107a3c8000  eth0       10.0.0.1,10.0.0.2, fe80:0:0::1", true, "eth0", []string{"10.0.0.1", "10.0.0.2", "fe80::1"}},
		{"c1a2b3c4  eth0   10.0.0.1", true, "eth0", []string{"10.0.0.1"}},
		{"ffff881068593020 is the lo device", false, "", nil},
		{"ffffffff8145d60a (T) skb_checksum_help+138", false, "", nil},
		{"ffff880061a03508: [skbuff_fclone_cache] 0000000000000022", false, "", nil},
		{"ffff8810685930  lo  1.2.3.4", false, "", nil},
		{"ffff88003c8e0c00 10.0.0.1  ETHER  52:54:00:12:34:56  eth0  REACHABLE", false, "", nil},
	}
	for _, tc := range tests {
		d, ok := parseNetDev(tc.line)
		if ok != tc.ok || ok && (d.Name != tc.name || !reflect.DeepEqual(d.Addrs, tc.addrs)) {
			t.Errorf("%q = %+v, %v", tc.line, d, ok)
		}
	}
}

// TestNetListings: device lines are taken under `net` or its header only.
func TestNetListings(t *testing.T) {
	tests := []struct {
		name string
		text string
		devs []string
	}{
		{"header", "   NET_DEVICE     NAME   IP ADDRESS(ES)\nffff881068593020  lo    127.0.0.1\nffff881068560020  eth1\n", []string{"lo", "eth1"}},
		{"old header", "  DEVICE   NAME   IP ADDRESS(ES)\nc1a2b3c4  eth0   10.0.0.1\n", []string{"eth0"}},
		{"net | grep", "crash> net | grep eth\nffff881068560020  eth1   10.0.0.1\n", []string{"eth1"}},
		{"net -n", "crash> net -n 1204\nffff881068560020  eth1   10.0.0.1\n", []string{"eth1"}},
		{"no header, no command", "ffff881068593020  lo    127.0.0.1\n", nil},
		{"other command", "crash> net -a\nffff881068593020  lo    127.0.0.1\n", nil},
		{"prose ends the listing", "crash> net\nffff881068593020  lo    127.0.0.1\nthe next one:\nffff881068560020  eth1\n", []string{"lo"}},
		{"prompt ends the listing", "   NET_DEVICE     NAME   IP ADDRESS(ES)\nffff881068593020  lo\ncrash> sym ffffffff8145d60a\nffffffff8145d60a  lo\n", []string{"lo"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess := scan(tc.text, nil)
			checkRows(t, sess)
			var got []string
			for _, d := range sess.NetDevs {
				got = append(got, d.Name)
			}
			if !reflect.DeepEqual(got, tc.devs) {
				t.Errorf("devices = %v, want %v", got, tc.devs)
			}
		})
	}
}

func TestNetLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("crash> foreach net -s\n")
	for i := 0; i < MaxSockets+5; i++ {
		sb.WriteString(" 3 ffff881076b1c000 ffff881076c2d000 INET:STREAM  0.0.0.0-22 0.0.0.0-0\n")
	}
	sb.WriteString("crash> net\n")
	for i := 0; i < MaxNetDevs+7; i++ {
		sb.WriteString("ffff881068560020  eth1   " + strings.Repeat("10.0.0.1, ", 100) + "\n")
	}
	sess := scan(sb.String(), nil)
	checkRows(t, sess)
	if len(sess.Sockets) != MaxSockets || len(sess.NetDevs) != MaxNetDevs || sess.RowsDropped != 12 {
		t.Errorf("%d sockets, %d devices, %d dropped", len(sess.Sockets), len(sess.NetDevs), sess.RowsDropped)
	}
	if n := len(sess.NetDevs[0].Addrs); n != maxDevAddrs {
		t.Errorf("%d addresses kept", n)
	}
}

// fuzzRows feeds data after each of cmds' prompts and checks the rows.
func fuzzRows(t *testing.T, data string, cmds ...string) {
	var sb strings.Builder
	for _, c := range cmds {
		sb.WriteString("crash> " + c + "\n")
		sb.WriteString(data)
		sb.WriteString("\n")
	}
	s := scan(sb.String(), nil)
	checkInvariants(t, s)
	checkRows(t, s)
}

// FuzzNet feeds arbitrary text as the output of net commands.
func FuzzNet(f *testing.F) {
	fuzz(f, []string{
		"PID: 29860  TASK: ffff881061546040  CPU: 9   COMMAND: \"proc1\"\nFD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT\n7330 ffff880da69e6700 ffff881063a669c0 INET:STREAM  1.xx.xx.20-443 11.xx.xx.190-51000 <--\n",
		"12 ffff88107a7f9680 ffff88105f2e4c00 INET6:STREAM fe80:0:0:0:0:0:0:1-22 fe80:0:0:0:21b:21ff:fe3c:4d5e-51544\n9 ffff88107a7f8c80 ffff881079d4f000 UNIX:DGRAM\nNo open sockets.\n",
		"   NET_DEVICE     NAME   IP ADDRESS(ES)\nffff881068593020  lo    1.xx.xx.20, ::1\nffff881068560020  eth1   \n",
		"1 ffffffffffffffff 0000000000000000 A:B -1-1 ::-65535\nffffffff  x  ::,,::\n",
	}, func(t *testing.T, data string) {
		fuzzRows(t, data, "net", "net -s | grep x", "foreach net -s", "")
	})
}
