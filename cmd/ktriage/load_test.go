package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/submit"
	"github.com/ktriage/ktriage/triage"
)

// loadSeconds is how long TestLoad loads each database: 60 s, 10 with
// -short, or $KTRIAGE_LOAD_SECONDS.
func loadSeconds() int {
	if s, err := strconv.Atoi(os.Getenv("KTRIAGE_LOAD_SECONDS")); err == nil && s > 0 {
		return s
	}
	if testing.Short() {
		return 10
	}
	return 60
}

// TestLoad runs the real `ktriage serve` on each database and loads it from
// loopback for 60 s: HTTP clients submit analyze --json documents (each
// under its own key, retried under it until acknowledged) while simulated
// hosts send their crashes as extended netconsole datagrams. The server is
// killed with SIGKILL at a third and at two thirds of the run and started
// again. Then every acknowledged submission must be stored exactly once,
// no unacknowledged one more than once, every bucket's count must equal its
// events, HTTP must reach 1,000 acknowledgements a second, and every crash
// sent over netconsole clear of the kills must have been stored.
func TestLoad(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ktriage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	docs := loadDocs(t)
	crashes := loadCrashes(t)
	if dir := os.Getenv("KTRIAGE_ARTIFACTS"); dir != "" {
		os.Remove(filepath.Join(dir, "load.txt"))
	}
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "fleet.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) { runLoad(t, bin, db.url(t), docs, crashes) })
	}
}

// loadDocs are analyze --json documents of the examples, and of the same
// with their guilty function renamed to one of 200, for 200 more buckets.
func loadDocs(t *testing.T) [][]byte {
	var docs [][]byte
	for _, p := range []string{"qemu-skb-over-panic/console.log", "qemu-sysrq-crash/console.log", "qemu-xmit-nullptr/console.log", "ticket-skb-checksum.txt"} {
		d, err := triage.Analyze([]string{filepath.Join("../../examples", p)}, triage.Options{})
		if err != nil || len(d.Reports) == 0 {
			t.Fatalf("%s: %v (%d reports)", p, err, len(d.Reports))
		}
		raw, _ := json.Marshal(d)
		docs = append(docs, raw)
		for i := range 50 {
			var c triage.Diagnosis
			json.Unmarshal(raw, &c)
			for _, r := range c.Reports {
				g := fmt.Sprintf("load_fn_%d", i)
				r.GuiltyFunction = &g
				r.Signature = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
			}
			spread, _ := json.Marshal(&c)
			docs = append(docs, spread)
		}
	}
	return docs
}

// loadCrashes are the kernel lines of the examples' crashes, stamps cut,
// each what one host sends over netconsole as it dies.
func loadCrashes(t *testing.T) [][]string {
	stamp := regexp.MustCompile(`^\[\s*\d+\.\d+\] `)
	var out [][]string
	for _, p := range []string{"qemu-skb-over-panic", "qemu-sysrq-crash", "qemu-xmit-nullptr"} {
		b, err := os.ReadFile(filepath.Join("../../examples", p, "console.log"))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if loc := stamp.FindStringIndex(sc.Text()); loc != nil {
				lines = append(lines, sc.Text()[loc[1]:])
			}
		}
		// The last 90 lines: the crash and what leads to it.
		out = append(out, lines[max(0, len(lines)-90):])
	}
	return out
}

