package crashlog

import (
	"strings"
	"testing"
)

func TestParsePsLine(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want Task
	}{
		{"29860  29591   9  ffff881061546040  IN   5.7 6181920 3977016  [proc1]", true,
			Task{PID: 29860, PPID: 29591, CPU: 9, TaskAddr: 0xffff881061546040, State: "IN", MemPct: 5.7, VSZ: 6181920, RSS: 3977016, Comm: "proc1"}},
		{">    0      0   0  ffffffff81a8d020  RU   0.0       0      0  [swapper]", true,
			Task{CPU: 0, TaskAddr: 0xffffffff81a8d020, State: "RU", Comm: "swapper", Active: true}},
		{"> 27005   7783   1  ffff997b388ae180  RU   0.2   91732   4124  pickup", true,
			Task{PID: 27005, PPID: 7783, CPU: 1, TaskAddr: 0xffff997b388ae180, State: "RU", MemPct: 0.2, VSZ: 91732, RSS: 4124, Comm: "pickup", Active: true}},
		{">27005   7783   1  ffff997b388ae180  RU   0.2   91732   4124  pickup", true,
			Task{PID: 27005, PPID: 7783, CPU: 1, TaskAddr: 0xffff997b388ae180, State: "RU", MemPct: 0.2, VSZ: 91732, RSS: 4124, Comm: "pickup", Active: true}},
		{"1302345  1302341  38  ffff710162497a00  NE   0.0    4416    768  bash", true,
			Task{PID: 1302345, PPID: 1302341, CPU: 38, TaskAddr: 0xffff710162497a00, State: "NE", VSZ: 4416, RSS: 768, Comm: "bash"}},
		{"1      0   1  f7038000  IN   0.1    3096   1960  init", true,
			Task{PID: 1, CPU: 1, TaskAddr: 0xf7038000, State: "IN", MemPct: 0.1, VSZ: 3096, RSS: 1960, Comm: "init"}},
		{"41290      2   0  ffff8931c1cad200  ID   0.0       0      0  [kworker/u4:2]", true,
			Task{PID: 41290, PPID: 2, TaskAddr: 0xffff8931c1cad200, State: "ID", Comm: "kworker/u4:2"}},
		{"29861  29860   -  ffff881061546aa0  ZO   0.0       0      0  proc1   <-- zombie", true,
			Task{PID: 29861, PPID: 29860, CPU: -1, TaskAddr: 0xffff881061546aa0, State: "ZO", Comm: "proc1"}},
		{"4242   1   2  ffff881061546aa0  IN  12.5  123456  45678  Web Content", true,
			Task{PID: 4242, PPID: 1, CPU: 2, TaskAddr: 0xffff881061546aa0, State: "IN", MemPct: 12.5, VSZ: 123456, RSS: 45678, Comm: "Web Content"}},
		// not ps lines
		{"29860 29591 9 ffff88106154604 IN 5.7 6181920 3977016 proc1", false, Task{}},      // 15 hex digits
		{"29860 29591 9 ffff881061546040 XX 5.7 6181920 3977016 proc1", false, Task{}},     // unknown state
		{"29860 29591 9 ffff881061546040 IN 5.7% 6181920 3977016 proc1", false, Task{}},    // %MEM
		{"29860 29591 9 ffff881061546040 IN 5.7 6181920 3977016", false, Task{}},           // no COMM
		{"29860 29591 9 ffff881061546040 IN 5.7 6.1 3977016 proc1", false, Task{}},         // VSZ
		{"24 CPUs 64 GB ffff881061546040 IN 5.7 6181920 3977016 proc1", false, Task{}},     // CPUs
		{"2015 10 20 deadbeef ST 1.5 15 20 minutes later the box was back", false, Task{}}, // COMM too long
		{">> 0 0 0 ffffffff81a8d020 RU 0.0 0 0 [swapper]", false, Task{}},
		{"29860  29591   9  ffff881061546040  IN   5.7 6181920 3977016  []", false, Task{}},
		{"PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM", false, Task{}},
	}
	for _, tc := range tests {
		got, ok := parsePsLine(tc.line)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("%q = %+v, %v\nwant %+v", tc.line, got, ok, tc.want)
		}
	}
}

func TestPsListings(t *testing.T) {
	const (
		header  = "   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM\n"
		kheader = "   PID    PPID  CPU    KSTACKP      ST  %MEM     VSZ    RSS  COMM\n"
		line    = ">    0      0   0  ffffffff81a8d020  RU   0.0       0      0  [swapper]\n"
	)
	tests := []struct {
		name  string
		text  string
		tasks int
	}{
		{"header", "crash> ps\n" + header + line + line, 2},
		{"no header, no prompt", line, 1},
		{"ps | grep", "crash> ps | grep swapper\n" + line, 1},
		{"foreach ps", "crash> foreach RU ps\n" + header + line, 1},
		{"ps -s by header", kheader + line, 0},
		{"ps -s by command", "crash> ps -s\n" + line, 0},
		{"ps -s then ps", "crash> ps -s\n" + kheader + line + "crash> ps\n" + line, 1},
		{"ps -t is not the table", "crash> ps -t 1\nPID: 1      TASK: ffff88107c6c0040  CPU: 3   COMMAND: \"systemd\"\n    RUN TIME: 14 days, 00:07:57\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess := scan(tc.text, nil)
			checkRows(t, sess)
			if len(sess.Tasks) != tc.tasks {
				t.Errorf("tasks = %s", dump(&Session{Tasks: sess.Tasks}))
			}
		})
	}
}

func TestPsLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("crash> ps\n")
	for i := 0; i < MaxTasks+3; i++ {
		sb.WriteString("  41290      2   0  ffff8931c1cad200  ID   0.0       0      0  [kworker/u4:2]\n")
	}
	sess := scan(sb.String(), nil)
	checkRows(t, sess)
	if len(sess.Tasks) != MaxTasks || sess.RowsDropped != 3 {
		t.Errorf("%d tasks, %d dropped", len(sess.Tasks), sess.RowsDropped)
	}
	if sess.Tasks[0].Comm != "kworker/u4:2" {
		t.Errorf("comm %q", sess.Tasks[0].Comm)
	}
}

// FuzzPS feeds arbitrary text as the output of ps.
func FuzzPS(f *testing.F) {
	fuzz(f, []string{
		"   PID    PPID  CPU       TASK        ST  %MEM     VSZ    RSS  COMM\n>    0      0   0  ffffffff81a8d020  RU   0.0       0      0  [swapper]\n 29860  29591   9  ffff881061546040  IN   5.7 6181920 3977016  [proc1]\n",
		"   PID    PPID  CPU    KSTACKP      ST  %MEM     VSZ    RSS  COMM\n  1      0   1  f7038000  IN   0.1    3096   1960  init\n",
		">1 2 - ffffffff ZO 100.0 99999999999999999999 0 [\n> 1 2 3 ffffffffffffffff NE 0.0 0 0 a  <--\n",
	}, func(t *testing.T, data string) {
		fuzzRows(t, data, "ps", "ps -s", "foreach ps | grep x", "")
	})
}
