package backtrace

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/ktriage/ktriage/unwind"
)

// ptRegsSize is sizeof(struct pt_regs) on x86_64: 21 words.
const ptRegsSize = 21 * 8

// ptRegsOrder is struct pt_regs' member order (arch/x86/include/asm/
// ptrace.h), under crash's register names.
var ptRegsOrder = []string{"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8",
	"RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "RFLAGS", "RSP", "SS"}

// StartsAtException reports whether the registers a walk started from are
// an exception frame the entry code saved on the stack (kdump saves the
// oops's pt_regs for the crashing CPU): the pt_regs that ends at their RSP
// (16-aligned, as the CPU aligns it on entry) holds the same RIP, RSP and
// CS. The others (crash_setup_regs in __crash_kexec, QEMU's paused vCPUs)
// are a plain first frame.
func (t *Tracer) StartsAtException(regs map[string]uint64) bool {
	rsp := regs["RSP"]
	for _, end := range []uint64{rsp, rsp &^ 15} {
		var b [ptRegsSize]byte
		if t.v.Read(b[:], end-ptRegsSize) != nil {
			continue
		}
		get := func(name string) uint64 {
			for i, n := range ptRegsOrder {
				if n == name {
					return binary.LittleEndian.Uint64(b[8*i:])
				}
			}
			return 0
		}
		if get("RIP") == regs["RIP"] && get("RSP") == rsp && get("CS") == regs["CS"] {
			return true
		}
	}
	return false
}

// Render writes bt the way crash(8) prints it: the task line, then
// "#N [SP] FUNC at IP [MODULE]" frames, exception frames as "[exception
// RIP: FUNC+OFF]" with their register block, the user-mode registers at
// the end. Stack-scan guesses are printed as "#N [SP] ? FUNC at IP", as
// the kernel's own trace marks them, so that a reader (and crashlog) can
// tell them from the unwound frames.
func (t *Tracer) Render(w io.Writer, bt *BT) error {
	var b strings.Builder
	tk := bt.Task
	fmt.Fprintf(&b, "PID: %-8d TASK: %-16x  CPU: %-4d COMMAND: %q\n", tk.PID, tk.Addr, tk.CPU, tk.Comm)
	frames := bt.Trace.Frames
	n := 0
	for i, f := range frames {
		if i == 0 && f.Method == unwind.MethodRegs && bt.Start != "thread.sp" && t.StartsAtException(startRegs(f, bt)) {
			writeException(&b, f, startRegs(f, bt))
			continue
		}
		if f.Regs != nil && i > 0 {
			writeException(&b, f, f.Regs)
			continue
		}
		mark := ""
		if !f.Reliable {
			mark = "? "
		}
		name := f.Func
		if name == "" {
			name = "(unknown)"
		}
		mod := ""
		if f.Module != "" {
			mod = " [" + f.Module + "]"
		}
		pad := " "
		if n >= 10 {
			pad = ""
		}
		fmt.Fprintf(&b, "%s#%d [%016x] %s%s at %016x%s\n", pad, n, f.SP, mark, name, f.IP, mod)
		n++
	}
	if bt.Trace.User != nil {
		writeRegs(&b, bt.Trace.User)
	}
	if !bt.Trace.Complete && bt.Trace.Stop != "" {
		// A walk cut short (an unreadable stack page, a corrupt frame)
		// says where, as crash(8) prints its "bt: read error" lines:
		// otherwise a one-frame trace reads as the whole story.
		fmt.Fprintf(&b, "bt: the walk stops: %s\n", bt.Trace.Stop)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// startRegs are the registers of the walk's first frame: the note's.
func startRegs(f unwind.Frame, bt *BT) map[string]uint64 {
	if f.Regs != nil {
		return f.Regs
	}
	return bt.Regs
}

func writeException(b *strings.Builder, f unwind.Frame, regs map[string]uint64) {
	name := f.Func
	if name == "" {
		name = "unknown or invalid address"
	} else {
		name = fmt.Sprintf("%s+%d", name, f.Off)
	}
	mod := ""
	if f.Module != "" {
		mod = " [" + f.Module + "]"
	}
	fmt.Fprintf(b, "    [exception RIP: %s]%s\n", name, mod)
	writeRegs(b, regs)
}

// writeRegs prints a register block in crash's layout.
func writeRegs(b *strings.Builder, r map[string]uint64) {
	fmt.Fprintf(b, "    RIP: %016x  RSP: %016x  RFLAGS: %08x\n", r["RIP"], r["RSP"], r["EFLAGS"]|r["RFLAGS"])
	fmt.Fprintf(b, "    RAX: %016x  RBX: %016x  RCX: %016x\n", r["RAX"], r["RBX"], r["RCX"])
	fmt.Fprintf(b, "    RDX: %016x  RSI: %016x  RDI: %016x\n", r["RDX"], r["RSI"], r["RDI"])
	fmt.Fprintf(b, "    RBP: %016x   R8: %016x   R9: %016x\n", r["RBP"], r["R8"], r["R9"])
	fmt.Fprintf(b, "    R10: %016x  R11: %016x  R12: %016x\n", r["R10"], r["R11"], r["R12"])
	fmt.Fprintf(b, "    R13: %016x  R14: %016x  R15: %016x\n", r["R13"], r["R14"], r["R15"])
	fmt.Fprintf(b, "    ORIG_RAX: %016x  CS: %04x  SS: %04x\n", r["ORIG_RAX"], r["CS"], r["SS"])
}
