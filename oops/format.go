package oops

import (
	"regexp"
	"strings"
	"sync"
)

// guiltyMode says where a report's guilty function is looked for.
type guiltyMode int

const (
	gmRipTrace     guiltyMode = iota // faulting instruction, then the call trace
	gmTrace                          // the first call trace, then the faulting instruction
	gmHeader                         // the function the header names, then RIP and trace
	gmStall                          // the interrupted context of a stall
	gmHung                           // the blocked task's trace
	gmChain                          // lockdep: the "-> #0" acquisition, then the trace
	gmBacktrace                      // lockdep: the "stack backtrace:" trace
	gmLeak                           // kmemleak: the allocation backtrace
	gmLastFunction                   // the work function a "last function:" line names
	gmNone                           // the title names no function
)

const (
	fCont      = 1 << iota // may continue a report opened just before
	fHeadless              // a bare RIP line: a report whose header was lost
	fPrelude               // announces a BUG that follows on the next lines
	fCorrupt               // a title of this format is always marked corrupted
	fInside                // printed on its own schedule: never ends an open report
	fHeaderFn              // the header's last capture is a function: the guilty one when nothing else is
	fNeedMsg               // the title ends in the header's message: a report without one was cut
	fFramed                // lockdep's layout: header, version line, a rule of dashes, then the body
	fNoStack               // the kind prints no stack trace: a report without one is whole
	fNeedStack             // the title names no function, but a report without a stack was cut
)

