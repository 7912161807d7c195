package triage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/owner"
)

// logSKB is what a fixture module printed of the skb it corrupted: the
// tests read it to know the expected answer; the code must find it in
// memory without the log.
type logSKB struct {
	addr                     uint64
	len, dataLen, nrFrags    int64
	fragList                 uint64
	dev                      string
	hasLen, hasFrags, hasDev bool
}

// skbLine reads the "MODULE: skb=ADDR k=v…" line of a fixture's log.
func skbLine(t *testing.T, fixture, module string) logSKB {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, "fixtures/vmcore/"+fixture+"/dmesg.makedumpfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(module + `: skb=([0-9a-f]{16})(.*)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no %q line in the log", fixture, module+": skb=")
	}
	var s logSKB
	s.addr, _ = strconv.ParseUint(string(m[1]), 16, 64)
	kv := map[string]string{}
	for _, f := range strings.Fields(string(m[2])) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(kv[k], 10, 64); return n }
	_, s.hasLen = kv["len"]
	s.len, s.dataLen = num("len"), num("data_len")
	_, s.hasFrags = kv["nr_frags"]
	s.nrFrags = num("nr_frags")
	s.fragList, _ = strconv.ParseUint(kv["frag_list"], 16, 64)
	s.dev, s.hasDev = kv["dev"]
	return s
}

func fixtureDump(t *testing.T, name string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(testshared.Path(t, "fixtures/vmcore/"+name), "vmcore.*"))
	if len(matches) != 1 {
		t.Fatalf("%s: dumps %v", name, matches)
	}
	return matches[0]
}

