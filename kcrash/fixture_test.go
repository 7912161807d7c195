package kcrash_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/ktypes"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

const fixture = "fixtures/vmcore/skbcsum-kdump/"

var (
	sessMu   sync.Mutex
	sessions = map[string]*kcrash.Session{}
)

// fixtureSession opens the skbcsum fixture once for all tests.
func fixtureSession(t *testing.T) *kcrash.Session {
	t.Helper()
	return fixtureNamed(t, fixture)
}

// fixtureNamed opens a fixture folder's dump once for all tests.
func fixtureNamed(t *testing.T, dir string) *kcrash.Session {
	t.Helper()
	path := testshared.Path(t, dir+"vmcore.kdump-d31")
	sessMu.Lock()
	defer sessMu.Unlock()
	if s := sessions[dir]; s != nil {
		return s
	}
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	s := kcrash.New(kview.New(k), kcrash.WithDumpFile(path, d.Info()), kcrash.WithNotes(d.PRStatus()))
	sessions[dir] = s
	return s
}

// run runs one command, failing the test on an error.
func run(t *testing.T, s *kcrash.Session, line string) kcrash.Answer {
	t.Helper()
	as := s.Exec(line)
	if len(as) != 1 {
		t.Fatalf("%s: %d answers", line, len(as))
	}
	if as[0].Err != nil {
		t.Fatalf("%s: %v", line, as[0].Err)
	}
	return as[0]
}

// transcript renders answers as a crash session ("crash> CMD" then the
// output) and reads it back with crashlog, the contract our output keeps.
func transcript(t *testing.T, as ...kcrash.Answer) (*crashlog.Session, string) {
	t.Helper()
	var b strings.Builder
	for _, a := range as {
		b.WriteString("crash> " + a.Command + "\n")
		if err := a.WriteText(&b); err != nil {
			t.Fatal(err)
		}
	}
	sc := crashlog.NewScanner()
	for i, l := range strings.Split(b.String(), "\n") {
		sc.Line(i+1, l)
	}
	return sc.Finish(), b.String()
}

