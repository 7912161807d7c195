package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The states of an upload.
const (
	UploadReceiving = "receiving" // its chunks are being written
	UploadQueued    = "queued"    // durable, its job enqueued
	UploadDone      = "done"      // analyzed and ingested: Ack holds the answer
	UploadFailed    = "failed"    // could not be analyzed: Error says why
)

// UploadChunk is the size of the pieces an upload is stored in: one row
// each, so that neither writing nor reading it holds more in memory.
const UploadChunk = 4 << 20

// ErrTooLarge is returned for an upload over its size limit.
var ErrTooLarge = errors.New("upload over the size limit")

// Upload is a dump or a kdump directory (tar) kept in the database until a
// worker has analyzed it.
type Upload struct {
	ID       int64
	Group    string
	Key      string
	Host     string
	Kind     string // vmcore or kdump (a tar of a kdump directory)
	Digest   string
	Size     int64
	Received time.Time
	State    string
	Job      int64
	Attempts int
	Ack      *Ack
	Error    string

	touched time.Time // its last chunk, while receiving
}

// Enqueue adds the job that will analyze upload id, in tx (the
// transaction that makes the upload durable), and returns the job's id.
type Enqueue func(ctx context.Context, tx *sql.Tx, id int64) (int64, error)

// ErrUploadInProgress is returned for a key whose upload another request
// is still sending.
var ErrUploadInProgress = errors.New("an upload with this key is being received")

// StaleUpload is how long an upload being received may go without a chunk
// before another request with its key takes it over.
const StaleUpload = 2 * time.Minute

