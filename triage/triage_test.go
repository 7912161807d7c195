package triage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/internal/hostilefile"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/oops"
)

// TestSeed is the founding case, verbatim: two crashes, one bug.
func TestSeed(t *testing.T) {
	seed := testshared.Path(t, testshared.Seed)
	d, err := Analyze([]string{seed}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) != 2 {
		for _, r := range d.Reports {
			t.Logf("report %q at %d-%d", r.Title, r.Source.StartLine, r.Source.EndLine)
		}
		t.Fatalf("got %d reports, want 2", len(d.Reports))
	}
	for i, r := range d.Reports {
		if r.Release == nil || *r.Release != "2.6.32-504.23.4.el6.x86_64" {
			t.Errorf("report %d release = %v", i, r.Release)
		}
		if r.Type != "BUG" {
			t.Errorf("report %d type = %q, want BUG", i, r.Type)
		}
	}
	first, second := d.Reports[0], d.Reports[1]
	if !strings.HasPrefix(first.Title, "kernel BUG in ") {
		t.Errorf("first title = %q", first.Title)
	}
	if first.BugLocation == nil || *first.BugLocation != "net/core/skbuff.c:1886" {
		t.Errorf("first bug_location = %v", first.BugLocation)
	}
	if first.RIP == nil || first.RIP.Function != "skb_checksum" || first.RIP.Offset == nil || *first.RIP.Offset != 725 {
		t.Errorf("first rip = %+v", first.RIP)
	}
	if len(first.Frames) != 35 || first.Frames[0].Function != "skb_checksum_help" {
		t.Errorf("first frames: %d, first %+v", len(first.Frames), first.Frames)
	}
	if second.Title != "kernel BUG in tcp_sendmsg" {
		t.Errorf("second title = %q", second.Title)
	}
	// The spans cover the crash text, not the article's prose around it.
	if first.Source.StartLine != 16 || second.Source.StartLine != 75 || second.Source.EndLine > 81 {
		t.Errorf("spans %+v and %+v", first.Source, second.Source)
	}
	if len(d.Matches) != 1 || d.Matches[0].ID != "tcp-trim-head-skb-data-len" || len(d.Matches[0].Reports) != 2 {
		t.Fatalf("matches = %+v", d.Matches)
	}
	if d.Inputs[0].Kind != KindCrashSession {
		t.Errorf("input kind = %q", d.Inputs[0].Kind)
	}
}

// TestContractSchema validates analyze --json output against the contract
// on the seed and the examples.
func TestContractSchema(t *testing.T) {
	schemaPath := testshared.Path(t, "contract/analyze.schema.json")
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{testshared.Path(t, testshared.Seed)}
	ex, _ := filepath.Glob("../examples/*/console.log")
	inputs = append(inputs, ex...)
	inputs = append(inputs, "../examples/ticket-skb-checksum.txt", "testdata/empty.log")
	for _, in := range inputs {
		d, err := Analyze([]string{in}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: output violates the contract: %v", in, err)
		}
	}
}