func readShared(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// crashSKB reads crash-skb.txt: the rd line and the members crash printed.
func crashSKB(t *testing.T) (rdLine string, skb uint64, members map[string]string) {
	t.Helper()
	members = map[string]string{}
	rd := regexp.MustCompile(`^[0-9a-f]{16}:\s+([0-9a-f]{16})`)
	mem := regexp.MustCompile(`^\s*(\w+) = (.*),$`)
	sc := bufio.NewScanner(strings.NewReader(readShared(t, fixture+"crash-skb.txt")))
	for sc.Scan() {
		if m := rd.FindStringSubmatch(sc.Text()); m != nil {
			rdLine = sc.Text()
			skb, _ = strconv.ParseUint(m[1], 16, 64)
		} else if m := mem.FindStringSubmatch(sc.Text()); m != nil {
			members[m[1]] = m[2]
		}
	}
	if skb == 0 || len(members) < 8 {
		t.Fatalf("crash-skb.txt: skb %#x, %d members", skb, len(members))
	}
	return rdLine, skb, members
}

// TestRdSymbol: `rd skbcsum_bad_skb` prints crash's line byte for byte,
// and crashlog reads the word back.
func TestRdSymbol(t *testing.T) {
	s := fixtureSession(t)
	want, skb, _ := crashSKB(t)
	a := run(t, s, "rd skbcsum_bad_skb")
	got := strings.TrimSuffix(kcrash.Text(a.Result), "\n")
	if got != want {
		t.Errorf("rd:\n got %q\nwant %q", got, want)
	}
	cs, _ := transcript(t, a)
	if len(cs.Reads) != 1 || len(cs.Reads[0].Words) != 1 || cs.Reads[0].Words[0] != skb {
		t.Errorf("crashlog reads %+v, want the word %#x", cs.Reads, skb)
	}
	checkJSON(t, a, fmt.Sprintf(`"words":["%#x"]`, skb))
}

// TestStructSKB: `struct sk_buff ADDR` shows every member crash-skb.txt
// lists with crash's value and indentation, crashlog reads the dump back
// as the same object, and the skb_shared_info at head+end has no frags.
func TestStructSKB(t *testing.T) {
	s := fixtureSession(t)
	_, skb, members := crashSKB(t)
	a := run(t, s, fmt.Sprintf("struct sk_buff %x", skb))
	text := kcrash.Text(a.Result)
	crashText := readShared(t, fixture+"crash-skb.txt")
	shinfo := map[string]bool{"nr_frags": true, "frag_list": true}
	for name, val := range members {
		if shinfo[name] {
			continue
		}
		// crash's line, indentation and all, is one of ours.
		var line string
		for _, l := range strings.Split(crashText, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), name+" = ") {
				line = l
			}
		}
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("%s = %s: crash's line %q not in our output", name, val, line)
		}
	}
	cs, _ := transcript(t, a)
	obj := cs.Objects.Find("sk_buff", skb)
	if obj == nil {
		t.Fatalf("crashlog finds no sk_buff %x in our output (%d objects, %d partial)", skb, len(cs.Objects.All()), len(cs.Partial))
	}
	for name, val := range members {
		if shinfo[name] {
			continue
		}
		want, err := strconv.ParseUint(strings.Fields(val)[0], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := obj.Value.Uint(name); !ok || got != want {
			t.Errorf("crashlog reads %s = %d %v, crash says %d", name, got, ok, want)
		}
	}
	head, _ := obj.Value.Uint("head")
	end, _ := obj.Value.Uint("end")
	sa := run(t, s, fmt.Sprintf("struct skb_shared_info %x", head+end))
	st := kcrash.Text(sa.Result)
	for _, want := range []string{"\n  nr_frags = 0 '\\000',\n", "\n  frag_list = 0x0,\n"} {
		if !strings.Contains(st, want) {
			t.Errorf("skb_shared_info at %#x lacks %q", head+end, want)
		}
	}
	// The member-list form prints just those members.
	ml := kcrash.Text(run(t, s, fmt.Sprintf("sk_buff.len,data_len %x", skb)).Result)
	if ml != "  len = 210,\n  data_len = 144,\n" {
		t.Errorf("sk_buff.len,data_len: %q", ml)
	}
	checkJSON(t, a, `"name":"len","type":"unsigned int","kind":"int","value":210`)
}

// TestSys: RELEASE and PANIC are crash-bt.txt's, read back by crashlog.
func TestSys(t *testing.T) {
	s := fixtureSession(t)
	crash := crashlog.NewScanner()
	for i, l := range strings.Split(readShared(t, fixture+"crash-bt.txt"), "\n") {
		crash.Line(i+1, l)
	}
	want := crash.Finish().Sys
	if want == nil {
		t.Fatal("crash-bt.txt has no sys block")
	}
	a := run(t, s, "sys")
	cs, text := transcript(t, a)
	got := cs.Sys
	if got == nil {
		t.Fatalf("crashlog reads no sys in:\n%s", text)
	}
	for _, c := range []struct{ key, got, want string }{
		{"RELEASE", got.Release, want.Release},
		{"PANIC", got.Panic, want.Panic},
		{"VERSION", got.Version, want.Version},
		{"NODENAME", got.Nodename, want.Nodename},
		{"DATE", got.Date, want.Date},
		{"UPTIME", got.Uptime, want.Uptime},
		{"MEMORY", got.Memory, want.Memory},
		{"MACHINE", got.Machine, want.Machine},
	} {
		if c.got != c.want || c.got == "" {
			t.Errorf("%s = %q, crash says %q", c.key, c.got, c.want)
		}
	}
	if got.CPUs == nil || *got.CPUs != *want.CPUs {
		t.Errorf("CPUS %v, crash %v", got.CPUs, *want.CPUs)
	}
	checkJSON(t, a, `"panic":"kernel BUG at net/core/skbuff.c:3090!"`)
}

