package jobs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/jobs"
	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/internal/pgtest"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/submit"
	"github.com/ktriage/ktriage/triage"
)

const token = "jobs-token-0123456789abcdef"

// databases runs f on a fresh SQLite file and a throwaway PostgreSQL.
func databases(t *testing.T, f func(t *testing.T, dbURL string)) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "fleet.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			f(t, db.url(t))
		})
	}
}

type env struct {
	st     *store.Store
	q      *jobs.Queue
	client *submit.Client
	tmp    string // the workers' temporary directory
}

func newEnv(t *testing.T, dbURL string, maxUpload int64) *env {
	return newEnvOpt(t, dbURL, maxUpload, jobs.Options{})
}

// newEnvOpt is newEnv with the queue's options (workers, poll interval and
// temporary directory set here).
func newEnvOpt(t *testing.T, dbURL string, maxUpload int64, opt jobs.Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmp := t.TempDir()
	opt.Workers, opt.PollInterval, opt.TempDir = 2, 100*time.Millisecond, tmp
	q, err := jobs.Open(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	tok, err := server.ParseTokens(strings.NewReader(token+" lab\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(st, server.Options{Tokens: tok, Rate: -1, TempDir: t.TempDir(), Jobs: q, MaxUpload: maxUpload})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &env{st: st, q: q, tmp: tmp, client: &submit.Client{Server: ts.URL, Token: token, Attempts: 1}}
}

// send submits path under key and follows its job to its end.
func (e *env) send(t *testing.T, path, key string) (*submit.Ack, *submit.Ack, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, err := e.client.SubmitFileKey(ctx, path, "web-1", key)
	if err != nil {
		return nil, nil, err
	}
	if first.Job == 0 {
		t.Fatalf("%s: answered %d without a job: %+v", path, first.Status, first)
	}
	done, err := e.client.Wait(ctx, first.Job, 50*time.Millisecond)
	return first, done, err
}

func signatures(reps []submit.Report) []string {
	var s []string
	for _, r := range reps {
		s = append(s, r.Signature)
	}
	slices.Sort(s)
	return s
}

// TestUploads sends a kdump directory (as a tar) and a bare vmcore of the
// real 6.1 fixtures through the API: each is answered 202 with a job, a
// worker analyzes it, and its buckets are those analyze gives for the same
// input. The key sent again is the same job and no second event. A tar
// whose member climbs out of its directory fails its job, naming the
// member and offset, and writes nothing; an upload over the limit is 413.
func TestUploads(t *testing.T) {
	kdumpDir := testshared.Path(t, "fixtures/vmcore/warn-kdump")
	vmcore := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	want := map[string][]string{}
	for _, p := range []string{kdumpDir, vmcore} {
		d, err := triage.Analyze([]string{p}, triage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Reports {
			want[p] = append(want[p], r.Signature)
		}
		slices.Sort(want[p])
		if len(want[p]) == 0 {
			t.Fatalf("%s: analyze finds no crash", p)
		}
	}
	databases(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, 0)
		for _, p := range []string{kdumpDir, vmcore} {
			first, done, err := e.send(t, p, "key-"+filepath.Base(p))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if first.Status != 202 || first.State != "queued" {
				t.Errorf("%s: first answer %d %q, want 202 queued", p, first.Status, first.State)
			}
			if got := signatures(done.Reports); !slices.Equal(got, want[p]) {
				t.Errorf("%s: job's buckets %v, analyze's %v", p, got, want[p])
			}
			// Sent again under its key: the same job, done, no new event.
			again, err := e.client.SubmitFileKey(context.Background(), p, "web-1", "key-"+filepath.Base(p))
			if err != nil || again.Status != 200 || again.Job != first.Job || again.State != "done" {
				t.Errorf("%s sent again: %+v, %v", p, again, err)
			}
		}
		tot, err := e.st.Totals(context.Background())
		if err != nil || tot.Submissions != 2 {
			t.Errorf("%d submissions, want 2 (%v)", tot.Submissions, err)
		}

		// A hostile tar: a member that climbs out, then one that would
		// be a crash log. Nothing is written outside the job's directory.
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, m := range []struct{ name, body string }{{"vmcore-dmesg.txt", "ok\n"}, {"../escape.txt", "out\n"}} {
			tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(m.body))
		}
		tw.Close()
		bad := filepath.Join(t.TempDir(), "bad.tar")
		os.WriteFile(bad, b.Bytes(), 0o644)
		_, done, err := e.send(t, bad, "key-bad")
		if err == nil || done == nil || done.State != "failed" || !strings.Contains(done.Error, `"../escape.txt"`) || !strings.Contains(done.Error, "tar offset 1024") {
			t.Errorf("hostile tar: %+v, %v", done, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(e.tmp), "escape.txt")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the hostile member was written: %v", err)
		}
		if ents, _ := os.ReadDir(e.tmp); len(ents) != 0 {
			t.Errorf("the workers left %d entries in their temporary directory", len(ents))
		}
	})
}

// TestUploadLimit: an upload over --max-upload is refused with 413, and
// nothing of it is kept.
func TestUploadLimit(t *testing.T) {
	vmcore := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), 5<<20)
	_, err := e.client.SubmitFileKey(context.Background(), vmcore, "web-1", "too-big")
	var se *submit.Error
	if !errors.As(err, &se) || se.Status != 413 {
		t.Fatalf("an upload over the limit: %v, want 413", err)
	}
	if _, err := e.st.UploadByJob(context.Background(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a job was queued for a refused upload: %v", err)
	}
}

