package oops

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAnchorAt checks where prefix learning finds a line's kernel output:
// x86's and arm64's trace lines are anchors only as whole lines.
func TestAnchorAt(t *testing.T) {
	for _, c := range []struct {
		line string
		want int
	}{
		{"nov. 26 11:44:51 web-07 kernel: Call Trace:", 32},
		{"nov. 26 11:44:51 web-07 kernel: Call trace:", 32},
		{"> > Call trace:  ", 4},
		{"we saw Call trace: in the log", -1},
		{"Call trace:", 0},
		{"plain prose", -1},
	} {
		if got := anchorAt([]byte(c.line)); got != c.want {
			t.Errorf("anchorAt(%q) = %d, want %d", c.line, got, c.want)
		}
	}
}

// TestFaultLine checks that an injected failure's frame is told at any
// indentation a stripped prefix leaves, and nothing else is.
func TestFaultLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want bool
	}{
		{" [<ffffffff821b0ccf>] should_fail.cold+0x11f/0x170", true},
		{"[<ffffffff821b0ccf>] should_fail.cold+0x11f/0x170", true},
		{"\t[<ffffffff81a1fb81>] should_failslab+0x121/0x190", true},
		{" should_fail+0x1/0x2", true},
		{"should_failslab+0x1/0x2", true},
		{" [<ffffffff81a1fb81>] ? should_fail+0x1/0x2", false},
		{" __should_fail+0x1/0x2", false},
		{" should_fail_usercopy+0x1/0x2", false},
		{"FAULT_INJECTION: forcing a failure.", false},
	} {
		if got := isFaultLine(c.line); got != c.want {
			t.Errorf("isFaultLine(%q) = %v, want %v", c.line, got, c.want)
		}
	}
}

// TestSoleHeaderLine checks a document that is one header line behind a
// prefix no other line teaches: the prefix ends at a stamp or the kernel's
// tag, and prose that names a header with neither stays prose.
func TestSoleHeaderLine(t *testing.T) {
	for _, c := range []struct {
		doc, want string
	}{
		{"[    0.000000] INFO:\n", "INFO: corrupted"},
		{"nov. 26 11:51:41 web-07 kernel: [    0.000000] INFO:\n", "INFO: corrupted"},
		{"> [Thu Nov 26 11:51:41 2026] INFO:\n", "INFO: corrupted"},
		{"<4>1 2026-11-26T11:51:41.000Z web-07 kernel - - - INFO:\n", "INFO: corrupted"},
		{"     1  [    0.000000] INFO:\n", "INFO: corrupted"},
		{"we saw INFO:\n", ""},
		{"the kernel said INFO:\n", ""},
	} {
		reps, err := Parse(strings.NewReader(c.doc), "sole")
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(reps) > 0 {
			got = reps[0].Title
		}
		if got != c.want || len(reps) > 1 {
			t.Errorf("%q: %d reports, first %q, want %q", c.doc, len(reps), got, c.want)
		}
	}
}

// TestRestampedRecord checks a console's stamp on a raw record's line:
// the record's loglevel and stamp go too, and the record's time is kept.
func TestRestampedRecord(t *testing.T) {
	for _, c := range []struct {
		raw, text, time string
	}{
		{"[    0.000000] <6>[   85.501187] WARNING: foo", "WARNING: foo", "85.501187"},
		{"<4>[    1.000000] <14>[   85.912347] init: x", "init: x", "85.912347"},
		{"[    0.000000] <6> not a stamp", "<6> not a stamp", "0.000000"},
		{"[    0.000000] <IRQ>", "<IRQ>", "0.000000"},
	} {
		v := normalize([]byte(c.raw), nil)
		if string(v.text) != c.text || string(v.time) != c.time {
			t.Errorf("normalize(%q) = %q at %q, want %q at %q", c.raw, v.text, v.time, c.text, c.time)
		}
	}
}

