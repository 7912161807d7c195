package kview_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// TestPanicTask: the task list holds the task the log's "CPU: N PID: M
// Comm: C" line names, active on that CPU, and the idle task of every CPU.
func TestPanicTask(t *testing.T) {
	for _, name := range []string{"skbcsum-kdump", "sysrq-c-kdump", "warn-kdump"} {
		t.Run(name, func(t *testing.T) {
			v := openFixture(t, name)
			log, err := os.ReadFile(testshared.Path(t, "fixtures/vmcore/"+name+"/dmesg.makedumpfile.txt"))
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`CPU: (\d+) PID: (\d+) Comm: (\S+)`).FindSubmatch(log)
			if m == nil {
				t.Fatal("no CPU: PID: line")
			}
			cpu, _ := strconv.Atoi(string(m[1]))
			pid, _ := strconv.Atoi(string(m[2]))
			tasks, err := v.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			idle := 0
			found := false
			for _, tk := range tasks {
				if tk.Err != nil {
					t.Errorf("task %#x: %v", tk.Addr, tk.Err)
				}
				if tk.PID == 0 {
					idle++
				}
				if tk.PID == pid {
					found = true
					if tk.Comm != string(m[3]) || !tk.Active || tk.CPU != cpu || tk.State != "RU" {
						t.Errorf("panic task: %+v, log says cpu %d comm %s", tk, cpu, m[3])
					}
				}
			}
			if !found {
				t.Errorf("pid %d not among %d tasks", pid, len(tasks))
			}
			if idle != v.NumCPUs() {
				t.Errorf("%d idle tasks, %d CPUs", idle, v.NumCPUs())
			}
			if len(tasks) < 20 {
				t.Errorf("only %d tasks", len(tasks))
			}
			cur, err := v.CurrentTask(cpu)
			if err != nil {
				t.Fatal(err)
			}
			files, err := v.Files(cur)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d tasks, panic task has %d fds: %+v", len(tasks), len(files), files)
		})
	}
}
