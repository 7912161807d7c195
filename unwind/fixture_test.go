package unwind

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
)

// item is a frame as the kernel's Call Trace prints it, for comparison.
func item(f Frame) logItem {
	return logItem{exception: f.Regs != nil, fn: f.Func, off: f.Off, module: f.Module}
}

func sameItem(a, b logItem) bool {
	return a.exception == b.exception && a.fn == b.fn && a.off == b.off && a.module == b.module
}

// panicCPU returns the NT_PRSTATUS of the CPU the log's trace names.
func panicCPU(t *testing.T, d *dump.Dump, lt logTrace, byPID bool) dump.PRStatus {
	t.Helper()
	for _, st := range d.PRStatus() {
		if byPID && st.PID == lt.pid || !byPID && st.CPU == lt.cpu {
			if st.Regs == nil {
				t.Fatalf("NT_PRSTATUS of CPU %d has no registers", st.CPU)
			}
			return st
		}
	}
	t.Fatalf("no NT_PRSTATUS for CPU %d PID %d among %d", lt.cpu, lt.pid, len(d.PRStatus()))
	return dump.PRStatus{}
}

// compareTrace asserts that the walk's reliable frames (and exception
// frames) are the log's non-? frames in order. The log may begin with the
// frames of the printing itself (dump_stack_lvl, and panic at the call
// of dump_stack), which the dump's registers, taken later in panic,
// cannot show; the walk must then pass through panic too.
func compareTrace(t *testing.T, tr *Trace, lt logTrace) {
	t.Helper()
	var want []logItem
	for _, it := range lt.items {
		if !it.guess {
			want = append(want, it)
		}
	}
	var got []logItem
	for _, f := range tr.Frames[1:] {
		if f.Reliable {
			got = append(got, item(f))
		}
	}
	// The first log frame that the walk also has.
	wi, gi := -1, -1
	for i, w := range want {
		for j, g := range got {
			if sameItem(w, g) {
				wi, gi = i, j
				break
			}
		}
		if wi >= 0 {
			break
		}
	}
	if wi < 0 {
		t.Fatalf("no frame in common:\nlog  %v\nwalk %v", want, got)
	}
	for _, w := range want[:wi] {
		if w.fn != "dump_stack_lvl" && w.fn != "panic" {
			t.Errorf("walk lacks the log's frame %v (before the first common frame %v)", w, want[wi])
		}
	}
	if wi > 0 && !hasFunc(tr.Frames[:gi+2], "panic") {
		t.Errorf("the log's trace was printed from panic but the walk does not pass through panic")
	}
	w, g := want[wi:], got[gi:]
	for i := 0; i < len(w) || i < len(g); i++ {
		switch {
		case i >= len(w):
			t.Errorf("walk frame %d %v is not in the log", i, g[i])
		case i >= len(g):
			t.Errorf("log frame %v (%s) is missing from the walk", w[i], w[i].raw)
		case !sameItem(w[i], g[i]):
			t.Errorf("frame %d: walk %v, log %v", i, g[i], w[i])
		}
	}
	if !tr.Complete || tr.User == nil {
		t.Fatalf("walk did not end in user-mode registers: %s", tr.Stop)
	}
	if tr.User["RIP"] != lt.userRIP || tr.User["RSP"] != lt.userRSP {
		t.Errorf("user RIP/RSP %#x/%#x, log RIP: 0033:%#x RSP: 002b:%#x", tr.User["RIP"], tr.User["RSP"], lt.userRIP, lt.userRSP)
	}
}

