// Package submit sends a crash document to a ktriage fleet server: one
// idempotency key per submission, kept across its retries, so that a retry
// is never a second event, while the same document submitted twice on
// purpose (two Submit calls) is two.
package submit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ktriage/ktriage/fleet/api"
)

// Defaults for Client's zero values.
const (
	DefaultAttempts   = 8
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// Client submits documents to one server.
type Client struct {
	// Server is the server's base URL (http://host:port).
	Server string
	// Token is the bearer token.
	Token string
	// HTTP is the client to use (http.DefaultClient).
	HTTP *http.Client
	// Attempts bounds the tries of one submission (DefaultAttempts).
	Attempts int
	// Backoff is the first wait between tries, doubled each time with
	// jitter up to MaxBackoff (DefaultBackoff, DefaultMaxBackoff).
	Backoff, MaxBackoff time.Duration
	// Sleep waits between tries (a timer honouring ctx); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Ack is the server's acknowledgement of a submission.
type Ack struct {
	// Submission is the submission's number at the server.
	Submission int64 `json:"submission"`
	// Replayed says the server had already acknowledged this key: an
	// earlier try got through although its answer was lost.
	Replayed bool     `json:"replayed"`
	Reports  []Report `json:"reports"`
	// Job, Upload and State are set for an upload a server's worker
	// analyzes (a vmcore, a kdump directory): the server answers 202 once
	// it is stored and its job queued; Wait follows the job. State is
	// queued, done or failed (Error says why).
	Job    int64  `json:"job,omitempty"`
	Upload int64  `json:"upload,omitempty"`
	State  string `json:"state,omitempty"`
	Error  string `json:"error,omitempty"`
	// Status is the HTTP status: 201, or 200 for a replayed key; 202 for
	// a queued upload.
	Status int `json:"-"`
	// Attempts is how many tries it took.
	Attempts int `json:"-"`
}

// Report is one crash of the document as the server bucketed it (the
// wire type of fleet/api).
type Report = api.AckReport

// KnownBug is the known bug the server matched a report to (fleet/api).
type KnownBug = api.KnownBug

// Error is a refusal the server gave: retrying would not help (4xx other
// than 408 and 429), or the last try's failure.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// NewKey returns a fresh random idempotency key (128 bits, hex).
func NewKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("idempotency key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Document is what one submission sends.
type Document struct {
	// Body is re-read from its start on every try.
	Body io.ReadSeeker
	// JSON marks an analyze --json document; otherwise a raw log or
	// crash(8) transcript that the server analyzes.
	JSON bool
	// Host is the host the document came from.
	Host string
	// Key is the idempotency key; empty makes a fresh one (NewKey). Keep
	// it to resume a submission across process restarts.
	Key string
}

// IsJSON tells whether the start of a document is an analyze --json
// document rather than a log.
func IsJSON(head []byte) bool {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

// SubmitFile submits the file at path for host: a log, or an analyze
// --json document (recognised by its first byte).
func (c *Client) SubmitFile(ctx context.Context, path, host string) (*Ack, error) {
	return c.SubmitFileKey(ctx, path, host, "")
}

// SubmitFileKey is SubmitFile under a key the caller kept (a kdump hook
// that retries on the next boot sends the same dump under the same key, so
// the server counts it once); "" makes a new one.
//
// A directory (a kdump directory: vmcore, vmcore-dmesg.txt …) is sent as a
// tar of its regular files, streamed from the files at every try (no copy
// of a large vmcore is made); a vmcore is sent as it is. The server answers
// both with a job (Ack.Job) that Wait follows.
func (c *Client) SubmitFileKey(ctx context.Context, path, host, key string) (*Ack, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	var f interface {
		io.ReadSeeker
		io.Closer
	}
	if st.IsDir() {
		if f, err = newDirTar(path); err != nil {
			return nil, fmt.Errorf("submit: %w", err)
		}
	} else if f, err = os.Open(path); err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("submit: reading %s: %w", path, err)
	}
	return c.Submit(ctx, Document{Body: f, JSON: IsJSON(head[:n]), Host: host, Key: key})
}

// Submit sends doc, retrying network errors, 408, 429 and 5xx answers with
// backoff under the same key, and returns once the server acknowledged it
// (the server answers only once the document is committed).
func (c *Client) Submit(ctx context.Context, doc Document) (*Ack, error) {
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("submit: server %q is not an http(s) URL", c.Server)
	}
	endpoint := strings.TrimSuffix(c.Server, "/") + "/api/reports"
	if doc.Key == "" {
		if doc.Key, err = NewKey(); err != nil {
			return nil, err
		}
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	backoff, maxBackoff := c.Backoff, c.MaxBackoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var last error
	for try := 1; try <= attempts; try++ {
		ack, retryAfter, err := c.try(ctx, endpoint, doc)
		if err == nil {
			ack.Attempts = try
			return ack, nil
		}
		last = err
		var se *Error
		if errors.As(err, &se) && !retryable(se.Status) {
			return nil, fmt.Errorf("submit to %s: %w", endpoint, err)
		}
		if ctx.Err() != nil || try == attempts {
			break
		}
		wait := time.Duration(float64(backoff) * math.Pow(2, float64(try-1)))
		if wait > maxBackoff {
			wait = maxBackoff
		}
		// Full jitter on the upper half keeps many hosts retrying after one
		// outage from arriving together.
		wait = wait/2 + time.Duration(mrand.Int64N(int64(wait/2)+1))
		if retryAfter > wait {
			wait = min(retryAfter, maxBackoff)
		}
		if err := sleep(ctx, wait); err != nil {
			break
		}
	}
	return nil, fmt.Errorf("submit to %s: giving up after %d tries (key %s): %w", endpoint, attempts, doc.Key, last)
}

func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// try makes one request; retryAfter is the server's Retry-After, if any.
func (c *Client) try(ctx context.Context, endpoint string, doc Document) (*Ack, time.Duration, error) {
	if _, err := doc.Body.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("rewinding the document: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, io.NopCloser(doc.Body))
	if err != nil {
		return nil, 0, err
	}
	if sz, err := doc.Body.Seek(0, io.SeekEnd); err == nil {
		req.ContentLength = sz
		if _, err := doc.Body.Seek(0, io.SeekStart); err != nil {
			return nil, 0, fmt.Errorf("rewinding the document: %w", err)
		}
	}
	if doc.JSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Idempotency-Key", doc.Key)
	req.Header.Set("X-Ktriage-Host", doc.Host)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		var ra time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
		return nil, ra, &Error{Status: resp.StatusCode, Message: msg}
	}
	var ack Ack
	if err := json.Unmarshal(body, &ack); err != nil {
		return nil, 0, fmt.Errorf("answer is not an acknowledgement: %w", err)
	}
	ack.Status = resp.StatusCode
	return &ack, 0, nil
}

// Boot tells the server that host now runs kernel (its uname -r), so that
// the fleet knows which hosts run which kernels without crashing: a bucket
// is probably fixed in a kernel its hosts booted and stopped crashing on.
// A failed try is retried as Submit retries; recording a boot twice is
// harmless.
func (c *Client) Boot(ctx context.Context, host, kernel string) error {
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("submit: server %q is not an http(s) URL", c.Server)
	}
	endpoint := strings.TrimSuffix(c.Server, "/") + "/api/boots"
	body, err := json.Marshal(map[string]string{"host": host, "kernel": kernel})
	if err != nil {
		return err
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	var last error
	for try := 1; try <= attempts; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
				return nil
			}
			last = &Error{Status: resp.StatusCode, Message: resp.Status}
			if !retryable(resp.StatusCode) {
				return fmt.Errorf("boot record to %s: %w", endpoint, last)
			}
		} else {
			last = err
		}
		if try == attempts || sleep(ctx, backoff<<(try-1)) != nil {
			break
		}
	}
	return fmt.Errorf("boot record to %s: giving up after %d tries: %w", endpoint, attempts, last)
}

// Wait follows job until its upload is analyzed (State done, with the
// reports) or failed, asking every interval; transient failures are
// retried until ctx ends.
func (c *Client) Wait(ctx context.Context, job int64, every time.Duration) (*Ack, error) {
	endpoint := fmt.Sprintf("%s/api/jobs/%d", strings.TrimSuffix(c.Server, "/"), job)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := hc.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			switch {
			case rerr != nil:
			case resp.StatusCode == http.StatusOK:
				var ack Ack
				if err := json.Unmarshal(body, &ack); err != nil {
					return nil, fmt.Errorf("job %d: answer is not a job: %w", job, err)
				}
				ack.Status = resp.StatusCode
				switch ack.State {
				case "done":
					return &ack, nil
				case "failed":
					return &ack, fmt.Errorf("job %d failed: %s", job, ack.Error)
				}
			case !retryable(resp.StatusCode):
				return nil, fmt.Errorf("job %d: %w", job, &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(body))})
			}
		}
		if err := sleep(ctx, every); err != nil {
			return nil, fmt.Errorf("job %d: %w", job, err)
		}
	}
}
