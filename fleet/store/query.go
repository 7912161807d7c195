package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bucket is the crashes that share one report signature.
type Bucket struct {
	Signature        string    `json:"signature"`
	SignatureVersion int       `json:"signature_version"`
	Title            string    `json:"title"`
	AltTitles        []string  `json:"alt_titles"`
	Type             string    `json:"type"`
	GuiltyFunction   *string   `json:"guilty_function"`
	Count            int64     `json:"count"`
	Hosts            int64     `json:"hosts"`
	FirstSeen        time.Time `json:"first_seen"`
	LastSeen         time.Time `json:"last_seen"`
	KBID             *string   `json:"kb_id"`
	KBTitle          *string   `json:"kb_title"`
	KBConfidence     *string   `json:"kb_confidence"`
	Workaround       *string   `json:"workaround"`
}

// Sort orders a bucket list, largest first.
type Sort string

// The orders Buckets knows.
const (
	SortCount    Sort = "count"
	SortLastSeen Sort = "last_seen"
	SortHosts    Sort = "hosts"
)

// ParseSort reads a sort name; "" is SortCount.
func ParseSort(s string) (Sort, error) {
	switch Sort(s) {
	case "", SortCount:
		return SortCount, nil
	case SortLastSeen, SortHosts:
		return Sort(s), nil
	}
	return "", fmt.Errorf("unknown sort %q (want count, last_seen or hosts)", s)
}

const bucketColumns = `b.signature, b.sig_version, b.title, b.alt_titles, b.type, b.guilty_function, b.count,
	(SELECT COUNT(*) FROM bucket_hosts h WHERE h.signature = b.signature),
	b.first_seen, b.last_seen, b.kb_id, b.kb_title, b.kb_confidence, b.workaround`

func scanBucket(sc interface{ Scan(...any) error }) (Bucket, error) {
	var (
		b           Bucket
		alt         string
		first, last int64
		guilty      sql.NullString
		kbID, kbT   sql.NullString
		kbC, work   sql.NullString
	)
	if err := sc.Scan(&b.Signature, &b.SignatureVersion, &b.Title, &alt, &b.Type, &guilty, &b.Count, &b.Hosts,
		&first, &last, &kbID, &kbT, &kbC, &work); err != nil {
		return b, err
	}
	if err := json.Unmarshal([]byte(alt), &b.AltTitles); err != nil {
		return b, fmt.Errorf("bucket %s: alt_titles: %w", b.Signature, err)
	}
	if b.AltTitles == nil {
		b.AltTitles = []string{}
	}
	b.FirstSeen, b.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	b.GuiltyFunction, b.KBID, b.KBTitle = ptr(guilty), ptr(kbID), ptr(kbT)
	b.KBConfidence, b.Workaround = ptr(kbC), ptr(work)
	return b, nil
}

