package oops

import "testing"

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