// checkGuesses asserts that the walk with its "?" guesses interleaved is,
// from the first frame it shares with the log's Call Trace on, a
// subsequence of that trace, "?" for "?": every guess of ours is one the
// kernel printed too, in the same place. (The kernel prints every text
// address on the stack; we keep those that follow a call.)
func checkGuesses(t *testing.T, all *Trace, lt logTrace) {
	t.Helper()
	var mine []logItem
	for _, f := range all.Frames[1:] {
		it := item(f)
		it.guess = !f.Reliable
		mine = append(mine, it)
	}
	start := -1
	for i, m := range mine {
		if m.guess {
			continue
		}
		for j, l := range lt.items {
			if !l.guess && sameItem(m, l) {
				start = i
				mine = mine[i:]
				lt.items = lt.items[j:]
				break
			}
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		t.Fatal("no frame in common with the log")
	}
	guesses, j := 0, 0
	for _, m := range mine {
		for j < len(lt.items) && !(sameItem(m, lt.items[j]) && m.guess == lt.items[j].guess) {
			j++
		}
		if j == len(lt.items) {
			t.Errorf("our frame %v (guess %v) is not in the log's trace in that place", m, m.guess)
			return
		}
		if m.guess {
			guesses++
		}
		j++
	}
	t.Logf("%d frames, %d of them guesses, in the log's order", len(mine), guesses)
}

func hasFunc(fs []Frame, name string) bool {
	for _, f := range fs {
		if f.Func == name {
			return true
		}
	}
	return false
}

// crashBT is crash(8)'s bt of the panic task.
type crashBT struct {
	frames []crashFrame
	excRIP uint64
	excRSP uint64
}

type crashFrame struct {
	n      int
	sp, ip uint64
	fn     string
	module string
}

var (
	crashFrameRE = regexp.MustCompile(`^\s*#(\d+) \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)(?: \[(\w+)\])?`)
	crashExcRE   = regexp.MustCompile(`^\s*\[exception RIP: `)
	crashRegsRE  = regexp.MustCompile(`^\s*RIP: ([0-9a-f]+)\s+RSP: ([0-9a-f]+)`)
)

func parseCrashBT(t *testing.T, path string) crashBT {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bt crashBT
	inExc := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if m := crashFrameRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			sp, _ := strconv.ParseUint(m[2], 16, 64)
			ip, _ := strconv.ParseUint(m[4], 16, 64)
			bt.frames = append(bt.frames, crashFrame{n, sp, ip, m[3], m[5]})
			continue
		}
		if crashExcRE.MatchString(l) {
			inExc = true
			continue
		}
		if m := crashRegsRE.FindStringSubmatch(l); m != nil && inExc {
			bt.excRIP, _ = strconv.ParseUint(m[1], 16, 64)
			bt.excRSP, _ = strconv.ParseUint(m[2], 16, 64)
			inExc = false
		}
	}
	if len(bt.frames) == 0 {
		t.Fatalf("%s: no bt frames", path)
	}
	return bt
}

// TestKdumpFixtures walks the panic CPU of each genuine kdump from its
// crash-time NT_PRSTATUS and holds the walk to the kernel's own Call Trace
// in the dump's log and, where present, to crash(8)'s bt.
func TestKdumpFixtures(t *testing.T) {
	for _, tc := range []struct {
		name string
		// crashFrames are the numbers of crash's bt frames above the
		// registers, which must be ours slot for slot.
		crashFrames [2]int
	}{
		{"skbcsum-kdump", [2]int{8, 20}},
		{"warn-kdump", [2]int{2, 26}},
		{"sysrq-c-kdump", [2]int{}},
	} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			dir := testshared.Path(t, filepath.Join("fixtures/vmcore", name))
			v := openVmcore(t, filepath.Join(dir, "vmcore.kdump-d31"))
			if v.orc.Layout() != LayoutV1 {
				t.Errorf("6.1 kernel: layout %v (%s), want v1", v.orc.Layout(), v.orc.LayoutReason())
			}
			lt := lastTrace(t, filepath.Join(dir, "dmesg.makedumpfile.txt"))
			st := panicCPU(t, v.d, lt, true)
			if st.CPU != lt.cpu {
				t.Errorf("NT_PRSTATUS of PID %d is CPU %d, the log says CPU %d", lt.pid, st.CPU, lt.cpu)
			}
			u := New(v.k, v.orc, v)
			tr, err := u.Unwind(st.Regs, Options{Stacks: v.stacks(t, st.CPU)})
			if err != nil {
				t.Fatal(err)
			}
			logFrames(t, tr)
			compareTrace(t, tr, lt)
			all, err := u.Unwind(st.Regs, Options{Stacks: v.stacks(t, st.CPU), Guesses: true})
			if err != nil {
				t.Fatal(err)
			}
			checkGuesses(t, all, lt)

			crashPath := filepath.Join(dir, "crash-bt.txt")
			if _, err := os.Stat(crashPath); err != nil {
				return
			}
			bt := parseCrashBT(t, crashPath)
			bySP := map[uint64]Frame{}
			for _, f := range all.Frames[1:] {
				bySP[f.SP] = f
			}
			// crash's frames above the registers' RSP (below it are the
			// frames of kexec itself, which ran after the registers were
			// saved) must be ours, slot for slot.
			var checked []int
			for _, cf := range bt.frames {
				if cf.sp < st.Regs["RSP"] {
					continue
				}
				checked = append(checked, cf.n)
				f, ok := bySP[cf.sp]
				switch {
				case !ok:
					t.Errorf("crash #%d [%x] %s at %x: no frame at that slot", cf.n, cf.sp, cf.fn, cf.ip)
				case f.IP != cf.ip:
					t.Errorf("crash #%d [%x] %s at %x: our IP %x", cf.n, cf.sp, cf.fn, cf.ip, f.IP)
				case f.Func != cf.fn && !strings.HasPrefix(cf.fn, "_MODULE_INIT_START_"):
					t.Errorf("crash #%d [%x] %s: our function %s", cf.n, cf.sp, cf.fn, f.Func)
				case f.Module != cf.module:
					t.Errorf("crash #%d [%x] %s [%s]: our module %q", cf.n, cf.sp, cf.fn, cf.module, f.Module)
				}
			}
			if len(checked) == 0 || checked[0] != tc.crashFrames[0] || checked[len(checked)-1] != tc.crashFrames[1] || len(checked) != tc.crashFrames[1]-tc.crashFrames[0]+1 {
				t.Errorf("crash frames compared: %v, want #%d-#%d", checked, tc.crashFrames[0], tc.crashFrames[1])
			}
			// crash's exception frame, when it is above the registers.
			if bt.excRSP == st.Regs["RSP"] && bt.excRIP != st.Regs["RIP"] {
				t.Errorf("crash's exception RSP %x is the registers', but RIP %x is not %x", bt.excRSP, bt.excRIP, st.Regs["RIP"])
			}
			if bt.excRSP > st.Regs["RSP"] {
				var exc *Frame
				for i := range all.Frames[1:] {
					if all.Frames[1+i].Regs != nil {
						exc = &all.Frames[1+i]
						break
					}
				}
				if exc == nil {
					t.Errorf("crash has an exception frame (RIP %x RSP %x), we have none", bt.excRIP, bt.excRSP)
				} else if exc.Regs["RIP"] != bt.excRIP || exc.Regs["RSP"] != bt.excRSP {
					t.Errorf("exception RIP/RSP %x/%x, crash %x/%x", exc.Regs["RIP"], exc.Regs["RSP"], bt.excRIP, bt.excRSP)
				}
			}
		})
	}
}

