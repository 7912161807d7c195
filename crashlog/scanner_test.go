package crashlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// readShared reads the shared test asset rel; testshared.Path decides what
// its absence means (a skip on a user's clone, a failure under CI).
func readShared(t *testing.T, rel string) string {
	t.Helper()
	return readFile(t, testshared.Path(t, rel))
}

// seedSession is the founding case's crash(8) session as the Scanner reads it.
func seedSession(t *testing.T) *Session {
	t.Helper()
	return scanStruct(t, readShared(t, testshared.Seed))
}

// readTestdata reads a file of this package's testdata.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	return readFile(t, filepath.Join("testdata", name))
}

// readFile reads a file the repository holds: its absence is a failure.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// accepted checks a line parser's verdict on in against want, and says
// whether to go on comparing what it parsed: not when the verdict is wrong
// (reported here) nor when the line was rightly rejected.
func accepted(t *testing.T, in string, ok, want bool) bool {
	t.Helper()
	if ok != want {
		t.Errorf("%q: ok = %v", in, ok)
		return false
	}
	return ok
}

// offsetOrNone is *p, or -1 when p is nil, for tables of offsets.
func offsetOrNone(p *uint64) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// scan feeds text line by line, each line passed through mangle.
func scan(text string, mangle func(string) string) *Session {
	s := NewScanner()
	for i, l := range strings.Split(text, "\n") {
		if mangle != nil {
			l = mangle(l)
		}
		s.Line(i+1, l)
	}
	return s.Finish()
}

// variants are the ways a paste changes whitespace; none may change what
// the scanner finds.
var variants = []struct {
	name   string
	mangle func(string) string
}{
	{"as-is", nil},
	{"stripped", func(l string) string { return strings.TrimLeft(l, " \t") }},
	{"crlf", func(l string) string { return l + "  \r" }},
	{"nbsp", func(l string) string {
		t := strings.TrimLeft(l, " ")
		return strings.Repeat("\u00a0", len(l)-len(t)) + t
	}},
	{"tabs", func(l string) string {
		t := strings.TrimLeft(l, " ")
		n := len(l) - len(t)
		return strings.Repeat("\t", n/4) + strings.Repeat(" ", n%4) + t
	}},
}

// scanAllVariants scans text in every variant, checks they agree, and
// returns the as-is result.
func scanAllVariants(t *testing.T, text string) *Session {
	t.Helper()
	base := scan(text, nil)
	checkInvariants(t, base)
	checkRows(t, base)
	for _, v := range variants[1:] {
		got := scan(text, v.mangle)
		if !reflect.DeepEqual(got, base) {
			t.Errorf("variant %s differs from as-is:\n%s\nwant\n%s", v.name, dump(got), dump(base))
		}
	}
	return base
}

func dump(s *Session) string {
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b)
}

func frameFuncs(b *Backtrace) []string {
	var out []string
	for _, f := range b.Trace {
		out = append(out, f.Function)
	}
	return out
}