// TestHeaderOpensDocument checks a header on a document's first line
// behind a prefix no anchor line teaches: the next line's stamp does.
func TestHeaderOpensDocument(t *testing.T) {
	for _, c := range []struct {
		doc, want string
	}{
		{"nov. 26 11:51:41 web-07 kernel: <6>[   85.501187] WARNING: foo\n" +
			"nov. 26 11:51:41 web-07 kernel: <6>[   85.501187] nouveau  [     DRM] suspending kernel object tree...\n", "WARNING: foo"},
		{"> [Thu Nov 26 11:51:41 2026] <6>[   85.501187] WARNING: foo\n" +
			"> [Thu Nov 26 11:51:41 2026] <6>[   85.525111] nouveau  [     DRM] nouveau suspended\n", "WARNING: foo"},
		{"> > kern.warn kernel: | <6>[   85.501187] WARNING: foo\n" +
			"> > kern.warn kernel: | <6>[   85.525111] nouveau  [     DRM] nouveau suspended\n", "WARNING: foo"},
		{"we saw WARNING: foo\nyesterday on the fleet\n", ""},
	} {
		reps, err := Parse(strings.NewReader(c.doc), "first")
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(reps) > 0 {
			got = reps[0].Title
		}
		if got != c.want || len(reps) > 1 {
			t.Errorf("%q: %d reports, first %q, want %q", c.doc, len(reps), got, c.want)
		}
	}
}

// TestLearnPrefixMarked checks that a prefix is learned only when it has
// a mark beyond words: words alone are a run-together line's start.
func TestLearnPrefixMarked(t *testing.T) {
	for _, c := range []struct {
		line string
		want int // bytes the learned shape strips, -1 for none
	}{
		// Not "trusty crashed": the stamp that follows is the record's.
		{"trusty crashed[ 1117.184796] ------------[ cut here ]------------", 28},
		{"trusty crashed ------------[ cut here ]------------", -1},
		{"> > ------------[ cut here ]------------", 3},
		{"nov. 26 11:51:41 web-07 kernel: Call Trace:", 31},
		{"web kernel: Call Trace:", 11},
	} {
		v := normalize([]byte(c.line), nil)
		got := -1
		if shape, ok := learnPrefix(v.text, anchorAt(v.text)); ok {
			got, _ = shape.match(v.text)
		}
		if got != c.want {
			t.Errorf("learnPrefix(%q) strips %d bytes, want %d", c.line, got, c.want)
		}
	}
}

// TestWrappedSpaces checks a hard-wrapped message padded with spaces: the
// pieces that are spaces alone continue the line, so that words after them
// ("Booting the kernel.") stay inside the message.
func TestWrappedSpaces(t *testing.T) {
	pad := strings.Repeat(" ", 200)
	lines := []tsLine{
		{56.037524, "fuseblk: Unknown parameter '" + pad + "Decompressing Linux... Parsing ELF... done." + pad + "Booting the kernel." + pad + "'"},
		{56.053354, "fuseblk: Bad value for 'fd'"},
	}
	for _, wrap := range []int{65, 72, 80, 100} {
		s := renderStyle{line: func(l tsLine, _ time.Time) string { return kts(l.ts) + " " + l.msg }, wrap: wrap}
		reps, err := Parse(bytes.NewReader(render(lines, s)), "wrapped")
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 0 {
			t.Errorf("wrap %d: %d reports, first %q; want none", wrap, len(reps), reps[0].Title)
		}
	}
}

// TestSyslogTabSeparator checks a syslog header whose tag a tab follows:
// the tab is the separator, not the message's.
func TestSyslogTabSeparator(t *testing.T) {
	for _, c := range []struct{ raw, text string }{
		{"Nov 26 11:51:40.000000 ci-runner-3.example.org kernel[0]:\tCall Trace:", "Call Trace:"},
		{"Nov 26 11:51:40 web-07 kernel:\tBUG: foo", "BUG: foo"},
		{"Nov 26 11:51:40 web-07 kernel: BUG: foo", "BUG: foo"},
	} {
		if got := NormalizeLine([]byte(c.raw)).Text; got != c.text {
			t.Errorf("NormalizeLine(%q).Text = %q, want %q", c.raw, got, c.text)
		}
	}
	// A one-line document whose stamp a tab precedes.
	reps, err := Parse(strings.NewReader("nov. 26 11:51:41.000000 buildbot42 kernel[0]:\t[  616.344091] Kernel panic - not syncing: Fatal exception in interrupt\n"), "tab")
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Title != "kernel panic: Fatal exception" {
		t.Errorf("tab-separated panic line: %d reports %v", len(reps), reps)
	}
}

