package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// fixtures are the logs the tests ingest, diagnosed once.
var (
	fixturesOnce sync.Once
	fixtures     []fixture
	fixturesErr  error
)

type fixture struct {
	name string
	d    *triage.Diagnosis
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	fixturesOnce.Do(func() {
		root := repoRoot()
		var paths []string
		for _, g := range []string{"examples/*.txt", "examples/*/console.log", "hostfacts/testdata/hosts/rhel6/sosreport-*/var/log/messages"} {
			m, _ := filepath.Glob(filepath.Join(root, g))
			paths = append(paths, m...)
		}
		for _, p := range paths {
			d, err := triage.Analyze([]string{p}, triage.Options{})
			if err != nil {
				fixturesErr = fmt.Errorf("analyzing %s: %w", p, err)
				return
			}
			rel, _ := filepath.Rel(root, p)
			fixtures = append(fixtures, fixture{rel, d})
		}
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	if len(fixtures) < 3 {
		t.Fatalf("found %d fixtures, want the examples and the rhel6 messages", len(fixtures))
	}
	return fixtures
}

// databases opens a fresh store of each dialect for f.
func databases(t *testing.T, f func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "fleet.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), db.url(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if s.Dialect() != db.name {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), db.name)
			}
			f(t, s)
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, url := range []string{"", "mysql://x", "sqlite:", "/tmp/x.db"} {
		if s, err := store.Open(context.Background(), url); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}

// TestMigrateUpDown migrates up and down twice, river's conformance
// drill: every down undoes its up exactly, and the schema works after.
func TestMigrateUpDown(t *testing.T) {
	f := loadFixtures(t)[0]
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ms, err := s.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		last := ms[len(ms)-1].Version
		for round := 0; round < 2; round++ {
			for _, step := range []struct {
				name string
				do   func() error
				want int
			}{
				{"up again", func() error { return s.Migrate(ctx) }, last},
				{"down to 0", func() error { return s.MigrateDown(ctx, 0) }, 0},
				{"down again", func() error { return s.MigrateDown(ctx, 0) }, 0},
				{"up", func() error { return s.Migrate(ctx) }, last},
			} {
				if err := step.do(); err != nil {
					t.Fatalf("round %d %s: %v", round, step.name, err)
				}
				if v, err := s.Version(ctx); err != nil || v != step.want {
					t.Fatalf("round %d %s: version %d (%v), want %d", round, step.name, v, err, step.want)
				}
			}
			// The schema takes an ingest, and the first after a down/up
			// starts from nothing.
			ack, err := s.Ingest(ctx, store.Submission{Group: "g", Key: "k", Host: "h", Kind: "json", Diagnosis: f.d})
			if err != nil || ack.Replayed {
				t.Fatalf("round %d ingest: %+v %v", round, ack, err)
			}
		}
		if err := s.MigrateDown(ctx, -1); err == nil {
			t.Error("MigrateDown(-1) accepted")
		}
	})
}

// expected counts the reports per signature over the fixtures, times n.
func expected(fs []fixture, n int) map[string]int64 {
	want := map[string]int64{}
	for _, f := range fs {
		for _, r := range f.d.Reports {
			want[r.Signature] += int64(n)
		}
	}
	return want
}

