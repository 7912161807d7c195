package kcrash_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// ruleMode is what a hostile rule does to the physical bytes it covers.
type ruleMode int

const (
	modeZero    ruleMode = iota // read as zeros
	modeGarbage                 // read as bytes that mean nothing
	modeFail                    // fail to read
	modePatch                   // read as the rule's data
	modeGen                     // read as gen makes it, whatever the dump holds
)

// physRule is one physical range [lo, hi) made hostile.
type physRule struct {
	lo, hi uint64
	mode   ruleMode
	data   []byte // modePatch: the bytes from lo
	gen    func(pa uint64) byte
}

var errHostile = errors.New("test: hostile page unreadable")

// hostileMem serves a dump's physical memory with some ranges zeroed,
// garbled, patched or unreadable.
type hostileMem struct {
	kernel.PhysReader
	rules []physRule
}

func (m *hostileMem) ReadPhys(p []byte, pa uint64) (int, error) {
	end := pa + uint64(len(p))
	for _, r := range m.rules {
		if r.mode != modeFail || end <= r.lo || pa >= r.hi {
			continue
		}
		if pa >= r.lo {
			return 0, fmt.Errorf("%#x: %w", pa, errHostile)
		}
		n, err := m.ReadPhys(p[:r.lo-pa], pa)
		if err == nil {
			err = fmt.Errorf("%#x: %w", r.lo, errHostile)
		}
		return n, err
	}
	for _, r := range m.rules {
		// A made-up region need not exist in the dump (-d 31 drops
		// free pages).
		if r.mode == modeGen && pa >= r.lo && end <= r.hi {
			for i := range p {
				p[i] = r.gen(pa + uint64(i))
			}
			return len(p), nil
		}
	}
	n, err := m.PhysReader.ReadPhys(p, pa)
	for _, r := range m.rules {
		lo, hi := max(r.lo, pa), min(r.hi, pa+uint64(n))
		for a := lo; a < hi; a++ {
			switch r.mode {
			case modeZero:
				p[a-pa] = 0
			case modeGarbage:
				p[a-pa] = byte((a * 0x9e3779b97f4a7c15) >> 56)
			case modePatch:
				p[a-pa] = r.data[a-r.lo]
			case modeGen:
				p[a-pa] = r.gen(a)
			}
		}
	}
	return n, err
}

// hostileRef is what the cases aim at, read from the intact dump.
type hostileRef struct {
	t    *testing.T
	k    *kernel.Kernel
	v    *kview.View
	info string
	d    *dump.Dump
	// skb is a sk_buff the log names (skbSym holds it); pid a user
	// task with files.
	skb    uint64
	skbSym string
	pid    int
	// panicTask is the task the notes say crashed.
	panicTask *kview.Task
	// madeUp is set by a case whose made-up text depends on the dump.
	madeUp string
}

// sym is a core symbol's address.
func (r *hostileRef) sym(name string) uint64 {
	r.t.Helper()
	// The kallsyms tables are not in kallsyms: VMCOREINFO names them.
	if a, ok := r.k.VMCOREINFO().Symbol(name); ok {
		return a
	}
	a, _, err := r.v.Lookup(name)
	if err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	return a
}