// TestSymFrames: sym names each of crash-bt.txt's frame addresses as
// crash did; a module frame by the name the kernel log gives it
// (skbcsum_init), where crash, without the module's object file, said
// _MODULE_INIT_START_skbcsum.
func TestSymFrames(t *testing.T) {
	for _, dir := range []string{fixture, "fixtures/vmcore/warn-kdump/"} {
		t.Run(dir, func(t *testing.T) { symFrames(t, dir) })
	}
	s := fixtureSession(t)
	// A name gives its address and type; a module symbol its module.
	a := run(t, s, "sym __skb_checksum skbcsum_bad_skb")
	r := a.Result.(*kcrash.SymResult)
	if len(r.Symbols) != 2 || r.Symbols[0].Type != "T" || r.Symbols[1].Module != "skbcsum" {
		t.Errorf("sym by name: %s", kcrash.Text(r))
	}
	checkJSON(t, a, `"name":"skbcsum_bad_skb"`)
}

// TestPs: ps reads back through crashlog's ps parser with the same
// pids and names, and the panic task (the log's "CPU: 0 PID: 104") is
// marked active.
func TestPs(t *testing.T) {
	s := fixtureSession(t)
	a := run(t, s, "ps")
	r := a.Result.(*kcrash.PsResult)
	cs, _ := transcript(t, a)
	if len(cs.Tasks) != len(r.Tasks) || len(r.Tasks) < 20 {
		t.Fatalf("crashlog reads %d tasks of %d", len(cs.Tasks), len(r.Tasks))
	}
	m := regexp.MustCompile(`CPU: (\d+) PID: (\d+) Comm: (\S+)`).FindStringSubmatch(readShared(t, fixture+"dmesg.makedumpfile.txt"))
	pid, _ := strconv.Atoi(m[2])
	panicked := false
	for i, got := range cs.Tasks {
		w := r.Tasks[i]
		if got.PID != w.PID || got.Comm != w.Comm || got.TaskAddr != uint64(w.Task) || got.Active != w.Active || got.State != w.State {
			t.Errorf("line %d: crashlog %+v, ps %+v", i, got, w)
		}
		if got.PID == pid && got.Comm == m[3] && got.Active && strconv.Itoa(got.CPU) == m[1] {
			panicked = true
		}
	}
	if !panicked {
		t.Errorf("the panic task %s (pid %d on cpu %s) is not marked active", m[3], pid, m[1])
	}
	checkJSON(t, a, fmt.Sprintf(`"pid":%d,`, pid))
	// The filters: active tasks are one per CPU, kernel threads and user
	// tasks split the list.
	active := run(t, s, "ps -A").Result.(*kcrash.PsResult).Tasks
	k := run(t, s, "ps -k").Result.(*kcrash.PsResult).Tasks
	u := run(t, s, "ps -u").Result.(*kcrash.PsResult).Tasks
	if len(active) != 2 || len(k)+len(u) != len(r.Tasks) || len(u) == 0 || len(k) == 0 {
		t.Errorf("ps -A %d, -k %d, -u %d of %d", len(active), len(k), len(u), len(r.Tasks))
	}
	for _, tk := range u {
		if tk.KernelThread {
			t.Errorf("ps -u lists kernel thread %s", tk.Comm)
		}
	}
}

