package triage

import (
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/kview"
)

// zeroRanges reads as zeros every byte of the physical ranges.
type zeroRanges struct {
	mem    kernel.PhysReader
	ranges [][2]uint64
}

func (z zeroRanges) ReadPhys(p []byte, pa uint64) (int, error) {
	n, err := z.mem.ReadPhys(p, pa)
	for _, r := range z.ranges {
		for a := max(r[0], pa); a < min(r[1], pa+uint64(n)); a++ {
			p[a-pa] = 0
		}
	}
	return n, err
}

// physPages are the physical ranges of [va, va+n), page by page.
func physPages(t *testing.T, k *kernel.Kernel, va, n uint64) [][2]uint64 {
	t.Helper()
	var out [][2]uint64
	for a := va; a < va+n; {
		next := min((a|0xfff)+1, va+n)
		pa, err := k.Translate(a)
		if err != nil {
			t.Fatalf("%#x: %v", a, err)
		}
		out = append(out, [2]uint64{pa, pa + next - a})
		a = next
	}
	return out
}

// symOf is a symbol's address from VMCOREINFO, else kallsyms.
func symOf(t *testing.T, k *kernel.Kernel, name string) uint64 {
	t.Helper()
	if a, ok := k.VMCOREINFO().Symbol(name); ok {
		return a
	}
	a, _, err := kview.New(k).Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestHostileAnalyze: analyze of a dump whose BTF, kallsyms, ORC, panic
// stack or task list is broken still titles the crash from the log, and
// says in the input's note what it could not read; within a time bound.
func TestHostileAnalyze(t *testing.T) {
	type spec struct {
		name string
		// zero is the kernel-virtual range to zero; fail, to fail.
		ranges func(t *testing.T, k *kernel.Kernel) (va, n uint64, fail bool)
		note   string // what the note must name ("" for no demand)
	}
	span := func(a, b string) func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
		return func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			s, e := symOf(t, k, a), symOf(t, k, b)
			return s, e - s, false
		}
	}
	specs := []spec{
		{"btf zeroed", span("__start_BTF", "__stop_BTF"), "BTF"},
		{"orc zeroed", span("__start_orc_unwind", "__stop_orc_unwind"), ""},
		{"kallsyms names zeroed", func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			return symOf(t, k, "kallsyms_names"), 64 << 10, false
		}, "kallsyms"},
		{"kallsyms offsets unreadable", func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			return symOf(t, k, "kallsyms_offsets"), 4096, true
		}, "kallsyms"},
		{"panic stack unreadable", func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			cur, err := kview.New(k).CurrentTask(0)
			if err != nil {
				t.Fatal(err)
			}
			st, err := kview.New(k).Uint(cur, "task_struct", "stack")
			if err != nil {
				t.Fatal(err)
			}
			return st, 16 << 10, true
		}, "stack"},
	}
	dumps := map[string]func(t *testing.T) string{
		"skbcsum": func(t *testing.T) string { return fixtureDump(t, "skbcsum-kdump") },
		"tcpskb":  func(t *testing.T) string { return vmcores.Require(t, vmcores.Set61).Tcpskb(t).Path },
	}
	for dname, dpath := range dumps {
		t.Run(dname, func(t *testing.T) {
			path := dpath(t)
			base, _ := analyzeWrapped(t, path, func(d *dump.Dump, _ *kernel.Kernel) kernel.PhysReader { return d })
			if len(base.reports) == 0 || base.reports[0].Title == "" {
				t.Fatal("no titled report from the intact dump")
			}
			title := base.reports[0].Title
			for _, c := range specs {
				t.Run(c.name, func(t *testing.T) {
					d, k0, err := OpenVmcore(path)
					if err != nil {
						t.Fatal(err)
					}
					defer d.Close()
					info, err := d.RequireVMCOREINFO()
					if err != nil {
						t.Fatal(err)
					}
					va, n, fail := c.ranges(t, k0)
					rs := physPages(t, k0, va, n)
					var mem kernel.PhysReader = zeroRanges{mem: d, ranges: rs}
					if fail {
						mem = d
						for _, r := range rs {
							mem = failRange{mem: mem, lo: r[0], hi: r[1]}
						}
					}
					start := time.Now()
					type res struct {
						doc *document
						err error
					}
					done := make(chan res, 1)
					go func() {
						k, err := kernel.New(mem, info)
						if err != nil {
							done <- res{err: err}
							return
						}
						doc, err := analyzeDump(path, d, k, nil)
						done <- res{doc, err}
					}()
					var r res
					select {
					case r = <-done:
					case <-time.After(30 * time.Second):
						t.Fatal("analyze hangs")
					}
					if r.err != nil {
						t.Fatalf("analyze: %v", r.err)
					}
					doc := r.doc
					t.Logf("%v; note: %s", time.Since(start).Round(time.Millisecond), doc.input.Note)
					if len(doc.reports) == 0 || doc.reports[0].Title != title {
						t.Errorf("title lost: %d reports, want %q", len(doc.reports), title)
					}
					if c.note != "" && !strings.Contains(doc.input.Note, c.note) {
						t.Errorf("note %q names no %s", doc.input.Note, c.note)
					}
				})
			}
		})
	}
}