// SaveUpload streams r into the database under up's group and key, at most
// max bytes, then marks it queued and enqueues its job in one transaction:
// once it returns, the upload and its job are durable. A key already
// queued, done or failed returns that upload (found is true) once r is
// found to be the same bytes, ErrKeyReused when it is not (or when the key
// is a submission's); a key another request is sending is
// ErrUploadInProgress, until that request has sent nothing for
// StaleUpload: its upload is then replaced.
//
// The chunks are written outside the final transaction, so that a slow
// upload holds no lock that ingest waits for. While receiving, an upload's
// digest column holds its request's nonce: a request whose upload was
// taken over finds it gone at its next chunk (SQLite reuses a deleted
// row's id: the id alone does not say whose it is).
func (s *Store) SaveUpload(ctx context.Context, up Upload, r io.Reader, max int64, enqueue Enqueue) (_ *Upload, found bool, err error) {
	if up.Key == "" || up.Host == "" || up.Kind == "" {
		return nil, false, errors.New("upload: key, host and kind are required")
	}
	if up.Received.IsZero() {
		up.Received = time.Now()
	}
	var nb [16]byte
	rand.Read(nb[:])
	nonce := "receiving:" + hex.EncodeToString(nb[:])
	for tries := 0; ; tries++ {
		err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO uploads (grp, idem_key, host, kind, digest, size, received_at, state, attempts, touched_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, 0, ?) ON CONFLICT (grp, idem_key) DO NOTHING RETURNING id`),
			up.Group, up.Key, up.Host, up.Kind, nonce, up.Received.Unix(), UploadReceiving, time.Now().Unix()).Scan(&up.ID)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("upload: %w", err)
		}
		old, err := s.uploadWhere(ctx, "grp = ? AND idem_key = ?", up.Group, up.Key)
		switch {
		case errors.Is(err, ErrNotFound) && tries < 3:
			continue // dropped meanwhile
		case err != nil:
			return nil, false, err
		case old.State != UploadReceiving:
			return s.replayUpload(old, up, r, max)
		case tries >= 3 || time.Since(old.touched) < StaleUpload:
			return nil, false, fmt.Errorf("upload %d: %w (its last chunk %s ago)", old.ID, ErrUploadInProgress, time.Since(old.touched).Round(time.Second))
		}
		// Its request died: drop it, if no one else did.
		res, err := s.db.ExecContext(ctx, s.q("DELETE FROM uploads WHERE id = ? AND digest = ? AND state = ?"), old.ID, old.Digest, UploadReceiving)
		if err != nil {
			return nil, false, fmt.Errorf("upload %d: %w", old.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ?"), old.ID); err != nil {
				return nil, false, fmt.Errorf("upload %d: %w", old.ID, err)
			}
		}
	}
	defer func() {
		if err != nil {
			// Not ctx: it may be why this failed.
			s.dropOwnUpload(context.WithoutCancel(ctx), up.ID, nonce)
		}
	}()
	var sub int
	switch err := s.db.QueryRowContext(ctx, s.q("SELECT 1 FROM submissions WHERE grp = ? AND idem_key = ?"), up.Group, up.Key).Scan(&sub); {
	case err == nil:
		return nil, false, fmt.Errorf("upload: key %q: %w", up.Key, ErrKeyReused)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, fmt.Errorf("upload: %w", err)
	}
	h := sha256.New()
	buf := make([]byte, UploadChunk)
	seq := 0
	for ; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			up.Size += int64(n)
			if up.Size > max {
				return nil, false, fmt.Errorf("upload: %w of %d bytes", ErrTooLarge, max)
			}
			h.Write(buf[:n])
			res, err := s.db.ExecContext(ctx, s.q("UPDATE uploads SET touched_at = ? WHERE id = ? AND digest = ?"), time.Now().Unix(), up.ID, nonce)
			if err != nil {
				return nil, false, fmt.Errorf("upload %d: %w", up.ID, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return nil, false, fmt.Errorf("upload %d: %w (taken over by another request with its key)", up.ID, ErrUploadInProgress)
			}
			if _, err := s.db.ExecContext(ctx, s.q("INSERT INTO upload_chunks (upload_id, seq, data) VALUES (?, ?, ?)"), up.ID, seq, buf[:n]); err != nil {
				return nil, false, fmt.Errorf("upload: storing chunk %d (offset %d): %w", seq, up.Size-int64(n), err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			if n > 0 {
				seq++
			}
			break
		}
		if rerr != nil {
			return nil, false, fmt.Errorf("upload: reading at offset %d: %w", up.Size, rerr)
		}
	}
	up.Digest = hex.EncodeToString(h.Sum(nil))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("upload: %w", err)
	}
	defer tx.Rollback()
	// Its chunks are its own: each seq below the count is one this request
	// stored (the key is (upload, seq)), and there is none above.
	var chunks int
	var stored sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*), SUM(LENGTH(data)) FROM upload_chunks WHERE upload_id = ?"), up.ID).Scan(&chunks, &stored); err != nil {
		return nil, false, fmt.Errorf("upload %d: %w", up.ID, err)
	}
	if chunks != seq || stored.Int64 != up.Size {
		return nil, false, fmt.Errorf("upload %d: %w (%d chunks of %d bytes stored, %d of %d sent)", up.ID, ErrUploadInProgress, chunks, stored.Int64, seq, up.Size)
	}
	if up.Job, err = enqueue(ctx, tx, up.ID); err != nil {
		return nil, false, fmt.Errorf("upload: enqueueing its job: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q("UPDATE uploads SET state = ?, digest = ?, size = ?, job_id = ? WHERE id = ? AND digest = ? AND state = ?"),
		UploadQueued, up.Digest, up.Size, up.Job, up.ID, nonce, UploadReceiving)
	if err != nil {
		return nil, false, fmt.Errorf("upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, false, fmt.Errorf("upload %d: %w (taken over by another request with its key)", up.ID, ErrUploadInProgress)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("upload: commit: %w", err)
	}
	up.State = UploadQueued
	return &up, false, nil
}

// replayUpload answers a key already stored (old) sent again: old when r
// is the same bytes, ErrKeyReused when not. r is read through, hashed only.
func (s *Store) replayUpload(old *Upload, up Upload, r io.Reader, max int64) (*Upload, bool, error) {
	reused := fmt.Errorf("upload: key %q: %w", up.Key, ErrKeyReused)
	if old.Kind != up.Kind {
		return nil, false, reused
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("upload: reading at offset %d: %w", n, err)
	}
	if n > max {
		return nil, false, fmt.Errorf("upload: %w of %d bytes", ErrTooLarge, max)
	}
	if n != old.Size || hex.EncodeToString(h.Sum(nil)) != old.Digest {
		return nil, false, reused
	}
	return old, true, nil
}

// dropOwnUpload deletes the upload a request was receiving, if it is still
// its own (nonce), and its chunks; taken over, the chunks it stored after
// are deleted once no upload has its id.
func (s *Store) dropOwnUpload(ctx context.Context, id int64, nonce string) {
	s.db.ExecContext(ctx, s.q("DELETE FROM uploads WHERE id = ? AND digest = ?"), id, nonce)
	s.db.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ? AND NOT EXISTS (SELECT 1 FROM uploads WHERE id = ?)"), id, id)
}

// GetUpload returns upload id; ErrNotFound if there is none.
func (s *Store) GetUpload(ctx context.Context, id int64) (*Upload, error) {
	return s.uploadWhere(ctx, "id = ?", id)
}

// UploadByJob returns the upload whose job is job; ErrNotFound if none.
func (s *Store) UploadByJob(ctx context.Context, job int64) (*Upload, error) {
	return s.uploadWhere(ctx, "job_id = ?", job)
}

func (s *Store) uploadWhere(ctx context.Context, where string, args ...any) (*Upload, error) {
	var (
		u        Upload
		received int64
		job      sql.NullInt64
		ack, msg sql.NullString
		touched  sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, grp, idem_key, host, kind, digest, size, received_at, state, job_id, attempts, ack, error, touched_at
		FROM uploads WHERE `+where), args...).Scan(&u.ID, &u.Group, &u.Key, &u.Host, &u.Kind, &u.Digest, &u.Size, &received,
		&u.State, &job, &u.Attempts, &ack, &msg, &touched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	u.Received = time.Unix(received, 0).UTC()
	u.Job, u.Error = job.Int64, msg.String
	u.touched = time.Unix(touched.Int64, 0)
	if ack.Valid && ack.String != "" {
		u.Ack = new(Ack)
		if err := json.Unmarshal([]byte(ack.String), u.Ack); err != nil {
			return nil, fmt.Errorf("upload %d: stored acknowledgement: %w", u.ID, err)
		}
	}
	return &u, nil
}