// TestNetAndDis: net lists the skb's device csum0 as crashlog reads it;
// dis of the BUG's RIP is ud2; both read back.
func TestNetAndDis(t *testing.T) {
	s := fixtureSession(t)
	net := run(t, s, "net")
	dis := run(t, s, "dis __skb_checksum+760")
	cs, text := transcript(t, net, dis)
	found := false
	for _, d := range cs.NetDevs {
		found = found || d.Name == "csum0"
	}
	if !found {
		t.Errorf("no csum0 in crashlog's reading of:\n%s", text)
	}
	if len(cs.Disasm) != 1 || cs.Disasm[0].Text != "ud2" || cs.Disasm[0].Function != "__skb_checksum" || cs.Disasm[0].Offset != 760 {
		t.Errorf("dis: crashlog reads %+v from:\n%s", cs.Disasm, text)
	}
	// A call's target is named.
	d := kcrash.Text(run(t, s, "dis skb_checksum").Result)
	if !regexp.MustCompile(`call\s+0xffffffff[0-9a-f]+ <__skb_checksum>`).MatchString(d) {
		t.Errorf("dis skb_checksum names no call to __skb_checksum:\n%s", d)
	}
	checkJSON(t, net, `"name":"csum0"`)
	checkJSON(t, dis, `"text":"ud2"`)
}

// TestEveryCommandJSON: each command's answer marshals to valid JSON.
func TestEveryCommandJSON(t *testing.T) {
	s := fixtureSession(t)
	for _, line := range []string{"sys", "ps", "mod", "net", "net -s 104", "files 104", "foreach net -s", "foreach files", "log", "help", "help rd", "px init_uts_ns", "struct -o sk_buff", "rd -32 skbcsum_bad_skb 8", "rd -8 skbcsum_bad_skb 16", "dis -r __skb_checksum+10", "sym skbcsum_bad_skb"} {
		t.Run(line, func(t *testing.T) {
			a := run(t, s, line)
			b, err := json.Marshal(a)
			if err != nil || !json.Valid(b) {
				t.Fatalf("%v: %.200s", err, b)
			}
			if kcrash.Text(a.Result) == "" {
				t.Error("no text")
			}
		})
	}
}

// checkJSON asserts the answer's JSON is valid and holds want.
func checkJSON(t *testing.T, a kcrash.Answer, want string) {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil || !json.Valid(b) {
		t.Fatalf("%s: JSON: %v", a.Command, err)
	}
	if !strings.Contains(string(b), want) {
		t.Errorf("%s: JSON lacks %s: %.300s", a.Command, want, b)
	}
}

func symFrames(t *testing.T, dir string) {
	s := fixtureNamed(t, dir)
	crash := crashlog.NewScanner()
	for i, l := range strings.Split(readShared(t, dir+"crash-bt.txt"), "\n") {
		crash.Line(i+1, l)
	}
	bts := crash.Finish().Backtraces
	if len(bts) != 1 || len(bts[0].AllFrames) < 10 {
		t.Fatalf("crash-bt.txt: %d backtraces", len(bts))
	}
	log := readShared(t, dir+"dmesg.makedumpfile.txt")
	n := 0
	for _, f := range bts[0].AllFrames[1:] { // #0 is machine_kexec's own frame
		a := run(t, s, fmt.Sprintf("sym %x", f.Address))
		e := a.Result.(*kcrash.SymResult).Symbols[0]
		want := f.Function
		if f.Module != "" {
			m := regexp.MustCompile(`\s(\w+)\+0x` + strconv.FormatUint(e.Offset, 16) + `/0x[0-9a-f]+ \[` + f.Module + `\]`).FindStringSubmatch(log)
			if m == nil {
				t.Fatalf("the log names no %s function at offset %#x", f.Module, e.Offset)
			}
			want = m[1]
			if e.Module != f.Module {
				t.Errorf("%x: module %q, crash %q", f.Address, e.Module, f.Module)
			}
		}
		if e.Name != want {
			t.Errorf("sym %x = %s, want %s", f.Address, e, want)
		}
		n++
	}
	if dir == fixture && n != 20 {
		t.Errorf("%d frames checked, crash-bt.txt has 20 past #0", n)
	}
}

