package refdebug

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata are crash 8.0.2's output on the generated
// kdump-proc-d31 dump (6.1.0-57-cloud-amd64), so the parsers are held to
// crash's real layout without crash at hand.
func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseSym(t *testing.T) {
	syms, err := ParseSym(readTestdata(t, "sym.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Sym{
		{Addr: 0xffffffffa79ffae5, Type: 't', Name: "skb_panic", Offset: 72, File: "debian/build/build_amd64_none_cloud-amd64/net/core/skbuff.c", Line: 120},
		{Addr: 0xffffffffc03e0104, Type: 't', Name: "crashnet_start_xmit", Offset: 36, Module: "crashnet"},
		{Addr: 0xffffffffa8a079c0, Type: 'D', Name: "jiffies"},
	}
	if len(syms) != len(want) {
		t.Fatalf("got %d symbols %+v, want %d (the \"invalid address\" line skipped)", len(syms), syms, len(want))
	}
	for i := range want {
		if syms[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, syms[i], want[i])
		}
	}
	for _, bad := range []string{"", "sym: invalid address: 1", "ffffffffa8a079c0 jiffies", "ffffffffa8a079c0 (D)", "zzzzzzzzzzzzzzzz (T) x", "ffffffffa8a079c0 (T) x+y", "ffffffffa8a079c0 (T) x extra words here"} {
		if s, err := ParseSym(bad); err == nil {
			t.Errorf("%q: parsed as %+v", bad, s)
		}
	}
}

