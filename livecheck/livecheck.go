// Package livecheck finds corrupt kernel objects in a crashed kernel's
// memory without debuginfo and without the log's help: it takes the
// crashing CPU's registers and the words of the crashing task's kernel
// stack, keeps those that are the start of an sk_buff slab object, decodes
// them with the dump's own BTF, runs the checks over them, and follows a
// corrupt one to its socket, descriptor, process and device.
//
// It gives the same typed values (checks.Finding, owner.Owner) as the
// crash(8)-transcript path, so that a diagnosis has one shape whatever
// its evidence.
package livecheck

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/owner"
)

// CPUState is one CPU's saved state, as an NT_PRSTATUS note gives it.
type CPUState struct {
	// CPU is the note's index (the kernel writes them in CPU order).
	CPU int
	// PID is the task that ran on the CPU (0 for idle).
	PID int
	// Regs are the registers under NT_PRSTATUS names ("RAX", "R8",
	// "EFLAGS", "RIP", "RSP").
	Regs map[string]uint64
}

// Input is what the caller knows of the crash besides memory.
type Input struct {
	// CPUs are the dump's saved CPU states.
	CPUs []CPUState
	// PID and CPU are the crashing task and CPU as the crash report
	// names them ("CPU: 0 PID: 104"), nil when unknown. They choose the
	// note; no address the log prints is used.
	PID, CPU *int
	// Release is the kernel release.
	Release string
	// PageSize is the kernel's page size, 0 for 4096.
	PageSize int
}

// Result is what memory showed.
type Result struct {
	// CPU is the crashing CPU whose registers and task were used, and
	// Task its current task ("pid 104 (insmod)").
	CPU  int
	Task string
	// CPUFrom says how the crashing CPU was chosen ("the note of pid 104").
	CPUFrom string
	// Candidates is how many distinct words (registers and stack) were
	// tried, SKBs the sk_buffs among them, decoded.
	Candidates int
	SKBs       []*kobj.Object
	// Findings are the checks' verdicts on those sk_buffs that have an
	// error or a warning (with their context); healthy ones give none.
	Findings []checks.Finding
	// Owner is the chain from the first corrupt sk_buff, nil when none
	// is corrupt.
	Owner *owner.Owner
	// Notes say what could not be read, so the diagnosis can tell what
	// its memory part lacks.
	Notes []string

	taskAddr uint64 // the crashing task, 0 when unknown
}

// threadSize is THREAD_SIZE on x86_64 (16 KiB; 32 KiB under KASAN, whose
// stacks the scan then covers only in part).
const threadSize = 16 << 10

// skbCaches are the slab caches whose objects are sk_buffs, by name, and
// whether an object holds two (sk_buff_fclones: the second at
// sizeof(sk_buff)). skbuff_head_cache became skbuff_cache in 6.4. Names
// are the fallback: a cache merged into another (SLUB merges
// skbuff_fclone_cache with caches of its size, e.g. pool_workqueue on
// 6.12) goes by the other's name, so the kernel's own pointers to its
// skbuff caches (skbCacheVars) decide first.
var skbCaches = map[string]bool{
	"skbuff_head_cache":   false,
	"skbuff_cache":        false,
	"skbuff_fclone_cache": true,
}

// skbCacheVars are the kernel variables that point to the skbuff caches:
// globals up to 6.8 (skbuff_fclone_cache is static, in kallsyms with
// CONFIG_KALLSYMS_ALL), members of net_hotdata since 6.9.
var skbCacheVars = []struct {
	sym, member, cache string
	fclone             bool
}{
	{"skbuff_head_cache", "", "skbuff_head_cache", false},
	{"skbuff_cache", "", "skbuff_cache", false},
	{"skbuff_fclone_cache", "", "skbuff_fclone_cache", true},
	{"net_hotdata", "skbuff_cache", "skbuff_cache", false},
	{"net_hotdata", "skbuff_fclone_cache", "skbuff_fclone_cache", true},
}

// skbCacheAddrs reads the skbuff caches' struct kmem_cache addresses.
func skbCacheAddrs(v *kview.View) map[uint64]skbSlab {
	out := map[uint64]skbSlab{}
	for _, c := range skbCacheVars {
		a, _, err := v.Lookup(c.sym)
		if err != nil {
			continue
		}
		if c.member != "" {
			off, err := v.Offset(c.sym, c.member)
			if err != nil {
				continue
			}
			a += off
		}
		if p, err := v.U64(a); err == nil && p != 0 {
			out[p] = skbSlab{cache: c.cache, fclone: c.fclone}
		}
	}
	return out
}

