package oops

import (
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
