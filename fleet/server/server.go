// Package server is the fleet's HTTP front end: the ingest API, the JSON
// read API, a server-rendered dashboard and Prometheus metrics, every
// endpoint behind a bearer token.
package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ktriage/ktriage/fleet/api"
	"github.com/ktriage/ktriage/fleet/jobs"
	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/remedy"
	"github.com/ktriage/ktriage/triage"
)

// Defaults for Options' zero values.
const (
	DefaultMaxBody = 64 << 20
	DefaultRate    = 10
	DefaultBurst   = 50
	// maxReports bounds the reports one JSON document may carry.
	maxReports = 10000
	maxKeyLen  = 200
	maxHostLen = 255
)

// Options configure a Server.
type Options struct {
	// Tokens are the accepted bearer tokens; required.
	Tokens *Tokens
	// MaxBody bounds a request body in bytes (DefaultMaxBody).
	MaxBody int64
	// Rate and Burst bound each token's requests a second (DefaultRate,
	// DefaultBurst); a negative Rate turns the limit off.
	Rate  float64
	Burst int
	// TempDir holds uploaded logs while they are analyzed (os.TempDir()).
	TempDir string
	// KB is the knowledge base raw logs are matched against (nil: the
	// embedded one).
	KB *kb.KB
	// Logger gets internal errors, which clients never see (slog.Default()).
	Logger *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
	// Jobs, when set, takes uploads that take time (a vmcore, a kdump
	// directory's tar): they are stored and analyzed by a worker, and
	// answered 202 with their job. Without it they are analyzed at once.
	Jobs *jobs.Queue
	// MaxUpload bounds such an upload in bytes (DefaultMaxUpload).
	MaxUpload int64
}

// DefaultMaxUpload bounds an upload a job analyzes: a kdump-compressed
// dump of a large host.
const DefaultMaxUpload = 16 << 30

// Server serves the fleet API and dashboard over a store.
type Server struct {
	st      *store.Store
	opt     Options
	mux     *http.ServeMux
	limit   *limiter
	analyze chan struct{} // bounds concurrent analyses of raw logs
	reg     *prometheus.Registry
	m       metrics

	remedies  sync.Map       // KB id → *api.Remedy
	queue     chan ingestReq // submissions for the committer
	done      chan struct{}  // closed by Close
	closeOnce sync.Once
}

// ingestReq is a submission waiting for the committer, and where its
// answer goes.
type ingestReq struct {
	sub   store.Submission
	reply chan ingestRes
}

type ingestRes struct {
	ack *store.Ack
	err error
}

// maxBatch bounds the submissions one transaction commits.
const maxBatch = 64

// postgresCommitters is how many transactions commit at once on PostgreSQL.
const postgresCommitters = 2

type metrics struct {
	ingests  *prometheus.CounterVec
	reports  prometheus.Counter
	errors   *prometheus.CounterVec
	batch    prometheus.Histogram
	duration *prometheus.HistogramVec
}

