package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ktriage/ktriage/fleet/api"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// SignatureVersion is the version of oops.Signature that the buckets are
// keyed by (DESIGN.md: changing the signature is a breaking change). It is
// recorded with every event and bucket, so that a future change shows as a
// new version rather than silently splitting history.
const SignatureVersion = 1

// Submission is one document a host sent, already diagnosed.
type Submission struct {
	// Group is the sender's token group; Key its idempotency key, unique
	// within the group.
	Group, Key string
	// Host is the host the document came from.
	Host string
	// Kind says what was sent: "log" (analyzed by the server) or "json"
	// (an analyze --json document).
	Kind string
	// Digest identifies the document as sent (the server's SHA-256 of
	// the body): a key presented again with another digest is refused
	// with ErrKeyReused rather than replayed.
	Digest   string
	Received time.Time
	// Diagnosis is what the document shows; the store keeps it unchanged.
	Diagnosis *triage.Diagnosis
}

// ErrKeyReused is returned for an idempotency key already used for another
// document.
var ErrKeyReused = errors.New("idempotency key already used for another document")

// Ack is what the store acknowledges for a submission once it is committed.
type Ack struct {
	// Submission is the submission's number in the store.
	Submission int64 `json:"submission"`
	// Replayed is set when the key was seen before: Reports are the first
	// acknowledgement's, and nothing was counted again.
	Replayed bool        `json:"replayed"`
	Reports  []AckReport `json:"reports"`
}

// AckReport is one report of a submission (the wire type of fleet/api).
type AckReport = api.AckReport

// KnownBug is the knowledge-base entry a report matched (fleet/api).
type KnownBug = api.KnownBug

// confidenceRank orders kb confidences, strongest first.
var confidenceRank = map[string]int{"exact": 3, "likely": 2, "possible": 1}

// knownBug picks the strongest match that covers report i.
func knownBug(d *triage.Diagnosis, i int) *KnownBug {
	var best *triage.Match
	for j := range d.Matches {
		m := &d.Matches[j]
		for _, r := range m.Reports {
			if r == i && (best == nil || confidenceRank[m.Confidence] > confidenceRank[best.Confidence]) {
				best = m
			}
		}
	}
	if best == nil {
		return nil
	}
	kb := &KnownBug{ID: best.ID, Title: best.Title, Confidence: best.Confidence}
	if best.Workaround != nil {
		kb.Workaround = best.Workaround.Text
	}
	return kb
}

