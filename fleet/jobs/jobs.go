// Package jobs does the fleet's slow work, the analysis of an uploaded
// vmcore or kdump directory, as river jobs kept in the fleet's own database
// (river's SQLite driver on one machine, its PostgreSQL driver when several
// `ktriage serve --worker` share one database). An upload is stored in the
// database and its job enqueued in one transaction, so any worker can take
// it; a job whose worker dies is rescued by river after RescueAfter and run
// again elsewhere, and finishing it is idempotent (the upload's key is its
// submission's), so a job run twice still counts its crash once.
package jobs

import (
	"archive/tar"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/triage"
)

// The kinds of upload a job analyzes.
const (
	KindVmcore = "vmcore" // a dump in any format dump reads
	KindKdump  = "kdump"  // a tar of a kdump directory (vmcore, vmcore-dmesg.txt …)
)

// Sniff tells from an upload's first bytes whether it is work for a job,
// and of which kind: "" for what is analyzed at once (a log, a transcript,
// a JSON document).
func Sniff(head []byte) string {
	if dump.Sniff(head) != "" {
		return KindVmcore
	}
	// POSIX and GNU tar both put "ustar" at offset 257 of the first header.
	if len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")) {
		return KindKdump
	}
	return ""
}

// Defaults.
const (
	DefaultJobTimeout = 30 * time.Minute
	// DefaultMaxUnpacked bounds what a kdump directory's tar unpacks to.
	DefaultMaxUnpacked = 64 << 30
	maxTarFiles        = 2000
	// maxTarDepth and maxTarName bound a member's path: a kdump directory
	// is flat, and a tree thousands of directories deep cannot even be
	// removed by os.RemoveAll (it holds a descriptor per level).
	maxTarDepth = 16
	maxTarName  = 1024
	maxAttempts = 5
)

// Options configure a Queue.
type Options struct {
	// Workers is how many jobs this process works at once; 0 makes a
	// queue that only enqueues (an API server whose workers run elsewhere).
	Workers int
	// JobTimeout bounds one run of a job (DefaultJobTimeout).
	JobTimeout time.Duration
	// RescueAfter is how long a job may be running before river takes its
	// worker for dead and runs it again (JobTimeout + 15 minutes). It
	// must exceed JobTimeout.
	RescueAfter time.Duration
	// PollInterval is how often an idle worker looks for jobs (1 s).
	PollInterval time.Duration
	// TempDir holds an upload while it is analyzed (os.TempDir()).
	TempDir string
	// MaxUnpacked bounds the bytes a kdump tar unpacks to
	// (DefaultMaxUnpacked).
	MaxUnpacked int64
	// KB is the knowledge base reports are matched against (nil: the
	// embedded one).
	KB *kb.KB
	// Logger gets river's and the jobs' logs (none when nil).
	Logger *slog.Logger
	// MaxAttempts bounds the runs of a job that fails for other reasons
	// than its input (5); after the last the upload is failed.
	MaxAttempts int
	// BeforeWork, when set, runs as a job starts, after its attempt is
	// counted: tests use it to hold a job in flight.
	BeforeWork func(ctx context.Context, up *store.Upload)
}

// AnalyzeArgs is the job that analyzes one upload.
type AnalyzeArgs struct {
	Upload int64 `json:"upload"`
}

// Kind names the job in river's table.
func (AnalyzeArgs) Kind() string { return "ktriage_analyze_upload" }

// Queue enqueues and, with workers, works the fleet's jobs.
type Queue struct {
	st     *store.Store
	opt    Options
	client *river.Client[*sql.Tx]
}