// TestWellKnownGlobals: every global ktypes types without the kernel's
// help prints with p when kallsyms has it, its type found in the dump's
// BTF (a per-cpu one, at its small per-cpu offset, may not be readable).
func TestWellKnownGlobals(t *testing.T) {
	s := fixtureSession(t)
	syms, err := s.View().Kernel().Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ktypes.WellKnownVars() {
		if _, ok := syms.Lookup(name); !ok {
			continue
		}
		a := s.Exec("p " + name)[0]
		if errors.Is(a.Err, ktypes.ErrNotFound) {
			t.Errorf("p %s: %v", name, a.Err)
		}
	}
	if got := kcrash.Text(run(t, s, "px avenrun").Result); !strings.HasPrefix(got, "avenrun = $") || !strings.Contains(got, "{0x") {
		t.Errorf("px avenrun: %q", got)
	}
	if got := kcrash.Text(run(t, s, "p jiffies").Result); !regexp.MustCompile(`^jiffies = \$\d+ = \d+\n$`).MatchString(got) {
		t.Errorf("p jiffies: %q", got)
	}
}

// TestPerCPU: p of a per-cpu variable lists each CPU's copy, and CPU 0's
// current_task holds the task ps marks active on CPU 0.
func TestPerCPU(t *testing.T) {
	s := fixtureSession(t)
	a := run(t, s, "p current_task")
	r, ok := a.Result.(*kcrash.PerCPUResult)
	if !ok || len(r.Addrs) != 2 || !strings.Contains(kcrash.Text(r), "  struct task_struct *current_task;\n") {
		t.Fatalf("p current_task: %s", kcrash.Text(a.Result))
	}
	rd := run(t, s, fmt.Sprintf("rd %x", uint64(r.Addrs[0]))).Result.(*kcrash.RdResult)
	var active kcrash.Addr
	for _, tk := range run(t, s, "ps").Result.(*kcrash.PsResult).Tasks {
		if tk.Active && tk.CPU == 0 {
			active = tk.Task
		}
	}
	if active == 0 || len(rd.Words) != 1 || rd.Words[0] != active {
		t.Errorf("cpu 0's current_task holds %v, ps's active task on cpu 0 is %v", rd.Words, active)
	}
	checkJSON(t, a, `"symbol":"current_task"`)
}

// TestNoKallsyms: a kernel whose VMCOREINFO lacks the kallsyms keys (as
// before 6.0) is named so on the capability line, sys still answers from
// VMCOREINFO and the log, and the commands that need symbols say why they
// cannot answer.
func TestNoKallsyms(t *testing.T) {
	path := testshared.Path(t, fixture+"vmcore.kdump-d31")
	d, _, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	without := func(drop ...string) string {
		var kept []string
	lines:
		for _, l := range strings.Split(d.VMCOREINFO(), "\n") {
			for _, w := range drop {
				if strings.Contains(l, w) {
					continue lines
				}
			}
			kept = append(kept, l)
		}
		return strings.Join(kept, "\n")
	}
	// Without the kallsyms keys (a kernel before 6.0) the tables are
	// found by a scan of the image, and the line says so.
	k, err := kernel.New(d, without("kallsyms"))
	if err != nil {
		t.Fatal(err)
	}
	s := kcrash.New(kview.New(k), kcrash.WithDumpFile(path, d.Info()))
	if caps := s.Capabilities(); !caps.Kallsyms || !strings.Contains(kcrash.Text(caps), "scan") {
		t.Errorf("capabilities after a scan: %s", kcrash.Text(caps))
	}
	if a := s.Exec("rd skbcsum_bad_skb")[0]; a.Err != nil {
		t.Errorf("rd after a scan: %v", a.Err)
	}
	// Without _stext as well nothing starts or validates a scan.
	if k, err = kernel.New(d, without("kallsyms", "SYMBOL(_stext)")); err != nil {
		t.Fatal(err)
	}
	s = kcrash.New(kview.New(k), kcrash.WithDumpFile(path, d.Info()))
	caps := s.Capabilities()
	line := kcrash.Text(caps)
	if caps.Kallsyms || caps.BTF || !strings.Contains(line, "no kallsyms: VMCOREINFO lacks its kallsyms keys (kernel 6.0+") || !strings.Contains(line, "pass --vmlinux") {
		t.Errorf("capabilities: %s", line)
	}
	sys := run(t, s, "sys").Result.(*kcrash.SysResult)
	if sys.Release != "6.1.0-56-cloud-amd64" || sys.Panic != "kernel BUG at net/core/skbuff.c:3090!" || sys.Date.IsZero() {
		t.Errorf("sys without kallsyms: %+v", sys)
	}
	for _, line := range []string{"ps", "rd skbcsum_bad_skb", "struct sk_buff ffff8afc013cd300", "mod"} {
		a := s.Exec(line)[0]
		if a.Err == nil || !strings.Contains(a.Error(), "kallsyms") {
			t.Errorf("%s: error %v, want one naming kallsyms", line, a.Err)
		}
	}
}