// TestHelperWorker is a worker process TestWorkerKill starts; run alone it
// does nothing. With KTRIAGE_JOBS_HOLD it marks the job it takes and holds
// it until killed.
func TestHelperWorker(t *testing.T) {
	dbURL := os.Getenv("KTRIAGE_JOBS_DB")
	if dbURL == "" {
		t.Skip("the worker process of TestWorkerKill")
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	hold := os.Getenv("KTRIAGE_JOBS_HOLD")
	opt := jobs.Options{Workers: 1, PollInterval: 100 * time.Millisecond, JobTimeout: 5 * time.Second, RescueAfter: 6 * time.Second, TempDir: os.TempDir()}
	if hold != "" {
		opt.BeforeWork = func(ctx context.Context, up *store.Upload) {
			os.WriteFile(hold, []byte("taken"), 0o644)
			time.Sleep(time.Hour) // until killed
		}
	}
	if _, err := jobs.Open(context.Background(), st, opt); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}

// TestWorkerKill: a worker takes a job and is killed with SIGKILL in the
// middle of it; another worker process, against the same database, runs it
// again once river's rescuer (set to seconds) takes the first for dead, and
// the crash is counted once.
func TestWorkerKill(t *testing.T) {
	if os.Getenv("KTRIAGE_JOBS_DB") != "" {
		t.Skip("in the helper process")
	}
	log, err := os.ReadFile("../../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "vmcore-dmesg.txt", Mode: 0o644, Size: int64(len(log)), Typeflag: tar.TypeReg})
	tw.Write(log)
	tw.Close()
	databases(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		st, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		q, err := jobs.Open(ctx, st, jobs.Options{}) // enqueues only
		if err != nil {
			t.Fatal(err)
		}
		start := func(hold string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$")
			cmd.Env = append(os.Environ(), "KTRIAGE_JOBS_DB="+dbURL, "KTRIAGE_JOBS_HOLD="+hold)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
				if t.Failed() {
					t.Logf("worker (hold %q) said:\n%s", hold, out.String())
				}
			})
			return cmd
		}
		taken := filepath.Join(t.TempDir(), "taken")
		first := start(taken)
		up, _, err := q.Save(ctx, store.Upload{Group: "lab", Key: "kill-1", Host: "web-1", Kind: jobs.KindKdump}, bytes.NewReader(b.Bytes()), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := os.Stat(taken); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first worker never took the job")
			}
			time.Sleep(20 * time.Millisecond)
		}
		second := start("")
		first.Process.Kill() // SIGKILL, mid-job
		first.Wait()
		killed := time.Now()
		for {
			got, err := st.GetUpload(ctx, up.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == store.UploadDone {
				t.Logf("%s: job %d done by the second worker %.1f s after the kill, attempt %d", dbURL[:6], got.Job, time.Since(killed).Seconds(), got.Attempts)
				if got.Attempts != 2 || got.Ack == nil || len(got.Ack.Reports) != 1 {
					t.Errorf("done after %d attempts with %+v; want 2 attempts and 1 report", got.Attempts, got.Ack)
				}
				break
			}
			if got.State == store.UploadFailed || time.Since(killed) > 90*time.Second {
				t.Fatalf("after the kill: %+v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = second
		bs, err := st.Buckets(ctx, store.SortCount, 0)
		if err != nil || len(bs) != 1 || bs[0].Count != 1 {
			t.Errorf("buckets after the kill: %+v %v; want one crash counted once", bs, err)
		}
	})
}

// waitUpload polls upload id until it is done or failed.
func waitUpload(t *testing.T, st *store.Store, id int64) *store.Upload {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		up, err := st.GetUpload(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if up.State == store.UploadDone || up.State == store.UploadFailed {
			return up
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload %d still %s after a minute (%d attempts)", id, up.State, up.Attempts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestJobPanic: an upload whose analysis panics is failed on its first
// attempt, its error naming it and the panic; it stayed queued while river
// retried it five times, then for ever.
func TestJobPanic(t *testing.T) {
	databases(t, func(t *testing.T, dbURL string) {
		e := newEnvOpt(t, dbURL, 0, jobs.Options{BeforeWork: func(ctx context.Context, up *store.Upload) {
			panic(fmt.Sprintf("a bug analyzing upload %d", up.ID))
		}})
		up, _, err := e.q.Save(context.Background(), store.Upload{Group: "lab", Key: "panic-1", Host: "web-1", Kind: jobs.KindKdump},
			bytes.NewReader(kdumpTar(t, "x\n")), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got := waitUpload(t, e.st, up.ID)
		if got.State != store.UploadFailed || got.Attempts != 1 || !strings.Contains(got.Error, fmt.Sprintf("upload %d: the analysis failed (panic: a bug analyzing upload %d)", up.ID, up.ID)) {
			t.Errorf("after a panic: %s after %d attempts: %q", got.State, got.Attempts, got.Error)
		}
	})
}

// TestJobGivesUp: a job that fails for another reason than its input (a
// chunk missing from the database) is retried, and after its last attempt
// its upload is failed, saying so, rather than left queued.
func TestJobGivesUp(t *testing.T) {
	vmcore := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	data, err := os.ReadFile(vmcore)
	if err != nil {
		t.Fatal(err)
	}
	databases(t, func(t *testing.T, dbURL string) {
		hold := make(chan struct{})
		e := newEnvOpt(t, dbURL, 0, jobs.Options{MaxAttempts: 2, BeforeWork: func(ctx context.Context, up *store.Upload) { <-hold }})
		up, _, err := e.q.Save(context.Background(), store.Upload{Group: "lab", Key: "gone-1", Host: "web-1", Kind: jobs.KindVmcore},
			bytes.NewReader(data), 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		del := "DELETE FROM upload_chunks WHERE upload_id = ? AND seq = 1"
		if e.st.Dialect() == "postgres" {
			del = strings.Replace(del, "?", "$1", 1)
		}
		if _, err := e.st.DB().Exec(del, up.ID); err != nil {
			t.Fatal(err)
		}
		close(hold)
		got := waitUpload(t, e.st, up.ID)
		if got.State != store.UploadFailed || got.Attempts != 2 || !strings.Contains(got.Error, "gave up after 2 attempts") || !strings.Contains(got.Error, "chunk 1 missing") {
			t.Errorf("a job failing every attempt: %s after %d attempts: %q", got.State, got.Attempts, got.Error)
		}
	})
}

// TestTruncatedVmcore: a dump cut short. Cut inside its header it fails
// at once (cancelled, one attempt), naming the upload and the offset; cut
// inside its pages it gives no crash, and fails saying the dump is
// truncated and where, rather than being done with no reports.
func TestTruncatedVmcore(t *testing.T) {
	vmcore := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	data, err := os.ReadFile(vmcore)
	if err != nil {
		t.Fatal(err)
	}
	databases(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, 0)
		for _, c := range []struct {
			n    int
			want string
		}{
			{4096, "upload: offset 4096 (0x1000): file ends (size 4096) inside the kdump header"},
			{1 << 20, "no crash found in what could be read: upload: offset 447728: a page descriptor's data ends at offset 16247571, past the end of the file (size 1048576): the dump is truncated"},
		} {
			up, _, err := e.q.Save(context.Background(), store.Upload{Group: "lab", Key: fmt.Sprint("cut-", c.n), Host: "web-1", Kind: jobs.KindVmcore},
				bytes.NewReader(data[:c.n]), 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			got := waitUpload(t, e.st, up.ID)
			if got.State != store.UploadFailed || got.Attempts != 1 || !strings.Contains(got.Error, fmt.Sprintf("analyzing upload %d: ", up.ID)) || !strings.Contains(got.Error, c.want) {
				t.Errorf("cut at %d: %s after %d attempts: %q", c.n, got.State, got.Attempts, got.Error)
			}
		}
	})
}

func kdumpTar(t *testing.T, dmesg string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "vmcore-dmesg.txt", Mode: 0o644, Size: int64(len(dmesg)), Typeflag: tar.TypeReg})
	tw.Write([]byte(dmesg))
	tw.Close()
	return b.Bytes()
}

// TestSweepOnStart: an upload a dead request left receiving an hour ago is
// deleted by the periodic sweep the workers' leader runs when it starts.
func TestSweepOnStart(t *testing.T) {
	databases(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		st, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.DB().Exec(`INSERT INTO uploads (grp, idem_key, host, kind, digest, size, received_at, state, attempts, touched_at)
			VALUES ('lab', 'dead', 'h', 'vmcore', 'nonce', 0, 1, 'receiving', 0, 1)`); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.Open(ctx, st, jobs.Options{Workers: 1, PollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		for deadline := time.Now().Add(60 * time.Second); ; {
			var n int
			st.DB().QueryRow("SELECT COUNT(*) FROM uploads").Scan(&n)
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the stale upload is still there a minute after the workers started")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
