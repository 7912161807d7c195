package oops

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// titleReport sets the title, type, guilty function and corrupted flag.
func titleReport(f *format, r *Report, p *parsed) {
	title := f.title
	noAccess := f.noAccess != "" && p.access == ""
	if noAccess {
		// syzkaller's fallback "BUG: KASAN: (.*)", marked corrupted:
		// the line that tells a read from a write is missing.
		title = f.noAccess
	}
	if f.re == nil {
		// headless formats have no header regexp
	} else if sm := f.re.FindStringSubmatch(r.Header); sm != nil {
		for i := len(sm) - 1; i >= 1; i-- {
			title = strings.ReplaceAll(title, "$"+string(rune('0'+i)), sm[i])
		}
		if f.flags&fNeedMsg != 0 && strings.TrimSpace(sm[len(sm)-1]) == "" {
			// The message went to a later line, split by other output.
			r.Corrupted = true
			r.CorruptedReason = "message missing from the header"
		}
	}
	if strings.Contains(title, "{ACCESS}") {
		if p.access != "" {
			title = strings.ReplaceAll(title, "{ACCESS}", p.access+" ")
		} else {
			title = strings.ReplaceAll(title, "{ACCESS}", "")
		}
	}
	if strings.Contains(title, "{KIND}") {
		kind := ""
		loc := p.warnFile
		if loc == "" && r.BugLocation != nil {
			loc = *r.BugLocation
		}
		wfn := p.warnFn
		if wfn == "" && p.rip != nil {
			wfn = p.rip.Function
		}
		if k := findWarnKind(r.Header, loc, wfn); k != nil {
			kind = k.kind
			title = strings.ReplaceAll(title, "{FUNC}", "{FUNC}"+k.suffix)
			if k.skip != nil && f.skip == nil {
				fc := *f
				fc.skip = k.skip
				f = &fc
			}
		}
		if kind == "" && loc == "" && hasLine(r.Text, "refcount_t: ") {
			kind = ": refcount bug"
		}
		if kind == "" && loc == "" && hasLine(r.Text, "ODEBUG: ") {
			kind = ": ODEBUG bug"
		}
		title = strings.ReplaceAll(title, "{KIND}", kind)
	}
	if strings.Contains(title, "{PANIC}") {
		title = strings.ReplaceAll(title, "{PANIC}", panicTitle(r.Header, r, p))
	}
	brokenFrame := false
	if f.flags&fFramed != 0 && (!framed(r.Text) || !p.stackKw && !hasFrames(p) && p.lockAt == "") {
		// lockdep prints its report as one block; a block broken by other
		// output, or cut before it names a lock or a stack, cannot be read
		// for a culprit.
		if i := strings.Index(r.Header, "WARNING: "); i >= 0 {
			// Named by what it said, as a plain warning.
			r.Title = sanitizeTitle(r.Header[i:])
			r.Type = TitleToType(r.Title)
			r.Corrupted = true
			r.CorruptedReason = "lockdep report broken up"
			return
		}
		brokenFrame = true
	}
	// raw is the frame the guilty function was read from, for the
	// alternative titles.
	raw := ""
	if strings.Contains(title, "{FUNC}") {
		fn := guilty(f, p)
		raw = p.guiltyRaw
		reason := "no guilty frame in the report"
		if brokenFrame {
			fn, reason = "", "lockdep report broken up"
		}
		if fn != "" && p.partsFailed {
			// Named, but some part of the layout was missing.
			r.Corrupted = true
			r.CorruptedReason = "no frames in a stack part"
		}
		if fn == "" && p.faultStop {
			reason = "fault injection stack intermixed"
		}
		if fn != "" && p.faultAt > 0 && mentionedAt(r.Text, fn) > p.faultAt {
			// An injected failure's stack dump ran into the report before
			// the frame: which stack the frame is from cannot be told.
			fn, reason = "", "fault injection stack intermixed"
		}
		if fn == "" {
			title = strings.ReplaceAll(title, "{FUNC}", "corrupted")
			r.Corrupted = true
			r.CorruptedReason = reason
		} else {
			c := canonicalFunc(fn)
			r.GuiltyFunction = &c
			title = strings.ReplaceAll(title, "{FUNC}", c)
			if raw == "" {
				raw = fn
			}
		}
	}
	if f.flags&(fHeadless|fNoStack) == 0 && !p.stackKw && !hasFrames(p) && !r.Corrupted {
		// The kind prints a stack; without one the report was cut.
		r.Corrupted = true
		r.CorruptedReason = "no stack trace in report"
	}
	if f.flags&fNeedStack != 0 && !p.stackKw && !hasFrames(p) && !r.Corrupted {
		r.Corrupted = true
		r.CorruptedReason = "no stack trace in report"
	}
	if p.missedTrace && f.mode != gmNone && strings.Contains(f.title, "{FUNC}") && !r.Corrupted {
		r.Corrupted = true
		r.CorruptedReason = "call trace is missed"
	}
	if f.flags&(fHeadless|fNoStack) == 0 && !r.Corrupted {
		if why := stackCheck(r.Text); why != "" {
			r.Corrupted, r.CorruptedReason = true, why
		}
	}
	if noAccess && !r.Corrupted {
		r.Corrupted = true
		r.CorruptedReason = "access line missing from the report"
	}
	if f.flags&fCorrupt != 0 {
		r.Corrupted = true
		r.CorruptedReason = "report cut short"
	}
	if f.flags&fHeadless != 0 && r.CorruptedReason == "" {
		r.CorruptedReason = "report header not shown"
	}
	title = sanitizeTitle(title)
	if tsInTitle.MatchString(title) {
		r.Corrupted = true
		r.CorruptedReason = "interleaved output in the header"
	}
	r.Title = title
	// syzkaller types a report by its title alone; the format's own
	// type names the kinds its table leaves unknown.
	r.Type = syzTitleType(title)
	if unknownType(r.Type) {
		if f.typ != "" {
			r.Type = f.typ
		} else {
			r.Type = TitleToType(title)
		}
	}
	if r.Corrupted && r.CorruptedReason == "" {
		r.CorruptedReason = "corrupted"
	}
	if f.alt != "" && f.re != nil {
		if m := f.re.FindStringSubmatchIndex(r.Header); m != nil {
			r.AltTitles = []string{string(f.re.ExpandString(nil, f.alt, r.Header, m))}
			return
		}
	}
	if raw == "" {
		raw = p.guiltyRaw
	}
	setAltTitles(r, raw)
}