// TestFiles: the panic task's files with their full paths, walked across
// the devtmpfs mount (/dev/console) as d_path does, its root and cwd;
// crash's header reads back as the task.
func TestFiles(t *testing.T) {
	s := fixtureSession(t)
	a := run(t, s, "files 104")
	r := a.Result.(*kcrash.FilesResult)
	if len(r.Tasks) != 1 || r.Tasks[0].Root != "/" || r.Tasks[0].Cwd == "" {
		t.Fatalf("files 104: %s", kcrash.Text(r))
	}
	paths := map[int]string{}
	for _, f := range r.Tasks[0].Files {
		paths[f.FD] = f.Path
	}
	// insmod was given its module on the command line, with its
	// console as stdin, stdout and stderr.
	if paths[0] != "/dev/console" || paths[2] != "/dev/console" || paths[3] != "/lib/modules/skbcsum.ko" {
		t.Errorf("paths %v", paths)
	}
	if !strings.Contains(kcrash.Text(r), "ROOT: / ") {
		t.Errorf("no ROOT line: %s", kcrash.Text(r))
	}
	checkJSON(t, a, `"path":"/lib/modules/skbcsum.ko"`)
	// Every task's files: the idle tasks are left out, as crash does.
	all := run(t, s, "foreach files").Result.(*kcrash.FilesResult)
	for _, tf := range all.Tasks {
		if tf.Task.PID == 0 {
			t.Errorf("foreach lists an idle task")
		}
	}
	if len(all.Tasks) < 20 {
		t.Errorf("foreach files: %d tasks", len(all.Tasks))
	}
}

// TestStructTask: a task_struct prints its comm as gdb does, past the
// NUL, and crashlog reads the dump back with its pid and comm.
func TestStructTask(t *testing.T) {
	s := fixtureSession(t)
	var task kcrash.Addr
	for _, tk := range run(t, s, "ps 104").Result.(*kcrash.PsResult).Tasks {
		task = tk.Task
	}
	a := run(t, s, fmt.Sprintf("task_struct %x", uint64(task)))
	text := kcrash.Text(a.Result)
	if !strings.Contains(text, "\n  comm = \"insmod\\000\\000\\000\\000\\000\\000\\000\\000\\000\",\n") {
		t.Errorf("comm not as gdb prints it")
	}
	cs, _ := transcript(t, a)
	obj := cs.Objects.Find("task_struct", uint64(task))
	if obj == nil {
		t.Fatal("crashlog reads no task_struct back")
	}
	if pid, ok := obj.Value.Uint("pid"); !ok || pid != 104 {
		t.Errorf("pid %d %v", pid, ok)
	}
	if comm, ok := obj.Value.Get("comm"); !ok || !strings.HasPrefix(comm.Str, "insmod") {
		t.Errorf("comm %+v", comm)
	}
}

// TestRdSymbols: rd -s shows a word that points at a symbol as the
// symbol, as crashlog reads it back.
func TestRdSymbols(t *testing.T) {
	s := fixtureSession(t)
	off, err := s.View().Offset("uts_namespace", "user_ns")
	if err != nil {
		t.Fatal(err)
	}
	a := run(t, s, fmt.Sprintf("rd -s init_uts_ns+%d 2", off))
	cs, text := transcript(t, a)
	if len(cs.Reads) != 1 || len(cs.Reads[0].Symbols) != 2 || cs.Reads[0].Symbols[0] != "init_user_ns" {
		t.Errorf("crashlog reads %+v from:\n%s", cs.Reads, text)
	}
}

