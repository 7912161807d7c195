package oops

import "testing"

func TestCrashPrompt(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		cmd  string
	}{
		{"crash> bt", true, "bt"},
		{"crash> ", true, ""},
		{"crash>", true, ""},
		{"crash>\r", true, ""},
		{"crash64> sys", true, "sys"},
		{"crash_arm64> bt -f", true, "bt -f"},
		{"crash> struct sk_buff ffff88102a8d5d00|grep len  ", true, "struct sk_buff ffff88102a8d5d00|grep len"},
		{"crash>bt", false, ""},                  // no space after the prompt
		{"crash dump> ls", false, ""},            // a space is not in a program name
		{"crashkernel=256M> 0", false, ""},       // '=' is not either
		{"crash_x86_64_longname> bt", false, ""}, // '>' too far
		{"crashed> x", true, "x"},                // a renamed binary
		{"Crash> bt", false, ""},
		{"the crash> prompt", false, ""},
		{"crash", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		cmd, ok := CrashPrompt(tc.line)
		if ok && !MayStartCrashOutput([]byte(tc.line)) {
			t.Errorf("MayStartCrashOutput(%q) = false for a prompt", tc.line)
		}
		if ok != tc.ok || cmd != tc.cmd {
			t.Errorf("CrashPrompt(%q) = %q, %v; want %q, %v", tc.line, cmd, ok, tc.cmd, tc.ok)
		}
	}
}

func TestParseCrashSys(t *testing.T) {
	tests := []struct {
		line  string
		key   CrashSysKey
		value string
	}{
		{"KERNEL: /usr/lib/debug/lib/modules/2.6.32-504.el6.x86_64/vmlinux", SysKernel, "/usr/lib/debug/lib/modules/2.6.32-504.el6.x86_64/vmlinux"},
		{"DUMPFILE: /var/crash/127.0.0.1-2015-09-30-14:02:01/vmcore  [PARTIAL DUMP]", SysDumpfile, "/var/crash/127.0.0.1-2015-09-30-14:02:01/vmcore  [PARTIAL DUMP]"},
		{"CPUS: 24 [OFFLINE: 1]", SysCPUs, "24 [OFFLINE: 1]"},
		{"LOAD AVERAGE: 0.55, 0.31, 0.25  ", SysLoadAverage, "0.55, 0.31, 0.25"},
		{"TASKS: 1109", SysTasks, "1109"},
		{"RELEASE: 2.6.32-504.23.4.el6.x86_64", SysRelease, "2.6.32-504.23.4.el6.x86_64"},
		{"MACHINE: x86_64  (2499 Mhz)", SysMachine, "x86_64  (2499 Mhz)"},
		{`PANIC: "Oops: 0002 [#1] SMP " (check log for details)`, SysPanic, `"Oops: 0002 [#1] SMP " (check log for details)`},
		{"PANIC: double fault, error_code: 0x0", SysPanic, "double fault, error_code: 0x0"},
		{"PID: 0", SysPID, "0"},
		{`COMMAND: "swapper/3"`, SysCommand, `"swapper/3"`},
		{"TASK: ffff88107a6e3500  (1 of 24)  [THREAD_INFO: ffff88107a6fc000]", SysTask, "ffff88107a6e3500  (1 of 24)  [THREAD_INFO: ffff88107a6fc000]"},
		{"CPU: 3 PID: 1 Comm: systemd Not tainted 4.18.0-305.el8.x86_64 #1", SysCPU, "3 PID: 1 Comm: systemd Not tainted 4.18.0-305.el8.x86_64 #1"},
		{"STATE: TASK_RUNNING (PANIC)", SysState, "TASK_RUNNING (PANIC)"},
		{"DEBUG KERNEL: /usr/lib/debug/vmlinux (2.6.32-504.el6.x86_64)", SysDebugKernel, "/usr/lib/debug/vmlinux (2.6.32-504.el6.x86_64)"},
		{"DEBUGINFO: ./vmlinux.debug", SysDebuginfo, "./vmlinux.debug"},
		// Not crash's: a value crash would not print, an unknown key,
		// lower case, a key not at the start.
		{"CPU: 100% busy", SysNone, ""},
		{"CPUS: many", SysNone, ""},
		{"TASK: the one that hung", SysNone, ""},
		{"PID: 1x", SysNone, ""},
		{"RIP: 0010:[<ffffffff8145d60a>]  [<ffffffff8145d60a>] skb_checksum_help+0x8a/0x1a0", SysNone, ""},
		{"Kernel: 2.6.32", SysNone, ""},
		{"  RELEASE: 2.6.32", SysNone, ""},
		{"LOAD AVERAGES: 1", SysNone, ""},
		{"KERNEL", SysNone, ""},
		{"", SysNone, ""},
	}
	for _, tc := range tests {
		k, v := ParseCrashSys(tc.line)
		if k != tc.key || v != tc.value {
			t.Errorf("ParseCrashSys(%q) = %v, %q; want %v, %q", tc.line, k, v, tc.key, tc.value)
		}
	}
}

