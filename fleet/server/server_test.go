package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/api"
	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

const (
	writeToken = "write-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
	tokensFile = "# test tokens\n" + writeToken + " web\n\n" + readToken + " readonly\n"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type fixture struct {
	name string
	raw  []byte
	doc  []byte // analyze --json of raw
	d    *triage.Diagnosis
}

var (
	fixOnce sync.Once
	fixs    []fixture
	fixErr  error
)

// fixtures are the example logs and the rhel6 host's messages, each with
// its analyze --json document.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	fixOnce.Do(func() {
		root := repoRoot()
		var paths []string
		for _, g := range []string{"examples/*.txt", "examples/*/console.log", "hostfacts/testdata/hosts/rhel6/sosreport-*/var/log/messages"} {
			m, _ := filepath.Glob(filepath.Join(root, g))
			paths = append(paths, m...)
		}
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				fixErr = err
				return
			}
			d, err := triage.Analyze([]string{p}, triage.Options{})
			if err != nil {
				fixErr = fmt.Errorf("analyzing %s: %w", p, err)
				return
			}
			doc, err := json.Marshal(d)
			if err != nil {
				fixErr = err
				return
			}
			rel, _ := filepath.Rel(root, p)
			fixs = append(fixs, fixture{rel, raw, doc, d})
		}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	if len(fixs) < 3 {
		t.Fatalf("%d fixtures, want the examples and the rhel6 messages", len(fixs))
	}
	return fixs
}

// env is a running server over a fresh database.
type env struct {
	t   testing.TB
	url string
	st  *store.Store
}

func databases(t *testing.T, opt server.Options, f func(t *testing.T, e *env)) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "fleet.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			f(t, newEnv(t, db.url(t), opt))
		})
	}
}