// TestLastReportUntaught checks a document that ends in a report no line
// of which teaches the prefix, here a header whose wrap cut it: the wrap
// is learned from the stamp its rest lacks, and the stamp before the
// header ends the prefix, which stays out of the title.
func TestLastReportUntaught(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{">> buildbot42 kern.warn kernel: [  616.344091] Kernel panic - not syncing: Fatal\n exception in interrupt\n", "kernel panic: Fatal exception"},
	} {
		reps, err := Parse(strings.NewReader(c.doc), "untaught")
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 1 || reps[0].Title != c.want {
			for _, r := range reps {
				t.Logf("%q", r.Title)
			}
			t.Errorf("%q: %d reports, want one titled %q", c.doc, len(reps), c.want)
		}
	}
}

// TestCommonPrefix checks a short report whose prefix is a clock alone,
// with no anchor line, stamp or tag: what every held line starts with,
// up to where the header starts, and only with a mark beyond words.
func TestCommonPrefix(t *testing.T) {
	loadTables()
	held := func(lines ...string) []heldLine {
		var h []heldLine
		for _, l := range lines {
			h = append(h, heldLine{text: []byte(l), kernel: true})
		}
		return h
	}
	for _, c := range []struct {
		held []heldLine
		want int // bytes the shape strips from the first line, -1 for none
	}{
		{held("ноя 26 11:51:41: WARNING: possible circular locking dependency detected",
			"ноя 26 11:51:41: 4.12.0-rc2-next-20170525+ #1 Not tainted",
			"ноя 26 11:51:41: ------------------------------------------------------"), 20},
		// Old lockdep's banner: punctuation before the header.
		{held("11:51:40.000: [ BUG: lock held when returning to user space! ]",
			"11:51:40.000: 4.9.112-g9e79039 #7 Not tainted",
			"11:51:40.000: ------------------------------------------------"), 14},
		// The longest cut all lines share: the separator goes too.
		{held("> 2026-11-26T11:51:40.000Z buildbot42 kernel[0]: | [ INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected ]",
			"> 2026-11-26T11:51:40.000Z buildbot42 kernel[0]: | ======================================================",
			"> 2026-11-26T11:51:40.000Z buildbot42 kernel[0]: | 4.10.0-rc8+ #228 Not tainted"), 51},
		// Two lines only: not enough.
		{held("ноя 26 11:51:41: WARNING: possible circular locking dependency detected",
			"ноя 26 11:51:41: 4.12.0-rc2-next-20170525+ #1 Not tainted"), -1},
		// Prose: words alone.
		{held("we saw WARNING: possible circular locking dependency detected",
			"we saw it twice", "we saw nothing else"), -1},
		// A line without it.
		{held("ноя 26 11:51:41: WARNING: possible circular locking dependency detected",
			"ноя 26 11:51:41: 4.12.0-rc2-next-20170525+ #1 Not tainted", "and then"), -1},
	} {
		got := -1
		if shape, ok := commonPrefix(c.held); ok {
			got, _ = shape.match(c.held[0].text)
		}
		if got != c.want {
			t.Errorf("commonPrefix(%q...) strips %d bytes, want %d", c.held[0].text, got, c.want)
		}
	}
}

// TestWrapWidthStamp checks the wrap width learned from a stamped line's
// rest, which lacks the stamp though it starts as an indented line does.
func TestWrapWidthStamp(t *testing.T) {
	long := "[  374.860710] BUG: KASAN: use-after-free in do_con_write.part.23+0x1c50/0x1cb0"
	for _, c := range []struct {
		doc  string
		want int
	}{
		{long[:70] + "\n" + long[70:] + "\n", 70},
		{"| nov. 26 kernel - - - " + long[:50] + "\n in do_con_write\n", 73},
		// An indented line with its stamp is the kernel's own.
		{long[:70] + "\n[  374.860711]  in do_con_write\n", 0},
		// Lines of no stamp: an indented line says nothing.
		{"BUG: KASAN: use-after-free in do_con_write.part.23+0x1c50/0x1cb0 at addr\n in do_con_write\n", 0},
		// The kernel's next line after a long unprefixed one starts
		// as a report's lines do: no wrap.
		{"WARNING: CPU: 1 PID: 77 at drivers/gpu/drm/panfrost/panfrost_mmu.c:301 panfrost_mmu_map+0x11c/0x150\nModules linked in: panfrost\nCPU: 1 PID: 77\n", 0},
	} {
		if got := wrapWidth([]byte(c.doc)); got != c.want {
			t.Errorf("wrapWidth(%q) = %d, want %d", c.doc, got, c.want)
		}
	}
}