// New returns a server over st.
func New(st *store.Store, opt Options) (*Server, error) {
	if opt.Tokens == nil {
		return nil, errors.New("server: no tokens")
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.Rate == 0 {
		opt.Rate = DefaultRate
	}
	if opt.Burst <= 0 {
		opt.Burst = DefaultBurst
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = DefaultMaxUpload
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.KB == nil {
		// Once, not per analysis: loading it takes tens of milliseconds.
		k, err := kb.Embedded()
		if err != nil {
			return nil, fmt.Errorf("server: knowledge base: %w", err)
		}
		opt.KB = k
	}
	s := &Server{
		st:      st,
		opt:     opt,
		mux:     http.NewServeMux(),
		limit:   &limiter{rate: opt.Rate, burst: float64(opt.Burst), now: opt.Now, buckets: map[[sha256.Size]byte]*tokenBucket{}},
		analyze: make(chan struct{}, runtime.GOMAXPROCS(0)),
		reg:     prometheus.NewRegistry(),
		queue:   make(chan ingestReq, maxBatch),
		done:    make(chan struct{}),
	}
	s.m = metrics{
		ingests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ktriage_fleet_ingests_total", Help: "Submissions acknowledged, by kind (log, json) and result (created, replayed).",
		}, []string{"kind", "result"}),
		reports: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ktriage_fleet_ingested_reports_total", Help: "Crash reports counted into buckets.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ktriage_fleet_http_errors_total", Help: "Responses with an error status, by route and status code.",
		}, []string{"route", "code"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ktriage_fleet_ingest_batch_size", Help: "Submissions committed per transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ktriage_fleet_http_request_duration_seconds", Help: "Time to answer a request, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	s.reg.MustRegister(s.m.ingests, s.m.reports, s.m.errors, s.m.batch, s.m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.route("POST /api/reports", true, s.handleIngest)
	s.route("POST /api/boots", true, s.handleBoot)
	s.routeUReport()
	s.route("GET /api/buckets", false, s.handleBuckets)
	s.route("GET /api/buckets/{signature}", false, s.handleBucket)
	s.route("GET /api/jobs/{job}", false, s.handleJob)
	s.route("GET /{$}", false, s.handleIndex)
	s.route("GET /buckets/{signature}", false, s.handleBucketPage)
	s.route("GET /static/", false, s.handleStatic)
	s.route("GET /metrics", false, func(w http.ResponseWriter, r *http.Request) error {
		promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return nil
	})
	// SQLite has one writer whatever we do; on PostgreSQL two transactions
	// overlap their round trips (IngestBatch takes row locks in signature
	// order, so they queue on a hot bucket rather than deadlock). Each
	// more makes the batches smaller: BenchmarkIngestHTTP (8 clients, 2
	// cores) gave 1,925-2,542 documents/s into hot buckets with one,
	// 2,411-2,521 with two and 1,779-2,114 with four.
	committers := 1
	if st.Dialect() == "postgres" {
		committers = postgresCommitters
	}
	for range committers {
		go s.commit()
	}
	return s, nil
}

// Register adds collectors to the server's /metrics (the netconsole
// receiver's counters, which the server does not own).
func (s *Server) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// Close stops the committer; ingests still waiting are answered 503 (their
// clients retry under the same key, so nothing is lost or doubled).
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// commit is the one goroutine that writes submissions: it takes whatever is
// queued, up to maxBatch, and commits it in one transaction, so that under
// load many submissions share one disk flush, and idle it adds no wait.
func (s *Server) commit() {
	for {
		var batch []ingestReq
		select {
		case r := <-s.queue:
			batch = append(batch, r)
		case <-s.done:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		subs := make([]store.Submission, len(batch))
		for i, r := range batch {
			subs[i] = r.sub
		}
		// Not a request's context: one client going away must not undo
		// the others' submissions.
		acks, errs := s.st.IngestBatch(context.Background(), subs)
		s.m.batch.Observe(float64(len(batch)))
		for i, r := range batch {
			r.reply <- ingestRes{acks[i], errs[i]}
		}
	}
}

// ingest hands sub to the committer and waits for it to be committed.
func (s *Server) ingest(ctx context.Context, sub store.Submission) (*store.Ack, error) {
	req := ingestReq{sub: sub, reply: make(chan ingestRes, 1)}
	unavailable := &apiError{status: http.StatusServiceUnavailable, msg: "shutting down", header: map[string]string{"Retry-After": "5"}}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, unavailable
	}
	select {
	case res := <-req.reply:
		return res.ack, res.err
	case <-s.done:
		return nil, unavailable
	}
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError is an error with the status and message a client sees; the
// wrapped error, if any, is logged only.
type apiError struct {
	status int
	msg    string
	err    error
	header map[string]string
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *apiError) Unwrap() error { return e.err }

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

type ctxKey struct{}

// groupOf is the token group of an authenticated request.
func groupOf(r *http.Request) string { g, _ := r.Context().Value(ctxKey{}).(string); return g }

// route registers h behind authentication, rate limiting, error mapping
// and metrics; write routes refuse the readonly group.
func (s *Server) route(pattern string, write bool, h func(http.ResponseWriter, *http.Request) error) {
	name := pattern
	s.mux.HandleFunc(pattern, func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		group, err := s.authorize(r, write)
		if err == nil {
			err = h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, group)))
		}
		if err != nil {
			s.writeError(w, r, err)
		}
		s.m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if w.status >= 400 {
			s.m.errors.WithLabelValues(name, strconv.Itoa(w.status)).Inc()
		}
	})
}

