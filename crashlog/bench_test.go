package crashlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// benchLines repeats the given documents (shared assets when present, else
// testdata) to about 8 MB of lines.
func benchLines(b *testing.B, shared, local []string) []string {
	var parts []string
	for _, p := range shared {
		if data, err := os.ReadFile(filepath.Join(testshared.Dir(), p)); err == nil {
			parts = append(parts, string(data))
		}
	}
	for _, n := range local {
		data, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, string(data))
	}
	unit := strings.Split(strings.Join(parts, "\n"), "\n")
	var lines []string
	for size := 0; size < 8<<20; {
		for _, l := range unit {
			size += len(l) + 1
		}
		lines = append(lines, unit...)
	}
	return lines
}

func runBench(b *testing.B, lines []string) {
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := NewScanner()
		for i, l := range lines {
			s.Line(i+1, l)
		}
		s.Finish()
	}
}

// BenchmarkScannerLog is the common case triage puts the scanner to: a kernel
// console log where crash(8) output is rare (one seed article per ~200 KB).
func BenchmarkScannerLog(b *testing.B) {
	runBench(b, benchLines(b, []string{
		"fixtures/vmcore/skbcsum-kdump/console.log",
		"fixtures/vmcore/warn-kdump/console.log",
		"fixtures/vmcore/sysrq-c-kdump/console.log",
		"fixtures/vmcore/skbcsum-kdump/vmcore-dmesg.txt",
		testshared.Seed,
	}, []string{"bt_pasted_noise.txt"}))
}

// BenchmarkScannerTranscript is a document of nothing but crash(8) output.
func BenchmarkScannerTranscript(b *testing.B) {
	runBench(b, benchLines(b, []string{
		"fixtures/vmcore/skbcsum-kdump/crash-bt.txt",
		"fixtures/vmcore/warn-kdump/crash-bt.txt",
	}, []string{"bt_all_cpus.txt", "bt_flags.txt", "bt_sysrq_panic.txt", "sys_variants.txt"}))
}
