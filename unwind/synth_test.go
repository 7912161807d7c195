package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// fakeMem is kernel virtual memory made of regions; a read stops at the
// first byte no region holds.
type fakeMem struct {
	regions []fakeRegion
}

type fakeRegion struct {
	addr uint64
	b    []byte
}

func (m *fakeMem) add(addr uint64, b []byte) {
	m.regions = append(m.regions, fakeRegion{addr, b})
	sort.Slice(m.regions, func(i, j int) bool { return m.regions[i].addr < m.regions[j].addr })
}

func (m *fakeMem) ReadVirt(p []byte, vaddr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := vaddr + uint64(n)
		found := false
		for _, r := range m.regions {
			if a >= r.addr && a-r.addr < uint64(len(r.b)) {
				n += copy(p[n:], r.b[a-r.addr:])
				found = true
				break
			}
		}
		if !found {
			return n, fmt.Errorf("address %#x not mapped", a)
		}
	}
	return n, nil
}

const (
	synthText  uint64 = 0xffffffff81000000
	synthStack uint64 = 0xffffc90000010000
	synthIPs   uint64 = 0xffffffff82000000
	synthEnts  uint64 = 0xffffffff82100000
)

// synthEntry is one row of a synthetic ORC table.
type synthEntry struct {
	off  uint64 // from synthText
	typ  Type
	sp   Reg
	spo  int16
	bp   Reg
	bpo  int16
	sign bool
}

// encode packs e in layout l, the inverse of Decode.
func encode(e synthEntry, l Layout) []byte {
	b := make([]byte, EntrySize)
	binary.LittleEndian.PutUint16(b[0:], uint16(e.spo))
	binary.LittleEndian.PutUint16(b[2:], uint16(e.bpo))
	f := uint16(e.sp) | uint16(e.bp)<<4
	switch l {
	case LayoutV1, LayoutV2:
		endBit := uint16(10)
		if l == LayoutV2 {
			endBit = 11
			if e.sign {
				f |= 1 << 10
			}
		}
		switch e.typ {
		case TypeEndOfStack:
			f |= 1 << endBit
		case TypeRegs:
			f |= 1 << 8
		case TypeRegsPartial:
			f |= 2 << 8
		}
	case LayoutV3:
		f |= uint16(e.typ) << 8
		if e.sign {
			f |= 1 << 11
		}
	}
	binary.LittleEndian.PutUint16(b[4:], f)
	return b
}

// The synthetic kernel: leaf (0x100, 16 bytes pushed after +4), mid
// (0x200, a frame-pointer function), entry (0x300, asm with pt_regs at SP),
// and an END_OF_STACK at 0x340.
var synthTable = []synthEntry{
	{off: 0x000, typ: TypeUndefined},
	{off: 0x100, typ: TypeCall, sp: RegSP, spo: 8},
	{off: 0x104, typ: TypeCall, sp: RegSP, spo: 24},
	{off: 0x108, typ: TypeCall, sp: RegSP, spo: 32},
	{off: 0x10c, typ: TypeCall, sp: RegSP, spo: 24},
	{off: 0x200, typ: TypeCall, sp: RegSP, spo: 8},
	{off: 0x201, typ: TypeCall, sp: RegSP, spo: 16, bp: RegPrevSP, bpo: -16},
	{off: 0x204, typ: TypeCall, sp: RegBP, spo: 16, bp: RegPrevSP, bpo: -16},
	{off: 0x2f0, typ: TypeCall, sp: RegSP, spo: 8},
	{off: 0x300, typ: TypeRegs, sp: RegSP, spo: 0, sign: true},
	{off: 0x340, typ: TypeEndOfStack},
	{off: 0x380, typ: TypeRegsPartial, sp: RegSP, spo: 0, sign: true},
	{off: 0x3c0, typ: TypeUndefined},
	{off: 0x400, typ: TypeUndefined},
}