// authorize checks the bearer token, the token's rate and, for a write,
// its group, and returns the group.
func (s *Server) authorize(r *http.Request, write bool) (string, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return "", &apiError{status: http.StatusUnauthorized, msg: "missing bearer token", header: map[string]string{"WWW-Authenticate": `Bearer realm="ktriage"`}}
	}
	group, hash, ok := s.opt.Tokens.lookup(token)
	if !ok {
		return "", &apiError{status: http.StatusUnauthorized, msg: "unknown token", header: map[string]string{"WWW-Authenticate": `Bearer realm="ktriage", error="invalid_token"`}}
	}
	if ok, wait := s.limit.allow(hash); !ok {
		secs := int(wait/time.Second) + 1
		return "", &apiError{status: http.StatusTooManyRequests, msg: "rate limit exceeded", header: map[string]string{"Retry-After": strconv.Itoa(secs)}}
	}
	if write && group == ReadOnly {
		return "", fail(http.StatusForbidden, "token group %q may only read", ReadOnly)
	}
	return group, nil
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		ae = fail(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrTooLarge):
		ae = fail(http.StatusRequestEntityTooLarge, "upload larger than %d bytes", s.opt.MaxUpload)
	case errors.Is(err, store.ErrNotFound):
		ae = fail(http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrUploadInProgress):
		ae = &apiError{status: http.StatusConflict, msg: "an upload with this Idempotency-Key is being received; try again later", header: map[string]string{"Retry-After": "30"}}
	case errors.Is(err, store.ErrKeyReused):
		ae = fail(http.StatusUnprocessableEntity, "Idempotency-Key already used for another document")
	default:
		ae = &apiError{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	if ae.status >= 500 {
		s.opt.Logger.Error("fleet request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	for k, v := range ae.header {
		w.Header().Set(k, v)
	}
	if ae.status == http.StatusRequestEntityTooLarge {
		// The rest of an oversized body is not read: close, don't drain.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// handleIngest takes a raw log or crash(8) transcript (analyzed here) or
// an analyze --json document, and answers once it is committed.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxKeyLen || !printable(key) {
		return fail(http.StatusBadRequest, "an Idempotency-Key header of 1 to %d bytes of printable UTF-8 is required", maxKeyLen)
	}
	host := strings.TrimSpace(r.Header.Get("X-Ktriage-Host"))
	if host == "" || len(host) > maxHostLen || !printable(host) {
		return fail(http.StatusBadRequest, "an X-Ktriage-Host header of 1 to %d bytes of printable UTF-8 is required", maxHostLen)
	}
	br := bufio.NewReaderSize(r.Body, 4096)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && s.opt.Jobs != nil {
		head, _ := br.Peek(512)
		if kind := jobs.Sniff(head); kind != "" {
			return s.handleUpload(w, r, kind, host, key, struct {
				io.Reader
				io.Closer
			}{br, r.Body})
		}
	}
	limited := http.MaxBytesReader(w, struct {
		io.Reader
		io.Closer
	}{br, r.Body}, s.opt.MaxBody)
	defer limited.Close()
	digest := sha256.New()
	body := io.TeeReader(limited, digest)
	kind := "log"
	var (
		d   *triage.Diagnosis
		err error
	)
	if mt == "application/json" {
		kind = "json"
		d, err = decodeDiagnosis(body)
	} else {
		d, err = s.analyzeUpload(r.Context(), body)
	}
	if err != nil {
		return err
	}
	// The digest must cover the whole body, also what the decoder left.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	ack, err := s.ingest(r.Context(), store.Submission{
		Group: groupOf(r), Key: key, Host: host, Kind: kind, Received: s.opt.Now(), Diagnosis: d,
		Digest: kind + ":" + hex.EncodeToString(digest.Sum(nil)),
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	result := "created"
	if ack.Replayed {
		status, result = http.StatusOK, "replayed"
	} else {
		s.m.reports.Add(float64(len(ack.Reports)))
	}
	s.m.ingests.WithLabelValues(kind, result).Inc()
	return writeJSON(w, status, ack)
}

// printable says whether a header's value may be stored and shown: HTTP
// lets a header carry bytes that are not UTF-8, which PostgreSQL refuses
// (the request failed with 500) and a dashboard would show garbled.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// decodeDiagnosis reads an analyze --json document and checks each
// report's signature against its own frames, so a client cannot file a
// crash under another bucket.
func decodeDiagnosis(r io.Reader) (*triage.Diagnosis, error) {
	var d triage.Diagnosis
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, fail(http.StatusBadRequest, "not an analyze --json document: %v", err)
	}
	if len(d.Reports) > maxReports {
		return nil, fail(http.StatusUnprocessableEntity, "%d reports in one document, at most %d", len(d.Reports), maxReports)
	}
	for i, rep := range d.Reports {
		if rep == nil {
			return nil, fail(http.StatusUnprocessableEntity, "report %d is null", i)
		}
		want := oops.Signature(rep.Type, rep.GuiltyFunction, rep.Frames)
		if rep.Signature == "" {
			rep.Signature = want
		}
		if rep.Signature != want {
			return nil, fail(http.StatusUnprocessableEntity, "report %d (%q): signature %.16s… does not match its type, guilty function and frames (signature version %d)", i, rep.Title, rep.Signature, store.SignatureVersion)
		}
	}
	for i, m := range d.Matches {
		for _, ri := range m.Reports {
			if ri < 0 || ri >= len(d.Reports) {
				return nil, fail(http.StatusUnprocessableEntity, "match %d (%s) names report %d of %d", i, m.ID, ri, len(d.Reports))
			}
		}
	}
	return &d, nil
}