func newEnv(t testing.TB, dbURL string, opt server.Options) *env {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tok, err := server.ParseTokens(strings.NewReader(tokensFile), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	opt.Tokens = tok
	if opt.Rate == 0 {
		opt.Rate = -1
	}
	opt.TempDir = t.TempDir()
	h, err := server.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &env{t: t, url: ts.URL, st: st}
}

// do sends a request and returns the status, headers and body.
func (e *env) do(method, path, token string, hdr map[string]string, body []byte) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// post submits a document with a key; json selects the content type.
func (e *env) post(doc []byte, isJSON bool, key, host string) (int, store.Ack) {
	e.t.Helper()
	ct := "text/plain"
	if isJSON {
		ct = "application/json"
	}
	code, _, body := e.do("POST", "/api/reports", writeToken, map[string]string{
		"Content-Type": ct, "Idempotency-Key": key, "X-Ktriage-Host": host}, doc)
	var ack store.Ack
	if code == 200 || code == 201 {
		if err := json.Unmarshal(body, &ack); err != nil {
			e.t.Fatalf("answer %s: %v", body, err)
		}
	} else {
		e.t.Logf("POST answered %d: %s", code, body)
	}
	return code, ack
}

func TestAuth(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{})
	f := fixtures(t)[0]
	post := map[string]string{"Idempotency-Key": "k", "X-Ktriage-Host": "h", "Content-Type": "application/json"}
	for _, tc := range []struct {
		method, path, token string
		hdr                 map[string]string
		want                int
	}{
		{"GET", "/api/buckets", "", nil, 401},
		{"GET", "/", "", nil, 401},
		{"GET", "/metrics", "", nil, 401},
		{"GET", "/static/style.css", "", nil, 401},
		{"GET", "/api/buckets/" + strings.Repeat("0", 64), "", nil, 401},
		{"POST", "/api/reports", "", post, 401},
		{"GET", "/api/buckets", "wrong-token-0123456789abcdef", nil, 401},
		{"GET", "/api/buckets", writeToken + "x", nil, 401},
		{"GET", "/api/buckets", writeToken[:len(writeToken)-1], nil, 401},
		{"POST", "/api/reports", "wrong-token-0123456789abcdef", post, 401},
		{"POST", "/api/reports", readToken, post, 403},
		{"GET", "/api/buckets", readToken, nil, 200},
		{"GET", "/", readToken, nil, 200},
		{"GET", "/metrics", readToken, nil, 200},
		{"GET", "/static/style.css", readToken, nil, 200},
		{"GET", "/api/buckets", writeToken, nil, 200},
		{"GET", "/api/buckets/" + strings.Repeat("0", 64), readToken, nil, 404},
		{"GET", "/api/buckets/nothex", readToken, nil, 404},
		{"GET", "/api/buckets?sort=bogus", readToken, nil, 400},
		{"POST", "/api/reports", writeToken, map[string]string{"X-Ktriage-Host": "h", "Content-Type": "application/json"}, 400},
		{"POST", "/api/reports", writeToken, map[string]string{"Idempotency-Key": "k2", "Content-Type": "application/json"}, 400},
		{"POST", "/api/reports", writeToken, post, 201},
	} {
		code, hdr, body := e.do(tc.method, tc.path, tc.token, tc.hdr, f.doc)
		if code != tc.want {
			t.Errorf("%s %s token %q: %d, want %d (%s)", tc.method, tc.path, tc.token, code, tc.want, body)
		}
		if code == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", tc.method, tc.path)
		}
	}
	// The accepted key again: the same document is a replay, another one
	// a client's mistake, refused.
	if code, _, body := e.do("POST", "/api/reports", writeToken, post, f.doc); code != 200 {
		t.Errorf("retry of key k: %d %s, want 200", code, body)
	}
	if code, _, body := e.do("POST", "/api/reports", writeToken, post, fixtures(t)[1].doc); code != 422 {
		t.Errorf("key k reused for another document: %d %s, want 422", code, body)
	}
	// The refused requests counted nothing.
	tot, err := e.st.Totals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tot.Submissions != 1 {
		t.Errorf("%d submissions stored, want the one accepted", tot.Submissions)
	}
}

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fail bool
	}{
		{tokensFile, false},
		{"", true},
		{"# only a comment\n", true},
		{"short web\n", true},
		{writeToken + "\n", true},
		{writeToken + " web extra\n", true},
		{writeToken + " web\n" + writeToken + " other\n", true},
	} {
		_, err := server.ParseTokens(strings.NewReader(tc.in), "tokens")
		if (err != nil) != tc.fail {
			t.Errorf("ParseTokens(%q): err %v, want failure %v", tc.in, err, tc.fail)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{MaxBody: 4096})
	big := bytes.Repeat([]byte("x"), 8192)
	for _, isJSON := range []bool{false, true} {
		body := big
		if isJSON {
			body = []byte(`{"reports":[],"x":"` + string(big) + `"}`)
		}
		code, _ := e.post(body, isJSON, fmt.Sprint("big", isJSON), "h")
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("json %v: %d for %d bytes over a 4096-byte limit, want 413", isJSON, code, len(body))
		}
	}
	if code, _ := e.post([]byte("no crash here\n"), false, "small", "h"); code != 201 {
		t.Errorf("small log: %d, want 201", code)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{Rate: 1, Burst: 3, Now: func() time.Time { return now }})
	for i := 0; i < 3; i++ {
		if code, _, _ := e.do("GET", "/api/buckets", readToken, nil, nil); code != 200 {
			t.Fatalf("request %d within the burst: %d", i, code)
		}
	}
	code, hdr, _ := e.do("GET", "/api/buckets", readToken, nil, nil)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("past the burst: %d, Retry-After %q; want 429 with Retry-After", code, hdr.Get("Retry-After"))
	}
	// Another token has its own bucket.
	if code, _, _ := e.do("GET", "/api/buckets", writeToken, nil, nil); code != 200 {
		t.Errorf("other token: %d, want 200", code)
	}
	now = now.Add(2 * time.Second)
	if code, _, _ := e.do("GET", "/api/buckets", readToken, nil, nil); code != 200 {
		t.Errorf("after the refill: %d, want 200", code)
	}
}

func TestRejectsForgedSignature(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{})
	var d triage.Diagnosis
	f := fixtures(t)[0]
	if err := json.Unmarshal(f.doc, &d); err != nil {
		t.Fatal(err)
	}
	d.Reports[0].Signature = strings.Repeat("ab", 32)
	doc, _ := json.Marshal(&d)
	for _, tc := range []struct {
		name string
		doc  []byte
		want int
	}{
		{"forged signature", doc, 422},
		{"not json", []byte("{not json"), 400},
		{"match names a missing report", []byte(`{"reports":[],"matches":[{"id":"x","reports":[3]}]}`), 422},
		{"null report", []byte(`{"reports":[null]}`), 422},
	} {
		if code, _ := e.post(tc.doc, true, tc.name, "h"); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
}