func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func runLoad(t *testing.T, bin, dbURL string, docs [][]byte, crashes [][]string) {
	const tok = "load-token-0123456789abcdef"
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte(tok+" lab\n"), 0o600)
	addr, ncAddr := freeAddr(t, "tcp"), freeAddr(t, "udp")
	var (
		mu   sync.Mutex
		proc *exec.Cmd
		logs bytes.Buffer
	)
	start := func() {
		cmd := exec.Command(bin, "serve", "--db", dbURL, "--listen", addr, "--tokens", tokens, "--rate", "-1", "--workers", "0",
			"--netconsole", ncAddr, "--netconsole-allow", "127.0.0.1/32")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		proc = cmd
		mu.Unlock()
		// Ready once it answers.
		for range 300 {
			if resp, err := http.Get("http://" + addr + "/api/buckets"); err == nil {
				resp.Body.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the server did not come up:\n%s", logs.String())
	}
	stop := func(sig syscall.Signal) {
		mu.Lock()
		defer mu.Unlock()
		if proc != nil {
			proc.Process.Signal(sig)
			proc.Wait()
			proc = nil
		}
	}
	t.Cleanup(func() { stop(syscall.SIGKILL) })
	start()

	secs := loadSeconds()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	began := time.Now()

	// HTTP: 16 clients, each submission under its own key, retried under
	// it (through kills) until acknowledged.
	type result struct {
		key     string
		reports int
		latency time.Duration
	}
	var (
		sent      atomic.Int64
		resMu     sync.Mutex
		acked     []result
		abandoned []string
		wg        sync.WaitGroup
	)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 20 * time.Second}
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &submit.Client{Server: "http://" + addr, Token: tok, HTTP: hc, Attempts: 1000,
				Backoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("load-%d-%d", c, i)
				doc := docs[(c*7919+i)%len(docs)]
				sent.Add(1)
				t0 := time.Now()
				// Not ctx: a submission begun is retried to its end.
				sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
				ack, err := cl.Submit(sctx, submit.Document{Body: bytes.NewReader(doc), JSON: true, Host: fmt.Sprint("load-host-", (c*31+i)%100), Key: key})
				scancel()
				resMu.Lock()
				if err != nil {
					abandoned = append(abandoned, key)
				} else {
					acked = append(acked, result{key, len(ack.Reports), time.Since(t0)})
				}
				resMu.Unlock()
			}
		}()
	}

	// netconsole: a host a crash, each its own source port, ten a second.
	type ncCrash struct {
		at    time.Time
		lines int
	}
	var (
		ncMu      sync.Mutex
		ncSent    []ncCrash
		datagrams atomic.Int64
		outageMu  sync.Mutex
		outages   [][2]time.Time // each kill's [kill, restarted]
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			conn, err := net.Dial("udp", ncAddr)
			if err != nil {
				continue
			}
			begun := time.Now()
			lines := crashes[n%len(crashes)]
			for seq, l := range lines {
				fmt.Fprintf(conn, "4,%d,%d,-;%s", seq, 3_000_000+seq*100, l)
				datagrams.Add(1)
			}
			conn.Close()
			ncMu.Lock()
			ncSent = append(ncSent, ncCrash{begun, len(lines)})
			ncMu.Unlock()
		}
	}()

	// Two kills.
	for _, frac := range []float64{1.0 / 3, 2.0 / 3} {
		time.Sleep(time.Until(began.Add(time.Duration(frac * float64(secs) * float64(time.Second)))))
		killed := time.Now()
		stop(syscall.SIGKILL)
		resMu.Lock()
		t.Logf("killed at %.1f s with %d acknowledged", time.Since(began).Seconds(), len(acked))
		resMu.Unlock()
		start()
		outageMu.Lock()
		outages = append(outages, [2]time.Time{killed, time.Now()})
		outageMu.Unlock()
	}
	<-ctx.Done()
	wg.Wait()
	elapsed := time.Since(began)
	// A graceful stop: the netconsole documents still open are closed and
	// stored.
	stop(syscall.SIGTERM)

	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]int{}
	rows, err := st.DB().Query("SELECT grp, idem_key, n_reports FROM submissions")
	if err != nil {
		t.Fatal(err)
	}
	ncStored, storedReports := 0, 0
	for rows.Next() {
		var grp, key string
		var n int
		if err := rows.Scan(&grp, &key, &n); err != nil {
			t.Fatal(err)
		}
		storedReports += n
		if grp == "netconsole" {
			ncStored++
			continue
		}
		stored[key]++
	}
	rows.Close()
	lost, dup := 0, 0
	for _, r := range acked {
		switch stored[r.key] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	var events, counted int64
	st.DB().QueryRow("SELECT COUNT(*) FROM events").Scan(&events)
	st.DB().QueryRow("SELECT COALESCE(SUM(count), 0) FROM buckets").Scan(&counted)

	lat := make([]time.Duration, len(acked))
	for i, r := range acked {
		lat[i] = r.latency
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	httpRate := float64(len(acked)) / elapsed.Seconds()
	udpRate := float64(datagrams.Load()) / elapsed.Seconds()
	// A crash begun well clear of every outage must be stored: one begun
	// within two seconds of a kill may be lost with the server's unfinished
	// document, or sent while it was down.
	clear := 0
	outageMu.Lock()
	for _, c := range ncSent {
		ok := true
		for _, o := range outages {
			if c.at.After(o[0].Add(-2*time.Second)) && c.at.Before(o[1].Add(500*time.Millisecond)) {
				ok = false
			}
		}
		if ok {
			clear++
		}
	}
	outageMu.Unlock()
	summary := fmt.Sprintf("%s, %.0f s, two SIGKILLs: HTTP %d sent, %d acknowledged, %d stored (%d lost, %d duplicated, %d given up), %.0f acknowledged/s, latency p50 %v p99 %v (kills included); netconsole %d crashes sent in %d datagrams (%.0f/s), %d of them clear of the kills, %d stored; %d events, bucket counts sum %d",
		st.Dialect(), elapsed.Seconds(), sent.Load(), len(acked), len(stored), lost, dup, len(abandoned), httpRate,
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), len(ncSent), datagrams.Load(), udpRate, clear, ncStored, events, counted)
	t.Log(summary)
	// make test prints the figures from here (go test shows a passing
	// test's log only with -v).
	if dir := os.Getenv("KTRIAGE_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if f, err := os.OpenFile(filepath.Join(dir, "load.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
				fmt.Fprintf(f, "TestLoad %s\n", summary)
				f.Close()
			}
		}
	}
	if lost != 0 || dup != 0 {
		t.Errorf("%d acknowledged submissions lost, %d stored twice", lost, dup)
	}
	if len(stored) > int(sent.Load()) {
		t.Errorf("%d submissions stored, only %d sent", len(stored), sent.Load())
	}
	if events != counted || int64(storedReports) != events {
		t.Errorf("%d events, bucket counts sum to %d, submissions hold %d reports", events, counted, storedReports)
	}
	if httpRate < 1000 {
		t.Errorf("%.0f HTTP requests acknowledged a second (and %.0f netconsole datagrams), want at least 1000", httpRate, udpRate)
	}
	if ncStored < clear || ncStored > len(ncSent) {
		t.Errorf("netconsole: %d crashes stored; %d sent, %d of them clear of the kills", ncStored, len(ncSent), clear)
	}
	if t.Failed() {
		t.Logf("server log:\n%.20000s", logs.String())
	}
}