func TestIngest(t *testing.T) {
	fs := loadFixtures(t)
	t0 := time.Date(2026, 11, 20, 3, 12, 44, 0, time.UTC)
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ingest := func(f fixture, key, host string) *store.Ack {
			t.Helper()
			ack, err := s.Ingest(ctx, store.Submission{Group: "web", Key: key, Host: host, Kind: "json", Received: t0, Diagnosis: f.d})
			if err != nil {
				t.Fatalf("ingesting %s: %v", f.name, err)
			}
			return ack
		}
		checkCounts := func(want map[string]int64) {
			t.Helper()
			bs, err := s.Buckets(ctx, store.SortCount, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != len(want) {
				t.Errorf("%d buckets, want %d", len(bs), len(want))
			}
			for i, b := range bs {
				if b.Count != want[b.Signature] {
					t.Errorf("bucket %s (%s): count %d, want %d", b.Signature[:12], b.Title, b.Count, want[b.Signature])
				}
				if i > 0 && bs[i-1].Count < b.Count {
					t.Errorf("buckets not sorted by count: %d before %d", bs[i-1].Count, b.Count)
				}
			}
		}

		// Each fixture once, then a retry of each key: nothing new.
		for i, f := range fs {
			ack := ingest(f, fmt.Sprintf("k%d", i), "host-a")
			if ack.Replayed {
				t.Errorf("%s: first ingest replayed", f.name)
			}
			if len(ack.Reports) != len(f.d.Reports) {
				t.Errorf("%s: ack has %d reports, want %d", f.name, len(ack.Reports), len(f.d.Reports))
			}
			for j, ar := range ack.Reports {
				if ar.Signature != f.d.Reports[j].Signature || ar.Title != f.d.Reports[j].Title {
					t.Errorf("%s: ack report %d = %s %q, want %s %q", f.name, j, ar.Signature, ar.Title, f.d.Reports[j].Signature, f.d.Reports[j].Title)
				}
			}
		}
		checkCounts(expected(fs, 1))
		for i, f := range fs {
			ack := ingest(f, fmt.Sprintf("k%d", i), "host-a")
			if !ack.Replayed {
				t.Errorf("%s: retry with the same key not replayed", f.name)
			}
		}
		checkCounts(expected(fs, 1))

		// The same documents again on purpose, from another host: two events.
		for i, f := range fs {
			ingest(f, fmt.Sprintf("again%d", i), "host-b")
		}
		want := expected(fs, 2)
		checkCounts(want)

		tot, err := s.Totals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var events int64
		for _, n := range want {
			events += n
		}
		if tot.Events != events || tot.Buckets != int64(len(want)) || tot.Hosts != 2 || tot.Submissions != int64(2*len(fs)) {
			t.Errorf("totals %+v, want %d events, %d buckets, 2 hosts, %d submissions", tot, events, len(want), 2*len(fs))
		}

		// Every bucket: both hosts, kernels, days and kb ids as the
		// diagnoses say.
		for _, f := range fs {
			for i, r := range f.d.Reports {
				b, err := s.Bucket(ctx, r.Signature)
				if err != nil {
					t.Fatal(err)
				}
				if b.Hosts != 2 || len(b.HostList) != 2 {
					t.Errorf("%s: bucket %q has %d hosts, want 2", f.name, b.Title, b.Hosts)
				}
				var sum int64
				for _, d := range b.Days {
					sum += d.Count
				}
				if sum != b.Count {
					t.Errorf("%s: bucket %q: days add up to %d, count %d", f.name, b.Title, sum, b.Count)
				}
				if r.Release != nil {
					found := false
					for _, k := range b.Kernels {
						found = found || k.Name == *r.Release
					}
					if !found {
						t.Errorf("%s: bucket %q lacks kernel %s: %+v", f.name, b.Title, *r.Release, b.Kernels)
					}
				}
				for _, m := range f.d.Matches {
					for _, ri := range m.Reports {
						if ri == i && (m.Confidence == "exact" || b.KBID == nil) {
							if b.KBID == nil || (m.Confidence == "exact" && *b.KBID != m.ID) {
								t.Errorf("%s: bucket %q kb_id %v, want %s", f.name, b.Title, b.KBID, m.ID)
							}
						}
					}
				}
				if len(b.Samples) == 0 || len(b.Samples) > store.DefaultSampleCap {
					t.Errorf("%s: bucket %q keeps %d samples", f.name, b.Title, len(b.Samples))
				}
				var sd triage.Diagnosis
				if err := json.Unmarshal(b.Samples[0].Diagnosis, &sd); err != nil || len(sd.Reports) != 1 || sd.Reports[0].Signature != r.Signature {
					t.Errorf("%s: bucket %q sample is not its report: %v", f.name, b.Title, err)
				}
			}
		}
		days, err := s.FleetDays(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, d := range days {
			sum += d.Count
		}
		if sum != events {
			t.Errorf("fleet days add up to %d, want %d", sum, events)
		}
		if _, err := s.Bucket(ctx, "nope"); err == nil {
			t.Error("Bucket(nope) succeeded")
		}
	})
}

