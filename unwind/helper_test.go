package unwind

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kernel"
)

// This file is the test's stand-in for package kview: it reads, with BTF,
// what a caller must give the unwinder (module ORC tables, module symbols,
// the panic CPU's stacks).

type vmcore struct {
	d    *dump.Dump
	k    *kernel.Kernel
	syms *kernel.Symbols
	spec *btf.Spec
	mods []module
	orc  *ORC
}

type module struct {
	name   string
	texts  [][2]uint64 // core text, init text
	tables []Table
	syms   []modSym // sorted by address
}

type modSym struct {
	addr uint64
	name string
}

func openVmcore(t testing.TB, path string) *vmcore {
	t.Helper()
	// As triage.OpenVmcore does, without importing triage: triage
	// imports backtrace, which imports this package.
	d, err := dump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	info, err := d.RequireVMCOREINFO()
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.New(d, info)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := k.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	v := &vmcore{d: d, k: k, syms: syms}
	v.spec = v.loadBTF(t)
	v.mods = v.loadModules(t)
	var tables []Table
	for _, m := range v.mods {
		tables = append(tables, m.tables...)
	}
	o, err := LoadKernel(k, syms, k.Release())
	if err != nil {
		t.Fatal(err)
	}
	v.orc = o.WithModules(tables...)
	return v
}