// synthKernel builds memory with the table in layout l, text whose return
// addresses follow e8 calls, and an empty 4 KiB stack.
func synthKernel(l Layout, rows []synthEntry) (*fakeMem, Table, []byte) {
	m := &fakeMem{}
	ips := make([]byte, 4*len(rows))
	var ents []byte
	for i, r := range rows {
		slot := synthIPs + 4*uint64(i)
		binary.LittleEndian.PutUint32(ips[4*i:], uint32(int32(int64(synthText+r.off)-int64(slot))))
		ents = append(ents, encode(r, l)...)
	}
	m.add(synthIPs, ips)
	m.add(synthEnts, ents)
	text := make([]byte, 0x1000)
	for i := range text {
		text[i] = 0xcc
	}
	for _, ra := range []uint64{0x180, 0x250, 0x320, 0x3a0} {
		text[ra-5] = 0xe8
	}
	m.add(synthText, text)
	stack := make([]byte, 0x1000)
	m.add(synthStack, stack)
	t := Table{Name: "vmlinux", TextStart: synthText, TextEnd: synthText + 0x1000, IPs: synthIPs, Entries: synthEnts, N: len(rows)}
	return m, t, stack
}

func put(stack []byte, addr, v uint64) {
	binary.LittleEndian.PutUint64(stack[addr-synthStack:], v)
}

// userRegs writes a user-mode pt_regs at addr.
func userRegs(stack []byte, addr uint64) {
	put(stack, addr+8*16, 0x401000)    // ip
	put(stack, addr+8*17, 0x33)        // cs
	put(stack, addr+8*19, 0x7ffe00000) // sp
}

type synthSyms struct{}

func (synthSyms) Symbol(addr uint64) (string, uint64, string, bool) {
	for _, f := range []struct {
		name string
		off  uint64
	}{{"irqentry", 0x380}, {"entry", 0x300}, {"mid", 0x200}, {"leaf", 0x100}} {
		if addr >= synthText+f.off && addr < synthText+0x400 {
			return f.name, addr - synthText - f.off, "", true
		}
	}
	return "", 0, "", false
}

var synthStacks = []Stack{{Name: "task", Start: synthStack, End: synthStack + 0x1000}}

func TestSyntheticWalk(t *testing.T) {
	for _, tc := range []struct {
		layout  Layout
		release string
	}{
		{LayoutV1, "6.1.0-56-cloud-amd64"},
		{LayoutV2, "6.3.0"},
		{LayoutV3, "6.8.0-31-generic"},
		// The release is a hint, not the answer: a 6.1-layout table in a
		// kernel that claims 6.8 (a backport, a wrong note) is still read.
		{LayoutV1, "6.8.0"},
		{LayoutV3, "6.1.0"},
	} {
		t.Run(fmt.Sprintf("%v/%s", tc.layout, tc.release), func(t *testing.T) {
			m, tab, stack := synthKernel(tc.layout, synthTable)
			o, err := Load(m, tc.release, tab, []uint64{synthText + 0x100, synthText + 0x200})
			if err != nil {
				t.Fatal(err)
			}
			if o.Layout() != tc.layout {
				t.Fatalf("layout %v (%s), want %v", o.Layout(), o.LayoutReason(), tc.layout)
			}
			// leaf (16 bytes pushed) <- mid (frame pointer) <- entry (pt_regs).
			rsp := uint64(synthStack + 0x100)
			put(stack, rsp+16, synthText+0x250)
			rbp := uint64(synthStack + 0x140)
			put(stack, rbp, 0x1234)
			put(stack, rbp+8, synthText+0x320)
			userRegs(stack, rbp+16)
			put(stack, rsp+8, synthText+0x180) // a stale return address: a guess
			u := New(m, o, synthSyms{})
			tr, err := u.Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": rsp, "RBP": rbp}, Options{Stacks: synthStacks, Guesses: true})
			if err != nil {
				t.Fatal(err)
			}
			want := []Frame{
				{SP: rsp, IP: synthText + 0x150, Func: "leaf", Off: 0x50, Reliable: true, Method: MethodRegs},
				{SP: rsp + 8, IP: synthText + 0x180, Func: "leaf", Off: 0x80, Method: MethodScan},
				{SP: rsp + 16, IP: synthText + 0x250, Func: "mid", Off: 0x50, Reliable: true, Method: MethodORC},
				{SP: rbp + 8, IP: synthText + 0x320, Func: "entry", Off: 0x20, Reliable: true, Method: MethodORC},
			}
			checkFrames(t, tr, want)
			if !tr.Complete || tr.User["RIP"] != 0x401000 || tr.User["RSP"] != 0x7ffe00000 || tr.Guessed {
				t.Errorf("end: complete=%v user=%x guessed=%v stop=%s", tr.Complete, tr.User, tr.Guessed, tr.Stop)
			}
		})
	}
}

