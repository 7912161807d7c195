package oops

import (
	"slices"
	"testing"
)

func TestSetAltTitles(t *testing.T) {
	loadTables()
	str := func(s string) *string { return &s }
	cases := []struct {
		title  string
		guilty *string
		raw    string
		want   []string
	}{
		{"general protection fault in foo_bar", str("foo_bar"), "foo_bar.isra.3", []string{"bad-access in foo_bar"}},
		{"INFO: task hung in synchronize_rcu", str("synchronize_rcu"), "synchronize_rcu_expedited",
			[]string{"INFO: task hung in synchronize_rcu_expedited", "hang in synchronize_rcu", "hang in synchronize_rcu_expedited"}},
		// Each prefix taken off the raw frame in turn gives a title of its own.
		{"INFO: rcu detected stall in sys_openat2", str("sys_openat2"), "__x64_sys_openat2",
			[]string{"INFO: rcu detected stall in __x64_sys_openat2", "stall in __x64_sys_openat2", "stall in sys_openat2"}},
		{"KASAN: invalid-free in tear_down", str("tear_down"), "", []string{"invalid-free in tear_down"}},
		{"BUG: soft lockup in corrupted", nil, "", []string{"stall in corrupted"}},
		// A kind without an alternative template has none.
		{"WARNING in frob", str("frob"), "frob", nil},
		{"KMSAN: kernel-usb-infoleak in usb_submit_urb", str("usb_submit_urb"), "", nil},
	}
	for _, c := range cases {
		r := &Report{Title: c.title, GuiltyFunction: c.guilty}
		setAltTitles(r, c.raw)
		if !slices.Equal(r.AltTitles, c.want) {
			t.Errorf("%q: got %q, want %q", c.title, r.AltTitles, c.want)
		}
	}
}
