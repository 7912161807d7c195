package unwind

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// TestSleepingTasks walks every task that is not running in each kdump
// fixture from the frame __switch_to_asm left at its thread.sp: each walk
// must reach its end (ret_from_fork's END_OF_STACK for kernel threads,
// user registers for user tasks) with ORC alone, starting in __schedule
// (or at ret_from_fork for a task that never ran).
func TestSleepingTasks(t *testing.T) {
	for _, name := range []string{"skbcsum-kdump", "warn-kdump", "sysrq-c-kdump"} {
		t.Run(name, func(t *testing.T) {
			dir := testshared.Path(t, filepath.Join("fixtures/vmcore", name))
			v := openVmcore(t, filepath.Join(dir, "vmcore.kdump-d31"))
			rff, ok := v.syms.Lookup("ret_from_fork")
			if !ok {
				t.Fatal("no ret_from_fork")
			}
			u := New(v.k, v.orc, v)
			tasks := v.sleepers(t)
			if len(tasks) < 10 {
				t.Fatalf("only %d sleeping tasks", len(tasks))
			}
			users := 0
			for _, s := range tasks {
				regs, err := SwitchedOut(v.k, s.threadSP)
				if err != nil {
					t.Errorf("pid %d %s: %v", s.pid, s.comm, err)
					continue
				}
				tr, err := u.Unwind(regs, Options{Stacks: []Stack{{Name: "task", Start: s.stack, End: s.stack + 16<<10}}, ReturnAddress: regs["RIP"] != rff})
				if err != nil {
					t.Errorf("pid %d %s: %v", s.pid, s.comm, err)
					continue
				}
				var names []string
				for _, f := range tr.Frames {
					names = append(names, f.Func)
					if !f.Reliable {
						t.Errorf("pid %d %s: frame %s+%#x is a guess", s.pid, s.comm, f.Func, f.Off)
					}
				}
				if !tr.Complete || tr.Guessed {
					t.Errorf("pid %d %s: %v: %s", s.pid, s.comm, names, tr.Stop)
				}
				if f := tr.Frames[0]; f.Func != "__schedule" && f.IP != rff {
					t.Errorf("pid %d %s starts in %s+%#x", s.pid, s.comm, f.Func, f.Off)
				}
				if tr.User != nil {
					users++
				}
				if testing.Verbose() {
					t.Logf("pid %d %s: %s | %s", s.pid, s.comm, strings.Join(names, " "), tr.Stop)
				}
			}
			t.Logf("%d sleeping tasks, %d of them ending in user mode", len(tasks), users)
		})
	}
}
