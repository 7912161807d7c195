package dump

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// endless is a stream that never ends: /dev/zero, or `yes` into a pipe.
type endless struct{ b byte }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	return len(p), nil
}

// TestStreamRefusedEarly: a stream that is no dump is refused on its first
// bytes, before anything is spooled, and a dump stream past the spool cap
// fails naming the cap; neither leaves a file in the temporary directory.
func TestStreamRefusedEarly(t *testing.T) {
	flat := flatten(tinyKdump(encZlib, flagZlib), []int{512, 100})
	// A valid flattened stream that goes on and on: records rewriting
	// offset 0 forever.
	rec := flat[flatHeaderSize : flatHeaderSize+16+100]
	forever := io.MultiReader(bytes.NewReader(flat[:flatHeaderSize]), readerFunc(func(p []byte) (int, error) {
		n := 0
		for n+len(rec) <= len(p) {
			n += copy(p[n:], rec)
		}
		return n, nil
	}))
	// Each stream ends after 64 MiB, so that a reader spooling it all (as
	// OpenFlattened did) fails the test without filling the disk.
	const enough = 64 << 20
	for _, c := range []struct {
		name string
		r    io.Reader
		cap  int64
		want string
	}{
		{"/dev/zero", io.LimitReader(endless{0}, enough), 0, "nothing was spooled"},
		{"text", io.LimitReader(endless{'y'}, enough), 0, "nothing was spooled"},
		{"empty", bytes.NewReader(nil), 0, "stream too short"},
		{"endless flattened stream", io.LimitReader(forever, enough), 1 << 20, "larger than the 1 TiB"},
		{"ELF past the cap", io.LimitReader(io.MultiReader(bytes.NewReader(tinyELF(false, false)), endless{0}), enough), 1 << 20, "larger than the 1 TiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cap != 0 {
				old := maxSpool
				maxSpool = c.cap
				defer func() { maxSpool = old }()
			}
			tmp := t.TempDir()
			done := make(chan error, 1)
			go func() {
				d, err := OpenFlattened(c.r, "standard input", tmp)
				if d != nil {
					d.Close()
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("still reading after 10 s")
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "standard input: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a FormatError naming the input and %q", err, c.want)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left in the temporary directory: %v", ents)
			}
		})
	}
}

// TestSpoolUnlinked: while a stream is spooled and opened, its temporary
// file is already gone from the directory, so that a signal that kills
// the process cannot leave it behind.
func TestSpoolUnlinked(t *testing.T) {
	tmp := t.TempDir()
	d, err := OpenFlattened(io.MultiReader(bytes.NewReader(flatten(tinyKdump(encZlib, flagZlib), []int{512}))), "standard input", tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spool file visible while the dump is open: %v", ents)
	}
	buf := make([]byte, 512)
	if _, err := d.ReadPhys(buf, 512); err != nil || !bytes.Equal(buf, tinyPage(1)) {
		t.Errorf("reading the spooled dump: %v", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