// sockCaches are the slab caches of struct sock (each proto's slab,
// named after proto->name).
var sockCaches = map[string]bool{
	"TCP": true, "TCPv6": true, "UDP": true, "UDPv6": true, "UDP-Lite": true, "UDPLITEv6": true,
	"RAW": true, "RAWv6": true, "PING": true, "PINGv6": true, "UNIX": true, "UNIX-STREAM": true,
	"MPTCP": true, "MPTCPv6": true, "SCTP": true, "SCTPv6": true, "L2TP/IP": true, "L2TP/IPv6": true,
	"PACKET": true, "NETLINK": true, "DCCP": true, "DCCPv6": true, "XDP": true, "AF_VSOCK": true,
}

// crashRegs maps NT_PRSTATUS register names to crash(8)'s exception-frame
// names; the segment bases and data segments crash does not show are left
// out so that their small values are not cited as agreeing.
var crashRegs = map[string]string{
	"RIP": "RIP", "RSP": "RSP", "EFLAGS": "RFLAGS", "RAX": "RAX", "RBX": "RBX", "RCX": "RCX",
	"RDX": "RDX", "RSI": "RSI", "RDI": "RDI", "RBP": "RBP", "R8": "R8", "R9": "R9", "R10": "R10",
	"R11": "R11", "R12": "R12", "R13": "R13", "R14": "R14", "R15": "R15", "ORIG_RAX": "ORIG_RAX",
	"CS": "CS", "SS": "SS",
}

// regOrder is the order crash prints an exception frame in, for stable
// candidate order and citations.
var regOrder = []string{"RIP", "RSP", "RFLAGS", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "ORIG_RAX", "CS", "SS"}

// ExceptionRegs renames NT_PRSTATUS registers to crash's names.
func ExceptionRegs(prstatus map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(crashRegs))
	for n, v := range prstatus {
		if c, ok := crashRegs[n]; ok {
			out[c] = v
		}
	}
	return out
}

// Run finds and checks the sk_buffs the crashing context holds. It fails
// only when nothing can be decoded (no types, no crashing CPU); what else
// could not be read is in Result.Notes.
func Run(v *kview.View, in Input) (*Result, error) {
	if _, err := v.Types(); err != nil {
		return nil, err
	}
	st, why, err := panicCPU(v, in)
	if err != nil {
		return nil, err
	}
	res := &Result{CPU: st.CPU, CPUFrom: why}
	regs := ExceptionRegs(st.Regs)
	task, err := v.CurrentTask(st.CPU)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("the current task of CPU %d could not be read: %v", st.CPU, err))
	}
	res.taskAddr = task
	words := candidates(v, regs, task, st.PID, res)

	set := &kobj.Set{}
	seen := map[uint64]bool{}
	where := map[uint64]skbSlab{}
	skbCacheAt := skbCacheAddrs(v)
	for _, w := range words {
		if seen[w.addr] {
			continue
		}
		seen[w.addr] = true
		skb, at, ok := skbAt(v, w.addr, skbCacheAt)
		if !ok {
			continue
		}
		obj, err := v.Object("sk_buff", skb)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("sk_buff %x: %v", skb, err))
			continue
		}
		where[skb] = at
		set.Add(obj)
		res.SKBs = append(res.SKBs, obj)
		addShared(v, set, obj, res)
	}
	res.Candidates = len(seen)
	rip, _, _, _ := v.Symbol(regs["RIP"])
	env := checks.Env{Objects: set, Regs: regs, Release: in.Release, PtrSize: 8, PageSize: in.PageSize, RIPFunction: rip}
	res.Findings = relevant(checks.Run(env))
	for _, f := range res.Findings {
		if f.Severity != checks.SeverityError || f.Object == nil || f.Object.Type != "sk_buff" {
			continue
		}
		skb := set.Find("sk_buff", f.Object.Addr)
		if skb == nil {
			continue
		}
		m := ownerMemory(v, skb, where[skb.Addr], regs, words, res)
		res.Owner = owner.FromMemory(m)
		break
	}
	return res, nil
}