func (r *hostileRef) off(typ, path string) uint64 {
	r.t.Helper()
	o, err := r.v.Offset(typ, path)
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

func (r *hostileRef) u64(va uint64) uint64 {
	r.t.Helper()
	x, err := r.v.U64(va)
	if err != nil {
		r.t.Fatal(err)
	}
	return x
}

// virt makes [va, va+n) of kernel virtual memory hostile, page by page.
func (r *hostileRef) virt(va, n uint64, mode ruleMode, data []byte) []physRule {
	r.t.Helper()
	var out []physRule
	for a := va; a < va+n; {
		next := min((a|0xfff)+1, va+n)
		pa, err := r.k.Translate(a)
		if err != nil {
			r.t.Fatalf("%#x: %v", a, err)
		}
		rule := physRule{lo: pa, hi: pa + (next - a), mode: mode}
		if mode == modePatch {
			rule.data = data[a-va : next-va]
		}
		out = append(out, rule)
		a = next
	}
	return out
}

// ptr makes the pointer at va read as val.
func (r *hostileRef) ptr(va, val uint64) []physRule {
	b := binary.LittleEndian.AppendUint64(nil, val)
	return r.virt(va, 8, modePatch, b)
}

// span is a core symbol range [start, stop).
func (r *hostileRef) span(start, stop string) (uint64, uint64) {
	a, b := r.sym(start), r.sym(stop)
	if b <= a {
		r.t.Fatalf("%s %#x .. %s %#x", start, a, stop, b)
	}
	return a, b - a
}

// nthNode is the n-th node of the list at head.
func (r *hostileRef) nthNode(head uint64, n int) uint64 {
	r.t.Helper()
	node := r.u64(head)
	for range n {
		node = r.u64(node)
	}
	if node == head {
		r.t.Fatalf("list at %#x is shorter than %d", head, n+1)
	}
	return node
}

// taskFiles is the files_struct of the case's pid.
func (r *hostileRef) taskFiles() uint64 {
	r.t.Helper()
	for _, tk := range must(r.v.Tasks()) {
		if tk.PID == r.pid {
			return r.u64(tk.Addr + r.off("task_struct", "files"))
		}
	}
	r.t.Fatalf("no task %d", r.pid)
	return 0
}

// module is the module that defines the dump's skb symbol.
func (r *hostileRef) module() uint64 {
	r.t.Helper()
	name := strings.TrimSuffix(r.skbSym, "_bad_skb")
	for _, m := range must(r.v.Modules()) {
		if m.Name == name {
			return m.Addr
		}
	}
	r.t.Fatalf("no module %s", name)
	return 0
}

// ladder makes n nodes of a list in direct-mapped memory near the
// case's skb, each node's first word the next node (the last back to the
// first), and the word at node+self the word's own address (an empty
// list head inside each object, as a task's thread_group). It returns
// the rules and the first node.
func (r *hostileRef) ladder(n int, self int64) ([]physRule, uint64) {
	r.t.Helper()
	stride := int64(0)
	for _, st := range []int64{48, 56, 40, 72} {
		if m := ((self % st) + st) % st; m != 0 && m != 8 {
			stride = st
			break
		}
	}
	const pad = 1 << 16
	size := uint64(pad + int64(n)*stride + pad)
	base := (r.skb &^ (64<<20 - 1)) // a direct-map region, 64 MiB aligned
	pa, err := r.k.Translate(base)
	if err != nil {
		r.t.Fatal(err)
	}
	if end, err := r.k.Translate(base + size - 1); err != nil || end != pa+size-1 {
		r.t.Fatalf("direct map at %#x is not %d contiguous bytes: %v", base, size, err)
	}
	first := base + pad
	gen := func(a uint64) byte {
		va := base + (a - pa)
		word := va &^ 7
		var w uint64
		if word >= first {
			rel := int64(word - first)
			k := rel / stride
			switch {
			case rel%stride == 0 && k < int64(n):
				w = first + uint64((k+1)%int64(n))*uint64(stride)
			case ((rel-self)%stride+stride)%stride == 0 && (rel-self)/stride < int64(n):
				w = word
			}
		}
		return byte(w >> (8 * (va & 7)))
	}
	// A row (not the note, which names the node as 0x...) showing a
	// ladder address is made up.
	r.madeUp = fmt.Sprintf(" %x", first>>20)
	return []physRule{{lo: pa, hi: pa + size, mode: modeGen, gen: gen}}, first
}

// unmapped is a canonical kernel address no page table maps.
const unmapped = 0xffffc9ffff000000

// hostileCase is one corruption and what must still work.
type hostileCase struct {
	name string
	// rules makes the corruption; names lists what an error must name
	// (any one of them) when a command cannot answer.
	rules func(r *hostileRef) ([]physRule, []string)
	// fails are the commands that cannot answer whole, with what their
	// error, or the note of their partial answer, must name.
	fails map[string]string
	// answers are commands that must answer beyond sys and log.
	answers []string
	// madeUp is text no answer may hold: a row made of a bad pointer.
	madeUp string
	// noKallsymsKeys drops VMCOREINFO's kallsyms keys, as a kernel
	// before 6.0 (which has SYMBOL(_stext)) writes it: the tables are
	// found by a scan.
	noKallsymsKeys bool
	// noLog: the case breaks the log itself, so log need not answer
	// (sys answers, with an error saying its PANIC is unknown).
	noLog bool
}

// hostileCommands are the commands each case runs, %x the skb and %d the
// pid.
var hostileCommands = []string{"sys", "log", "ps", "bt", "struct sk_buff %x", "rd jiffies", "sym jiffies", "mod", "net", "files %d", "foreach bt", "dis -r __skb_checksum+8"}

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "btf zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_BTF", "__stop_BTF")
			return r.virt(a, n, modeZero, nil), []string{"BTF"}
		}, fails: map[string]string{"ps": "BTF", "struct sk_buff %x": "BTF", "files %d": "BTF"}, answers: []string{"rd jiffies", "sym jiffies"}},
		{name: "btf half unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_BTF", "__stop_BTF")
			return r.virt(a+n/2, n-n/2, modeFail, nil), []string{"BTF"}
		}, fails: map[string]string{"ps": "BTF", "struct sk_buff %x": "BTF"}, answers: []string{"rd jiffies", "sym jiffies"}},
		{name: "btf header garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			a, _ := r.span("__start_BTF", "__stop_BTF")
			return r.virt(a, 24, modeGarbage, nil), []string{"BTF"}
		}, fails: map[string]string{"ps": "BTF", "struct sk_buff %x": "BTF"}, answers: []string{"rd jiffies", "sym jiffies"}},
		{name: "btf second half garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_BTF", "__stop_BTF")
			return r.virt(a+n/2, n-n/2, modeGarbage, nil), []string{"BTF"}
		}, answers: []string{"rd jiffies", "sym jiffies"}},
		{name: "orc ip table zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_orc_unwind_ip", "__stop_orc_unwind_ip")
			return r.virt(a, n, modeZero, nil), []string{"ORC"}
		}, answers: []string{"ps", "struct sk_buff %x", "mod", "net", "files %d"}},
		{name: "orc entries zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_orc_unwind", "__stop_orc_unwind")
			return r.virt(a, n, modeZero, nil), []string{"ORC"}
		}, answers: []string{"ps", "struct sk_buff %x", "mod", "net", "files %d"}},
		{name: "orc ip page unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_orc_unwind_ip", "__stop_orc_unwind_ip")
			return r.virt((a+n/2)&^0xfff, 4096, modeFail, nil), []string{"ORC", "orc"}
		}, answers: []string{"ps", "struct sk_buff %x", "mod", "net", "files %d"}},
		{name: "orc entries page unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_orc_unwind", "__stop_orc_unwind")
			return r.virt((a+n/2)&^0xfff, 4096, modeFail, nil), []string{"ORC", "orc"}
		}, answers: []string{"ps", "struct sk_buff %x", "mod", "net", "files %d"}},
		{name: "orc ip table garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			a, n := r.span("__start_orc_unwind_ip", "__stop_orc_unwind_ip")
			return r.virt(a, n, modeGarbage, nil), []string{"ORC", "orc"}
		}, answers: []string{"ps", "struct sk_buff %x", "mod", "net", "files %d"}},
		{name: "kallsyms names zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.sym("kallsyms_names")
			return r.virt(a, 64<<10, modeZero, nil), []string{"kallsyms"}
		}, fails: map[string]string{"rd jiffies": "kallsyms"}},
		{name: "kallsyms token table garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.sym("kallsyms_token_table")
			b := r.sym("kallsyms_token_index")
			return r.virt(a, b-a, modeGarbage, nil), []string{"kallsyms"}
		}},
		{name: "kallsyms offsets unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.sym("kallsyms_offsets")
			return r.virt(a, 4096, modeFail, nil), []string{"kallsyms"}
		}, fails: map[string]string{"rd jiffies": "kallsyms"}},
		{name: "modules next to itself", rules: func(r *hostileRef) ([]physRule, []string) {
			node := r.nthNode(r.sym("modules"), 0)
			return r.ptr(node, node), []string{"loops", fmt.Sprintf("%#x", node)}
		}, fails: map[string]string{"mod": "loops"}, answers: []string{"ps", "rd jiffies"}},
		{name: "modules next garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("modules"), 0x4141414141414141), []string{"0x4141414141414141"}
		}, fails: map[string]string{"mod": "0x4141414141414141"}, answers: []string{"ps", "rd jiffies", "net"}, madeUp: "4141414141414139"},
		{name: "modules next unmapped", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("modules"), unmapped), []string{fmt.Sprintf("%#x", uint64(unmapped))}
		}, fails: map[string]string{"mod": fmt.Sprintf("%#x", uint64(unmapped))}, answers: []string{"ps", "rd jiffies", "net"}, madeUp: "ffffc9fffe"},
		{name: "tasks loop to the middle", rules: func(r *hostileRef) ([]physRule, []string) {
			head := r.sym("init_task") + r.off("task_struct", "tasks")
			return r.ptr(r.nthNode(head, 20), r.nthNode(head, 10)), []string{"loops"}
		}, fails: map[string]string{"ps": "loops"}, answers: []string{"mod", "rd jiffies", "files %d"}},
		{name: "tasks cut", rules: func(r *hostileRef) ([]physRule, []string) {
			head := r.sym("init_task") + r.off("task_struct", "tasks")
			return r.ptr(r.nthNode(head, 20), unmapped), []string{"0xffffc9ffff"}
		}, fails: map[string]string{"ps": "0xffffc9ffff"}, answers: []string{"mod", "rd jiffies", "files %d"}, madeUp: "ffffc9fffe"},
		{name: "fd table garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			files := r.taskFiles()
			return r.ptr(files+r.off("files_struct", "fdt"), 0x4141414141414141), []string{"0x4141414141414141"}
		}, fails: map[string]string{"files %d": "0x4141414141414141"}, answers: []string{"ps", "mod", "net", "rd jiffies"}},
		{name: "net devices loop", rules: func(r *hostileRef) ([]physRule, []string) {
			node := r.nthNode(r.sym("init_net")+r.off("net", "dev_base_head"), 0)
			return r.ptr(node, node), []string{"loops"}
		}, fails: map[string]string{"net": "loops"}, answers: []string{"ps", "mod", "rd jiffies"}},
		{name: "net devices garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("init_net")+r.off("net", "dev_base_head"), 0x4141414141414141), []string{"0x41414141414141"}
		}, fails: map[string]string{"net": "0x41414141414141"}, answers: []string{"ps", "mod", "rd jiffies"}},
		{name: "panic stack unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			st := r.panicTask.Stack
			return r.virt(st, 16<<10, modeFail, nil), []string{"stack", fmt.Sprintf("%x", st>>12)}
		}, fails: map[string]string{"bt": "unreadable"}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x"}},
		{name: "panic stack garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			st := r.panicTask.Stack
			return r.virt(st, 16<<10, modeGarbage, nil), []string{"stack"}
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x"}},
		{name: "printk ring pointer zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("prb"), 0), []string{"prb", "printk"}
		}, fails: map[string]string{"log": "SYMBOL(prb)", "sys": "SYMBOL(prb)"}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x"}, noLog: true},
		{name: "printk ring pointer garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("prb"), 0x4141414141414141), []string{"prb", "0x4141414141414141"}
		}, fails: map[string]string{"log": "0x4141414141414141", "sys": "SYMBOL(prb)"}, answers: []string{"ps", "mod", "net", "rd jiffies"}, noLog: true},
		{name: "btf type_len huge", rules: func(r *hostileRef) ([]physRule, []string) {
			a, _ := r.span("__start_BTF", "__stop_BTF")
			return r.virt(a+12, 4, modePatch, []byte{0xff, 0xff, 0xff, 0xff}), []string{"BTF"}
		}, fails: map[string]string{"ps": "BTF"}, answers: []string{"rd jiffies", "sym jiffies"}},
		{name: "module orc table garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			m := r.module()
			rules := r.ptr(m+r.off("module", "arch.orc_unwind_ip"), 0x4141414141414141)
			rules = append(rules, r.virt(m+r.off("module", "arch.num_orcs"), 4, modePatch, []byte{0xff, 0xff, 0x0f, 0})...)
			return rules, []string{"ORC", "0x4141414141414141"}
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x", "files %d"}},
		{name: "module symtab garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.module()+r.off("module", "kallsyms"), 0x4141414141414141), []string{"0x4141414141414141", "kallsyms"}
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x", "files %d"}},
		{name: "per-cpu offsets garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.sym("__per_cpu_offset"), 0x4141414141414141), []string{"0x41414141", "CPU 0", "current"}
		}, answers: []string{"bt", "mod", "net", "rd jiffies", "struct sk_buff %x", "files %d"}},
		{name: "panic task stack pointer garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.ptr(r.panicTask.Addr+r.off("task_struct", "stack"), 0x4141414141414141), []string{"0x4141414141414141", "stack"}
		}, fails: map[string]string{"bt": "task->stack 0x4141414141414141"}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x", "files %d"}},
		{name: "fd table max_fds 2^20", rules: func(r *hostileRef) ([]physRule, []string) {
			fdt := r.u64(r.taskFiles() + r.off("files_struct", "fdt"))
			rules := r.virt(fdt+r.off("fdtable", "max_fds"), 4, modePatch, []byte{0, 0, 0x10, 0})
			return rules, []string{"fd"}
		}, fails: map[string]string{"files %d": "max_fds 1048576 overruns"}, answers: []string{"ps", "mod", "net", "rd jiffies"}},
		{name: "tasks ladder of 2^16 distinct nodes", rules: func(r *hostileRef) ([]physRule, []string) {
			head := r.sym("init_task") + r.off("task_struct", "tasks")
			self := int64(r.off("task_struct", "thread_group")) - int64(r.off("task_struct", "tasks"))
			rules, first := r.ladder(1<<16, self)
			return append(rules, r.ptr(r.nthNode(head, 20), first)...), []string{"the list is corrupt"}
		}, fails: map[string]string{"ps": "the list is corrupt"}, answers: []string{"mod", "rd jiffies", "net", "files %d"}},
		{name: "modules ladder of 2^16 distinct nodes", rules: func(r *hostileRef) ([]physRule, []string) {
			rules, first := r.ladder(1<<16, 16)
			return append(rules, r.ptr(r.sym("modules"), first)...), []string{"corrupt"}
		}, fails: map[string]string{"mod": "corrupt"}, answers: []string{"ps", "rd jiffies", "net"}},
		{name: "net devices ladder of 2^16 distinct nodes", rules: func(r *hostileRef) ([]physRule, []string) {
			rules, first := r.ladder(1<<16, 16)
			return append(rules, r.ptr(r.sym("init_net")+r.off("net", "dev_base_head"), first)...), []string{"corrupt"}
		}, fails: map[string]string{"net": "corrupt"}, answers: []string{"ps", "rd jiffies", "mod"}},
		{name: "dentry parents loop", rules: func(r *hostileRef) ([]physRule, []string) {
			var task uint64
			for _, tk := range must(r.v.Tasks()) {
				if tk.PID == r.pid {
					task = tk.Addr
				}
			}
			parentOff := r.off("dentry", "d_parent")
			for _, fd := range must(r.v.Files(task)) {
				p := r.u64(fd.Dentry + parentOff)
				if pp := r.u64(p + parentOff); fd.Dentry != 0 && pp != p {
					// dentry -> parent -> dentry -> ...: a path that
					// walked it would hold the file's name as a folder.
					r.madeUp = fd.Path + "/"
					return r.ptr(p+parentOff, fd.Dentry), []string{"dentry"}
				}
			}
			r.t.Skip("no open file two levels deep in one mount")
			return nil, nil
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "files %d"}},
		{name: "no kallsyms keys: scanned", rules: func(r *hostileRef) ([]physRule, []string) {
			return nil, []string{"kallsyms"}
		}, noKallsymsKeys: true, answers: []string{"ps", "bt", "mod", "net", "rd jiffies", "struct sk_buff %x", "files %d", "foreach bt"}},
		{name: "no kallsyms keys, names zeroed", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.sym("kallsyms_names")
			return r.virt(a, 64<<10, modeZero, nil), []string{"kallsyms"}
		}, noKallsymsKeys: true, fails: map[string]string{"rd jiffies": "kallsyms", "ps": "kallsyms"}},
		{name: "no kallsyms keys, token table garbage", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.sym("kallsyms_token_table")
			return r.virt(a, r.sym("kallsyms_token_index")-a, modeGarbage, nil), []string{"kallsyms"}
		}, noKallsymsKeys: true, fails: map[string]string{"rd jiffies": "kallsyms"}},
		{name: "skb page unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			return r.virt(r.skb&^0xfff, 4096, modeFail, nil), []string{fmt.Sprintf("%x", r.skb>>12)}
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "files %d"}},
		{name: "panic task_struct unreadable", rules: func(r *hostileRef) ([]physRule, []string) {
			a := r.panicTask.Addr
			return r.virt(a&^0xfff, 4096, modeFail, nil), []string{fmt.Sprintf("%x", a>>12)}
		}, answers: []string{"ps", "mod", "net", "rd jiffies", "struct sk_buff %x"}},
	}
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// hostileRefOf opens a dump and reads what the cases aim at.
func hostileRefOf(t *testing.T, path string, skbSym string, pid int) *hostileRef {
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	info, err := d.RequireVMCOREINFO()
	if err != nil {
		t.Fatal(err)
	}
	r := &hostileRef{t: t, k: k, v: kview.New(k), info: info, d: d, pid: pid, skbSym: skbSym}
	r.skb = r.u64(r.sym(skbSym))
	p, err := backtrace.New(r.v, d.PRStatus()).FindPanic(backtrace.LogContext{CPU: -1, PID: -1})
	if err != nil {
		t.Fatal(err)
	}
	r.panicTask = p.Task
	if r.panicTask == nil || r.panicTask.Stack == 0 {
		t.Fatalf("no panic task with a stack: %+v", r.panicTask)
	}
	if r.pid == 0 {
		r.pid = r.panicTask.PID
	}
	return r
}