// analyzeUpload streams the body to a temporary file (bounded by the body
// limit) and runs the analysis on it, a few at a time.
func (s *Server) analyzeUpload(ctx context.Context, body io.Reader) (*triage.Diagnosis, error) {
	f, err := os.CreateTemp(s.opt.TempDir, "ktriage-upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return nil, fmt.Errorf("upload to %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("upload to %s: %w", name, err)
	}
	select {
	case s.analyze <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.analyze }()
	d, err := triage.Analyze([]string{name}, triage.Options{KB: s.opt.KB, MaxDecompressed: 4 * s.opt.MaxBody})
	if err != nil {
		return nil, fmt.Errorf("analyzing upload %s: %w", name, err)
	}
	base := filepath.Base(name)
	for i := range d.Inputs {
		d.Inputs[i].Path = strings.Replace(d.Inputs[i].Path, name, "upload", 1)
	}
	for _, rep := range d.Reports {
		rep.Source.Path = strings.Replace(strings.Replace(rep.Source.Path, name, "upload", 1), base, "upload", 1)
	}
	return d, nil
}

func (s *Server) handleBuckets(w http.ResponseWriter, r *http.Request) error {
	order, err := store.ParseSort(r.URL.Query().Get("sort"))
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 0 {
			return fail(http.StatusBadRequest, "limit %q is not a count", l)
		}
	}
	bs, err := s.st.Buckets(r.Context(), order, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, bs)
}

// validSignature keeps paths that cannot name a bucket away from the store.
func validSignature(sig string) bool {
	b, err := hex.DecodeString(sig)
	return err == nil && len(b) == sha256.Size
}

func (s *Server) handleBucket(w http.ResponseWriter, r *http.Request) error {
	sig := r.PathValue("signature")
	if !validSignature(sig) {
		return fail(http.StatusNotFound, "no bucket %q", sig)
	}
	b, err := s.st.Bucket(r.Context(), sig)
	if err != nil {
		return err
	}
	rem, err := s.remedy(b.KBID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		*store.BucketDetail
		Remedy *api.Remedy `json:"remedy,omitempty"`
	}{b, rem})
}

// remedyIface is the interface a bucket's remedy is shown for.
const remedyIface = "eth0"