// TestWrapStampedRest checks a hard wrap of a stamped log quoted with
// spaces: the rest of a cut line starts with a space as the quote does,
// and is told by the stamp it lacks; a stamp inside a message, or after a
// wall clock's brackets, tells nothing.
func TestWrapStampedRest(t *testing.T) {
	lines := []tsLine{
		{45.818290, "BUG: using __this_cpu_read() in preemptible [00000000] code: syz-executor7/6729"},
		{45.826891, "caller is __this_cpu_preempt_check+0x1c/0x20 kernel/foo/bar/baz/quux.c:1234"},
		{45.826892, "CPU: 0 PID: 6729 Comm: syz-executor7 Not tainted 4.14.0-rc4+ #1 some more text"},
		{45.826893, "Call Trace:"},
		{45.826894, " dump_stack+0x194/0x257 lib/dump_stack.c:52 and some more text to make it long"},
		{45.826895, " check_preemption_disabled+0x1ec/0x210 lib/smp_processor_id.c:47 and more text"},
		{45.826896, " __this_cpu_preempt_check+0x1c/0x20 lib/smp_processor_id.c:63 and more text"},
		{45.826897, " ipcomp_init_state+0x185/0x990 net/xfrm/xfrm_ipcomp.c:356 and more text there"},
		{45.826898, " ipcomp6_init_state+0x2f4/0x5a0 net/ipv6/ipcomp6.c:158 and more text there too"},
	}
	title := func(s renderStyle) string {
		reps, err := Parse(bytes.NewReader(render(lines, s)), "quoted")
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 0 {
			return ""
		}
		return reps[0].Title
	}
	for _, prefix := range []string{"  11:51:40.000 buildbot42 kernel: ", "  2026-11-26T11:51:39+00:00 kern.err kernel:: "} {
		quoted := func(l tsLine, _ time.Time) string { return prefix + kts(l.ts) + " " + l.msg }
		want := title(renderStyle{line: quoted})
		if want == "" {
			t.Fatalf("%q: no report from the unwrapped rendering", prefix)
		}
		for _, wrap := range []int{65, 72, 80, 100} {
			if got := title(renderStyle{line: quoted, wrap: wrap}); got != want {
				t.Errorf("%q, wrap %d: title %q, want %q", prefix, wrap, got, want)
			}
		}
	}
	for _, c := range []struct {
		line string
		want bool
	}{
		{"  11:51:40.000 buildbot42 kernel: [   45.818290] BUG: x", true},
		{"[   45.818290] BUG: x", true},
		{"> [Thu Nov 26 11:51:41 2026] trusty: panic (caller [ 1117.140866] trusty", false},
		{" preemptible [00000000] code: syz-executor7/6729", false},
	} {
		if got := stampedLine([]byte(c.line)); got != c.want {
			t.Errorf("stampedLine(%q) = %v, want %v", c.line, got, c.want)
		}
	}
}