// bucketJSON is the fields of /api/buckets items the issue requires.
type bucketJSON struct {
	Title     *string `json:"title"`
	Signature *string `json:"signature"`
	Count     *int64  `json:"count"`
	Hosts     *int64  `json:"hosts"`
	KBID      *string `json:"kb_id"`
}

func TestIngestAndRead(t *testing.T) {
	fs := fixtures(t)
	databases(t, server.Options{}, func(t *testing.T, e *env) {
		want := map[string]int64{}
		kbOf := map[string]string{}
		for i, f := range fs {
			for j, r := range f.d.Reports {
				want[r.Signature] += 2
				for _, m := range f.d.Matches {
					for _, ri := range m.Reports {
						if ri == j {
							kbOf[r.Signature] = m.ID
						}
					}
				}
			}
			// The raw log, analyzed by the server, and its JSON document:
			// two deliberate submissions, two events each.
			for _, isJSON := range []bool{false, true} {
				doc := f.raw
				if isJSON {
					doc = f.doc
				}
				key := fmt.Sprintf("%d-%v", i, isJSON)
				code, ack := e.post(doc, isJSON, key, fmt.Sprint("host", i%2))
				if code != 201 || ack.Replayed {
					t.Fatalf("%s (json %v): %d replayed %v, want 201", f.name, isJSON, code, ack.Replayed)
				}
				if len(ack.Reports) != len(f.d.Reports) {
					t.Fatalf("%s (json %v): %d reports acknowledged, want %d", f.name, isJSON, len(ack.Reports), len(f.d.Reports))
				}
				for j, ar := range ack.Reports {
					if ar.Signature != f.d.Reports[j].Signature {
						t.Errorf("%s (json %v): report %d bucket %s, want %s", f.name, isJSON, j, ar.Signature, f.d.Reports[j].Signature)
					}
					if id, ok := kbOf[ar.Signature]; ok != (ar.KnownBug != nil) || (ok && ar.KnownBug.ID != id) {
						t.Errorf("%s: report %d known bug %+v, want %q", f.name, j, ar.KnownBug, id)
					}
				}
				// A retry of the same key: the same acknowledgement, 200.
				code2, ack2 := e.post(doc, isJSON, key, fmt.Sprint("host", i%2))
				if code2 != 200 || !ack2.Replayed || ack2.Submission != ack.Submission {
					t.Errorf("%s retry: %d replayed %v submission %d, want 200 replayed %d", f.name, code2, ack2.Replayed, ack2.Submission, ack.Submission)
				}
			}
		}

		for _, sort := range []string{"", "count", "hosts", "last_seen"} {
			code, _, body := e.do("GET", "/api/buckets?sort="+sort, readToken, nil, nil)
			if code != 200 {
				t.Fatalf("GET /api/buckets?sort=%s: %d %s", sort, code, body)
			}
			var bs []bucketJSON
			if err := json.Unmarshal(body, &bs); err != nil {
				t.Fatal(err)
			}
			if len(bs) != len(want) {
				t.Errorf("sort %q: %d buckets, want %d", sort, len(bs), len(want))
			}
			for i, b := range bs {
				if b.Title == nil || b.Signature == nil || b.Count == nil || b.Hosts == nil {
					t.Fatalf("bucket item lacks title, signature, count or hosts: %+v", b)
				}
				if *b.Count != want[*b.Signature] {
					t.Errorf("bucket %q: count %d, want %d", *b.Title, *b.Count, want[*b.Signature])
				}
				if id, ok := kbOf[*b.Signature]; ok && (b.KBID == nil || *b.KBID != id) {
					t.Errorf("bucket %q: kb_id %v, want %s", *b.Title, b.KBID, id)
				}
				if i > 0 && sort == "count" && *bs[i-1].Count < *b.Count {
					t.Errorf("sort=count out of order")
				}
				if i > 0 && sort == "hosts" && *bs[i-1].Hosts < *b.Hosts {
					t.Errorf("sort=hosts out of order")
				}
			}
		}

		code, _, page := e.do("GET", "/", readToken, nil, nil)
		if code != 200 {
			t.Fatalf("GET /: %d", code)
		}
		var events int64
		for sig, n := range want {
			events += n
			row := regexp.MustCompile(`data-signature="` + sig + `">\s*<td><a [^>]*>[^<]*</a></td>\s*<td class="n count">(\d+)</td>`).FindSubmatch(page)
			if row == nil {
				t.Errorf("dashboard has no row for bucket %s", sig)
				continue
			}
			if got, _ := strconv.ParseInt(string(row[1]), 10, 64); got != n {
				t.Errorf("dashboard shows count %d for %s, want %d", got, sig, n)
			}
			code, _, bp := e.do("GET", "/buckets/"+sig, readToken, nil, nil)
			if code != 200 {
				t.Fatalf("GET /buckets/%s: %d", sig, code)
			}
			for _, s := range []string{fmt.Sprintf(`<td class="n" id="count">%d</td>`, n), `<pre id="diagnosis">`, `<pre id="sample">`, "<svg"} {
				if !bytes.Contains(bp, []byte(s)) {
					t.Errorf("bucket page %s lacks %q", sig, s)
				}
			}
		}
		if !bytes.Contains(page, []byte(fmt.Sprintf(`<span class="n" id="events">%d</span>`, events))) {
			t.Errorf("dashboard lacks the fleet's %d crashes", events)
		}
		if bytes.Count(page, []byte("<svg")) != len(want)+1 {
			t.Errorf("dashboard has %d plots, want one per bucket and the fleet's", bytes.Count(page, []byte("<svg")))
		}

		for sig := range want {
			code, _, body := e.do("GET", "/api/buckets/"+sig, readToken, nil, nil)
			var b store.BucketDetail
			if code != 200 || json.Unmarshal(body, &b) != nil || b.Count != want[sig] || len(b.Samples) == 0 {
				t.Errorf("GET /api/buckets/%s: %d, count %d samples %d", sig, code, b.Count, len(b.Samples))
			}
		}

		_, _, metrics := e.do("GET", "/metrics", readToken, nil, nil)
		for _, m := range []string{
			fmt.Sprintf(`ktriage_fleet_ingests_total{kind="json",result="created"} %d`, len(fs)),
			fmt.Sprintf(`ktriage_fleet_ingests_total{kind="log",result="replayed"} %d`, len(fs)),
			fmt.Sprintf(`ktriage_fleet_ingested_reports_total %d`, events),
			`ktriage_fleet_http_request_duration_seconds_count{route="POST /api/reports"}`,
		} {
			if !bytes.Contains(metrics, []byte(m)) {
				t.Errorf("/metrics lacks %q", m)
			}
		}
	})
}