func checkFrames(t *testing.T, tr *Trace, want []Frame) {
	t.Helper()
	if len(tr.Frames) != len(want) {
		logFrames(t, tr)
		t.Fatalf("%d frames, want %d", len(tr.Frames), len(want))
	}
	for i, w := range want {
		g := tr.Frames[i]
		if g.SP != w.SP || g.IP != w.IP || g.Func != w.Func || g.Off != w.Off || g.Module != w.Module || g.Reliable != w.Reliable || g.Method != w.Method {
			t.Errorf("frame %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestSyntheticIRQ walks from an IRQ stack through an IRET frame
// (REGS_PARTIAL) to the task stack it interrupted, with guesses on both.
func TestSyntheticIRQ(t *testing.T) {
	m, tab, task := synthKernel(LayoutV3, synthTable)
	const irqBase = synthStack + 0x10000
	irq := make([]byte, 0x1000)
	m.add(irqBase, irq)
	stacks := []Stack{synthStacks[0], {Name: "irq", Start: irqBase, End: irqBase + 0x1000}}
	o, err := Load(m, "6.8", tab, []uint64{synthText + 0x100})
	if err != nil {
		t.Fatal(err)
	}
	putAt := func(b []byte, base, addr, v uint64) { binary.LittleEndian.PutUint64(b[addr-base:], v) }
	rsp := irqBase + 0x100
	putAt(irq, irqBase, rsp+8, synthText+0x180)  // stale: a guess
	putAt(irq, irqBase, rsp+16, synthText+0x3a0) // leaf returns into irqentry
	iret := rsp + 24
	putAt(irq, irqBase, iret, synthText+0x250)                 // ip: mid, interrupted
	putAt(irq, irqBase, iret+8, 0x10)                          // cs
	putAt(irq, irqBase, iret+16, 0x246)                        // flags
	putAt(irq, irqBase, iret+24, synthStack+0x200)             // sp: the task stack
	putAt(irq, irqBase, iret+32, 0x18)                         // ss
	rbp := synthStack + 0x240                                  // the task's, kept by the IRQ
	putAt(task, synthStack, synthStack+0x210, synthText+0x180) // stale: a guess
	putAt(task, synthStack, rbp+8, synthText+0x320)
	userRegs(task, rbp+16)
	tr, err := New(m, o, synthSyms{}).Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": rsp, "RBP": rbp}, Options{Stacks: stacks, Guesses: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, tr, []Frame{
		{SP: rsp, IP: synthText + 0x150, Func: "leaf", Off: 0x50, Reliable: true, Method: MethodRegs},
		{SP: rsp + 8, IP: synthText + 0x180, Func: "leaf", Off: 0x80, Method: MethodScan},
		{SP: rsp + 16, IP: synthText + 0x3a0, Func: "irqentry", Off: 0x20, Reliable: true, Method: MethodORC},
		{SP: iret, IP: synthText + 0x250, Func: "mid", Off: 0x50, Reliable: true, Method: MethodORC},
		{SP: synthStack + 0x210, IP: synthText + 0x180, Func: "leaf", Off: 0x80, Method: MethodScan},
		{SP: rbp + 8, IP: synthText + 0x320, Func: "entry", Off: 0x20, Reliable: true, Method: MethodORC},
	})
	if r := tr.Frames[3].Regs; len(r) != 5 || r["RIP"] != synthText+0x250 || r["RSP"] != synthStack+0x200 || r["CS"] != 0x10 {
		t.Errorf("IRET frame registers %x, want RIP, CS, EFLAGS, RSP, SS only", r)
	}
	if !tr.Complete || tr.User["RIP"] != 0x401000 {
		t.Errorf("complete=%v user=%x stop=%s", tr.Complete, tr.User, tr.Stop)
	}
}

// TestSyntheticFallback starts in text without ORC data and a useless
// RBP: the walk must scan for a return address (skipping a text address
// that follows no call) and resume with ORC from it, saying it guessed.
func TestSyntheticFallback(t *testing.T) {
	m, tab, stack := synthKernel(LayoutV1, synthTable)
	o, err := Load(m, "6.1", tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	rsp := uint64(synthStack + 0x100)
	put(stack, rsp+8, synthText+0x190)  // text, but no call before it
	put(stack, rsp+24, synthText+0x180) // leaf, after a call
	put(stack, rsp+32+16, synthText+0x320)
	userRegs(stack, rsp+32+24)
	u := New(m, o, synthSyms{})
	tr, err := u.Unwind(map[string]uint64{"RIP": synthText + 0x50, "RSP": rsp, "RBP": 0}, Options{Stacks: synthStacks})
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, tr, []Frame{
		{SP: rsp, IP: synthText + 0x50, Reliable: true, Method: MethodRegs},
		{SP: rsp + 24, IP: synthText + 0x180, Func: "leaf", Off: 0x80, Method: MethodScan},
		{SP: rsp + 48, IP: synthText + 0x320, Func: "entry", Off: 0x20, Reliable: true, Method: MethodORC},
	})
	if !tr.Guessed || !tr.Complete {
		t.Errorf("guessed=%v complete=%v stop=%s", tr.Guessed, tr.Complete, tr.Stop)
	}
}

// TestCorruptTables feeds broken tables and stacks: each must end in an
// error or a stop that names the table or address, never a panic or a
// loop.
func TestCorruptTables(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(m *fakeMem, tab *Table)
		want   []string
	}{
		{"zeroed entries", func(m *fakeMem, tab *Table) {
			for i := range m.regions {
				if m.regions[i].addr == synthEnts {
					m.regions[i].b = make([]byte, len(m.regions[i].b))
				}
			}
		}, []string{"vmlinux", fmt.Sprintf("%#x", uint64(synthEnts)), "no entry layout validates"}},
		{"truncated entries", func(m *fakeMem, tab *Table) {
			for i := range m.regions {
				if m.regions[i].addr == synthEnts {
					m.regions[i].b = m.regions[i].b[:20]
				}
			}
		}, []string{"vmlinux", fmt.Sprintf("%#x", synthEnts+20), "entry array"}},
		{"truncated ips", func(m *fakeMem, tab *Table) {
			for i := range m.regions {
				if m.regions[i].addr == synthIPs {
					m.regions[i].b = m.regions[i].b[:8]
				}
			}
		}, []string{"vmlinux", fmt.Sprintf("%#x", synthIPs+8), "IP array"}},
		{"absurd count", func(m *fakeMem, tab *Table) { tab.N = 1 << 30 }, []string{"vmlinux", fmt.Sprintf("%#x", uint64(synthIPs)), "implausible"}},
		{"unsorted", func(m *fakeMem, tab *Table) {
			for i := range m.regions {
				if m.regions[i].addr == synthIPs {
					binary.LittleEndian.PutUint32(m.regions[i].b[8:], uint32(0xf0000000)) // far below entry 1
				}
			}
		}, []string{"vmlinux", fmt.Sprintf("%#x", synthIPs+8), "not sorted at entry 2"}},
		{"bad type bits", func(m *fakeMem, tab *Table) {
			for i := range m.regions {
				if m.regions[i].addr == synthEnts {
					for j := 4; j < len(m.regions[i].b); j += EntrySize {
						m.regions[i].b[j+1] |= 0xf0
					}
				}
			}
		}, []string{"vmlinux", fmt.Sprintf("%#x", uint64(synthEnts)), "invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tab, _ := synthKernel(LayoutV1, synthTable)
			tc.break_(m, &tab)
			_, err := Load(m, "6.1", tab, nil)
			if err == nil {
				t.Fatal("no error")
			}
			var te *TableError
			if !errors.As(err, &te) {
				t.Errorf("%T is not a *TableError: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("module table unreadable", func(t *testing.T) {
		m, tab, stack := synthKernel(LayoutV1, synthTable)
		mod := Table{Name: "crashnet", TextStart: 0xffffffffc0000000, TextEnd: 0xffffffffc0001000, IPs: 0xffffffffc0100000, Entries: 0xffffffffc0200000, N: 4}
		o, err := Load(m, "6.1", tab, nil, mod)
		if err != nil {
			t.Fatal(err)
		}
		rsp := uint64(synthStack + 0x100)
		put(stack, rsp+16, mod.TextStart+0x40)
		tr, err := New(m, o, nil).Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": rsp}, Options{Stacks: synthStacks})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Complete || !strings.Contains(tr.Stop, "crashnet") || !strings.Contains(tr.Stop, fmt.Sprintf("%#x", mod.IPs)) {
			t.Errorf("stop %q should name the module table and its address", tr.Stop)
		}
		var te *TableError
		if !errors.As(tr.Err, &te) || te.Table != "crashnet" || te.Addr != mod.IPs {
			t.Errorf("Trace.Err %v is not the module's *TableError at %#x", tr.Err, mod.IPs)
		}
	})

	t.Run("stack going the wrong way", func(t *testing.T) {
		rows := append([]synthEntry(nil), synthTable...)
		rows[4] = synthEntry{off: 0x10c, typ: TypeCall, sp: RegSP, spo: 0} // return address below SP
		m, tab, stack := synthKernel(LayoutV1, rows)
		o, err := Load(m, "6.1", tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		rsp := uint64(synthStack + 0x100)
		put(stack, rsp-8, synthText+0x180)
		tr, err := New(m, o, nil).Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": rsp}, Options{Stacks: synthStacks})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Complete || !strings.Contains(tr.Stop, "wrong way") || len(tr.Frames) != 1 {
			logFrames(t, tr)
			t.Errorf("stop %q, %d frames", tr.Stop, len(tr.Frames))
		}
	})

	t.Run("read outside the stacks", func(t *testing.T) {
		m, tab, _ := synthKernel(LayoutV1, synthTable)
		o, err := Load(m, "6.1", tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		rsp := uint64(synthStack + 0x1000 - 8) // leaf's return slot is past the end
		tr, err := New(m, o, nil).Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": rsp}, Options{Stacks: synthStacks})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Complete || !strings.Contains(tr.Stop, "outside the given stacks") {
			t.Errorf("stop %q", tr.Stop)
		}
	})

	t.Run("RSP on no stack", func(t *testing.T) {
		m, tab, _ := synthKernel(LayoutV1, synthTable)
		o, _ := Load(m, "6.1", tab, nil)
		if _, err := New(m, o, nil).Unwind(map[string]uint64{"RIP": synthText + 0x150, "RSP": 0x1000}, Options{Stacks: synthStacks}); err == nil {
			t.Error("no error")
		}
	})
}

// FuzzORC decodes entries and walks a stack through a table, both from
// the fuzzer's bytes: no input may panic, loop, or exceed the frame cap.
func FuzzORC(f *testing.F) {
	var ents []byte
	for _, r := range synthTable {
		ents = append(ents, encode(r, LayoutV1)...)
	}
	stack := make([]byte, 512)
	binary.LittleEndian.PutUint64(stack[16:], synthText+0x250)
	f.Add(ents, stack, uint16(0x150), uint16(0), uint8(1))
	f.Add(ents[:13], stack[:100], uint16(0x300), uint16(8), uint8(3))
	f.Fuzz(func(t *testing.T, ents, stack []byte, rip, rsp uint16, layout uint8) {
		l := Layout(layout % 4)
		for i := 0; i+EntrySize <= len(ents); i += EntrySize {
			e, err := Decode(ents[i:], l)
			if err == nil && (e.Type > TypeRegsPartial || e.SPReg > RegSPIndirect || e.BPReg > RegSPIndirect) {
				t.Fatalf("Decode accepted %+v", e)
			}
		}
		n := len(ents) / EntrySize
		if n == 0 || len(stack) < 8 {
			return
		}
		m := &fakeMem{}
		ips := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			// IPs every 0x20 bytes of text, from the fuzzer's entry order.
			binary.LittleEndian.PutUint32(ips[4*i:], uint32(int32(int64(synthText+uint64(i)*0x20)-int64(synthIPs+4*uint64(i)))))
		}
		m.add(synthIPs, ips)
		m.add(synthEnts, ents[:n*EntrySize])
		text := make([]byte, 0x1000)
		copy(text, stack)
		m.add(synthText, text)
		m.add(synthStack, stack)
		tab := Table{Name: "vmlinux", TextStart: synthText, TextEnd: synthText + 0x1000, IPs: synthIPs, Entries: synthEnts, N: n}
		o, err := Load(m, "6.1", tab, nil)
		if err != nil {
			// Walk with the fuzzer's layout anyway, so that the walker
			// meets entries no probe would accept.
			k := &loaded{Table: tab}
			if k.load(m) != nil {
				return
			}
			o = &ORC{mem: m, layout: l, kernel: k}
		}
		stacks := []Stack{{Name: "task", Start: synthStack, End: synthStack + uint64(len(stack))}}
		regs := map[string]uint64{"RIP": synthText + uint64(rip)%0x1100, "RSP": synthStack + uint64(rsp)%uint64(len(stack)), "RBP": synthStack + uint64(rsp)/2}
		tr, err := New(m, o, synthSyms{}).Unwind(regs, Options{Stacks: stacks, MaxFrames: 64, Guesses: true})
		if err != nil {
			return
		}
		if len(tr.Frames) > 64+len(stack)/8 {
			t.Fatalf("%d frames", len(tr.Frames))
		}
		if tr.Stop == "" {
			t.Fatal("a walk ended without saying why")
		}
	})
}
