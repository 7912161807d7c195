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
		OnReport: func(src netip.AddrPort, release string, r *oops.Report) {
			d, err := triage.FromReports([]*oops.Report{r}, k)
			if err != nil {
				log.Error("netconsole report", "src", src.String(), "err", err)
				return
			}
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
			log.Info("netconsole report", "src", src.String(), "release", release, "title", r.Title)
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