// eventTime is when the report's crash happened as far as the document
// says: its wall clock, else the receipt. A syslog clock names no year: it
// takes the receipt's (or the year before, when that would put it in the
// future), and only when that puts it within yearlessWindow of the receipt,
// as for a kdump hook's submission; an older one is an archive whose year
// is unknown here, and the receipt stands.
func eventTime(r *oops.Report, received time.Time) time.Time {
	if r.Wall == "" {
		return received
	}
	t, ok := oops.ParseWall(r.Wall, received.Year(), time.UTC)
	if !ok {
		return received
	}
	probe, _ := oops.ParseWall(r.Wall, 1, time.UTC)
	yearless := probe.Year() == 1
	if yearless && t.After(received.Add(24*time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	if t.After(received.Add(24*time.Hour)) || t.Before(received.AddDate(-20, 0, 0)) {
		return received
	}
	if yearless && t.Before(received.Add(-yearlessWindow)) {
		return received
	}
	return t.UTC()
}

// yearlessWindow is how far before its receipt a syslog clock (no year) is
// believed.
const yearlessWindow = 31 * 24 * time.Hour

// sampleOf is the part of d that concerns report i: the report, the matches
// that cover it (renumbered), and the document-wide findings and steps.
func sampleOf(d *triage.Diagnosis, i int) *triage.Diagnosis {
	s := &triage.Diagnosis{
		Inputs:    d.Inputs,
		Reports:   []*oops.Report{d.Reports[i]},
		Findings:  d.Findings,
		Owner:     d.Owner,
		Vmcore:    d.Vmcore,
		NextSteps: d.NextSteps,
	}
	for _, m := range d.Matches {
		for _, r := range m.Reports {
			if r == i {
				m.Reports = []int{0}
				s.Matches = append(s.Matches, m)
				break
			}
		}
	}
	return s
}

// Ingest records a submission in one transaction and returns its
// acknowledgement once committed. A key already recorded for the group
// returns the first acknowledgement with Replayed set and counts nothing;
// a key recorded for another document (Digest) is ErrKeyReused.
func (s *Store) Ingest(ctx context.Context, sub Submission) (*Ack, error) {
	acks, errs := s.IngestBatch(ctx, []Submission{sub})
	return acks[0], errs[0]
}

// IngestBatch records submissions in one transaction, each as Ingest
// would, and commits them together: one disk flush for them all (group
// commit). A submission that fails is rolled back alone (a savepoint), and
// its error is at its index; when the commit fails, every one fails.
func (s *Store) IngestBatch(ctx context.Context, subs []Submission) ([]*Ack, []error) {
	acks := make([]*Ack, len(subs))
	errs := make([]error, len(subs))
	failAll := func(err error) ([]*Ack, []error) {
		for i := range subs {
			acks[i], errs[i] = nil, err
		}
		return acks, errs
	}
	// Row locks in one order, by each submission's first bucket, so that
	// transactions committing at once wait for each other on a hot bucket
	// instead of deadlocking. Submissions of one key keep their arrival
	// order (the first is the one recorded): each sorts as its key's first.
	order := make([]int, len(subs))
	rank := make([]string, len(subs))
	byKey := map[[2]string]string{}
	for i, sub := range subs {
		order[i] = i
		k := [2]string{sub.Group, sub.Key}
		r, ok := byKey[k]
		if !ok {
			if d := sub.Diagnosis; d != nil && len(d.Reports) > 0 && d.Reports[0] != nil {
				r = d.Reports[0].Signature
			}
			byKey[k] = r
		}
		rank[i] = r
	}
	sort.SliceStable(order, func(a, b int) bool { return rank[order[a]] < rank[order[b]] })
	// First the whole batch in a few multi-row statements: a failure is
	// rare, and then the batch is done again one submission at a time,
	// each under a savepoint.
	if fast, err := s.ingestFast(ctx, subs); err == nil {
		return fast, errs
	} else if errors.Is(err, errCommit) {
		return failAll(err)
	}
	if err := s.ingestAll(ctx, subs, order, acks, errs); err != nil {
		return failAll(err)
	}
	return acks, errs
}

// ingestFast records subs with ingestBatchTx in one transaction.
func (s *Store) ingestFast(ctx context.Context, subs []Submission) ([]*Ack, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer tx.Rollback()
	acks, err := s.ingestBatchTx(ctx, tx, subs)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%w: %w", errCommit, err)
	}
	return acks, nil
}

// errCommit marks a batch whose commit failed: trying it again in another
// shape would not help.
var errCommit = errors.New("ingest: commit")

// ingestAll records subs in order in one transaction, each under a
// savepoint: a submission that fails is undone alone, its error kept at
// its index.
func (s *Store) ingestAll(ctx context.Context, subs []Submission, order []int, acks []*Ack, errs []error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer tx.Rollback()
	for _, i := range order {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT submission"); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		acks[i], errs[i] = s.ingestTx(ctx, tx, subs[i])
		undo := "RELEASE SAVEPOINT submission"
		if errs[i] != nil {
			acks[i] = nil
			undo = "ROLLBACK TO SAVEPOINT submission"
		}
		if _, err := tx.ExecContext(ctx, undo); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errCommit, err)
	}
	return nil
}