// framed reports whether a lockdep report keeps its layout: the header, the
// kernel version line, then a rule of dashes.
func framed(lines []string) bool {
	if len(lines) < 3 {
		return false
	}
	t := strings.TrimSpace(lines[2])
	return len(t) >= 10 && strings.Trim(t, "-") == ""
}

// mentionedAt returns the index of the first line after the header that
// shows fn as a frame or faulting instruction, or 0.
func mentionedAt(lines []string, fn string) int {
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], fn+"+") {
			return i
		}
	}
	return 0
}

func hasFrames(p *parsed) bool {
	for _, s := range p.stacks {
		if len(s.frames) > 0 {
			return true
		}
	}
	return false
}

var tsInTitle = lazyRE(`\[ *[0-9]+\.[0-9]+\]`)

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// guilty picks the function to blame in the order the format asks for.
func guilty(f *format, p *parsed) string {
	skip := func(fn string) bool {
		if fn == "" || isGeneric(fn) {
			return true
		}
		return f.skip != nil && matchFn(f.skip, StripCloneSuffixes(fn))
	}
	first := func(frames []Frame) string {
		for _, fr := range frames {
			if isFaultInjectionFrame(fr.Function) {
				// An injected failure's stack dump ran into this one:
				// what follows is not this report's (syzkaller's
				// corruptedLines).
				p.faultStop = true
				return ""
			}
			if fr.Reliable && !skip(fr.Function) {
				return fr.Function
			}
		}
		return ""
	}
	rip := func() string {
		if p.rip != nil && !skip(p.rip.Function) {
			return p.rip.Function
		}
		return ""
	}
	trace := func() string {
		if len(p.stacks) == 0 {
			return ""
		}
		return first(p.stacks[0].frames)
	}
	backtrace := func() string {
		// lockdep prints the offending task's stack after "stack
		// backtrace:"; stacks before it are where a lock was taken.
		for _, s := range p.stacks {
			if strings.HasPrefix(s.label, "stack backtrace") || strings.HasPrefix(s.label, "Call Trace") || strings.HasPrefix(s.label, "Call trace") || strings.HasPrefix(s.label, "Backtrace") {
				return first(s.frames)
			}
		}
		return ""
	}
	lockAt := func() string {
		if !skip(p.lockAt) {
			return p.lockAt
		}
		return ""
	}
	if f.rule != nil && len(p.lines) > 1 {
		fn, ok, foreign := extractGuilty(p, withoutQuestionable(p.lines), f.rule, skip)
		if fn != "" || p.callTrace && !foreign {
			if !ok {
				p.partsFailed = true
			}
			return fn
		}
		// Not laid out as syzkaller's parts expect (s390's PSW line,
		// a 2.6 "EIP is at", a trace without a "Call Trace:"
		// keyword): read by the format's mode.
	}
	if f.flags&fHeaderFn != 0 && p.headerFn != "" {
		// The function the header names, skipped or not, rather than
		// no function at all.
		if fn := guiltyByMode(f, p, skip, first, rip, trace, backtrace, lockAt); fn != "" {
			return fn
		}
		return p.headerFn
	}
	if fn := guiltyByMode(f, p, skip, first, rip, trace, backtrace, lockAt); fn != "" {
		return fn
	}
	if f.mode == gmRipTrace && len(p.stacks) > 0 {
		// A trace of nothing but the kernel's entry code (a jump to a
		// wild address from a syscall): where it came in is all there is.
		for _, fr := range p.stacks[0].frames {
			if fr.Reliable && matchFn(entryRe, StripCloneSuffixes(fr.Function)) {
				return fr.Function
			}
		}
	}
	return ""
}