// TestConcurrentIngest posts from many clients at once, each document
// twice under its key (a retry racing its original): the committer's
// batches count each once.
func TestConcurrentIngest(t *testing.T) {
	fs := fixtures(t)
	databases(t, server.Options{}, func(t *testing.T, e *env) {
		const clients, each = 8, 6
		var wg sync.WaitGroup
		codes := make([][]int, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					f := fs[(c*each+i)%len(fs)]
					key := fmt.Sprintf("c%d-%d", c, i)
					for try := 0; try < 2; try++ {
						code, _ := e.post(f.doc, true, key, fmt.Sprint("host", c))
						codes[c] = append(codes[c], code)
					}
				}
			}()
		}
		wg.Wait()
		want := map[string]int64{}
		for c := 0; c < clients; c++ {
			for i := 0; i < each; i++ {
				for _, r := range fs[(c*each+i)%len(fs)].d.Reports {
					want[r.Signature]++
				}
			}
			for i := 0; i < len(codes[c]); i += 2 {
				if codes[c][i] != 201 || codes[c][i+1] != 200 {
					t.Errorf("client %d doc %d: %d then %d, want 201 then 200", c, i/2, codes[c][i], codes[c][i+1])
				}
			}
		}
		bs, err := e.st.Buckets(context.Background(), store.SortCount, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.Count != want[b.Signature] {
				t.Errorf("bucket %q: count %d, want %d", b.Title, b.Count, want[b.Signature])
			}
		}
		if len(bs) != len(want) {
			t.Errorf("%d buckets, want %d", len(bs), len(want))
		}
	})
}

