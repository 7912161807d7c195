package oops

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKinds holds the parser to production-style logs of every crash kind
// it must know, in several architectures and prefix styles (our own
// fixtures under testdata/kinds, written after the kernel's printk formats).
func TestKinds(t *testing.T) {
	cases := []struct {
		file, title, typ, release string
		corrupted, panicked       bool
		minFrames                 int
	}{
		{"hard-lockup", "BUG: hard lockup in ixgbe_poll", "HANG", "4.18.0-305.el8.x86_64", false, true, 5},
		{"soft-lockup", "BUG: soft lockup in nfs_delegation_reap", "HANG", "5.14.0-70.13.1.el9_0.x86_64", false, false, 4},
		{"hung-task", "INFO: task hung in jbd2_journal_commit_transaction", "HANG", "3.10.0-1160.el7.x86_64", false, true, 10},
		{"rcu-stall", "INFO: rcu detected stall in inet_sendmsg", "HANG", "5.15.0-91-generic", false, false, 10},
		{"kasan-uaf", "KASAN: use-after-free Read in tcp_retransmit_timer", "KASAN-USE-AFTER-FREE-READ", "6.6.0-rc3", false, false, 5},
		{"ubsan", "UBSAN: shift-out-of-bounds in tcp_set_default_congestion_control", "UBSAN", "6.1.0-13-amd64", false, false, 5},
		{"kfence", "KFENCE: use-after-free read in nfs_readdir_clear_array", "KFENCE-USE-AFTER-FREE-READ", "6.1.0-13-amd64", false, false, 3},
		{"list-corruption", "BUG: corrupted list in nfsd_file_lru_cb", "MEMORY_SAFETY_BUG", "6.1.0-13-amd64", false, true, 5},
		{"sched-atomic", "BUG: scheduling while atomic in mydrv_reset_hw", "ATOMIC_SLEEP", "5.10.0-26-amd64", false, false, 5},
		{"might-sleep", "BUG: sleeping function called from invalid context in mydrv_set_mac", "ATOMIC_SLEEP", "5.15.0-91-generic", false, false, 5},
		{"divide-error", "divide error in find_busiest_group", "DoS", "2.6.32-220.el6.x86_64", false, true, 3},
		{"double-fault", "PANIC: double fault in recurse_helper", "DoS", "5.4.0-150-generic", true, true, 0},
		// Named as syzkaller names a stack overflow, by the callee of the
		// first dispatcher (its linuxStallFrameExtractor), not the
		// recursion's top.
		{"stack-guard", "BUG: stack guard page was hit in netlink_sendmsg", "BUG", "5.10.0-26-amd64", false, false, 3},
		{"bad-page", "BUG: Bad page state in shrink_page_list", "BUG", "5.15.0-91-generic", false, false, 4},
		{"mce", "machine check exception", "MCE", "", false, true, 0},
		{"oom-panic", "kernel panic: Out of memory: system-wide panic_on_oom is enabled", "DoS", "4.18.0-372.9.1.el8.x86_64", false, false, 0},
		{"lockdep", "possible deadlock in mydrv_get_stats", "LOCKDEP", "6.1.0-rc5", false, false, 0},
		{"gpf-panic", "general protection fault in mydrv_tx_clean", "DoS", "6.1.0-13-amd64", false, true, 3},
		{"null-old", "BUG: unable to handle kernel NULL pointer dereference in bond_3ad_xmit_xor", "NULL-POINTER-DEREFERENCE", "2.6.32-431.el6.x86_64", false, false, 3},
		{"warning-old", "WARNING in skb_gso_segment", "WARNING", "2.6.32-358.el6.x86_64", false, false, 4},
		{"warning-new", "WARNING in dev_watchdog", "WARNING", "4.18.0-305.el8.x86_64", false, false, 2},
		{"arm64-null", "BUG: unable to handle kernel NULL pointer dereference in foo_eth_rx", "NULL-POINTER-DEREFERENCE", "5.10.110-rt63", false, false, 4},
		{"ppc64", "BUG: unable to handle kernel NULL pointer dereference in tcp_v4_rcv", "NULL-POINTER-DEREFERENCE", "4.18.0-305.el8.ppc64le", false, false, 3},
		{"s390", "BUG: unable to handle kernel paging request in qeth_l3_recover", "MEMORY_SAFETY_BUG", "4.18.0-305.el8.s390x", false, false, 3},
		{"skb-under", "kernel BUG in ipgre_header", "BUG", "5.4.0-150-generic", false, false, 4},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "kinds", c.file+".log")
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			reps, err := Parse(f, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) != 1 {
				for _, r := range reps {
					t.Logf("report %q lines %d-%d", r.Title, r.Source.StartLine, r.Source.EndLine)
				}
				t.Fatalf("%d reports, want 1", len(reps))
			}
			r := reps[0]
			rel := ""
			if r.Release != nil {
				rel = *r.Release
			}
			if r.Title != c.title || r.Type != c.typ || rel != c.release || r.Corrupted != c.corrupted || r.Panicked != c.panicked {
				t.Errorf("got %q %s release %q corrupted %v panicked %v; want %q %s %q %v %v",
					r.Title, r.Type, rel, r.Corrupted, r.Panicked, c.title, c.typ, c.release, c.corrupted, c.panicked)
			}
			if len(r.Frames) < c.minFrames {
				t.Errorf("%d frames, want at least %d", len(r.Frames), c.minFrames)
			}
		})
	}
}