// hostileTimeout bounds one case: a hang is a failure, not a stuck test.
// hostileSlow bounds it again, loosely (a case takes 0.1 to 0.4 s, and
// a list walked into garbage took 9 s before the walks checked what
// they read).
const (
	hostileTimeout = 20 * time.Second
	hostileSlow    = 15 * time.Second
)

// TestHostileDump: a dump whose BTF, ORC, kallsyms, module list, task
// list, fd table, device list or panic stack is zeroed, garbled, cut or
// looped still answers sys and log, answers every command that does not
// need the broken part, and fails the others with an error naming what
// broke; nothing panics, hangs or allocates without bound.
func TestHostileDump(t *testing.T) {
	dumps := []struct {
		name   string
		path   func(t *testing.T) (string, int)
		skbSym string
	}{
		{"skbcsum", func(t *testing.T) (string, int) {
			return testshared.Path(t, fixture+"vmcore.kdump-d31"), 0
		}, "skbcsum_bad_skb"},
		{"tcpskb", func(t *testing.T) (string, int) {
			e := vmcores.Require(t, vmcores.Set61).Tcpskb(t)
			return e.Path, e.Guest.PID
		}, "tcpskb_bad_skb"},
	}
	for _, dc := range dumps {
		t.Run(dc.name, func(t *testing.T) {
			path, pid := dc.path(t)
			ref := hostileRefOf(t, path, dc.skbSym, pid)
			for _, c := range hostileCases() {
				t.Run(c.name, func(t *testing.T) { runHostile(t, ref, path, c) })
			}
		})
	}
}

