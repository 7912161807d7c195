package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/netconsole"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// netconsoleIngest listens for netconsole on addr and records every report
// it assembles as a submission of group, the sending host named by its
// address: one report, one event (the receiver assembles each crash once).
// Only senders in allow are heard.
func netconsoleIngest(ctx context.Context, addr string, allow []netip.Prefix, group string, st *store.Store, k *kb.KB, log *slog.Logger) (*netconsole.Receiver, error) {
	return netconsole.Listen(ctx, addr, netconsole.Options{
		Allow: allow,
		OnReport: func(src netip.AddrPort, doc netconsole.Document, r *oops.Report) {
			d, err := triage.FromReports([]*oops.Report{r}, k)
			if err != nil {
				log.Error("netconsole report", "src", src.String(), "err", err)
				return
			}
			// The stream the report was read from, and what of it was
			// lost: a gap is recorded with the crash, not hidden.
			in := triage.Input{Path: "netconsole " + src.String(), Kind: triage.KindLog}
			if doc.Missing > 0 {
				in.Note = fmt.Sprintf("extended netconsole sequence: %d record(s) lost in %d gap(s) before or within this report's lines; it may lack some", doc.Missing, doc.Gaps)
				log.Warn("netconsole report read across a gap", "src", src.String(), "title", r.Title, "gaps", doc.Gaps, "missing", doc.Missing)
			}
			d.Inputs = append(d.Inputs, in)
			var key [16]byte
			rand.Read(key[:])
			sub := store.Submission{Group: group, Key: "netconsole-" + hex.EncodeToString(key[:]), Host: src.Addr().String(),
				Kind: "netconsole", Received: time.Now(), Diagnosis: d}
			ictx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := st.Ingest(ictx, sub); err != nil {
				log.Error("netconsole ingest", "src", src.String(), "title", r.Title, "err", err)
				return
			}
			log.Info("netconsole report", "src", src.String(), "release", doc.Release, "title", r.Title)
		},
	})
}

// parsePrefixes reads --netconsole-allow: networks, comma-separated
// ("10.0.0.0/8,192.0.2.7/32"); a bare address is one host.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("--netconsole-allow: %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--netconsole-allow: %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--netconsole-allow: no network given: netconsole is heard only from listed senders")
	}
	return out, nil
}

// netconsoleMetrics are the receiver's counters for /metrics: what was
// heard, refused and lost, so that a gap is seen, not hidden.
func netconsoleMetrics(rc *netconsole.Receiver) []prometheus.Collector {
	counter := func(name, help string, v func(netconsole.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ktriage_netconsole_" + name, Help: help},
			func() float64 { return float64(v(rc.Stats())) })
	}
	return []prometheus.Collector{
		counter("datagrams_total", "Datagrams read.", func(s netconsole.Stats) uint64 { return s.Datagrams }),
		counter("denied_total", "Datagrams from networks not allowed, dropped.", func(s netconsole.Stats) uint64 { return s.Denied }),
		counter("oversized_total", "Datagrams over the size limit, dropped.", func(s netconsole.Stats) uint64 { return s.Oversized }),
		counter("evicted_total", "Sources dropped to stay within the source limit.", func(s netconsole.Stats) uint64 { return s.Evicted }),
		counter("gaps_total", "Gaps in extended netconsole sequences.", func(s netconsole.Stats) uint64 { return s.Gaps }),
		counter("missing_records_total", "Records lost in those gaps.", func(s netconsole.Stats) uint64 { return s.Missing }),
		counter("duplicates_total", "Records received twice.", func(s netconsole.Stats) uint64 { return s.Duplicates }),
		counter("late_total", "Records arriving after their gap was given up on.", func(s netconsole.Stats) uint64 { return s.Late }),
		counter("malformed_total", "Datagrams that were not netconsole.", func(s netconsole.Stats) uint64 { return s.Malformed }),
		counter("reboots_total", "Sequence restarts (a sender rebooted).", func(s netconsole.Stats) uint64 { return s.Reboots }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ktriage_netconsole_sources", Help: "Sources tracked now."},
			func() float64 { return float64(rc.Stats().Sources) }),
	}
}