func TestSampleCap(t *testing.T) {
	f := loadFixtures(t)[0]
	databases(t, func(t *testing.T, s *store.Store) {
		s.SampleCap = 2
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			if _, err := s.Ingest(ctx, store.Submission{Group: "g", Key: fmt.Sprint(i), Host: "h", Kind: "json", Diagnosis: f.d}); err != nil {
				t.Fatal(err)
			}
		}
		b, err := s.Bucket(ctx, f.d.Reports[0].Signature)
		if err != nil {
			t.Fatal(err)
		}
		if b.Count != 5 || len(b.Samples) != 2 {
			t.Errorf("count %d, samples %d; want 5 and 2", b.Count, len(b.Samples))
		}
	})
}

// TestConcurrentRetries sends one key from many goroutines at once: one
// event, and every other answer a replay of the same submission.
func TestConcurrentRetries(t *testing.T) {
	f := loadFixtures(t)[0]
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 8
		acks := make([]*store.Ack, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				acks[i], errs[i] = s.Ingest(ctx, store.Submission{Group: "g", Key: "same", Host: "h", Kind: "json", Diagnosis: f.d})
			}()
		}
		wg.Wait()
		fresh := 0
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !acks[i].Replayed {
				fresh++
			}
			if acks[i].Submission != acks[0].Submission {
				t.Errorf("ack %d names submission %d, ack 0 %d", i, acks[i].Submission, acks[0].Submission)
			}
		}
		if fresh != 1 {
			t.Errorf("%d fresh acknowledgements, want 1", fresh)
		}
		b, err := s.Bucket(ctx, f.d.Reports[0].Signature)
		if err != nil {
			t.Fatal(err)
		}
		if b.Count != expected([]fixture{f}, 1)[b.Signature] {
			t.Errorf("count %d after %d concurrent retries", b.Count, n)
		}
	})
}

