package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/testshared"
)

// TestMain runs the tests, or, with KTRIAGE_HELPER=1, is ktriage itself
// with the arguments after "--": the tests below run it as a child process
// to interrupt it or watch its $TMPDIR.
func TestMain(m *testing.M) {
	if os.Getenv("KTRIAGE_HELPER") != "1" {
		os.Exit(m.Run())
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	root := newRootCmd()
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		os.Stderr.WriteString("ktriage: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// TestDumpWarnings: dmesg and analyze pass on what `vmcore info` knows of a
// damaged dump on stderr, while stdout holds only the log (the summary,
// the JSON).
func TestDumpWarnings(t *testing.T) {
	src := filepath.Join(testshared.Path(t, "fixtures/vmcore"), "skbcsum-kdump", "vmcore.kdump-d31")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "vmcore.cut")
	if err := os.WriteFile(cut, b[:len(b)-4096], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		start string // what stdout starts with
	}{
		{[]string{"dmesg", cut}, "[    0.000000] Linux version"},
		{[]string{"analyze", cut}, ""},
		{[]string{"analyze", "--json", cut}, "{"},
	} {
		t.Run(strings.Join(c.args[:len(c.args)-1], " "), func(t *testing.T) {
			root := newRootCmd()
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(c.args)
			err := root.Execute()
			if !strings.Contains(errOut.String(), "warning: "+cut+": offset ") || !strings.Contains(errOut.String(), "truncated") {
				t.Errorf("stderr %q lacks the truncation warning (err %v)", errOut.String(), err)
			}
			if strings.Contains(out.String(), "ktriage: warning") || !strings.HasPrefix(out.String(), c.start) || out.Len() == 0 {
				t.Errorf("stdout is not the output alone: %.200q", out.String())
			}
		})
	}
}

// TestDmesgStdinInterrupted: Ctrl-C while a dump streams in on stdin leaves
// no spool file in $TMPDIR, and a stream that is no dump is refused at once.
func TestDmesgStdinInterrupted(t *testing.T) {
	child := func(tmp string) *exec.Cmd {
		c := exec.Command(os.Args[0], "--", "dmesg", "-")
		c.Env = append(os.Environ(), "KTRIAGE_HELPER=1", "TMPDIR="+tmp)
		return c
	}
	t.Run("SIGINT mid-spool", func(t *testing.T) {
		tmp := t.TempDir()
		c := child(tmp)
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// A flattened header and 4 MiB of records: the child is spooling
		// when the signal comes, the pipe still open.
		be := binary.BigEndian
		h := make([]byte, 4096)
		copy(h, "makedumpfile")
		be.PutUint64(h[16:], 1)
		be.PutUint64(h[24:], 1)
		in.Write(h)
		rec := make([]byte, 16+64<<10)
		for i := range 64 {
			be.PutUint64(rec, uint64(i)<<16)
			be.PutUint64(rec[8:], 64<<10)
			if _, err := in.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		if err := c.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			t.Fatal("still running 10 s after SIGINT")
		}
		in.Close()
		if err == nil {
			t.Error("interrupted dmesg exited 0")
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("left in $TMPDIR: %v", ents)
		}
	})
	t.Run("not a dump", func(t *testing.T) {
		tmp := t.TempDir()
		c := child(tmp)
		// /dev/zero, cut at 64 MiB so that a reader that spools it all
		// (as ktriage did) fails the test without filling the disk.
		c.Stdin = io.LimitReader(zeros{}, 64<<20)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		start := time.Now()
		err := c.Run()
		if err == nil || !strings.Contains(stderr.String(), "standard input: offset 0 (0x0): unknown dump format") || !strings.Contains(stderr.String(), "nothing was spooled") {
			t.Errorf("err %v, stderr %q", err, stderr.String())
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to refuse", d)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("left in $TMPDIR: %v", ents)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestVmcoreSym: `vmcore sym` answers names and addresses from the dump's
// kallsyms as crash(8) names them (crash-bt.txt's exception RIP), and says
// which queries it could not answer.
func TestVmcoreSym(t *testing.T) {
	dump := filepath.Join(testshared.Path(t, "fixtures/vmcore"), "skbcsum-kdump", "vmcore.kdump-d31")
	for _, c := range []struct {
		args         []string
		out, errOut  string
		wantErrorMsg string
	}{
		{[]string{"_stext", "ffffffff92d8e3a8", "0xffffffff92dacfaf"},
			"ffffffff92600000 _stext\nffffffff92d8e3a8 __skb_checksum+760\nffffffff92dacfaf validate_xmit_skb+", "", ""},
		{[]string{"no_such_symbol", "0xffffffffc03f9295", "__dev_queue_xmit"},
			"ffffffff92dad", "no_such_symbol: no such symbol", "2 of 3 not found"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			root := newRootCmd()
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(append([]string{"vmcore", "sym", dump}, c.args...))
			err := root.Execute()
			if !strings.HasPrefix(out.String(), c.out) {
				t.Errorf("stdout %q, want it to start %q", out.String(), c.out)
			}
			if !strings.Contains(errOut.String(), c.errOut) {
				t.Errorf("stderr %q lacks %q", errOut.String(), c.errOut)
			}
			if c.wantErrorMsg == "" && err != nil || c.wantErrorMsg != "" && (err == nil || !strings.Contains(err.Error(), c.wantErrorMsg)) {
				t.Errorf("error %v, want %q", err, c.wantErrorMsg)
			}
		})
	}
}
