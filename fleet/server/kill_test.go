package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/submit"
)

// TestHelperServe is the server process TestKill9 starts and kills; run
// alone it does nothing.
func TestHelperServe(t *testing.T) {
	dbURL, addr := os.Getenv("KTRIAGE_HELPER_DB"), os.Getenv("KTRIAGE_HELPER_ADDR")
	if dbURL == "" {
		t.Skip("the server process of TestKill9")
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := server.ParseTokens(strings.NewReader(tokensFile), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: the process is killed, its cleanups never run.
	h, err := server.New(st, server.Options{Tokens: tok, Rate: -1, TempDir: os.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	http.Serve(ln, h) // until killed
}

// TestKill9 kills the server with SIGKILL while clients submit, starts it
// again on the same database, and checks that every submission the
// clients were told is committed is there exactly once: acknowledged means
// durable, and a retry after the crash is not a second event.
func TestKill9(t *testing.T) {
	if os.Getenv("KTRIAGE_HELPER_DB") != "" {
		t.Skip("in the helper process")
	}
	fs := fixtures(t)
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "fleet.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			dbURL := db.url(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			var (
				mu   sync.Mutex
				proc *exec.Cmd
			)
			start := func() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
				cmd.Env = append(os.Environ(), "KTRIAGE_HELPER_DB="+dbURL, "KTRIAGE_HELPER_ADDR="+addr)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				proc = cmd
				mu.Unlock()
			}
			kill := func() {
				mu.Lock()
				defer mu.Unlock()
				if proc != nil {
					proc.Process.Kill() // SIGKILL
					proc.Wait()
					proc = nil
				}
			}
			t.Cleanup(kill)
			start()

			const clients, each = 6, 8
			var acked, replayed atomic.Int64
			errs := make(chan error, clients*each)
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cl := &submit.Client{Server: "http://" + addr, Token: writeToken, Attempts: 200,
						Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
					for i := 0; i < each; i++ {
						f := fs[(c*each+i)%len(fs)]
						ack, err := cl.Submit(context.Background(), submit.Document{Body: bytes.NewReader(f.doc), JSON: true, Host: fmt.Sprint("host", c)})
						if err != nil {
							errs <- err
							continue
						}
						acked.Add(1)
						if ack.Replayed {
							replayed.Add(1)
						}
					}
				}()
			}
			// Kill it twice mid-stream, each time once some were acknowledged.
			for round, at := range []int64{clients * each / 4, clients * each / 2} {
				deadline := time.Now().Add(60 * time.Second)
				for acked.Load() < at && time.Now().Before(deadline) {
					time.Sleep(2 * time.Millisecond)
				}
				kill()
				t.Logf("round %d: killed after %d acknowledgements", round, acked.Load())
				time.Sleep(50 * time.Millisecond)
				start()
			}
			wg.Wait()
			t.Logf("%d acknowledged, %d of them replays of a commit whose answer the kill lost", acked.Load(), replayed.Load())
			close(errs)
			for err := range errs {
				t.Errorf("a submission failed: %v", err)
			}
			kill()

			st, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			want := map[string]int64{}
			for c := 0; c < clients; c++ {
				for i := 0; i < each; i++ {
					for _, r := range fs[(c*each+i)%len(fs)].d.Reports {
						want[r.Signature]++
					}
				}
			}
			tot, err := st.Totals(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tot.Submissions != clients*each {
				t.Errorf("%d submissions stored, want %d: each exactly once", tot.Submissions, clients*each)
			}
			bs, err := st.Buckets(context.Background(), store.SortCount, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bs {
				if b.Count != want[b.Signature] {
					t.Errorf("bucket %q: count %d, want %d", b.Title, b.Count, want[b.Signature])
				}
			}
		})
	}
}
