package oops

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ktriage/ktriage/internal/corpuslog"
	"github.com/ktriage/ktriage/internal/testshared"
)

// benchLog is a console log built from the corpus as the logscan benchmark
// builds it (boot logs, crash reports 5% of the bytes), and its kernel
// lines normalized as the scanner's prefilter sees them.
var benchLog struct {
	once  sync.Once
	raw   []byte
	lines [][]byte
	err   error
}

func corpusLog(b *testing.B) ([]byte, [][]byte) {
	b.Helper()
	shared := testshared.Path(b, "corpora")
	benchLog.once.Do(func() {
		var buf bytes.Buffer
		if _, benchLog.err = corpuslog.Build(&buf, filepath.Dir(shared), 8<<20); benchLog.err != nil {
			return
		}
		benchLog.raw = buf.Bytes()
		var st styleState
		for _, l := range bytes.SplitAfter(benchLog.raw, []byte("\n")) {
			if v := normalize(l, &st); v.kernel {
				benchLog.lines = append(benchLog.lines, bytes.Clone(v.text))
			}
		}
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.raw, benchLog.lines
}

// benchPrefilter runs keep over every line of the corpus log and reports
// the throughput and the lines kept.
func benchPrefilter(b *testing.B, keep func([]byte) bool) {
	loadTables()
	raw, lines := corpusLog(b)
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	kept := 0
	for b.Loop() {
		kept = 0
		for _, l := range lines {
			if keep(l) {
				kept++
			}
		}
	}
	b.ReportMetric(float64(kept), "kept-lines")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}

// BenchmarkPrefilterBigram is the scanner's prefilter: the bigram index of
// the header tokens.
func BenchmarkPrefilterBigram(b *testing.B) {
	benchPrefilter(b, func(l []byte) bool { return headerTokens.contains(l) })
}

// BenchmarkPrefilterNaive is the same filter written plainly: every token
// looked for in every line.
func BenchmarkPrefilterNaive(b *testing.B) {
	loadTables()
	var toks [][]byte
	for _, f := range formats {
		toks = append(toks, []byte(f.token))
	}
	for _, t := range distinctTokens(extraTokens) {
		toks = append(toks, []byte(t))
	}
	benchPrefilter(b, func(l []byte) bool {
		for _, t := range toks {
			if bytes.Contains(l, t) {
				return true
			}
		}
		return false
	})
}

// BenchmarkPrefilterNone is no filter at all: every line tried against
// every header format's regexp.
func BenchmarkPrefilterNone(b *testing.B) {
	benchPrefilter(b, func(l []byte) bool {
		for _, f := range formats {
			if f.re.Match(l) {
				return true
			}
		}
		return false
	})
}

// BenchmarkScanCorpusLog is the whole scanner over the same log: what the
// prefilter's share of a scan is measured against.
func BenchmarkScanCorpusLog(b *testing.B) {
	raw, lines := corpusLog(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := NewScanner("bench").ScanAll(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