func TestCrashSysKeyRoles(t *testing.T) {
	for k := SysKernel; k < numSysKeys; k++ {
		if got, _ := ParseCrashSys(k.String() + ": 1"); got != k {
			t.Errorf("%v: the table's name does not parse back (%v)", k, got)
		}
		system := k <= SysMemory
		if k.NamesSystem() != system {
			t.Errorf("%v.NamesSystem() = %v", k, !system)
		}
		if aside := k == SysDebugKernel || k == SysDebuginfo; k.Aside() != aside {
			t.Errorf("%v.Aside() = %v", k, !aside)
		}
	}
	if SysNone.NamesSystem() || SysNone.Aside() || SysNone.String() != "none" {
		t.Error("SysNone is a key")
	}
}

func TestStartsCrashOutput(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		// prompts
		{"crash> bt", true},
		{"crash64> sys", true},
		{"crash dump saved to /var/crash> x", false},
		// task headers
		{`PID: 1204   TASK: ffff881076a3e080  CPU: 5   COMMAND: "sshd"`, true},
		{"PID: 1204", false},
		// frames
		{"#7 [ffff880061a03538] skb_checksum_help at ffffffff8145d60a", true},
		{"#7 [ffff880061a03538] skb_checksum_help", false},
		{"#define X [a] at b", false},
		{"#1 SMP Tue Jun 9 at 12:00", false},
		// exception frames
		{"[exception RIP: skb_checksum_help+138]", true},
		{"[  191.047083] RIP: 0010:[<ffffffff8145d60a>]", false},
		// sys keys alone
		{"KERNEL: /usr/lib/debug/vmlinux", true},
		{"DUMPFILE: vmcore", true},
		{"RELEASE: 2.6.32-504.23.4.el6.x86_64", true},
		{"CPUS: 24", true},
		{"CPUS: all of them", false},
		{`PANIC: "kernel BUG at net/core/skbuff.c:1886!"`, true},
		{"PANIC: double fault, error_code: 0x0", false}, // the kernel's, not crash's sys (e57f443)
		{"MEMORY: 64 GB", false},                        // too common in prose to start a session alone
		{"CPU: 3 PID: 1 Comm: systemd Not tainted 4.18.0 #1", false},
		// struct dumps
		{"struct sk_buff {", true},
		{"union {  ", true},
		{"struct sk_buff *skb = NULL;", false},
		{"structure {", false},
		// neither
		{"", false},
		{"BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", false},
	}
	for _, tc := range tests {
		if got := StartsCrashOutput(tc.line); got != tc.want {
			t.Errorf("StartsCrashOutput(%q) = %v", tc.line, got)
		}
		// The byte-level gate never hides a start of crash output.
		if tc.want && !MayStartCrashOutput([]byte(tc.line)) {
			t.Errorf("MayStartCrashOutput(%q) = false", tc.line)
		}
	}
}

func TestEndsKernelOutput(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"crash> sys", true},
		{"crash64> bt", true},
		{"crash>", true},
		{"LOAD AVERAGE: 0.55, 0.31, 0.25", true},
		{"MEMORY: 64 GB", true},
		{"KERNEL: vmlinux", true},
		{"PANIC: double fault, error_code: 0x0", false},
		{"CPU: 3 PID: 1 Comm: systemd Not tainted 4.18.0 #1", false},
		{"PID: 1 TASK: ffff88107a6e3500 CPU: 0 COMMAND: \"init\"", false},
		{"RIP: 0010:[<ffffffff8145d60a>]", false},
		{"Call Trace:", false},
	}
	for _, tc := range tests {
		if got := endsKernelOutput(tc.line); got != tc.want {
			t.Errorf("endsKernelOutput(%q) = %v", tc.line, got)
		}
	}
}

func TestMayStartCrashOutputRejects(t *testing.T) {
	for _, l := range []string{"CPU: 3 PID: 1 Comm: x Not tainted", "console [ttyS0] enabled", "[    1.234] smpboot: CPU0", "MEMORY: 64 GB", ""} {
		if MayStartCrashOutput([]byte(l)) {
			t.Errorf("MayStartCrashOutput(%q) = true", l)
		}
	}
}
