package unwind

import (
	"path/filepath"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// BenchmarkUnwind times one full walk of the skbcsum panic CPU (20
// frames, with the "?" guesses interleaved), tables already loaded.
func BenchmarkUnwind(b *testing.B) {
	dir := testshared.Path(b, "fixtures/vmcore/skbcsum-kdump")
	v := openVmcore(b, filepath.Join(dir, "vmcore.kdump-d31"))
	st := v.d.PRStatus()[0]
	stacks := v.stacks(b, st.CPU)
	u := New(v.k, v.orc, v)
	b.ResetTimer()
	for b.Loop() {
		tr, err := u.Unwind(st.Regs, Options{Stacks: stacks, Guesses: true})
		if err != nil || !tr.Complete {
			b.Fatal(err, tr.Stop)
		}
	}
}

// BenchmarkLoadKernel times reading and validating vmlinux's ORC table
// (368k entries: 1.5 MiB of IPs, 2.2 MiB of entries).
func BenchmarkLoadKernel(b *testing.B) {
	dir := testshared.Path(b, "fixtures/vmcore/skbcsum-kdump")
	v := openVmcore(b, filepath.Join(dir, "vmcore.kdump-d31"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := LoadKernel(v.k, v.syms, v.k.Release()); err != nil {
			b.Fatal(err)
		}
	}
}
