package store

import (
	"context"
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
}

// Enqueue adds the job that will analyze upload id, in tx (the
// transaction that makes the upload durable), and returns the job's id.
type Enqueue func(ctx context.Context, tx *sql.Tx, id int64) (int64, error)

// SaveUpload streams r into the database under up's group and key, at most
// max bytes, then marks it queued and enqueues its job in one transaction:
// once it returns, the upload and its job are durable. A key already
// queued or done returns that upload (found is true) without reading r; an
// upload of the key that a dead request left receiving is replaced.
//
// The chunks are written outside the final transaction, so that a slow
// upload holds no lock that ingest waits for.
func (s *Store) SaveUpload(ctx context.Context, up Upload, r io.Reader, max int64, enqueue Enqueue) (_ *Upload, found bool, err error) {
	if up.Key == "" || up.Host == "" || up.Kind == "" {
		return nil, false, errors.New("upload: key, host and kind are required")
	}
	old, err := s.uploadWhere(ctx, "grp = ? AND idem_key = ?", up.Group, up.Key)
	switch {
	case err == nil && old.State != UploadReceiving:
		return old, true, nil
	case err == nil:
		if err := s.dropUpload(ctx, old.ID); err != nil {
			return nil, false, err
		}
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}
	if up.Received.IsZero() {
		up.Received = time.Now()
	}
	if err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO uploads (grp, idem_key, host, kind, digest, size, received_at, state, attempts)
		VALUES (?, ?, ?, ?, '', 0, ?, ?, 0) RETURNING id`),
		up.Group, up.Key, up.Host, up.Kind, up.Received.Unix(), UploadReceiving).Scan(&up.ID); err != nil {
		return nil, false, fmt.Errorf("upload: %w", err)
	}
	defer func() {
		if err != nil {
			// Not ctx: it may be why this failed.
			s.dropUpload(context.WithoutCancel(ctx), up.ID)
		}
	}()
	h := sha256.New()
	buf := make([]byte, UploadChunk)
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			up.Size += int64(n)
			if up.Size > max {
				return nil, false, fmt.Errorf("upload: %w of %d bytes", ErrTooLarge, max)
			}
			h.Write(buf[:n])
			if _, err := s.db.ExecContext(ctx, s.q("INSERT INTO upload_chunks (upload_id, seq, data) VALUES (?, ?, ?)"), up.ID, seq, buf[:n]); err != nil {
				return nil, false, fmt.Errorf("upload: storing chunk %d (offset %d): %w", seq, up.Size-int64(n), err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
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
	if up.Job, err = enqueue(ctx, tx, up.ID); err != nil {
		return nil, false, fmt.Errorf("upload: enqueueing its job: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q("UPDATE uploads SET state = ?, digest = ?, size = ?, job_id = ? WHERE id = ? AND state = ?"),
		UploadQueued, up.Digest, up.Size, up.Job, up.ID, UploadReceiving)
	if err != nil {
		return nil, false, fmt.Errorf("upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, false, fmt.Errorf("upload %d: replaced by another request with its key", up.ID)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("upload: commit: %w", err)
	}
	up.State = UploadQueued
	return &up, false, nil
}

// dropUpload deletes an upload and its chunks.
func (s *Store) dropUpload(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM upload_chunks WHERE upload_id = ?"), id); err != nil {
		return fmt.Errorf("upload %d: deleting: %w", id, err)
	}
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM uploads WHERE id = ?"), id); err != nil {
		return fmt.Errorf("upload %d: deleting: %w", id, err)
	}
	return nil
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
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, grp, idem_key, host, kind, digest, size, received_at, state, job_id, attempts, ack, error
		FROM uploads WHERE `+where), args...).Scan(&u.ID, &u.Group, &u.Key, &u.Host, &u.Kind, &u.Digest, &u.Size, &received,
		&u.State, &job, &u.Attempts, &ack, &msg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	u.Received = time.Unix(received, 0).UTC()
	u.Job, u.Error = job.Int64, msg.String
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