// TestStructLayout: struct -o gives each member's offset as the type
// says, anonymous unions opened in place, and the size.
func TestStructLayout(t *testing.T) {
	s := fixtureSession(t)
	a := run(t, s, "struct -o sk_buff")
	text := kcrash.Text(a.Result)
	for _, m := range []struct{ path, decl string }{{"len", "unsigned int len;"}, {"head", "unsigned char *head;"}, {"cb", "char cb[48];"}, {"dev", "struct net_device *dev;"}} {
		off, err := s.View().Offset("sk_buff", m.path)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`\n *\[` + strconv.FormatUint(off, 10) + `\] +` + regexp.QuoteMeta(m.decl) + `\n`).MatchString(text) {
			t.Errorf("no [%d] %s in:\n%.1500s", off, m.decl, text)
		}
	}
	r := a.Result.(*kcrash.StructResult)
	if r.Size < 200 || !strings.HasSuffix(text, fmt.Sprintf("}\nSIZE: %d\n", r.Size)) || !strings.Contains(text, "union {\n") {
		t.Errorf("size %d, text ends %q", r.Size, text[max(0, len(text)-40):])
	}
	checkJSON(t, a, `"name":"len"`)
}

// fakeBt stands for the bt to come: its text is a task header, as bt's.
type fakeBt struct{ PID string }

func (f fakeBt) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "PID: %s (bt)\n", f.PID)
	return err
}

// TestRegister: a command registered later parses with its flags and
// runs; a taken name is refused.
func TestRegister(t *testing.T) {
	path := testshared.Path(t, fixture+"vmcore.kdump-d31")
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := kcrash.New(kview.New(k))
	who := &kcrash.Command{Name: "who", Usage: "who [-f] PID", Help: "test", Flags: []kcrash.Flag{{Name: "-f"}}, MinArgs: 1, MaxArgs: 1,
		Run: func(s *kcrash.Session, c *kcrash.Call) (kcrash.Result, error) {
			if !c.Has("-f") {
				return nil, fmt.Errorf("want -f")
			}
			return fakeBt{PID: c.Args[0]}, nil
		}}
	if a := s.Exec("who -f 104")[0]; a.Err == nil {
		t.Error("who before registration ran")
	}
	if err := s.Register(who); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(who); err == nil {
		t.Error("who registered twice")
	}
	if err := s.Register(&kcrash.Command{Name: "bt", Run: who.Run}); err == nil {
		t.Error("bt is built in, yet registered again")
	}
	if got := kcrash.Text(run(t, s, "who -f 104").Result); got != "PID: 104 (bt)\n" {
		t.Errorf("who: %q", got)
	}
}

// TestForeachBt: foreach bt walks every task; all but none end at their
// stack's recognised end, each headed by its task.
func TestForeachBt(t *testing.T) {
	path := testshared.Path(t, fixture+"vmcore.kdump-d31")
	d, k, err := triage.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := kcrash.New(kview.New(k), kcrash.WithNotes(d.PRStatus()))
	r := run(t, s, "foreach bt").Result.(*kcrash.ForeachResult)
	if len(r.Tasks) < 20 {
		t.Fatalf("foreach bt: %d tasks", len(r.Tasks))
	}
	for _, it := range r.Tasks {
		if it.Error != "" {
			t.Errorf("pid %d: %s", it.Task.PID, it.Error)
			continue
		}
		bt := it.Result.(*kcrash.BtResult)
		if len(bt.Traces) != 1 || !bt.Traces[0].Complete || len(bt.Traces[0].Frames) < 2 {
			t.Errorf("pid %d %s: %+v", it.Task.PID, it.Task.Comm, bt.Traces)
		}
	}
}