// BenchmarkIngestJSON measures ingesting diagnosed documents, each its own
// committed transaction.
func BenchmarkIngestJSON(b *testing.B) {
	fs := loadFixtures(b)
	for _, db := range []struct {
		name string
		url  func() string
	}{
		{"sqlite", func() string { return "sqlite:" + filepath.Join(b.TempDir(), "fleet.db") }},
		{"postgres", func() string { return pgtest.Start(b) }},
	} {
		b.Run(db.name, func(b *testing.B) {
			s, err := store.Open(context.Background(), db.url())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			reports := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := fs[i%len(fs)]
				reports += len(f.d.Reports)
				if _, err := s.Ingest(context.Background(), store.Submission{Group: "g", Key: fmt.Sprint(i), Host: fmt.Sprint("h", i%50), Kind: "json", Diagnosis: f.d}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(reports)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

func TestKeyReused(t *testing.T) {
	fs := loadFixtures(t)
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sub := store.Submission{Group: "g", Key: "k", Host: "h", Kind: "json", Digest: "json:1", Diagnosis: fs[0].d}
		if _, err := s.Ingest(ctx, sub); err != nil {
			t.Fatal(err)
		}
		other := sub
		other.Digest, other.Diagnosis = "json:2", fs[1].d
		if _, err := s.Ingest(ctx, other); !errors.Is(err, store.ErrKeyReused) {
			t.Errorf("key reused for another document: err %v, want ErrKeyReused", err)
		}
		// The same key in another token group is another submission.
		other.Group = "g2"
		if ack, err := s.Ingest(ctx, other); err != nil || ack.Replayed {
			t.Errorf("same key, other group: %+v %v", ack, err)
		}
	})
}

// TestIngestBatch commits submissions together; one that fails is undone
// alone.
func TestIngestBatch(t *testing.T) {
	fs := loadFixtures(t)
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := store.Submission{Group: "g", Key: "a", Host: "h", Kind: "json", Digest: "1", Diagnosis: fs[0].d}
		reused := a
		reused.Digest, reused.Diagnosis = "2", fs[1].d
		broken := store.Submission{Group: "g", Key: "b", Host: "h", Kind: "json", Digest: "3"}
		c := store.Submission{Group: "g", Key: "c", Host: "h", Kind: "json", Digest: "4", Diagnosis: fs[1].d}
		acks, errs := s.IngestBatch(ctx, []store.Submission{a, reused, broken, c, a})
		for i, tc := range []struct {
			fail, replayed bool
		}{{false, false}, {true, false}, {true, false}, {false, false}, {false, true}} {
			if (errs[i] != nil) != tc.fail {
				t.Errorf("submission %d: err %v, want failure %v", i, errs[i], tc.fail)
			}
			if !tc.fail && (acks[i] == nil || acks[i].Replayed != tc.replayed) {
				t.Errorf("submission %d: ack %+v, want replayed %v", i, acks[i], tc.replayed)
			}
		}
		if !errors.Is(errs[1], store.ErrKeyReused) {
			t.Errorf("reused key: %v", errs[1])
		}
		tot, err := s.Totals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := expected([]fixture{fs[0], fs[1]}, 1)
		var events int64
		for _, n := range want {
			events += n
		}
		if tot.Submissions != 2 || tot.Events != events {
			t.Errorf("totals %+v, want 2 submissions and %d events", tot, events)
		}
		// The failed key is free: submitted right, it counts.
		broken.Diagnosis = fs[2].d
		if ack, err := s.Ingest(ctx, broken); err != nil || ack.Replayed {
			t.Errorf("the failed submission again: %+v %v", ack, err)
		}
	})
}

// TestProbablyFixed: on each database, a host's boot on a kernel newer than
// every kernel a bucket crashed on, after its last crash there, makes the
// bucket probably fixed in it; an older kernel's boot does not.
func TestProbablyFixed(t *testing.T) {
	fs := loadFixtures(t)
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var f fixture
		for _, x := range fs {
			if len(x.d.Reports) > 0 && x.d.Reports[0].Release != nil {
				f = x
				break
			}
		}
		if f.d == nil {
			t.Fatal("no fixture names its kernel")
		}
		t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		ack, err := s.Ingest(ctx, store.Submission{Group: "g", Key: "k", Host: "h1", Kind: "json", Received: t0, Diagnosis: f.d})
		if err != nil {
			t.Fatal(err)
		}
		sig := ack.Reports[0].Signature
		crashed := *f.d.Reports[0].Release
		if err := s.RecordBoot(ctx, "h1", crashed, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if fx, err := s.ProbablyFixed(ctx, sig); err != nil || fx.Kernel != "" {
			t.Errorf("rebooted on the crashed kernel: %+v %v", fx, err)
		}
		newer := crashed + ".1"
		if err := s.RecordBoot(ctx, "h1", newer, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordBoot(ctx, "h1", newer, t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if fx, err := s.ProbablyFixed(ctx, sig); err != nil || fx.Kernel != newer || fx.Hosts != 1 {
			t.Errorf("booted %s: %+v %v", newer, fx, err)
		}
		if err := s.RecordBoot(ctx, "", newer, t0); err == nil {
			t.Error("a boot without a host was recorded")
		}
	})
}

// TestBatchPathsAgree ingests one stream of submissions twice: in batches
// (the multi-row path) and one at a time (the per-submission path, as a
// batch that fails falls back to). Every table must end the same: buckets
// and their counters, breakdowns, events and samples. The stream has hot
// and new buckets, a report several times, documents of several reports,
// hosts and days, replays of earlier keys, and more events of one bucket
// than the sample cap.
func TestBatchPathsAgree(t *testing.T) {
	fs := loadFixtures(t)
	var stream []store.Submission
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i := range 150 {
		f := fs[(i*7)%len(fs)]
		stream = append(stream, store.Submission{Group: "g", Key: fmt.Sprint("k", i), Host: fmt.Sprint("h", i%9), Kind: "json",
			Digest: fmt.Sprint("d", i), Received: base.Add(time.Duration(i) * 7 * time.Hour), Diagnosis: f.d})
		if i%11 == 5 {
			// A retry of an earlier submission (same key, same document).
			stream = append(stream, stream[i/2])
		}
	}
	databases(t, func(t *testing.T, batched *store.Store) {
		single, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "single.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer single.Close()
		ctx := context.Background()
		var batchAcks, singleAcks []*store.Ack
		for start := 0; start < len(stream); start += 16 {
			chunk := stream[start:min(len(stream), start+16)]
			acks, errs := batched.IngestBatch(ctx, chunk)
			for i := range chunk {
				if errs[i] != nil {
					t.Fatalf("batch ingest %d: %v", start+i, errs[i])
				}
				batchAcks = append(batchAcks, acks[i])
			}
		}
		for i, sub := range stream {
			ack, err := single.Ingest(ctx, sub)
			if err != nil {
				t.Fatalf("ingest %d: %v", i, err)
			}
			singleAcks = append(singleAcks, ack)
		}
		for i := range stream {
			a, b := *batchAcks[i], *singleAcks[i]
			a.Submission, b.Submission = 0, 0
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("submission %d: batched ack %s, single %s", i, ja, jb)
			}
		}
		for _, q := range []string{
			"SELECT signature, sig_version, title, type, COALESCE(guilty_function, ''), alt_titles, count, first_seen, last_seen, COALESCE(kb_id, ''), COALESCE(workaround, '') FROM buckets",
			"SELECT signature, day, count FROM bucket_days",
			"SELECT signature, host, count, first_seen, last_seen FROM bucket_hosts",
			"SELECT signature, kernel, count, first_seen, last_seen FROM bucket_kernels",
			"SELECT signature, tainted, count FROM bucket_taints",
			"SELECT signature, module, count FROM bucket_modules",
			"SELECT e.signature, e.host, COALESCE(e.kernel, ''), COALESCE(e.tainted, ''), e.seen_at, e.occurrences, s.idem_key FROM events e JOIN submissions s ON s.id = e.submission_id",
			"SELECT m.signature, m.host, m.seen_at, m.diagnosis, s.idem_key FROM samples m JOIN submissions s ON s.id = m.submission_id",
			"SELECT grp, idem_key, host, kind, digest, received_at, n_reports FROM submissions",
		} {
			a, b := dump(t, batched, q), dump(t, single, q)
			if len(a) == 0 {
				t.Errorf("%s: no rows", q)
			}
			if strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%s: %d rows batched, %d one at a time; first difference:\n%s", q, len(a), len(b), firstDiff(a, b))
			}
		}
	})
}