// Open migrates river's tables in st's database and returns a queue over
// it; with Workers it starts working jobs until Stop.
func Open(ctx context.Context, st *store.Store, opt Options) (*Queue, error) {
	if opt.JobTimeout <= 0 {
		opt.JobTimeout = DefaultJobTimeout
	}
	if opt.RescueAfter <= 0 {
		opt.RescueAfter = opt.JobTimeout + 15*time.Minute
	}
	if opt.RescueAfter <= opt.JobTimeout {
		return nil, fmt.Errorf("jobs: rescue after %s must exceed the job timeout %s", opt.RescueAfter, opt.JobTimeout)
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	if opt.MaxUnpacked <= 0 {
		opt.MaxUnpacked = DefaultMaxUnpacked
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = maxAttempts
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.KB == nil {
		// Once, not per analysis: loading it takes tens of milliseconds.
		k, err := kb.Embedded()
		if err != nil {
			return nil, fmt.Errorf("jobs: knowledge base: %w", err)
		}
		opt.KB = k
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch st.Dialect() {
	case "sqlite":
		driver = riversqlite.New(st.DB())
	default:
		driver = riverdatabasesql.New(st.DB())
	}
	if err := migrate(ctx, st, driver, opt.Logger); err != nil {
		return nil, err
	}
	q := &Queue{st: st, opt: opt}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{q: q})
	river.AddWorker(workers, &sweeper{q: q})
	cfg := &river.Config{
		Logger:               opt.Logger,
		JobTimeout:           opt.JobTimeout,
		RescueStuckJobsAfter: opt.RescueAfter,
		FetchPollInterval:    opt.PollInterval,
		Workers:              workers,
	}
	if opt.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opt.Workers}}
		// The leader among the workers sweeps up what dead requests left.
		cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(SweepEvery),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	q.client = c
	if opt.Workers > 0 {
		if err := c.Start(ctx); err != nil {
			return nil, fmt.Errorf("jobs: starting workers: %w", err)
		}
	}
	return q, nil
}

// migrate brings river's tables up to date under the store's migration
// lock, so that processes starting together do not race. River runs each
// of its migrations in a transaction of its own: on PostgreSQL one adds an
// enum value that the next statement uses.
func migrate(ctx context.Context, st *store.Store, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("jobs: migrations: %w", err)
	}
	unlock, err := st.MigrationLock(ctx)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer unlock()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrating river's tables on %s: %w", st.Dialect(), err)
	}
	return nil
}

// Stop lets running jobs finish (until ctx ends) and stops working.
func (q *Queue) Stop(ctx context.Context) error {
	if q.opt.Workers == 0 {
		return nil
	}
	return q.client.Stop(ctx)
}

// Save stores an upload (at most max bytes of r) and enqueues its job in
// the transaction that makes it durable; see store.SaveUpload.
func (q *Queue) Save(ctx context.Context, up store.Upload, r io.Reader, max int64) (*store.Upload, bool, error) {
	return q.st.SaveUpload(ctx, up, r, max, func(ctx context.Context, tx *sql.Tx, id int64) (int64, error) {
		res, err := q.client.InsertTx(ctx, tx, AnalyzeArgs{Upload: id}, &river.InsertOpts{MaxAttempts: q.opt.MaxAttempts})
		if err != nil {
			return 0, err
		}
		return res.Job.ID, nil
	})
}

// SweepEvery is how often the uploads a dead request left receiving are
// looked for; SweepAfter is how long such an upload must have gone without
// a chunk (store.StaleUpload lets its key take it over far sooner).
const (
	SweepEvery = 10 * time.Minute
	SweepAfter = time.Hour
)

// SweepArgs is the periodic job that deletes stale uploads.
type SweepArgs struct{}

// Kind names the job in river's table.
func (SweepArgs) Kind() string { return "ktriage_sweep_uploads" }

// sweeper runs SweepArgs jobs.
type sweeper struct {
	river.WorkerDefaults[SweepArgs]
	q *Queue
}

// Work deletes the uploads left receiving for SweepAfter.
func (s *sweeper) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	n, err := s.q.st.SweepUploads(ctx, SweepAfter)
	if n > 0 {
		s.q.opt.Logger.Info("deleted uploads their requests left unfinished", "uploads", n)
	}
	return err
}