// TestWrapShortPrefix checks a wrap whose rest of a line is what a short
// learned prefix matches: "kernel:: " leaves ":" to learn after the
// syslog tag, and "Call Trace" cut before its colon must still be read.
func TestWrapShortPrefix(t *testing.T) {
	doc := "" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  284.876768] [T15540] ----------\n" +
		"--[ cut here ]------------\n" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  284.902257] [T15540] WARNING: C\n" +
		"PU: 1 PID: 15540 at mm/page_alloc.c:4977 __alloc_pages_nodemask+0x4e5/0x5a0\n" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  284.925674] [   T35] audit: typ\n" +
		"e=1326 audit(1610860785.698:6): auid=0 uid=0 gid=0 ses=4 subj=_ pid=15486 comm=\"\n" +
		"syz-executor.5\" exe=\"/root/syz-executor.5\" sig=31 arch=c000003e syscall=228 comp\n" +
		"at=0 ip=0x46107a code=0x0\n" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  284.955437] [T15540] Modules li\n" +
		"nked in:\n" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  284.964721] [T15540] CPU: 1 PID\n" +
		": 15540 Comm: syz-executor.2 Not tainted 5.11.0-rc3-syzkaller #0\n" +
		"  2026-11-26T11:51:39+00:00 kern.err kernel:: [  285.650101] [T15540] Call Trace\n" +
		":\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.712797] [T15540]  kmalloc_o\n" +
		"rder+0x40/0x130\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.717394] [T15540]  kmalloc_o\n" +
		"rder_trace+0x15/0x70\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.735208] [T15540]  __kmalloc\n" +
		"+0x257/0x330\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.759109] [T15540]  kmalloc_a\n" +
		"rray+0x2d/0x40\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.768346] [T15540]  rds_rdma_\n" +
		"extra_size+0x84/0x300\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.800116] [T15540]  rds_sendm\n" +
		"sg+0xfad/0x3210\n" +
		"  2026-11-26T11:51:40+00:00 kern.err kernel:: [  285.999290] [T15540]  ____sys_s\n" +
		"endmsg+0x5a2/0x900\n"
	reps, err := Parse(strings.NewReader(doc), "short")
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Title != "WARNING in rds_rdma_extra_size" {
		for _, r := range reps {
			t.Logf("%q", r.Title)
		}
		t.Errorf("%d reports, want one titled %q", len(reps), "WARNING in rds_rdma_extra_size")
	}
}

// TestWrapQuotedIndent checks a hard wrap of a log quoted with spaces and
// stamped by no kernel clock: the rest of a line cut before a space is
// indented less than the quote, and continues the line; the header's end
// ("stack end ...") names the panic.
func TestWrapQuotedIndent(t *testing.T) {
	doc := "  1795693900.617 buildbot42 kernel - - - | Kernel panic - not syncing: corrupted\n" +
		" stack end detected inside scheduler\n" +
		"  1795693900.619 buildbot42 kernel - - - | CPU: 0 PID: 7895 Comm: kworker/u12:6 \n" +
		"Not tainted 4.20.0+ #11\n" +
		"  1795693900.620 buildbot42 kernel - - - | Hardware name: QEMU Standard PC (i440\n" +
		"FX + PIIX, 1996), BIOS 1.10.2-1 04/01/2014\n" +
		"  1795693900.621 buildbot42 kernel - - - | Workqueue: writeback wb_workfn (flush\n" +
		"-8:0)\n" +
		"  1795693900.621 buildbot42 kernel - - - | Call Trace:\n" +
		"  1795693900.622 buildbot42 kernel - - - |  dump_stack+0x1d3/0x2c6\n" +
		"  1795693900.623 buildbot42 kernel - - - |  panic+0x2ad/0x55f\n" +
		"  1795693900.627 buildbot42 kernel - - - |  __schedule+0x1ec6/0x1ed0\n" +
		"  1795693900.633 buildbot42 kernel - - - |  schedule+0xef/0x370\n" +
		"  1795693900.636 buildbot42 kernel - - - |  schedule_timeout+0x140/0x260\n" +
		"  1795693900.638 buildbot42 kernel - - - |  schedule_timeout_uninterruptible+0x7\n" +
		"5/0x90\n"
	reps, err := Parse(strings.NewReader(doc), "quoted")
	if err != nil {
		t.Fatal(err)
	}
	// The excerpt's trace is cut before the work function.
	const want = "kernel panic: corrupted stack end in "
	if len(reps) != 1 || !strings.HasPrefix(reps[0].Title, want) {
		for _, r := range reps {
			t.Logf("%q", r.Title)
		}
		t.Errorf("%d reports, want one titled %q...", len(reps), want)
	}
}