// ingestTx records one submission in tx.
func (s *Store) ingestTx(ctx context.Context, tx *sql.Tx, sub Submission) (*Ack, error) {
	if sub.Key == "" {
		return nil, errors.New("ingest: empty idempotency key")
	}
	if sub.Diagnosis == nil {
		return nil, errors.New("ingest: no diagnosis")
	}
	if sub.Received.IsZero() {
		sub.Received = time.Now()
	}
	sub.Received = sub.Received.UTC()
	d := sub.Diagnosis

	// The acknowledgement is known before anything is written (but for
	// the submission's number, which a reader takes from the row): stored
	// with the row, it costs no second statement.
	ack := &Ack{Reports: []AckReport{}}
	for i, r := range d.Reports {
		if r != nil {
			ack.Reports = append(ack.Reports, ackReport(d, i))
		}
	}
	raw, err := json.Marshal(ack)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO submissions (grp, idem_key, host, kind, digest, received_at, n_reports, ack)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (grp, idem_key) DO NOTHING RETURNING id`),
		sub.Group, sub.Key, sub.Host, sub.Kind, sub.Digest, sub.Received.Unix(), len(d.Reports), string(raw)).Scan(&ack.Submission)
	if errors.Is(err, sql.ErrNoRows) {
		var (
			id          int64
			raw, digest string
		)
		if err := tx.QueryRowContext(ctx, s.q("SELECT id, ack, digest FROM submissions WHERE grp = ? AND idem_key = ?"),
			sub.Group, sub.Key).Scan(&id, &raw, &digest); err != nil {
			return nil, fmt.Errorf("ingest: reading the acknowledgement of key %q: %w", sub.Key, err)
		}
		if digest != sub.Digest {
			return nil, fmt.Errorf("ingest: key %q: %w", sub.Key, ErrKeyReused)
		}
		var ack Ack
		if err := json.Unmarshal([]byte(raw), &ack); err != nil {
			return nil, fmt.Errorf("ingest: stored acknowledgement of key %q: %w", sub.Key, err)
		}
		ack.Submission, ack.Replayed = id, true
		return &ack, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: recording submission: %w", err)
	}
	for i, r := range d.Reports {
		if r == nil {
			continue
		}
		if err := s.ingestReport(ctx, tx, sub, ack.Submission, i); err != nil {
			return nil, fmt.Errorf("ingest: report %d (%s): %w", i, r.Title, err)
		}
	}
	return ack, nil
}

// ackReport is report i of d as its acknowledgement gives it.
func ackReport(d *triage.Diagnosis, i int) AckReport {
	r := d.Reports[i]
	sig := r.Signature
	if sig == "" {
		sig = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
	}
	return AckReport{Signature: sig, SignatureVersion: SignatureVersion, Title: r.Title, KnownBug: knownBug(d, i)}
}

// ingestReport counts report i of sub in its bucket.
func (s *Store) ingestReport(ctx context.Context, tx *sql.Tx, sub Submission, subID int64, i int) error {
	d := sub.Diagnosis
	r := d.Reports[i]
	sig := r.Signature
	if sig == "" {
		sig = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
	}
	kb := knownBug(d, i)
	at := eventTime(r, sub.Received).Unix()
	day := time.Unix(at, 0).UTC().Format(time.DateOnly)
	alt, err := json.Marshal(r.AltTitles)
	if err != nil {
		return err
	}
	var kbID, kbTitle, kbConf, work *string
	if kb != nil {
		kbID, kbTitle, kbConf = &kb.ID, &kb.Title, &kb.Confidence
		if kb.Workaround != "" {
			work = &kb.Workaround
		}
	}
	occ := r.Times()
	kernel := ""
	if r.Release != nil {
		kernel = *r.Release
	}
	taint := "?"
	if r.Tainted != nil {
		taint = *r.Tainted
	}

	// The bucket first: its row lock orders concurrent ingests of one
	// bucket, so the count it returns numbers this event exactly.
	var count int64
	if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO buckets (signature, sig_version, title, type, guilty_function, alt_titles,
			count, first_seen, last_seen, kb_id, kb_title, kb_confidence, workaround)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (signature) DO UPDATE SET
			count = buckets.count + 1,
			first_seen = CASE WHEN excluded.first_seen < buckets.first_seen THEN excluded.first_seen ELSE buckets.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > buckets.last_seen THEN excluded.last_seen ELSE buckets.last_seen END,
			kb_id = COALESCE(excluded.kb_id, buckets.kb_id),
			kb_title = COALESCE(excluded.kb_title, buckets.kb_title),
			kb_confidence = COALESCE(excluded.kb_confidence, buckets.kb_confidence),
			workaround = COALESCE(excluded.workaround, buckets.workaround)
		RETURNING count`),
		sig, SignatureVersion, r.Title, r.Type, r.GuiltyFunction, string(alt), at, at, kbID, kbTitle, kbConf, work).Scan(&count); err != nil {
		return fmt.Errorf("bucket %s: %w", sig, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (submission_id, signature, sig_version, host, kernel, tainted, seen_at, occurrences)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		subID, sig, SignatureVersion, sub.Host, r.Release, r.Tainted, at, occ); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	ups := []struct {
		what  string
		query string
		args  []any
	}{
		{"day", `INSERT INTO bucket_days (signature, day, count) VALUES (?, ?, 1)
			ON CONFLICT (signature, day) DO UPDATE SET count = bucket_days.count + 1`, []any{sig, day}},
		{"host", `INSERT INTO bucket_hosts (signature, host, count, first_seen, last_seen) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (signature, host) DO UPDATE SET count = bucket_hosts.count + 1,
			first_seen = CASE WHEN excluded.first_seen < bucket_hosts.first_seen THEN excluded.first_seen ELSE bucket_hosts.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > bucket_hosts.last_seen THEN excluded.last_seen ELSE bucket_hosts.last_seen END`,
			[]any{sig, sub.Host, at, at}},
		{"kernel", `INSERT INTO bucket_kernels (signature, kernel, count, first_seen, last_seen) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (signature, kernel) DO UPDATE SET count = bucket_kernels.count + 1,
			first_seen = CASE WHEN excluded.first_seen < bucket_kernels.first_seen THEN excluded.first_seen ELSE bucket_kernels.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > bucket_kernels.last_seen THEN excluded.last_seen ELSE bucket_kernels.last_seen END`,
			[]any{sig, kernel, at, at}},
		{"taint", `INSERT INTO bucket_taints (signature, tainted, count) VALUES (?, ?, 1)
			ON CONFLICT (signature, tainted) DO UPDATE SET count = bucket_taints.count + 1`, []any{sig, taint}},
	}
	// The modules in one statement: a report lists dozens.
	seen := map[string]bool{}
	var mods []any
	var vals []string
	for _, m := range r.Modules {
		if m == "" || seen[m] {
			continue
		}
		seen[m] = true
		mods = append(mods, sig, m)
		vals = append(vals, "(?, ?, 1)")
	}
	if len(vals) > 0 {
		ups = append(ups, struct {
			what  string
			query string
			args  []any
		}{"modules", `INSERT INTO bucket_modules (signature, module, count) VALUES ` + strings.Join(vals, ", ") + `
			ON CONFLICT (signature, module) DO UPDATE SET count = bucket_modules.count + 1`, mods})
	}
	for _, u := range ups {
		if _, err := tx.ExecContext(ctx, s.q(u.query), u.args...); err != nil {
			return fmt.Errorf("%s: %w", u.what, err)
		}
	}

	// The samples are the bucket's first SampleCap events.
	if count <= int64(s.SampleCap) {
		raw, err := json.Marshal(sampleOf(d, i))
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO samples (signature, submission_id, host, seen_at, diagnosis) VALUES (?, ?, ?, ?, ?)`),
			sig, subID, sub.Host, at, string(raw)); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
	}
	return nil
}
