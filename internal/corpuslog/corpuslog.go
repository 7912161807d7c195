// Package corpuslog builds realistic console logs from the shared test
// assets: the syzkaller corpus's crash reports and real boot logs. The
// throughput benchmark (internal/bench/logscan), oops's prefilter benchmark
// and the generator of oops's bigram tables read the same text through it.
package corpuslog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Reports returns the crash logs of the syzkaller corpus under shared
// (headers and expected reports cut off), in file-name order, leaving out
// those over 64 KB.
func Reports(shared string) ([][]byte, error) {
	dir := filepath.Join(shared, "corpora", "syzkaller-linux-report", "report")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var reports [][]byte
	for _, e := range ents {
		if !numeric(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
			b = b[i+2:]
		}
		if i := bytes.Index(b, []byte("\nREPORT:\n")); i >= 0 {
			b = b[:i]
		}
		if len(b) < 64<<10 {
			reports = append(reports, b)
		}
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("corpus: no reports in %s", dir)
	}
	return reports, nil
}

func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// BootLogs returns the boot part (up to the first crash) of the vmcore
// fixtures' dmesg logs under shared, joined: log text without crashes.
func BootLogs(shared string) ([]byte, error) {
	files, err := filepath.Glob(filepath.Join(shared, "fixtures", "vmcore", "*", "dmesg.makedumpfile.txt"))
	if err != nil {
		return nil, fmt.Errorf("boot logs: %w", err)
	}
	var boot []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("boot logs: %w", err)
		}
		if i := bytes.Index(b, []byte("] sysrq:")); i > 0 {
			b = b[:bytes.LastIndexByte(b[:i], '\n')+1]
		}
		if i := bytes.Index(b, []byte("------------[ cut here ]")); i > 0 {
			b = b[:bytes.LastIndexByte(b[:i], '\n')+1]
		}
		boot = append(boot, b...)
	}
	if len(boot) == 0 {
		return nil, fmt.Errorf("boot logs: none under %s", shared)
	}
	return boot, nil
}

// Stats says what Build wrote: how many crash reports, in how many bytes.
type Stats struct{ Reports, ReportBytes int64 }

// Build writes a log of about size bytes to w: boot-log filler with a
// corpus crash report after every ~19 parts of filler (reports are about
// 5% of the bytes), the reports taken in turn.
func Build(w io.Writer, shared string, size int64) (Stats, error) {
	var st Stats
	reports, err := Reports(shared)
	if err != nil {
		return st, err
	}
	filler, err := BootLogs(shared)
	if err != nil {
		return st, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var written, fill int64
	for written < size {
		if fill < 19*st.ReportBytes+int64(len(filler)) {
			bw.Write(filler)
			written += int64(len(filler))
			fill += int64(len(filler))
			continue
		}
		r := reports[int(st.Reports)%len(reports)]
		bw.Write(r)
		bw.WriteByte('\n')
		written += int64(len(r)) + 1
		st.ReportBytes += int64(len(r)) + 1
		st.Reports++
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("log: %w", err)
	}
	return st, nil
}