func ptr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// Buckets lists up to limit buckets (all when limit <= 0) in order.
func (s *Store) Buckets(ctx context.Context, order Sort, limit int) ([]Bucket, error) {
	by := "b.count DESC"
	switch order {
	case SortLastSeen:
		by = "b.last_seen DESC"
	case SortHosts:
		by = "(SELECT COUNT(*) FROM bucket_hosts h WHERE h.signature = b.signature) DESC"
	}
	query := "SELECT " + bucketColumns + " FROM buckets b ORDER BY " + by + ", b.signature"
	var args []any
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	defer rows.Close()
	out := []Bucket{}
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, fmt.Errorf("listing buckets: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	return out, nil
}

// DayCount is the crashes of one UTC day.
type DayCount struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// Seen is a name (a host, a kernel release) with its crash count and when
// it was first and last seen.
type Seen struct {
	Name      string    `json:"name"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// NameCount is a name (a module, a taint) with its crash count.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Sample is one raw report kept for a bucket: the part of the diagnosis
// that concerns it (a triage.Diagnosis document with one report).
type Sample struct {
	ID        int64           `json:"id"`
	Host      string          `json:"host"`
	At        time.Time       `json:"at"`
	Diagnosis json.RawMessage `json:"diagnosis"`
}

// BucketDetail is a bucket with its breakdowns and samples.
type BucketDetail struct {
	Bucket
	Days     []DayCount  `json:"days"`
	HostList []Seen      `json:"host_list"`
	Kernels  []Seen      `json:"kernels"`
	Taints   []NameCount `json:"taints"`
	Modules  []NameCount `json:"modules"`
	Samples  []Sample    `json:"samples"`
	// ProbablyFixedIn is the kernel the bucket's hosts stopped crashing
	// on (Fixed), from their boot records.
	ProbablyFixedIn Fixed `json:"probably_fixed_in"`
	// Related are the other buckets that share its title or an
	// alternative title: perhaps one bug under two signatures (a parser
	// change, another caller), shown rather than split silently.
	Related []Bucket `json:"related"`
}

// maxRelated bounds the related buckets a bucket lists.
const maxRelated = 20

// Bucket reads one bucket; ErrNotFound when there is none.
func (s *Store) Bucket(ctx context.Context, signature string) (*BucketDetail, error) {
	b, err := scanBucket(s.db.QueryRowContext(ctx, s.q("SELECT "+bucketColumns+" FROM buckets b WHERE b.signature = ?"), signature))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("bucket %s: %w", signature, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", signature, err)
	}
	d := &BucketDetail{Bucket: b}
	if d.Days, err = s.days(ctx, "SELECT day, count FROM bucket_days WHERE signature = ? ORDER BY day", signature); err != nil {
		return nil, err
	}
	if d.HostList, err = s.seen(ctx, "SELECT host, count, first_seen, last_seen FROM bucket_hosts WHERE signature = ? ORDER BY count DESC, host", signature); err != nil {
		return nil, err
	}
	if d.Kernels, err = s.seen(ctx, "SELECT kernel, count, first_seen, last_seen FROM bucket_kernels WHERE signature = ? ORDER BY count DESC, kernel", signature); err != nil {
		return nil, err
	}
	if d.Taints, err = s.counts(ctx, "SELECT tainted, count FROM bucket_taints WHERE signature = ? ORDER BY count DESC, tainted", signature); err != nil {
		return nil, err
	}
	if d.Modules, err = s.counts(ctx, "SELECT module, count FROM bucket_modules WHERE signature = ? ORDER BY count DESC, module", signature); err != nil {
		return nil, err
	}
	if d.ProbablyFixedIn, err = s.ProbablyFixed(ctx, signature); err != nil {
		return nil, err
	}
	if d.Related, err = s.related(ctx, &b); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, host, seen_at, diagnosis FROM samples WHERE signature = ? ORDER BY id"), signature)
	if err != nil {
		return nil, fmt.Errorf("bucket %s samples: %w", signature, err)
	}
	defer rows.Close()
	d.Samples = []Sample{}
	for rows.Next() {
		var (
			sm  Sample
			at  int64
			raw string
		)
		if err := rows.Scan(&sm.ID, &sm.Host, &at, &raw); err != nil {
			return nil, fmt.Errorf("bucket %s samples: %w", signature, err)
		}
		sm.At, sm.Diagnosis = time.Unix(at, 0).UTC(), json.RawMessage(raw)
		d.Samples = append(d.Samples, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bucket %s samples: %w", signature, err)
	}
	return d, nil
}

// FleetDays is the crashes of every bucket per UTC day, oldest first.
func (s *Store) FleetDays(ctx context.Context) ([]DayCount, error) {
	return s.days(ctx, "SELECT day, SUM(count) FROM bucket_days GROUP BY day ORDER BY day")
}

// Kernels is the fleet's crashes per kernel release ("" for reports that
// name none), most first.
func (s *Store) Kernels(ctx context.Context) ([]Seen, error) {
	return s.seen(ctx, `SELECT kernel, SUM(count), MIN(first_seen), MAX(last_seen) FROM bucket_kernels
		GROUP BY kernel ORDER BY SUM(count) DESC, kernel`)
}

// Totals are the fleet's counters.
type Totals struct {
	Submissions int64 `json:"submissions"`
	Events      int64 `json:"events"`
	Buckets     int64 `json:"buckets"`
	Hosts       int64 `json:"hosts"`
}

// Totals counts submissions, events, buckets and hosts.
func (s *Store) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM submissions),
		(SELECT COALESCE(SUM(count), 0) FROM buckets),
		(SELECT COUNT(*) FROM buckets),
		(SELECT COUNT(DISTINCT host) FROM bucket_hosts)`).Scan(&t.Submissions, &t.Events, &t.Buckets, &t.Hosts)
	if err != nil {
		return t, fmt.Errorf("totals: %w", err)
	}
	return t, nil
}