// remedy is the remedy of the known bug id, or nil when it has none that
// remedy carries out (or id is nil). Plans are made once per entry.
func (s *Server) remedy(id *string) (*api.Remedy, error) {
	if id == nil {
		return nil, nil
	}
	if v, ok := s.remedies.Load(*id); ok {
		return v.(*api.Remedy), nil
	}
	e := s.opt.KB.Get(*id)
	if e == nil || e.Workaround == nil || e.Workaround.EthtoolOffload == nil {
		s.remedies.Store(*id, (*api.Remedy)(nil))
		return nil, nil
	}
	w := &remedy.Workaround{EntryID: e.ID, Offload: *e.Workaround.EthtoolOffload}
	ex, err := remedy.Examples(w, remedyIface)
	if err != nil {
		return nil, fmt.Errorf("remedy of %s: %w", e.ID, err)
	}
	rem := &api.Remedy{EntryID: e.ID, Iface: remedyIface,
		OnHost: []string{"ktriage remedy plan " + e.ID, "ktriage remedy apply " + e.ID, "ktriage remedy verify " + e.ID}}
	for _, x := range ex {
		if rem.Command == "" && len(x.Plan.Commands) > 0 {
			rem.Command = strings.Join(x.Plan.Commands[0], " ")
		}
		rem.Cost = x.Plan.Cost
		rem.Stacks = append(rem.Stacks, api.RemedyStack{Stack: x.Stack.String(), Diff: x.Plan.Diff(), Notes: x.Plan.Notes})
	}
	s.remedies.Store(*id, rem)
	return rem, nil
}

// handleBoot records a host's boot: the kernel it runs now (ktriage submit
// --boot). JSON {"host": ..., "kernel": ...}; 204 once stored.
func (s *Server) handleBoot(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Host   string `json:"host"`
		Kernel string `json:"kernel"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	if err := dec.Decode(&b); err != nil {
		return fail(http.StatusBadRequest, "a boot record is JSON {\"host\", \"kernel\"}: %v", err)
	}
	if b.Host == "" || len(b.Host) > maxHostLen || b.Kernel == "" || len(b.Kernel) > maxHostLen {
		return fail(http.StatusBadRequest, "host and kernel must be 1 to %d bytes", maxHostLen)
	}
	if err := s.st.RecordBoot(r.Context(), b.Host, b.Kernel, s.opt.Now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleUpload stores an upload a worker will analyze and answers once it
// and its job are durable: 202 with the job, or 200 with the job of a key
// already sent (its state, and its acknowledgement once done).
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, kind, host, key string, body io.ReadCloser) error {
	limited := http.MaxBytesReader(w, body, s.opt.MaxUpload)
	defer limited.Close()
	up, found, err := s.opt.Jobs.Save(r.Context(), store.Upload{Group: groupOf(r), Key: key, Host: host, Kind: kind, Received: s.opt.Now()},
		limited, s.opt.MaxUpload)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if found {
		status = http.StatusOK
	}
	s.m.ingests.WithLabelValues(kind, map[bool]string{true: "replayed", false: "queued"}[found]).Inc()
	return writeJSON(w, status, jobOf(up))
}

// jobOf is an upload's wire form.
func jobOf(up *store.Upload) api.Job {
	j := api.Job{Upload: up.ID, Job: up.Job, Kind: up.Kind, Size: up.Size, State: up.State, Attempts: up.Attempts, Error: up.Error, Reports: []api.AckReport{}}
	if up.Ack != nil {
		j.Submission, j.Reports = up.Ack.Submission, up.Ack.Reports
	}
	return j
}

// handleJob answers an upload's job: its state, and its acknowledgement
// once done. A group sees only its own uploads' jobs.
func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("job"), 10, 64)
	if err != nil || id <= 0 {
		return fail(http.StatusBadRequest, "a job is a positive number")
	}
	up, err := s.st.UploadByJob(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && up.Group != groupOf(r) && groupOf(r) != "readonly" {
		return fail(http.StatusNotFound, "no job %d", id)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, jobOf(up))
}
