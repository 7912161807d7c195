package kcrash_test

import (
	"context"

	"fmt"
	"github.com/cilium/ebpf/btf"
	"sort"
	"testing"

	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/ktypes"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// symAddrs picks the addresses sym is compared on: the code addresses
// the stacks of every task hold (foreach bt: return addresses, core and
// module), then addresses inside module symbols, then inside well-known
// data symbols, up to n, each once.
func symAddrs(t *testing.T, s *kcrash.Session, v *kview.View, n int) []uint64 {
	t.Helper()
	seen := map[uint64]bool{}
	var out []uint64
	add := func(a uint64) {
		if !seen[a] && len(out) < n {
			seen[a] = true
			out = append(out, a)
		}
	}
	mods, err := v.Modules()
	if err != nil {
		t.Fatal(err)
	}
	// a few module addresses first, so that they are among the n
	for _, m := range mods {
		for i, sym := range m.Syms {
			if i%7 == 0 && sym.Size > 4 && (sym.Type == 't' || sym.Type == 'T') {
				add(sym.Addr + sym.Size/2)
			}
			if len(out) >= n/5 {
				break
			}
		}
	}
	for _, name := range []string{"init_task", "jiffies_64", "init_net", "modules", "panic_cpu"} {
		if a, _, err := v.Lookup(name); err == nil {
			add(a + 8)
		}
	}
	r := run(t, s, "foreach bt").Result.(*kcrash.ForeachResult)
	for _, it := range r.Tasks {
		bt, ok := it.Result.(*kcrash.BtResult)
		if !ok {
			continue
		}
		for _, tr := range bt.Traces {
			for _, f := range tr.Frames {
				add(uint64(f.IP))
			}
		}
	}
	return out
}

// TestAgainstCrash compares our answers with crash(8)'s, given the exact
// debug vmlinux, on the same dumps: sys's release and panic string, sym
// of 50 addresses (name, offset, module), and the corrupt sk_buff of the
// tcpskb dump, every scalar member. crash 8.0.2 opens only the 6.1 set.
func TestAgainstCrash(t *testing.T) {
	testshared.Tool(t, "crash")
	s := vmcores.Require(t, vmcores.Set61)
	for _, e := range []vmcores.Entry{s.Lookup(t, "kdump-proc-d31"), s.Tcpskb(t)} {
		t.Run(e.Name, func(t *testing.T) {
			vmlinux := refdebug.Vmlinux(t, s, e)
			d, k, err := triage.OpenVmcore(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			v := kview.New(k)
			sess := kcrash.New(v, kcrash.WithDumpFile(e.Path, d.Info()), kcrash.WithNotes(d.PRStatus()))
			addrs := symAddrs(t, sess, v, 50)
			if len(addrs) < 50 {
				t.Fatalf("only %d addresses to compare", len(addrs))
			}
			cmds := []string{"sys"}
			for _, a := range addrs {
				cmds = append(cmds, fmt.Sprintf("sym %x", a))
			}
			var skbCmd string
			if e.Guest != nil {
				skbCmd = fmt.Sprintf("struct sk_buff %x", uint64(e.Guest.SKB))
				cmds = append(cmds, skbCmd)
			}
			out, err := refdebug.Crash(context.Background(), vmlinux, e.Path, cmds...)
			if err != nil {
				t.Fatal(err)
			}

			// sys
			theirs, err := refdebug.ParseSys(out["sys"])
			if err != nil {
				t.Fatal(err)
			}
			ours := run(t, sess, "sys").Result.(*kcrash.SysResult)
			if ours.Release != theirs.Release || ours.Panic != theirs.Panic {
				t.Errorf("sys: release %q panic %q; crash %q %q", ours.Release, ours.Panic, theirs.Release, theirs.Panic)
			}

			// sym
			agree, aliases := 0, 0
			for _, a := range addrs {
				cmd := fmt.Sprintf("sym %x", a)
				cs, err := refdebug.ParseSym(out[cmd])
				if err != nil || len(cs) != 1 {
					t.Errorf("%s: crash said %q (%v)", cmd, out[cmd], err)
					continue
				}
				os := run(t, sess, cmd).Result.(*kcrash.SymResult).Symbols
				if len(os) != 1 {
					t.Errorf("%s: %d answers", cmd, len(os))
					continue
				}
				o, c := os[0], cs[0]
				// Of aliases at one address (jiffies, jiffies_64) we name
				// the first in kallsyms' order, as the kernel's %pS does;
				// crash names the vmlinux symtab's.
				oa, _, err1 := v.Lookup(o.Name)
				ca, _, err2 := v.Lookup(c.Name)
				alias := err1 == nil && err2 == nil && oa == ca && o.Name != c.Name
				switch {
				case o.Name == c.Name && o.Offset == c.Offset && o.Module == c.Module:
					agree++
				case alias && o.Offset == c.Offset && o.Module == c.Module:
					agree++
					aliases++
				default:
					t.Errorf("%s: %s+%d [%s], crash %s+%d [%s]", cmd, o.Name, o.Offset, o.Module, c.Name, c.Offset, c.Module)
				}
			}
			t.Logf("agreement: sym %d/%d addresses as crash names them (%d by an alias at the same address)", agree, len(addrs), aliases)

			// struct sk_buff
			if skbCmd == "" {
				return
			}
			cobj, err := refdebug.ParseStruct(skbCmd, out[skbCmd])
			if err != nil {
				t.Fatal(err)
			}
			want := refdebug.Scalars(cobj.Value)
			oobj, err := v.Object("sk_buff", uint64(e.Guest.SKB))
			if err != nil {
				t.Fatal(err)
			}
			got := refdebug.Scalars(oobj.Value)
			skbType, err := v.Type("sk_buff")
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(want))
			for n := range want {
				names = append(names, n)
			}
			sort.Strings(names)
			same, markers := 0, 0
			for _, n := range names {
				// A zero-length array (__u8 __cloned_offset[0]) marks a
				// place in the struct; crash prints its address, there
				// is no value to compare.
				if f, err := ktypes.Member(skbType, n); err == nil {
					if arr, ok := btf.UnderlyingType(f.Type).(*btf.Array); ok && arr.Nelems == 0 {
						markers++
						continue
					}
				}
				if g, ok := got[n]; !ok || g != want[n] {
					t.Errorf("sk_buff.%s = %#x (%v), crash %#x", n, g, ok, want[n])
				} else {
					same++
				}
			}
			if len(names) < 60 {
				t.Errorf("crash's sk_buff has only %d scalar members", len(names))
			}
			t.Logf("agreement: struct sk_buff %d/%d scalar members as crash prints them (%d zero-length array markers not compared)", same, len(names)-markers, markers)
		})
	}
}

// drgnState maps ps(1)'s one-letter states (drgn's task_state_to_char) to
// crash's two-letter ones, which ours are.
var drgnState = map[string]string{"R": "RU", "S": "IN", "D": "UN", "I": "ID", "T": "ST", "t": "TR", "Z": "ZO", "X": "DE", "P": "PA"}

// TestAgainstDrgn compares the task list with drgn's for_each_task (pid,
// comm, state, task_struct) on a dump of each kernel series; crash 8.0.2
// lists only the active tasks of these dumps, drgn them all. drgn lists
// the threads of init_task's list, not the other CPUs' idle tasks, which
// ours adds as crash does.
func TestAgainstDrgn(t *testing.T) {
	testshared.Tool(t, "drgn")
	for _, c := range []struct{ set, name string }{{vmcores.Set61, "kdump-proc-d31"}, {vmcores.Set61, ""}, {vmcores.Set612, ""}} {
		s := vmcores.Require(t, c.set)
		e := s.Tcpskb(t)
		if c.name != "" {
			e = s.Lookup(t, c.name)
		}
		t.Run(c.set+"/"+e.Name, func(t *testing.T) {
			vmlinux := refdebug.Vmlinux(t, s, e)
			theirs, err := refdebug.DrgnTasks(context.Background(), vmlinux, e.Path)
			if err != nil {
				t.Fatal(err)
			}
			d, k, err := triage.OpenVmcore(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			kv := kview.New(k)
			ours, err := kv.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			byAddr := map[uint64]*kview.Task{}
			for _, tk := range ours {
				byAddr[tk.Addr] = tk
			}
			agree := 0
			for _, w := range theirs {
				g := byAddr[w.Addr]
				switch {
				case g == nil:
					t.Errorf("drgn's pid %d %s (task %#x) is not in our list", w.PID, w.Comm, w.Addr)
				case g.PID != w.PID || g.Comm != w.Comm || g.State != drgnState[w.State]:
					t.Errorf("task %#x: ours pid %d %s %s, drgn's %d %s %s", w.Addr, g.PID, g.Comm, g.State, w.PID, w.Comm, w.State)
				default:
					agree++
				}
			}
			extra := len(ours) - len(theirs)
			if extra < 0 || extra > kv.NumCPUs() {
				t.Errorf("%d tasks, drgn %d", len(ours), len(theirs))
			}
			t.Logf("agreement: tasks %d/%d (pid, comm, state) as drgn lists them; %d idle tasks of other CPUs beside", agree, len(theirs), extra)
		})
	}
}