// jsonOf analyzes paths and returns the JSON contract's document.
func jsonOf(t *testing.T, paths ...string) map[string]any {
	t.Helper()
	d, err := Analyze(paths, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// wantDataLen asserts the skb-data-len finding on the skb the log printed,
// with the log's arithmetic.
func wantDataLen(t *testing.T, fs []checks.Finding, want logSKB) {
	t.Helper()
	var got *checks.Finding
	for i, f := range fs {
		if f.Check == checks.CheckSKBDataLen {
			got = &fs[i]
		}
		if f.Object != nil && f.Object.Type == "sk_buff" && f.Object.Addr != want.addr {
			t.Errorf("finding %s on sk_buff %x, not the corrupt %x", f.Check, f.Object.Addr, want.addr)
		}
	}
	if got == nil {
		t.Fatalf("no %s finding among %d", checks.CheckSKBDataLen, len(fs))
	}
	if got.Severity != checks.SeverityError || got.Object.Addr != want.addr {
		t.Errorf("%s: %s on %x, want error on %x", got.Check, got.Severity, got.Object.Addr, want.addr)
	}
	ev := got.Evidence
	if ev["len"] != want.len || ev["data_len"] != want.dataLen || ev["nr_frags"] != want.nrFrags || ev["frag_list"] != fmt.Sprintf("%#x", want.fragList) {
		t.Errorf("evidence len %v data_len %v nr_frags %v frag_list %v; the log says %d %d %d %#x",
			ev["len"], ev["data_len"], ev["nr_frags"], ev["frag_list"], want.len, want.dataLen, want.nrFrags, want.fragList)
	}
}

// TestMemorySKBFinding (a): analyze on the skbcsum dump finds the
// skb-data-len corruption on the sk_buff the log names, with its numbers,
// in the JSON contract's findings.
func TestMemorySKBFinding(t *testing.T) {
	want := skbLine(t, "skbcsum-kdump", "skbcsum")
	if !want.hasLen || !want.hasFrags {
		t.Fatalf("the log line lacks len or nr_frags: %+v", want)
	}
	v := jsonOf(t, fixtureDump(t, "skbcsum-kdump"))
	fs, _ := v["findings"].([]any)
	found := false
	for _, f := range fs {
		f := f.(map[string]any)
		if f["check"] != checks.CheckSKBDataLen {
			continue
		}
		found = true
		ev := f["evidence"].(map[string]any)
		if f["object"] != fmt.Sprintf("sk_buff %x", want.addr) || f["severity"] != "error" {
			t.Errorf("finding on %v (%v), the log's skb is %x", f["object"], f["severity"], want.addr)
		}
		if ev["len"] != float64(want.len) || ev["data_len"] != float64(want.dataLen) || ev["nr_frags"] != float64(want.nrFrags) || ev["frag_list"] != fmt.Sprintf("%#x", want.fragList) {
			t.Errorf("evidence %v, the log says len %d data_len %d nr_frags %d frag_list %#x", ev, want.len, want.dataLen, want.nrFrags, want.fragList)
		}
	}
	if !found {
		t.Errorf("no %s finding in %v", checks.CheckSKBDataLen, fs)
	}
}

// blanker reads physical memory with every copy of a pattern turned into
// spaces: the log line naming the skb is gone from the dump's memory.
type blanker struct {
	mem     kernel.PhysReader
	pattern []byte
	hits    *int
}

func (b blanker) ReadPhys(p []byte, paddr uint64) (int, error) {
	n, err := b.mem.ReadPhys(p, paddr)
	for i := 0; ; {
		j := bytes.Index(p[i:n], b.pattern)
		if j < 0 {
			break
		}
		copy(p[i+j:], bytes.Repeat([]byte{' '}, len(b.pattern)))
		*b.hits++
		i += j + len(b.pattern)
	}
	return n, err
}

// failRange fails every read that touches [lo, hi) of physical memory.
type failRange struct {
	mem    kernel.PhysReader
	lo, hi uint64
}

var errUnreadable = errors.New("test: page made unreadable")

func (f failRange) ReadPhys(p []byte, paddr uint64) (int, error) {
	if paddr < f.hi && paddr+uint64(len(p)) > f.lo {
		return 0, fmt.Errorf("%#x: %w", paddr, errUnreadable)
	}
	return f.mem.ReadPhys(p, paddr)
}

// analyzeWrapped analyzes a dump whose physical memory is read through
// wrap.
func analyzeWrapped(t *testing.T, path string, wrap func(*dump.Dump, *kernel.Kernel) kernel.PhysReader) (*document, *kernel.Kernel) {
	t.Helper()
	d, k0, err := OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	info, err := d.RequireVMCOREINFO()
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.New(wrap(d, k0), info)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := analyzeDump(path, d, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doc, k
}

// TestMemorySKBWithoutLog (b): with the log's "skbcsum: skb=" line blanked
// in the dump's memory, the same finding on the same address is found.
func TestMemorySKBWithoutLog(t *testing.T) {
	want := skbLine(t, "skbcsum-kdump", "skbcsum")
	hits := 0
	pattern := []byte("skbcsum: skb=")
	doc, k := analyzeWrapped(t, fixtureDump(t, "skbcsum-kdump"), func(d *dump.Dump, _ *kernel.Kernel) kernel.PhysReader {
		return blanker{mem: d, pattern: pattern, hits: &hits}
	})
	var log bytes.Buffer
	if err := k.Dmesg(&log); err != nil {
		t.Fatal(err)
	}
	if hits == 0 || bytes.Contains(log.Bytes(), pattern) || !bytes.Contains(log.Bytes(), []byte("kernel BUG at")) {
		t.Fatalf("the log line was not blanked (%d hits) or the log is gone", hits)
	}
	wantDataLen(t, doc.findings, want)
	if doc.owner == nil || doc.owner.SKB == nil || *doc.owner.SKB != fmt.Sprintf("%x", want.addr) {
		t.Errorf("owner %+v, want the chain of %x", doc.owner, want.addr)
	}
}

// TestMemoryNoFalseSKB (c): the other fixtures give no error and no
// sk_buff finding, except on the skb a module corrupted and named.
func TestMemoryNoFalseSKB(t *testing.T) {
	for _, c := range []struct {
		fixture, module string
	}{{"sysrq-c-kdump", ""}, {"warn-kdump", ""}, {"skbbug-qmp", "skbbug"}} {
		t.Run(c.fixture, func(t *testing.T) {
			var corrupt uint64
			if c.module != "" {
				corrupt = skbLine(t, c.fixture, c.module).addr
			}
			d, err := Analyze([]string{fixtureDump(t, c.fixture)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Reports) == 0 {
				t.Fatal("no report")
			}
			for _, f := range d.Findings {
				if f.Object != nil && f.Object.Type == "sk_buff" && f.Object.Addr != corrupt {
					t.Errorf("false finding %s on sk_buff %x", f.Check, f.Object.Addr)
				}
			}
			if corrupt == 0 && d.Owner != nil {
				t.Errorf("owner %+v with no corrupt skb", d.Owner)
			}
			if corrupt != 0 && (len(d.Findings) == 0 || d.Owner == nil || *d.Owner.SKB != fmt.Sprintf("%x", corrupt)) {
				t.Errorf("the corrupt skb %x: findings %d, owner %+v", corrupt, len(d.Findings), d.Owner)
			}
			for _, in := range d.Inputs {
				if strings.Contains(in.Note, "not searched") {
					t.Errorf("note: %s", in.Note)
				}
			}
		})
	}
}

// TestMemoryWithoutBTF (d): with the BTF section unreadable, the log's
// diagnosis stands, and a note says the memory search lacked BTF.
func TestMemoryWithoutBTF(t *testing.T) {
	path := fixtureDump(t, "skbcsum-kdump")
	plain, err := Analyze([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := analyzeWrapped(t, path, func(d *dump.Dump, k *kernel.Kernel) kernel.PhysReader {
		syms, err := k.Symbols()
		if err != nil {
			t.Fatal(err)
		}
		start, ok1 := syms.Lookup("__start_BTF")
		stop, ok2 := syms.Lookup("__stop_BTF")
		if !ok1 || !ok2 {
			t.Fatal("no __start_BTF/__stop_BTF")
		}
		lo, err1 := k.Translate(start)
		hi, err2 := k.Translate(stop - 1)
		if err1 != nil || err2 != nil || hi < lo {
			t.Fatalf("BTF at %#x..%#x: %v %v", lo, hi, err1, err2)
		}
		return failRange{mem: d, lo: lo, hi: hi + 1}
	})
	if len(doc.reports) == 0 || doc.reports[0].Title != plain.Reports[0].Title {
		t.Fatalf("reports %v, want %q", doc.reports, plain.Reports[0].Title)
	}
	if len(doc.findings) != 0 || doc.owner != nil {
		t.Errorf("findings %v, owner %v without BTF", doc.findings, doc.owner)
	}
	if !strings.Contains(doc.input.Note, "BTF") || !strings.Contains(doc.input.Note, "not searched") {
		t.Errorf("note %q does not name the missing BTF", doc.input.Note)
	}
}

// TestMemoryOwnerNoSocket (e): the skbcsum module built its skb inside
// insmod with no socket: its owner is the device skb->dev names, and no
// link claims a socket, descriptor or process.
func TestMemoryOwnerNoSocket(t *testing.T) {
	want := skbLine(t, "skbcsum-kdump", "skbcsum")
	if !want.hasDev || want.dev == "" {
		t.Fatal("the log line names no dev")
	}
	d, err := Analyze([]string{fixtureDump(t, "skbcsum-kdump")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := d.Owner
	if o == nil {
		t.Fatal("no owner")
	}
	if o.SKB == nil || *o.SKB != fmt.Sprintf("%x", want.addr) {
		t.Errorf("owner of %v, want %x", o.SKB, want.addr)
	}
	if o.Device == nil || *o.Device != want.dev {
		t.Errorf("device %v, want %s", o.Device, want.dev)
	}
	if o.Socket != nil || o.FD != nil || o.PID != nil || o.Comm != nil || o.Type != nil || o.Local != nil || o.Remote != nil {
		t.Errorf("owner claims a socket: %+v", o)
	}
	links := map[string]owner.Link{}
	for _, l := range o.Links {
		links[l.From+">"+l.To] = l
		if l.Proof != owner.Proven {
			t.Errorf("link %s -> %s is %s: %s", l.From, l.To, l.Proof, l.Why)
		}
		if l.From == "socket" || l.To == "file descriptor" || l.To == "process" {
			t.Errorf("link claims a socket: %+v", l)
		}
	}
	if l, ok := links["sk_buff>socket"]; !ok || !strings.Contains(l.Why, "NULL") {
		t.Errorf("sk_buff -> socket link %+v, want sk NULL", l)
	}
	if l, ok := links["sk_buff>device"]; !ok || !strings.Contains(l.Why, want.dev) {
		t.Errorf("sk_buff -> device link %+v", l)
	}
	if l, ok := links["stack>sk_buff"]; !ok || !strings.Contains(l.Why, fmt.Sprintf("%x", want.addr)) {
		t.Errorf("stack -> sk_buff link %+v", l)
	}
}

// TestMemoryOwnerTCP: dumps whose corrupt skb belongs to a user-space TCP
// socket (the generator's tcpskb-kdump-d31, of every kernel series): the
// chain names the skb, sock, addresses and device the guest recorded and,
// where the dump holds the task's pages, its pid, comm and fd, every link
// proven; where the dump lacks them (6.12's -d 31 dumps drop slab pages
// makedumpfile 1.7.2 misreads), the link says so.
func TestMemoryOwnerTCP(t *testing.T) {
	for _, set := range vmcores.Sets {
		t.Run(set, func(t *testing.T) {
			e := vmcores.Require(t, set).Tcpskb(t)
			g := e.Guest
			if g == nil || g.PID == 0 || g.Comm == "" || g.Local == "" || g.Remote == "" || g.Dev == "" || g.SKB == 0 || g.SK == 0 {
				t.Fatalf("tcpskb-kdump-d31 lacks the guest's record: %+v", g)
			}
			d, err := Analyze([]string{e.Path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			o := d.Owner
			if o == nil {
				t.Fatalf("no owner; findings %v, inputs %+v", d.Findings, d.Inputs)
			}
			str := func(p *string) string {
				if p == nil {
					return "<nil>"
				}
				return *p
			}
			if str(o.SKB) != fmt.Sprintf("%x", uint64(g.SKB)) || str(o.Socket) != fmt.Sprintf("%x", uint64(g.SK)) {
				t.Errorf("skb %s sock %s, the guest recorded %v %v", str(o.SKB), str(o.Socket), g.SKB, g.SK)
			}
			if str(o.Local) != g.Local || str(o.Remote) != g.Remote || str(o.Device) != g.Dev || str(o.Type) != "INET:STREAM" {
				t.Errorf("%s %s -> %s on %s, the guest recorded %s -> %s on %s", str(o.Type), str(o.Local), str(o.Remote), str(o.Device), g.Local, g.Remote, g.Dev)
			}
			found := false
			for _, f := range d.Findings {
				if f.Check == checks.CheckSKBDataLen && f.Object.Addr == uint64(g.SKB) {
					found = f.Evidence["data_len"] == int64(g.Len)
				}
			}
			if !found {
				t.Errorf("no %s finding on %v with data_len %d", checks.CheckSKBDataLen, g.SKB, g.Len)
			}
			excluded := false
			for _, l := range o.Links {
				switch {
				case l.Proof == owner.Proven:
				case l.To == "file descriptor" && strings.Contains(l.Why, "excluded from the dump"):
					excluded = true
				default:
					t.Errorf("link %s -> %s is %s: %s", l.From, l.To, l.Proof, l.Why)
				}
			}
			switch {
			case o.PID != nil:
				if *o.PID != g.PID || str(o.Comm) != g.Comm || o.FD == nil || *o.FD != g.FD {
					t.Errorf("pid %d comm %s fd %v, the guest recorded %d %s %d", *o.PID, str(o.Comm), o.FD, g.PID, g.Comm, g.FD)
				}
			case !excluded:
				t.Errorf("no process found, and no link says the dump lacks it: %+v", o.Links)
			default:
				t.Logf("the dump lacks the task's pages: the chain stops at the socket")
			}
		})
	}
}
