package refdebug

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Task is one task as drgn lists it.
type Task struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// State is the one-letter state ps(1) prints (R, S, D, I, Z, T, t, X,
	// P): drgn's task_state_to_char, or with a drgn that lacks it the same
	// letter computed from __state (or state before 5.14).
	State string `json:"state"`
	// Addr is the task_struct's address.
	Addr uint64 `json:"addr"`
}

// drgnTasksScript lists every task (for_each_task walks init_task.tasks
// and each thread group) as JSON. The fallback for State mirrors the
// kernel's task_state_index(): TASK_IDLE is I, else the highest reportable
// bit of the state and exit state.
const drgnTasksScript = `
import json, sys
from drgn.helpers.linux.pid import for_each_task
try:
    from drgn.helpers.linux.sched import task_state_to_char
except ImportError:
    task_state_to_char = None

def state_char(t):
    if task_state_to_char is not None:
        return task_state_to_char(t)
    try:
        st = int(t.__state)
    except AttributeError:
        st = int(t.state)
    if st == 0x402:
        return "I"
    return "RSDTtXZP"[((st | int(t.exit_state)) & 0x7f).bit_length()]

out = []
for t in for_each_task(prog):
    out.append({"pid": int(t.pid), "comm": t.comm.string_().decode("utf-8", "replace"),
                "state": state_char(t), "addr": int(t.value_())})
json.dump(out, sys.stdout)
sys.stdout.write("\n")
`

// DrgnTasks lists the tasks of dump with drgn (the `drgn` command, Debian's
// python3-drgn), given the debug vmlinux, running a small script through
// drgn's own interpreter so that whichever python3 is first on PATH does
// not matter. ctx bounds the run (DefaultTimeout when it has no deadline).
func DrgnTasks(ctx context.Context, vmlinux, dump string) ([]Task, error) {
	tasks, _, err := DrgnTasksRun(ctx, vmlinux, dump)
	return tasks, err
}

// DrgnTasksRun is DrgnTasks, with what the run cost.
func DrgnTasksRun(ctx context.Context, vmlinux, dump string) ([]Task, Usage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	dir, err := os.MkdirTemp("", "refdebug-drgn")
	if err != nil {
		return nil, Usage{}, fmt.Errorf("drgn: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "tasks.py")
	if err := os.WriteFile(script, []byte(drgnTasksScript), 0o600); err != nil {
		return nil, Usage{}, fmt.Errorf("drgn: %w", err)
	}
	cmd := exec.CommandContext(ctx, "drgn", "-q", "-c", dump, "-s", vmlinux, "--no-default-symbols", script)
	var stdout, stderr boundedBuffer
	stdout.max, stderr.max = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	use := usage(cmd, time.Since(start))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %v", ctx.Err(), err)
		}
		return nil, use, fmt.Errorf("drgn -c %s -s %s: %w: %s", dump, vmlinux, err, tail(stderr.String(), 2000))
	}
	if stdout.over {
		return nil, use, fmt.Errorf("drgn -c %s: output over %d bytes", dump, maxOutput)
	}
	var tasks []Task
	if err := json.Unmarshal(stdout.Bytes(), &tasks); err != nil {
		return nil, use, fmt.Errorf("drgn -c %s: task list: %w (stderr: %s)", dump, err, tail(stderr.String(), 500))
	}
	return tasks, use, nil
}
