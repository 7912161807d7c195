package dump

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// samePages checks that two dumps hold the same pages with the same bytes.
func samePages(t *testing.T, want, got *Dump) {
	t.Helper()
	ps := want.Info().PageSize
	a, b := make([]byte, ps), make([]byte, ps)
	n, bad := 0, 0
	want.PresentPages(func(pfn uint64) bool {
		_, err1 := want.ReadPhys(a, pfn*uint64(ps))
		_, err2 := got.ReadPhys(b, pfn*uint64(ps))
		switch {
		case err1 != nil:
			t.Errorf("pfn %d: reference dump: %v", pfn, err1)
			bad++
		case err2 != nil:
			t.Errorf("pfn %d: %v", pfn, err2)
			bad++
		case !bytes.Equal(a, b):
			t.Errorf("pfn %d differs", pfn)
			bad++
		}
		n++
		return bad < 5
	})
	if n == 0 {
		t.Error("no pages compared")
	}
	cnt := 0
	got.PresentPages(func(uint64) bool { cnt++; return true })
	if cnt != n && bad == 0 {
		t.Errorf("%d pages present, reference has %d", cnt, n)
	}
	if got.VMCOREINFO() != want.VMCOREINFO() {
		t.Error("VMCOREINFO differs")
	}
}

// TestMakedumpfileOutputs compares makedumpfile's own conversions of a
// fixture (-l LZO, uncompressed, -F flattened) with the fixture, page by
// page. They are too big to keep in the repository: set KTRIAGE_MDF_DIR to
// a folder holding lzo.kdump, raw.kdump, zlib.flat and lzo.flat made with
// makedumpfile 1.7.2 from skbcsum-kdump/vmcore.kdump-d31 (-d 31, -l, -F).
func TestMakedumpfileOutputs(t *testing.T) {
	ref := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	dir := os.Getenv("KTRIAGE_MDF_DIR")
	if dir == "" {
		// Make them with the makedumpfile that make test installs.
		mdf := testshared.Tool(t, "makedumpfile")
		dir = t.TempDir()
		src := fixturePath(t, "skbcsum-kdump", "vmcore.kdump-d31")
		for _, c := range []struct {
			out  string
			args []string
		}{
			{"lzo.kdump", []string{"-l", "-d", "31"}},
			{"raw.kdump", []string{"-d", "31"}},
			{"zlib.flat", []string{"-F", "-c", "-d", "31"}},
			{"lzo.flat", []string{"-F", "-l", "-d", "31"}},
		} {
			out := filepath.Join(dir, c.out)
			args := append(append([]string{}, c.args...), src)
			cmd := exec.Command(mdf, args...)
			if c.args[0] == "-F" {
				f, err := os.Create(out)
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stdout = f
				err = cmd.Run()
				f.Close()
				if err != nil {
					t.Fatalf("makedumpfile %v: %v", args, err)
				}
				continue
			}
			if b, err := exec.Command(mdf, append(args, out)...).CombinedOutput(); err != nil {
				t.Fatalf("makedumpfile %v: %v\n%s", args, err, b)
			}
		}
	}
	for _, c := range []struct {
		file   string
		format Format
		comp   Compression
	}{
		{"lzo.kdump", "kdump-compressed", "lzo"},
		{"raw.kdump", "kdump-compressed", "none"},
		{"zlib.flat", "flattened", "zlib"},
		{"lzo.flat", "flattened", "lzo"},
	} {
		t.Run(c.file, func(t *testing.T) {
			d, err := Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if in := d.Info(); in.Format != c.format || in.Compression != c.comp {
				t.Errorf("format %q compression %q", in.Format, in.Compression)
			}
			samePages(t, ref, d)
		})
	}
}
