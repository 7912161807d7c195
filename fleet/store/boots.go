package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/version"
)

// RecordBoot notes that host booted kernel (its uname -r) at at.
func (s *Store) RecordBoot(ctx context.Context, host, kernel string, at time.Time) error {
	host, kernel = strings.TrimSpace(host), strings.TrimSpace(kernel)
	if host == "" || kernel == "" || len(host) > 255 || len(kernel) > 255 {
		return fmt.Errorf("boot record: host and kernel must be 1 to 255 bytes")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO boots (host, kernel, first_seen, last_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT (host, kernel) DO UPDATE SET last_seen = excluded.last_seen`), host, kernel, at.Unix(), at.Unix())
	if err != nil {
		return fmt.Errorf("boot record %s %s: %w", host, kernel, err)
	}
	return nil
}

// Fixed is a bucket's "probably fixed in": the oldest kernel, newer than
// every kernel the bucket crashed on, that hosts which crashed in the
// bucket booted after their last crash in it; Hosts is how many did, on it
// or a newer one. Kernel is "" when no host tells.
type Fixed struct {
	Kernel string `json:"kernel"`
	Hosts  int    `json:"hosts"`
}

// ProbablyFixed computes the bucket's Fixed.
func (s *Store) ProbablyFixed(ctx context.Context, signature string) (Fixed, error) {
	crashed, err := s.seen(ctx, "SELECT kernel, count, first_seen, last_seen FROM bucket_kernels WHERE signature = ?", signature)
	if err != nil {
		return Fixed{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT b.host, b.kernel FROM boots b JOIN bucket_hosts h ON h.host = b.host
		WHERE h.signature = ? AND b.last_seen >= h.last_seen`), signature)
	if err != nil {
		return Fixed{}, fmt.Errorf("bucket %s boots: %w", signature, err)
	}
	defer rows.Close()
	type boot struct{ host, kernel string }
	var boots []boot
	for rows.Next() {
		var b boot
		if err := rows.Scan(&b.host, &b.kernel); err != nil {
			return Fixed{}, fmt.Errorf("bucket %s boots: %w", signature, err)
		}
		boots = append(boots, b)
	}
	if err := rows.Err(); err != nil {
		return Fixed{}, fmt.Errorf("bucket %s boots: %w", signature, err)
	}
	newest := ""
	for _, k := range crashed {
		if k.Name != "" && (newest == "" || compareKernels(k.Name, newest) > 0) {
			newest = k.Name
		}
	}
	var f Fixed
	hosts := map[string]bool{}
	for _, b := range boots {
		if newest != "" && compareKernels(b.kernel, newest) <= 0 {
			continue
		}
		hosts[b.host] = true
		if f.Kernel == "" || compareKernels(b.kernel, f.Kernel) < 0 {
			f.Kernel = b.kernel
		}
	}
	f.Hosts = len(hosts)
	return f, nil
}

// compareKernels orders two kernel releases: by RPM's order over their
// version-release, which also orders upstream and Debian ABI releases
// (5.15.0-91-generic before 5.15.0-94-generic).
func compareKernels(a, b string) int {
	return version.CompareEVR(version.RPMKernelEVR(a), version.RPMKernelEVR(b))
}