// relevant keeps the findings on objects with an error or a warning:
// memory holds many healthy sk_buffs (clones on their way out, queued
// packets) whose context notes (a clone's shared data) would only bury
// the verdict; an engineer dumping objects in crash(8) picks those of
// interest, and this picks the same.
func relevant(fs []checks.Finding) []checks.Finding {
	bad := map[*kobj.Object]bool{}
	for _, f := range fs {
		if f.Severity == checks.SeverityError || f.Severity == checks.SeverityWarning {
			bad[f.Object] = true
		}
	}
	var out []checks.Finding
	for _, f := range fs {
		if bad[f.Object] {
			out = append(out, f)
		}
	}
	return out
}

// panicCPU picks the crashing CPU's note: the one whose task is the
// report's PID, else the report's CPU, else the only note, else the
// kernel's panic_cpu.
func panicCPU(v *kview.View, in Input) (CPUState, string, error) {
	if len(in.CPUs) == 0 {
		return CPUState{}, "", errors.New("the dump has no NT_PRSTATUS notes: no crashing registers")
	}
	if in.PID != nil && *in.PID != 0 {
		for _, c := range in.CPUs {
			if c.PID == *in.PID {
				return c, fmt.Sprintf("the note of pid %d", c.PID), nil
			}
		}
	}
	if in.CPU != nil {
		for _, c := range in.CPUs {
			if c.CPU == *in.CPU {
				return c, fmt.Sprintf("the note of CPU %d", c.CPU), nil
			}
		}
	}
	if len(in.CPUs) == 1 {
		return in.CPUs[0], "the only note", nil
	}
	if a, _, err := v.Lookup("panic_cpu"); err == nil {
		if n, err := v.U32(a); err == nil {
			for _, c := range in.CPUs {
				if c.CPU == int(int32(n)) {
					return c, fmt.Sprintf("panic_cpu = %d", c.CPU), nil
				}
			}
		}
	}
	return CPUState{}, "", fmt.Errorf("none of the %d NT_PRSTATUS notes is the crashing CPU's (no report names its PID or CPU, and panic_cpu is unreadable)", len(in.CPUs))
}

// word is a candidate address and where it was found.
type word struct {
	addr uint64
	reg  string // register name, "" for a stack word
	slot uint64 // stack slot, 0 for a register
}

// candidates are the registers, then the words of the task's stack from
// the exception RSP up to the stack's top (the whole stack when RSP is
// on another stack: an IRQ or exception stack, which is scanned too up to
// its 16 KiB boundary). When the task_struct is not in the dump, the
// stack's top is found from RSP alone: kernel stacks are THREAD_SIZE
// aligned.
func candidates(v *kview.View, regs map[string]uint64, task uint64, pid int, res *Result) []word {
	var out []word
	for _, n := range regOrder {
		if a, ok := regs[n]; ok && n != "RIP" && n != "RSP" {
			out = append(out, word{addr: a, reg: n})
		}
	}
	rsp := regs["RSP"] &^ 7
	toBoundary := func() [][2]uint64 {
		if end := (rsp | (threadSize - 1)) + 1; rsp != 0 && end > rsp {
			return [][2]uint64{{rsp, end}}
		}
		return nil
	}
	res.Task = fmt.Sprintf("pid %d", pid)
	var ranges [][2]uint64
	stack, err := uint64(0), error(nil)
	if task != 0 {
		stack, err = v.Uint(task, "task_struct", "stack")
		if p, err := v.Uint(task, "task_struct", "pid"); err == nil {
			comm, _ := v.String(task + commOffset(v))
			res.Task = fmt.Sprintf("pid %d (%s)", int32(p), comm)
		}
	}
	switch {
	case task == 0 || err != nil || stack == 0:
		why := "its task is unknown"
		if err != nil {
			why = err.Error()
		}
		ranges = toBoundary()
		res.Notes = append(res.Notes, fmt.Sprintf("the kernel stack of %s could not be located (%s): it was searched from RSP %#x to its %d KiB boundary", res.Task, why, rsp, threadSize>>10))
	case rsp >= stack && rsp < stack+threadSize:
		ranges = append(ranges, [2]uint64{rsp, stack + threadSize})
	default:
		ranges = append([][2]uint64{{stack, stack + threadSize}}, toBoundary()...)
	}
	for _, r := range ranges {
		buf := make([]byte, r[1]-r[0])
		// Page by page: a page of the stack the dump lacks costs only
		// its own words.
		for off := uint64(0); off < uint64(len(buf)); {
			n := min(uint64(len(buf))-off, 4096-(r[0]+off)%4096)
			if err := v.Read(buf[off:off+n], r[0]+off); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("stack page at %#x: %v", r[0]+off, err))
			}
			off += n
		}
		for i := 0; i+8 <= len(buf); i += 8 {
			a := le64(buf[i:])
			if a>>48 == 0xffff {
				out = append(out, word{addr: a, slot: r[0] + uint64(i)})
			}
		}
	}
	return out
}

