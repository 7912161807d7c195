package livecheck_test

import (
	"sync"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/ktypes"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/livecheck"
	"github.com/ktriage/ktriage/triage"
)

// overlay reads physical memory with data written over it at off: a dump
// whose objects, stacks, struct pages or page tables hold what an attacker
// (or a wild write before the crash) put there.
type overlay struct {
	mem  kernel.PhysReader
	off  uint64
	data []byte
}

func (o overlay) ReadPhys(p []byte, paddr uint64) (int, error) {
	n, err := o.mem.ReadPhys(p, paddr)
	end := paddr + uint64(n)
	if end < paddr {
		return n, err
	}
	for i, b := range o.data {
		a := o.off + uint64(i)
		if a >= paddr && a < end {
			p[a-paddr] = b
		}
	}
	return n, err
}

// fuzzState is the skbcsum dump opened once per process, with its BTF
// parsed once: each input then costs only its own reads.
type fuzzState struct {
	once sync.Once
	d    *dump.Dump
	info string
	ts   ktypes.Types
	in   livecheck.Input
	// seed are physical addresses worth overwriting: the corrupt skb
	// (RCX) and the crashing stack (RSP).
	seed []uint64
	err  error
}

var fuzzBase fuzzState

func fuzzSetup(tb testing.TB) *fuzzState {
	tb.Helper()
	path := testshared.Path(tb, "fixtures/vmcore/skbcsum-kdump/vmcore.kdump-d31")
	b := &fuzzBase
	b.once.Do(func() {
		var k *kernel.Kernel
		b.d, k, b.err = triage.OpenVmcore(path)
		if b.err != nil {
			return
		}
		b.info, _ = b.d.RequireVMCOREINFO()
		if b.ts, b.err = kview.New(k).Types(); b.err != nil {
			return
		}
		for _, n := range b.d.PRStatus() {
			b.in.CPUs = append(b.in.CPUs, livecheck.CPUState{CPU: n.CPU, PID: n.PID, Regs: n.Regs})
			for _, r := range []string{"RCX", "RSP"} {
				if pa, err := k.Translate(n.Regs[r]); err == nil {
					b.seed = append(b.seed, pa)
				}
			}
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b
}

// runOver runs livecheck over the dump with data written at off.
func runOver(b *fuzzState, off uint64, data []byte) (*livecheck.Result, error, bool) {
	k, err := kernel.New(overlay{mem: b.d, off: off, data: data}, b.info)
	if err != nil {
		return nil, nil, false
	}
	res, err := livecheck.Run(kview.New(k, kview.WithTypes(b.ts)), b.in)
	return res, err, true
}

// FuzzRunCorruptMemory: whatever memory holds, Run returns (a result or an
// error) without panicking. Seeds overwrite the corrupt skb and the
// crashing stack.
func FuzzRunCorruptMemory(f *testing.F) {
	b := fuzzSetup(f)
	for _, pa := range b.seed {
		f.Add(pa, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		f.Add(pa+0xc8, []byte{0, 0, 0, 0, 0, 0, 0, 0x80, 1, 2, 3, 4})
		f.Add(pa&^0xfff, make([]byte, 4096))
	}
	f.Add(uint64(0), []byte("corrupt"))
	f.Fuzz(func(t *testing.T, off uint64, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		if res, err, ok := runOver(b, off, data); ok && err == nil && res == nil {
			t.Fatal("nil result without an error")
		}
	})
}
