package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	fleetapi "github.com/ktriage/ktriage/fleet/api"
	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/triage"
)

// chromiumPath is Debian's Chromium, which `make testdeps` installs.
const chromiumPath = "/usr/bin/chromium"

// domRow is a bucket row of the dashboard as the browser shows it.
type domRow struct {
	Signature string `json:"signature"`
	Title     string `json:"title"`
	Href      string `json:"href"`
	Count     string `json:"count"`
	Hosts     string `json:"hosts"`
}

// domBar is a bar of a plot: its tooltip ("day: count") and the height it
// is drawn with on the screen.
type domBar struct {
	Title  string  `json:"title"`
	Height float64 `json:"height"`
}

// domPlot is a plot's drawn size and its bars.
type domPlot struct {
	Width  float64  `json:"width"`
	Height float64  `json:"height"`
	Bars   []domBar `json:"bars"`
}

// plotJS reads the plot selected by the CSS selector sel: what the page
// draws, through the layout (getBoundingClientRect), not the markup.
func plotJS(sel string) string {
	return `(() => {
  const svg = document.querySelector(` + strconv.Quote(sel) + `);
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  return {width: box.width, height: box.height, bars: Array.from(svg.querySelectorAll('rect')).map(r => ({
    title: (r.querySelector('title') || {textContent: ''}).textContent,
    height: r.getBoundingClientRect().height}))};
})()`
}

// drawn is the bars of p drawn with a height, as day -> count from their
// tooltips.
func drawn(t *testing.T, p *domPlot) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, b := range p.Bars {
		if b.Height <= 0 {
			continue
		}
		day, n, ok := strings.Cut(b.Title, ": ")
		c, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil {
			t.Errorf("bar tooltip %q is not \"day: count\"", b.Title)
			continue
		}
		out[day] = c
	}
	return out
}

// dayCounts is the store's days as day -> count.
func dayCounts(ds []store.DayCount) map[string]int64 {
	out := map[string]int64{}
	for _, d := range ds {
		out[d.Day] = d.Count
	}
	return out
}

