package oops

import (
	"fmt"
	"strings"
	"testing"
)

// TestLongModuleList holds the scanner to a module list of 150 modules: a
// first record cut at the kernel's 1 KiB limit and continuation lines, in
// a clean log and in a prefixed one.
func TestLongModuleList(t *testing.T) {
	var mods []string
	for i := range 150 {
		mods = append(mods, fmt.Sprintf("mod_%03d_drv", i))
	}
	var first, rest []string
	n := len("Modules linked in:")
	for _, m := range mods {
		if n+1+len(m) <= 1000 {
			first = append(first, m)
			n += 1 + len(m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(first) < 60 || len(rest) < 20 {
		t.Fatalf("bad split %d/%d", len(first), len(rest))
	}
	body := []string{
		"BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
		"IP: [<ffffffffa0123456>] mod_007_xmit+0x16/0x80 [mod_007_drv]",
		"Oops: 0000 [#1] SMP",
		"Modules linked in: " + strings.Join(first, " "),
	}
	for i := 0; i < len(rest); i += 30 {
		body = append(body, " "+strings.Join(rest[i:min(i+30, len(rest))], " "))
	}
	body = append(body, " [last unloaded: mod_999_old]",
		"CPU: 1 PID: 42 Comm: kworker/1:1 Not tainted 4.4.0-21-generic #37-Ubuntu",
		"RIP: 0010:[<ffffffffa0123456>]  [<ffffffffa0123456>] mod_007_xmit+0x16/0x80 [mod_007_drv]",
		"Call Trace:",
		" [<ffffffff81700000>] dev_hard_start_xmit+0x10/0x20",
		" [<ffffffff81700100>] sch_direct_xmit+0x10/0x20",
		"---[ end trace 0123456789abcdef ]---")
	for _, style := range []struct {
		name string
		pfx  func(i int) string
	}{
		{"plain", func(i int) string { return fmt.Sprintf("[%5d.%06d] ", 100+i, i) }},
		{"syslog", func(i int) string { return fmt.Sprintf("Dec  4 03:12:%02d web-07 kernel: ", i) }},
		{"quoted", func(i int) string { return fmt.Sprintf("> [%5d.%06d] ", 100+i, i) }},
	} {
		var b strings.Builder
		for i, l := range body {
			b.WriteString(style.pfx(i) + l + "\n")
		}
		reps, err := Parse(strings.NewReader(b.String()), style.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 1 {
			t.Fatalf("%s: %d reports", style.name, len(reps))
		}
		got := reps[0].Modules
		if len(got) != len(mods) || got[0] != mods[0] || got[len(got)-1] != mods[len(mods)-1] {
			t.Errorf("%s: %d modules (%v ... ), want %d", style.name, len(got), got[:min(3, len(got))], len(mods))
		}
	}
}
