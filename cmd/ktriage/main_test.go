package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/remedytest"
	"github.com/ktriage/ktriage/internal/testshared"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestAnalyzeText(t *testing.T) {
	out, err := runCLI(t, "analyze", "../../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kernel BUG in dev_hard_start_xmit", "tcp-trim-head-skb-data-len", "workaround:", "2.6.32-504.23.4.el6.x86_64"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour escapes written to a non-terminal")
	}
}

func TestAnalyzeJSON(t *testing.T) {
	out, err := runCLI(t, "analyze", "--json", "../../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Reports []struct {
			Title string `json:"title"`
		} `json:"reports"`
		Matches []any `json:"matches"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(d.Reports) != 1 || d.Reports[0].Title != "kernel BUG in crashnet_start_xmit" || d.Matches == nil {
		t.Errorf("got %+v", d)
	}
}

// TestExitCode runs the real binary: unreadable input exits non-zero with a
// message naming the file; a log without a crash exits 0.
func TestExitCode(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ktriage")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	missing := filepath.Join(t.TempDir(), "nope.log")
	out, err := exec.Command(bin, "analyze", missing).CombinedOutput()
	if err == nil || !strings.Contains(string(out), missing) {
		t.Errorf("missing input: err %v, output %q", err, out)
	}
	quiet := filepath.Join(t.TempDir(), "quiet.log")
	if err := os.WriteFile(quiet, []byte("[    0.000000] Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)\n[    1.000000] all good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "analyze", quiet).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No kernel crash found") {
		t.Errorf("quiet log: err %v, output %q", err, out)
	}
}

func TestKB(t *testing.T) {
	out, err := runCLI(t, "kb", "lint")
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("kb lint: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kb", "list")
	if err != nil || !strings.Contains(out, "tcp-trim-head-skb-data-len") {
		t.Fatalf("kb list: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kb", "show", "tcp-trim-head-skb-data-len")
	if err != nil || !strings.Contains(out, "(unverified)") || !strings.Contains(out, "tcp: fix tcp_trim_head()") {
		t.Fatalf("kb show: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "kb", "show", "no-such-bug"); err == nil {
		t.Error("kb show of an unknown id succeeded")
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "broken.yaml"), []byte("id: broken\ntitle: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "kb", "--kb-dir", bad, "lint")
	if err == nil || !strings.Contains(out+err.Error(), "broken.yaml") {
		t.Errorf("lint of a broken entry: err %v, output %q", err, out)
	}
}

// TestKBOverride: a --kb-dir entry with a built-in's id replaces it, and
// list, show, lint and analyze say so, naming the user's file.
func TestKBOverride(t *testing.T) {
	const id = "tcp-trim-head-skb-data-len"
	dir := t.TempDir()
	user := filepath.Join(dir, id+".yaml")
	entry := `id: ` + id + `
title: My corrected entry
summary: Local correction.
verified: false
match:
  types: [BUG]
  functions: ['my_driver_xmit']
root_cause: {text: Local.}
references:
  - {kind: url, url: "https://example.org/bug/1", verified: false}
`
	if err := os.WriteFile(user, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "kb", "--kb-dir", dir, "list")
	if err != nil || !strings.Contains(out, "My corrected entry ("+user+" overrides the built-in)") || !strings.Contains(out, "1 built-in overridden") {
		t.Errorf("kb list with an override: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kb", "--kb-dir", dir, "show", id)
	if err != nil || !strings.Contains(out, "file: "+user) || !strings.Contains(out, "overrides the built-in embedded:entries/"+id+".yaml") {
		t.Errorf("kb show of an override: %v\n%s", err, out)
	}
	// The user's entry lacks samples: lint says so of the user's file.
	out, err = runCLI(t, "kb", "--kb-dir", dir, "lint")
	if err == nil || !strings.Contains(out, user+" overrides the built-in") || !strings.Contains(out, user+":1: "+id+": tests.reports") {
		t.Errorf("kb lint of an override: %v\n%s", err, out)
	}
	out, err = runCLI(t, "analyze", "--kb-dir", dir, "../../examples/ticket-skb-checksum.txt")
	if err != nil || !strings.Contains(out, "ktriage: note: knowledge-base entry "+id+": "+user+" overrides the built-in") {
		t.Errorf("analyze with an override: %v\n%s", err, out)
	}
}

// TestVmcoreCommands: `dmesg` and `vmcore info --raw` reproduce
// makedumpfile's output and the dump's VMCOREINFO byte for byte.
func TestVmcoreCommands(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "*"))
	n := 0
	for _, dir := range dirs {
		dumps, _ := filepath.Glob(filepath.Join(dir, "vmcore.*"))
		if len(dumps) == 0 {
			continue
		}
		n++
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"dmesg", dumps[0]}, "dmesg.makedumpfile.txt"},
			{[]string{"vmcore", "info", "--raw", dumps[0]}, "vmcoreinfo.txt"},
		} {
			out, err := runCLI(t, c.args...)
			if err != nil {
				t.Fatalf("%v: %v", c.args, err)
			}
			want, err := os.ReadFile(filepath.Join(dir, c.want))
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("%v differs from %s (%d vs %d bytes)", c.args, c.want, len(out), len(want))
			}
		}
		out, err := runCLI(t, "vmcore", "info", dumps[0])
		if err != nil || !strings.Contains(out, "6.1.0-56-cloud-amd64") || !strings.Contains(out, "kdump-compressed") {
			t.Errorf("info: %v\n%s", err, out)
		}
	}
	if n == 0 {
		t.Fatal("no fixture dumps")
	}
	if _, err := runCLI(t, "dmesg", "main_test.go"); err == nil {
		t.Error("dmesg of a text file succeeded")
	}
}

// TestStdoutWriteError runs the real binary with standard output on
// /dev/full: every command that writes output must exit non-zero, naming
// the write, instead of losing it silently.
func TestStdoutWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	testshared.Require(t, err == nil, "needs /dev/full: %v", err)
	full.Close()
	bin := filepath.Join(t.TempDir(), "ktriage")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	dumps, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "*", "vmcore.*"))
	if len(dumps) == 0 {
		t.Fatal("no fixture dumps")
	}
	root := remedytest.Root(t, "rhel6")
	const entry = "tcp-trim-head-skb-data-len"
	for _, args := range [][]string{
		{"analyze", "../../examples/ticket-skb-checksum.txt"},
		{"analyze", "--json", "../../examples/ticket-skb-checksum.txt"},
		{"kb", "list"},
		{"kb", "show", entry},
		{"kb", "show", "--json", entry},
		{"kb", "lint"},
		{"dmesg", dumps[0]},
		{"vmcore", "info", dumps[0]},
		{"vmcore", "info", "--raw", dumps[0]},
		{"remedy", "plan", "--root", root, entry},
		{"remedy", "apply", "--root", root, entry},
		{"remedy", "verify", "--root", root},
		{"remedy", "revert", "--root", root},
		{"--help"},
	} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout = full
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		full.Close()
		if err == nil || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("%v > /dev/full: err %v, stderr %q", args, err, stderr.String())
		}
	}
}

// TestAnalyzeStdin: "analyze -" reads standard input.
func TestAnalyzeStdin(t *testing.T) {
	f, err := os.Open("../../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetIn(f)
	root.SetArgs([]string{"analyze", "-"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "kernel BUG in dev_hard_start_xmit") || !strings.Contains(out.String(), "standard input") {
		t.Errorf("analyze -: %v\n%s", err, out.String())
	}
}

// TestKBNew: kb new drafts an entry from a log that loads (lint asks for
// its TODOs), refuses to overwrite it, and reads standard input.
func TestKBNew(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "kb", "new", "--from", "../../examples/ticket-skb-checksum.txt", "--out", dir)
	path := filepath.Join(dir, "bug-dev-hard-start-xmit.yaml")
	if err != nil || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("kb new: %v\n%s", err, out)
	}
	first, _ := os.ReadFile(path)
	if _, err := runCLI(t, "kb", "new", "--from", "../../examples/ticket-skb-checksum.txt", "--out", dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second kb new: %v", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(first, again) {
		t.Errorf("the existing draft was changed")
	}
	out, err = runCLI(t, "kb", "--kb-dir", dir, "lint")
	if err == nil || strings.Contains(out, "does not parse") || strings.Contains(out, "does not match its own report") ||
		!strings.Contains(out, path+":") || !strings.Contains(out, `source "TODO" is not an http(s) URL`) {
		t.Errorf("lint of the draft: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kb", "--kb-dir", dir, "show", "bug-dev-hard-start-xmit")
	if err != nil || !strings.Contains(out, "kernel BUG in dev_hard_start_xmit") || !strings.Contains(out, "rpm") {
		t.Errorf("show of the draft: %v\n%s", err, out)
	}

	log, _ := os.ReadFile("../../examples/ticket-skb-checksum.txt")
	root := newRootCmd()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	root.SetIn(bytes.NewReader(log))
	root.SetArgs([]string{"kb", "new", "--from", "-", "--id", "from-stdin", "--out", dir})
	if err := root.Execute(); err != nil {
		t.Fatalf("kb new from stdin: %v\n%s", err, buf.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "from-stdin.yaml")); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"kb", "new", "--from", "../../go.mod", "--out", dir},
		{"kb", "new", "--from", "../../examples/ticket-skb-checksum.txt", "--report", "2", "--out", dir},
		{"kb", "new", "--id", "Bad Id", "--out", dir},
		{"kb", "new", "--out", filepath.Join(dir, "from-stdin.yaml")},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := runCLI(t, "kb", "new", "--id", "blank-draft", "--out", filepath.Join(dir, "new", "dir")); err != nil {
		t.Errorf("an empty draft in a new directory: %v", err)
	}
}

// TestKBIndex: kb index builds and stores the fix index of a git tree.
func TestKBIndex(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	gitCmd := func(args ...string) {
		t.Helper()
		c := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=T", "-c", "user.email=t@example.org"}, args...)...)
		c.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitCmd("init", "-q")
	gitCmd("commit", "-q", "--allow-empty", "-m", "x: fix\n\nBUG: KASAN: use-after-free in foo_bar+0x1/0x2\n")
	gitCmd("tag", "v6.1")
	file := filepath.Join(t.TempDir(), "ix", "fixindex.json")
	out, err := runCLI(t, "kb", "index", "--git", repo, "--out", file)
	if err != nil || !strings.Contains(out, "indexed 1 commits") || !strings.Contains(out, "1 in a release") {
		t.Fatalf("kb index: %v\n%s", err, out)
	}
	if _, err := os.Stat(file); err != nil {
		t.Error(err)
	}
	if _, err := runCLI(t, "kb", "index", "--git", t.TempDir(), "--out", file); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("kb index of a plain directory: %v", err)
	}
	if _, err := runCLI(t, "kb", "index"); err == nil {
		t.Error("kb index without --git: no error")
	}
}

// TestRemedySosreport: remedy plans on a sosreport folder (or the folder
// holding one) as on a host's root, and apply changes nothing in it.
func TestRemedySosreport(t *testing.T) {
	root := "../../hostfacts/testdata/hosts/rhel6"
	out, err := runCLI(t, "remedy", "plan", "--root", root, "tcp-trim-head-skb-data-len")
	if err != nil || !strings.Contains(out, `+ETHTOOL_OPTS="-G eth0 rx 4096; -K eth0 rx off tx off tso off gso off gro off lro off"`) {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(root + "/sosreport-hosta.01480002-20150923101502/etc/sysconfig/network-scripts/ifcfg-eth0")
	out, err = runCLI(t, "remedy", "apply", "--root", root, "tcp-trim-head-skb-data-len")
	if err == nil || !strings.Contains(err.Error()+out, "sosreport") {
		t.Errorf("apply on a sosreport: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(root + "/sosreport-hosta.01480002-20150923101502/etc/sysconfig/network-scripts/ifcfg-eth0")
	if !bytes.Equal(before, after) {
		t.Error("apply changed the sosreport")
	}
}