func logFrames(t *testing.T, tr *Trace) {
	t.Helper()
	var b strings.Builder
	for i, f := range tr.Frames {
		q := " "
		if !f.Reliable {
			q = "?"
		}
		b.WriteString(strconv.Itoa(i) + " " + q + " [" + strconv.FormatUint(f.SP, 16) + "] " + f.Func + "+0x" + strconv.FormatUint(f.Off, 16))
		if f.Module != "" {
			b.WriteString(" [" + f.Module + "]")
		}
		b.WriteString(" " + f.Method.String())
		if f.Regs != nil {
			b.WriteString(" (exception)")
		}
		b.WriteString("\n")
	}
	t.Logf("walk:\n%sstop: %s", b.String(), tr.Stop)
}

// TestGeneratedDumps walks the panic CPU of every generated dump: QEMU's
// paused registers (inside panic, after the notifiers) or the capture
// kernel's crash-time ones. The walk must reach the oops's exception
// frame at the log's "RIP: 0010:" function, and from there on be the
// log's Call Trace.
func TestGeneratedDumps(t *testing.T) {
	for _, e := range vmcores.Manifest(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := openVmcore(t, e.Path)
			lt := lastTrace(t, e.Dmesg)
			paused := strings.Contains(e.Registers, "paused")
			st := panicCPU(t, v.d, lt, !paused)
			u := New(v.k, v.orc, v)
			tr, err := u.Unwind(st.Regs, Options{Stacks: v.stacks(t, st.CPU)})
			if err != nil {
				t.Fatal(err)
			}
			logFrames(t, tr)
			// The oops's RIP line is the first exception in the log.
			var rip logItem
			for _, it := range lt.items {
				if it.exception {
					rip = it
					break
				}
			}
			if rip.fn == "" {
				// The trace was printed from the exception's registers:
				// its RIP line comes before "Call Trace:".
				rip = oopsRIP(t, e.Dmesg)
			}
			exc := -1
			for i, f := range tr.Frames {
				if f.Regs != nil && f.Func == rip.fn && f.Off == rip.off {
					exc = i
					break
				}
			}
			if exc < 0 && st.Regs["RIP"] != 0 {
				if f := tr.Frames[0]; f.Func == rip.fn && f.Off == rip.off {
					exc = 0 // the registers are the exception's (crash_kexec(regs))
				}
			}
			if exc < 0 {
				t.Fatalf("no exception frame at %v", rip)
			}
			if paused {
				if !hasFunc(tr.Frames[:exc], "panic") {
					t.Errorf("paused registers: the walk does not pass through panic before the exception")
				}
				if tr.Guessed {
					t.Errorf("paused registers inside panic need no guess")
				}
			}
			sub := *tr
			sub.Frames = tr.Frames[exc:]
			compareTrace(t, &sub, lt)
			all, err := u.Unwind(st.Regs, Options{Stacks: v.stacks(t, st.CPU), Guesses: true})
			if err != nil {
				t.Fatal(err)
			}
			checkGuesses(t, all, lt)
		})
	}
}

var oopsRIPRE = regexp.MustCompile(`\] RIP: 0010:([\w.]+)\+0x([0-9a-f]+)/0x[0-9a-f]+(?: \[(\w+)\])?`)

// oopsRIP returns the first kernel-mode RIP line of a log.
func oopsRIP(t *testing.T, path string) logItem {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := oopsRIPRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no RIP: 0010: line", path)
	}
	off, _ := strconv.ParseUint(string(m[2]), 16, 64)
	return logItem{exception: true, fn: string(m[1]), off: off, module: string(m[3])}
}
