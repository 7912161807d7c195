package submit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/submit"
)

// flaky answers the first fails requests with status (0: drops the
// connection), then acknowledges; it records every request's key and body.
type flaky struct {
	mu     sync.Mutex
	fails  int
	status int
	keys   []string
	bodies []string
	hosts  []string
	types  []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.bodies = append(f.bodies, string(b))
	f.hosts = append(f.hosts, r.Header.Get("X-Ktriage-Host"))
	f.types = append(f.types, r.Header.Get("Content-Type"))
	n := len(f.keys)
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"error":"unknown token"}`, http.StatusUnauthorized)
		return
	}
	if n <= f.fails {
		if f.status == 0 {
			hj := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(f.status)
		io.WriteString(w, `{"error":"try later"}`)
		return
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"submission":7,"replayed":false,"reports":[{"signature":"ab","title":"kernel BUG in f","known_bug":{"id":"x","title":"X","confidence":"exact","workaround":"w"}}]}`)
}

func TestSubmitRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fails    int
		status   int
		attempts int
		ok       bool
		tries    int
	}{
		{"first try", 0, 0, 5, true, 1},
		{"dropped connections", 2, 0, 5, true, 3},
		{"503 then ok", 3, 503, 5, true, 4},
		{"429 then ok", 1, 429, 5, true, 2},
		{"gives up", 10, 500, 3, false, 3},
		{"400 is final", 10, 400, 5, false, 1},
		{"403 is final", 10, 403, 5, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{fails: tc.fails, status: tc.status}
			ts := httptest.NewServer(f)
			defer ts.Close()
			var waits []time.Duration
			c := &submit.Client{Server: ts.URL, Token: "tok", Attempts: tc.attempts, Backoff: time.Millisecond,
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			ack, err := c.Submit(context.Background(), submit.Document{Body: strings.NewReader("log text"), Host: "h1"})
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want success %v", err, tc.ok)
			}
			if len(f.keys) != tc.tries {
				t.Errorf("%d requests, want %d", len(f.keys), tc.tries)
			}
			for i := range f.keys {
				if f.keys[i] == "" || f.keys[i] != f.keys[0] {
					t.Errorf("try %d key %q, first %q: a retry must keep the key", i, f.keys[i], f.keys[0])
				}
				if f.bodies[i] != "log text" || f.hosts[i] != "h1" || f.types[i] != "application/octet-stream" {
					t.Errorf("try %d sent body %q host %q type %q", i, f.bodies[i], f.hosts[i], f.types[i])
				}
			}
			if len(waits) != max(0, len(f.keys)-1) {
				t.Errorf("%d waits for %d tries", len(waits), len(f.keys))
			}
			if tc.status == 429 && len(waits) > 0 && waits[0] < time.Second {
				t.Errorf("waited %v, Retry-After said 1s", waits[0])
			}
			if tc.ok {
				if ack.Submission != 7 || ack.Status != 201 || ack.Attempts != tc.tries || len(ack.Reports) != 1 || ack.Reports[0].KnownBug.ID != "x" {
					t.Errorf("ack %+v", ack)
				}
			} else {
				var se *submit.Error
				if tc.status != 0 && (!errors.As(err, &se) || se.Status != tc.status) {
					t.Errorf("error %v does not carry status %d", err, tc.status)
				}
			}
		})
	}
}

// TestTwoSubmissionsTwoKeys: the same document sent twice on purpose is two
// submissions, each with its own key.
func TestTwoSubmissionsTwoKeys(t *testing.T) {
	f := &flaky{}
	ts := httptest.NewServer(f)
	defer ts.Close()
	path := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(path, []byte("\n {\"reports\": []}"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &submit.Client{Server: ts.URL, Token: "tok"}
	for i := 0; i < 2; i++ {
		if _, err := c.SubmitFile(context.Background(), path, "h"); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.keys) != 2 || f.keys[0] == f.keys[1] {
		t.Errorf("keys %q: want two different", f.keys)
	}
	if f.types[0] != "application/json" {
		t.Errorf("a JSON document sent as %q", f.types[0])
	}
}

func TestBadServer(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:8080", "http://"} {
		c := &submit.Client{Server: u, Token: "tok"}
		if _, err := c.Submit(context.Background(), submit.Document{Body: strings.NewReader("x"), Host: "h"}); err == nil {
			t.Errorf("server %q accepted", u)
		}
	}
}
