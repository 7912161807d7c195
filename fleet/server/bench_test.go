package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// BenchmarkIngestHTTP posts analyze --json documents through the whole
// server (auth, decoding, signature checks, one committed transaction per
// document), from 8 concurrent clients.
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
	for _, db := range []struct {
		name string
		url  func() string
	}{
		{"sqlite", func() string { return "sqlite:" + filepath.Join(b.TempDir(), "fleet.db") }},
		{"postgres", func() string { return pgtest.Start(b) }},
	} {
		for _, hot := range []bool{true, false} {
			name := db.name + "/5-buckets"
			if !hot {
				name = db.name + "/1000-buckets"
			}
			b.Run(name, func(b *testing.B) {
				e := newEnv(b, db.url(), server.Options{})
				var n, reports atomic.Int64
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						f := fs[int(i)%len(fs)]
						doc := f.doc
						if !hot {
							doc = spread[int(i)%len(spread)]
						}
						req, _ := http.NewRequest("POST", e.url+"/api/reports", bytes.NewReader(doc))
						req.Header.Set("Authorization", "Bearer "+writeToken)
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", i))
						req.Header.Set("X-Ktriage-Host", fmt.Sprint("host", i%100))
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != 201 {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
						reports.Add(int64(len(f.d.Reports)))
					}
				})
				b.ReportMetric(float64(reports.Load())/b.Elapsed().Seconds(), "reports/s")
			})
		}
	}
}