func commOffset(v *kview.View) uint64 {
	off, _ := v.Offset("task_struct", "comm")
	return off
}

// skbSlab is where in its slab an sk_buff is.
type skbSlab struct {
	// cache is the skbuff cache, with the cache it was merged into when
	// that goes by another name.
	cache  string
	fclone bool
	// second is set for the second sk_buff of an fclone pair.
	second bool
}

// skbAt says whether addr is an sk_buff: the start of an object of an
// skbuff cache, or the second sk_buff of an fclone object. caches are
// the kernel's own skbuff caches by address.
func skbAt(v *kview.View, addr uint64, caches map[uint64]skbSlab) (uint64, skbSlab, bool) {
	so, err := v.SlabObject(addr)
	if err != nil {
		return 0, skbSlab{}, false
	}
	at, ok := caches[so.CacheAddr]
	switch {
	case ok && at.cache != so.Cache:
		at.cache = fmt.Sprintf("%s (merged into %s)", at.cache, so.Cache)
	case !ok:
		fclone, named := skbCaches[so.Cache]
		if !named {
			return 0, skbSlab{}, false
		}
		at = skbSlab{cache: so.Cache, fclone: fclone}
	}
	if addr == so.Start {
		return addr, at, true
	}
	if at.fclone {
		if off, err := v.Offset("sk_buff_fclones", "skb2"); err == nil && addr == so.Start+off {
			at.second = true
			return addr, at, true
		}
	}
	return 0, skbSlab{}, false
}

// maxFragList bounds the frag_list sk_buffs decoded per sk_buff.
const maxFragList = 64

// addShared decodes obj's skb_shared_info (head+end: end is an offset on
// 64-bit) and the frag_list chain (frag_list, then each one's next) that
// the checks walk as skb_walk_frags does.
func addShared(v *kview.View, set *kobj.Set, obj *kobj.Object, res *Result) {
	sh := shared(v, set, obj, res)
	if sh == nil {
		return
	}
	next, _ := sh.Value.Uint("frag_list")
	for i := 0; next != 0 && i < maxFragList && set.Find("sk_buff", next) == nil; i++ {
		o, err := v.Object("sk_buff", next)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("frag_list sk_buff %x: %v", next, err))
			return
		}
		set.Add(o)
		shared(v, set, o, res)
		next, _ = o.Value.Uint("next")
	}
}

// shared decodes and adds obj's skb_shared_info.
func shared(v *kview.View, set *kobj.Set, obj *kobj.Object, res *Result) *kobj.Object {
	head, ok1 := obj.Value.Uint("head")
	end, ok2 := obj.Value.Uint("end")
	if !ok1 || !ok2 || head == 0 {
		return nil
	}
	if sh := set.Find("skb_shared_info", head+end); sh != nil {
		return sh
	}
	sh, err := v.Object("skb_shared_info", head+end)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("skb_shared_info of sk_buff %x at %#x: %v", obj.Addr, head+end, err))
		return nil
	}
	set.Add(sh)
	return sh
}