func derefInt(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func TestSeed(t *testing.T) {
	text := readShared(t, testshared.Seed)
	sess := scanAllVariants(t, text)

	if len(sess.Backtraces) != 2 {
		t.Fatalf("backtraces = %d, want 2:\n%s", len(sess.Backtraces), dump(sess))
	}
	a, b := sess.Backtraces[0], sess.Backtraces[1]
	if a.Key() != b.Key() {
		t.Errorf("the bt pasted twice has keys\n%s\n%s", a.Key(), b.Key())
	}
	if !strings.HasPrefix(a.Key(), "ffffffff81a8d020|") {
		t.Errorf("key %q does not start with the task", a.Key())
	}
	for i, bt := range sess.Backtraces {
		if derefInt(bt.PID) != 0 || bt.Task != "ffffffff81a8d020" || derefInt(bt.CPU) != 0 || bt.Command != "swapper" {
			t.Errorf("bt %d header: pid=%v task=%q cpu=%v comm=%q", i, derefInt(bt.PID), bt.Task, derefInt(bt.CPU), bt.Command)
		}
		if len(bt.AllFrames) != 42 {
			t.Errorf("bt %d: %d frames, want 42 (#0..#41)", i, len(bt.AllFrames))
		}
		e := bt.Exception
		if e == nil {
			t.Fatalf("bt %d: no exception", i)
		}
		if e.Function != "skb_checksum" || e.Offset == nil || *e.Offset != 725 || e.Address != "ffffffff81451ff5" {
			t.Errorf("bt %d exception = %+v", i, e)
		}
		if e.Regs["RBX"] != 0x90 || e.Regs["R8"] != 0xffff880fe9624868 || e.Regs["RIP"] != 0xffffffff81451ff5 ||
			e.Regs["ORIG_RAX"] != 0xffffffffffffffff || e.Regs["SS"] != 0x18 || len(e.Regs) != 21 {
			t.Errorf("bt %d regs = %v", i, e.Regs)
		}
		if e.After != 6 {
			t.Errorf("bt %d exception after frame %d, want 6", i, e.After)
		}
		if len(bt.Trace) != 35 {
			t.Errorf("bt %d: trace has %d frames, want 35 (#7..#41): %v", i, len(bt.Trace), frameFuncs(bt))
			continue
		}
		first := bt.Trace[0]
		if first.Function != "skb_checksum_help" || first.Address == nil || *first.Address != "ffffffff8145d60a" || !first.Reliable {
			t.Errorf("bt %d first trace frame = %+v", i, first)
		}
		// 138 is what the document's `bt -F` (skb_checksum_help+138 in
		// the frame's slot) and `dis -lr` lines give.
		if first.Offset == nil || *first.Offset != 138 {
			t.Errorf("bt %d skb_checksum_help offset = %v, want 138", i, first.Offset)
		}
		if bq := bt.Trace[4]; bq.Function != "bond_dev_queue_xmit" || bq.Module == nil || *bq.Module != "bonding" {
			t.Errorf("bt %d trace[4] = %+v", i, bq)
		}
		if bt.Trace[1].Offset != nil || bt.Trace[1].Module != nil {
			t.Errorf("bt %d dev_hard_start_xmit: offset/module should be unknown/core: %+v", i, bt.Trace[1])
		}
		if last := bt.Trace[34]; last.Function != "do_IRQ" {
			t.Errorf("bt %d last trace frame = %s", i, last.Function)
		}
		loc := e.Location()
		if loc.Function != "skb_checksum" || *loc.Offset != 725 || *loc.Address != "ffffffff81451ff5" || loc.Module != nil {
			t.Errorf("bt %d Location = %+v", i, loc)
		}
	}
	lines := strings.Split(text, "\n")
	for i, bt := range sess.Backtraces {
		if !strings.HasPrefix(lines[bt.Span.Start-1], "PID: 0") || !strings.HasPrefix(lines[bt.Span.End-1], "#41 ") {
			t.Errorf("bt %d span %+v: %q .. %q", i, bt.Span, lines[bt.Span.Start-1], lines[bt.Span.End-1])
		}
	}

	if len(sess.SysBlocks) != 1 || sess.Sys != sess.SysBlocks[0] {
		t.Fatalf("sys blocks = %d:\n%s", len(sess.SysBlocks), dump(sess))
	}
	x := sess.Sys
	if x.Release != "2.6.32-504.23.4.el6.x86_64" {
		t.Errorf("release = %q", x.Release)
	}
	if x.Panic != "kernel BUG at net/core/skbuff.c:1886!" {
		t.Errorf("panic = %q", x.Panic)
	}
	if derefInt(x.CPUs) != 24 || x.Nodename != "hosta" || x.Machine != "x86_64" || derefInt(x.MHz) != 2499 ||
		x.Memory != "63.9 GB" || derefInt(x.PID) != 0 || x.Command != "swapper" || x.Task != "ffffffff81a8d020" ||
		derefInt(x.CPU) != 0 || x.Version != "#1 SMP Fri May 29 10:16:43 EDT 2015" || x.State != "TASK_RUNNING (PANIC)" ||
		x.LoadAverage != "2.23, 0.80, 0.56" || x.Kernel != "" || x.Tasks != nil {
		t.Errorf("sys = %s", dump(&Session{Sys: x}))
	}
	if !strings.HasSuffix(lines[x.Span.Start-1], "CPUS: 24") || !strings.HasSuffix(lines[x.Span.End-1], "STATE: TASK_RUNNING (PANIC)") {
		t.Errorf("sys span %+v: %q .. %q", x.Span, lines[x.Span.Start-1], lines[x.Span.End-1])
	}
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		path    string
		check   func(t *testing.T, s *Session)
		release string
	}{
		{path: "fixtures/vmcore/skbcsum-kdump/crash-bt.txt", check: func(t *testing.T, s *Session) {
			if s.Sys == nil || s.Sys.Release != "6.1.0-56-cloud-amd64" || s.Sys.Panic != "kernel BUG at net/core/skbuff.c:3090!" ||
				s.Sys.Kernel != "dbg/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64  [TAINTED]" || derefInt(s.Sys.CPUs) != 2 ||
				derefInt(s.Sys.Tasks) != 3 || s.Sys.Nodename != "(none)" || derefInt(s.Sys.MHz) != 2600 || s.Sys.PID != nil {
				t.Errorf("sys = %s", dump(s))
			}
			if len(s.Backtraces) != 1 {
				t.Fatalf("backtraces = %d", len(s.Backtraces))
			}
			b := s.Backtraces[0]
			if derefInt(b.PID) != 104 || b.Task != "ffff8afc0249b000" || derefInt(b.CPU) != 0 || b.Command != "insmod" {
				t.Errorf("header = %+v", b)
			}
			e := b.Exception
			if e == nil || e.Function != "__skb_checksum" || *e.Offset != 760 || e.Address != "ffffffff92d8e3a8" || e.Regs["R14"] != 0x20 {
				t.Fatalf("exception = %+v", e)
			}
			want := []string{"skb_checksum", "skb_checksum_help", "validate_xmit_skb", "__dev_queue_xmit",
				"_MODULE_INIT_START_skbcsum", "do_one_initcall", "do_init_module", "__do_sys_finit_module",
				"do_syscall_64", "handle_mm_fault", "do_user_addr_fault", "exit_to_user_mode_prepare",
				"entry_SYSCALL_64_after_hwframe"}
			if got := frameFuncs(b); !reflect.DeepEqual(got, want) {
				t.Errorf("trace = %v", got)
			}
			if m := b.Trace[4].Module; m == nil || *m != "skbcsum" {
				t.Errorf("module = %v", m)
			}
			last := b.AllFrames[len(b.AllFrames)-1]
			if last.Regs["RIP"] != 0x47fbe9 || last.Regs["CS"] != 0x33 || len(last.Regs) != 21 {
				t.Errorf("user regs = %v", last.Regs)
			}
			if len(last.Words) != 0 {
				t.Errorf("rd output taken for stack words: %v", last.Words)
			}
			if len(b.Exceptions) != 1 {
				t.Errorf("exceptions = %d", len(b.Exceptions))
			}
		}},
		{path: "fixtures/vmcore/warn-kdump/crash-bt.txt", check: func(t *testing.T, s *Session) {
			if s.Sys != nil {
				t.Errorf("sys = %s", dump(s))
			}
			if len(s.Backtraces) != 1 {
				t.Fatalf("backtraces = %d", len(s.Backtraces))
			}
			b := s.Backtraces[0]
			e := b.Exception
			if e == nil || e.Function != "warn_check_state" || *e.Offset != 9 || e.After != 8 {
				t.Fatalf("exception = %+v", e)
			}
			if len(b.Trace) != 18 || b.Trace[0].Function != "_MODULE_INIT_START_warn" || *b.Trace[0].Module != "warn" {
				t.Errorf("trace = %v", frameFuncs(b))
			}
			if b.Span.Start != 3 || b.Span.End != 45 { // the user-mode registers are part of it
				t.Errorf("span = %+v", b.Span)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(filepath.Dir(tc.path)), func(t *testing.T) {
			tc.check(t, scanAllVariants(t, readShared(t, tc.path)))
		})
	}
}

func TestTranscripts(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, s *Session, lines []string)
	}{
		{"bt_all_cpus.txt", func(t *testing.T, s *Session, lines []string) {
			if s.Sys == nil || s.Sys.Panic != "Oops: 0000 [#1] SMP" || s.Sys.Dumpfile != "/var/crash/127.0.0.1-2015-09-14-02:14:37/vmcore  [PARTIAL DUMP]" ||
				derefInt(s.Sys.Tasks) != 612 || s.Sys.Uptime != "14 days, 00:07:57" || s.Sys.Date != "Mon Sep 14 02:14:37 2015" {
				t.Errorf("sys = %s", dump(s))
			}
			if len(s.Backtraces) != 2 {
				t.Fatalf("backtraces = %d", len(s.Backtraces))
			}
			b0, b1 := s.Backtraces[0], s.Backtraces[1]
			if b0.Key() == b1.Key() {
				t.Error("two CPUs share a key")
			}
			// CPU 0: page fault in an IRQ over the idle task.
			if b0.Exception.Function != "ixgbe_clean_tx_irq" || len(b0.Exceptions) != 2 || b0.Exceptions[1].Function != "intel_idle" ||
				b0.Exceptions[1].After != 16 || b0.Exceptions[1].Regs["ORIG_RAX"] != 0xffffffffffffffad {
				t.Errorf("exceptions = %+v %+v", b0.Exceptions[0], b0.Exceptions[len(b0.Exceptions)-1])
			}
			want := []string{"ixgbe_poll", "net_rx_action", "__do_softirq", "call_softirq", "do_softirq", "irq_exit",
				"do_IRQ", "ret_from_intr", "cpuidle_idle_call", "cpu_idle"}
			if got := frameFuncs(b0); !reflect.DeepEqual(got, want) {
				t.Errorf("cpu0 trace = %v", got)
			}
			if b0.AllFrames[16].Separator != "IRQ stack" || b0.AllFrames[15].Separator != "" {
				t.Errorf("separator not on frame #16")
			}
			// CPU 1: stopped by NMI in intel_idle; the frame that repeats
			// the exception RIP is not a caller.
			if got := frameFuncs(b1); !reflect.DeepEqual(got, []string{"cpuidle_idle_call", "cpu_idle"}) {
				t.Errorf("cpu1 trace = %v", got)
			}
			if b1.AllFrames[6].Separator != "NMI exception stack" {
				t.Errorf("cpu1 frame 6 separator = %q", b1.AllFrames[6].Separator)
			}
			if l := lines[b1.Span.End-1]; !strings.Contains(l, "cpu_idle") {
				t.Errorf("cpu1 span ends at %q", l)
			}
		}},
		{"bt_sysrq_panic.txt", func(t *testing.T, s *Session, lines []string) {
			// `set` prints only the task context: still a block, the
			// only one, so it is Sys.
			if len(s.SysBlocks) != 1 || s.Sys == nil || derefInt(s.Sys.PID) != 98 || s.Sys.Release != "" || s.Sys.Task != "ffff9e2b41f7b000" {
				t.Errorf("sys = %s", dump(s))
			}
			if len(s.Backtraces) != 3 {
				t.Fatalf("backtraces = %d", len(s.Backtraces))
			}
			b := s.Backtraces[0]
			if b.Exception != nil {
				t.Errorf("exception = %+v", b.Exception)
			}
			want := []string{"sysrq_handle_crash", "__handle_sysrq.cold", "write_sysrq_trigger", "proc_reg_write",
				"vfs_write", "ksys_write", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}
			if got := frameFuncs(b); !reflect.DeepEqual(got, want) {
				t.Errorf("trace = %v", got)
			}
			if r := b.AllFrames[10].Regs; r["RIP"] != 0x7f1c3b0e5a37 || r["ORIG_RAX"] != 1 {
				t.Errorf("user regs = %v", r)
			}
			// Sleeping tasks: nothing to drop.
			if got := frameFuncs(s.Backtraces[1]); len(got) != 4 || got[0] != "schedule" {
				t.Errorf("init trace = %v", got)
			}
			if c := s.Backtraces[2]; c.Command != "Web Content" || derefInt(c.CPU) != 5 || len(c.Trace) != 3 {
				t.Errorf("third bt = %+v", c)
			}
		}},
		{"bt_flags.txt", func(t *testing.T, s *Session, lines []string) {
			if len(s.Backtraces) != 3 {
				t.Fatalf("backtraces = %d:\n%s", len(s.Backtraces), dump(s))
			}
			// bt -l, a NULL function pointer call.
			b := s.Backtraces[0]
			e := b.Exception
			if e == nil || e.Function != "" || e.Offset != nil || e.Address != "0" || e.Regs["RSP"] != 0xffff88081b5a3c38 {
				t.Fatalf("exception = %+v", e)
			}
			if l := e.Location(); l.Function != "" || l.Offset != nil || *l.Address != "0" {
				t.Errorf("location = %+v", l)
			}
			f := b.AllFrames[4]
			if f.Function != "mydrv_tx_timeout" || f.Module != "mydrv" || f.SourceFile != "/usr/src/debug/mydrv-1.0/mydrv_main.c" || f.SourceLine != 812 {
				t.Errorf("frame 4 = %+v", f)
			}
			if f := b.AllFrames[3]; !strings.HasSuffix(f.SourceFile, "arch/x86/kernel/entry_64.S") || f.SourceLine != 1294 {
				t.Errorf("frame 3 source = %q %d", f.SourceFile, f.SourceLine)
			}
			if got := frameFuncs(b); !reflect.DeepEqual(got, []string{"mydrv_tx_timeout", "dev_watchdog"}) {
				t.Errorf("trace = %v", got)
			}
			// bt -s -x: offsets on every frame, hex exception offset.
			b = s.Backtraces[1]
			if e := b.Exception; e.Function != "skb_checksum" || *e.Offset != 725 {
				t.Errorf("hex exception = %+v", e)
			}
			if len(b.Trace) != 5 || *b.Trace[0].Offset != 138 || *b.Trace[4].Offset != 0x2c || *b.Trace[4].Module != "bonding" ||
				*b.AllFrames[0].Offset != 0x13b || b.AllFrames[0].Function != "machine_kexec" {
				t.Errorf("bt -s trace = %+v", b.Trace)
			}
			// bt -f: words kept per frame; the trailing rd line is not.
			b = s.Backtraces[2]
			if got := b.AllFrames[0].Words; !reflect.DeepEqual(got, []string{"ffff880061a031e8", "ffffffff810c99e2"}) {
				t.Errorf("frame 0 words = %v", got)
			}
			if got := b.AllFrames[2].Words; len(got) != 6 || got[5] != "ffffffff8145d60a" {
				t.Errorf("exception frame words = %v", got)
			}
			if n := len(b.AllFrames); n != 5 || len(b.AllFrames[4].Words) != 0 {
				t.Errorf("bt -f frames = %d, last words %v", n, b.AllFrames[n-1].Words)
			}
			if l := lines[b.Span.End-1]; !strings.Contains(l, "dev_hard_start_xmit") {
				t.Errorf("bt -f span ends at %q", l)
			}
			// Offsets learnt from bt -s in the same document.
			if o := b.Trace[0].Offset; o == nil || *o != 138 {
				t.Errorf("bt -f skb_checksum_help offset = %v", o)
			}
			if o := b.Trace[1].Offset; o == nil || *o != 0x2dd {
				t.Errorf("bt -f dev_hard_start_xmit offset = %v", o)
			}
		}},
		{"bt_pasted_noise.txt", func(t *testing.T, s *Session, lines []string) {
			if len(s.Backtraces) != 1 || s.Sys != nil {
				t.Fatalf("backtraces = %d, sys = %v:\n%s", len(s.Backtraces), s.Sys, dump(s))
			}
			b := s.Backtraces[0]
			if len(b.AllFrames) != 12 || b.Exception == nil || b.Exception.Regs["RCX"] != 0xff2a5251 || b.Exception.Regs["RDI"] != 0xffff881062d2dd40 {
				t.Errorf("bt = %s", dump(s))
			}
			want := []string{"skb_checksum_help", "dev_hard_start_xmit", "sch_direct_xmit", "dev_queue_xmit", "bond_dev_queue_xmit"}
			if got := frameFuncs(b); !reflect.DeepEqual(got, want) {
				t.Errorf("trace = %v", got)
			}
			if *b.Trace[4].Module != "bonding" || b.Trace[0].Module != nil {
				t.Errorf("modules wrong: %+v", b.Trace)
			}
			if !strings.HasPrefix(lines[b.Span.Start-1], "PID: 0") || !strings.HasPrefix(lines[b.Span.End-1], "#11 ") {
				t.Errorf("span %+v", b.Span)
			}
		}},
		{"bt_truncated.txt", func(t *testing.T, s *Session, lines []string) {
			if len(s.Backtraces) != 2 {
				t.Fatalf("backtraces = %d:\n%s", len(s.Backtraces), dump(s))
			}
			a, b := s.Backtraces[0], s.Backtraces[1]
			if a.PID != nil || a.Task != "" || a.Exception == nil || a.Exception.After != -1 || len(a.AllFrames) != 3 {
				t.Errorf("headerless bt = %s", dump(s))
			}
			if got := frameFuncs(a); !reflect.DeepEqual(got, []string{"skb_checksum_help", "dev_hard_start_xmit", "sch_direct_xmit"}) {
				t.Errorf("headerless trace = %v", got)
			}
			if !strings.Contains(lines[a.Span.Start-1], "[exception RIP:") {
				t.Errorf("headerless span starts at %q", lines[a.Span.Start-1])
			}
			// Cut inside the register block: the half line is not a
			// register line, the rest is kept.
			r := b.Exception.Regs
			if _, cut := r["R9"]; cut || r["R8"] != 0xffff880fe9624868 || r["RDI"] != 0xffff881062d2dd40 || len(b.Trace) != 0 {
				t.Errorf("cut bt = %s", dump(s))
			}
			if !strings.Contains(lines[b.Span.End-1], "R9: ffff8810") {
				t.Errorf("cut bt span %+v ends at %q", b.Span, lines[b.Span.End-1])
			}
		}},
		{"sys_variants.txt", func(t *testing.T, s *Session, lines []string) {
			if len(s.SysBlocks) != 2 || len(s.Backtraces) != 0 {
				t.Fatalf("sys blocks = %d:\n%s", len(s.SysBlocks), dump(s))
			}
			x := s.Sys
			if x != s.SysBlocks[0] || x.Release != "6.1.0-56-cloud-amd64" || derefInt(x.CPUs) != 4 ||
				x.Panic != "Kernel panic - not syncing: sysrq triggered crash" || x.Task != "ffff9e2b41f7b000" || derefInt(x.PID) != 98 {
				t.Errorf("sys = %s", dump(s))
			}
			if !strings.Contains(lines[x.Span.Start-1], "KERNEL:") || !strings.Contains(lines[x.Span.End-1], "STATE:") {
				t.Errorf("sys span %+v", x.Span)
			}
			y := s.SysBlocks[1]
			if y.Release != "5.10.0-30-amd64" || y.Panic != "" || derefInt(y.CPUs) != 8 || y.Span.End-y.Span.Start != 4 {
				t.Errorf("second block = %+v", y)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			text := readTestdata(t, tc.file)
			tc.check(t, scanAllVariants(t, text), strings.Split(text, "\n"))
		})
	}
}

// TestNoCrashOutput: kernel logs and tickets without crash(8) output give
// nothing, however many RIP:/CPU: lines they have.
func TestNoCrashOutput(t *testing.T) {
	for _, p := range []string{
		"fixtures/vmcore/skbcsum-kdump/console.log",
		"fixtures/vmcore/warn-kdump/console.log",
		"fixtures/vmcore/skbcsum-kdump/vmcore-dmesg.txt",
		"fixtures/vmcore/skbcsum-kdump/crash-skb.txt",
	} {
		t.Run(p, func(t *testing.T) {
			s := scan(readShared(t, p), nil)
			if len(s.Backtraces) != 0 || len(s.SysBlocks) != 0 {
				t.Errorf("found %s", dump(s))
			}
		})
	}
	ticket := readFile(t, filepath.Join("..", "examples", "ticket-skb-checksum.txt"))
	if s := scan(ticket, nil); len(s.Backtraces) != 0 || len(s.SysBlocks) != 0 {
		t.Errorf("ticket: found %s", dump(s))
	}
}

func TestLimits(t *testing.T) {
	// Frames with growing indexes, each with a line of stack words.
	var sb strings.Builder
	sb.WriteString("PID: 1  TASK: ffff88103a4b7500  CPU: 0  COMMAND: \"loop\"\n")
	for i := 0; i < 3*MaxFrames; i++ {
		sb.WriteString(" #" + strconv.Itoa(i) + " [ffff88103a4b9908] schedule at ffffffff8152a7b0\n" +
			"    ffff88103a4b9910: " + strings.Repeat("ffff88103a4b9908 ", 40) + "\n")
	}
	text := sb.String()
	s := scan(text, nil)
	checkInvariants(t, s)
	if len(s.Backtraces) != 1 {
		t.Fatalf("backtraces = %d", len(s.Backtraces))
	}
	b := s.Backtraces[0]
	if len(b.AllFrames) != MaxFrames || !b.Truncated || b.words > MaxWords {
		t.Errorf("frames = %d, truncated = %v, words = %d", len(b.AllFrames), b.Truncated, b.words)
	}
	if lines := strings.Count(text, "\n"); b.Span.End != lines {
		t.Errorf("span %+v, want end %d", b.Span, lines)
	}

	// Many backtraces: bounded, the rest counted.
	sc := NewScanner()
	n := 0
	for i := 0; i < MaxBacktraces+10; i++ {
		n++
		sc.Line(n, "PID: 1  TASK: ffff88103a4b7500  CPU: 0  COMMAND: \"loop\"")
		n++
		sc.Line(n, " #0 [ffff88103a4b9908] schedule at ffffffff8152a7b0")
	}
	sess := sc.Finish()
	if len(sess.Backtraces) != MaxBacktraces || sess.Dropped != 10 {
		t.Errorf("backtraces = %d, dropped = %d", len(sess.Backtraces), sess.Dropped)
	}

	// Huge and invalid lines are noise, and do not break a block in two.
	sc = NewScanner()
	sc.Line(1, "PID: 1  TASK: ffff88103a4b7500  CPU: 0  COMMAND: \"loop\"")
	sc.Line(2, " #0 [ffff88103a4b9908] schedule at ffffffff8152a7b0")
	sc.Line(3, strings.Repeat("#1 [ffff88103a4b9908] x at ffffffff8152a7b0 ", 1<<14))
	sc.Line(4, "\xff\xfe #1 [\xff] \x00")
	sc.Line(5, " #1 [ffff88103a4b9a00] schedule_timeout at ffffffff8152b7b0")
	sess = sc.Finish()
	checkInvariants(t, sess)
	if len(sess.Backtraces) != 1 || len(sess.Backtraces[0].AllFrames) != 2 {
		t.Errorf("after junk: %s", dump(sess))
	}
}

func TestFinishTwice(t *testing.T) {
	s := NewScanner()
	s.Line(1, "PID: 1  TASK: ffff88103a4b7500  CPU: 0  COMMAND: \"loop\"")
	s.Line(2, " #0 [ffff88103a4b9908] schedule at ffffffff8152a7b0")
	a := s.Finish()
	s.Line(3, " #1 [ffff88103a4b9a00] schedule_timeout at ffffffff8152b7b0")
	b := s.Finish()
	if a != b || len(b.Backtraces) != 1 || len(b.Backtraces[0].AllFrames) != 1 {
		t.Errorf("second Finish changed the session: %s", dump(b))
	}
	if got := NewScanner().Finish(); got == nil || got.Sys != nil || len(got.Backtraces) != 0 {
		t.Errorf("empty document: %s", dump(got))
	}
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		idx    int
		fn     string
		off    int64 // -1: nil
		addr   uint64
		module string
	}{
		{"#7 [ffff880061a03538] skb_checksum_help at ffffffff8145d60a", true, 7, "skb_checksum_help", -1, 0xffffffff8145d60a, ""},
		{"#11 [ffff880061a03658] bond_dev_queue_xmit at ffffffffa024b93c [bonding]", true, 11, "bond_dev_queue_xmit", -1, 0xffffffffa024b93c, "bonding"},
		{"#7 [ffff880061a03538] skb_checksum_help+138 at ffffffff8145d60a", true, 7, "skb_checksum_help", 138, 0xffffffff8145d60a, ""},
		{"#7 [ffff880061a03538] skb_checksum_help+0x8a at ffffffff8145d60a [m] *", true, 7, "skb_checksum_help", 0x8a, 0xffffffff8145d60a, "m"},
		{"#3 [ffff88002c207e90] tracesys at ffffffff8100b288 (via system_call)", true, 3, "tracesys", -1, 0xffffffff8100b288, ""},
		{"#4 [f2f1de5c] page_fault (via error_code) at c0405c2d", true, 4, "page_fault", -1, 0xc0405c2d, ""},
		{"#4 [ffff880061a03320] check_panic_on_warn.cold at ffffffff8152d934 <--- here", true, 4, "check_panic_on_warn.cold", -1, 0xffffffff8152d934, ""},
		// A markdown rendering ate the '#'.
		{"13 [ffffbd13003d3a18] ip6_rcv_finish_core.constprop.0 at ffffffff8dd950d0", true, 13, "ip6_rcv_finish_core.constprop.0", -1, 0xffffffff8dd950d0, ""},
		{"2015 [year] was at home", false, 0, "", 0, 0, ""},
		{"#1 SMP Fri May 29 10:16:43 EDT 2015", false, 0, "", 0, 0, ""},
		{"#4 [ffff880061a03320] do_trap", false, 0, "", 0, 0, ""},
		{"#4 [ffff880061a03320] do trap at ffffffff8152d934", false, 0, "", 0, 0, ""},
		{"#4 [zzzz] do_trap at ffffffff8152d934", false, 0, "", 0, 0, ""},
		{"#99999999999 [ffff880061a03320] do_trap at ffffffff8152d934", false, 0, "", 0, 0, ""},
	}
	for _, tc := range tests {
		f, ok := parseFrame(tc.in)
		if !accepted(t, tc.in, ok, tc.ok) {
			continue
		}
		off := offsetOrNone(f.Offset)
		if f.Index != tc.idx || f.Function != tc.fn || off != tc.off || f.Address != tc.addr || f.Module != tc.module {
			t.Errorf("%q: got %+v (off %d)", tc.in, f, off)
		}
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		pid  int
		task string
		cpu  int
		comm string
	}{
		{`PID: 0      TASK: ffffffff81a8d020  CPU: 0   COMMAND: "swapper"`, true, 0, "ffffffff81a8d020", 0, "swapper"},
		{`PID: 104      TASK: ffff8afc0249b000  CPU: 0    COMMAND: "insmod"`, true, 104, "ffff8afc0249b000", 0, "insmod"},
		{`PID: 2210   TASK: FFFF88102E6B0AB0  CPU: 5   COMMAND: "Web Content"`, true, 2210, "ffff88102e6b0ab0", 5, "Web Content"},
		{`PID: 0      TASK: ffffffff81a8d020  CPU: 0   COMMAND: "swapper/0"  <-- panic`, true, 0, "ffffffff81a8d020", 0, "swapper/0"},
		{`PID: 7  COMMAND: "ksoftirqd/0"`, true, 7, "", -1, "ksoftirqd/0"},
		{`PID: 0`, false, 0, "", 0, ""},
		{`PID: abc TASK: ffff`, false, 0, "", 0, ""},
	}
	for _, tc := range tests {
		h, ok := parseHeader(tc.in)
		if accepted(t, tc.in, ok, tc.ok) && (derefInt(h.pid) != tc.pid || h.task != tc.task || derefInt(h.cpu) != tc.cpu || h.command != tc.comm) {
			t.Errorf("%q: got %+v", tc.in, h)
		}
	}
}