// entryRe matches the kernel entry frames: passed over as the guilty
// function, but the only one a trace of nothing else has.
var entryRe = lazyRE(`^el0_svc|^ret_fast_syscall|^entry_SYSCALL|^ret_from_fork`)

func guiltyByMode(f *format, p *parsed, skip func(string) bool, first func([]Frame) string, rip, trace, backtrace, lockAt func() string) string {
	try := func(fs ...func() string) string {
		for _, fn := range fs {
			if s := fn(); s != "" {
				return s
			}
		}
		return ""
	}
	switch f.mode {
	case gmRipTrace:
		return try(rip, trace)
	case gmTrace:
		return try(trace, rip, lockAt)
	case gmHeader:
		return try(func() string {
			if !skip(p.headerFn) {
				return p.headerFn
			}
			return ""
		}, rip, trace)
	case gmChain:
		// The lock being taken, else the one held, as the header's
		// "at:" lines name them; never a frame of the dependency chain,
		// which shows where the locks were taken long before.
		return try(lockAt, func() string {
			if !skip(p.lockAt2) {
				return p.lockAt2
			}
			return ""
		}, backtrace, trace, rip)
	case gmBacktrace:
		return try(backtrace, trace, rip, lockAt)
	case gmLastFunction:
		return p.lastFunction
	case gmLeak:
		return first(p.leak)
	case gmStall:
		return stallGuilty(p, skip)
	case gmHung:
		return hungGuilty(p)
	}
	return ""
}

// isFaultInjectionFrame tells should_fail and should_failslab, the frames
// of an injected failure's stack dump.
func isFaultInjectionFrame(fn string) bool {
	fn = StripCloneSuffixes(fn)
	return fn == "should_fail" || fn == "should_failslab"
}

// hungGuilty names a blocked task's hang as syzkaller's
// linuxHangTaskFrameExtractor does: by the first anchor frame anywhere in
// the trace (hangAnchors), else by the first frame that is not waiting
// (hangSkipWords), the global skip list aside.
func hungGuilty(p *parsed) string {
	if len(p.stacks) == 0 {
		return ""
	}
	var frames []string
	for _, fr := range p.stacks[0].frames {
		if isFaultInjectionFrame(fr.Function) {
			p.faultStop = true
			break
		}
		if fn := StripCloneSuffixes(fr.Function); fr.Reliable && !isGeneric(fn) {
			frames = append(frames, fn)
		}
	}
	return hangExtractor(p, frames)
}

// stallAnchors are dispatchers: in a stall, the function they called is
// the one that ran too long (a syscall, a softirq or timer handler, a work
// item, a file or socket operation), so the stall is named by the frame
// before the first of them. They are linuxStallAnchorFrames of
// google/syzkaller pkg/report/linux.go at
// 1e72964b0111319984575e60f266d1fa0a98abb5, matched anywhere in a name.
var stallAnchors = skipList(
	"process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch", "tracesys_phase2", "el0_svc_handler", "invoke_syscall",
	"ret_fast_syscall", "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers", "run_timer_softirq", "hrtimer_run", "run_ksoftirqd",
	"smpboot_thread_fn", "^kthread$", "start_secondary", "cpu_startup_entry", "ret_from_fork", "vfs_write", "vfs_read", "vfs_iter_read",
	"vfs_iter_write", "do_iter_read", "do_iter_write", "call_read_iter", "call_write_iter", "new_sync_read", "new_sync_write", "vfs_ioctl",
	"ksys_ioctl", "compat_ioctl", "compat_sys_ioctl", "blkdev_driver_ioctl", "blkdev_ioctl", "^call_read_iter", "^call_write_iter",
	"do_iter_readv_writev", "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open", "^sock_sendmsg", "^sock_recvmsg",
	"^sock_release", "^__sock_release", "^setsockopt$", "kernel_setsockopt", "sock_common_setsockopt", "^listen$", "kernel_listen",
	"sk_common_release", "^sock_mmap", "^accept$", "kernel_accept", "^sock_do_ioctl", "^sock_ioctl", "^compat_sock_ioctl",
	"^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg", "^netlink_dump", "^(sys_)?(socketpair|connect|ioctl)", "__do_fault", "do_page_fault",
	"^page_fault$", "__fput", "task_work_run", "exit_to_usermode", "smp_call_function", "tasklet_action", "tasklet_hi_action",
)