// TestShortDocPrefixes checks short documents with no anchor line whose
// prefix must still be found, and the kernel's own shared heads that must
// not be taken for one: the kinds of the last rendering misses (a clock
// alone before a Go traceback, a syslog tag with a process id, a log cut at
// 132 columns with few lines at the width, bare "XFS (loop4): " lines).
func TestShortDocPrefixes(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"clock and quote alone, header third",
			"> > ноя 26 11:51:41\tfatal error: runtimer: bad p\n> > ноя 26 11:51:41\t\n> > ноя 26 11:51:41\truntime stack:\n> > ноя 26 11:51:41\tfatal: bad g in signal handler\n",
			[]string{"go runtime error"}},
		{"clock alone, header first",
			"| 11:51:41.000 runtime stack:\n| 11:51:41.000 fatal: bad g in signal handler\n| 11:51:41.000 runtime.throw(0x1)\n",
			[]string{"go runtime error"}},
		{"syslog tag with a process id",
			"  11:51:41.000 web-07 kernel[0]: BUG: KASAN: use-after-free in remove_wait_queue+0xfb/0x120 at addr ffff88002db3cf50\n  11:51:41.000 web-07 kernel[0]: Write of size 8 by task syzkaller_execu/10568\n",
			[]string{"KASAN: use-after-free Write in remove_wait_queue"}},
		{"kernel heads shared by bare lines are no prefix",
			"XFS (loop4): Ending clean mount\nXFS (loop4): WARNING: Reset corrupted AGFL on AG 0. 1 blocks leaked. Please unmount and run xfs_repair.\nXFS (loop4): Unmounting Filesystem d7dc\n",
			nil},
		{"the same, stamped",
			"[  131.6] XFS (loop4): Ending clean mount\n[  131.8] XFS (loop4): WARNING: Reset corrupted AGFL on AG 0. 1 blocks leaked. Please unmount and run xfs_repair.\n[  131.9] XFS (loop4): Unmounting Filesystem d7dc\n",
			nil},
	}
	for _, c := range cases {
		reps, err := Parse(strings.NewReader(c.doc), c.name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range reps {
			got = append(got, r.Title)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: titles %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSparseWrapWidth: a long log with only two lines cut at the width is
// still known to be wrapped when the rest of each lost the line's stamp.
func TestSparseWrapWidth(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "| nov. 26 11:51:39 kern.err kernel:\t[   25.%06d] filler line %d\n", i, i)
	}
	lock := "| nov. 26 11:51:39 kern.err kernel:\t[   25.900000]  (&event->child_mutex){+.+.}, at: [<00000000aedc3ceb>] perf_event_release_kernel+0x2ea/0xc10"
	head := b.String()
	for _, l := range []string{lock, strings.Replace(lock, "25.900000", "25.900001", 1)} {
		b.WriteString(l[:100] + "\n" + l[100:] + "\n")
	}
	if got := wrapWidth([]byte(b.String())); got != 100 {
		t.Errorf("wrapWidth = %d, want 100", got)
	}
	// Without the lost stamps, two long lines among 200 are no wrap.
	plain := head + lock + "\n" + lock + "\n"
	if got := wrapWidth([]byte(plain)); got != 0 {
		t.Errorf("unwrapped: wrapWidth = %d, want 0", got)
	}
	// A bare short log whose two longest lines are of one length by
	// chance, each followed by a message's own line.
	bare := "====\nBUG: KASAN: use-after-free in f+0x139/0x160 [xfs] (padded to a long line)..\nRead of size 8 at addr ffff88804ea5f608 by task fsstress\n" +
		"CPU: 1 PID: 527999 Comm: fsstress Tainted: G      D      5.16.0-rc4 #rc4 xx\nHardware name: QEMU\n"
	if n1, n2 := len(strings.Split(bare, "\n")[1]), len(strings.Split(bare, "\n")[3]); n1 != n2 {
		t.Fatalf("test lines differ: %d and %d", n1, n2)
	}
	if got := wrapWidth([]byte(bare)); got != 0 {
		t.Errorf("bare log: wrapWidth = %d, want 0", got)
	}
}

// TestStackCheck: syzkaller's per-keyword stack rule on a report's lines.
func TestStackCheck(t *testing.T) {
	loadTables()
	frames := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(" func%d+0x10/0x20", i))
		}
		return out
	}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	filler := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("Object ffff8800b7eb57%02x: 00 00 00 00", i))
		}
		return out
	}
	for _, c := range []struct {
		name string
		text []string
		want string
	}{
		{"trace with frames", join([]string{"BUG: KASAN: x in f+0x1/0x2", "Call Trace:"}, frames(5)), ""},
		{"kmemleak backtrace with crc", join([]string{"unreferenced object", "backtrace (crc 1234abcd):"}, []string{"[<ffffffff848a2f5f>] sock_kmalloc+0x7f/0xc0"}, frames(3)), ""},
		{"allocation stack without frames", join([]string{"BUG: KASAN: x", "Call Trace:"}, frames(4), []string{"Allocated by task 12:"}, filler(16)), "no frames in a stack trace"},
		{"only questionable frames", join([]string{"BUG: x", "Call Trace:", " ? a+0x1/0x2", " ? b+0x1/0x2"}, filler(16)), "no frames in a stack trace"},
		{"window cut by the report's end tells nothing", join([]string{"BUG: KASAN: x", "Call Trace:"}, frames(4), []string{"Allocated by task 12:"}, filler(3)), ""},
		{"another stack starts before a frame", join([]string{"Call Trace:", "Allocated by task 3:"}, frames(4), filler(20)), "no frames in a stack trace"},
		{"stack backtrace: is lockdep's, not a key", join([]string{"WARNING: x", "stack backtrace:", "Call Trace:"}, frames(4)), ""},
	} {
		if got := stackCheck(c.text); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestMainStack: a frame printed before the task's trace ("Preemption
// disabled at:") is not the report's trace.
func TestMainStack(t *testing.T) {
	doc := `[  415.140818] BUG: scheduling while atomic: stress-ng-iomix/1048/0x00000002
[  415.140846] Preemption disabled at:
[  415.140847] [<ffffffffc0656171>] mydrv_queuecommand+0x2e1/0xbe0 [mydrv]
[  415.140854] CPU: 8 UID: 0 PID: 1048 Comm: stress-ng-iomix Not tainted 6.19.0-rc7 #30
[  415.140857] Call Trace:
[  415.140861]  <TASK>
[  415.140863]  dump_stack_lvl+0x91/0xb0
[  415.140870]  __schedule_bug+0x9c/0xc0
[  415.140875]  __schedule+0xdf6/0x1300
[  415.140891]  rt_spin_lock+0x89/0x1e0
[  415.140893]  mydrv_ring_write+0x87/0x2a0 [mydrv]
[  415.140902]  mydrv_queuecommand+0x669/0xbe0 [mydrv]
`
	reps, err := Parse(strings.NewReader(doc), "rt")
	if err != nil || len(reps) != 1 {
		t.Fatalf("%d reports, %v", len(reps), err)
	}
	if fr := reps[0].Frames; len(fr) < 6 || fr[0].Function != "dump_stack_lvl" {
		t.Errorf("frames %+v: want the Call Trace's", fr)
	}
	if len(reps[0].Stacks) != 2 {
		t.Errorf("%d stacks, want both kept", len(reps[0].Stacks))
	}
}

// TestWarningLocationAtEnd: a WARNING header that ends at its file:line
// (the function on the next line, or cut by the paste) still locates it.
func TestWarningLocationAtEnd(t *testing.T) {
	doc := `  WARNING: CPU: 0 PID: 1251 at net/mydrv/extend.c:98
  RIP: 0010:mydrv_ext_add+0x12d/0x150 [mydrv]
  Call Trace:
   <TASK>
   mydrv_helper_add+0x12/0x60 [mydrv]
   mydrv_assign+0xc4/0x160 [mydrv]
`
	reps, err := Parse(strings.NewReader(doc), "w")
	if err != nil || len(reps) != 1 {
		t.Fatalf("%d reports, %v", len(reps), err)
	}
	if l := reps[0].BugLocation; l == nil || *l != "net/mydrv/extend.c:98" || reps[0].Title != "WARNING in mydrv_ext_add" {
		t.Errorf("title %q location %v", reps[0].Title, l)
	}
}
