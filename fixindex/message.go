package fixindex

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
)

// Bounds on what one commit contributes to the index. Kernel commit
// messages are a few KiB; a quoted splat rarely has more than 40 frames.
// A hostile or freak message costs at most these.
const (
	// maxMessage is the part of a message that is parsed; the rest is
	// read and dropped (Commit.Truncated).
	maxMessage = 256 << 10
	maxSubject = 300
	maxHeaders = 16
	maxHeader  = 256
	maxTitles  = 8
	maxFuncs   = 64
	maxFixes   = 16
	maxReports = 8
)

// crashPrefixes start the header lines of the crash reports the kernel
// prints, as commit messages quote them (after timestamps and indentation).
var crashPrefixes = []string{
	"BUG: ", "KASAN: ", "KMSAN: ", "KCSAN: ", "KFENCE: ", "UBSAN: ",
	"WARNING: ", "kernel BUG at ", "general protection fault",
	"Oops: ", "Oops - ", "Internal error: Oops", "Unable to handle kernel ",
	"divide error: ", "INFO: task ", "INFO: rcu ", "INFO: trying to register non-static key",
	"watchdog: BUG: soft lockup", "unreferenced object 0x", "possible deadlock",
	"WARNING: possible circular locking dependency", "refcount_t: ",
	"list_add corruption", "list_del corruption", "Kernel panic - not syncing: ",
}

var (
	// Fixes: 1234567890ab ("subject")
	fixesRE = regexp.MustCompile(`(?i)^fixes:\s+([0-9a-f]{8,64})\b(?:\s*\(\s*"(.*)"\s*\))?`)
	// Reported-by: syzbot+0123abcd@syzkaller.appspotmail.com
	syzbotRE = regexp.MustCompile(`(?i)^reported(?:-and-tested)?-by:\s*(syzbot(?:\+[0-9a-f]+)?)@`)
	// The frame forms quoted in messages: "func+0x1/0x2", "func() (file:line)"
	// (decode_stacktrace.sh), "func file.c:12 [inline]" (syzbot).
	frameOffsetRE = regexp.MustCompile(`^(?:\? )?([A-Za-z_][\w.]*)\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+`)
	frameDecodeRE = regexp.MustCompile(`^([A-Za-z_][\w.]*)\(\) \(`)
	frameInlineRE = regexp.MustCompile(`^([A-Za-z_][\w.]*) [\w./-]+\.[chS]:\d+(?: \[inline\])?$`)
	// The faulting instruction: "RIP: 0010:func+0x1/0x2", arm64 "pc : func+0x1/0x2".
	ripRE = regexp.MustCompile(`^(?:RIP: [0-9a-fA-F]{4}:|EIP: |pc : |PC is at |NIP \[[0-9a-f]+\] )([A-Za-z_][\w.]*)\+0x`)
	// The function a header names: "... in func", "... in func()",
	// "... in func+0x1/0x2"; WARNING's "at file.c:12 func+0x1/0x2".
	headerInRE = regexp.MustCompile(`\bin ([A-Za-z_][\w.]*)(?:\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?:\(\))?\s*$`)
	headerAtRE = regexp.MustCompile(`\bat \S+:\d+ ([A-Za-z_][\w.]*)\+0x`)
	// A syzbot title quoted in prose: syzbot reported "KASAN:
	// use-after-free Read in foo" or 'general protection fault in bar'.
	quotedTitleRE = regexp.MustCompile(`["'“]((?:KASAN|KMSAN|KCSAN|KFENCE|UBSAN|WARNING|BUG|INFO|general protection fault|kernel BUG|possible deadlock|inconsistent lock state|memory leak|KASAN: [\w-]+)[^"'”]{0,200}? in [A-Za-z_][\w.]*)["'”]`)
)

// genericFrames are the functions every report of a kind passes through
// (the reporting machinery), which name no bug: a frame match on them
// would tie every KASAN report to every KASAN fix.
var genericFrames = []string{
	"dump_stack", "dump_stack_lvl", "__dump_stack", "show_stack", "print_address_description",
	"print_report", "kasan_report", "__kasan_report", "kasan_check_range", "check_memory_region",
	"__asan_load1", "__asan_load2", "__asan_load4", "__asan_load8", "__asan_store1",
	"__asan_store2", "__asan_store4", "__asan_store8", "__asan_report_load1_noabort",
	"__asan_report_load2_noabort", "__asan_report_load4_noabort", "__asan_report_load8_noabort",
	"__asan_report_store1_noabort", "__asan_report_store2_noabort", "__asan_report_store4_noabort",
	"__asan_report_store8_noabort", "kmsan_report", "__msan_warning", "ubsan_epilogue",
	"__ubsan_handle_out_of_bounds", "__warn", "warn_slowpath_fmt", "report_bug", "handle_bug",
	"exc_invalid_op", "asm_exc_invalid_op", "do_error_trap", "do_trap", "do_invalid_op",
	"invalid_op", "panic", "die", "oops_end", "__die", "do_syscall_64", "do_syscall_x64",
	"entry_SYSCALL_64_after_hwframe", "ret_from_fork", "ret_from_fork_asm", "kthread",
	"worker_thread", "process_one_work", "el0_svc", "el0t_64_sync", "el0t_64_sync_handler",
	"invoke_syscall", "do_el0_svc", "el0_svc_common", "__do_softirq", "handle_softirqs",
}

