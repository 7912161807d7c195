package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// errSlowPath sends a batch to the per-submission path: it holds what
// that path answers one by one (a reused key, a key twice, a submission
// without a diagnosis).
var errSlowPath = errors.New("ingest: batch needs the per-submission path")

// rowsPerStatement bounds the rows of one multi-row statement, so that its
// placeholders stay under SQLite's and PostgreSQL's limits (32,766 and
// 65,535) whatever a document holds.
const rowsPerStatement = 200

// event is one report of a batch as it is counted.
type event struct {
	sub, report           int // indexes into the batch and its diagnosis
	subID                 int64
	sig                   string
	at                    int64
	day, kernel, taint    string
	release, tainted      *string
	occ                   int
	modules               []string
	title, typ            string
	guilty                *string
	alt                   string
	kbID, kbTitle, kbConf *string
	work                  *string
}

// ingestBatchTx records subs in tx with a handful of multi-row statements
// for the whole batch rather than a dozen per report: counters are summed
// in memory per row first (a bucket's count, a day's, a host's …), so a
// batch of 64 takes about ten round trips. It answers as ingestTx would for
// each; what only the per-submission path can answer (a key reused for
// another document, a key twice in the batch) returns errSlowPath before
// anything is written, and a database error leaves tx to be rolled back.
func (s *Store) ingestBatchTx(ctx context.Context, tx *sql.Tx, subs []Submission) ([]*Ack, error) {
	subs = slices.Clone(subs) // Received is set in them
	acks := make([]*Ack, len(subs))
	raws := make([]string, len(subs))
	seen := map[[2]string]int{}
	for i := range subs {
		sub := &subs[i]
		if sub.Key == "" || sub.Diagnosis == nil {
			return nil, errSlowPath
		}
		k := [2]string{sub.Group, sub.Key}
		if _, dup := seen[k]; dup {
			return nil, errSlowPath
		}
		seen[k] = i
		if sub.Received.IsZero() {
			sub.Received = time.Now()
		}
		sub.Received = sub.Received.UTC()
		ack := &Ack{Reports: []AckReport{}}
		for j, r := range sub.Diagnosis.Reports {
			if r != nil {
				ack.Reports = append(ack.Reports, ackReport(sub.Diagnosis, j))
			}
		}
		raw, err := json.Marshal(ack)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		acks[i], raws[i] = ack, string(raw)
	}

	// Submissions: a key already recorded is a replay (or, for another
	// document, the slow path's to refuse).
	fresh := make([]bool, len(subs))
	// In key order: two transactions that hold some keys in common take
	// their locks in one order.
	var rows [][]any
	for _, k := range sortedPairs(seen) {
		i := seen[k]
		sub := subs[i]
		rows = append(rows, []any{sub.Group, sub.Key, sub.Host, sub.Kind, sub.Digest, sub.Received.Unix(), len(sub.Diagnosis.Reports), raws[i]})
	}
	err := s.insertRows(ctx, tx, "INSERT INTO submissions (grp, idem_key, host, kind, digest, received_at, n_reports, ack) VALUES ",
		rows, " ON CONFLICT (grp, idem_key) DO NOTHING RETURNING id, grp, idem_key", func(r *sql.Rows) error {
			var (
				id       int64
				grp, key string
			)
			if err := r.Scan(&id, &grp, &key); err != nil {
				return err
			}
			i, ok := seen[[2]string{grp, key}]
			if !ok {
				return fmt.Errorf("ingest: the database returned key %q, not in the batch", key)
			}
			acks[i].Submission, fresh[i] = id, true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("ingest: recording submissions: %w", err)
	}
	for i, sub := range subs {
		if fresh[i] {
			continue
		}
		var (
			id          int64
			raw, digest string
		)
		if err := tx.QueryRowContext(ctx, s.q("SELECT id, ack, digest FROM submissions WHERE grp = ? AND idem_key = ?"),
			sub.Group, sub.Key).Scan(&id, &raw, &digest); err != nil {
			return nil, fmt.Errorf("ingest: reading the acknowledgement of key %q: %w", sub.Key, err)
		}
		if digest != sub.Digest {
			return nil, errSlowPath
		}
		var ack Ack
		if err := json.Unmarshal([]byte(raw), &ack); err != nil {
			return nil, fmt.Errorf("ingest: stored acknowledgement of key %q: %w", sub.Key, err)
		}
		ack.Submission, ack.Replayed = id, true
		acks[i] = &ack
	}

	// The events of the fresh submissions, in batch order.
	var evs []event
	for i, sub := range subs {
		if !fresh[i] {
			continue
		}
		d := sub.Diagnosis
		for j, r := range d.Reports {
			if r == nil {
				continue
			}
			e := event{sub: i, report: j, subID: acks[i].Submission, sig: ackReport(d, j).Signature,
				release: r.Release, tainted: r.Tainted, occ: r.Times(), modules: r.Modules,
				title: r.Title, typ: r.Type, guilty: r.GuiltyFunction, kernel: "", taint: "?"}
			e.at = eventTime(r, sub.Received).Unix()
			e.day = time.Unix(e.at, 0).UTC().Format(time.DateOnly)
			if r.Release != nil {
				e.kernel = *r.Release
			}
			if r.Tainted != nil {
				e.taint = *r.Tainted
			}
			alt, err := json.Marshal(r.AltTitles)
			if err != nil {
				return nil, err
			}
			e.alt = string(alt)
			if kb := knownBug(d, j); kb != nil {
				e.kbID, e.kbTitle, e.kbConf = &kb.ID, &kb.Title, &kb.Confidence
				if kb.Workaround != "" {
					e.work = &kb.Workaround
				}
			}
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return acks, nil
	}

	// Buckets, one row each, in signature order (the order every
	// transaction takes their locks in): the first event names a new
	// bucket, the last known bug stands, as one upsert per event would.
	type bucketRow struct {
		first *event
		n     int64
		lo    int64
		hi    int64
		kb    *event
	}
	buckets := map[string]*bucketRow{}
	for k := range evs {
		e := &evs[k]
		b := buckets[e.sig]
		if b == nil {
			b = &bucketRow{first: e, lo: e.at, hi: e.at}
			buckets[e.sig] = b
		}
		b.n++
		b.lo, b.hi = min(b.lo, e.at), max(b.hi, e.at)
		if e.kbID != nil {
			b.kb = e
		}
	}
	sigs := sortedKeys(buckets)
	rows = rows[:0]
	for _, sig := range sigs {
		b := buckets[sig]
		kb := b.kb
		if kb == nil {
			kb = &event{}
		}
		rows = append(rows, []any{sig, SignatureVersion, b.first.title, b.first.typ, b.first.guilty, b.first.alt,
			b.n, b.lo, b.hi, kb.kbID, kb.kbTitle, kb.kbConf, kb.work})
	}
	counts := map[string]int64{}
	err = s.insertRows(ctx, tx, `INSERT INTO buckets (signature, sig_version, title, type, guilty_function, alt_titles,
			count, first_seen, last_seen, kb_id, kb_title, kb_confidence, workaround) VALUES `, rows, `
		ON CONFLICT (signature) DO UPDATE SET
			count = buckets.count + excluded.count,
			first_seen = CASE WHEN excluded.first_seen < buckets.first_seen THEN excluded.first_seen ELSE buckets.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > buckets.last_seen THEN excluded.last_seen ELSE buckets.last_seen END,
			kb_id = COALESCE(excluded.kb_id, buckets.kb_id),
			kb_title = COALESCE(excluded.kb_title, buckets.kb_title),
			kb_confidence = COALESCE(excluded.kb_confidence, buckets.kb_confidence),
			workaround = COALESCE(excluded.workaround, buckets.workaround)
		RETURNING signature, count`, func(r *sql.Rows) error {
		var sig string
		var n int64
		if err := r.Scan(&sig, &n); err != nil {
			return err
		}
		counts[sig] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: buckets: %w", err)
	}

	rows = rows[:0]
	for _, e := range evs {
		rows = append(rows, []any{e.subID, e.sig, SignatureVersion, subs[e.sub].Host, e.release, e.tainted, e.at, e.occ})
	}
	if err := s.insertRows(ctx, tx, "INSERT INTO events (submission_id, signature, sig_version, host, kernel, tainted, seen_at, occurrences) VALUES ",
		rows, "", nil); err != nil {
		return nil, fmt.Errorf("ingest: events: %w", err)
	}

	// The breakdowns, each summed per row.
	type span struct{ n, lo, hi int64 }
	days, taints, modules := map[[2]string]int64{}, map[[2]string]int64{}, map[[2]string]int64{}
	hosts, kernels := map[[2]string]*span{}, map[[2]string]*span{}
	add := func(m map[[2]string]*span, k [2]string, at int64) {
		if sp := m[k]; sp != nil {
			sp.n++
			sp.lo, sp.hi = min(sp.lo, at), max(sp.hi, at)
			return
		}
		m[k] = &span{1, at, at}
	}
	for _, e := range evs {
		days[[2]string{e.sig, e.day}]++
		taints[[2]string{e.sig, e.taint}]++
		add(hosts, [2]string{e.sig, subs[e.sub].Host}, e.at)
		add(kernels, [2]string{e.sig, e.kernel}, e.at)
		mods := map[string]bool{}
		for _, m := range e.modules {
			if m != "" && !mods[m] {
				mods[m] = true
				modules[[2]string{e.sig, m}]++
			}
		}
	}
	for _, c := range []struct {
		table, col string
		m          map[[2]string]int64
	}{{"bucket_days", "day", days}, {"bucket_taints", "tainted", taints}, {"bucket_modules", "module", modules}} {
		rows = rows[:0]
		for _, k := range sortedPairs(c.m) {
			rows = append(rows, []any{k[0], k[1], c.m[k]})
		}
		if err := s.insertRows(ctx, tx, "INSERT INTO "+c.table+" (signature, "+c.col+", count) VALUES ", rows,
			" ON CONFLICT (signature, "+c.col+") DO UPDATE SET count = "+c.table+".count + excluded.count", nil); err != nil {
			return nil, fmt.Errorf("ingest: %s: %w", c.table, err)
		}
	}
	for _, c := range []struct {
		table, col string
		m          map[[2]string]*span
	}{{"bucket_hosts", "host", hosts}, {"bucket_kernels", "kernel", kernels}} {
		rows = rows[:0]
		for _, k := range sortedPairs(c.m) {
			sp := c.m[k]
			rows = append(rows, []any{k[0], k[1], sp.n, sp.lo, sp.hi})
		}
		t := c.table
		if err := s.insertRows(ctx, tx, "INSERT INTO "+t+" (signature, "+c.col+", count, first_seen, last_seen) VALUES ", rows,
			" ON CONFLICT (signature, "+c.col+") DO UPDATE SET count = "+t+".count + excluded.count,"+
				" first_seen = CASE WHEN excluded.first_seen < "+t+".first_seen THEN excluded.first_seen ELSE "+t+".first_seen END,"+
				" last_seen = CASE WHEN excluded.last_seen > "+t+".last_seen THEN excluded.last_seen ELSE "+t+".last_seen END", nil); err != nil {
			return nil, fmt.Errorf("ingest: %s: %w", t, err)
		}
	}

	// Samples: the batch's events of a bucket were numbered count-n+1 …
	// count, in batch order; those within the cap are kept.
	number := map[string]int64{}
	for sig, b := range buckets {
		number[sig] = counts[sig] - b.n
	}
	rows = rows[:0]
	for _, e := range evs {
		number[e.sig]++
		if number[e.sig] > int64(s.SampleCap) {
			continue
		}
		raw, err := json.Marshal(sampleOf(subs[e.sub].Diagnosis, e.report))
		if err != nil {
			return nil, fmt.Errorf("ingest: sample: %w", err)
		}
		rows = append(rows, []any{e.sig, e.subID, subs[e.sub].Host, e.at, string(raw)})
	}
	if err := s.insertRows(ctx, tx, "INSERT INTO samples (signature, submission_id, host, seen_at, diagnosis) VALUES ", rows, "", nil); err != nil {
		return nil, fmt.Errorf("ingest: samples: %w", err)
	}
	return acks, nil
}

// insertRows runs prefix + "(?, …), (?, …)" + suffix over rows, at most
// rowsPerStatement a statement, and gives each returned row to scan (nil
// when the statement returns none).
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any, suffix string, scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), rowsPerStatement)]
		rows = rows[len(chunk):]
		var b strings.Builder
		b.WriteString(prefix)
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?")
			b.WriteString(strings.Repeat(", ?", len(r)-1))
			b.WriteString(")")
			args = append(args, r...)
		}
		b.WriteString(suffix)
		if scan == nil {
			if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
				return err
			}
			continue
		}
		rs, err := tx.QueryContext(ctx, s.q(b.String()), args...)
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := scan(rs); err != nil {
				rs.Close()
				return err
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedPairs[V any](m map[[2]string]V) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}