// worker runs AnalyzeArgs jobs.
type worker struct {
	river.WorkerDefaults[AnalyzeArgs]
	q *Queue
}

// inputError is an upload that cannot be analyzed: trying again would not
// help, so its job is cancelled rather than retried.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// Work analyzes the upload and ingests its diagnosis under the upload's
// key, so that a second run after a worker's death replays the first.
func (w *worker) Work(ctx context.Context, job *river.Job[AnalyzeArgs]) (err error) {
	st := w.q.st
	defer func() {
		// The last attempt failed: say so in the upload, or it would stay
		// queued for ever once river discards its job.
		var cancel *river.JobCancelError
		if err != nil && !errors.As(err, &cancel) && job.Attempt >= job.MaxAttempts {
			why := fmt.Sprintf("upload %d: gave up after %d attempts: %v", job.Args.Upload, job.Attempt, err)
			if ferr := st.FailUpload(context.WithoutCancel(ctx), job.Args.Upload, why); ferr != nil {
				w.q.opt.Logger.Error("marking an upload failed", "upload", job.Args.Upload, "err", ferr)
			}
		}
	}()
	up, err := st.StartUpload(ctx, job.Args.Upload)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("upload %d is gone", job.Args.Upload))
	}
	if err != nil {
		return err
	}
	if up.State == store.UploadDone || up.State == store.UploadFailed {
		return nil
	}
	d, err := w.q.run(ctx, up)
	var ie inputError
	if errors.As(err, &ie) {
		w.q.opt.Logger.Warn("upload cannot be analyzed", "upload", up.ID, "host", up.Host, "err", err)
		if ferr := st.FailUpload(ctx, up.ID, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	_, err = st.FinishUpload(ctx, up.ID, store.Submission{
		Group: up.Group, Key: up.Key, Host: up.Host, Kind: up.Kind,
		Digest: up.Kind + ":" + up.Digest, Received: up.Received, Diagnosis: d,
	})
	if errors.Is(err, store.ErrKeyReused) {
		if ferr := st.FailUpload(ctx, up.ID, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	return err
}

// run analyzes up; a panic is the upload's failure, not the worker's:
// river would recover it too, but retry the job (the same input panics
// again) and leave the upload queued.
func (q *Queue) run(ctx context.Context, up *store.Upload) (d *triage.Diagnosis, err error) {
	defer func() {
		if p := recover(); p != nil {
			q.opt.Logger.Error("analysis panicked", "upload", up.ID, "panic", p, "stack", string(debug.Stack()))
			d, err = nil, inputError{fmt.Errorf("upload %d: the analysis failed (panic: %v)", up.ID, p)}
		}
	}()
	if q.opt.BeforeWork != nil {
		q.opt.BeforeWork(ctx, up)
	}
	return q.analyze(ctx, up)
}

// analyze copies the upload out of the database into a directory of its
// own (a vmcore as a file; a kdump tar unpacked, confined to the directory)
// and diagnoses it.
func (q *Queue) analyze(ctx context.Context, up *store.Upload) (*triage.Diagnosis, error) {
	dir, err := os.MkdirTemp(q.opt.TempDir, "ktriage-job-*")
	if err != nil {
		return nil, fmt.Errorf("upload %d: %w", up.ID, err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			q.opt.Logger.Error("removing a job's directory", "upload", up.ID, "err", err)
		}
	}()
	target := filepath.Join(dir, "upload")
	switch up.Kind {
	case KindVmcore:
		f, err := os.Create(target)
		if err != nil {
			return nil, fmt.Errorf("upload %d: %w", up.ID, err)
		}
		_, err = q.st.CopyUpload(ctx, up.ID, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	case KindKdump:
		if err := os.Mkdir(target, 0o700); err != nil {
			return nil, fmt.Errorf("upload %d: %w", up.ID, err)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := q.st.CopyUpload(ctx, up.ID, pw)
			pw.CloseWithError(err)
			done <- err
		}()
		// A tar holds its members' bytes, so it unpacks to no more than
		// its own size, unless a member is sparse: such a member may not
		// expand the upload (a 10 KB tar is not a 64 GiB directory).
		uerr := untar(pr, target, min(q.opt.MaxUnpacked, up.Size))
		pr.CloseWithError(errors.New("unpacking stopped"))
		if cerr := <-done; cerr != nil && uerr == nil {
			return nil, cerr
		}
		if uerr != nil {
			return nil, inputError{fmt.Errorf("upload %d (kdump tar): %w", up.ID, uerr)}
		}
	default:
		return nil, inputError{fmt.Errorf("upload %d: unknown kind %q", up.ID, up.Kind)}
	}
	var warns []string
	d, err := triage.Analyze([]string{target}, triage.Options{KB: q.opt.KB, Warn: func(msg string) {
		warns = append(warns, strings.ReplaceAll(msg, dir+string(filepath.Separator), ""))
	}})
	if err != nil {
		return nil, inputError{fmt.Errorf("analyzing upload %d: %s", up.ID, strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))}
	}
	if len(d.Reports) == 0 && len(warns) > 0 {
		// A dump cut short that gives nothing is not "no crash": say why.
		return nil, inputError{fmt.Errorf("analyzing upload %d: no crash found in what could be read: %s", up.ID, strings.Join(warns, "; "))}
	}
	for _, w := range warns {
		q.opt.Logger.Warn("upload partly read", "upload", up.ID, "warning", w)
	}
	// The worker's temporary directory means nothing to the fleet.
	for i := range d.Inputs {
		d.Inputs[i].Path = strings.ReplaceAll(d.Inputs[i].Path, dir+string(filepath.Separator), "")
	}
	for _, rep := range d.Reports {
		rep.Source.Path = strings.ReplaceAll(rep.Source.Path, dir+string(filepath.Separator), "")
	}
	return d, nil
}

// untar unpacks a kdump directory's tar into dir through an os.Root, so
// that no member can write outside it: regular files (sparse ones
// expanded) and directories only (links, devices and FIFOs are skipped),
// at most maxTarFiles members, maxTarDepth levels and limit bytes. An
// error names the member and its offset in the tar stream.
func untar(r io.Reader, dir string, limit int64) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		// The reader has read exactly through the member's header block.
		at := cr.n - 512
		if err == io.EOF {
			if n == 0 {
				return errors.New("an empty tar")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar offset %d: %w", max(at, 0), err)
		}
		if n >= maxTarFiles {
			return fmt.Errorf("tar offset %d: more than %d members", at, maxTarFiles)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." && h.Typeflag == tar.TypeDir {
			continue
		}
		if !fs.ValidPath(name) {
			// %.256q: a PAX name may be a megabyte long.
			return fmt.Errorf("tar offset %d: member %.256q is not a path inside the directory", at, h.Name)
		}
		if len(name) > maxTarName || strings.Count(name, "/") >= maxTarDepth {
			return fmt.Errorf("tar offset %d: member %.64q…: a path of %d bytes, %d levels deep; at most %d bytes and %d levels",
				at, h.Name, len(name), strings.Count(name, "/")+1, maxTarName, maxTarDepth)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o700); err != nil {
				return fmt.Errorf("tar offset %d: member %q: %w", at, h.Name, err)
			}
		case tar.TypeReg, tar.TypeGNUSparse:
			// h.Size is what the member unpacks to, sparse or not.
			total += h.Size
			if h.Size < 0 || total > limit {
				return fmt.Errorf("tar offset %d: member %q: over the %d bytes a kdump tar may unpack to", at, h.Name, limit)
			}
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o700); err != nil {
					return fmt.Errorf("tar offset %d: member %q: %w", at, h.Name, err)
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("tar offset %d: member %q: %w", at, h.Name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("tar offset %d: member %q: %w", at, h.Name, err)
			}
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
