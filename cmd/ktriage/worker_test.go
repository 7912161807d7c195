package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/internal/testshared"
)

// TestServeWorker runs the fleet as it is deployed at scale: one `ktriage
// serve --workers 0` answering the API and two `ktriage serve --worker`
// processes, all on one PostgreSQL. `ktriage submit` sends a kdump
// directory (the real 6.1 warn-kdump fixture, as a tar) and a bare vmcore;
// the workers analyze them, and submit, waiting for each job, prints their
// buckets. Sent before any worker runs, a directory is acknowledged and
// left queued when submit's wait ends, and done once workers start.
func TestServeWorker(t *testing.T) {
	kdumpDir := testshared.Path(t, "fixtures/vmcore/warn-kdump")
	vmcore := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	bin := filepath.Join(t.TempDir(), "ktriage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbURL := pgtest.Start(t)
	const tok = "worker-token-0123456789abcdef"
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte(tok+" lab\n"), 0o600)
	addr := freeAddr(t, "tcp")
	run := func(args ...string) *bytes.Buffer {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%v:\n%s", args, out.String())
			}
		})
		return &out
	}
	run("serve", "--db", dbURL, "--listen", addr, "--tokens", tokens, "--workers", "0")
	for range 300 {
		if resp, err := http.Get("http://" + addr + "/api/buckets"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// No worker yet: submit waits, then says the job is still queued, and
	// exits 0 (the upload is stored: acknowledged).
	out, err := exec.Command(bin, "submit", "--server", "http://"+addr, "--token", tok, "--hostname", "web-7", "--wait-timeout", "2s", kdumpDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not done after 2s; it stays queued") {
		t.Errorf("submit with no worker running: %v\n%s", err, out)
	}
	w1 := run("serve", "--worker", "--db", dbURL, "--tmp", t.TempDir())
	w2 := run("serve", "--worker", "--db", dbURL, "--tmp", t.TempDir())

	for _, tc := range []struct{ path, title string }{
		{kdumpDir, "WARNING in warn_check_state"},
		{vmcore, "kernel BUG in validate_xmit_skb"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		out, err := exec.CommandContext(ctx, bin, "submit", "--server", "http://"+addr, "--token", tok, "--hostname", "web-7", tc.path).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "to be analyzed by job") || !strings.Contains(string(out), tc.title) {
			t.Errorf("submit --wait %s: %v\n%s", tc.path, err, out)
		}
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs, err := st.Buckets(context.Background(), store.SortCount, 0)
	if err != nil || len(bs) != 2 {
		t.Fatalf("buckets %+v %v, want the two crashes", bs, err)
	}
	// The kdump directory was sent twice (the first waited for in vain).
	for _, b := range bs {
		want := int64(1)
		if strings.Contains(b.Title, "warn_check_state") {
			want = 2
		}
		if b.Count != want || b.Hosts != 1 {
			t.Errorf("bucket %q: count %d, hosts %d; want %d and 1", b.Title, b.Count, b.Hosts, want)
		}
	}
	if !strings.Contains(w1.String()+w2.String(), "ktriage fleet worker running") {
		t.Errorf("the workers did not start:\n%s\n%s", w1, w2)
	}
}
