package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
)

// TestKdumpHook runs tools/kdump's scripts as kdump and the next boot would:
// the post hook marks a new dump (not one already sent); the boot-time
// sender keeps it marked when the server is down, sends it under one key
// when it is up, counts it once when its answer was lost and it is sent
// again, and never deletes a dump.
func TestKdumpHook(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip(err)
	}
	bin := filepath.Join(t.TempDir(), "ktriage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	crash := t.TempDir()
	dumpA := filepath.Join(crash, "127.0.0.1-2026-12-05-01:02:03")
	dumpB := filepath.Join(crash, "127.0.0.1-2026-11-01-00:00:00")
	for _, d := range []string{dumpA, dumpB} {
		os.MkdirAll(d, 0o755)
		data, err := os.ReadFile("../../examples/qemu-skb-over-panic/console.log")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "vmcore-dmesg.txt"), data, 0o644)
		os.WriteFile(filepath.Join(d, "vmcore"), []byte("dump"), 0o600)
	}
	os.WriteFile(filepath.Join(dumpB, ".ktriage-sent"), []byte("sent before\n"), 0o644)

	run := func(script string, env ...string) (string, error) {
		cmd := exec.Command("sh", filepath.Join("..", "..", "tools", "kdump", script))
		cmd.Env = append(os.Environ(), append([]string{"KTRIAGE_CRASH_DIR=" + crash, "KTRIAGE_BIN=" + bin,
			"KTRIAGE_TOKEN=hook-token-0123456789abcdef", "KTRIAGE_TRIES=2", "KTRIAGE_BACKOFF=0", "KTRIAGE_ATTEMPTS=1"}, env...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	if out, err := run("ktriage-kdump-post"); err != nil {
		t.Fatalf("post hook: %v\n%s", err, out)
	}
	if !exists(filepath.Join(dumpA, ".ktriage-pending")) || exists(filepath.Join(dumpB, ".ktriage-pending")) {
		t.Fatal("the post hook marked the wrong dumps")
	}

	// The server is down: the dump stays marked, its key kept.
	if out, err := run("ktriage-submit-pending", "KTRIAGE_SERVER=http://127.0.0.1:1"); err == nil {
		t.Fatalf("sent to a closed port:\n%s", out)
	}
	key, _ := os.ReadFile(filepath.Join(dumpA, ".ktriage-key"))
	if !exists(filepath.Join(dumpA, ".ktriage-pending")) || len(strings.TrimSpace(string(key))) != 32 {
		t.Fatalf("after a failed send: pending %v, key %q", exists(filepath.Join(dumpA, ".ktriage-pending")), key)
	}

	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := server.ParseTokens(strings.NewReader("hook-token-0123456789abcdef lab\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(st, server.Options{Tokens: tok, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ts := httptest.NewServer(h)
	defer ts.Close()

	count := func() int64 {
		bs, err := st.Buckets(context.Background(), store.SortCount, 10)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, b := range bs {
			n += b.Count
		}
		return n
	}
	if out, err := run("ktriage-submit-pending", "KTRIAGE_SERVER="+ts.URL, "KTRIAGE_KERNEL=99.1.0-1-amd64"); err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	if exists(filepath.Join(dumpA, ".ktriage-pending")) || !exists(filepath.Join(dumpA, ".ktriage-sent")) || count() != 1 {
		t.Fatalf("after the send: pending %v, sent %v, events %d", exists(filepath.Join(dumpA, ".ktriage-pending")), exists(filepath.Join(dumpA, ".ktriage-sent")), count())
	}
	// The same run recorded the boot: the host now runs a newer kernel
	// than the one it crashed on, so the bucket is probably fixed in it.
	bs, err := st.Buckets(context.Background(), store.SortCount, 10)
	if err != nil || len(bs) != 1 {
		t.Fatalf("buckets: %v %v", bs, err)
	}
	if f, err := st.ProbablyFixed(context.Background(), bs[0].Signature); err != nil || f.Kernel != "99.1.0-1-amd64" || f.Hosts != 1 {
		t.Fatalf("after the boot record: probably fixed %+v, %v", f, err)
	}
	// The answer was lost (marked again, as before it): sent again under
	// its key, it is one event still.
	os.Remove(filepath.Join(dumpA, ".ktriage-sent"))
	os.WriteFile(filepath.Join(dumpA, ".ktriage-pending"), nil, 0o644)
	if out, err := run("ktriage-submit-pending", "KTRIAGE_SERVER="+ts.URL); err != nil || !strings.Contains(out, "already accepted") || count() != 1 {
		t.Fatalf("resend: %v, events %d\n%s", err, count(), out)
	}
	// Nothing pending: nothing sent.
	if out, err := run("ktriage-submit-pending", "KTRIAGE_SERVER="+ts.URL); err != nil || strings.TrimSpace(out) != "" || count() != 1 {
		t.Fatalf("a run with nothing pending: %v, events %d\n%s", err, count(), out)
	}
	for _, d := range []string{dumpA, dumpB} {
		if !exists(filepath.Join(d, "vmcore")) || !exists(filepath.Join(d, "vmcore-dmesg.txt")) {
			t.Errorf("%s: a dump file is gone", d)
		}
	}
}