// TestExamples holds the shipped examples to their crashes.
func TestExamples(t *testing.T) {
	cases := []struct {
		path, title, typ string
		match            string
	}{
		{"../examples/qemu-skb-over-panic/console.log", "kernel BUG in crashnet_start_xmit", "BUG", ""},
		{"../examples/qemu-xmit-nullptr/console.log", "BUG: unable to handle kernel NULL pointer dereference in crashnet_ring_post", "NULL-POINTER-DEREFERENCE", ""},
		{"../examples/qemu-sysrq-crash/console.log", "kernel panic: sysrq triggered crash", "DoS", ""},
		{"../examples/ticket-skb-checksum.txt", "kernel BUG in dev_hard_start_xmit", "BUG", "tcp-trim-head-skb-data-len"},
	}
	for _, c := range cases {
		d, err := Analyze([]string{c.path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Reports) != 1 {
			t.Errorf("%s: %d reports, want 1", c.path, len(d.Reports))
			continue
		}
		r := d.Reports[0]
		if r.Title != c.title || r.Type != c.typ {
			t.Errorf("%s: got %q (%s), want %q (%s)", c.path, r.Title, r.Type, c.title, c.typ)
		}
		if r.Release == nil || !strings.HasPrefix(*r.Release, "6.1.0-56") && !strings.HasPrefix(*r.Release, "2.6.32") {
			t.Errorf("%s: release %v", c.path, r.Release)
		}
		got := ""
		if len(d.Matches) > 0 {
			got = d.Matches[0].ID
		}
		if got != c.match {
			t.Errorf("%s: match %q, want %q", c.path, got, c.match)
		}
	}
}

// TestPrefixStyles renders real kernel logs in the ten styles users paste
// (../shared/tools/render-logs.py) and requires the same reports from each.
func TestPrefixStyles(t *testing.T) {
	tool := testshared.Path(t, "tools/render-logs.py")
	fixtures, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "*", "dmesg.makedumpfile.txt"))
	if len(fixtures) == 0 {
		t.Fatal("no fixture logs")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to render the styles: %v", err)
	}
	for _, fx := range fixtures {
		out := t.TempDir()
		if b, err := exec.Command(py, tool, fx, out).CombinedOutput(); err != nil {
			t.Fatalf("render-logs: %v\n%s", err, b)
		}
		styles, _ := filepath.Glob(filepath.Join(out, "*.log"))
		if len(styles) < 10 {
			t.Fatalf("%d styles rendered", len(styles))
		}
		want := titles(t, filepath.Join(out, "plain.log"))
		if len(want) == 0 {
			t.Fatalf("%s: no report in the plain rendering", fx)
		}
		for _, s := range styles {
			if got := titles(t, s); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s %s: got %q, want %q", filepath.Base(filepath.Dir(fx)), filepath.Base(s), got, want)
			}
		}
	}
}

func titles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reps, err := oops.Parse(f, path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reps {
		rel := ""
		if r.Release != nil {
			rel = *r.Release
		}
		out = append(out, r.Title+" @"+rel+" "+strings.Join(r.FrameFunctions(true), ","))
	}
	return out
}

