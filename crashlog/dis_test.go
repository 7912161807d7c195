package crashlog

import (
	"strings"
	"testing"
)

func TestSeedDisasm(t *testing.T) {
	s := seedSession(t)
	if len(s.Disasm) != 12 {
		t.Fatalf("%d instructions: %+v", len(s.Disasm), s.Disasm)
	}
	first := s.Disasm[0]
	if first.Addr != 0xffffffff8145d5f1 || first.Function != "skb_checksum_help" || first.Offset != 113 ||
		first.Text != "cmp    %eax,%r12d" || !strings.HasSuffix(first.SourceFile, "/net/core/dev.c") ||
		first.SourceLine != 1951 || first.Line != 196 {
		t.Errorf("first = %+v", first)
	}
	if m := s.Disasm[5]; m.Text != "mov    %rbx,%rdi" || m.SourceLine != 1952 || m.Offset != 130 {
		t.Errorf("remark not stripped or wrong line: %+v", m)
	}
	if j := s.Disasm[1]; j.Text != "jae    0xffffffff8145d72a <skb_checksum_help+426>" {
		t.Errorf("jump = %q", j.Text)
	}
	if p := s.Disasm[11]; p.Text != "push   %rbx" || p.Function != "skb_checksum" || p.Offset != 12 || p.SourceFile != "" {
		t.Errorf("last = %+v", p)
	}
	for _, tc := range []struct {
		addr uint64
		line int
	}{
		{0xffffffff8145d5f1, 1951},
		{0xffffffff8145d5f4, 1951},
		{0xffffffff8145d5fa, 1952},
		{0xffffffff8145d603, 1952}, // inside the mov at +130
		{0xffffffff8145d60a - 1, 1952},
		{0xffffffff8145d5f0, 0},      // before the listing
		{0xffffffff81451d20, 0},      // listed, but without dis -l
		{0xffffffff8145d602 + 16, 0}, // too far past the last one
	} {
		file, line, ok := s.DisSource(tc.addr)
		if line != tc.line || ok != (tc.line != 0) || ok && !strings.HasSuffix(file, "net/core/dev.c") {
			t.Errorf("DisSource(%x) = %s:%d %v, want line %d", tc.addr, file, line, ok, tc.line)
		}
	}
}

func TestParseInsn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want Insn
	}{
		{"0xffffffff81451d2c <skb_checksum+12>:   push   %rbx < 6th push on the stack:", true,
			Insn{Addr: 0xffffffff81451d2c, Function: "skb_checksum", Offset: 12, Text: "push   %rbx"}},
		{"0xffffffff81451d20 <skb_checksum>:  push   %rbp", true,
			Insn{Addr: 0xffffffff81451d20, Function: "skb_checksum", Text: "push   %rbp"}},
		{"=> 0xffffffff8145d5f1 <+113>:\tcmp    %eax,%r12d", true,
			Insn{Addr: 0xffffffff8145d5f1, Offset: 113, Text: "cmp    %eax,%r12d"}},
		{"0xffff800010a1b2c4 <skb_checksum+100>:\tldr\tx0, [x19,#200]", true,
			Insn{Addr: 0xffff800010a1b2c4, Function: "skb_checksum", Offset: 100, Text: "ldr\tx0, [x19,#200]"}},
		{"0xc04f1234 <tcp_sendmsg.isra.0+0x2d>: call   0xc04f0000 <skb_put>", true,
			Insn{Addr: 0xc04f1234, Function: "tcp_sendmsg.isra.0", Offset: 0x2d, Text: "call   0xc04f0000 <skb_put>"}},
		{"0xffffffff8145d5f1 skb_checksum_help+113: cmp", false, Insn{}},
		{"0x0 <>: nop", false, Insn{}},
		{"RIP: 0010:[<ffffffff8146b2fd>]  [<ffffffff8146b2fd>] skb_over_panic+0x5d/0x70", false, Insn{}},
	} {
		got, ok := parseInsn(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseInsn(%q) = %+v %v", tc.in, got, ok)
		}
	}
}

// TestDisSourceNotConsumed: bt -l source lines after a dis still reach the
// backtrace.
func TestDisSourceNotConsumed(t *testing.T) {
	text := "crash> dis -l skb_checksum_help 1\n/usr/src/net/core/dev.c: 1900\n0xffffffff8145d580 <skb_checksum_help>: push %rbp\n" +
		readTestdata(t, "bt_flags.txt")
	s := scanStruct(t, text)
	if len(s.Disasm) != 1 || s.Disasm[0].SourceLine != 1900 {
		t.Errorf("disasm %+v", s.Disasm)
	}
	if len(s.Backtraces) == 0 || s.Backtraces[0].AllFrames[0].SourceLine != 336 {
		t.Errorf("bt -l lines lost")
	}
}