// StartUpload counts an attempt at upload id and returns it.
func (s *Store) StartUpload(ctx context.Context, id int64) (*Upload, error) {
	if _, err := s.db.ExecContext(ctx, s.q("UPDATE uploads SET attempts = attempts + 1 WHERE id = ?"), id); err != nil {
		return nil, fmt.Errorf("upload %d: %w", id, err)
	}
	return s.GetUpload(ctx, id)
}

// CopyUpload writes upload id's bytes to w, a chunk at a time.
func (s *Store) CopyUpload(ctx context.Context, id int64, w io.Writer) (int64, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT seq, data FROM upload_chunks WHERE upload_id = ? ORDER BY seq"), id)
	if err != nil {
		return 0, fmt.Errorf("upload %d: %w", id, err)
	}
	defer rows.Close()
	var n int64
	for want := 0; rows.Next(); want++ {
		var (
			seq  int
			data []byte
		)
		if err := rows.Scan(&seq, &data); err != nil {
			return n, fmt.Errorf("upload %d: chunk %d: %w", id, want, err)
		}
		if seq != want {
			return n, fmt.Errorf("upload %d: chunk %d missing (offset %d)", id, want, n)
		}
		m, err := w.Write(data)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("upload %d: %w", id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("upload %d: %w", id, err)
	}
	return n, nil
}

// FinishUpload ingests upload id's submission and marks the upload done,
// its chunks deleted, in one transaction. Run again (a worker died after
// the commit, before its job was marked complete) it changes nothing and
// returns the first answer, replayed.
func (s *Store) FinishUpload(ctx context.Context, id int64, sub Submission) (*Ack, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("upload %d: %w", id, err)
	}
	defer tx.Rollback()
	ack, err := s.ingestTx(ctx, tx, sub)
	if err != nil {
		return nil, fmt.Errorf("upload %d: %w", id, err)
	}
	stored := *ack
	stored.Replayed = false
	raw, err := json.Marshal(&stored)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.q("UPDATE uploads SET state = ?, ack = ?, error = NULL, finished_at = ? WHERE id = ?"),
		UploadDone, string(raw), time.Now().Unix(), id); err != nil {
		return nil, fmt.Errorf("upload %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ?"), id); err != nil {
		return nil, fmt.Errorf("upload %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("upload %d: commit: %w", id, err)
	}
	return ack, nil
}

// FailUpload marks upload id failed for why and deletes its chunks: the
// input cannot be analyzed, and trying again would not change that.
func (s *Store) FailUpload(ctx context.Context, id int64, why string) error {
	why = cleanText(why, 4096)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("upload %d: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q("UPDATE uploads SET state = ?, error = ?, finished_at = ? WHERE id = ?"),
		UploadFailed, why, time.Now().Unix(), id); err != nil {
		return fmt.Errorf("upload %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ?"), id); err != nil {
		return fmt.Errorf("upload %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upload %d: commit: %w", id, err)
	}
	return nil
}

// cleanText makes s a column PostgreSQL takes, of at most max bytes: an
// error may quote an upload's bytes, and a NUL or a byte sequence that is
// not UTF-8 (or one cut in two) would fail the statement, and the job be
// retried for it.
func cleanText(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", `\x00`)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// SweepUploads deletes the uploads left receiving that have had no chunk
// for olderThan (their request died with a server, and their key was not
// sent again), chunks included, and returns how many it deleted. One taken
// over meanwhile by a request with its key is left alone.
func (s *Store) SweepUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, digest FROM uploads WHERE state = ? AND COALESCE(touched_at, received_at) < ?"),
		UploadReceiving, time.Now().Add(-olderThan).Unix())
	if err != nil {
		return 0, fmt.Errorf("sweeping uploads: %w", err)
	}
	type stale struct {
		id    int64
		nonce string
	}
	var found []stale
	for rows.Next() {
		var st stale
		if err := rows.Scan(&st.id, &st.nonce); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sweeping uploads: %w", err)
		}
		found = append(found, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sweeping uploads: %w", err)
	}
	n := 0
	for _, st := range found {
		res, err := s.db.ExecContext(ctx, s.q("DELETE FROM uploads WHERE id = ? AND digest = ? AND state = ?"), st.id, st.nonce, UploadReceiving)
		if err != nil {
			return n, fmt.Errorf("sweeping upload %d: %w", st.id, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue
		}
		if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ? AND NOT EXISTS (SELECT 1 FROM uploads WHERE id = ?)"), st.id, st.id); err != nil {
			return n, fmt.Errorf("sweeping upload %d: %w", st.id, err)
		}
		n++
	}
	return n, nil
}
