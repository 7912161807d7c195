package triage

import (
	"encoding/json"
	"io"
	"os"
	"testing"
)

// BenchmarkScanDocument measures one pass of the oops and crash(8) scanners
// over a log named by KTRIAGE_BENCH_LOG (make bench builds a large one).
func BenchmarkScanDocument(b *testing.B) {
	path := benchLog(b)
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := scanDocument(path, f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkAnalyze measures the whole analysis of the log named by
// KTRIAGE_BENCH_LOG, the knowledge-base lookup and the JSON encoding included.
func BenchmarkAnalyze(b *testing.B) {
	path := benchLog(b)
	for i := 0; i < b.N; i++ {
		d, err := Analyze([]string{path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(io.Discard).Encode(d); err != nil {
			b.Fatal(err)
		}
	}
}

// benchLog returns the log named by KTRIAGE_BENCH_LOG, with the benchmark's
// byte count set to its size.
func benchLog(b *testing.B) string {
	path := os.Getenv("KTRIAGE_BENCH_LOG")
	if path == "" {
		b.Skip("KTRIAGE_BENCH_LOG not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	return path
}
