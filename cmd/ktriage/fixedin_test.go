package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
)

// TestProbablyFixed: a host that crashed on one kernel and then booted a
// newer one (submit --boot) without crashing again makes the bucket
// "probably fixed" in the newer kernel, on its API and its page; a boot on
// an older kernel does not.
func TestProbablyFixed(t *testing.T) {
	const token = "fixed-token-0123456789abcdef"
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := server.ParseTokens(strings.NewReader(token+" web\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h, err := server.New(st, server.Options{Tokens: tok, TempDir: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ts := httptest.NewServer(h)
	defer ts.Close()

	submit := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{"submit", "--server", ts.URL, "--token", token, "--hostname", "web-1", "--attempts", "1"}, args...)...)
		if err != nil {
			t.Fatalf("submit %v: %v\n%s", args, err, out)
		}
		return out
	}
	// The QEMU example crashed on 6.1.0-56-cloud-amd64.
	submit("../../examples/qemu-skb-over-panic/console.log")
	var sig string
	bs, err := st.Buckets(context.Background(), store.SortCount, 10)
	if err != nil || len(bs) == 0 {
		t.Fatalf("buckets %v %v", bs, err)
	}
	sig = bs[0].Signature
	fixed := func() store.Fixed {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/api/buckets/"+sig, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d store.BucketDetail
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d.ProbablyFixedIn
	}
	if f := fixed(); f.Kernel != "" {
		t.Fatalf("fixed before any boot: %+v", f)
	}
	advance(time.Hour)
	submit("--boot", "--kernel", "6.1.0-55-cloud-amd64")
	if f := fixed(); f.Kernel != "" {
		t.Errorf("an older kernel's boot: %+v", f)
	}
	advance(time.Hour)
	submit("--boot", "--kernel", "6.1.0-57-cloud-amd64")
	if f := fixed(); f.Kernel != "6.1.0-57-cloud-amd64" || f.Hosts != 1 {
		t.Errorf("after booting a newer kernel: %+v", f)
	}
	page, err := http.NewRequest("GET", ts.URL+"/buckets/"+sig, nil)
	if err != nil {
		t.Fatal(err)
	}
	page.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(page)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !strings.Contains(b.String(), "Probably fixed in") || !strings.Contains(b.String(), "6.1.0-57-cloud-amd64") {
		t.Error("the bucket page does not say where it was probably fixed")
	}
}