// stallGuilty names the code a stall ran in: the callee of the first
// dispatcher in the interrupted context, or "" when no dispatcher shows.
func stallGuilty(p *parsed, skip func(string) bool) string {
	frames := p.stallCtx
	if p.ripFirst && p.stallStack > 1 {
		// The context a lockup's own registers and trace show, not
		// another CPU's found later in the report.
		frames = nil
	}
	if len(frames) == 0 {
		if p.rip != nil {
			frames = append(frames, Frame{Location: *p.rip, Reliable: true})
		}
		if len(p.stacks) > 0 {
			frames = append(frames, p.stacks[0].frames...)
		}
	}
	// The frames left once the skipped ones are taken out, as
	// linuxStallFrameExtractor sees them.
	var names []string
	for _, fr := range frames {
		if fn := StripCloneSuffixes(fr.Function); fr.Reliable && !skip(fn) {
			names = append(names, fn)
		}
	}
	if len(names) == 0 {
		return ""
	}
	prev := names[0]
	for _, fn := range names {
		if matchFn(stallAnchors, fn) {
			if strings.Contains(fn, "smp_call_function") {
				// A cross-CPU call is itself what ran too long,
				// whichever variant.
				p.guiltyRaw = fn
				return "smp_call_function"
			}
			return prev
		}
		prev = fn
	}
	// No dispatcher: the stack was cut, or is some other CPU's.
	return ""
}

var (
	hexRe = lazyRE(`\b(?:0x)?[0-9a-f]{6,}\b`)
)

// panicTitle makes "kernel panic: <message>" stable across hosts.
func panicTitle(header string, r *Report, p *parsed) string {
	msg := panicMessage(header)
	switch {
	case strings.HasPrefix(msg, "Attempted to kill init!"):
		return "Attempted to kill init!"
	case strings.HasPrefix(msg, "Fatal exception"):
		// Printed after the report that caused it: alone, a report cut
		// short (syzkaller marks these three corrupted).
		r.Corrupted = true
		return "Fatal exception"
	case strings.HasPrefix(msg, "panic_on_warn set"):
		r.Corrupted = true
		return "panic_on_warn set"
	case strings.HasPrefix(msg, "hung_task: blocked tasks"):
		r.Corrupted = true
		return "hung_task: blocked tasks"
	case strings.HasPrefix(msg, "corrupted stack end detected inside scheduler"):
		// A stack overflow: named, like a stall, by the entry point
		// whose work ran too deep.
		fn := guilty(&format{mode: gmStall, skip: stackEndSkip, rule: traceStallRule}, p)
		if p.guiltyRaw == "" {
			p.guiltyRaw = fn
		}
		return "corrupted stack end in " + orCorrupted(r, fn)
	case strings.HasPrefix(msg, "stack-protector: Kernel stack is corrupted in"):
		fn := strings.TrimSpace(strings.TrimPrefix(msg, "stack-protector: Kernel stack is corrupted in:"))
		if loc, ok := parseFrame(fn); ok {
			fn = loc.Function
		} else if hexRun(fn) == len(fn) {
			// Only an address: the stack names the function.
			return "stack is corrupted in " + orCorrupted(r, guilty(&format{mode: gmTrace, skip: stackChkSkip, rule: traceRule}, p))
		}
		return "stack is corrupted in " + canonicalFunc(fn)
	}
	return msg
}

func orCorrupted(r *Report, fn string) string {
	if fn == "" {
		r.Corrupted = true
		return "corrupted"
	}
	c := canonicalFunc(fn)
	r.GuiltyFunction = &c
	return c
}

var (
	ipRe  = lazyRE(`\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b`)
	srcRe = lazyRE(`(\.[ch]):[0-9]+`)
	offRe = lazyRE(`\+0x[0-9a-f]+/0x[0-9a-f]+`)
	// numRe leaves a minus sign: "failed(-5)" is "failed(-NUM)", the sign
	// says which kind of value was printed.
	numRe = lazyRE(`(^|[^A-Za-z0-9_])[0-9]+([^A-Za-z0-9_]|$)`)
	// longNumRe: a long digit run is an id even inside a word
	// ("testdir264563108").
	longNumRe = lazyRE(`[0-9]{7,}`)
	cpuRe     = lazyRE(`CPU#[0-9]+`)
	execRe    = lazyRE(`syz-executor\.?[0-9]+`)
)

