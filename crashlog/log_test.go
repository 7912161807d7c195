package crashlog

import (
	"strings"
	"testing"
)

// logOutput is `log` output: kernel log lines, which another package reads.
// None of it is ps, net or net -s output, though some lines hold numbers,
// hex words and addresses.
const logOutput = `crash> log
[    0.000000] Linux version 2.6.32-504.23.4.el6.x86_64 (mockbuild@x86-027.build.eng.bos.redhat.com)
[    1.234567] bonding: bond0: enslaving eth1 as an active interface with an up link.
[   12.500000] IPv6: ADDRCONF(NETDEV_UP): eth1: link is not ready
[  300.100000] TCP: Peer 10.40.7.190:51000/443 unexpectedly shrunk window 3977016:6181920 (repaired)
[191691.046802] ------------[ cut here ]------------
[191691.047083] kernel BUG at net/core/skbuff.c:1886!
[191691.047190] invalid opcode: 0000 [#1] SMP
[191691.047300] CPU 9
[191691.047310] Pid: 29860, comm: proc1 Not tainted 2.6.32-504.23.4.el6.x86_64 #1
[191691.047400] RIP: 0010:[<ffffffff81451ff5>]  [<ffffffff81451ff5>] skb_checksum+0x2d5/0x2f0
[191691.047500] Process proc1 (pid: 29860, threadinfo ffff880d2a1be000, task ffff881061546040)
[191691.047600] Stack:
[191691.047610]  ffff880061a03508 ffffffff8145d60a 0000000000000022 ffff880fe9624868
[191691.047700] Call Trace:
[191691.047710]  <IRQ>
[191691.047720]  [<ffffffff8145d60a>] skb_checksum_help+0x8a/0x150
[191691.047800] [ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name
[191691.047810] [29860]     0 29860  1545480   994254   9       0             0 proc1
 7330 0 0 INET:STREAM
 ffff881068593020 4096 29860 IN 5.7
 29860  29591   9  ffff881061546040  IN   5.7 6181920 3977016 proc1
`

// The last line above is a ps line: crash prints none under log, but
// pasted without its prompt it would be one; the lines before it are not.
func TestLogNotConsumed(t *testing.T) {
	lines := strings.Split(logOutput, "\n")
	for _, p := range []blockParser{&psParser{}, &netParser{}} {
		p.prompt(1, "log")
		for i, l := range lines[1 : len(lines)-2] {
			if t2 := normalize(l); t2 != "" && p.line(i+2, t2, "log") {
				t.Errorf("%T took log line %q", p, l)
			}
		}
	}
	sess := scan(logOutput, nil)
	checkRows(t, sess)
	if len(sess.NetDevs) != 0 || len(sess.Sockets) != 0 || len(sess.Tasks) != 1 || sess.Tasks[0].Line != len(lines)-1 {
		t.Errorf("found %s", dump(&Session{Tasks: sess.Tasks, NetDevs: sess.NetDevs, Sockets: sess.Sockets}))
	}
}

// TestLogAfterNet: kernel log lines after a net listing end it and are not
// taken for devices.
func TestLogAfterNet(t *testing.T) {
	text := "crash> net\n   NET_DEVICE     NAME   IP ADDRESS(ES)\nffff881068593020  lo    127.0.0.1\n" +
		"[  12.500000] IPv6: ADDRCONF(NETDEV_UP): eth1: link is not ready\nffff881068560020  eth1\n"
	sess := scan(text, nil)
	if len(sess.NetDevs) != 1 || sess.NetDevs[0].Name != "lo" {
		t.Errorf("devices = %s", dump(&Session{NetDevs: sess.NetDevs}))
	}
}
