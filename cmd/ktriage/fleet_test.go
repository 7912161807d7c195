package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/triage"
)

// TestSubmitEndToEnd runs ktriage submit against a fleet server on SQLite:
// a log and its analyze --json document, each submitted twice on purpose,
// are four events of each of its buckets.
func TestSubmitEndToEnd(t *testing.T) {
	const token = "e2e-token-0123456789abcdef"
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := server.ParseTokens(strings.NewReader(token+" web\n"), "tokens")
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

	log := "../../examples/ticket-skb-checksum.txt"
	d, err := triage.Analyze([]string{log}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) == 0 {
		t.Fatal("the example shows no crash")
	}
	js, err := runCLI(t, "analyze", "--json", log)
	if err != nil && !strings.HasPrefix(strings.TrimSpace(js), "{") {
		t.Fatalf("analyze --json: %v", err)
	}
	doc := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(doc, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{log, doc, log, doc} {
		out, err := runCLI(t, "submit", "--server", ts.URL, "--token", token, "--hostname", "web01", p)
		if err != nil {
			t.Fatalf("submit %s: %v\n%s", p, err, out)
		}
		if !strings.Contains(out, "accepted as submission") || !strings.Contains(out, d.Reports[0].Title) {
			t.Errorf("submit %s said:\n%s", p, out)
		}
		if len(d.Matches) > 0 && !strings.Contains(out, "known bug "+d.Matches[0].ID) {
			t.Errorf("submit %s does not name known bug %s:\n%s", p, d.Matches[0].ID, out)
		}
	}
	if out, err := runCLI(t, "submit", "--server", ts.URL, "--token", "wrong-token-0123456789", "--attempts", "1", log); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: err %v, out %s", err, out)
	}
	want := map[string]int64{}
	for _, r := range d.Reports {
		want[r.Signature] += 4
	}
	bs, err := st.Buckets(context.Background(), store.SortCount, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != len(want) {
		t.Errorf("%d buckets, want %d", len(bs), len(want))
	}
	for _, b := range bs {
		if b.Count != want[b.Signature] || b.Hosts != 1 {
			t.Errorf("bucket %q: count %d hosts %d, want %d and 1", b.Title, b.Count, b.Hosts, want[b.Signature])
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while serve writes its log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs ktriage serve on a random port with a tokens file, sends
// it a log with ktriage submit, reads the buckets back and stops it the way
// a signal does.
func TestServe(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T, dir string) string
	}{
		{"sqlite", func(t *testing.T, dir string) string { return "sqlite:" + filepath.Join(dir, "fleet.db") }},
		{"postgres", func(t *testing.T, _ string) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			dir := t.TempDir()
			testServe(t, dir, db.url(t, dir))
		})
	}
}

func testServe(t *testing.T, dir, dbURL string) {
	const token = "serve-token-0123456789abcdef"
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(token+" web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd()
	var logb syncBuffer
	root.SetOut(&logb)
	root.SetErr(&logb)
	root.SetArgs([]string{"serve", "--db", dbURL, "--listen", "127.0.0.1:0", "--tokens", tokens})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	addrRE := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, logb.String())
		default:
		}
		if m := addrRE.FindStringSubmatch(logb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve did not say where it listens:\n%s", logb.String())
	}
	out, err := runCLI(t, "submit", "--server", "http://"+addr, "--token", token, "--hostname", "h1", "../../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/buckets", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bs []struct {
		Count int64 `json:"count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&bs)
	resp.Body.Close()
	if err != nil || len(bs) != 1 || bs[0].Count != 1 {
		t.Errorf("buckets %+v (%v), want one of count 1", bs, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after its context ended: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
	// A tokens file that is missing or empty keeps it from starting.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, f := range []string{filepath.Join(dir, "missing"), empty} {
		if _, err := runCLI(t, "serve", "--db", "sqlite:"+filepath.Join(dir, "x.db"), "--tokens", f); err == nil {
			t.Errorf("serve with tokens file %s started", f)
		}
	}
}