// TestBrowserDashboard drives a real headless Chromium over the dashboard:
// what a person sees (the rows, the plots, the bucket page) agrees with the
// JSON API and the store, and a full-page screenshot is kept.
func TestBrowserDashboard(t *testing.T) {
	start := time.Now()
	_, err := exec.LookPath(chromiumPath)
	testshared.Require(t, err == nil, "needs Debian's chromium at %s (make testdeps installs it): %v", chromiumPath, err)

	// A clock the test moves between submissions, so that the crashes fall
	// on chosen days; the documents' own wall clocks are cleared, so the
	// receipt is each crash's time.
	var clock atomic.Int64
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{
		Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() },
	})
	var docs [][]byte
	var reports [][]string // signatures of each document's reports
	for _, f := range fixtures(t) {
		if len(f.d.Reports) == 0 {
			continue
		}
		var d triage.Diagnosis
		if err := json.Unmarshal(f.doc, &d); err != nil {
			t.Fatal(err)
		}
		var sigs []string
		for _, r := range d.Reports {
			r.Wall = ""
			sigs = append(sigs, r.Signature)
		}
		doc, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		docs, reports = append(docs, doc), append(reports, sigs)
		if len(docs) == 3 {
			break
		}
	}
	if len(docs) < 3 {
		t.Fatalf("%d fixtures with a report, want 3", len(docs))
	}
	base := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	schedule := []struct {
		doc, day int
		host     string
	}{
		{0, 0, "web-1"}, {0, 3, "web-2"}, {0, 7, "db-1"}, {0, 7, "web-1"},
		{1, 3, "web-1"}, {1, 10, "web-1"},
		{2, 7, "db-2"},
	}
	wantCount := map[string]int64{}
	wantHosts := map[string]map[string]bool{}
	wantDays := map[string]int64{}
	for i, s := range schedule {
		day := base.AddDate(0, 0, s.day).Add(time.Duration(i) * time.Minute)
		clock.Store(day.UnixNano())
		if code, _ := e.post(docs[s.doc], true, fmt.Sprint("browser-", i), s.host); code != 201 {
			t.Fatalf("submission %d: %d, want 201", i, code)
		}
		for _, sig := range reports[s.doc] {
			wantCount[sig]++
			if wantHosts[sig] == nil {
				wantHosts[sig] = map[string]bool{}
			}
			wantHosts[sig][s.host] = true
			wantDays[day.Format(time.DateOnly)]++
		}
	}

	// The API's view, which the browser's must match.
	code, _, body := e.do("GET", "/api/buckets", readToken, nil, nil)
	if code != 200 {
		t.Fatalf("GET /api/buckets: %d %s", code, body)
	}
	var api []store.Bucket
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if len(api) != len(wantCount) {
		t.Fatalf("API lists %d buckets, want %d", len(api), len(wantCount))
	}
	var top store.Bucket // the bucket with the most crashes, opened below
	for _, b := range api {
		if b.Count != wantCount[b.Signature] || b.Hosts != int64(len(wantHosts[b.Signature])) {
			t.Errorf("API bucket %q: count %d hosts %d, want %d and %d", b.Title, b.Count, b.Hosts, wantCount[b.Signature], len(wantHosts[b.Signature]))
		}
		if b.Count > top.Count {
			top = b
		}
	}
	if top.Count < 2 || top.Hosts < 2 {
		t.Fatalf("the biggest bucket has %d crashes from %d hosts; the fixtures should give one several of each", top.Count, top.Hosts)
	}
	fleetDays, err := e.st.FleetDays(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := dayCounts(fleetDays); fmt.Sprint(got) != fmt.Sprint(wantDays) {
		t.Fatalf("store's fleet days %v, want the scheduled %v", got, wantDays)
	}

	// The browser: Debian's Chromium, headless, with the flags that keep it
	// off the closed network, a fresh profile, and the token on every request.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// Chromium's own output, shown when the test fails; the deferred
	// print runs after the browser is stopped.
	var chromeOut syncBuffer
	defer func() {
		if out := chromeOut.String(); t.Failed() && out != "" {
			t.Logf("chromium's output:\n%s", out)
		}
	}()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&chromeOut),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	launched := time.Now()
	err = chromedp.Do(bctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return fmt.Errorf("Network.enable: %w", err)
			}
			_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": "Bearer " + readToken}})
			if err != nil {
				return fmt.Errorf("Network.setExtraHTTPHeaders: %w", err)
			}
			return nil
		}),
	)
	if err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Logf("chromium started in %v", time.Since(launched).Round(time.Millisecond))

	// The dashboard.
	resp, err := chromedp.Run(bctx, chromedp.NavigateResponse(e.url+"/"))
	if err != nil {
		t.Fatalf("loading the dashboard: %v", err)
	}
	if resp.Status != 200 {
		t.Fatalf("the browser got %d for the dashboard: is the token sent?", resp.Status)
	}
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[[]domRow](`Array.from(document.querySelectorAll('#bucket-table tr[data-signature]')).map(tr => ({
  signature: tr.dataset.signature,
  title: tr.querySelector('td a').innerText,
  href: tr.querySelector('td a').getAttribute('href'),
  count: tr.querySelector('td.count').innerText,
  hosts: tr.querySelector('td.hosts').innerText}))`))
	if err != nil {
		t.Fatalf("reading the bucket rows: %v", err)
	}
	if len(rows) != len(api) {
		t.Errorf("the dashboard shows %d bucket rows, the API lists %d", len(rows), len(api))
	}
	bySig := map[string]store.Bucket{}
	for _, b := range api {
		bySig[b.Signature] = b
	}
	for _, r := range rows {
		b, ok := bySig[r.Signature]
		if !ok {
			t.Errorf("the dashboard shows bucket %s (%q), which the API does not list", r.Signature, r.Title)
			continue
		}
		delete(bySig, r.Signature)
		if r.Title != b.Title || r.Count != fmt.Sprint(b.Count) || r.Hosts != fmt.Sprint(b.Hosts) {
			t.Errorf("dashboard row %s: title %q count %q hosts %q; API: %q, %d, %d", r.Signature, r.Title, r.Count, r.Hosts, b.Title, b.Count, b.Hosts)
		}
		if r.Href != "/buckets/"+r.Signature {
			t.Errorf("dashboard row %s links to %q", r.Signature, r.Href)
		}
	}
	for sig, b := range bySig {
		t.Errorf("the dashboard lacks bucket %s (%q)", sig, b.Title)
	}

	// The fleet plot: a bar drawn for each day the store has crashes on,
	// and none for the others.
	fleet, err := chromedp.Run(bctx, chromedp.Evaluate[*domPlot](plotJS("body > svg.plot")))
	if err != nil {
		t.Fatalf("reading the fleet plot: %v", err)
	}
	if fleet == nil {
		t.Fatal("the dashboard has no fleet plot (body > svg.plot)")
	}
	if fleet.Width < 100 || fleet.Height < 50 {
		t.Errorf("the fleet plot is drawn %gx%g px, want at least 100x50", fleet.Width, fleet.Height)
	}
	bars := drawn(t, fleet)
	if len(bars) != len(fleetDays) {
		t.Errorf("the fleet plot draws %d bars, the store has crashes on %d days", len(bars), len(fleetDays))
	}
	if want := dayCounts(fleetDays); fmt.Sprint(bars) != fmt.Sprint(want) {
		t.Errorf("the fleet plot's bars %v, the store's days %v", bars, want)
	}

	dir := os.Getenv("KTRIAGE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot(t, bctx, filepath.Join(dir, "dashboard.png"))

	// The bucket with the most crashes, reached by clicking its title.
	sel := fmt.Sprintf(`tr[data-signature=%q] td a`, top.Signature)
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.CSS("#count")),
	)
	if err != nil {
		t.Fatalf("opening bucket %s from the dashboard: %v", top.Signature, err)
	}
	code, _, body = e.do("GET", "/api/buckets/"+top.Signature, readToken, nil, nil)
	var detail store.BucketDetail
	if code != 200 || json.Unmarshal(body, &detail) != nil {
		t.Fatalf("GET /api/buckets/%s: %d %s", top.Signature, code, body)
	}
	page, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]string](`({
  location: location.pathname,
  title: document.querySelector('h1').innerText,
  count: document.querySelector('#count').innerText,
  hosts: document.querySelector('#hosts').innerText,
  remedy: (document.querySelector('#remedy-command') || {innerText: ''}).innerText,
  hosts_list: Array.from(document.querySelectorAll('h2')).filter(h => h.innerText === 'Hosts')
    .flatMap(h => Array.from(h.nextElementSibling.querySelectorAll('tr')).slice(1))
    .map(tr => tr.cells[0].innerText + '=' + tr.cells[1].innerText).sort().join(' ')})`))
	if err != nil {
		t.Fatalf("reading the bucket page: %v", err)
	}
	var withRemedy struct {
		Remedy *fleetapi.Remedy `json:"remedy"`
	}
	json.Unmarshal(body, &withRemedy)
	if want := ""; withRemedy.Remedy != nil {
		if want = withRemedy.Remedy.Command; page["remedy"] != want {
			t.Errorf("bucket page's remedy command %q; API's %q", page["remedy"], want)
		}
	} else if page["remedy"] != "" {
		t.Errorf("bucket page shows remedy %q the API has none of", page["remedy"])
	}
	if page["location"] != "/buckets/"+top.Signature {
		t.Errorf("the click led to %q, want /buckets/%s", page["location"], top.Signature)
	}
	if page["title"] != detail.Title || page["count"] != fmt.Sprint(detail.Count) || page["hosts"] != fmt.Sprint(detail.Hosts) {
		t.Errorf("bucket page: title %q count %q hosts %q; API: %q, %d, %d", page["title"], page["count"], page["hosts"], detail.Title, detail.Count, detail.Hosts)
	}
	var hostList []string
	for _, h := range detail.HostList {
		hostList = append(hostList, fmt.Sprintf("%s=%d", h.Name, h.Count))
	}
	sort.Strings(hostList)
	if got, want := page["hosts_list"], strings.Join(hostList, " "); got != want || len(detail.HostList) != len(wantHosts[top.Signature]) {
		t.Errorf("bucket page's hosts %q; API's %q, want %d hosts", got, want, len(wantHosts[top.Signature]))
	}
	if page["count"] != fmt.Sprint(wantCount[top.Signature]) {
		t.Errorf("bucket page count %q, want the %d scheduled", page["count"], wantCount[top.Signature])
	}
	bp, err := chromedp.Run(bctx, chromedp.Evaluate[*domPlot](plotJS("svg.plot")))
	if err != nil {
		t.Fatalf("reading the bucket plot: %v", err)
	}
	if bp == nil {
		t.Fatal("the bucket page has no plot")
	}
	if got, want := drawn(t, bp), dayCounts(detail.Days); len(detail.Days) < 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the bucket plot's bars %v, the bucket's days %v (want several)", got, want)
	}
	shot(t, bctx, filepath.Join(dir, "bucket.png"))
	t.Logf("browser part took %v, the whole test %v", time.Since(launched).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// shot takes a full-page screenshot into path, and checks that it is a PNG
// with something drawn: several colours, the plots' bar colour among them.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s does not decode as PNG: %v", path, err)
	}
	bounds := img.Bounds()
	t.Logf("screenshot %s: %dx%d px, %d bytes", path, bounds.Dx(), bounds.Dy(), len(buf))
	colours, bar, ink := stats(img)
	if colours < 8 || ink < bounds.Dx()*bounds.Dy()/200 {
		t.Errorf("screenshot %s looks blank: %d colours, %d non-white pixels", path, colours, ink)
	}
	if bar == 0 {
		t.Errorf("screenshot %s shows no pixel of the plots' bar colour #3a6ea5", path)
	}
}

// stats counts an image's distinct colours, its pixels of the plots' bar
// colour (#3a6ea5, static/style.css) and its non-white pixels.
func stats(img image.Image) (colours, bar, ink int) {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			seen[c] = true
			if c == [3]uint32{0x3a, 0x6e, 0xa5} {
				bar++
			}
			if c != [3]uint32{0xff, 0xff, 0xff} {
				ink++
			}
		}
	}
	return len(seen), bar, ink
}

// syncBuffer is a buffer that Chromium's output goroutine and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