func TestParsePs(t *testing.T) {
	tasks, err := ParsePs(readTestdata(t, "ps.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("%d tasks: %+v", len(tasks), tasks)
	}
	p := tasks[2]
	if p.PID != 105 || p.PPID != -1 || p.CPU != 1 || p.TaskAddr != 0xffff8b3113f20000 || p.State != "RU" || p.Comm != "ping" || !p.Active || p.VSZ != 2260 || p.RSS != 60 {
		t.Errorf("ping: %+v", p)
	}
	if s := tasks[1]; s.PID != 0 || s.CPU != 1 || s.Active || s.Comm != "swapper/1" {
		t.Errorf("swapper/1: %+v", s)
	}
	// A command name with blanks is the rest of the line.
	tasks, err = ParsePs("   PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM\n      7      1   0  ffff8b3113f20000  IN   0.1     100       10  my prog 2\n")
	if err != nil || tasks[0].Comm != "my prog 2" {
		t.Errorf("comm with blanks: %+v %v", tasks, err)
	}
	if _, err := ParsePs(">   105  -1   1  ffff8b3113f20000  RU  0.0  2260  60  ping\n"); err == nil {
		t.Error("a ps line without its header parsed")
	}
}

func TestParseSysBt(t *testing.T) {
	sys, err := ParseSys(readTestdata(t, "sys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if sys.Release != "6.1.0-57-cloud-amd64" || sys.Panic != "kernel BUG at net/core/skbuff.c:120!" || sys.Tasks == nil || *sys.Tasks != 3 || sys.CPUs == nil || *sys.CPUs != 2 {
		t.Errorf("sys: %+v", sys)
	}
	bts, err := ParseBt(readTestdata(t, "bt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	bt := bts[0]
	if bt.PID == nil || *bt.PID != 105 || bt.Exception == nil || bt.Exception.Function != "skb_panic" ||
		bt.Exception.Regs["RIP"] != 0xffffffffa79ffae5 || bt.Exception.Regs["R15"] != 0xffff8b3101a2eb00 || len(bt.AllFrames) != 40 {
		t.Errorf("bt: pid %v exception %+v, %d frames", bt.PID, bt.Exception, len(bt.AllFrames))
	}
	if f := bt.AllFrames[8]; f.Function != "crashnet_start_xmit" || f.Module != "crashnet" {
		t.Errorf("frame 8: %+v", f)
	}
}

func TestParseStruct(t *testing.T) {
	const cmd = "struct sk_buff ffff8b3101a2eb00"
	obj, err := ParseStruct(cmd, readTestdata(t, "struct-sk_buff.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Type != "sk_buff" || obj.Addr != 0xffff8b3101a2eb00 {
		t.Errorf("object %s %#x", obj.Type, obj.Addr)
	}
	sc := Scalars(obj.Value)
	for path, want := range map[string]uint64{
		"len": 9018, "tail": 9020, "end": 192, "truesize": 768,
		"users.refs.counter": 1, "head": 0xffff8b31026bac00, "data": 0xffff8b31026bac02,
		"dev":                       0xffff8b3101a57000, // in two anonymous levels
		"prev":                      0xffff8b3101a2eb00,
		"rbnode.rb_right":           0xffff8b3101a2eb00,
		"headers.protocol":          1544,
		"protocol":                  1544,
		"napi_id":                   2,
		"headers.csum_offset":       0,
		"transport_header":          65535,
		"pkt_type":                  0,
		"__pkt_vlan_present_offset": 0xffff8b3101a2eb82,
	} {
		got, ok := sc[path]
		if !ok {
			t.Errorf("%s: missing", path)
		} else if got != want {
			t.Errorf("%s: %#x, want %#x", path, got, want)
		}
	}
	if _, ok := sc["cb"]; ok {
		t.Error("cb, a char array, taken as a scalar")
	}
	for p := range sc {
		if strings.HasPrefix(p, ".") || strings.Contains(p, "..") || strings.HasSuffix(p, ".") {
			t.Errorf("path %q", p)
		}
	}
	if _, err := ParseStruct(cmd, "struct: invalid kernel virtual address: 1  type: \"sk_buff\"\n"); err == nil {
		t.Error("crash's refusal parsed as a struct")
	}
	if _, err := ParseStruct(cmd, "struct sk_buff {\n  len = 1,\n"); err == nil {
		t.Error("a dump cut short parsed")
	}
}

// TestParseBigStructs reads crash's longest dumps of the triage's structs
// (task_struct: 1010 lines with a 10 KB char array line; net_device).
func TestParseBigStructs(t *testing.T) {
	for _, c := range []struct {
		cmd, file string
		want      map[string]uint64
	}{
		{"struct task_struct ffff8b3113f20000", "struct-task_struct.txt", map[string]uint64{
			"pid": 105, "tgid": 105, "__state": 0, "on_cpu": 1, "prio": 120, "flags": 4194560}},
		{"struct net_device ffff8b3101a57000", "struct-net_device.txt", map[string]uint64{
			"mtu": 1500, "ifindex": 2, "flags": 4099}},
	} {
		obj, err := ParseStruct(c.cmd, readTestdata(t, c.file))
		if err != nil {
			t.Errorf("%s: %v", c.cmd, err)
			continue
		}
		sc := Scalars(obj.Value)
		if len(sc) < 400 {
			t.Errorf("%s: only %d scalars", c.cmd, len(sc))
		}
		for p, want := range c.want {
			if got, ok := sc[p]; !ok || got != want {
				t.Errorf("%s: %s = %d (%v), want %d", c.cmd, p, got, ok, want)
			}
		}
	}
}

func TestSplitMarked(t *testing.T) {
	const m = "refdebug-x-"
	cmds := []string{"sys", "ps", "sys"}
	out, miss := splitMarked("WARNING: w\n"+m+"0\nA\n"+m+"1\nB\nB2\n"+m+"2\nC\n"+m+"end\ntrailer\n", m, cmds)
	if miss != -1 || out[Startup] != "WARNING: w\n" || out["ps"] != "B\nB2\n" || out["sys"] != "C\n" {
		t.Errorf("got %q, missing %d", out, miss)
	}
	if _, miss := splitMarked(m+"0\nA\n"+m+"1\nB\n", m, cmds); miss != 2 {
		t.Errorf("cut after ps: missing %d, want 2", miss)
	}
	if _, miss := splitMarked(m+"0\n"+m+"1\n"+m+"2\n", m, cmds); miss != 3 {
		t.Errorf("no end marker: missing %d, want 3", miss)
	}
	// A marker out of order is output, not a marker.
	if out, miss := splitMarked(m+"1\n"+m+"0\nA\n"+m+"1\n"+m+"2\n"+m+"end\n", m, cmds); miss != -1 || out[Startup] != m+"1\n" {
		t.Errorf("out of order: %q %d", out, miss)
	}
}

// FuzzCrashOutput feeds the parsers arbitrary text: crash's output on a
// corrupt dump is anything, and must give an error or values, never a
// panic.
func FuzzCrashOutput(f *testing.F) {
	for _, n := range []string{"sym.txt", "ps.txt", "sys.txt", "bt.txt", "struct-sk_buff.txt", "struct-net_device.txt"} {
		f.Add(readTestdata(f, n))
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseSym(s)
		_, _ = ParsePs(s)
		_, _ = ParseSys(s)
		_, _ = ParseBt(s)
		if o, err := ParseStruct("struct sk_buff ffff8b3101a2eb00", s); err == nil {
			_ = Scalars(o.Value)
		}
		_, _ = splitMarked(s, "m-", []string{"a", "b"})
	})
}