// TestBucketRemedy: a bucket whose known bug has an offload workaround
// carries its remedy, on the API and on its page: the runtime command and
// the persistent change for each network stack, as remedy plans it. A
// bucket without one carries none.
func TestBucketRemedy(t *testing.T) {
	var ticket, other *fixture
	fs := fixtures(t)
	for i := range fs {
		switch {
		case strings.HasSuffix(fs[i].name, "ticket-skb-checksum.txt"):
			ticket = &fs[i]
		case strings.Contains(fs[i].name, "qemu-sysrq-crash"):
			other = &fs[i]
		}
	}
	if ticket == nil || other == nil {
		t.Fatal("fixtures missing")
	}
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{})
	for i, f := range []*fixture{ticket, other} {
		if code, ack := e.post(f.doc, true, fmt.Sprint("remedy-", i), "web-1"); code != 201 || len(ack.Reports) == 0 {
			t.Fatalf("%s: %d %+v", f.name, code, ack)
		}
	}
	get := func(sig string) (*api.Remedy, string) {
		code, _, body := e.do("GET", "/api/buckets/"+sig, readToken, nil, nil)
		if code != 200 {
			t.Fatalf("bucket %s: %d %s", sig, code, body)
		}
		var b struct {
			Remedy *api.Remedy `json:"remedy"`
		}
		json.Unmarshal(body, &b)
		_, _, page := e.do("GET", "/buckets/"+sig, readToken, nil, nil)
		return b.Remedy, string(page)
	}
	rem, page := get(ticket.d.Reports[0].Signature)
	if rem == nil || rem.EntryID != "tcp-trim-head-skb-data-len" || len(rem.Stacks) != 4 ||
		rem.Command != "ethtool -K eth0 rx off tx off tso off gso off gro off lro off" {
		t.Fatalf("remedy %+v", rem)
	}
	if !strings.Contains(rem.Stacks[0].Diff, `+ETHTOOL_OPTS="-K eth0 rx off tx off tso off gso off gro off lro off"`) {
		t.Errorf("ifcfg diff:\n%s", rem.Stacks[0].Diff)
	}
	for _, want := range []string{`id="remedy"`, "ethtool -K eth0 rx off", "ktriage remedy apply tcp-trim-head-skb-data-len", "<summary>NetworkManager</summary>", "feature-lro=false"} {
		if !strings.Contains(page, want) {
			t.Errorf("bucket page lacks %q", want)
		}
	}
	if rem, page := get(other.d.Reports[0].Signature); rem != nil || strings.Contains(page, `id="remedy"`) {
		t.Errorf("a bucket without an offload workaround shows a remedy: %+v", rem)
	}
}

// TestHeaderBytes: an Idempotency-Key or X-Ktriage-Host with bytes that
// are not UTF-8, or control characters, is a 400. PostgreSQL refused the
// row, and the client saw a 500 it would retry for ever.
func TestHeaderBytes(t *testing.T) {
	e := newEnv(t, pgtest.Start(t), server.Options{})
	for _, h := range []struct{ key, host string }{{"k\xff", "h"}, {"k", "h\xfe\xff"}, {"k", "h\tx"}} {
		if code, _ := e.post([]byte("no crash here\n"), false, h.key, h.host); code != http.StatusBadRequest {
			t.Errorf("key %q host %q: %d, want 400", h.key, h.host, code)
		}
	}
	if code, _ := e.post([]byte("no crash here\n"), false, "clé-1", "hôte-1"); code != 201 {
		t.Errorf("a UTF-8 key and host: %d, want 201", code)
	}
}

// TestRelatedOnPage: a bucket's page links the buckets that share its
// title under another signature, and its JSON lists them.
func TestRelatedOnPage(t *testing.T) {
	f := fixtures(t)[0]
	var d triage.Diagnosis
	json.Unmarshal(f.doc, &d)
	for _, r := range d.Reports {
		g := "another_caller"
		r.GuiltyFunction = &g
		r.Signature = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
	}
	other, _ := json.Marshal(&d)
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{})
	for i, doc := range [][]byte{f.doc, other} {
		if code, _ := e.post(doc, true, fmt.Sprint("related-", i), "web-1"); code != 201 {
			t.Fatalf("post %d: %d", i, code)
		}
	}
	sig, otherSig := f.d.Reports[0].Signature, d.Reports[0].Signature
	code, _, body := e.do("GET", "/api/buckets/"+sig, readToken, nil, nil)
	var b store.BucketDetail
	if code != 200 || json.Unmarshal(body, &b) != nil || len(b.Related) != 1 || b.Related[0].Signature != otherSig {
		t.Fatalf("related in the API: %d %+v", code, b.Related)
	}
	_, _, page := e.do("GET", "/buckets/"+sig, readToken, nil, nil)
	if !strings.Contains(string(page), `id="related"`) || !strings.Contains(string(page), `href="/buckets/`+otherSig+`"`) {
		t.Errorf("the bucket page does not link its related bucket")
	}
}
