package triage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ktriage/ktriage/fixindex"
)

// TestPossibleFixes: a fix index's commits that quote the report's title
// or blame its guilty function are named, a commit that only shares a frame
// is not, and a report no entry matches carries its search query.
func TestPossibleFixes(t *testing.T) {
	log := `[   50.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   50.000002] #PF: supervisor read access in kernel mode
[   50.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   50.000004] CPU: 0 PID: 77 Comm: kworker/0:2 Not tainted 6.1.0 #1
[   50.000005] RIP: 0010:mydrv_reset+0x10/0x40 [mydrv]
[   50.000006] Call Trace:
[   50.000007]  <TASK>
[   50.000008]  mydrv_work+0x20/0x60 [mydrv]
[   50.000009]  process_one_work+0x1e2/0x3b0
[   50.000010]  worker_thread+0x50/0x3a0
`
	p := filepath.Join(t.TempDir(), "oops.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	ix := &fixindex.Index{Commits: []fixindex.Commit{
		{Hash: "1111111111111111111111111111111111111111", Subject: "mydrv: check the queue before reset",
			Titles: []string{"BUG: unable to handle kernel NULL pointer dereference in mydrv_reset"}, Release: "v6.2"},
		{Hash: "2222222222222222222222222222222222222222", Subject: "mydrv: hold the lock in reset",
			Guilty: []string{"mydrv_reset"}, Functions: []string{"mydrv_reset", "mydrv_work"}},
		{Hash: "3333333333333333333333333333333333333333", Subject: "workqueue: unrelated",
			Functions: []string{"mydrv_work", "process_one_work", "worker_thread"}},
	}}
	d, err := Analyze([]string{p}, Options{Fixes: ix})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PossibleFixes) != 2 {
		t.Fatalf("possible fixes %+v, want the title and the guilty-function commits", d.PossibleFixes)
	}
	if f := d.PossibleFixes[0]; f.Commit[:4] != "1111" || f.Strength != "title" || f.Release != "v6.2" {
		t.Errorf("first candidate %+v, want the title match first in v6.2", f)
	}
	if f := d.PossibleFixes[1]; f.Commit[:4] != "2222" || f.Strength != "guilty-function" {
		t.Errorf("second candidate %+v, want the guilty-function match", f)
	}
	if len(d.Unmatched) != 1 || d.Unmatched[0].Query != `"BUG: unable to handle kernel NULL pointer dereference in mydrv_reset"` {
		t.Errorf("unmatched %+v", d.Unmatched)
	}
}
