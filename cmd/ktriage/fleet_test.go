package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
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