func (v *vmcore) loadBTF(t testing.TB) *btf.Spec {
	t.Helper()
	start, ok1 := v.syms.Lookup("__start_BTF")
	stop, ok2 := v.syms.Lookup("__stop_BTF")
	if !ok1 || !ok2 || stop <= start || stop-start > 64<<20 {
		t.Fatalf("no BTF: __start_BTF=%#x __stop_BTF=%#x", start, stop)
	}
	raw := make([]byte, stop-start)
	if n, err := v.k.ReadVirt(raw, start); n < len(raw) {
		t.Fatalf("reading BTF at %#x: %v", start+uint64(n), err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// offsetOf returns the byte offset of a member path in the struct named typ.
func (v *vmcore) offsetOf(t testing.TB, typ string, path ...string) uint64 {
	t.Helper()
	var st *btf.Struct
	if err := v.spec.TypeByName(typ, &st); err != nil {
		t.Fatalf("BTF struct %s: %v", typ, err)
	}
	var off uint64
	var cur btf.Type = st
	for _, p := range path {
		members := []btf.Member(nil)
		switch c := btf.UnderlyingType(cur).(type) {
		case *btf.Struct:
			members = c.Members
		case *btf.Union:
			members = c.Members
		default:
			t.Fatalf("%s.%s: %T is not a struct", typ, p, cur)
		}
		found := false
		for _, m := range members {
			if m.Name == p {
				off += uint64(m.Offset.Bytes())
				cur = m.Type
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("BTF: %s has no member %s", typ, strings.Join(path, "."))
		}
	}
	return off
}

func (v *vmcore) u64(t testing.TB, addr uint64) uint64 {
	t.Helper()
	var b [8]byte
	if n, err := v.k.ReadVirt(b[:], addr); n < 8 {
		t.Fatalf("read %#x: %v", addr, err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (v *vmcore) u32(t testing.TB, addr uint64) uint32 {
	return uint32(v.u64(t, addr))
}

// loadModules walks the modules list (Linux 6.1's struct module with
// core_layout and init_layout).
func (v *vmcore) loadModules(t testing.TB) []module {
	t.Helper()
	head, ok := v.syms.Lookup("modules")
	if !ok {
		t.Fatal("kallsyms has no modules")
	}
	listOff := v.offsetOf(t, "module", "list")
	nameOff := v.offsetOf(t, "module", "name")
	coreBase := v.offsetOf(t, "module", "core_layout", "base")
	coreText := v.offsetOf(t, "module", "core_layout", "text_size")
	initBase := v.offsetOf(t, "module", "init_layout", "base")
	initText := v.offsetOf(t, "module", "init_layout", "text_size")
	numOrcs := v.offsetOf(t, "module", "arch", "num_orcs")
	orcIP := v.offsetOf(t, "module", "arch", "orc_unwind_ip")
	orcU := v.offsetOf(t, "module", "arch", "orc_unwind")
	ksOff := v.offsetOf(t, "module", "kallsyms")
	symtabOff := v.offsetOf(t, "mod_kallsyms", "symtab")
	numOff := v.offsetOf(t, "mod_kallsyms", "num_symtab")
	strtabOff := v.offsetOf(t, "mod_kallsyms", "strtab")
	var out []module
	for p, n := v.u64(t, head), 0; p != head; p, n = v.u64(t, p), n+1 {
		if n > 1000 {
			t.Fatal("module list does not end")
		}
		mod := p - listOff
		var nb [56]byte
		v.k.ReadVirt(nb[:], mod+nameOff)
		m := module{name: string(bytes.TrimRight(nb[:], "\x00"))}
		if i := bytes.IndexByte(nb[:], 0); i >= 0 {
			m.name = string(nb[:i])
		}
		ip, ents, num := v.u64(t, mod+orcIP), v.u64(t, mod+orcU), int(v.u32(t, mod+numOrcs))
		for _, l := range [][2]uint64{{coreBase, coreText}, {initBase, initText}} {
			base, size := v.u64(t, mod+l[0]), uint64(v.u32(t, mod+l[1]))
			if base == 0 || size == 0 {
				continue
			}
			m.texts = append(m.texts, [2]uint64{base, base + size})
			m.tables = append(m.tables, Table{Name: m.name, TextStart: base, TextEnd: base + size, IPs: ip, Entries: ents, N: num})
		}
		ks := v.u64(t, mod+ksOff)
		symtab, nsym, strtab := v.u64(t, ks+symtabOff), int(v.u32(t, ks+numOff)), v.u64(t, ks+strtabOff)
		if nsym > 100000 {
			t.Fatalf("module %s: %d symbols", m.name, nsym)
		}
		raw := make([]byte, 24*nsym)
		v.k.ReadVirt(raw, symtab)
		for i := 1; i < nsym; i++ {
			e := raw[24*i:]
			shndx := binary.LittleEndian.Uint16(e[6:])
			val := binary.LittleEndian.Uint64(e[8:])
			if shndx == 0 {
				continue
			}
			var sb [128]byte
			v.k.ReadVirt(sb[:], strtab+uint64(binary.LittleEndian.Uint32(e[0:])))
			name := string(sb[:max(bytes.IndexByte(sb[:], 0), 0)])
			if name == "" || name[0] == '$' {
				continue
			}
			m.syms = append(m.syms, modSym{val, name})
		}
		// The kernel's find_kallsyms_symbol keeps the first of symbols at
		// one address, in symtab order.
		sort.SliceStable(m.syms, func(i, j int) bool { return m.syms[i].addr < m.syms[j].addr })
		out = append(out, m)
	}
	return out
}

// Symbol chains kallsyms (core kernel) and the modules' symbols.
func (v *vmcore) Symbol(addr uint64) (string, uint64, string, bool) {
	for _, m := range v.mods {
		for _, tx := range m.texts {
			if addr < tx[0] || addr >= tx[1] {
				continue
			}
			i := sort.Search(len(m.syms), func(i int) bool { return m.syms[i].addr > addr }) - 1
			if i < 0 {
				return "", 0, "", false
			}
			for i > 0 && m.syms[i-1].addr == m.syms[i].addr {
				i--
			}
			return m.syms[i].name, addr - m.syms[i].addr, m.name, true
		}
	}
	name, off, ok := v.syms.Addr(addr)
	return name, off, "", ok
}

// stacks returns the stacks of a CPU: its current task's stack and its
// hardirq stack (Linux 6.1 per-cpu current_task and hardirq_stack_ptr).
func (v *vmcore) stacks(t testing.TB, cpu int) []Stack {
	t.Helper()
	const threadSize, irqStackSize = 16 << 10, 16 << 10
	offs, ok := v.syms.Lookup("__per_cpu_offset")
	if !ok {
		t.Fatal("no __per_cpu_offset")
	}
	pcpu := v.u64(t, offs+8*uint64(cpu))
	var out []Stack
	if ct, ok := v.syms.Lookup("current_task"); ok {
		task := v.u64(t, pcpu+ct)
		stack := v.u64(t, task+v.offsetOf(t, "task_struct", "stack"))
		out = append(out, Stack{Name: "task", Start: stack, End: stack + threadSize})
	}
	if hs, ok := v.syms.Lookup("hardirq_stack_ptr"); ok {
		top := v.u64(t, pcpu+hs) + 8
		out = append(out, Stack{Name: "irq", Start: top - irqStackSize, End: top})
	}
	return out
}

// logTrace is a Call Trace parsed from a kernel log.
type logTrace struct {
	cpu, pid int
	items    []logItem
	userRIP  uint64
	userRSP  uint64
}

// logItem is one line of it: a frame (func+off [module], ? when a guess)
// or a kernel-mode exception ("RIP: 0010:func+off").
type logItem struct {
	exception bool
	guess     bool
	fn        string
	off       uint64
	module    string
	raw       string
}

func (i logItem) String() string {
	s := fmt.Sprintf("%s+%#x", i.fn, i.off)
	if i.module != "" {
		s += " [" + i.module + "]"
	}
	if i.exception {
		s = "RIP:" + s
	}
	return s
}

var (
	cpuRE   = regexp.MustCompile(`\] CPU: (\d+) PID: (\d+) `)
	frameRE = regexp.MustCompile(`^\s*(\? )?([\w.]+)\+0x([0-9a-f]+)/0x[0-9a-f]+(?: \[(\w+)\])?$`)
	ripRE   = regexp.MustCompile(`RIP: 0010:([\w.]+)\+0x([0-9a-f]+)/0x[0-9a-f]+(?: \[(\w+)\])?`)
	uripRE  = regexp.MustCompile(`RIP: 0033:0x([0-9a-f]+)`)
	urspRE  = regexp.MustCompile(`RSP: 002b:([0-9a-f]+)`)
)

// lastTrace parses the last "Call Trace:" of a makedumpfile --dump-dmesg
// log: the one the panic printed, with the CPU line before it.
func lastTrace(t testing.TB, path string) logTrace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	start := -1
	for i, l := range lines {
		if strings.HasSuffix(l, "] Call Trace:") {
			start = i
		}
	}
	if start < 0 {
		t.Fatalf("%s: no Call Trace", path)
	}
	var lt logTrace
	lt.cpu = -1
	for i := start; i >= 0; i-- {
		if m := cpuRE.FindStringSubmatch(lines[i]); m != nil {
			lt.cpu, _ = strconv.Atoi(m[1])
			lt.pid, _ = strconv.Atoi(m[2])
			break
		}
	}
	for _, l := range lines[start+1:] {
		if j := strings.Index(l, "] "); j >= 0 {
			l = l[j+2:]
		}
		if strings.Contains(l, "</TASK>") {
			break
		}
		if m := uripRE.FindStringSubmatch(l); m != nil {
			lt.userRIP, _ = strconv.ParseUint(m[1], 16, 64)
			continue
		}
		if m := urspRE.FindStringSubmatch(l); m != nil {
			lt.userRSP, _ = strconv.ParseUint(m[1], 16, 64)
			continue
		}
		if m := ripRE.FindStringSubmatch(l); m != nil {
			off, _ := strconv.ParseUint(m[2], 16, 64)
			lt.items = append(lt.items, logItem{exception: true, fn: m[1], off: off, module: m[3], raw: l})
			continue
		}
		if m := frameRE.FindStringSubmatch(l); m != nil {
			off, _ := strconv.ParseUint(m[3], 16, 64)
			lt.items = append(lt.items, logItem{guess: m[1] != "", fn: m[2], off: off, module: m[4], raw: l})
		}
	}
	if len(lt.items) == 0 {
		t.Fatalf("%s: Call Trace at line %d has no frames", path, start+1)
	}
	return lt
}

// sleeper is a task not running on any CPU, from the init_task list.
type sleeper struct {
	pid      int
	comm     string
	stack    uint64
	threadSP uint64
}

// sleepers lists the group leaders of init_task's tasks list that are not
// current on a CPU (6.1: task_struct.tasks, pid, comm, stack, thread.sp).
func (v *vmcore) sleepers(t testing.TB) []sleeper {
	t.Helper()
	initTask, ok := v.syms.Lookup("init_task")
	if !ok {
		t.Fatal("no init_task")
	}
	current := map[uint64]bool{}
	offs, _ := v.syms.Lookup("__per_cpu_offset")
	ct, _ := v.syms.Lookup("current_task")
	for cpu := range v.d.PRStatus() {
		current[v.u64(t, v.u64(t, offs+8*uint64(cpu))+ct)] = true
	}
	tasksOff := v.offsetOf(t, "task_struct", "tasks")
	pidOff := v.offsetOf(t, "task_struct", "pid")
	commOff := v.offsetOf(t, "task_struct", "comm")
	stackOff := v.offsetOf(t, "task_struct", "stack")
	spOff := v.offsetOf(t, "task_struct", "thread", "sp")
	var out []sleeper
	head := initTask + tasksOff
	for p, n := v.u64(t, head), 0; p != head; p, n = v.u64(t, p), n+1 {
		if n > 10000 {
			t.Fatal("task list does not end")
		}
		task := p - tasksOff
		if current[task] {
			continue
		}
		var comm [16]byte
		v.k.ReadVirt(comm[:], task+commOff)
		out = append(out, sleeper{
			pid:      int(int32(v.u32(t, task+pidOff))),
			comm:     string(bytes.TrimRight(comm[:], "\x00")),
			stack:    v.u64(t, task+stackOff),
			threadSP: v.u64(t, task+spOff),
		})
	}
	return out
}
