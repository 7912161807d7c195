package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/internal/hostilefile"
	"github.com/ktriage/ktriage/internal/testshared"
)

func crashFixture(t *testing.T) string {
	return filepath.Join(testshared.Path(t, "fixtures/vmcore"), "skbcsum-kdump", "vmcore.kdump-d31")
}

// ktriageChild runs ktriage as a child process with stdin.
func ktriageChild(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	c := exec.Command(os.Args[0], append([]string{"--"}, args...)...)
	c.Env = append(os.Environ(), "KTRIAGE_HELPER=1")
	c.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// TestCrashShellPipe: commands piped in are run line by line, each
// echoed at a crash> prompt, so the output is a transcript crashlog
// reads; the capability line comes first.
func TestCrashShellPipe(t *testing.T) {
	dump := crashFixture(t)
	out, errOut, code := ktriageChild(t, "ps\nsys; net\nq\nps\n", "crash", dump)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "dump allows: kallsyms yes") {
		t.Errorf("no capability line first: %.200q", out)
	}
	if n := strings.Count(out, "crash> ps\n"); n != 1 {
		t.Errorf("ps ran %d times (q must end the session)", n)
	}
	sc := crashlog.NewScanner()
	s := bufio.NewScanner(strings.NewReader(out))
	for i := 1; s.Scan(); i++ {
		sc.Line(i, s.Text())
	}
	sess := sc.Finish()
	if len(sess.Tasks) < 20 || sess.Sys == nil || sess.Sys.Release != "6.1.0-56-cloud-amd64" || len(sess.NetDevs) < 2 {
		t.Errorf("transcript: %d tasks, sys %+v, %d devices", len(sess.Tasks), sess.Sys, len(sess.NetDevs))
	}
}

// TestCrashCommands: -c runs every command; a bad one is named on stderr
// and makes the exit status 1 while the others still answer; --json gives
// one valid object a line.
func TestCrashCommands(t *testing.T) {
	dump := crashFixture(t)
	for _, c := range []struct {
		cmds     string
		json     bool
		code     int
		errHas   []string
		outHas   []string
		outLines int // with --json: objects expected
	}{
		{cmds: "sys; rd skbcsum_bad_skb", code: 0, outHas: []string{"crash> rd skbcsum_bad_skb\nffffffffc03e9380:  ffff8afc013cd300                    ..<.....\n"}},
		{cmds: "ps; frobnicate 1; rd -q x; mod", code: 1, errHas: []string{`frobnicate: no command or type named "frobnicate"`, `rd: "-q": unknown flag`, "crash: 2 of 4 commands failed"}, outHas: []string{"crash> mod\n     MODULE"}},
		{cmds: "sys; rd 0; net", json: true, code: 1, outLines: 4, errHas: []string{"1 of 3 commands failed"}, outHas: []string{`"capabilities":`, `"error":"kernel virtual address 0x0`, `"name":"csum0"`}},
	} {
		t.Run(c.cmds, func(t *testing.T) {
			args := []string{"crash", "-c", c.cmds, dump}
			if c.json {
				args = append(args, "--json")
			}
			out, errOut, code := ktriageChild(t, "", args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %s", code, c.code, errOut)
			}
			for _, w := range c.errHas {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, errOut)
				}
			}
			for _, w := range c.outHas {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q: %.500s", w, out)
				}
			}
			if c.json {
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != c.outLines {
					t.Errorf("%d JSON lines, want %d", len(lines), c.outLines)
				}
				for _, l := range lines {
					var v map[string]any
					if err := json.Unmarshal([]byte(l), &v); err != nil {
						t.Errorf("not JSON: %v: %.200s", err, l)
					}
				}
			}
		})
	}
	// --vmlinux that is not there, or not ELF, is named.
	_, errOut, code := ktriageChild(t, "", "crash", "--vmlinux", "/nonexistent/vmlinux", "-c", "sys", dump)
	if code != 1 || !strings.Contains(errOut, "/nonexistent/vmlinux") {
		t.Errorf("--vmlinux: exit %d, %s", code, errOut)
	}
	// A FIFO as --vmlinux is refused at once, not waited on.
	fifo := filepath.Join(t.TempDir(), "vmlinux")
	hostilefile.FIFO(t, fifo)
	_, errOut, code = ktriageChild(t, "", "crash", "--vmlinux", fifo, "-c", "sys", dump)
	if code != 1 || !strings.Contains(errOut, "not a regular file") {
		t.Errorf("--vmlinux FIFO: exit %d, %s", code, errOut)
	}
}

// TestCrashShellTerminal: on a terminal (script(1) gives the child one)
// the shell prompts "crash> ", answers, keeps its history under
// $XDG_STATE_HOME and leaves on q.
func TestCrashShellTerminal(t *testing.T) {
	dump := crashFixture(t)
	script := testshared.Tool(t, "script")
	state := t.TempDir()
	c := exec.Command(script, "-qec", os.Args[0]+" -- crash "+dump, "/dev/null")
	c.Env = append(os.Environ(), "KTRIAGE_HELPER=1", "XDG_STATE_HOME="+state)
	c.Stdin = strings.NewReader("rd skbcsum_bad_skb\nq\n")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "crash> ") || !strings.Contains(string(out), "ffffffffc03e9380:  ffff8afc013cd300") {
		t.Errorf("no prompt or answer in %q", out)
	}
	hist, err := os.ReadFile(filepath.Join(state, "ktriage", "crash_history"))
	if err != nil || !strings.Contains(string(hist), "rd skbcsum_bad_skb\n") {
		t.Errorf("history %q %v", hist, err)
	}
}