// TestUnreadable names the file that cannot be read.
func TestUnreadable(t *testing.T) {
	_, err := Analyze([]string{"testdata/does-not-exist.log"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "testdata/does-not-exist.log") {
		t.Fatalf("err = %v", err)
	}
}

// TestDirectories: a kdump directory is one crash seen through several
// files; a Debian kdump-tools directory and a sosreport are read by kind.
func TestDirectories(t *testing.T) {
	kd := testshared.Path(t, "fixtures/vmcore/skbcsum-kdump")
	d, err := Analyze([]string{kd}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) != 1 || d.Reports[0].Title != "kernel BUG in validate_xmit_skb" {
		for _, r := range d.Reports {
			t.Logf("%q from %s", r.Title, r.Source.Path)
		}
		t.Fatalf("kdump dir: %d reports", len(d.Reports))
	}
	if d.Inputs[0].Kind != KindKdumpDir {
		t.Errorf("kind %q", d.Inputs[0].Kind)
	}
	vm := false
	for _, in := range d.Inputs {
		vm = vm || in.Kind == KindVmcore
	}
	if !vm || d.Vmcore == nil {
		t.Error("the dump file is not read as a vmcore input")
	}

	deb := t.TempDir()
	ticket, err := os.ReadFile("../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deb, "dmesg.202611260312"), ticket, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deb, "dump.202611260312"), append([]byte("KDUMP   "), make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = Analyze([]string{deb}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Inputs[0].Kind != KindKdumpDir || len(d.Reports) != 1 || len(d.Matches) != 1 {
		t.Errorf("debian kdump dir: kind %q, %d reports, %d matches", d.Inputs[0].Kind, len(d.Reports), len(d.Matches))
	}
	// The broken dump beside the log is named with its error, not fatal.
	broken := false
	for _, in := range d.Inputs {
		broken = broken || in.Kind == KindVmcore && strings.Contains(in.Note, "offset")
	}
	if !broken {
		t.Errorf("broken dump not reported: %+v", d.Inputs)
	}

	sos := t.TempDir()
	if err := os.MkdirAll(filepath.Join(sos, "sos_commands", "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(sos, "var", "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	msgs := "Nov 26 03:12:40 db-03 sshd[811]: Accepted publickey for root\n" +
		"Nov 26 03:12:44 db-03 kernel: BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n" +
		"Nov 26 03:12:44 db-03 kernel: IP: [<ffffffffa01b2c3d>] bond_3ad_xmit_xor+0x1d/0x60 [bonding]\n" +
		"Nov 26 03:12:44 db-03 kernel: Oops: 0000 [#1] SMP\n" +
		"Nov 26 03:12:44 db-03 kernel: Pid: 1442, comm: java Not tainted 2.6.32-431.el6.x86_64 #1 Dell Inc. PowerEdge R620\n" +
		"Nov 26 03:12:44 db-03 kernel: Call Trace:\n" +
		"Nov 26 03:12:44 db-03 kernel: [<ffffffffa01ad0f1>] bond_start_xmit+0x111/0x4b0 [bonding]\n"
	if err := os.WriteFile(filepath.Join(sos, "var", "log", "messages"), []byte(msgs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sos, "sos_commands", "kernel", "lsmod"), []byte("Module Size Used by\nbonding 1 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = Analyze([]string{sos}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Inputs[0].Kind != KindSosreport || len(d.Reports) != 1 || d.Reports[0].Title != "BUG: unable to handle kernel NULL pointer dereference in bond_3ad_xmit_xor" {
		t.Errorf("sosreport: kind %q, reports %d", d.Inputs[0].Kind, len(d.Reports))
	}
	if r := d.Reports[0]; r.Hardware == nil || *r.Hardware != "Dell Inc. PowerEdge R620" {
		t.Errorf("hardware %v", r.Hardware)
	}
}

// TestSeedDiagnosis: the corrupt sk_buff and its owner, from the seed's
// crash(8) session alone.
func TestSeedDiagnosis(t *testing.T) {
	seed := testshared.Path(t, testshared.Seed)
	d, err := Analyze([]string{seed}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var errs []checks.Finding
	for _, f := range d.Findings {
		if f.Severity == "error" {
			errs = append(errs, f)
		}
	}
	if len(errs) != 1 || errs[0].Check != "skb-data-len" || errs[0].Object.Name() != "sk_buff ffff880fe9624868" {
		t.Fatalf("error findings %+v", errs)
	}
	ev := errs[0].Evidence
	if fmt.Sprint(ev["data_len"]) != "144" || fmt.Sprint(ev["nr_frags"]) != "0" || fmt.Sprint(ev["paged_bytes"]) != "0" {
		t.Errorf("evidence %v", ev)
	}
	for _, s := range []string{"144", "nr_frags 0", "176 bytes from offset 34", "RBX = 0x90"} {
		if !strings.Contains(errs[0].Message(), s) {
			t.Errorf("message lacks %q: %s", s, errs[0].Message())
		}
	}
	o := d.Owner
	if o == nil || o.Socket == nil || *o.Socket != "ffff881063a669c0" || o.FD == nil || *o.FD != 7330 ||
		*o.Local != "1.xx.xx.20:443" || *o.Remote != "11.xx.xx.190:51000" || *o.Device != "lo" ||
		o.PID == nil || *o.PID != 29860 || *o.Comm != "proc1" {
		t.Fatalf("owner %+v", o)
	}
	last := o.Links[len(o.Links)-1]
	if last.To != "process" || last.Proof != "inferred" {
		t.Errorf("process link %+v", last)
	}
	found := false
	for _, n := range d.NextSteps {
		found = found || strings.HasPrefix(n, "crash> net -s 29860")
	}
	if !found {
		t.Errorf("next steps %q", d.NextSteps)
	}
}

// TestVmcoreReports: a dump gives the same crash as its console log, and
// the contract's vmcore section.
func TestVmcoreReports(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore"), "*"))
	for _, dir := range dirs {
		dumps, _ := filepath.Glob(filepath.Join(dir, "vmcore.*"))
		if len(dumps) == 0 {
			continue
		}
		fromDump, err := Analyze(dumps[:1], Options{})
		if err != nil {
			t.Fatal(err)
		}
		fromLog, err := Analyze([]string{filepath.Join(dir, "console.log")}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var a, b []string
		for _, r := range fromDump.Reports {
			a = append(a, r.Title)
		}
		for _, r := range fromLog.Reports {
			b = append(b, r.Title)
		}
		if len(a) == 0 || strings.Join(a, "|") != strings.Join(b, "|") {
			t.Errorf("%s: dump %q, console %q", filepath.Base(dir), a, b)
		}
		v := fromDump.Vmcore
		if v == nil || v.Format != "kdump-compressed" || v.Release == nil || *v.Release != "6.1.0-56-cloud-amd64" || v.PageSize == nil || *v.PageSize != 4096 {
			t.Errorf("%s: vmcore %+v", filepath.Base(dir), v)
		}
		if fromDump.Inputs[0].Kind != KindVmcore {
			t.Errorf("kind %q", fromDump.Inputs[0].Kind)
		}
	}
}

// TestDebianKdumpDir: kdump-tools' dmesg.STAMP and dump.STAMP are one crash,
// read from the dump too.
func TestDebianKdumpDir(t *testing.T) {
	fx := testshared.Path(t, "fixtures/vmcore/sysrq-c-kdump")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(fx, "vmcore.kdump-d31"), filepath.Join(dir, "dump.202611261150")); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(fx, "vmcore-dmesg.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dmesg.202611261150"), log, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Analyze([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Inputs[0].Kind != KindKdumpDir || len(d.Reports) != 1 || d.Reports[0].Title != "kernel panic: sysrq triggered crash" {
		t.Fatalf("kind %q, reports %v", d.Inputs[0].Kind, titlesOf(d))
	}
	if d.Vmcore == nil || d.Vmcore.CrashTime == nil || *d.Vmcore.CrashTime != "2026-11-26T11:50:26Z" {
		t.Errorf("vmcore %+v", d.Vmcore)
	}
}

// TestDroppedBacktracesNoted: a transcript with more backtraces than the
// scanner keeps says so on its input, rather than passing the first 4096
// off as all there were.
func TestDroppedBacktracesNoted(t *testing.T) {
	var b strings.Builder
	for i := range crashlog.MaxBacktraces + 904 {
		fmt.Fprintf(&b, "crash> bt %d\nPID: %d  TASK: ffff8800%08x  CPU: 0   COMMAND: \"x\"\n #0 [ffff880061a03190] f%d at ffffffff8103b60b\n    [exception RIP: skb_checksum+725]\n", i, i, i, i)
	}
	doc, err := scanDocument("many.txt", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := doc.input.Note; !strings.Contains(n, "904") || !strings.Contains(n, "4096") {
		t.Errorf("note %q does not say 904 backtraces past the first 4096 were not read", n)
	}
	doc, err = scanDocument("one.txt", strings.NewReader("crash> bt\n #0 [ffff880061a03190] f at ffffffff8103b60b\n    [exception RIP: skb_checksum+725]\n"))
	if err != nil || doc.input.Note != "" {
		t.Errorf("a small transcript: note %q, %v", doc.input.Note, err)
	}
}

// TestPipe: a log named by a pipe (analyze <(journalctl -k), /dev/stdin)
// is read as it streams, not refused for want of seeking.
func TestPipe(t *testing.T) {
	log, err := os.ReadFile("../examples/ticket-skb-checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pipe")
	hostilefile.FIFO(t, p)
	feed := func(b []byte) {
		go func() {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			f.Write(b)
			f.Close()
		}()
	}
	feed(log)
	d, err := Analyze([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reports) == 0 {
		t.Error("no crash read from the pipe")
	}
	// A dump cannot be read from a pipe: the error says so.
	feed(append([]byte("KDUMP   "), make([]byte, 8192)...))
	if _, err := Analyze([]string{p}, Options{}); err == nil || !strings.Contains(err.Error(), p+": offset 0: ") || !strings.Contains(err.Error(), "not a pipe") {
		t.Errorf("a dump through a pipe: %v", err)
	}
}
