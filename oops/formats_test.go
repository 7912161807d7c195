package oops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyzkallerFormats covers oops formats of syzkaller's linux.go whose
// titles do not follow from a stack: each log is ours, a header and the
// lines the format reads.
func TestSyzkallerFormats(t *testing.T) {
	cases := []struct{ log, title string }{
		{`BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/17
     last function: mydrv_work_fn [mydrv]
1 lock held by kworker/0:1/17:
 #0: ffff8880 (&priv->lock){+.+.}-{3:3}, at: mydrv_work_fn+0x20/0x80 [mydrv]
`, "BUG: workqueue leaked lock or atomic in mydrv_work_fn"},
		{`BUG: non-zero nr_ptes on freeing mm: 3
`, "BUG: non-zero nr_ptes on freeing mm"},
		{`BUG: non-zero nr_pmds on freeing mm: 1
`, "BUG: non-zero nr_pmds on freeing mm"},
		{`BUG: Bad page map in process repro  pte:8000000012345067 pmd:12345067
page:ffffea0000123456 refcount:0 mapcount:-1 mapping:0000000000000000 index:0x0 pfn:0x12345
Call Trace:
 dump_stack+0x6b/0x83
 print_bad_pte.cold+0x6a/0xc3
 unmap_page_range+0x8f3/0xd40
`, "BUG: Bad page map"},
		{`=============================================================================
BUG kmalloc-64 (Not tainted): Object already free
-----------------------------------------------------------------------------
`, "BUG: Object already free"},
	}
	for _, c := range cases {
		reps, err := Parse(strings.NewReader(c.log), "t")
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 0 || reps[0].Title != c.title {
			got := ""
			if len(reps) > 0 {
				got = reps[0].Title
			}
			t.Errorf("%.40q: got %q, want %q", c.log, got, c.title)
		}
	}
}

// TestFrameLineFunc holds the hand-written frame reader of the stack rules
// to the expression it stands for (syzkaller's frameRes, with hashed
// pointers), on every line of the kinds fixtures and on odd lines.
func TestFrameLineFunc(t *testing.T) {
	lines := []string{
		" dump_stack+0x6b/0x83", "[<c0301a08>] (memcpy) from [<c0455a30>] (foo_xfer+0x30/0x80)",
		"[c000000001bb3710] [c0000000000286fc] __switch_to+0x43c/0x6d0", " [<(ptrval)>] foo_probe+0x1c/0x80 [foo]",
		" [<0xffffffff81000000>] bar.isra.0+0x1/0x2", "[<>] x+0x1", "[] y+0x1", " ? baz+0x1/0x2", "Call Trace:", "",
		"[<ffffffff8106e2e7>]", "[<ffffffff8106e2e7>] ", " [<ffff>] [<ffff>] [<ffff>] q+0x1", "abc", "abc.", "[abc] d+0x0",
	}
	dir := "testdata/kinds"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	for _, ln := range lines {
		want, wantOK := "", false
		if m := frameLine.FindStringSubmatch(ln); m != nil {
			want, wantOK = m[1], true
		}
		if got, ok := frameLineFunc(ln); got != want || ok != wantOK {
			t.Errorf("%q: got %q %v, want %q %v", ln, got, ok, want, wantOK)
		}
	}
}

// TestTitleToType checks the crash type of titles whose format sets none,
// family by family.
func TestTitleToType(t *testing.T) {
	for _, c := range []struct{ title, want string }{
		{"BUG: using smp_processor_id() in preemptible code in f", "LOCKDEP"},
		{"WARNING: suspicious RCU usage in f", "LOCKDEP"},
		{"WARNING: suspicious RCU usage", "WARNING"},
		{"BUG: spinlock lockup suspected in f", "LOCKDEP"},
		{"kernel stack overflow in f", "DoS"},
		{"unexpected kernel reboot", "REBOOT"},
		{"VFS: Busy inodes after unmount (use-after-free)", "DoS"},
		{"BUG: non-zero nr_ptes on freeing mm", "BUG"},
		{"something else", "UNKNOWN"},
	} {
		if got := TitleToType(c.title); got != c.want {
			t.Errorf("%q: got %s, want %s", c.title, got, c.want)
		}
	}
}
