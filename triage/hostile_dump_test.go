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

// patchPtrs reads the given physical bytes instead of the dump's.
type patchPtrs struct {
	mem   kernel.PhysReader
	bytes map[uint64]byte
}

func (p patchPtrs) ReadPhys(b []byte, pa uint64) (int, error) {
	n, err := p.mem.ReadPhys(b, pa)
	for i := range b[:n] {
		if v, ok := p.bytes[pa+uint64(i)]; ok {
			b[i] = v
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
		// ptrs, when set instead, are pointers to overwrite: address to
		// value.
		ptrs func(t *testing.T, k *kernel.Kernel) map[uint64]uint64
		note string // what the note must name ("" for no demand)
		// keep: the memory findings of the intact dump must stand.
		keep bool
		// noLog: the case breaks the log, so there is no title to keep.
		noLog bool
	}
	listNode := func(t *testing.T, k *kernel.Kernel, head uint64, n int) uint64 {
		v := kview.New(k)
		node := head
		for range n + 1 {
			next, err := v.U64(node)
			if err != nil || next == head {
				t.Fatalf("list at %#x: %d nodes: %v", head, n, err)
			}
			node = next
		}
		return node
	}
	span := func(a, b string) func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
		return func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			s, e := symOf(t, k, a), symOf(t, k, b)
			return s, e - s, false
		}
	}
	specs := []spec{
		{name: "btf zeroed", ranges: span("__start_BTF", "__stop_BTF"), note: "BTF"},
		{name: "orc zeroed", ranges: span("__start_orc_unwind", "__stop_orc_unwind"), keep: true},
		{name: "kallsyms names zeroed", ranges: func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			return symOf(t, k, "kallsyms_names"), 64 << 10, false
		}, note: "kallsyms"},
		{name: "kallsyms offsets unreadable", ranges: func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			return symOf(t, k, "kallsyms_offsets"), 4096, true
		}, note: "kallsyms"},
		{name: "modules next garbage", ptrs: func(t *testing.T, k *kernel.Kernel) map[uint64]uint64 {
			return map[uint64]uint64{symOf(t, k, "modules"): 0x4141414141414141}
		}, keep: true},
		{name: "net devices loop", ptrs: func(t *testing.T, k *kernel.Kernel) map[uint64]uint64 {
			off, err := kview.New(k).Offset("net", "dev_base_head")
			if err != nil {
				t.Fatal(err)
			}
			node := listNode(t, k, symOf(t, k, "init_net")+off, 0)
			return map[uint64]uint64{node: node}
		}},
		{name: "tasks list cut", ptrs: func(t *testing.T, k *kernel.Kernel) map[uint64]uint64 {
			off, err := kview.New(k).Offset("task_struct", "tasks")
			if err != nil {
				t.Fatal(err)
			}
			return map[uint64]uint64{listNode(t, k, symOf(t, k, "init_task")+off, 20): 0xffffc9ffff000000}
		}},
		{name: "per-cpu offsets garbage", ptrs: func(t *testing.T, k *kernel.Kernel) map[uint64]uint64 {
			// every CPU's offset: the crashing CPU need not be CPU 0
			m := map[uint64]uint64{}
			for cpu := range uint64(kview.New(k).NumCPUs()) {
				m[symOf(t, k, "__per_cpu_offset")+8*cpu] = 0x4141414141414141
			}
			return m
		}, note: "current task", keep: true},
		{name: "printk ring pointer zeroed", ptrs: func(t *testing.T, k *kernel.Kernel) map[uint64]uint64 {
			return map[uint64]uint64{symOf(t, k, "prb"): 0}
		}, note: "SYMBOL(prb)", noLog: true, keep: true},
		{name: "panic stack unreadable", ranges: func(t *testing.T, k *kernel.Kernel) (uint64, uint64, bool) {
			// the crashing CPU's task (panic_cpu), whichever CPU it is
			pc, err := kview.New(k).U32(symOf(t, k, "panic_cpu"))
			if err != nil {
				t.Fatal(err)
			}
			cur, err := kview.New(k).CurrentTask(int(pc))
			if err != nil {
				t.Fatal(err)
			}
			st, err := kview.New(k).Uint(cur, "task_struct", "stack")
			if err != nil {
				t.Fatal(err)
			}
			return st, 16 << 10, true
		}, note: "stack"},
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
					var mem kernel.PhysReader
					if c.ptrs != nil {
						pm := patchPtrs{mem: d, bytes: map[uint64]byte{}}
						for va, val := range c.ptrs(t, k0) {
							for i := range uint64(8) {
								pa, err := k0.Translate(va + i)
								if err != nil {
									t.Fatal(err)
								}
								pm.bytes[pa] = byte(val >> (8 * i))
							}
						}
						mem = pm
					} else {
						va, n, fail := c.ranges(t, k0)
						rs := physPages(t, k0, va, n)
						mem = zeroRanges{mem: d, ranges: rs}
						if fail {
							mem = d
							for _, r := range rs {
								mem = failRange{mem: mem, lo: r[0], hi: r[1]}
							}
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
					t.Logf("%v; %d findings, owner %v; note: %s", time.Since(start).Round(time.Millisecond), len(doc.findings), doc.owner != nil, doc.input.Note)
					if !c.noLog && (len(doc.reports) == 0 || doc.reports[0].Title != title) {
						t.Errorf("title lost: %d reports, want %q", len(doc.reports), title)
					}
					if c.note != "" && !strings.Contains(doc.input.Note, c.note) {
						t.Errorf("note %q names no %s", doc.input.Note, c.note)
					}
					if c.keep && len(doc.findings) < len(base.findings) {
						t.Errorf("%d memory findings, the intact dump has %d", len(doc.findings), len(base.findings))
					}
					if d := time.Since(start); d > 20*time.Second { // a hang, not a speed bound: the machine may be shared
						t.Errorf("%v, bound 20s", d)
					}
				})
			}
		})
	}
}
