package oops

import (
	"strings"
	"testing"
)

// TestSplitAndCount holds the scanner to issue #11's item 5: a report that
// follows another without a blank line is its own, page allocation
// failures and machine check summaries are reports after the crashes, an
// NMI watchdog report and its panic are one crash; and to item 1: prose
// that restates a header is no crash.
func TestSplitAndCount(t *testing.T) {
	const sleeping = `BUG: sleeping function called from invalid context at mm/slab.h:421
in_atomic(): 1, irqs_disabled(): 0, pid: 812, name: kworker/0:2
CPU: 0 PID: 812 Comm: kworker/0:2 Not tainted 4.19.0 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)
Call Trace:
 dump_stack+0x5c/0x80
 ___might_sleep+0xe3/0x110
 kmem_cache_alloc_trace+0x4b/0x1c0
 mydrv_work+0x3e/0x90 [mydrv]
 process_one_work+0x1a7/0x3a0
 worker_thread+0x30/0x390
 kthread+0x113/0x130
 ret_from_fork+0x35/0x40
`
	const bug = `kernel BUG at drivers/mydrv/core.c:120!
invalid opcode: 0000 [#1] SMP PTI
CPU: 0 PID: 812 Comm: kworker/0:2 Not tainted 4.19.0 #1
RIP: 0010:mydrv_release+0x51/0x60 [mydrv]
Code: 00 00 0f 0b
RSP: 0018:ffffb3c0c0b3fe00 EFLAGS: 00010246
RAX: 0000000000000000 RBX: ffff9d2f7a1c2000 RCX: 0000000000000000
Call Trace:
 mydrv_work+0x60/0x90 [mydrv]
 process_one_work+0x1a7/0x3a0
 worker_thread+0x30/0x390
 kthread+0x113/0x130
 ret_from_fork+0x35/0x40
---[ end trace 2b9c0c2b3a6c1d1e ]---
`
	const allocFail = `kworker/u8:3: page allocation failure: order:4, mode:0x40d0(__GFP_IO|__GFP_FS|__GFP_COMP), nodemask=(null)
CPU: 2 PID: 1234 Comm: kworker/u8:3 Not tainted 5.4.0 #1
Call Trace:
 dump_stack+0x6d/0x8b
 warn_alloc.cold+0x7b/0xdf
 __alloc_pages_slowpath+0xe46/0xe80
 __alloc_pages_nodemask+0x2cd/0x300
 kmalloc_order+0x1b/0x80
 mynic_alloc_rings+0x4a/0x120 [mynic]
 mynic_open+0x2e/0x90 [mynic]
 __dev_open+0xe0/0x180
 ret_from_fork+0x35/0x40
`
	const mce = "mce: [Hardware Error]: Machine check events logged\n"
	const nmi = `NMI watchdog: Watchdog detected hard LOCKUP on cpu 3
Modules linked in: mydrv
CPU: 3 PID: 0 Comm: swapper/3 Not tainted 4.19.0 #1
RIP: 0010:mydrv_poll+0x20/0x40 [mydrv]
RSP: 0018:ffff9d2f7fd83e88 EFLAGS: 00000046
Call Trace:
 <IRQ>
 mydrv_irq+0x15/0x30 [mydrv]
 __handle_irq_event_percpu+0x40/0x180
 handle_irq_event+0x3a/0x60
 </IRQ>
Kernel panic - not syncing: Hard LOCKUP
CPU: 3 PID: 0 Comm: swapper/3 Not tainted 4.19.0 #1
Call Trace:
 <NMI>
 dump_stack+0x5c/0x80
 panic+0xe7/0x247
 nmi_panic+0x37/0x40
 watchdog_overflow_callback+0xef/0x110
 </NMI>
RIP: 0010:mydrv_poll+0x20/0x40 [mydrv]
RSP: 0018:ffff9d2f7fd83e88 EFLAGS: 00000046
---[ end Kernel panic - not syncing: Hard LOCKUP ]---
`
	for _, tc := range []struct {
		name string
		log  string
		want []string // title prefixes, in order
	}{
		{"no blank line between two reports", sleeping + bug, []string{"BUG: sleeping function called from invalid context in mydrv_work", "kernel BUG in mydrv_release"}},
		{"page allocation failure alone", allocFail, []string{"page allocation failure in mynic_alloc_rings"}},
		{"page allocation failure before a crash", allocFail + "\n" + bug, []string{"kernel BUG in mydrv_release", "page allocation failure in mynic_alloc_rings"}},
		{"machine check summary", "some line\n" + mce + "more\n", []string{"Machine check events logged"}},
		{"NMI watchdog and its panic", nmi, []string{"BUG: hard lockup in mydrv_poll"}},
		{"markdown heading over the log", "# kernel BUG at drivers/mydrv/core.c:120!\n\nHello, we see this on boot:\n\n" + bug, []string{"kernel BUG in mydrv_release"}},
		{"sentence quoting the header", "We get `kernel BUG at drivers/mydrv/core.c:120!` every night.\n" + bug, []string{"kernel BUG in mydrv_release"}},
		{"crash sys PANIC line", bug + "crash> sys\n      KERNEL: vmlinux\n       PANIC: \"kernel BUG at drivers/mydrv/core.c:120!\"\n", []string{"kernel BUG in mydrv_release"}},
	} {
		for _, stamped := range []bool{false, true} {
			log := tc.log
			if stamped {
				log = stampLines(log)
			}
			reps, err := Parse(strings.NewReader(log), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reps {
				got = append(got, r.Title)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s (stamped %v): got %q, want %q", tc.name, stamped, got, tc.want)
			}
		}
	}
}

// stampLines puts a kernel timestamp before the lines that look like the
// kernel's (not the prose and crash(8) lines of the cases).
func stampLines(log string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		t := strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "We get") || strings.HasPrefix(t, "Hello") ||
			strings.HasPrefix(t, "crash>") || strings.HasPrefix(t, "KERNEL:") || strings.HasPrefix(t, "PANIC:") || t == "some line" || t == "more" {
			b.WriteString(l + "\n")
			continue
		}
		b.WriteString("[  100." + strings.Repeat("0", 5) + string(rune('0'+i%10)) + "] " + l + "\n")
	}
	return b.String()
}