func (s *Store) days(ctx context.Context, query string, args ...any) ([]DayCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("crashes per day: %w", err)
	}
	defer rows.Close()
	out := []DayCount{}
	for rows.Next() {
		var d DayCount
		if err := rows.Scan(&d.Day, &d.Count); err != nil {
			return nil, fmt.Errorf("crashes per day: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) seen(ctx context.Context, query string, args ...any) ([]Seen, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("breakdown: %w", err)
	}
	defer rows.Close()
	out := []Seen{}
	for rows.Next() {
		var (
			v           Seen
			first, last int64
		)
		if err := rows.Scan(&v.Name, &v.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("breakdown: %w", err)
		}
		v.FirstSeen, v.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Store) counts(ctx context.Context, query string, args ...any) ([]NameCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("breakdown: %w", err)
	}
	defer rows.Close()
	out := []NameCount{}
	for rows.Next() {
		var v NameCount
		if err := rows.Scan(&v.Name, &v.Count); err != nil {
			return nil, fmt.Errorf("breakdown: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DaysSince is every bucket's crashes per UTC day from day since
// ("YYYY-MM-DD") on, keyed by signature, oldest first.
func (s *Store) DaysSince(ctx context.Context, since string) (map[string][]DayCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT signature, day, count FROM bucket_days WHERE day >= ? ORDER BY signature, day"), since)
	if err != nil {
		return nil, fmt.Errorf("crashes per day since %s: %w", since, err)
	}
	defer rows.Close()
	out := map[string][]DayCount{}
	for rows.Next() {
		var (
			sig string
			d   DayCount
		)
		if err := rows.Scan(&sig, &d.Day, &d.Count); err != nil {
			return nil, fmt.Errorf("crashes per day since %s: %w", since, err)
		}
		out[sig] = append(out[sig], d)
	}
	return out, rows.Err()
}

// related lists the buckets other than b whose title is one of b's titles
// (its own or an alternative), or whose alternative titles hold one: the
// way syzkaller files a crash to an existing bug, here only shown.
func (s *Store) related(ctx context.Context, b *Bucket) ([]Bucket, error) {
	titles := append([]string{b.Title}, b.AltTitles...)
	var conds []string
	args := []any{b.Signature}
	for _, t := range titles {
		// alt_titles is a JSON array written by encoding/json: a title
		// appears in it as json.Marshal quotes it.
		q, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		conds = append(conds, "b.title = ?", `b.alt_titles LIKE ? ESCAPE '\'`)
		args = append(args, t, "%"+likeEscape.Replace(string(q))+"%")
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+bucketColumns+" FROM buckets b WHERE b.signature <> ? AND ("+
		strings.Join(conds, " OR ")+") ORDER BY b.count DESC, b.signature LIMIT "+strconv.Itoa(maxRelated)), args...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s related: %w", b.Signature, err)
	}
	defer rows.Close()
	out := []Bucket{}
	for rows.Next() {
		r, err := scanBucket(rows)
		if err != nil {
			return nil, fmt.Errorf("bucket %s related: %w", b.Signature, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bucket %s related: %w", b.Signature, err)
	}
	return out, nil
}

// likeEscape escapes LIKE's wildcards (with ESCAPE '\').
var likeEscape = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