// parseMessage reads what a commit message says of crashes: the crash
// header lines it quotes, the titles and functions of the reports in it,
// its Fixes: targets and syzbot reporters. It reports false when the
// message holds none of these, so the commit is not indexed. Only the
// first maxMessage bytes are read.
func parseMessage(hash string, msg []byte) (Commit, bool) {
	c := Commit{Hash: hash}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
		if i := bytes.LastIndexByte(msg, '\n'); i > 0 {
			msg = msg[:i+1]
		}
		c.Truncated = true
	}
	c.Subject = subjectOf(msg)

	funcs := newSet(maxFuncs)
	guilty := newSet(maxFuncs)
	headers := newSet(maxHeaders)
	titles := newSet(maxTitles)
	inTrace := false
	for line := range bytes.Lines(msg) {
		raw := strings.TrimRight(string(line), "\r\n")
		t := strings.TrimSpace(raw)
		if m := fixesRE.FindStringSubmatch(t); m != nil {
			if len(c.Fixes) < maxFixes {
				c.Fixes = append(c.Fixes, Fix{Hash: strings.ToLower(m[1]), Subject: clip(m[2], maxSubject)})
			}
			continue
		}
		if m := syzbotRE.FindStringSubmatch(t); m != nil {
			if !slices.Contains(c.Reporters, m[1]) && len(c.Reporters) < maxFixes {
				c.Reporters = append(c.Reporters, m[1])
			}
			continue
		}
		for _, m := range quotedTitleRE.FindAllStringSubmatch(t, 4) {
			titles.add(clip(m[1], maxHeader))
			for _, fn := range headerFunctions(m[1]) {
				guilty.add(fn)
			}
		}
		// Quoted console lines: strip mail quoting, then what oops strips
		// from a log line (timestamps, syslog headers, log levels).
		q := strings.TrimLeft(t, "> \t")
		text := strings.TrimSpace(oops.NormalizeLine([]byte(q)).Text)
		if text == "" {
			inTrace = false
			continue
		}
		switch {
		case isCrashHeader(text):
			headers.add(clip(text, maxHeader))
			for _, fn := range headerFunctions(text) {
				guilty.add(fn)
				funcs.add(fn)
			}
			inTrace = true
			continue
		case isTraceStart(text):
			inTrace = true
			continue
		}
		if m := ripRE.FindStringSubmatch(text); m != nil {
			if fn := kb.NormalizeFunction(m[1]); fn != "" && !isGeneric(fn) {
				funcs.add(fn)
			}
			inTrace = true
			continue
		}
		if inTrace {
			if fn, ok := frameFunction(text); ok {
				funcs.add(fn)
			}
		}
	}
	c.Headers = headers.list
	if len(c.Headers) > 0 || len(funcs.list) > 0 {
		// Let oops read the quoted reports as analyze reads a log, so a
		// title compares equal to the one ktriage computes for a crash.
		reps, _ := oops.Parse(bytes.NewReader(msg), "commit "+hash)
		for i, r := range reps {
			if i == maxReports {
				break
			}
			if r.Title != "" && !r.Corrupted && !strings.HasSuffix(r.Title, " in corrupted") {
				titles.add(clip(r.Title, maxHeader))
			}
			if r.GuiltyFunction != nil {
				if fn := kb.NormalizeFunction(*r.GuiltyFunction); fn != "" && !isGeneric(fn) {
					guilty.add(fn)
					funcs.add(fn)
				}
			}
			for _, f := range r.FrameFunctions(true) {
				if fn := kb.NormalizeFunction(f); fn != "" && !isGeneric(fn) {
					funcs.add(fn)
				}
			}
		}
	}
	c.Titles = titles.list
	c.Guilty = guilty.list
	c.Functions = funcs.list
	ok := len(c.Headers) > 0 || len(c.Titles) > 0 || len(c.Fixes) > 0 || len(c.Reporters) > 0 || len(c.Functions) > 0
	return c, ok
}

// subjectOf is git's %s: the message's first paragraph, its lines joined
// by spaces.
func subjectOf(msg []byte) string {
	var parts []string
	n := 0
	for line := range bytes.Lines(msg) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			if len(parts) > 0 {
				break
			}
			continue
		}
		parts = append(parts, s)
		if n += len(s); n > maxSubject {
			break
		}
	}
	return clip(strings.Join(parts, " "), maxSubject)
}

func isCrashHeader(t string) bool {
	for _, p := range crashPrefixes {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func isTraceStart(t string) bool {
	return strings.HasPrefix(t, "Call Trace:") || strings.HasPrefix(t, "Call trace:") || t == "<TASK>" || t == "<IRQ>"
}

// headerFunctions returns the function a header line names, if any.
func headerFunctions(t string) []string {
	var out []string
	for _, re := range []*regexp.Regexp{headerInRE, headerAtRE} {
		if m := re.FindStringSubmatch(t); m != nil {
			if fn := kb.NormalizeFunction(m[1]); fn != "" && !isGeneric(fn) {
				out = append(out, fn)
			}
		}
	}
	return out
}

// frameFunction reads a reliable call-trace frame in any of the quoted
// forms; "? " frames (not proven return addresses) are skipped.
func frameFunction(t string) (string, bool) {
	if strings.HasPrefix(t, "? ") {
		return "", false
	}
	for _, re := range []*regexp.Regexp{frameOffsetRE, frameDecodeRE, frameInlineRE} {
		if m := re.FindStringSubmatch(t); m != nil {
			fn := kb.NormalizeFunction(m[1])
			if fn == "" || isGeneric(fn) {
				return "", false
			}
			return fn, true
		}
	}
	return "", false
}

func isGeneric(fn string) bool { return slices.Contains(genericFrames, fn) }

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// set is an insertion-ordered list of distinct strings, bounded.
type set struct {
	list []string
	max  int
}

func newSet(max int) *set { return &set{max: max} }

func (s *set) add(v string) {
	if v == "" || len(s.list) >= s.max || slices.Contains(s.list, v) {
		return
	}
	s.list = append(s.list, v)
}