func TestParseException(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		fn     string
		off    int64
		module string
	}{
		{"[exception RIP: skb_checksum+725]", true, "skb_checksum", 725, ""},
		{"[exception RIP: skb_checksum+0x2d5]", true, "skb_checksum", 0x2d5, ""},
		{"[exception RIP: native_safe_halt]", true, "native_safe_halt", -1, ""},
		{"[exception RIP: unknown or invalid address]", true, "", -1, ""},
		{"[exception RIP: mydrv_xmit+12 [mydrv]]", true, "mydrv_xmit", 12, "mydrv"},
		{"[exception RIP: skb_checksum+72x]", false, "", 0, ""},
		{"[exception RIP: ]", false, "", 0, ""},
		{"[exception RIP: skb_checksum+725", false, "", 0, ""},
	}
	for _, tc := range tests {
		e, ok := parseException(tc.in)
		if !accepted(t, tc.in, ok, tc.ok) {
			continue
		}
		off := offsetOrNone(e.Offset)
		if e.Function != tc.fn || off != tc.off || e.Module != tc.module {
			t.Errorf("%q: got %+v", tc.in, e)
		}
	}
}

func TestPanicMessage(t *testing.T) {
	tests := map[string]string{
		`"[191691.047083] kernel BUG at net/core/skbuff.c:1886!"`:   "kernel BUG at net/core/skbuff.c:1886!",
		`"[    2.047083] kernel BUG at net/core/skbuff.c:1886!"`:    "kernel BUG at net/core/skbuff.c:1886!",
		`"Oops: 0002 [#1] SMP PTI" (check log for details)`:         "Oops: 0002 [#1] SMP PTI",
		`"SysRq : Trigger a crash"`:                                 "SysRq : Trigger a crash",
		`""`:                                                        "",
		`"[drm] something odd"`:                                     "[drm] something odd",
		`unquoted text`:                                             "unquoted text",
		`"Kernel panic - not syncing: Fatal exception in interrupt`: "Kernel panic - not syncing: Fatal exception in interrupt",
	}
	for in, want := range tests {
		if got := panicMessage(in); got != want {
			t.Errorf("panicMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegsAnnotation(t *testing.T) {
	got := map[string]uint64{}
	if !parseRegs("RBX: 0000000000000090  RCX: 00000000ff2a5251   <---- RBX = len", func(k string, v uint64) { got[k] = v }) {
		t.Fatal("annotated register line rejected")
	}
	if len(got) != 2 || got["RBX"] != 0x90 {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{
		"RIP: 0010:[<ffffffff8146b2fd>]  [<ffffffff8146b2fd>] skb_over_panic+0x5d/0x70",
		"CPU: 0", "FOO: 12", "RIP:", "RAX: zz", "RAX: ffff8810",
	} {
		if parseRegs(bad, func(string, uint64) {}) {
			t.Errorf("%q taken for registers", bad)
		}
	}
}

// TestTooManyExceptions: detail lines after an exception that was not kept
// must not land on another one.
func TestTooManyExceptions(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("PID: 1  TASK: ffff88103a4b7500  CPU: 0  COMMAND: \"loop\"\n")
	for i := 0; i < MaxExceptions+3; i++ {
		sb.WriteString(" #" + strconv.Itoa(i) + " [ffff88103a4b9908] ret_from_intr at ffffffff8152a7b0\n")
		sb.WriteString("    [exception RIP: intel_idle+" + strconv.Itoa(i) + "]\n")
		sb.WriteString("    /usr/src/debug/linux/drivers/idle/intel_idle.c: " + strconv.Itoa(100+i) + "\n")
	}
	s := scan(sb.String(), nil)
	checkInvariants(t, s)
	b := s.Backtraces[0]
	if len(b.Exceptions) != MaxExceptions || !b.Truncated {
		t.Fatalf("exceptions = %d, truncated = %v", len(b.Exceptions), b.Truncated)
	}
	if e := b.Exceptions[MaxExceptions-1]; e.SourceLine != 100+MaxExceptions-1 {
		t.Errorf("last kept exception got source line %d", e.SourceLine)
	}
}

// TestBtBelow checks what the detail lines under each kind of bt line belong
// to.
func TestBtBelow(t *testing.T) {
	const (
		hdr   = `PID: 0  TASK: ffffffff81a8d020  CPU: 0  COMMAND: "swapper"`
		frame = " #0 [ffff880061a03538] skb_checksum_help at ffffffff8145d60a"
		exc   = "    [exception RIP: skb_checksum+725]"
		regs  = "    RIP: ffffffff8145b3a5  RSP: ffff880061a03508  RFLAGS: 00010246"
		src   = "    /usr/src/debug/linux/net/core/dev.c: 1951"
	)
	tests := []struct {
		lines []string
		want  btElem
	}{
		{[]string{hdr}, belowNothing},
		{[]string{hdr, frame}, belowFrame},
		{[]string{hdr, frame, exc}, belowException},
		{[]string{hdr, frame, exc, regs, src}, belowException},
		{[]string{exc}, belowException},
		{[]string{hdr, exc, regs, frame, src}, belowFrame},
	}
	for _, tc := range tests {
		s := NewScanner()
		for i, l := range tc.lines {
			s.Line(i+1, l)
		}
		if s.bt.below != tc.want {
			t.Errorf("%q: below = %v, want %v", tc.lines, s.bt.below, tc.want)
		}
	}
	var exceptions strings.Builder
	exceptions.WriteString(hdr + "\n")
	for range MaxExceptions + 1 {
		exceptions.WriteString(exc + "\n")
	}
	s := NewScanner()
	for i, l := range strings.Split(strings.TrimSuffix(exceptions.String(), "\n"), "\n") {
		s.Line(i+1, l)
	}
	if s.bt.below != belowNothing || !s.bt.cur.Truncated {
		t.Errorf("past MaxExceptions: below = %v, truncated %v", s.bt.below, s.bt.cur.Truncated)
	}
}
