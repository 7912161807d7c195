package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/fleet/jobs"
	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
)

func newServeCmd() *cobra.Command {
	var (
		dbURL, listen, tokens, kbDir, tmpDir string
		ncAddr, ncAllow, ncGroup             string
		maxBody                              int64
		rate                                 float64
		burst, samples                       int
		workerOnly                           bool
		workers                              int
		jobTimeout, rescueAfter              time.Duration
		maxUpload                            int64
	)
	cmd := &cobra.Command{
		Use:   "serve --tokens FILE [--db URL] [--listen ADDR]",
		Short: "Run the fleet service: crash ingest API, buckets, dashboard",
		Long: `serve keeps the fleet's crashes in buckets by signature: hosts submit logs
or analyze --json documents (ktriage submit) to POST /api/reports, and
GET /api/buckets, GET /api/buckets/{signature}, the dashboard at / and
/metrics read them. Every request needs "Authorization: Bearer TOKEN" with a
token from --tokens (one "TOKEN GROUP" per line; the group "readonly" may only
read). --db is sqlite:PATH (embedded, the default) or postgres://…; the schema
is migrated on start. --netconsole ADDR also receives the kernel's netconsole
(plain or extended) over UDP from the networks --netconsole-allow lists: each
crash it assembles is one event of the sending host.

A vmcore or a kdump directory (a tar) posted to /api/reports is stored in the
database and analyzed by a river job: by --workers of this process, or by
"ktriage serve --worker" processes on other machines sharing one PostgreSQL.
--worker runs no API, only jobs. A job whose worker dies is run again by
another after --rescue-after.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workerOnly {
				return runWorker(cmd, dbURL, kbDir, tmpDir, max(workers, 1), jobTimeout, rescueAfter)
			}
			if tokens == "" {
				return errors.New(`required flag "tokens" not set`)
			}
			f, err := os.Open(tokens)
			if err != nil {
				return fmt.Errorf("--tokens: %w", err)
			}
			tok, err := server.ParseTokens(f, tokens)
			f.Close()
			if err != nil {
				return err
			}
			k, err := kb.Load(kbDir)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := store.Open(ctx, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			st.SampleCap = samples
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			q, err := jobs.Open(context.WithoutCancel(ctx), st, jobs.Options{Workers: workers, JobTimeout: jobTimeout, RescueAfter: rescueAfter,
				TempDir: tmpDir, KB: k, Logger: log})
			if err != nil {
				return err
			}
			defer stopJobs(q)
			h, err := server.New(st, server.Options{Tokens: tok, MaxBody: maxBody, Rate: rate, Burst: burst, TempDir: tmpDir, KB: k, Logger: log,
				Jobs: q, MaxUpload: maxUpload})
			if err != nil {
				return err
			}
			// After Shutdown (deferred calls run last first): every
			// answered ingest is committed by then.
			defer h.Close()
			if ncAddr != "" {
				allow, err := parsePrefixes(ncAllow)
				if err != nil {
					return err
				}
				rc, err := netconsoleIngest(ctx, ncAddr, allow, ncGroup, st, k, log)
				if err != nil {
					return fmt.Errorf("--netconsole: %w", err)
				}
				// Before the store closes: held reports are ingested.
				defer rc.Close()
				if err := h.Register(netconsoleMetrics(rc)...); err != nil {
					return err
				}
				log.Info("netconsole listening", "addr", rc.Addr().String())
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
			log.Info("ktriage fleet serving", "addr", ln.Addr().String(), "db", st.Dialect())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			// Let ingests in flight commit and answer.
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dbURL, "db", "sqlite:ktriage-fleet.db", "database: sqlite:PATH or postgres://user@host/db")
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&tokens, "tokens", "", `file of accepted tokens, one "TOKEN GROUP" per line (required)`)
	fl.StringVar(&kbDir, "kb-dir", "", "a directory of knowledge-base entries to add to the built-in ones")
	fl.StringVar(&tmpDir, "tmp", "", "directory for uploads being analyzed (default: the system's)")
	fl.Int64Var(&maxBody, "max-body", server.DefaultMaxBody, "largest request body in bytes")
	fl.Float64Var(&rate, "rate", server.DefaultRate, "requests a second per token (negative: no limit)")
	fl.IntVar(&burst, "burst", server.DefaultBurst, "requests a token may make at once before --rate applies")
	fl.IntVar(&samples, "samples", store.DefaultSampleCap, "raw samples kept per bucket (counters are kept forever)")
	fl.StringVar(&ncAddr, "netconsole", "", "also receive netconsole (plain or extended) on this UDP address, e.g. 0.0.0.0:6666")
	fl.StringVar(&ncAllow, "netconsole-allow", "", "networks netconsole is accepted from, comma-separated (required with --netconsole)")
	fl.StringVar(&ncGroup, "netconsole-group", "netconsole", "the host group netconsole reports are recorded under")
	fl.BoolVar(&workerOnly, "worker", false, "run no API: only work the queue's jobs (vmcore and kdump uploads)")
	fl.IntVar(&workers, "workers", 1, "jobs this process works at once (0: none; leave them to --worker processes)")
	fl.DurationVar(&jobTimeout, "job-timeout", jobs.DefaultJobTimeout, "longest one job may run")
	fl.DurationVar(&rescueAfter, "rescue-after", 0, "a job running this long is taken for its worker's death and run again (default: --job-timeout + 15m)")
	fl.Int64Var(&maxUpload, "max-upload", server.DefaultMaxUpload, "largest vmcore or kdump tar upload in bytes")
	return cmd
}

// runWorker works the queue's jobs until interrupted: serve --worker.
func runWorker(cmd *cobra.Command, dbURL, kbDir, tmpDir string, workers int, jobTimeout, rescueAfter time.Duration) error {
	k, err := kb.Load(kbDir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	// The queue's own context outlives the signal: Stop lets running jobs
	// finish.
	q, err := jobs.Open(context.WithoutCancel(ctx), st, jobs.Options{Workers: workers, JobTimeout: jobTimeout, RescueAfter: rescueAfter,
		TempDir: tmpDir, KB: k, Logger: log})
	if err != nil {
		return err
	}
	log.Info("ktriage fleet worker running", "db", st.Dialect(), "workers", workers)
	<-ctx.Done()
	stopJobs(q)
	return nil
}

// stopJobs lets running jobs finish for up to a minute; one cut short is
// run again by another worker.
func stopJobs(q *jobs.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q.Stop(ctx)
}
