package hostroot

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/ktriage/ktriage/internal/testshared"
)

// hugeSize is the log TestHugeLogStream streams: 10 GiB, or 256 MiB
// outside CI when KTRIAGE_HUGE=0.
func hugeSize() int64 {
	if os.Getenv("CI") != "true" && os.Getenv("KTRIAGE_HUGE") == "0" {
		return 256 << 20
	}
	return 10 << 30
}

// hugeLine is the line the huge log repeats; its last line is hugeEnd,
// of the same length.
const (
	hugeLine = "Dec  5 01:02:03 host1 kernel: [12345.678901] eth0: NETDEV WATCHDOG: transmit queue 0 timed out\n"
	hugeEnd  = "Dec  5 01:02:04 host1 kernel: [12346.000000] the last line of the log, seen by the stream: END\n"
)

// hugeArchive is a zstd-compressed sosreport tar holding etc/hostname and
// a var/log/messages of many lines. The log's middle is one 4 MiB chunk
// compressed once and written as a zstd frame again and again
// (concatenated frames are one stream, RFC 8878 §3.1), so that making
// 10 GiB costs little and reading it costs what it would.
type hugeArchive struct {
	head, chunk, tail []byte
	k                 int64
}

func (h *hugeArchive) writeTo(w io.Writer) error {
	if _, err := w.Write(h.head); err != nil {
		return err
	}
	for range h.k {
		if _, err := w.Write(h.chunk); err != nil {
			return err
		}
	}
	_, err := w.Write(h.tail)
	return err
}

func newHugeArchive(lines int64) (*hugeArchive, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, err
	}
	frame := func(data []byte) []byte {
		var b bytes.Buffer
		enc.Reset(&b)
		enc.Write(data)
		enc.Close()
		return b.Bytes()
	}
	size := lines * int64(len(hugeLine))
	var head bytes.Buffer
	tw := tar.NewWriter(&head)
	tw.WriteHeader(&tar.Header{Name: top + "/etc/hostname", Mode: 0o644, Size: 6, ModTime: mtime, Typeflag: tar.TypeReg})
	tw.Write([]byte("host1\n"))
	tw.Flush()
	// Over 8 GiB, the writer records the size in a PAX header.
	if err := tw.WriteHeader(&tar.Header{Name: top + "/var/log/messages", Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	// The writer's member is never written through it: head holds the
	// headers, the data and end follow.
	h := &hugeArchive{head: frame(head.Bytes())}
	per := int64(4<<20) / int64(len(hugeLine))
	h.chunk = frame([]byte(strings.Repeat(hugeLine, int(per))))
	h.k = (lines - 1) / per
	k := h.k
	var tail bytes.Buffer
	tail.WriteString(strings.Repeat(hugeLine, int(lines-k*per-1)))
	tail.WriteString(hugeEnd)
	tail.Write(make([]byte, (512-size%512)%512+1024)) // padding, end-of-archive blocks
	h.tail = frame(tail.Bytes())
	return h, nil
}

// TestHugeLogStream: a 10 GiB log in a zstd archive read from a pipe
// streams whole through Stream, in bounded memory, writing nothing to
// TMPDIR (a 1 MiB tmpfs, so that a spool to disk would also fail).
func TestHugeLogStream(t *testing.T) {
	mnt := t.TempDir()
	err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m")
	testshared.Require(t, err == nil, "mounting a 1 MiB tmpfs as TMPDIR needs root: %v", err)
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	t.Setenv("TMPDIR", mnt)
	var before unix.Statfs_t
	if err := unix.Statfs(mnt, &before); err != nil {
		t.Fatal(err)
	}

	lines := hugeSize() / int64(len(hugeLine))
	size := lines * int64(len(hugeLine))
	h, err := newHugeArchive(lines)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the archive: %d KiB", (int64(len(h.head)+len(h.tail))+h.k*int64(len(h.chunk)))>>10)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(h.writeTo(pw)) }()
	defer pr.Close()

	runtime.GC()
	var seen, newlines int64
	var last []byte
	var peak uint64
	sample := func() {
		// What the stream holds, its garbage collected: on a loaded
		// machine the collector lags a 1 GB/s stream by a cycle or two.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	start := time.Now()
	r, err := OpenReader(pr, "huge.tar.zst", Options{Stream: func(name string, m Member, rd io.Reader) error {
		if name != "var/log/messages" || m.Size != size {
			return fmt.Errorf("streamed %s of %d bytes", name, m.Size)
		}
		buf := make([]byte, 1<<20)
		next := int64(0)
		for {
			n, err := rd.Read(buf)
			seen += int64(n)
			newlines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if n > 0 {
				last = append(last, buf[:n]...)
				last = last[max(0, len(last)-len(hugeEnd)):]
			}
			if seen >= next {
				sample()
				next += 256 << 20
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	sample()
	if seen != size || newlines != lines || string(last) != hugeEnd {
		t.Errorf("streamed %d bytes in %d lines ending %q; want %d in %d ending %q", seen, newlines, last, size, lines, hugeEnd)
	}
	if b, err := fs.ReadFile(r, "etc/hostname"); err != nil || string(b) != "host1\n" {
		t.Errorf("kept file beside the log: %q, %v", b, err)
	}
	if peak > 64<<20 {
		t.Errorf("heap in use peaked at %d MiB", peak>>20)
	}
	var after unix.Statfs_t
	if err := unix.Statfs(mnt, &after); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(mnt)
	if len(ents) > 0 || after.Bfree != before.Bfree {
		t.Errorf("TMPDIR was written: %d entries, %d free blocks of %d before", len(ents), after.Bfree, before.Bfree)
	}
	t.Logf("streamed %d MiB in %v (%.0f MiB/s), heap in use peaked at %.1f MiB", size>>20, elapsed.Round(time.Millisecond), float64(size>>20)/elapsed.Seconds(), float64(peak)/(1<<20))
}
