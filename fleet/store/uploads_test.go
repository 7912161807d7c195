package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/triage"
)

// enqueueNone stands for river in the store's own tests: job id 1.
func enqueueNone(context.Context, *sql.Tx, int64) (int64, error) { return 1, nil }

// TestFailUploadText: the reason an upload failed may quote its bytes (a
// tar member's name, a line of its log): a NUL, bytes that are not UTF-8
// and a long reason cut inside a character are all stored. PostgreSQL
// refused them, so the job was retried and the upload left queued.
func TestFailUploadText(t *testing.T) {
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i, why := range []string{"member \"a\x00b\"", "member \xff\xfe", strings.Repeat("é", 3000)} {
			up, _, err := s.SaveUpload(ctx, store.Upload{Group: "lab", Key: strings.Repeat("k", i+1), Host: "h", Kind: "kdump"},
				bytes.NewReader([]byte("x")), 10, enqueueNone)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FailUpload(ctx, up.ID, why); err != nil {
				t.Errorf("failing with %.20q: %v", why, err)
				continue
			}
			got, err := s.GetUpload(ctx, up.ID)
			if err != nil || got.State != store.UploadFailed || !utf8.ValidString(got.Error) || len(got.Error) > 4096 || got.Error == "" {
				t.Errorf("failed with %.20q: %+v %v", why, got, err)
			}
		}
	})
}

// held is an upload body that sends first, then waits for release before
// sending rest.
func held(first, rest []byte, release chan struct{}) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		pw.Write(first)
		<-release
		pw.Write(rest)
		pw.Close()
	}()
	return pr
}

