package kernel

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
)

// elfWithMachine is the smallest ET_CORE dump.Open reads: one PT_NOTE
// holding VMCOREINFO, in the given byte order and e_machine.
func elfWithMachine(bo binary.ByteOrder, machine uint16, vmcoreinfo string) []byte {
	desc := []byte(vmcoreinfo)
	for len(desc)%4 != 0 {
		desc = append(desc, 0)
	}
	note := make([]byte, 12, 12+12+len(desc))
	bo.PutUint32(note[0:], uint32(len("VMCOREINFO")+1))
	bo.PutUint32(note[4:], uint32(len(vmcoreinfo)))
	note = append(note, "VMCOREINFO\x00\x00\x00"...)[:24]
	note = append(note, desc...)

	b := make([]byte, 64+56)
	copy(b, "\x7fELF")
	b[4], b[6] = 2, 1
	b[5] = 1
	if bo == binary.ByteOrder(binary.BigEndian) {
		b[5] = 2
	}
	bo.PutUint16(b[16:], 4) // ET_CORE
	bo.PutUint16(b[18:], machine)
	bo.PutUint32(b[20:], 1)
	bo.PutUint64(b[32:], 64) // e_phoff
	bo.PutUint16(b[52:], 64)
	bo.PutUint16(b[54:], 56)
	bo.PutUint16(b[56:], 1)
	ph := b[64:]
	bo.PutUint32(ph[0:], 4) // PT_NOTE
	bo.PutUint64(ph[8:], uint64(len(b)))
	bo.PutUint64(ph[32:], uint64(len(note)))
	bo.PutUint64(ph[40:], uint64(len(note)))
	return append(b, note...)
}

// TestOtherArchitectures: a dump of another machine, or in another byte
// order, is refused by name instead of read as x86_64 memory.
func TestOtherArchitectures(t *testing.T) {
	const vi = "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(prb)=ffffffff82000000\n"
	for _, c := range []struct {
		name    string
		bo      binary.ByteOrder
		machine uint16
		want    string // "" : accepted
	}{
		{"x86_64", binary.LittleEndian, 62, ""},
		{"aarch64", binary.LittleEndian, 183, "aarch64 dumps are not supported yet"},
		{"aarch64 big-endian", binary.BigEndian, 183, "aarch64_be dumps are not supported yet"},
		{"ppc64 big-endian", binary.BigEndian, 21, "ppc64 dumps are not supported yet"},
		{"ppc64le", binary.LittleEndian, 21, "ppc64le dumps are not supported yet"},
		{"s390x", binary.BigEndian, 22, "s390x dumps are not supported yet"},
		{"x86_64 claiming big-endian", binary.BigEndian, 62, "x86_64 (big-endian) dumps are not supported yet"},
		{"unknown machine", binary.LittleEndian, 999, "elf-machine-999 dumps are not supported yet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := elfWithMachine(c.bo, c.machine, vi)
			d, err := dump.OpenReaderAt(bytes.NewReader(b), int64(len(b)), "other.elf")
			if err != nil {
				t.Fatalf("the container itself is readable: %v", err)
			}
			defer d.Close()
			_, err = New(d, d.VMCOREINFO())
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("x86_64 refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}
