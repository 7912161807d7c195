package kcrash_test

import (
	"io"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// BenchmarkSysPsModNet is `ktriage crash -c 'sys; ps; mod; net'` without
// the process: open the fixture, work out the capabilities, run the four
// commands and render them.
func BenchmarkSysPsModNet(b *testing.B) {
	path := testshared.Path(b, fixture+"vmcore.kdump-d31")
	for b.Loop() {
		d, k, err := triage.OpenVmcore(path)
		if err != nil {
			b.Fatal(err)
		}
		s := kcrash.New(kview.New(k), kcrash.WithDumpFile(path, d.Info()))
		_ = s.Capabilities().WriteText(io.Discard)
		for _, a := range s.Exec("sys; ps; mod; net") {
			if a.Err != nil {
				b.Fatal(a.Err)
			}
			_ = a.WriteText(io.Discard)
		}
		d.Close()
	}
}
