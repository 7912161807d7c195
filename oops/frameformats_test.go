package oops

import (
	"strings"
	"testing"
)

// TestFrameFormats parses reports whose frames or facts come in the forms
// other tools and older kernels print: decode_stacktrace.sh's decoded
// lines, hashed "(ptrval)" addresses, the 2.6 kernels' release on the
// EFLAGS line, arm traces without a keyword. Each log is ours, written
// after those printk formats.
func TestFrameFormats(t *testing.T) {
	cases := []struct {
		name, log     string
		title, guilty string
		release       string
		minFrames     int
	}{
		{
			name: "decoded RIP and frames",
			log: `general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN
CPU: 1 PID: 4242 Comm: repro Not tainted 6.5.0 #1
RIP: 0010:memcpy_orig (arch/x86/lib/memcpy_64.S:71)
Code: 48 89 f8 48 83 fa 20 72 7e 40 38 fe 7c 35 48 83 ea 20 48 83 ea 20 4c 8b 06 4c 8b 4e 08
RSP: 0018:ffffc90000003d48 EFLAGS: 00010246
Call Trace:
 <TASK>
 ? die_addr (arch/x86/kernel/dumpstack.c:460)
 mydrv_rx_copy (drivers/net/mydrv/rx.c:1332 (discriminator 1)) mydrv
 mydrv_poll (drivers/net/mydrv/main.c:210) mydrv
 net_rx_action (net/core/dev.c:6565)
 __do_softirq (kernel/softirq.c:553)
 </TASK>
`,
			title: "general protection fault in mydrv_rx_copy", guilty: "mydrv_rx_copy", release: "6.5.0", minFrames: 4,
		},
		{
			name: "decoded RIP names the guilty function",
			log: `BUG: kernel NULL pointer dereference, address: 0000000000000008
#PF: supervisor read access in kernel mode
Oops: 0000 [#1] PREEMPT SMP NOPTI
CPU: 0 PID: 77 Comm: kworker/0:2 Not tainted 6.1.0-13-amd64 #1
RIP: 0010:mydrv_reset (drivers/misc/mydrv.c:88) mydrv
Call Trace:
 <TASK>
 process_one_work (kernel/workqueue.c:2289)
 worker_thread (kernel/workqueue.c:2436)
 </TASK>
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in mydrv_reset", guilty: "mydrv_reset", release: "6.1.0-13-amd64", minFrames: 2,
		},
		{
			name: "symbolized inline RIP lines are one report, the raw RIP's function guilty",
			log: `Oops: general protection fault, probably for non-canonical address 0xdffffc0000000096: 0000 [#1] SMP KASAN PTI
KASAN: null-ptr-deref in range [0x00000000000004b0-0x00000000000004b7]
CPU: 0 UID: 0 PID: 5987 Comm: repro Not tainted 6.17.0 #0 PREEMPT(full)
RIP: 0010:mydrv_sock security/mydrv/include/net.h:57 [inline]
RIP: 0010:mydrv_sock_rcv_skb+0x3a/0x350 security/mydrv/lsm.c:1513
RSP: 0018:ffffc90003b8f6e8 EFLAGS: 00010206
Call Trace:
 <TASK>
 security_sock_rcv_skb+0x8f/0x270 security/security.c:4333
 sk_filter_trim_cap+0x19b/0xd90 net/core/filter.c:156
 </TASK>
`,
			title: "general protection fault in mydrv_sock_rcv_skb", guilty: "mydrv_sock_rcv_skb", release: "6.17.0", minFrames: 2,
		},
		{
			name: "decoded RIP of an inlined call, bare module",
			log: `BUG: kernel NULL pointer dereference, address: 0000000000000008
Oops: Oops: 0000 [#1] PREEMPT SMP PTI
CPU: 1 PID: 25760 Comm: kworker/1:2 Not tainted 6.10.3_2 #1
RIP: 0010:mydrv_reserve_bandwidth (drivers/usb/host/mydrv.c:2392 drivers/usb/host/mydrv.c:2758) mydrv_hcd
Call Trace:
 <TASK>
 mydrv_check_bandwidth (drivers/usb/host/mydrv.c:2913) mydrv_hcd
 usb_hcd_alloc_bandwidth (drivers/usb/core/hcd.c:1950) usbcore
 </TASK>
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in mydrv_reserve_bandwidth", guilty: "mydrv_reserve_bandwidth", release: "6.10.3_2", minFrames: 2,
		},
		{
			name: "decoded RIP and frames cut by a mailer's wrap",
			log: `general protection fault, probably for non-canonical address
    0xdffffc0000000046: 0000 [#1] PREEMPT SMP KASAN NOPTI
KASAN: null-ptr-deref in range [0x0000000000000230-0x0000000000000237]
CPU: 1 PID: 45 Comm: kworker/1:1 Not tainted 6.1.0-rc7+ #2
RIP: 0010:mydrv_hard_header (./include/linux/netdevice.h:3057
    (discriminator 4) drivers/net/mydrv.c:594 (discriminator 4))
RSP: 0018:ffff888103d377d0 EFLAGS: 00010212
Call Trace:
 <TASK>
neigh_connected_output (./include/linux/netdevice.h:3060
    net/core/neighbour.c:1595)
ip6_finish_output2 (./include/net/neighbour.h:546
    net/ipv6/ip6_output.c:134)
`,
			title: "general protection fault in mydrv_hard_header", guilty: "mydrv_hard_header", release: "6.1.0-rc7+", minFrames: 2,
		},
		{
			name: "a paste that starts at KASAN's note on the fault",
			log: `KASAN: null-ptr-deref in range [0x0000000000000000-0x0000000000000007]
CPU: 4 PID: 680 Comm: ip Not tainted 5.13.0-rc3+ #1168
RIP: 0010:mydrv_add_sa+0xc4/0x2e0 [mydrv]
RSP: 0018:ffff88810946f508 EFLAGS: 00010246
Call Trace:
 xfrm_dev_state_add+0x2a9/0x770
 ? memcpy+0x38/0x60
 xfrm_add_sa+0x2278/0x3b10 [xfrm_user]
`,
			title: "general protection fault in mydrv_add_sa", guilty: "mydrv_add_sa", release: "5.13.0-rc3+", minFrames: 2,
		},
		{
			name: "release in EFLAGS with a build number, quoted",
			log: `> divide error: 0000 [#1]
> 8K_STACKS SMP
> Modules linked in:
> CPU:    1
> EIP:    0060:[<c0112b6e>]    Not tainted VLI
> EFLAGS: 00010046   (2.6.17-mm5-autokern1 #1)
> EIP is at find_busiest_group+0x1a3/0x47c
> eax: 00000000   ebx: 00000007   ecx: 00000000   edx: 00000000
> Process swapper (pid: 0, ti=e7404000 task=c13f8560 task.ti=e7404000)
`,
			title: "divide error in find_busiest_group", guilty: "find_busiest_group", release: "2.6.17-mm5-autokern1", minFrames: 0,
		},
		{
			name: "quote mark on the first stamped line only",
			log: `> [16194369.907056] kernel BUG at drivers/net/mydrv.c:4044!
[16194369.907097] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[16194369.907116] CPU: 13 PID: 0 Comm: swapper/13 Tainted: G            E     5.16.16-1.el7.elrepo.x86_64 #1
[16194369.907181] RIP: 0010:mydrv_segment+0xbc8/0xe00
[16194369.907182] Call Trace:
[16194369.907183]  <IRQ>
[16194369.907184]  mydrv_xmit+0x14/0x40
[16194369.907185]  dev_hard_start_xmit+0x90/0x1e0
`,
			title: "kernel BUG in mydrv_segment", guilty: "mydrv_segment", release: "5.16.16-1.el7.elrepo.x86_64", minFrames: 2,
		},
		{
			name: "decoded KASAN header and frames",
			log: ` BUG: KASAN: use-after-free in mydrv_inactive (fs/mydrv/inactive.c:214) mydrv
 Read of size 4 at addr ffff88820ac2bd44 by task kworker/0:2/139

 CPU: 0 PID: 139 Comm: kworker/0:2 Tainted: G S                5.19.0-rc2 #1
 Call Trace:
  <TASK>
 dump_stack_lvl (lib/dump_stack.c:107 (discriminator 1))
 print_report.cold (mm/kasan/report.c:430)
 kasan_report (mm/kasan/report.c:162 mm/kasan/report.c:493)
 mydrv_inactive (fs/mydrv/inactive.c:214) mydrv
 mydrv_worker (fs/mydrv/icache.c:1837 fs/mydrv/icache.c:1860) mydrv
 process_one_work
  </TASK>
`,
			title: "KASAN: use-after-free Read in mydrv_inactive", guilty: "mydrv_inactive", release: "5.19.0-rc2", minFrames: 2,
		},
		{
			name: "symbolized KASAN header of an inlined callee",
			log: `==================================================================
BUG: KASAN: use-after-free in mydrv_can_lru mm/internal.h:76 [inline]
BUG: KASAN: use-after-free in mydrv_reap+0x3a4/0x400 mm/mydrv.c:529
Read of size 8 at addr ffff88807b868ba8 by task repro/12778

CPU: 0 PID: 12778 Comm: repro Not tainted 5.17.0-rc3 #0
Call Trace:
 <TASK>
 dump_stack_lvl+0xcd/0x134 lib/dump_stack.c:106
 kasan_report.cold+0x83/0xdf mm/kasan/report.c:459
 mydrv_can_lru mm/internal.h:76 [inline]
 mydrv_reap+0x3a4/0x400 mm/mydrv.c:529
 __do_sys_mydrv+0x3f2/0x450 mm/mydrv.c:1196
`,
			title: "KASAN: use-after-free Read in mydrv_reap", guilty: "mydrv_reap", release: "5.17.0-rc3", minFrames: 2,
		},
		{
			name: "decoded RIP, the longest line of a bare paste, is no hard wrap",
			log: `BUG: kernel NULL pointer dereference, address: 0000000000000084
RIP: 0010:mydrv_update (net/mydrv/core.c:2080 net/mydrv/core.c:2134) mydrv
mydrv_reinject (net/mydrv/queue.c:237) mydrv_queue
mydrv_recv_verdict (net/mydrv/queue.c:1230) mydrv_queue
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in mydrv_update", guilty: "mydrv_update", minFrames: 2,
		},
		{
			name: "s390 PSW names the faulting function",
			log: `Unable to handle kernel pointer dereference in virtual kernel address space
Failing address: 0000000000000000 TEID: 0000000000000483
Oops: 0004 ilc:3 [#1] SMP
CPU: 14 PID: 217198 Comm: qemu-system-s39 Not tainted 6.5.0 #1
Hardware name: IBM 8561 T01 703 (LPAR)
Krnl PSW : 0704e00180000000 000003ff804bfc66 (mydrv_destroy+0x3e/0xe0 [mydrv])
Call Trace:
 [<000003ff804bfc66>] mydrv_destroy+0x3e/0xe0 [mydrv]
 [<000003ff804aea98>] mydrv_release+0x50/0x120 [mydrv]
 [<00000002623cd04a>] __fput+0xea/0x2a8
`,
			title: "BUG: unable to handle kernel paging request in mydrv_destroy", guilty: "mydrv_destroy", release: "6.5.0", minFrames: 2,
		},
		{
			name: "hashed pointers",
			log: `BUG: unable to handle kernel NULL pointer dereference at 00000008
IP: strlen+0x8/0x20
*pde = 00000000
Oops: 0000 [#1] SMP
CPU: 0 PID: 1 Comm: swapper/0 Not tainted 4.15.0-1-686-pae #1
EIP: strlen+0x8/0x20
Call Trace:
 [<(ptrval)>] foo_probe+0x1c/0x80 [foo]
 [<(ptrval)>] really_probe+0x1b0/0x2d0
 [<(ptrval)>] driver_probe_device+0x4b/0x60
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in foo_probe", guilty: "foo_probe", release: "4.15.0-1-686-pae", minFrames: 3,
		},
		{
			name: "2.6 release on the EFLAGS line",
			log: `Unable to handle kernel NULL pointer dereference at virtual address 00000000
 printing eip:
f8a1c01b
*pde = 00000000
Oops: 0000 [#1]
SMP
Modules linked in: foo(U) ext3 jbd
CPU:    0
EIP:    0060:[<f8a1c01b>]    Not tainted VLI
EFLAGS: 00010246   (2.6.9-42.ELsmp)
EIP is at foo_read+0x1b/0x40 [foo]
eax: 00000000   ebx: f6a2e000   ecx: 00000000   edx: 00000000
Process cat (pid: 1234, threadinfo=f6a2e000 task=f7b1c0b0)
Call Trace:
 [<c0156789>] vfs_read+0xb6/0x160
 [<c01567ab>] sys_read+0x3c/0x70
 [<c02d47cb>] syscall_call+0x7/0xb
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in foo_read", guilty: "foo_read", release: "2.6.9-42.ELsmp", minFrames: 3,
		},
		{
			name: "arm trace without a keyword",
			log: `Unable to handle kernel NULL pointer dereference at virtual address 00000000
pgd = c0004000
[00000000] *pgd=00000000
Internal error: Oops: 5 [#1] SMP ARM
Modules linked in:
CPU: 0 PID: 1 Comm: swapper/0 Not tainted 4.4.0 #1
PC is at memcpy+0x48/0x330
LR is at foo_xfer+0x30/0x80
[<c0301a08>] (memcpy) from [<c0455a30>] (foo_xfer+0x30/0x80)
[<c0455a30>] (foo_xfer) from [<c0455b00>] (foo_probe+0x50/0x100)
[<c0455b00>] (foo_probe) from [<c0400000>] (platform_drv_probe+0x38/0x80)
`,
			title: "BUG: unable to handle kernel NULL pointer dereference in foo_xfer", guilty: "foo_xfer", release: "4.4.0", minFrames: 3,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reps, err := Parse(strings.NewReader(c.log), c.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) == 0 {
				t.Fatal("no report")
			}
			r := reps[0]
			g, rel := "", ""
			if r.GuiltyFunction != nil {
				g = *r.GuiltyFunction
			}
			if r.Release != nil {
				rel = *r.Release
			}
			if r.Title != c.title || g != c.guilty || rel != c.release || len(r.Frames) < c.minFrames {
				t.Errorf("got %q guilty %q release %q %d frames; want %q %q %q >= %d",
					r.Title, g, rel, len(r.Frames), c.title, c.guilty, c.release, c.minFrames)
			}
		})
	}
}
