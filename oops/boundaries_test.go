package oops

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// longGuardPage is a stack overflow whose trace runs past maxReportLines:
// the frame that names it is deep.
func longGuardPage() string {
	var b strings.Builder
	b.WriteString("[  733.821133][    C1] BUG: stack guard page was hit at ffffc900190cfff8 (stack is ffffc900190d0000..ffffc900190d7fff)\n")
	b.WriteString("[  733.821187][    C1] RIP: 0010:netdev_next_lower_dev_rcu+0x8/0xb0\n")
	b.WriteString("[  733.821341][    C1] Call Trace:\n")
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&b, "[  733.8214%02d][    C1]  __netdev_walk_all_lower_dev+0x%x/0x300\n", i%100, 0x100+i)
	}
	for _, f := range []string{"rtnl_newlink+0x64/0xa0", "rtnetlink_rcv_msg+0x44b/0xc10", "netlink_rcv_skb+0x15a/0x430",
		"netlink_unicast+0x533/0x7d0", "netlink_sendmsg+0x856/0xd90", "sock_sendmsg+0xcf/0x120", "____sys_sendmsg+0x6e8/0x810",
		"___sys_sendmsg+0xf3/0x170", "__sys_sendmsg+0xe5/0x1b0", "do_syscall_64+0x35/0xb0", "entry_SYSCALL_64_after_hwframe+0x44/0xae"} {
		fmt.Fprintf(&b, "[  733.826000][    C1]  %s\n", f)
	}
	b.WriteString("[  737.720017][    C1] ---[ end trace c7333c57bb52e2a5 ]---\n")
	return b.String()
}

// TestReportBoundaries holds the scanner to where syzkaller's findReport
// ends a report's text for its title and corrupted flag.
func TestReportBoundaries(t *testing.T) {
	cases := []struct {
		name, log, title string
		corrupted        bool
	}{
		{"trace past the line limit", longGuardPage(), "BUG: stack guard page was hit in rtnl_newlink", false},
		{"double fault inside a paging request", `[  946.951230] BUG: unable to handle kernel paging request at 000000fe840fc4b9
[  946.967748] Oops: 0000 [#1] PREEMPT SMP
[  946.967891] PANIC: double fault, error_code: 0x0
[  946.971713] CPU: 1 PID: 5429 Comm: syz-fuzzer Not tainted 4.20.0+ #139
[  946.998723] RIP: 0010:lookup_object+0x11/0x80
[  947.202775] Call Trace:
[  947.212587]  scan_block+0x7f/0x100
[  947.218655]  scan_gray_list+0xee/0x160
[  947.227856]  kmemleak_scan+0x2d1/0x560
[  947.358723] ---[ end trace d847ed588e530688 ]---
`, "BUG: unable to handle kernel paging request in lookup_object", false},
		{"a message with its own stack cuts the report", `[  127.359095] ------------[ cut here ]------------
[  127.364981] ODEBUG: free active (active state 0) object type: work_struct hint: process_one_req+0x0/0x6c0
[  127.374778] WARNING: CPU: 1 PID: 16250 at lib/debugobjects.c:291 debug_print_object+0x166/0x220
[  127.375356] syz-executor3: vmalloc: allocation failure: 0 bytes, mode:0x14000c0(GFP_KERNEL), nodemask=(null)
[  127.383605] CPU: 1 PID: 16250 Comm: kworker/u4:6 Not tainted 4.16.0-rc5+ #264
[  127.383628] Call Trace:
[  127.383641]  dump_stack+0x194/0x24d
[  127.613464]  process_one_req+0x2e7/0x6c0
[  127.625519]  process_one_work+0xc47/0x1bb0
`, "WARNING: ODEBUG bug in corrupted", true},
		{"a stack start without frames before the next", `[   10.584905] PANIC: double fault, error_code: 0x0
[   10.585372] CPU: 0 PID: 917 Comm: netifd Not tainted 4.14.0-rc1-00015-gf5caf62 #2
[   10.587519] RIP: 0010:compat_sock_ioctl+0xfea/0x103e
[   10.593623] Call Trace:
[   10.593858] Code: 02 0f ff 65 48 8b 04 25 80 d1 00 00 48 8b 80 28 25 00 00 48 83 e8 20
[   10.597786] Call Trace:
[   10.598216]  dump_stack+0x8f/0xc4
[   10.598527]  panic+0xda/0x22f
[   10.599791]  compat_sock_ioctl+0xfea/0x103e
`, "PANIC: double fault in compat_sock_ioctl", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reps, err := Parse(bytes.NewReader([]byte(c.log)), c.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) == 0 {
				t.Fatal("no report")
			}
			if r := reps[0]; r.Title != c.title || r.Corrupted != c.corrupted {
				t.Errorf("got %q corrupted %v (%s), want %q corrupted %v", r.Title, r.Corrupted, r.CorruptedReason, c.title, c.corrupted)
			}
		})
	}
}
