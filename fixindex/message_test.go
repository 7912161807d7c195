package fixindex

import (
	"slices"
	"strings"
	"testing"
)

// TestParseMessage: the forms in which messages quote crashes and name
// fixes, one per case; each case states what must and must not be found.
func TestParseMessage(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		name      string
		msg       string
		indexed   bool
		subject   string
		headers   []string
		titles    []string
		guilty    []string
		funcs     []string
		notFuncs  []string
		fixes     []Fix
		reporters []string
	}{
		{name: "plain change", msg: "mm: tidy\n\nNo crash here. Oops, a typo in prose.\nThe BUG() macro is mentioned.\n"},
		{name: "wrapped subject", msg: "net: a subject\nthat wraps\n\nbody\nFixes: 0123456789AB (\"net: old\")\n", indexed: true,
			subject: "net: a subject that wraps", fixes: []Fix{{Hash: "0123456789ab", Subject: "net: old"}}},
		{name: "two fixes, no subject in one", msg: "x: y\n\nFixes: 0123456789ab\nfixes: abcdef012345 (\"a: b\")\nFixes: xyz\n", indexed: true,
			fixes: []Fix{{Hash: "0123456789ab"}, {Hash: "abcdef012345", Subject: "a: b"}}},
		{name: "syzbot reporter", msg: "x: y\n\nReported-and-tested-by: syzbot+4f3e2d1c0b9a@syzkaller.appspotmail.com\n", indexed: true,
			reporters: []string{"syzbot+4f3e2d1c0b9a"}},
		{name: "quoted syzbot title in prose", msg: "x: y\n\nsyzbot reported \"KASAN: use-after-free Read in tcp_retransmit_timer\" [1].\n", indexed: true,
			titles: []string{"KASAN: use-after-free Read in tcp_retransmit_timer"}, guilty: []string{"tcp_retransmit_timer"}},
		{name: "timestamped x86 oops, ? frames and generic frames skipped",
			msg: "x: y\n\n[  12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000010\n" +
				"[  12.345679] RIP: 0010:foo_xmit.isra.0+0x12/0x40 [foo]\n[  12.345680] Call Trace:\n[  12.345681]  <TASK>\n" +
				"[  12.345682]  ? show_regs+0x1/0x2\n[  12.345683]  dump_stack_lvl+0x1/0x2\n[  12.345684]  dev_hard_start_xmit+0x90/0x1e0\n",
			indexed: true, headers: []string{"BUG: kernel NULL pointer dereference, address: 0000000000000010"},
			funcs: []string{"foo_xmit", "dev_hard_start_xmit"}, notFuncs: []string{"show_regs", "dump_stack_lvl"}},
		{name: "mail-quoted arm64 splat", msg: "x: y\n\n> Unable to handle kernel NULL pointer dereference at virtual address 0000000000000020\n> pc : bar_poll+0x24/0x90\n> Call trace:\n>  bar_poll+0x24/0x90\n>  do_sys_poll+0x1f0/0x4c0\n",
			indexed: true, headers: []string{"Unable to handle kernel NULL pointer dereference at virtual address 0000000000000020"},
			funcs: []string{"bar_poll", "do_sys_poll"}},
		{name: "WARNING header names its function", msg: "x: y\r\n\r\nWARNING: CPU: 1 PID: 2 at net/core/dev.c:100 baz_check+0x10/0x20\r\n",
			indexed: true, guilty: []string{"baz_check"}, headers: []string{"WARNING: CPU: 1 PID: 2 at net/core/dev.c:100 baz_check+0x10/0x20"}},
		{name: "frames outside a trace are not frames", msg: "x: y\n\nThe helper qux+0x1/0x2 was slow.\n", notFuncs: []string{"qux"}},
		{name: "a trace alone", msg: "x: y\n\nCall Trace:\n  quux_a+0x1/0x2\n  quux_b file.c:12 [inline]\n  quux_c() (file.c:9)\n", indexed: true,
			funcs: []string{"quux_a", "quux_b", "quux_c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseMessage(h, []byte(c.msg))
			if ok != c.indexed {
				t.Errorf("indexed = %v, want %v: %+v", ok, c.indexed, got)
			}
			if c.subject != "" && got.Subject != c.subject {
				t.Errorf("subject %q, want %q", got.Subject, c.subject)
			}
			for _, w := range []struct {
				what      string
				have, all []string
			}{{"header", got.Headers, c.headers}, {"title", got.Titles, c.titles}, {"guilty", got.Guilty, c.guilty}, {"function", got.Functions, c.funcs}} {
				for _, want := range w.all {
					if !slices.Contains(w.have, want) {
						t.Errorf("%s %q missing from %q", w.what, want, w.have)
					}
				}
			}
			for _, no := range c.notFuncs {
				if slices.Contains(got.Functions, no) {
					t.Errorf("function %s indexed: %q", no, got.Functions)
				}
			}
			if !slices.Equal(got.Fixes, c.fixes) {
				t.Errorf("fixes %+v, want %+v", got.Fixes, c.fixes)
			}
			if !slices.Equal(got.Reporters, c.reporters) {
				t.Errorf("reporters %q, want %q", got.Reporters, c.reporters)
			}
		})
	}
	// Bounds: a message of many headers and frames keeps the first few.
	var b strings.Builder
	b.WriteString("x: y\n\nCall Trace:\n")
	for i := range 500 {
		b.WriteString(" f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "_" + strings.Repeat("y", i/26) + "+0x1/0x2\n")
	}
	for range 100 {
		b.WriteString("BUG: KASAN: use-after-free in " + strings.Repeat("z", 1000) + "\n")
	}
	got, _ := parseMessage(h, []byte(b.String()))
	if len(got.Functions) != maxFuncs || len(got.Headers) != 1 || len(got.Headers[0]) != maxHeader {
		t.Errorf("bounds: %d functions, %d headers", len(got.Functions), len(got.Headers))
	}
}