func runHostile(t *testing.T, ref *hostileRef, path string, c hostileCase) {
	ref.t, ref.madeUp = t, ""
	rules, names := c.rules(ref)
	if ref.madeUp != "" {
		c.madeUp = ref.madeUp
	}
	mem := &hostileMem{PhysReader: ref.d, rules: rules}
	info := ref.info
	if c.noKallsymsKeys {
		var kept []string
		for _, l := range strings.Split(info, "\n") {
			if !strings.HasPrefix(l, "SYMBOL(kallsyms_") {
				kept = append(kept, l)
			}
		}
		info = strings.Join(kept, "\n")
	}
	k, err := kernel.New(mem, info)
	if err != nil {
		t.Fatalf("kernel.New: %v", err)
	}
	s := kcrash.New(kview.New(k), kcrash.WithDumpFile(path, ref.d.Info()), kcrash.WithNotes(ref.d.PRStatus()))
	type outcome struct {
		line string
		err  error
		text string
		dur  time.Duration
	}
	done := make(chan []outcome, 1)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	go func() {
		var outs []outcome
		for _, cmd := range hostileCommands {
			line := strings.ReplaceAll(strings.ReplaceAll(cmd, "%x", fmt.Sprintf("%x", ref.skb)), "%d", fmt.Sprint(ref.pid))
			t0 := time.Now()
			as := s.Exec(line)
			o := outcome{line: cmd, dur: time.Since(t0)}
			if len(as) != 1 {
				o.err = fmt.Errorf("%d answers", len(as))
			} else {
				o.err = as[0].Err
				var b strings.Builder
				if err := as[0].WriteText(&b); err != nil && o.err == nil {
					o.err = err
				}
				o.text = b.String()
			}
			outs = append(outs, o)
		}
		done <- outs
	}()
	var outs []outcome
	select {
	case outs = <-done:
	case <-time.After(hostileTimeout):
		t.Fatalf("no answer in %v: a walk hangs", hostileTimeout)
	}
	// The banner says what the dump allows: a broken part is no "yes".
	caps := s.Capabilities()
	t.Logf("capabilities: BTF %v ORC %v; missing %q", caps.BTF, caps.ORC, caps.Missing)
	switch {
	case strings.HasPrefix(c.name, "btf") && caps.BTF:
		t.Errorf("capabilities say BTF with the BTF broken")
	case strings.HasPrefix(c.name, "orc") && caps.ORC:
		t.Errorf("capabilities say ORC with the ORC tables broken")
	case strings.HasPrefix(c.name, "modules") && !containsAny(strings.Join(caps.Missing, "\n"), []string{"module list is cut short"}):
		t.Errorf("capabilities do not say the module list is cut: %q", caps.Missing)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%v, %d MiB allocated", time.Since(start).Round(time.Millisecond), alloc>>20)
	if alloc > 512<<20 {
		t.Errorf("%d MiB allocated", alloc>>20)
	}
	if d := time.Since(start); d > hostileSlow {
		t.Errorf("%v for the case, bound %v", d, hostileSlow)
	}
	mustAnswer := map[string]bool{"sys": !c.noLog, "log": !c.noLog}
	for _, a := range c.answers {
		mustAnswer[a] = true
	}
	for _, o := range outs {
		t.Logf("%-22s %6v %7d bytes  err: %v", o.line, o.dur.Round(time.Millisecond), len(o.text), o.err)
		if testing.Verbose() && o.err == nil && len(o.text) < 2000 && o.line != "sys" {
			t.Logf("%s", o.text)
		}
		if o.line == "sys" && !strings.Contains(o.text, ref.k.Release()) {
			t.Errorf("sys does not name the release %s:\n%s", ref.k.Release(), o.text)
		}
		if c.madeUp != "" && strings.Contains(o.text, c.madeUp) {
			t.Errorf("%s shows a row made of the bad pointer (%s):\n%s", o.line, c.madeUp, o.text)
		}
		if o.err != nil && strings.Contains(o.err.Error(), "internal error") {
			t.Errorf("%s panicked: %v", o.line, o.err)
			continue
		}
		if want, ok := c.fails[o.line]; ok {
			// A partial answer says what cut it, as an error would.
			if o.err == nil && !strings.Contains(o.text, want) {
				t.Errorf("%s answered without naming %q:\n%s", o.line, want, o.text)
			} else if o.err != nil && !strings.Contains(o.err.Error(), want) {
				t.Errorf("%s: %v; want an error naming %q", o.line, o.err, want)
			}
			continue
		}
		if mustAnswer[o.line] && o.err != nil {
			t.Errorf("%s: %v; it does not need what broke", o.line, o.err)
			continue
		}
		if o.err != nil && !containsAny(o.err.Error(), names) {
			t.Errorf("%s: %v; want an error naming one of %q", o.line, o.err, names)
		}
		if len(o.text) > 64<<20 {
			t.Errorf("%s: %d bytes", o.line, len(o.text))
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// TestHostileListBound: a list of more distinct nodes than any walk
// takes (a ladder of 2^20+8 made-up nodes) ends with an error naming the
// bound, in bounded time, whatever the caller checks of each node.
func TestHostileListBound(t *testing.T) {
	ref := hostileRefOf(t, testshared.Path(t, fixture+"vmcore.kdump-d31"), "skbcsum_bad_skb", 0)
	rules, first := ref.ladder(1<<20+8, 16)
	head := ref.sym("modules")
	rules = append(rules, ref.ptr(head, first)...)
	k, err := kernel.New(&hostileMem{PhysReader: ref.d, rules: rules}, ref.info)
	if err != nil {
		t.Fatal(err)
	}
	v := kview.New(k)
	start := time.Now()
	n := 0
	err = v.List(head, func(uint64) error { n++; return nil })
	t.Logf("%d nodes in %v", n, time.Since(start).Round(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "the list is corrupt") {
		t.Errorf("error %v after %d nodes, want one saying the list is corrupt", err, n)
	}
	if n > 1<<20+1 {
		t.Errorf("%d nodes walked", n)
	}
	if d := time.Since(start); d > hostileSlow {
		t.Errorf("%v, bound %v", d, hostileSlow)
	}
}