// sanitizeTitle removes what varies between hosts and runs: addresses,
// numbers, line numbers, IP addresses.
func sanitizeTitle(t string) string {
	t = strings.ReplaceAll(t, "\t", " ")
	// Each regexp runs only where it can match: most titles hold few
	// numbers and no addresses.
	if strings.Contains(t, "syz-executor") {
		t = execRe.ReplaceAllString(t, "syz-executor")
	}
	if strings.Contains(t, "+0x") {
		t = offRe.ReplaceAllString(t, "")
	}
	if strings.Contains(t, ".c:") || strings.Contains(t, ".h:") {
		t = srcRe.ReplaceAllString(t, "$1:LINE")
	}
	digits := strings.ContainsAny(t, "0123456789")
	if digits && strings.IndexByte(t, '.') >= 0 {
		t = ipRe.ReplaceAllString(t, "IP")
	}
	if hexRun(t) >= 6 {
		t = hexRe.ReplaceAllString(t, "ADDR")
	}
	if strings.Contains(t, "CPU#") {
		t = cpuRe.ReplaceAllString(t, "CPU")
	}
	if digits {
		t = longNumRe.ReplaceAllString(t, "NUM")
		for {
			n := numRe.ReplaceAllString(t, "${1}NUM${2}")
			if n == t {
				break
			}
			t = n
		}
	}
	var b strings.Builder
	space := false
	for _, c := range t {
		if c < 0x20 || c == 0x7f {
			continue
		}
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(c)
	}
	t = strings.TrimSpace(b.String())
	if len(t) > 120 {
		t = t[:120]
	}
	return t
}

