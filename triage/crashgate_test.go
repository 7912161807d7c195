package triage

import "testing"

// TestCrashOutputGate: every kind of line that starts crash(8) output
// passes the byte-level gate before it, so the gate never hides a session.
func TestCrashOutputGate(t *testing.T) {
	for _, l := range []string{
		"crash> bt",
		"crash64> sys",
		"PID: 0      TASK: ffffffff81a8d020  CPU: 0   COMMAND: \"swapper\"",
		"PANIC: \"kernel BUG at net/core/skbuff.c:1886!\"",
		"#7 [ffff880061a03538] skb_checksum_help at ffffffff8145d60a",
		"[exception RIP: skb_checksum+725]",
		"KERNEL: /usr/lib/debug/lib/modules/vmlinux",
		"RELEASE: 2.6.32-504.23.4.el6.x86_64",
		"DUMPFILE: vmcore",
		"CPUS: 24",
		"struct sk_buff {",
		"union {",
	} {
		if !startsCrashOutput(l) {
			t.Errorf("%q does not start crash(8) output", l)
		}
		if !mayStartCrashOutput([]byte(l)) {
			t.Errorf("%q is stopped by the gate", l)
		}
	}
	for _, l := range []string{"CPU: 3 PID: 1 Comm: x Not tainted", "console [ttyS0] enabled", "smpboot: CPU0", ""} {
		if mayStartCrashOutput([]byte(l)) {
			t.Errorf("%q passes the gate", l)
		}
	}
}