// format is one kind of report header and how its title is made. title is a
// template: $1..$9 are the header regexp's captures, {FUNC} the guilty
// function. The table is ours, written from the kernel's printk formats.
type format struct {
	token string         // a substring every header of this kind contains
	re    *regexp.Regexp // matched against the header line
	title string
	// noAccess, when set, is the title for a report cut before the line
	// that tells a read from a write.
	noAccess string
	typ      string // crash type; "" derives it from the title
	mode     guiltyMode
	skip     matcher // further frames to pass over for this kind
	flags    int
	// file, when set, puts the bug location from the header's file:line.
	file bool
	// rule, when set, is where the guilty frame is read (syzkaller's
	// stack parts); mode is then the fallback for inputs without text.
	rule *stackRule
	// alt, when set, is the alternative title, made from the header's
	// captures as the title is (the other formats' alternative titles
	// follow from their title: altFamilies).
	alt string
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

const funcRe = `([A-Za-z0-9_.$]+)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?`

// formats is the table, built on first use (loadTables): compiling its
// regexps costs milliseconds that `ktriage dmesg` should not pay.
var formats []*format

var tablesOnce sync.Once

// loadTables builds the package's tables on first use: the format table
// and what derives from it, and every index of a list. A program that
// never parses a log (`ktriage dmesg`) builds none of them at start-up.
// Every entry point that reaches the parser calls it.
func loadTables() {
	tablesOnce.Do(func() {
		formats = formatTable()
		headerTokens = buildHeaderTokens()
		genericNames = newNameMatcher(genericFrames)
		headlessKinds = headlessKindTable()
		altFamilies = altFamilyTable()
		warnKinds = warnKindTable()
		ripByte = firstBytes(ripStarts[:])
		stackStartByte = firstBytes(stackStartPrefixes[:])
		oopsLineByFirst = byFirstByte(oopsLinePrefixes)
	})
}

// firstBytes tells the bytes that prefixes start with.
func firstBytes(prefixes []string) (t [256]bool) {
	for _, p := range prefixes {
		t[p[0]] = true
	}
	return t
}

// byFirstByte indexes prefixes by their first byte.
func byFirstByte(prefixes []string) (m [256][]string) {
	for _, p := range prefixes {
		m[p[0]] = append(m[p[0]], p)
	}
	return m
}

func formatTable() []*format {
	return []*format{
		// Sanitizers.
		{token: "KASAN:", re: re(`KASAN: (?:double-free or )?invalid-free in`), title: "KASAN: invalid-free in {FUNC}", mode: gmTrace, skip: kasanFreeSkip, rule: kasanFree},
		{token: "KASAN:", re: re(`KASAN: double-free in`), title: "KASAN: invalid-free in {FUNC}", mode: gmTrace, skip: kasanFreeSkip, rule: kasanFree},
		{token: "KASAN:", re: re(`BUG: KASAN: ([a-z\-]+) in ` + funcRe + ` at addr`), title: "KASAN: $1 {ACCESS}in {FUNC}", noAccess: "KASAN: $1 in $2 at addr ADDR", mode: gmHeader, skip: kasanAccessSkip, rule: kasanRule},
		{token: "KASAN:", re: re(`BUG: KASAN: ([a-z\-]+) in ` + funcRe), title: "KASAN: $1 {ACCESS}in {FUNC}", mode: gmTrace, skip: kasanAccessSkip, flags: fHeaderFn, rule: kasanRule},
		{token: "KASAN:", re: re(`BUG: KASAN: ([a-z\-]+) on address`), title: "KASAN: $1 {ACCESS}", mode: gmNone},
		// KASAN's note on a general protection fault (kasan_non_canonical_hook):
		// it continues the fault's report, or stands for it when a paste
		// left the fault's own line out.
		{token: "KASAN:", re: re(`^KASAN: ([a-z\-]+) in range`), title: "general protection fault in {FUNC}", mode: gmRipTrace, flags: fCont, rule: ripTraceRule},
		{token: "KMSAN:", re: re(`BUG: KMSAN: ([a-z\-]+) in ` + funcRe), title: "KMSAN: $1 in {FUNC}", mode: gmTrace, skip: kmsanSkip, flags: fHeaderFn | fNoStack, rule: kmsanRule},
		{token: "KFENCE:", re: re(`BUG: KFENCE: ([a-z\- ]+?) in ` + funcRe), title: "KFENCE: $1 in {FUNC}", mode: gmHeader, rule: kfenceRule},
		{token: "KCSAN:", re: re(`BUG: KCSAN: ([a-z\-: ]+?) in ` + funcRe + ` / ` + funcRe), title: "KCSAN: $1 in $2 / $3", mode: gmNone, flags: fNoStack},
		{token: "KCSAN:", re: re(`BUG: KCSAN: ([a-z\-: ]+?) in ` + funcRe), title: "KCSAN: $1 in {FUNC}", mode: gmHeader, flags: fNoStack},
		{token: "UBSAN:", re: re(`UBSAN: Undefined behaviour in`), title: "UBSAN: undefined-behaviour in {FUNC}", mode: gmTrace, skip: ubsanSkip, rule: traceRule},
		{token: "UBSAN:", re: re(`UBSAN: ([a-z\-]+) in`), title: "UBSAN: $1 in {FUNC}", mode: gmTrace, skip: ubsanSkip, rule: traceRule},

		// Memory faults.
		{token: "BUG: unable to handle kernel NULL pointer dereference", re: re(`BUG: unable to handle kernel NULL pointer dereference`), title: "BUG: unable to handle kernel NULL pointer dereference in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: kernel NULL pointer dereference", re: re(`BUG: kernel NULL pointer dereference`), title: "BUG: unable to handle kernel NULL pointer dereference in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: unable to handle kernel paging request", re: re(`BUG: unable to handle kernel paging request`), title: "BUG: unable to handle kernel paging request in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: unable to handle page fault", re: re(`BUG: unable to handle page fault`), title: "BUG: unable to handle kernel paging request in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: unable to handle kernel access to user memory", re: re(`BUG: unable to handle kernel access to user memory`), title: "BUG: unable to handle kernel access to user memory in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: unable to handle kernel", re: re(`BUG: unable to handle kernel`), title: "BUG: unable to handle kernel", mode: gmNone, flags: fCorrupt},
		{token: "Unable to handle kernel NULL pointer", re: re(`Unable to handle kernel NULL pointer dereference`), title: "BUG: unable to handle kernel NULL pointer dereference in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: Kernel NULL pointer dereference", re: re(`BUG: Kernel NULL pointer dereference on (?:read|write) at`), title: "BUG: unable to handle kernel NULL pointer dereference in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "BUG: Unable to handle kernel", re: re(`BUG: Unable to handle kernel (?:data access|instruction fetch)`), title: "BUG: unable to handle kernel paging request in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "Unable to handle kernel pointer dereference", re: re(`Unable to handle kernel pointer dereference in virtual`), title: "BUG: unable to handle kernel paging request in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "Unable to handle kernel", re: re(`Unable to handle kernel (paging request|access to user memory)`), title: "BUG: unable to handle kernel $1 in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "general protection fault", re: re(`general protection fault`), title: "general protection fault in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "stack segment", re: re(`^(?:Oops: )?stack segment: `), title: "stack segment fault in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "divide error", re: re(`^(?:Oops: )?divide error: `), title: "divide error in {FUNC}", mode: gmRipTrace, rule: ripOnlyRule},
		{token: "divide_error:", re: re(`^(?:Oops: )?divide_error: `), title: "divide error in {FUNC}", mode: gmRipTrace, rule: ripOnlyRule},
		{token: "int3", re: re(`^(?:Oops: )?int3: `), title: "int3 in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		// A double fault inside another report does not end it: it
		// happens while handling that report's fault, or on another CPU
		// (linux.go's reportStartIgnores).
		{token: "PANIC: double fault", re: re(`PANIC: double fault`), title: "PANIC: double fault in {FUNC}", mode: gmRipTrace, flags: fInside, rule: ripOnlyRule},
		{token: "kernel stack overflow", re: re(`kernel stack overflow`), title: "kernel stack overflow in {FUNC}", typ: "DoS", mode: gmStall, skip: stackOverflowSkip, flags: fCont, rule: traceStallRule},
		{token: "stack guard page was hit", re: re(`BUG: (?:TASK )?stack guard page was hit`), title: "BUG: stack guard page was hit in {FUNC}", mode: gmStall, rule: stallRule},
		{token: "Internal error", re: re(`Internal error: `), title: "Internal error in {FUNC}", mode: gmRipTrace, flags: fCont, rule: ripTraceRule},
		{token: "Unhandled fault", re: re(`Unhandled fault: `), title: "Unhandled fault in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},
		{token: "Alignment trap", re: re(`Alignment trap: `), title: "Alignment trap in {FUNC}", mode: gmRipTrace, rule: ripTraceRule},

		// Lists and kernel BUG().
		{token: "corruption", re: re(`^list_(add|del) corruption`), title: "BUG: corrupted list in {FUNC}", typ: "MEMORY_SAFETY_BUG", mode: gmRipTrace, skip: re(`^__list|^list_|^check_|^__check`), flags: fPrelude, rule: traceRule},
		{token: "kernel BUG at lib/list_debug.c", re: re(`^(?:------------\[ cut here \]------------ *)?kernel BUG at lib/list_debug.c`), title: "BUG: corrupted list in {FUNC}", typ: "MEMORY_SAFETY_BUG", mode: gmRipTrace, skip: re(`^__list|^list_`), file: true, rule: traceRule},
		{token: "BUG at", re: re(`^(?:------------\[ cut here \]------------ *)?(?:kernel|Kernel) BUG at ([^ !]+)`), title: "kernel BUG in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: anyOf(skbSkip, skbOurSkip), file: true, flags: fCont, rule: ripTraceRule},
		{token: "invalid opcode", re: re(`^(?:Oops: )?invalid opcode: `), title: "invalid opcode in {FUNC}", mode: gmRipTrace, flags: fCont, rule: ripOnlyRule},
		{token: "skb_over_panic", re: re(`skb_over_panic: text:`), title: "kernel BUG in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: skbSkip, flags: fPrelude},
		{token: "skb_under_panic", re: re(`skb_under_panic: text:`), title: "kernel BUG in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: skbSkip, flags: fPrelude},

		// Lockups and stalls.
		{token: "soft lockup", re: re(`BUG: soft lockup`), title: "BUG: soft lockup in {FUNC}", typ: "HANG", mode: gmStall, rule: stallRule},
		{token: "hard LOCKUP", re: re(`[Ww]atchdog detected hard LOCKUP`), title: "BUG: hard lockup in {FUNC}", typ: "HANG", mode: gmRipTrace},
		{token: "INFO: rcu", re: re(`INFO: rcu_(?:sched|preempt|bh|tasks)[a-z_]* (?:self-)?detected stall`), title: "INFO: rcu detected stall in {FUNC}", typ: "HANG", mode: gmStall, skip: rcuStallSkip, rule: rcuStallRule},
		{token: "rcu: INFO: rcu", re: re(`rcu: INFO: rcu_(?:sched|preempt|bh)[a-z_]* (?:self-)?detected stall`), title: "INFO: rcu detected stall in {FUNC}", typ: "HANG", mode: gmStall, skip: rcuStallSkip, rule: rcuStallRule},
		{token: "INFO: task", re: re(`INFO: task .* can't die for more than`), title: "INFO: task can't die in {FUNC}", typ: "HANG", mode: gmHung, skip: atomicSchedSkip, rule: traceRule},
		{token: "INFO: task", re: re(`INFO: task .* blocked (?:in I/O wait )?for more than`), title: "INFO: task hung in {FUNC}", typ: "HANG", mode: gmHung, rule: hungRule},
		{token: "BUG: workqueue lockup", re: re(`BUG: workqueue lockup`), title: "BUG: workqueue lockup", typ: "HANG", mode: gmNone, flags: fNoStack},
		{token: "BUG: spinlock lockup", re: re(`BUG: spinlock lockup suspected`), title: "BUG: spinlock lockup suspected in {FUNC}", typ: "LOCKDEP", mode: gmTrace},

		// Locking and context bugs.
		{token: "possible circular locking", re: re(`(?:WARNING|\[ INFO): possible circular locking dependency detected`), title: "possible deadlock in {FUNC}", typ: "LOCKDEP", mode: gmChain, skip: circularSkip, flags: fFramed, rule: circularRule},
		{token: "possible recursive locking", re: re(`(?:WARNING|\[ INFO): possible recursive locking detected`), title: "possible deadlock in {FUNC}", typ: "LOCKDEP", mode: gmChain, flags: fFramed},
		{token: "possible irq lock inversion", re: re(`(?:WARNING|\[ INFO): possible irq lock inversion dependency detected`), title: "possible deadlock in {FUNC}", typ: "LOCKDEP", mode: gmChain, flags: fFramed},
		{token: "-unsafe lock order detected", re: re(`(?:WARNING|\[ INFO): (?:SOFTIRQ|HARDIRQ)-(?:safe|READ-safe) -> .*-unsafe lock order detected`), title: "possible deadlock in {FUNC}", typ: "LOCKDEP", mode: gmTrace, rule: unsafeRule},
		{token: "inconsistent lock state", re: re(`(?:WARNING|\[ INFO): inconsistent lock state`), title: "inconsistent lock state in {FUNC}", typ: "LOCKDEP", mode: gmBacktrace, flags: fFramed, rule: traceRule},
		{token: "suspicious RCU usage", re: re(`WARNING: suspicious RCU usage`), title: "WARNING: suspicious RCU usage in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: rcuUsageSkip, flags: fFramed, rule: traceRule},
		{token: "suspicious RCU usage", re: re(`INFO: suspicious RCU usage`), title: "INFO: suspicious RCU usage in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: re(`^rcu_|^lockdep_rcu`), flags: fFramed, rule: traceRule},
		{token: "bad unlock balance", re: re(`WARNING: bad unlock balance detected`), title: "WARNING: bad unlock balance in {FUNC}", typ: "LOCKDEP", mode: gmTrace, rule: unlockRule},
		{token: "bad unlock balance", re: re(`BUG: bad unlock balance detected`), title: "BUG: bad unlock balance in {FUNC}", typ: "LOCKDEP", mode: gmTrace, rule: unlockRule},
		{token: "held lock freed", re: re(`(WARNING|BUG): held lock freed`), title: "$1: held lock freed in {FUNC}", typ: "LOCKDEP", mode: gmChain},
		{token: "lock held when returning", re: re(`(WARNING|BUG): lock held when returning to user space`), title: "$1: lock held when returning to user space in {FUNC}", typ: "LOCKDEP", mode: gmChain, flags: fNoStack},
		{token: "still has locks held", re: re(`(WARNING|BUG): (?:\S+ )?still has locks held`), title: "$1: still has locks held in {FUNC}", typ: "LOCKDEP", mode: gmChain},
		{token: "ested lock was not taken", re: re(`WARNING: [Nn]ested lock was not taken`), title: "WARNING: nested lock was not taken in {FUNC}", typ: "LOCKDEP", mode: gmTrace, rule: warningRule},
		{token: "INFO: trying to register non-static key", re: re(`INFO: trying to register non-static key`), title: "INFO: trying to register non-static key in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: nonStaticKeySkip, rule: traceRule},
		{token: "BUG: spinlock", re: re(`BUG: spinlock (already unlocked|bad magic|recursion|wrong CPU|wrong owner|cpu recursion)`), title: "BUG: spinlock $1 in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: spinlockSkip, rule: traceRule},
		{token: "BUG: rwlock", re: re(`BUG: rwlock (bad magic|recursion|wrong CPU|wrong owner|already unlocked)`), title: "BUG: rwlock $1 in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: spinlockSkip, rule: traceRule},
		{token: "BUG: using ", re: re(`BUG: using ([a-z_]+\(\)) in preemptible`), title: "BUG: using $1 in preemptible code in {FUNC}", typ: "LOCKDEP", mode: gmTrace, skip: preemptibleSkip, rule: traceRule},
		{token: "BUG: scheduling while atomic", re: re(`BUG: scheduling while atomic`), title: "BUG: scheduling while atomic in {FUNC}", typ: "ATOMIC_SLEEP", mode: gmBacktrace, skip: anyOf(atomicSchedSkip, sleepHelperSkip), rule: traceRule},
		{token: "BUG: sleeping function called", re: re(`BUG: sleeping function called from invalid context`), title: "BUG: sleeping function called from invalid context in {FUNC}", typ: "ATOMIC_SLEEP", mode: gmTrace, rule: traceRule},
		// Taking a sleeping lock where only spinning ones may be taken.
		{token: "Invalid wait context", re: re(`BUG: Invalid wait context`), title: "WARNING: locking bug in {FUNC}", typ: "LOCKDEP", mode: gmBacktrace, skip: lockSockSkip, flags: fFramed, rule: traceRule},
		{token: "BUG: MAX_", re: re(`BUG: (MAX_[A-Z_]+ too low!)`), title: "BUG: $1", typ: "LOCKDEP", mode: gmNone},

		// Memory management.
		{token: "BUG: Bad page state", re: re(`BUG: Bad page state`), title: "BUG: Bad page state in {FUNC}", mode: gmTrace, skip: anyOf(badPageSkip, badPageOurSkip), rule: badPageRule},
		// Printed with the page table entry, not where it was set: no function (syzkaller's title).
		{token: "BUG: Bad page map", re: re(`BUG: Bad page map`), title: "BUG: Bad page map", mode: gmNone},
		{token: "BUG: Bad page cache", re: re(`BUG: Bad page cache`), title: "BUG: Bad page cache in {FUNC}", mode: gmTrace, skip: anyOf(badPageSkip, badPageOurSkip)},
		{token: "BUG: non-zero nr_p", re: re(`BUG: non-zero (nr_ptes|nr_pmds) on freeing mm`), title: "BUG: non-zero $1 on freeing mm", mode: gmNone, flags: fNoStack},
		// The work function that returned with the lock held names it.
		{token: "BUG: workqueue leaked lock", re: re(`BUG: workqueue leaked lock or atomic`), title: "BUG: workqueue leaked lock or atomic in {FUNC}", mode: gmLastFunction, flags: fNoStack},
		{token: "Object already free", re: re(`BUG kmalloc-.*: Object already free`), title: "BUG: Object already free", mode: gmNone},
		{token: "BUG: Bad rss-counter", re: re(`BUG: Bad rss-counter state`), title: "BUG: Bad rss-counter state", mode: gmNone, flags: fNoStack},
		{token: "BUG: memory leak", re: re(`BUG: memory leak`), title: "memory leak in {FUNC}", typ: "LEAK", mode: gmLeak, skip: leakSkip, rule: leakRule},
		// At unmount the kernel warns right after it (umount_check): the
		// warning's stack is this report's, and says nothing the title needs.
		{token: "BUG: Dentry", re: re(`BUG: Dentry .* still in use \(-?\d+\) \[(unmount) of ([^\]]+)\]`), title: "BUG: Dentry still in use in $1", alt: "BUG: Dentry still in use [$1 of $2]", mode: gmNone, flags: fPrelude | fNeedStack},
		{token: "BUG: Dentry", re: re(`BUG: Dentry .* still in use`), title: "BUG: Dentry still in use in {FUNC}", mode: gmTrace},
		{token: "usercopy", re: re(`usercopy: Kernel memory (?:overwrite|exposure) attempt detected`), title: "BUG: bad usercopy in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: usercopySkip, flags: fPrelude, rule: traceRule},
		{token: "BUG: bad usercopy", re: re(`BUG: bad usercopy`), title: "BUG: bad usercopy in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: usercopySkip, rule: traceRule},
		{token: "Bad page", re: re(`^Bad page state in process`), title: "BUG: Bad page state in {FUNC}", mode: gmTrace},

		// Warnings. Specialised kinds first, by the file that warned.
		{token: "WARNING: kernel stack", re: re(`WARNING: kernel stack regs at [0-9a-f]+ in .* has bad '(\w+)' value`), title: "WARNING: kernel stack regs has bad '$1' value", typ: "WARNING", mode: gmNone, flags: fNoStack},
		{token: "WARNING: kernel stack", re: re(`WARNING: kernel stack (?:regs|frame pointer) at .* has bad`), title: "WARNING: kernel stack regs has bad value", typ: "WARNING", mode: gmNone, flags: fNoStack},
		// 2.6.x-3.x: "WARNING: at net/core/dev.c:1915 skb_gso_segment+0x1d3/0x250()": no RIP line, and the
		// trace's frames are often all "?", so the header's function is the one to blame.
		{token: "WARNING: at ", re: re(`^WARNING: at ([a-zA-Z0-9_\-/.]+\.[ch]:\d+) ` + funcRe + `\(\)`), title: "WARNING{KIND} in {FUNC}", mode: gmHeader, file: true},
		{token: "WARNING:", re: re(`WARNING: (?:CPU: \d+ PID: \d+ )?(?:at )?([a-zA-Z0-9_\-/.]+\.[ch]:\d+)(?:[^,]*?) ` + funcRe), title: "WARNING{KIND} in {FUNC}", mode: gmRipTrace, file: true, rule: warningRule},
		{token: "WARNING:", re: re(`WARNING: ([a-zA-Z0-9_\-/.]+\.[ch]:\d+) at ` + funcRe), title: "WARNING{KIND} in {FUNC}", mode: gmRipTrace, file: true, rule: warningRule},
		{token: "WARNING:", re: re(`WARNING: CPU: \d+ PID: \d+ at `), title: "WARNING{KIND} in {FUNC}", mode: gmRipTrace, rule: warningRule},
		// A device's warning has its name before it ("usb 5-1: WARNING: ...").
		{token: "WARNING:", re: re(`^(?:[a-z0-9]+ [0-9a-z.:-]+: )?WARNING: (.*)`), title: "WARNING: $1", typ: "WARNING", mode: gmNone, flags: fNoStack},
		{token: "Badness at", re: re(`Badness at ([a-zA-Z0-9_\-/.]+\.[ch]:\d+)`), title: "WARNING in {FUNC}", typ: "WARNING", mode: gmRipTrace, file: true, rule: warningRule},

		// Miscellaneous.
		{token: "unregister_netdevice: waiting for", re: re(`unregister_netdevice: waiting for (\S+) to become free`), title: "unregister_netdevice: waiting for DEV to become free", typ: "DoS", mode: gmNone, flags: fInside | fNoStack},
		{token: "VFS: Close: file count is 0", re: re(`VFS: Close: file count is 0`), title: "VFS: Close: file count is zero (use-after-free)", typ: "DoS", mode: gmNone, flags: fNoStack},
		{token: "VFS: Busy inodes", re: re(`VFS: Busy inodes after unmount`), title: "VFS: Busy inodes after unmount (use-after-free)", typ: "DoS", mode: gmNone, flags: fNoStack},
		{token: "Machine Check", re: re(`Machine Check Exception|Machine check events logged|\[Hardware Error\]: Machine check`), title: "machine check exception", typ: "MCE", mode: gmNone, flags: fNoStack},
		{token: "Booting the kernel.", re: re(`^Booting the kernel\.`), title: "unexpected kernel reboot", typ: "REBOOT", mode: gmNone, flags: fNoStack},
		{token: "BUG: ", re: re(`^BUG: ([^\[]*?)(?: \(.*)?$`), title: "BUG: $1", typ: "BUG", mode: gmNone, flags: fNoStack},
		// SLUB debugging's object history, printed without the report it
		// belonged to: syzkaller titles it as is and marks it corrupted.
		{token: "INFO: ", re: re(`INFO: (Freed|Allocated) in (.*)`), title: "INFO: $1 in $2", typ: "UNKNOWN", mode: gmNone, flags: fCorrupt},
		// A header cut right after its keyword.
		{token: "INFO:", re: re(`^INFO:\s*$`), title: "INFO: corrupted", typ: "UNKNOWN", mode: gmNone, flags: fCorrupt},
		{token: "WARNING:", re: re(`^WARNING:\s*$`), title: "WARNING: corrupted", typ: "UNKNOWN", mode: gmNone, flags: fCorrupt},
		{token: "BUG:", re: re(`^BUG:\s*$`), title: "BUG: corrupted", typ: "UNKNOWN", mode: gmNone, flags: fCorrupt},
		{token: "Kernel BUG", re: re(`Kernel BUG`), title: "kernel BUG in {FUNC}", typ: "BUG", mode: gmRipTrace},
		{token: "Oops", re: re(`^Oops: (?:[0-9a-f]{4}|Exception)`), title: "Oops in {FUNC}", typ: "DoS", mode: gmRipTrace, flags: fCont},
		{token: "Kernel panic - not syncing", re: re(`Kernel panic - not syncing: (?:(?:Attempted to kill init|Fatal exception)|.*)`), title: "kernel panic: {PANIC}", typ: "DoS", mode: gmNone},

		// Not the kernel's own reports, but crashes the same console shows: the
		// trusty secure OS on arm64, the fuzzer's executor and Go tools. They
		// are bugs of what runs beside the kernel and are titled by their message.
		// trusty prints "panic (caller ADDR): MSG", where an assertion's MSG is
		// "[DEBUG ]ASSERT FAILED at (file:line): EXPR"; the caller address, the
		// file and the DEBUG flavour vary between builds of one check.
		{token: "trusty: panic", re: re(`trusty: panic \(caller .*?\): (?:DEBUG )?ASSERT FAILED at \([^)]*\):? ?(.*)`), title: "trusty: ASSERT FAILED: $1", typ: "DoS", mode: gmNone, flags: fNeedMsg | fNoStack},
		{token: "trusty: panic", re: re(`trusty: panic \(caller .*?\): (.*)`), title: "trusty: panic: $1", typ: "DoS", mode: gmNone, flags: fNeedMsg | fNoStack},
		// syz-executor's fatal errors: its own failures, never a kernel bug.
		// They may print inside a kernel report, which they do not end.
		{token: "SYZFAIL:", re: re(`SYZFAIL: (.*)`), title: "SYZFAIL: $1", typ: "SYZ_FAILURE", mode: gmNone, flags: fInside | fNoStack},
		{token: "SYZFATAL:", re: re(`SYZFATAL: (.*)`), title: "SYZFATAL: $1", typ: "SYZ_FAILURE", mode: gmNone, flags: fInside | fNoStack},
		// A Go program's crash: "fatal error: MSG" alone is also the tail of
		// kernel lines ("ALSA: seq fatal error: ..."), so the traceback that the
		// Go runtime always prints after it is what is recognised.
		{token: "goroutine ", re: re(`^goroutine \d+ \[[a-z ,0-9]+\]:$`), title: "go runtime error", typ: "DoS", mode: gmNone, flags: fNoStack},
		{token: "runtime stack:", re: re(`^runtime stack:$`), title: "go runtime error", typ: "DoS", mode: gmNone, flags: fNoStack},
	}
}

// ripHeadless opens a report for a kernel RIP line shown without its header
// (tickets often paste just "RIP: ... skb_over_panic+0x5d/0x70" and the trace).
var ripHeadless = &format{title: "Oops in {FUNC}", typ: "DoS", mode: gmRipTrace, flags: fHeadless}

// headlessKinds names the kind of a report from its faulting function when
// the header was lost: these functions only ever fault through BUG().
// Built by loadTables.
var headlessKinds map[string]*format

func headlessKindTable() map[string]*format {
	bug := func() *format {
		return &format{title: "kernel BUG in {FUNC}", typ: "BUG", mode: gmRipTrace, skip: skbSkip, flags: fHeadless}
	}
	return map[string]*format{"skb_over_panic": bug(), "skb_under_panic": bug(), "skb_panic": bug()}
}

var kernelRIPRe = lazyRE(`^RIP: 0010:.*?[A-Za-z_]\w*\+0x`)

// warnKind names a WARNING by the file (and, where the file warns about
// several things, the function) that raised it, so that helper warnings
// bucket by their caller: "WARNING: refcount bug in f". The header
// expressions, titles and skip lists are the WARNING formats of
// google/syzkaller pkg/report/linux.go at
// 1e72964b0111319984575e60f266d1fa0a98abb5.
type warnKind struct {
	re     *regexp.Regexp // matched against the header, from "WARNING:" on
	kind   string         // put after "WARNING"
	suffix string         // put after the guilty function
	skip   matcher        // the helper's own frames, passed over
}

// warnKinds is the table of WARNING kinds, built by loadTables.
var warnKinds []warnKind

func warnKindTable() []warnKind {
	return []warnKind{
		{re: re(`WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)`), kind: ": ODEBUG bug", skip: odebugWarnSkip},
		{re: re(`WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)`), kind: ": bad usercopy", skip: usercopySkip},
		{re: re(`WARNING: .*lib/kobject\.c.* (?:kobject_|at)`), kind: ": kobject bug", skip: kobjectWarnSkip},
		{re: re(`WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)`), kind: ": proc registration bug", skip: procWarnSkip},
		{re: re(`WARNING: .*lib/refcount\.c.* (?:refcount_|at)`), kind: ": refcount bug", skip: refcountWarnSkip},
		{re: re(`WARNING: .*kernel/locking/lockdep\.c.*lock_`), kind: ": locking bug", skip: lockSockSkip},
		{re: re(`WARNING: .*mm/.*\.c.* k?.?malloc`), kind: ": kmalloc bug", skip: kmallocWarnSkip},
		{re: re(`WARNING: .*mm/vmalloc.c.*__vmalloc_node`), kind: ": zero-size vmalloc"},
		{re: re(`WARNING: .* usb_submit_urb`), suffix: "/usb_submit_urb", skip: usbWarnSkip},
	}
}

// findWarnKind returns the kind of a WARNING whose header is h; when the
// header does not name the file, the one raised at file (with or without
// ":line") in function fn.
func findWarnKind(h, file, fn string) *warnKind {
	if i := strings.Index(h, "WARNING: "); i >= 0 {
		h = h[i:]
	}
	if file != "" && !strings.Contains(h, file) {
		h = "WARNING: at " + file + " " + fn
	}
	for i := range warnKinds {
		if warnKinds[i].re.MatchString(h) {
			return &warnKinds[i]
		}
	}
	return nil
}

// detect returns the format whose header the line is, or nil. b is t's
// bytes, which the prefilter reads.
func detect(t string, b []byte) *format {
	if len(t) < 4 {
		return nil
	}
	if !headerTokens.contains(b) {
		// The strided check: most lines of a report hold no token.
		return nil
	}
	// The tokens the line holds select the formats to try, in table order.
	var found [8]string
	nf := 0
	headerTokens.find(b, func(tok string) bool {
		found[nf] = tok
		nf++
		return nf < len(found)
	})
	if nf == 0 {
		return nil
	}
	for _, f := range formats {
		hit := false
		for _, tok := range found[:nf] {
			if tok == f.token {
				hit = true
				break
			}
		}
		if !hit && (nf < len(found) || !strings.Contains(t, f.token)) {
			continue
		}
		if f.re.MatchString(t) {
			if suppressed(f, t) {
				return nil
			}
			return f
		}
	}
	if strings.HasPrefix(t, "RIP: 0010:") && kernelRIPRe.MatchString(t) {
		if loc, ok := parseRIP(t); ok {
			if f, ok := headlessKinds[StripCloneSuffixes(loc.Function)]; ok {
				return f
			}
		}
		return ripHeadless
	}
	return nil
}

// suppression is a line that holds an oops header's keyword but is no
// report: syzkaller's per-oops suppressions of google/syzkaller
// pkg/report/linux.go at 1e72964b0111319984575e60f266d1fa0a98abb5, each
// under the header keyword of its oops.
type suppression struct {
	header string
	re     *lazyRegexp
}

var suppressions = []suppression{
	{"BUG:", lazyRE(`ODEBUG:|Boot_DEBUG:|xlog_status:|DEBUG:|BUG: no syscalls can create resource`)},
	{"WARNING:", lazyRE(`WARNING: /etc/ssh/moduli does not exist, using fixed modulus|` +
		`WARNING: workqueue cpumask: online intersect > possible intersect|WARNING: [Tt]he mand mount option|` +
		`WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1|WARNING: Unprivileged eBPF is enabled with eIBRS|` +
		`WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size|WARNING: See https.* for mitigation options.|` +
		`WARNING: kernel not compiled with CPU_SRSO|EXT4-[Ff][Ss](?: \(.*\))?:|` +
		`(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)|XFS \(\w+\): WARNING`)},
	{"INFO:", lazyRE(`INFO: lockdep is turned off|INFO: Stall ended before state dump start|INFO: NMI handler|` +
		`INFO: recovery required on readonly filesystem|(handler|interrupt).*took too long|` +
		`INFO: sys_.* is not present in /proc/kallsyms|INFO: no syscalls can create resource|rmt_storage:INFO:|_INFO:`)},
	{"general protection fault", lazyRE(`general protection fault .* error:\d+ in `)},
	{"Booting the kernel.", lazyRE(`Parsing ELF|Decompressing Linux|Unknown parameter '`)},
}

// suppressed filters lines that contain a header's words but are not kernel
// reports: syzkaller's suppressions, and ours: userspace traps, crash(8)'s
// own warnings, filesystem and tool warnings.
func suppressed(f *format, t string) bool {
	for _, s := range suppressions {
		if strings.Contains(t, s.header) && s.re.MatchString(t) {
			return true
		}
	}
	switch {
	case strings.Contains(t, "traps:") || strings.Contains(t, " ip:") && strings.Contains(t, " sp:"):
		return true
	case strings.HasPrefix(t, "WARNING: active task") || strings.Contains(t, "PID hash") || strings.Contains(t, "kernel relocated") ||
		strings.HasPrefix(t, "WARNING: cannot ") || strings.HasPrefix(t, "WARNING: invalid "):
		// crash(8)'s own warnings, printed while it opens a dump.
		return true
	case f.token == "WARNING:" && (strings.Contains(t, "EXT4-fs") || strings.Contains(t, "XFS") ||
		strings.Contains(t, "deprecated") || strings.Contains(t, "could not") || strings.Contains(t, "sshd") ||
		strings.Contains(t, "not supported") || strings.Contains(t, "DT_FLAGS_1") || strings.Contains(t, "fbcon:") ||
		strings.Contains(t, "mand mount option") || strings.Contains(t, "moduli")):
		return f.mode == gmNone
	}
	return false
}