// dump returns a query's rows, each its columns joined, sorted.
func dump(t *testing.T, s *store.Store, q string) []string {
	t.Helper()
	rows, err := s.DB().Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts = append(parts, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("batched: %.300s\nsingle:  %.300s", x, y)
		}
	}
	return ""
}

// TestRelatedBuckets: buckets that share a title, or whose alternative
// titles hold another's title, list each other as related (one bug under
// two signatures is shown, not split silently); a title that only looks
// like another to LIKE's wildcards is not related.
func TestRelatedBuckets(t *testing.T) {
	fs := loadFixtures(t)
	var base *triage.Diagnosis
	for _, f := range fs {
		if len(f.d.Reports) == 1 && len(f.d.Reports[0].Frames) > 2 {
			base = f.d
			break
		}
	}
	if base == nil {
		t.Fatal("no single-report fixture")
	}
	variant := func(title string, alt []string, fn string) *triage.Diagnosis {
		raw, _ := json.Marshal(base)
		var d triage.Diagnosis
		json.Unmarshal(raw, &d)
		r := d.Reports[0]
		r.Title, r.AltTitles, r.GuiltyFunction = title, alt, &fn
		r.Signature = oops.Signature(r.Type, r.GuiltyFunction, r.Frames)
		return &d
	}
	title := base.Reports[0].Title
	docs := []*triage.Diagnosis{
		base,
		variant(title, nil, "other_caller_fn"), // same title, another signature
		variant("BUG: a newer title", []string{title}, "renamed_fn"),  // the title among its alternatives
		variant(strings.Replace(title, " ", "_", 1), nil, "decoy_fn"), // LIKE's "_" would match a space
	}
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i, d := range docs {
			if _, err := s.Ingest(ctx, store.Submission{Group: "g", Key: fmt.Sprint("rel", i), Host: "h", Kind: "json", Digest: fmt.Sprint(i), Diagnosis: d}); err != nil {
				t.Fatal(err)
			}
		}
		sigs := func(bs []store.Bucket) []string {
			var out []string
			for _, b := range bs {
				out = append(out, b.Signature)
			}
			sort.Strings(out)
			return out
		}
		want := []string{docs[1].Reports[0].Signature, docs[2].Reports[0].Signature}
		sort.Strings(want)
		b, err := s.Bucket(ctx, base.Reports[0].Signature)
		if err != nil {
			t.Fatal(err)
		}
		if got := sigs(b.Related); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("related %v, want %v", got, want)
		}
		decoy, err := s.Bucket(ctx, docs[3].Reports[0].Signature)
		if err != nil || len(decoy.Related) != 0 {
			t.Errorf("the decoy's related: %v, %v", sigs(decoy.Related), err)
		}
	})
}
