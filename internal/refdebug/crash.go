package refdebug

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultTimeout bounds a crash or drgn run whose context has no deadline:
// crash reads a 6.1 vmlinux's DWARF in ~6 s, so a minute is a hang.
const DefaultTimeout = 2 * time.Minute

// maxOutput bounds what a run may print: `ps` of a large machine is a few
// MB; more means a command ran away.
const maxOutput = 256 << 20

// Startup is the key of Crash's result that holds what crash printed
// before the first command: warnings about the dump ("WARNING: active task
// … not found in PID hash").
const Startup = ""

// CrashError is a crash run that did not give every command's output.
type CrashError struct {
	Vmlinux, Dump string
	// Missing is the first command whose output was not seen.
	Missing string
	// Stderr is the end of what crash wrote to stderr.
	Stderr string
	Err    error
}

func (e *CrashError) Error() string {
	msg := fmt.Sprintf("crash %s %s", e.Vmlinux, e.Dump)
	if e.Missing != "" {
		msg += fmt.Sprintf(": no output for %q", e.Missing)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Stderr != "" {
		msg += ": stderr: " + e.Stderr
	}
	return msg
}

func (e *CrashError) Unwrap() error { return e.Err }

// Crash runs crash(8) once on dump with vmlinux and returns each command's
// output, keyed by the command as given (a command given twice keeps its
// last output), and what crash printed before the first command under the
// key Startup. Commands are fed on stdin, each preceded by an `echo` of a
// marker line no output can contain, so outputs are told apart whatever
// they print; scrolling and .crashrc files are disabled. A command crash
// refuses ("sym: invalid address") is not an error: its output is crash's
// message. ctx bounds the run (DefaultTimeout when it has no deadline).
func Crash(ctx context.Context, vmlinux, dump string, cmds ...string) (map[string]string, error) {
	out, _, err := CrashRun(ctx, vmlinux, dump, cmds...)
	return out, err
}

// Usage is what a reference run cost: for benchmarks that give ktriage's
// time and memory as a ratio of crash's.
type Usage struct {
	// Wall is the elapsed time; User and Sys the CPU time.
	Wall, User, Sys time.Duration
	// MaxRSS is the peak resident set in bytes (getrusage's ru_maxrss);
	// 0 where the system does not say.
	MaxRSS int64
}

// CrashRun is Crash, with what the run cost.
func CrashRun(ctx context.Context, vmlinux, dump string, cmds ...string) (map[string]string, Usage, error) {
	for _, c := range cmds {
		if strings.ContainsAny(c, "\n\r") {
			return nil, Usage{}, fmt.Errorf("crash command %q: a newline would run it as two commands", c)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, Usage{}, fmt.Errorf("crash: marker: %w", err)
	}
	mark := "refdebug-" + hex.EncodeToString(nonce) + "-"
	var in strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&in, "echo %s%d\n%s\n", mark, i, c)
	}
	fmt.Fprintf(&in, "echo %send\nexit\n", mark)

	cmd := exec.CommandContext(ctx, "crash", "-s", "--no_scroll", "--no_crashrc", vmlinux, dump)
	cmd.Stdin = strings.NewReader(in.String())
	var stdout, stderr boundedBuffer
	stdout.max, stderr.max = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// crash forks helpers (gdb runs in-process, but a pipe to a shell
	// command does not); WaitDelay keeps a stuck one from holding the
	// pipes past the deadline.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	use := usage(cmd, time.Since(start))
	if ctx.Err() != nil {
		runErr = fmt.Errorf("%w: %v", ctx.Err(), runErr)
	}
	if stdout.over {
		return nil, use, &CrashError{Vmlinux: vmlinux, Dump: dump, Err: fmt.Errorf("output over %d bytes", maxOutput)}
	}
	out, missing := splitMarked(stdout.String(), mark, cmds)
	if missing >= 0 || runErr != nil {
		e := &CrashError{Vmlinux: vmlinux, Dump: dump, Err: runErr, Stderr: tail(stderr.String(), 2000)}
		if missing >= 0 {
			e.Missing = "end of session"
			if missing < len(cmds) {
				e.Missing = cmds[missing]
			}
		}
		return nil, use, e
	}
	return out, use, nil
}

// usage reads what a finished command cost.
func usage(cmd *exec.Cmd, wall time.Duration) Usage {
	u := Usage{Wall: wall}
	if st := cmd.ProcessState; st != nil {
		u.User, u.Sys = st.UserTime(), st.SystemTime()
		u.MaxRSS = maxRSS(st)
	}
	return u
}

// splitMarked cuts crash's stdout at the marker lines: output before
// marker 0 is Startup, between marker i and the next is cmds[i]. It returns
// the index of the first marker not seen (len(cmds) for the end marker),
// -1 when all were.
func splitMarked(stdout, mark string, cmds []string) (map[string]string, int) {
	out := make(map[string]string, len(cmds)+1)
	next := 0 // the marker expected next; len(cmds) is "end"
	key, done := Startup, false
	var cur strings.Builder
	for line := range strings.Lines(stdout) {
		if want := markerName(mark, next, len(cmds)); strings.TrimRight(line, "\r\n") == want {
			out[key] = cur.String()
			cur.Reset()
			if next == len(cmds) {
				done = true
				break
			}
			key = cmds[next]
			next++
			continue
		}
		cur.WriteString(line)
	}
	if !done {
		return out, next
	}
	return out, -1
}

func markerName(mark string, i, n int) string {
	if i == n {
		return mark + "end"
	}
	return fmt.Sprintf("%s%d", mark, i)
}

// tail returns the last n bytes of s, whole lines.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…" + s
}

// boundedBuffer keeps at most max bytes and notes that more came.
type boundedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