// hexRun is the length of the longest run of [0-9a-f] in t.
func hexRun(t string) int {
	best, n := 0, 0
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// TitleToType maps a title to syzkaller's crash-type name.
func TitleToType(title string) string {
	t := syzTitleType(title)
	if unknownType(t) {
		// syzkaller knows the family only: ours may say more ("BUG:
		// hard lockup" hangs).
		if o := ourTitleType(title); o != "UNKNOWN" {
			return o
		}
	}
	return t
}

// syzTitleType is syzkaller's crash.TitleToType: UNKNOWN when no prefix of
// its table fits.
func syzTitleType(title string) string {
	for _, tt := range syzTitleTypes {
		for _, p := range tt.prefixes {
			if strings.HasPrefix(title, p) {
				return tt.typ
			}
		}
	}
	return "UNKNOWN"
}

// unknownType tells a type that names no kind, or only a sanitizer's family.
func unknownType(t string) bool { return t == "UNKNOWN" || strings.HasSuffix(t, "-UNKNOWN") }

// syzTitleTypes is syzkaller's titleToType table (google/syzkaller
// pkg/report/crash/title_to_type.go, commit 076e271f2c2c): the first entry
// with a prefix of the title names its type.
var syzTitleTypes = []struct {
	prefixes []string
	typ      string
}{
	{[]string{"KFENCE: use-after-free write"}, "KFENCE-USE-AFTER-FREE-WRITE"},
	{[]string{"KFENCE: use-after-free read", "KFENCE: use-after-free"}, "KFENCE-USE-AFTER-FREE-READ"},
	{[]string{"KFENCE: invalid write", "KFENCE: out-of-bounds write"}, "KFENCE-WRITE"},
	{[]string{"KFENCE: invalid read", "KFENCE: out-of-bounds read", "KFENCE: out-of-bounds"}, "KFENCE-READ"},
	{[]string{"KFENCE: memory corruption"}, "KFENCE-MEMORY-CORRUPTION"},
	{[]string{"KFENCE: invalid free"}, "KFENCE-INVALID-FREE"},
	{[]string{"KMSAN: uninit-value"}, "KMSAN-UNINIT-VALUE"},
	{[]string{"KMSAN: kernel-infoleak-after-free", "KMSAN: kernel-usb-infoleak-after-free", "KMSAN: use-after-free"}, "KMSAN-USE-AFTER-FREE-READ"},
	{[]string{"KMSAN: kernel-infoleak", "KMSAN: kernel-usb-infoleak"}, "KMSAN-INFO-LEAK"},
	{[]string{"KASAN: null-ptr-deref Write"}, "KASAN-NULL-POINTER-DEREFERENCE-WRITE"},
	{[]string{"KASAN: null-ptr-deref Read"}, "KASAN-NULL-POINTER-DEREFERENCE-READ"},
	{[]string{"BUG: unable to handle kernel NULL pointer dereference in"}, "NULL-POINTER-DEREFERENCE"},
	{[]string{"KASAN: global-out-of-bounds Write", "KASAN: out-of-bounds Write", "KASAN: slab-out-of-bounds Write",
		"KASAN: stack-out-of-bounds Write", "KASAN: user-memory-access Write", "KASAN: vmalloc-out-of-bounds Write",
		"KASAN: wild-memory-access Write"}, "KASAN-WRITE"},
	{[]string{"KASAN: global-out-of-bounds Read", "KASAN: invalid-access Read", "KASAN: out-of-bounds Read",
		"KASAN: slab-out-of-bounds Read", "KASAN: slab-out-of-bounds", "KASAN: stack-out-of-bounds Read",
		"KASAN: stack-out-of-bounds", "KASAN: unknown-crash Read", "KASAN: user-memory-access Read",
		"KASAN: vmalloc-out-of-bounds Read", "KASAN: wild-memory-access Read", "KASAN: wild-memory-access"}, "KASAN-READ"},
	{[]string{"KASAN: double-free or invalid-free", "KASAN: invalid-free"}, "KASAN-INVALID-FREE"},
	{[]string{"KASAN: slab-use-after-free Write", "KASAN: use-after-free Write"}, "KASAN-USE-AFTER-FREE-WRITE"},
	{[]string{"KASAN: slab-use-after-free Read", "KASAN: use-after-free Read", "KASAN: use-after-free"}, "KASAN-USE-AFTER-FREE-READ"},
	{[]string{"BUG: corrupted list", "BUG: unable to handle kernel paging request"}, "MEMORY_SAFETY_BUG"},
	{[]string{"WARNING: refcount bug"}, "REFCOUNT_WARNING"},
	{[]string{"UBSAN: array-index-out-of-bounds"}, "MEMORY_SAFETY_UBSAN"},
	{[]string{"KCSAN: data-race"}, "KCSAN-DATARACE"},
	{[]string{"KCSAN: assert: race in"}, "KCSAN-ASSERT"},
	{[]string{"BUG: bad unlock balance in", "BUG: held lock freed in", "BUG: rwlock", "BUG: spinlock",
		"BUG: still has locks held in", "BUG: using", "WARNING: bad unlock balance in", "WARNING: held lock freed in",
		"WARNING: lock held", "WARNING: locking bug in", "WARNING: nested lock was not taken in",
		"WARNING: still has locks held in", "WARNING: suspicious RCU usage in", "inconsistent lock state in",
		"possible deadlock in"}, "LOCKDEP"},
	{[]string{"BUG: scheduling while atomic in", "BUG: sleeping function called from invalid context in"}, "ATOMIC_SLEEP"},
	{[]string{"memory leak in"}, "LEAK"},
	{[]string{"BUG: bad usercopy in", "kernel BUG"}, "BUG"},
	{[]string{"WARNING in"}, "WARNING"},
	{[]string{"BUG: stack guard page was hit in", "WARNING: corrupted", "WARNING: kernel stack frame pointer has bad value",
		"WARNING: kernel stack regs has bad"}, "UNKNOWN"},
	{[]string{"BUG: soft lockup in", "INFO: rcu detected stall in", "INFO: task can't die in", "INFO: task hung in"}, "HANG"},
	{[]string{"Alignment trap in", "BUG: Object already free", "Internal error in", "PANIC: double fault",
		"Unhandled fault in", "VFS: Busy inodes after unmount (use-after-free)", "VFS: Close: file count is zero (use-after-free)",
		"divide error in", "general protection fault in", "go runtime error", "invalid opcode in", "kernel panic:",
		"kernel stack overflow", "panic:", "rust_kernel panicked", "stack segment fault in", "trusty:",
		"unregister_netdevice: waiting for DEV to become free"}, "DoS"},
	{[]string{"unexpected kernel reboot"}, "REBOOT"},
	{[]string{"SYZFAIL", "SYZFATAL:"}, "SYZ_FAILURE"},
	// The defaults.
	{[]string{"WARNING:"}, "WARNING"},
	{[]string{"BUG:"}, "UNKNOWN"},
	{[]string{"INFO:"}, "UNKNOWN"},
	{[]string{"KASAN:"}, "KASAN-UNKNOWN"},
	{[]string{"KFENCE:"}, "KFENCE-UNKNOWN"},
	{[]string{"KMSAN:"}, "KMSAN-UNKNOWN"},
	{[]string{"UBSAN:"}, "UBSAN"},
	{[]string{"KCSAN:"}, "KCSAN-UNKNOWN"},
}

// ourTitleType types the titles syzkaller's table leaves unknown, and those
// of kinds it does not have (machine checks, lockdep's own reports).
func ourTitleType(title string) string {
	for _, tt := range titleTypes {
		if strings.HasPrefix(title, tt.prefix) {
			if tt.fn != nil {
				return tt.fn(title)
			}
			return tt.typ
		}
	}
	return "UNKNOWN"
}

var titleTypes = []struct {
	prefix string
	typ    string
	fn     func(string) string
}{
	{prefix: "KASAN: ", fn: kasanType},
	{prefix: "KMSAN: uninit-value", typ: "KMSAN-UNINIT-VALUE"},
	{prefix: "KMSAN: kernel-infoleak", typ: "KMSAN-INFO-LEAK"},
	{prefix: "KMSAN: kernel-usb-infoleak", typ: "KMSAN-INFO-LEAK"},
	{prefix: "KMSAN: ", typ: "KMSAN"},
	{prefix: "KFENCE: use-after-free read", typ: "KFENCE-USE-AFTER-FREE-READ"},
	{prefix: "KFENCE: use-after-free write", typ: "KFENCE-USE-AFTER-FREE-WRITE"},
	{prefix: "KFENCE: use-after-free", typ: "KFENCE-USE-AFTER-FREE"},
	{prefix: "KFENCE: out-of-bounds read", typ: "KFENCE-READ"},
	{prefix: "KFENCE: out-of-bounds write", typ: "KFENCE-WRITE"},
	{prefix: "KFENCE: invalid read", typ: "KFENCE-READ"},
	{prefix: "KFENCE: invalid write", typ: "KFENCE-WRITE"},
	{prefix: "KFENCE: invalid free", typ: "KFENCE-INVALID-FREE"},
	{prefix: "KFENCE: memory corruption", typ: "KFENCE-MEMORY-CORRUPTION"},
	{prefix: "KCSAN: data-race", typ: "KCSAN-DATARACE"},
	{prefix: "KCSAN: assert", typ: "KCSAN-ASSERT"},
	{prefix: "UBSAN: array-index-out-of-bounds", typ: "MEMORY_SAFETY_UBSAN"},
	{prefix: "UBSAN: ", typ: "UBSAN"},
	{prefix: "BUG: unable to handle kernel NULL pointer dereference", typ: "NULL-POINTER-DEREFERENCE"},
	{prefix: "BUG: unable to handle kernel paging request", typ: "MEMORY_SAFETY_BUG"},
	{prefix: "BUG: corrupted list", typ: "MEMORY_SAFETY_BUG"},
	{prefix: "BUG: soft lockup", typ: "HANG"},
	{prefix: "BUG: hard lockup", typ: "HANG"},
	{prefix: "BUG: workqueue lockup", typ: "HANG"},
	{prefix: "INFO: rcu detected stall", typ: "HANG"},
	{prefix: "INFO: task hung", typ: "HANG"},
	{prefix: "INFO: task can't die", typ: "HANG"},
	{prefix: "BUG: scheduling while atomic", typ: "ATOMIC_SLEEP"},
	{prefix: "BUG: sleeping function", typ: "ATOMIC_SLEEP"},
	{prefix: "memory leak in", typ: "LEAK"},
	{prefix: "possible deadlock", typ: "LOCKDEP"},
	{prefix: "inconsistent lock state", typ: "LOCKDEP"},
	{prefix: "WARNING: refcount bug", typ: "REFCOUNT_WARNING"},
	{prefix: "WARNING: locking bug", typ: "LOCKDEP"},
	// Lock debugging's own reports.
	{prefix: "BUG: held lock freed", typ: "LOCKDEP"},
	{prefix: "BUG: spinlock", typ: "LOCKDEP"},
	{prefix: "BUG: rwlock", typ: "LOCKDEP"},
	{prefix: "BUG: using ", typ: "LOCKDEP"},
	{prefix: "BUG: bad unlock balance", typ: "LOCKDEP"},
	{prefix: "BUG: still has locks held", typ: "LOCKDEP"},
	{prefix: "BUG: lock held when returning", typ: "LOCKDEP"},
	{prefix: "WARNING: held lock freed", typ: "LOCKDEP"},
	{prefix: "WARNING: bad unlock balance", typ: "LOCKDEP"},
	{prefix: "WARNING: lock held when returning", typ: "LOCKDEP"},
	{prefix: "WARNING: nested lock was not taken", typ: "LOCKDEP"},
	{prefix: "WARNING: still has locks held", typ: "LOCKDEP"},
	{prefix: "WARNING: suspicious RCU usage in ", typ: "LOCKDEP"},
	{prefix: "INFO: suspicious RCU usage", typ: "LOCKDEP"},
	{prefix: "INFO: trying to register non-static key", typ: "LOCKDEP"},
	{prefix: "WARNING", typ: "WARNING"},
	{prefix: "kernel BUG", typ: "BUG"},
	{prefix: "BUG: bad usercopy", typ: "BUG"},
	{prefix: "general protection fault", typ: "DoS"},
	{prefix: "kernel panic", typ: "DoS"},
	{prefix: "divide error", typ: "DoS"},
	{prefix: "stack segment fault", typ: "DoS"},
	{prefix: "invalid opcode", typ: "DoS"},
	{prefix: "int3", typ: "DoS"},
	{prefix: "PANIC: double fault", typ: "DoS"},
	{prefix: "Internal error", typ: "DoS"},
	{prefix: "Unhandled fault", typ: "DoS"},
	{prefix: "Oops", typ: "DoS"},
	{prefix: "trusty: ", typ: "DoS"},
	{prefix: "go runtime error", typ: "DoS"},
	{prefix: "kernel stack overflow", typ: "DoS"},
	{prefix: "VFS: ", typ: "DoS"},
	{prefix: "unregister_netdevice: ", typ: "DoS"},
	{prefix: "unexpected kernel reboot", typ: "REBOOT"},
	{prefix: "machine check", typ: "MCE"},
	{prefix: "SYZFAIL", typ: "SYZ_FAILURE"},
	{prefix: "SYZFATAL", typ: "SYZ_FAILURE"},
	{prefix: "BUG: ", typ: "BUG"},
}

// kasanTypes names a KASAN title's type by the first of these words it
// holds, in order; a title with none is a read.
var kasanTypes = []struct{ word, typ string }{
	{"invalid-free", "KASAN-INVALID-FREE"},
	{"double-free", "KASAN-INVALID-FREE"},
	{"null-ptr-deref Read", "KASAN-NULL-POINTER-DEREFERENCE-READ"},
	{"null-ptr-deref Write", "KASAN-NULL-POINTER-DEREFERENCE-WRITE"},
	{"use-after-free Read", "KASAN-USE-AFTER-FREE-READ"},
	{"use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"},
	{" Read", "KASAN-READ"},
	{" Write", "KASAN-WRITE"},
}

func kasanType(t string) string {
	for _, k := range kasanTypes {
		if strings.Contains(t, k.word) {
			return k.typ
		}
	}
	return "KASAN-READ"
}

// Signature is the fleet's bucket key: the SHA-256 of the crash type, the
// guilty function and the next four reliable frame functions after it, each
// without compiler clone suffixes. Offsets, addresses, modules and releases
// are left out so that one bug from many hosts and kernels is one bucket.
// Changing it is a breaking change.
func Signature(typ string, guiltyFn *string, frames []Frame) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{'\n'})
	g := ""
	if guiltyFn != nil {
		g = StripCloneSuffixes(*guiltyFn)
	}
	h.Write([]byte(g))
	h.Write([]byte{'\n'})
	// The four frames that follow the guilty function in the trace; if it is
	// not in the trace (it came from RIP or the header), the first four.
	start := 0
	for i, f := range frames {
		if f.Reliable && g != "" && canonicalFunc(f.Function) == g {
			start = i + 1
			break
		}
	}
	n := 0
	for _, f := range frames[start:] {
		if !f.Reliable {
			continue
		}
		h.Write([]byte(StripCloneSuffixes(f.Function)))
		h.Write([]byte{'\n'})
		n++
		if n == 4 {
			break
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// questionableFrame is linux.go's questionableFrame: a "? " frame, a guess
// the unwinder read from a stale stack slot.
var questionableFrame = lazyRE(`(\[\<[0-9a-f]+\>\])? \? `)

// withoutQuestionable drops the "? " frames from a report's lines, as
// syzkaller's findReport does (stripLinePrefix) before its rules see them:
// a part ("apic_timer_interrupt") is not found on such a line. Syzkaller
// drops them from stamped lines only; they are dropped from every log here,
// so that a title does not depend on how the log was captured.
func withoutQuestionable(lines []string) []string {
	keep := -1
	for i, l := range lines {
		if strings.Contains(l, " ? ") && !strings.Contains(l, "<EOI>") && questionableFrame.MatchString(l) {
			keep = i
			break
		}
	}
	if keep < 0 {
		return lines
	}
	out := append(make([]string, 0, len(lines)), lines[:keep]...)
	for _, l := range lines[keep:] {
		if strings.Contains(l, " ? ") && !strings.Contains(l, "<EOI>") && questionableFrame.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	return out
}
