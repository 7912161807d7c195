package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ktriage/ktriage/fleet/store"
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
