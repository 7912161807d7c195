package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// BenchmarkIngestHTTP posts documents through the whole server (auth,
// decoding or analysis, signature checks, group commit) from 8 concurrent
// clients, and reports documents and reports a second and the latency
// percentiles of an acknowledgement: analyze --json documents into 5 hot
// buckets or spread over 1000, and raw 50 KB console logs that the server
// analyzes.
func BenchmarkIngestHTTP(b *testing.B) {
	fs := fixtures(b)
	// spread: the same documents with their guilty function renamed to one
	// of 1000, so that the transactions do not queue on a few bucket rows.
	spread := make([][]byte, 1000)
	for i := range spread {
		var d triage.Diagnosis
		if err := json.Unmarshal(fs[i%len(fs)].doc, &d); err != nil {
			b.Fatal(err)
		}
		for _, r := range d.Reports {
			g := fmt.Sprint("spread_fn_", i)
			r.GuiltyFunction = &g
			r.Signature = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
		}
		spread[i], _ = json.Marshal(&d)
	}
	// log: a raw console log of 50 KB (a boot, then a crash), analyzed
	// by the server.
	var logDoc []byte
	for _, p := range []string{"examples/qemu-sysrq-crash/console.log", "examples/qemu-skb-over-panic/console.log"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot(), p))
		if err != nil {
			b.Fatal(err)
		}
		if len(logDoc) == 0 {
			// The first log's boot only, before its crash.
			raw = raw[:bytes.Index(raw, []byte("sysrq: Trigger a crash"))]
			raw = raw[:bytes.LastIndexByte(raw, '\n')+1]
		}
		logDoc = append(logDoc, raw...)
	}
	for _, db := range []struct {
		name string
		url  func() string
	}{
		{"sqlite", func() string { return "sqlite:" + filepath.Join(b.TempDir(), "fleet.db") }},
		{"postgres", func() string { return pgtest.Start(b) }},
	} {
		for _, kind := range []string{"json-5-buckets", "json-1000-buckets", "log-50KB"} {
			b.Run(db.name+"/"+kind, func(b *testing.B) {
				e := newEnv(b, db.url(), server.Options{})
				var (
					n, reports atomic.Int64
					mu         sync.Mutex
					lat        []time.Duration
				)
				b.SetParallelism(4)
				b.SetBytes(0)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
					for pb.Next() {
						i := n.Add(1)
						f := fs[int(i)%len(fs)]
						doc, ctype := f.doc, "application/json"
						switch kind {
						case "json-1000-buckets":
							doc = spread[int(i)%len(spread)]
						case "log-50KB":
							doc, ctype = logDoc, "text/plain"
						}
						req, _ := http.NewRequest("POST", e.url+"/api/reports", bytes.NewReader(doc))
						req.Header.Set("Authorization", "Bearer "+writeToken)
						req.Header.Set("Content-Type", ctype)
						req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", i))
						req.Header.Set("X-Ktriage-Host", fmt.Sprint("host", i%100))
						t0 := time.Now()
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						var ack store.Ack
						err = json.NewDecoder(resp.Body).Decode(&ack)
						resp.Body.Close()
						mine = append(mine, time.Since(t0))
						if resp.StatusCode != 201 || err != nil || len(ack.Reports) == 0 {
							b.Errorf("status %d, %d reports, %v", resp.StatusCode, len(ack.Reports), err)
							return
						}
						reports.Add(int64(len(ack.Reports)))
					}
				})
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "docs/s")
				b.ReportMetric(float64(reports.Load())/b.Elapsed().Seconds(), "reports/s")
				for _, p := range []float64{0.5, 0.99} {
					if len(lat) > 0 {
						b.ReportMetric(float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())/1000, fmt.Sprintf("p%.0f-ms", p*100))
					}
				}
			})
		}
	}
}
