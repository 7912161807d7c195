package triage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/ktriage/ktriage/internal/decompress"
	"github.com/ktriage/ktriage/internal/testshared"
)

func compress(t *testing.T, f decompress.Format, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	var err error
	switch f {
	case decompress.Gzip:
		w = gzip.NewWriter(&out)
	case decompress.XZ:
		w, err = xz.NewWriter(&out)
	case decompress.Zstd:
		w, err = zstd.NewWriter(&out)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestCompressedInputs: gzip, xz and zstd logs are read through their
// decompressor, chosen by their first bytes whatever their name; a bomb, a
// truncated stream and a compressed dump are refused naming the file; UTF-16
// and binary files are named as not text.
func TestCompressedInputs(t *testing.T) {
	ticket, err := os.ReadFile("../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := reportKeys(t, ticket)
	if len(want) == 0 {
		t.Fatal("no crash in the ticket")
	}
	u16 := []byte{0xff, 0xfe}
	for _, r := range utf16.Encode([]rune(string(ticket))) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	bin := bytes.Repeat([]byte{0, 1, 2, 3, 'a', 'b'}, 2000)
	cases := []struct {
		name    string
		data    []byte
		limit   int64
		reports []string // nil: none
		note    string   // in the input's note
		err     string   // in the error
	}{
		{"ticket.txt.gz", compress(t, decompress.Gzip, ticket), 0, want, "", ""},
		{"ticket.txt.xz", compress(t, decompress.XZ, ticket), 0, want, "", ""},
		{"ticket.txt.zst", compress(t, decompress.Zstd, ticket), 0, want, "", ""},
		{"gzip-named.log", compress(t, decompress.Gzip, ticket), 0, want, "", ""},
		{"two-members.gz", append(compress(t, decompress.Gzip, ticket[:len(ticket)/2]), compress(t, decompress.Gzip, ticket[len(ticket)/2:])...), 0, want, "", ""},
		{"bomb.gz", compress(t, decompress.Gzip, make([]byte, 1<<20)), 64 << 10, nil, "", "bomb.gz: gzip data decompresses to more than the limit (65536 bytes)"},
		{"exact.gz", compress(t, decompress.Gzip, ticket), int64(len(ticket)), want, "", ""},
		{"cut.xz", compress(t, decompress.XZ, ticket)[:200], 0, nil, "it ends early, and was read up to the cut: line 1: xz data ends early", ""},
		{"vmcore.gz", compress(t, decompress.Gzip, append([]byte("KDUMP   "), make([]byte, 8192)...)), 0, nil, "", "vmcore.gz"},
		{"utf16.log", u16, 0, want, "not text: it is UTF-16LE (byte-order mark FF FE)", ""},
		{"blob.bin", bin, 0, nil, "not text: 2732 of its first 4096 bytes are control bytes", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), c.name, string(c.data))
			d, err := Analyze([]string{p}, Options{MaxDecompressed: c.limit})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				if strings.Contains(c.err, "limit") && !errors.Is(err, decompress.ErrTooLarge) {
					t.Errorf("%v does not wrap ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range d.Reports {
				got = append(got, r.Title+" "+r.Signature)
			}
			if !slices.Equal(got, c.reports) {
				t.Errorf("reports %q, want %q", got, c.reports)
			}
			if !strings.Contains(d.Inputs[0].Note, c.note) || c.note == "" && d.Inputs[0].Note != "" {
				t.Errorf("note %q, want %q", d.Inputs[0].Note, c.note)
			}
		})
	}
}

// TestCompressedDump: a dump compressed whole reads as the dump does.
func TestCompressedDump(t *testing.T) {
	dumps, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "warn-kdump", "vmcore.*"))
	if len(dumps) == 0 {
		t.Fatal("no fixture dump")
	}
	raw, err := os.ReadFile(dumps[0])
	if err != nil {
		t.Fatal(err)
	}
	want, err := Analyze(dumps[:1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "vmcore.zst", string(compress(t, decompress.Zstd, raw)))
	got, err := Analyze([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Reports) == 0 || len(got.Reports) != len(want.Reports) || got.Reports[0].Signature != want.Reports[0].Signature || got.Vmcore == nil || got.Inputs[0].Kind != KindVmcore {
		t.Errorf("compressed dump: %d reports, vmcore %v; want %d", len(got.Reports), got.Vmcore, len(want.Reports))
	}
	if _, err := Analyze([]string{p}, Options{MaxDecompressed: 1 << 20}); !errors.Is(err, decompress.ErrTooLarge) {
		t.Errorf("a dump past the limit: %v", err)
	}
}

// TestCompressedInDirectory: a compressed log in a directory is read, and
// one that cannot be is noted without hiding the others.
func TestCompressedInDirectory(t *testing.T) {
	ticket, err := os.ReadFile("../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "messages-20261201.gz", string(compress(t, decompress.Gzip, ticket)))
	writeFile(t, dir, "old.zst", string(compress(t, decompress.Zstd, ticket)[:40]))
	d, err := Analyze([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) == 0 {
		t.Error("no crash read from the gzip log")
	}
	noted := false
	for _, in := range d.Inputs {
		noted = noted || filepath.Base(in.Path) == "old.zst" && strings.Contains(in.Note, "zstd")
	}
	if !noted {
		t.Errorf("the truncated zstd file is not noted: %+v", d.Inputs)
	}
}

// TestStdin: "-" reads standard input, as a stream.
func TestStdin(t *testing.T) {
	ticket, err := os.ReadFile("../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{ticket, compress(t, decompress.Zstd, ticket)} {
		pr, pw := io.Pipe()
		go func() { pw.Write(in); pw.Close() }()
		d, err := Analyze([]string{"-"}, Options{Stdin: pr})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Reports) == 0 || d.Inputs[0].Path != Stdin || d.Reports[0].Source.Path != Stdin {
			t.Errorf("standard input: %d reports, inputs %+v", len(d.Reports), d.Inputs)
		}
	}
}

// TestTruncatedCompressed: a compressed log cut short (copied while it was
// rotated, a partial download) still gives the crashes before the cut, with
// a note that it ends early, in each format.
func TestTruncatedCompressed(t *testing.T) {
	log, err := os.ReadFile("../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatal(err)
	}
	// Text after the crash, so that the cut falls past it, in blocks of
	// their own (a decoder gives nothing of a block it cannot finish).
	for i := range 60000 {
		log = fmt.Appendf(log, "[ %d.%06d] filler line %d after the crash, to be cut\n", 9999+i/1000, i*7919%1000000, i*104729)
	}
	for _, f := range []decompress.Format{decompress.Gzip, decompress.XZ, decompress.Zstd} {
		t.Run(string(f), func(t *testing.T) {
			c := compress(t, f, log)
			p := filepath.Join(t.TempDir(), "console.log.cut")
			if err := os.WriteFile(p, c[:len(c)*9/10], 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := Analyze([]string{p}, Options{})
			if err != nil {
				t.Fatalf("a truncated %s log failed the analysis: %v", f, err)
			}
			if len(d.Reports) != 1 || !strings.Contains(d.Reports[0].Title, "crashnet_start_xmit") {
				t.Errorf("reports %d, want the example's crash", len(d.Reports))
			}
			if len(d.Inputs) != 1 || !strings.Contains(d.Inputs[0].Note, "ends early") {
				t.Errorf("inputs %+v: no note that the file ends early", d.Inputs)
			}
		})
	}
}

// TestBinaryStream: a device or pipe that streams binary data (a link to
// /dev/zero named as a log) is refused on its first bytes, not read without
// end; a regular file of the same bytes is still read, with its note.
func TestBinaryStream(t *testing.T) {
	p := filepath.Join(t.TempDir(), "messages")
	if err := os.Symlink("/dev/zero", p); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Analyze([]string{p}, Options{}); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "offset 0") || !strings.Contains(err.Error(), "not text") {
			t.Errorf("error %v, want one naming offset 0 and saying it is not text", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("analyze of /dev/zero still reading after 20 s")
	}
}
