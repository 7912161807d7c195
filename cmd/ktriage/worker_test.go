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
// processes, all on one PostgreSQL. `ktriage submit --wait` sends a kdump
// directory (the real 6.1 warn-kdump fixture, as a tar) and a bare vmcore;
// the workers analyze them, and submit prints their buckets.
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
	w1 := run("serve", "--worker", "--db", dbURL, "--tmp", t.TempDir())
	w2 := run("serve", "--worker", "--db", dbURL, "--tmp", t.TempDir())

	for _, tc := range []struct{ path, title string }{
		{kdumpDir, "WARNING in warn_check_state"},
		{vmcore, "kernel BUG in validate_xmit_skb"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		out, err := exec.CommandContext(ctx, bin, "submit", "--server", "http://"+addr, "--token", tok, "--hostname", "web-7", "--wait", tc.path).CombinedOutput()
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
	for _, b := range bs {
		if b.Count != 1 || b.Hosts != 1 {
			t.Errorf("bucket %q: count %d, hosts %d; want 1 and 1", b.Title, b.Count, b.Hosts)
		}
	}
	if !strings.Contains(w1.String()+w2.String(), "ktriage fleet worker running") {
		t.Errorf("the workers did not start:\n%s\n%s", w1, w2)
	}
}
