package livecheck

import "testing"

func TestExceptionRegs(t *testing.T) {
	got := ExceptionRegs(map[string]uint64{"EFLAGS": 0x246, "RAX": 0x90, "FS_BASE": 0x10, "DS": 0x18, "R8": 1, "ORIG_RAX": ^uint64(0)})
	want := map[string]uint64{"RFLAGS": 0x246, "RAX": 0x90, "R8": 1, "ORIG_RAX": ^uint64(0)}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#x, want %#x", k, got[k], v)
		}
	}
}

// TestPanicCPU: the report's PID picks the note before its CPU; a lone
// note is taken; otherwise the choice is refused (the panic_cpu fallback
// needs memory and is covered by the fixtures).
func TestPanicCPU(t *testing.T) {
	notes := []CPUState{{CPU: 0, PID: 0}, {CPU: 1, PID: 104}, {CPU: 2, PID: 7}}
	ip := func(n int) *int { return &n }
	for _, c := range []struct {
		name     string
		in       Input
		want     int
		wantFrom string
	}{
		{"by pid", Input{CPUs: notes, PID: ip(104), CPU: ip(2)}, 1, "the note of pid 104"},
		{"pid unknown, by cpu", Input{CPUs: notes, PID: ip(9), CPU: ip(2)}, 2, "the note of CPU 2"},
		{"pid 0 is idle, by cpu", Input{CPUs: notes, PID: ip(0), CPU: ip(0)}, 0, "the note of CPU 0"},
		{"only note", Input{CPUs: notes[1:2]}, 1, "the only note"},
	} {
		st, from, err := panicCPU(nil, c.in)
		if err != nil || st.CPU != c.want || from != c.wantFrom {
			t.Errorf("%s: CPU %d (%s) %v, want %d (%s)", c.name, st.CPU, from, err, c.want, c.wantFrom)
		}
	}
	if _, _, err := panicCPU(nil, Input{}); err == nil {
		t.Error("no notes: no error")
	}
}
