package crashlog

import (
	"strings"
	"testing"
)

// checkInvariants states what must hold of any Session, whatever the input.
func checkInvariants(t *testing.T, s *Session) {
	t.Helper()
	if s == nil {
		t.Fatal("nil session")
	}
	if len(s.Backtraces) > MaxBacktraces || len(s.SysBlocks) > MaxSysBlocks {
		t.Fatalf("too many blocks: %d bt, %d sys", len(s.Backtraces), len(s.SysBlocks))
	}
	if (s.Sys == nil) != (len(s.SysBlocks) == 0) {
		t.Fatalf("Sys %v with %d blocks", s.Sys, len(s.SysBlocks))
	}
	prevEnd := 0
	for i, x := range s.SysBlocks {
		prevEnd = checkSpan(t, "sys", i, x.Span, prevEnd)
	}
	prevEnd = 0
	for i, b := range s.Backtraces {
		prevEnd = checkSpan(t, "bt", i, b.Span, prevEnd)
		if len(b.AllFrames) == 0 && b.Exception == nil {
			t.Fatalf("bt %d is empty", i)
		}
		if len(b.AllFrames) > MaxFrames || len(b.Exceptions) > MaxExceptions || b.words > MaxWords {
			t.Fatalf("bt %d over its limits", i)
		}
		if len(b.Trace) > len(b.AllFrames) {
			t.Fatalf("bt %d: trace longer than frames", i)
		}
		if (b.Exception == nil) != (len(b.Exceptions) == 0) || b.Exception != nil && b.Exception != b.Exceptions[0] {
			t.Fatalf("bt %d: Exception is not Exceptions[0]", i)
		}
		words := 0
		for j, f := range b.AllFrames {
			if f.Line < b.Span.Start || f.Line > b.Span.End {
				t.Fatalf("bt %d frame %d line %d outside %+v", i, j, f.Line, b.Span)
			}
			if j > 0 && f.Line <= b.AllFrames[j-1].Line {
				t.Fatalf("bt %d frame %d out of order", i, j)
			}
			if len(f.Words) > MaxWordsPerFrame || len(f.Regs) > maxRegs {
				t.Fatalf("bt %d frame %d over its limits", i, j)
			}
			words += len(f.Words)
		}
		if words != b.words {
			t.Fatalf("bt %d: %d words, counted %d", i, words, b.words)
		}
		for j, e := range b.Exceptions {
			if e.After < -1 || e.After >= len(b.AllFrames) {
				t.Fatalf("bt %d exception %d after %d of %d frames", i, j, e.After, len(b.AllFrames))
			}
			if e.Line < b.Span.Start || e.Line > b.Span.End || len(e.Regs) > maxRegs {
				t.Fatalf("bt %d exception %d: line %d, %d regs", i, j, e.Line, len(e.Regs))
			}
			_ = e.Location()
		}
		for _, f := range b.Trace {
			if f.Address == nil || !f.Reliable || f.Function == "" {
				t.Fatalf("bt %d: bad trace frame %+v", i, f)
			}
		}
		if !strings.HasPrefix(b.Key(), b.Task+"|") {
			t.Fatalf("bt %d key %q", i, b.Key())
		}
	}
}

// checkSpan checks that the span of block i of a kind is well formed and
// starts after prevEnd, where the previous block of the kind ended (blocks
// of one kind never overlap), and returns its end.
func checkSpan(t *testing.T, kind string, i int, sp Span, prevEnd int) int {
	t.Helper()
	if sp.Start < 1 || sp.Start > sp.End {
		t.Fatalf("%s %d span %+v", kind, i, sp)
	}
	if sp.Start <= prevEnd {
		t.Fatalf("%s %d span %+v overlaps the previous one", kind, i, sp)
	}
	return sp.End
}

// fuzz seeds f and runs check on every input.
func fuzz(f *testing.F, seeds []string, check func(t *testing.T, data string)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(check)
}

// fuzzLines feeds data line by line and checks the invariants.
func fuzzLines(t *testing.T, data string) {
	s := NewScanner()
	for i, l := range strings.Split(data, "\n") {
		s.Line(i+1, l)
	}
	checkInvariants(t, s.Finish())
}

// FuzzBacktrace feeds arbitrary text, seeded with bt output.
func FuzzBacktrace(f *testing.F) {
	fuzz(f, []string{
		"PID: 0      TASK: ffffffff81a8d020  CPU: 0   COMMAND: \"swapper\"\n #0 [ffff880061a03190] machine_kexec at ffffffff8103b60b\n    [exception RIP: skb_checksum+725]\n    RIP: ffffffff81451ff5  RSP: ffff880061a034d0  RFLAGS: 00010206\n #7 [ffff880061a03538] skb_checksum_help at ffffffff8145d60a\n",
		" #1 [ffff880061a031f0] crash_kexec at ffffffff810c99e2\n--- <IRQ stack> ---\n #2 [ffff880061a032c0] oops_end+0x8a at ffffffff8152e0d0 [m]\n    ffff880061a032c8: skb_checksum_help+138 [size-64]\n",
		"[exception RIP: unknown or invalid address]\nRIP: 0000000000000000\n#0 [1] a at 2\n",
		"0xffffffff8145d5f1 <skb_checksum_help+113>: cmp\nffffffff8145d60a (T) skb_checksum_help+138\n",
	}, fuzzLines)
}

// FuzzSys feeds arbitrary text, seeded with sys output.
func FuzzSys(f *testing.F) {
	fuzz(f, []string{
		"        CPUS: 24\n     RELEASE: 2.6.32-504.23.4.el6.x86_64\n       PANIC: \"[191691.047083] kernel BUG at net/core/skbuff.c:1886!\"\n",
		"    PID: 98\nCOMMAND: \"sh\"\n   TASK: ffff9e2b41f7b000  [THREAD_INFO: ffff9e2b41f7b000]\n",
		"     MACHINE: x86_64  (\nPANIC: \"\nCPUS: 9999999999999\nRELEASE:\n",
	}, fuzzLines)
}
