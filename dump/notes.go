package dump

import (
	"encoding/binary"
	"fmt"
)

const ntPRStatus = 1

// maxNotes bounds the notes kept from one note segment: a dump of a
// thousands-CPU machine has a few thousand; more is corruption.
const maxNotes = 1 << 16

// parseNotes decodes an ELF note blob (n_namesz, n_descsz, n_type, name
// and descriptor each padded to 4 bytes). base is the blob's file offset,
// for errors. Descriptors alias blob.
func parseNotes(blob []byte, bo binary.ByteOrder, base int64, name string) ([]Note, error) {
	var out []Note
	off := 0
	for off < len(blob) {
		if len(blob)-off < 12 {
			// Trailing padding shorter than a note header: the kernel and
			// makedumpfile pad note segments with zeros.
			if allZero(blob[off:]) {
				break
			}
			return out, &FormatError{File: name, Offset: base + int64(off), Msg: "truncated note header"}
		}
		namesz := uint64(bo.Uint32(blob[off:]))
		descsz := uint64(bo.Uint32(blob[off+4:]))
		typ := bo.Uint32(blob[off+8:])
		if namesz == 0 && descsz == 0 && typ == 0 {
			// Zero padding at the end of the segment.
			if allZero(blob[off:]) {
				break
			}
		}
		p := uint64(off) + 12
		nend := p + namesz
		dstart := align4(nend)
		dend := dstart + descsz
		if nend > uint64(len(blob)) || dend > uint64(len(blob)) {
			return out, &FormatError{File: name, Offset: base + int64(off), Msg: fmt.Sprintf("note (name size %d, desc size %d) extends past its segment (%d bytes)", namesz, descsz, len(blob))}
		}
		nm := blob[p:nend]
		for len(nm) > 0 && nm[len(nm)-1] == 0 {
			nm = nm[:len(nm)-1]
		}
		out = append(out, Note{Name: string(nm), Type: typ, Desc: blob[dstart:dend:dend]})
		if len(out) > maxNotes {
			return out, &FormatError{File: name, Offset: base + int64(off), Msg: "more than 65536 notes"}
		}
		next := align4(dend)
		if next > uint64(len(blob)) {
			next = uint64(len(blob))
		}
		off = int(next)
	}
	return out, nil
}

func align4(x uint64) uint64 { return (x + 3) &^ 3 }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// x86_64 struct user_regs_struct order, as pr_reg holds it.
var x86_64Regs = []string{
	"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8",
	"RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "EFLAGS",
	"RSP", "SS", "FS_BASE", "GS_BASE", "DS", "ES", "FS", "GS",
}

// decodePRStatus reads an x86_64 struct elf_prstatus: pr_pid at 32, pr_reg
// at 112 (27 little-endian u64).
func decodePRStatus(cpu int, desc []byte, arch string) PRStatus {
	st := PRStatus{CPU: cpu, PID: -1}
	if len(desc) >= 36 {
		st.PID = int(int32(binary.LittleEndian.Uint32(desc[32:])))
	}
	if arch == "x86_64" || arch == "" {
		if len(desc) >= 112+8*len(x86_64Regs) {
			st.Regs = make(map[string]uint64, len(x86_64Regs))
			for i, r := range x86_64Regs {
				st.Regs[r] = binary.LittleEndian.Uint64(desc[112+8*i:])
			}
		}
	}
	return st
}