func copied(t *testing.T, s *store.Store, id int64) []byte {
	var b bytes.Buffer
	if _, err := s.CopyUpload(context.Background(), id, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSaveUploadKey: one Idempotency-Key sent by several requests. A second
// request while the first is sending is ErrUploadInProgress (it dropped
// the first's row and took its key; on SQLite it then reused the row's id,
// so both wrote chunks into one upload and the first's cleanup deleted the
// second's acknowledged upload); once the first has sent nothing for
// StaleUpload it is taken over, and the first fails rather than writes
// into it. Sent again after it is queued: the same bytes replay it, other
// bytes (or a key a submission holds) are ErrKeyReused, not its job.
func TestSaveUploadKey(t *testing.T) {
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		body := bytes.Repeat([]byte("0123456789abcdef"), (store.UploadChunk+store.UploadChunk/2)/16)
		first, rest := body[:store.UploadChunk+100], body[store.UploadChunk+100:]
		save := func(key string, r io.Reader) (*store.Upload, bool, error) {
			return s.SaveUpload(ctx, store.Upload{Group: "lab", Key: key, Host: "h", Kind: "vmcore"}, r, 64<<20, enqueueNone)
		}
		type res struct {
			up    *store.Upload
			found bool
			err   error
		}
		// A live first request: the second waits.
		release := make(chan struct{})
		done := make(chan res, 1)
		go func() { up, f, err := save("k1", held(first, rest, release)); done <- res{up, f, err} }()
		waitChunk(t, s, "k1")
		if _, _, err := save("k1", bytes.NewReader(body)); !errors.Is(err, store.ErrUploadInProgress) {
			t.Errorf("while the first is sending: %v, want ErrUploadInProgress", err)
		}
		close(release)
		r1 := <-done
		if r1.err != nil || r1.found || !bytes.Equal(copied(t, s, r1.up.ID), body) {
			t.Fatalf("the first: %+v", r1)
		}
		// Sent again: the same bytes replay it; others are refused.
		if up, found, err := save("k1", bytes.NewReader(body)); err != nil || !found || up.ID != r1.up.ID {
			t.Errorf("the same bytes again: %+v %v %v", up, found, err)
		}
		other := append(bytes.Clone(body[:len(body)-1]), 'x')
		if _, _, err := save("k1", bytes.NewReader(other)); !errors.Is(err, store.ErrKeyReused) {
			t.Errorf("other bytes under a queued key: %v, want ErrKeyReused", err)
		}
		if _, err := s.Ingest(ctx, store.Submission{Group: "lab", Key: "log-1", Host: "h", Kind: "log", Digest: "log:x", Diagnosis: &triage.Diagnosis{}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := save("log-1", bytes.NewReader(body)); !errors.Is(err, store.ErrKeyReused) {
			t.Errorf("a submission's key: %v, want ErrKeyReused", err)
		}

		// A first request gone quiet for StaleUpload is taken over.
		release = make(chan struct{})
		go func() { up, f, err := save("k2", held(first, rest, release)); done <- res{up, f, err} }()
		waitChunk(t, s, "k2")
		old := time.Now().Add(-store.StaleUpload - time.Minute).Unix()
		if _, err := s.DB().Exec(rebind(s, "UPDATE uploads SET touched_at = ? WHERE idem_key = 'k2'"), old); err != nil {
			t.Fatal(err)
		}
		second := bytes.Repeat([]byte("z"), 3*store.UploadChunk/2)
		r2u, found, err := save("k2", bytes.NewReader(second))
		if err != nil || found {
			t.Fatalf("taking over a stale upload: %v", err)
		}
		close(release)
		if r := <-done; !errors.Is(r.err, store.ErrUploadInProgress) {
			t.Errorf("the stale request, taken over: %+v", r)
		}
		if got := copied(t, s, r2u.ID); !bytes.Equal(got, second) {
			t.Errorf("the upload that took over holds %d bytes, sent %d", len(got), len(second))
		}
		if up, err := s.GetUpload(ctx, r2u.ID); err != nil || up.State != store.UploadQueued {
			t.Errorf("the upload that took over: %+v %v", up, err)
		}

		// Eight at once: one stores it, the others replay it or wait;
		// none fails otherwise (a unique violation was a 500).
		var wg sync.WaitGroup
		ids := make(chan int64, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				up, found, err := save("k3", bytes.NewReader(body))
				switch {
				case errors.Is(err, store.ErrUploadInProgress):
				case err != nil:
					t.Errorf("at once: %v", err)
				case !found:
					ids <- up.ID
				}
			}()
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Errorf("%d requests stored the upload, want 1", len(ids))
		}
		var n int
		s.DB().QueryRow("SELECT COUNT(*) FROM upload_chunks").Scan(&n)
		if n != 3*2 {
			t.Errorf("%d chunks stored, want 6 (two for each of 3 uploads)", n)
		}
	})
}

// waitChunk waits until the upload of key has a chunk stored.
func waitChunk(t *testing.T, s *store.Store, key string) {
	t.Helper()
	for range 500 {
		var n int
		s.DB().QueryRow(rebind(s, "SELECT COUNT(*) FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id WHERE u.idem_key = ?"), key).Scan(&n)
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no chunk stored")
}

func rebind(s *store.Store, q string) string {
	if s.Dialect() != "postgres" {
		return q
	}
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
	}
	return q
}

// blockingReader gives n bytes, then waits for release before EOF: an
// upload whose client stalls mid-body.
type blockingReader struct {
	n       int
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.n > 0 {
		k := min(len(p), b.n)
		b.n -= k
		return k, nil
	}
	<-b.release
	return 0, io.EOF
}

// TestSweepUploads: an upload left receiving by a request that died (its
// chunks written, no chunk since) is deleted with its chunks once stale; a
// live one, and a queued one however old, are kept.
func TestSweepUploads(t *testing.T) {
	databases(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		queued, _, err := s.SaveUpload(ctx, store.Upload{Group: "lab", Key: "done", Host: "h", Kind: "kdump"}, bytes.NewReader([]byte("x")), 10, enqueueNone)
		if err != nil {
			t.Fatal(err)
		}
		br := &blockingReader{n: store.UploadChunk + 10, release: make(chan struct{})}
		errc := make(chan error, 1)
		go func() {
			_, _, err := s.SaveUpload(ctx, store.Upload{Group: "lab", Key: "stalled", Host: "h", Kind: "vmcore"}, br, 1<<30, enqueueNone)
			errc <- err
		}()
		chunks := func() (n int) {
			s.DB().QueryRow("SELECT COUNT(*) FROM upload_chunks").Scan(&n)
			return n
		}
		for deadline := time.Now().Add(30 * time.Second); chunks() < 2; {
			if time.Now().After(deadline) {
				t.Fatal("the stalled upload wrote no chunk")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n, err := s.SweepUploads(ctx, time.Hour); n != 0 || err != nil {
			t.Fatalf("swept a live upload: %d, %v", n, err)
		}
		// Its request died an hour ago (and so, long since, did the
		// queued one's).
		if _, err := s.DB().Exec("UPDATE uploads SET touched_at = 1, received_at = 1"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.SweepUploads(ctx, time.Hour); n != 1 || err != nil {
			t.Fatalf("swept %d, %v; want the stalled upload", n, err)
		}
		if n := chunks(); n != 1 {
			t.Errorf("%d chunks left, want the queued upload's one", n)
		}
		if got, err := s.GetUpload(ctx, queued.ID); err != nil || got.State != store.UploadQueued {
			t.Errorf("the queued upload: %+v, %v", got, err)
		}
		close(br.release)
		if err := <-errc; err == nil {
			t.Error("the swept upload's request went on to queue it")
		}
	})
}