// ownerMemory reads what the owner chain needs of skb.
func ownerMemory(v *kview.View, skb *kobj.Object, at skbSlab, regs map[string]uint64, words []word, res *Result) owner.Memory {
	m := owner.Memory{SKB: owner.MemSKB{Addr: skb.Addr, Cache: at.cache, FcloneSecond: at.second, Task: res.Task}}
	for _, n := range regOrder {
		if a, ok := regs[n]; ok && a == skb.Addr {
			m.SKB.Regs = append(m.SKB.Regs, n)
		}
	}
	for _, w := range words {
		if w.reg == "" && w.addr == skb.Addr {
			m.SKB.Slot = w.slot
			break
		}
	}
	if d, ok := skb.Value.Get("destructor"); ok {
		m.SKB.Destructor = d.Symbol
	}
	if dev, ok := skb.Value.Uint("dev"); ok && dev != 0 {
		m.SKB.Dev = dev
		if off, err := v.Offset("net_device", "name"); err == nil {
			if name, err := v.String(dev + off); err == nil {
				m.SKB.DevName = name
			}
		}
	}
	sk, ok := skb.Value.Uint("sk")
	switch {
	case !ok:
		m.SKB.SKErr = "the decoded sk_buff has no sk member"
	case sk != 0:
		m.SKB.SK = sk
		m.Sock = sockMemory(v, sk)
	}
	var devs []kview.NetDev
	if m.Sock != nil && m.Sock.Local.IsValid() {
		var err error
		devs, err = v.NetDevices()
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("network devices: %v", err))
		}
		host := m.Sock.Local.Addr()
		for _, d := range devs {
			for _, a := range d.IPv4 {
				if a == host && m.Device == nil {
					m.Device = &owner.MemDevice{Name: d.Name, Addr: d.Addr, ByAddress: a}
				}
			}
		}
	}
	if m.Device == nil && m.SKB.DevName != "" {
		m.Device = &owner.MemDevice{Name: m.SKB.DevName, Addr: m.SKB.Dev}
	}
	if m.Sock != nil && m.Sock.File != 0 {
		m.Holder, m.HolderErr = holder(v, m.Sock.File, res.taskAddr)
	}
	return m
}

// families and sockTypes name AF_* and SOCK_* values as crash's net -s
// FAMILY:TYPE column does.
var (
	families  = map[int]string{1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET", 40: "VSOCK", 44: "XDP"}
	sockTypes = map[int]string{1: "STREAM", 2: "DGRAM", 3: "RAW", 4: "RDM", 5: "SEQPACKET", 6: "DCCP", 10: "PACKET"}
)

func name(m map[int]string, n int) string {
	if s, ok := m[n]; ok {
		return s
	}
	return fmt.Sprint(n)
}

func sockMemory(v *kview.View, sk uint64) *owner.MemSock {
	s := &owner.MemSock{Addr: sk}
	if so, err := v.SlabObject(sk); err != nil {
		s.CacheErr = err.Error()
	} else if so.Start != sk {
		s.CacheErr = fmt.Sprintf("%#x is inside an object of %s that starts at %#x", sk, so.Cache, so.Start)
	} else {
		s.Cache, s.SockCache = so.Cache, sockCaches[so.Cache]
	}
	info, err := v.SockInfo(sk)
	if err != nil {
		s.CacheErr += fmt.Sprintf("; sock_common unreadable: %v", err)
		return s
	}
	s.Family, s.Type = name(families, info.Family), name(sockTypes, info.Type)
	if info.Local.IsValid() && info.Remote.IsValid() {
		s.Local, s.Remote = info.Local, info.Remote
	}
	s.Socket = info.Socket
	if s.Socket != 0 {
		s.File, _ = v.Uint(s.Socket, "socket", "file")
	}
	return s
}

// holder finds the descriptor whose file is file: in the crashing task's
// table first (the task that was sending), then in every task's; threads
// sharing a table answer as their group. When none holds it, the reason
// is "" if every table was read, else what broke the search.
func holder(v *kview.View, file, crashing uint64) (*owner.MemHolder, string) {
	find := func(t *kview.Task) *owner.MemHolder {
		fds, err := v.Files(t.Addr)
		if err != nil {
			return nil
		}
		for _, fd := range fds {
			if fd.File == file {
				pid := t.TGID
				if pid == 0 {
					pid = t.PID
				}
				return &owner.MemHolder{FD: fd.Num, PID: pid, Comm: t.Comm, File: fd.File, Socket: fd.Socket}
			}
		}
		return nil
	}
	tasks, err := v.Tasks()
	if len(tasks) == 0 && err != nil {
		return nil, "the task list could not be read: " + err.Error()
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		return tasks[i].Addr == crashing && tasks[j].Addr != crashing
	})
	seenFiles := map[uint64]bool{}
	for _, t := range tasks {
		if t.PID == 0 && t.Addr != crashing {
			continue
		}
		ft, ferr := v.Uint(t.Addr, "task_struct", "files")
		if ferr != nil || ft == 0 || seenFiles[ft] {
			continue
		}
		seenFiles[ft] = true
		if h := find(t); h != nil {
			return h, ""
		}
	}
	if err != nil {
		return nil, fmt.Sprintf("none of the %d tasks read holds that file, and the task list broke: %v", len(tasks), err)
	}
	return nil, ""
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
