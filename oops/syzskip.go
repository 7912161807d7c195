package oops

import "strings"

// The per-format skip lists of google/syzkaller pkg/report/linux.go at
// 1e72964b0111319984575e60f266d1fa0a98abb5 (each oops format's stack.skip,
// and the arguments of warningStackFmt): regular expressions matched
// anywhere in a frame's function, which the format passes over on top of
// the global list (syzSkipFrames).
var (
	kasanAccessSkip = skipList("kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_")
	kasanFreeSkip   = skipList("slab_", "kfree", "vunmap", "vfree")
	kmsanSkip       = skipList("alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$", "^(?:crypto|cipher|drbg|rng)_", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")
	spinlockSkip    = skipList("spin_", "_lock", "_unlock")
	atomicSchedSkip = skipList("schedule")
	badPageSkip     = skipList("(free|put|get|update|release)_page", "free_unref", "^_*folio", "truncate_inode_pages", "page_frag_free", "alloc", "vmap", "page_owner")

	// Ours, on top of syzkaller's: the sleep helpers that schedule for
	// their caller, who slept in atomic context (TestKinds/sched-atomic);
	// and the page-freeing checks that report a bad page found in the
	// dump's own stack, which syzkaller does not title by (it reads the
	// page owner's stack; TestKinds/bad-page).
	sleepHelperSkip = skipList("^msleep", "^usleep_range", "^ssleep$", "^fsleep$")
	badPageOurSkip  = skipList("^bad_page", "^free_pcp_prepare", "^free_pages_prepare", "^free_page_is_bad")
	// The double-underscore skb helpers BUG() for their caller as the
	// plain ones do (triage's TestDirectories: a BUG in __skb_checksum
	// reached through skb_checksum_help is validate_xmit_skb's).
	skbOurSkip        = skipList("^__skb_")
	preemptibleSkip   = skipList("dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu")
	leakSkip          = skipList("kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get", "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup")
	lockSockSkip      = skipList("lock_sock", "release_sock")
	circularSkip      = skipList("process_one_work", "flush_workqueue", "drain_workqueue", "destroy_workqueue")
	rcuUsageSkip      = skipList("rcu", "kmem", "slab")
	rcuStallSkip      = skipList("apic_timer_interrupt", "rcu")
	nonStaticKeySkip  = skipList("stack", "lock", "IRQ")
	stackChkSkip      = skipList("stack_chk")
	stackEndSkip      = skipList("schedule", "retint_kernel")
	stackOverflowSkip = skipList("bad_stack")
	usercopySkip      = skipList("usercopy", "__check")
	skbSkip           = skipList("^skb_")
	ubsanSkip         = skipList("ubsan", "overflow")

	odebugWarnSkip   = skipList("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_", "vunmap", "vfree", "__free_", "debug_check", "kobject_")
	kobjectWarnSkip  = skipList("kobject_")
	procWarnSkip     = skipList("proc_")
	refcountWarnSkip = skipList("refcount", "kobject_")
	kmallocWarnSkip  = skipList("kmalloc", "krealloc", "slab", "kmem")
	usbWarnSkip      = skipList("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")
)

// skipList is a matcher for any of the patterns.
func skipList(patterns ...string) matcher {
	return lazyRE(strings.Join(patterns, "|"))
}

// anyMatcher matches what any of its matchers matches; a pointer, as the
// match cache keys on the matcher.
type anyMatcher struct{ ms []matcher }

// anyOf is a matcher for what any of ms matches.
func anyOf(ms ...matcher) matcher { return &anyMatcher{ms} }

func (a *anyMatcher) MatchString(s string) bool {
	for _, m := range a.ms {
		if m.MatchString(s) {
			return true
		}
	}
	return false
}

// hangAnchors are the frames a blocked task's stack is bucketed by wherever
// they are in it, with the function the title names instead: a hang on an
// RCU grace period or on the rtnl mutex shows up in every victim's stack,
// not the root cause's (linuxHangTaskFrameExtractor of the same linux.go).
// Matched anywhere in the frame's function, in this order.
var hangAnchors = []struct{ frame, title string }{
	{"rtnl_lock", ""},
	{"synchronize_rcu", "synchronize_rcu"},
	{"synchronize_srcu", "synchronize_rcu"},
	{"synchronize_net", "synchronize_rcu"},
	{"synchronize_sched", "synchronize_rcu"},
}

// hangSkipWords: a blocked task's frames whose function holds one of these
// are waiting, not the code that waits (the same extractor's list).
var hangSkipWords = []string{"sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread",
	"wait", "synchronize", "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier"}
