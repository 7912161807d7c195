package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestBigEndianKdump: makedumpfile writes the header in the dumped
// machine's byte order; a big-endian one is named as such, not reported
// as a bad block size.
func TestBigEndianKdump(t *testing.T) {
	b := tinyKdump(encZlib, flagZlib)
	be := binary.BigEndian
	for _, off := range []int{8, 424, 428, 432, 436, 440, 460} {
		v := binary.LittleEndian.Uint32(b[off:])
		be.PutUint32(b[off:], v)
	}
	copy(b[12+65*4:12+65*5], "s390x\x00\x00\x00")
	_, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), "be.kdump")
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "big-endian dumps are not supported yet") || !strings.Contains(err.Error(), `"s390x"`) {
		t.Fatalf("got %v, want a FormatError saying the s390x dump is big-endian", err)
	}
}

// TestNULInsideVMCOREINFO: a NUL inside the VMCOREINFO text (not its
// trailing padding) ends the text for the parser; the dump says so
// instead of silently losing the keys after it.
func TestNULInsideVMCOREINFO(t *testing.T) {
	for _, c := range []struct {
		name string
		vi   string
		warn string // "" : no warning
	}{
		{"padding only", "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n\x00\x00\x00", ""},
		{"NUL midway", "OSRELEASE=6.1.0-test\n\x00PAGESIZE=4096\nSYMBOL(prb)=ff\n", "NUL byte at offset 21 of its 51 bytes: the 29 bytes after it are ignored"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := &kdumpFile{blockSize: 4096, maxPFN: 64, pfns: testPFNs, page: testPage, encode: encZlib, status: flagZlib,
				vmcoreinfo: []byte(c.vi), level: 31, release: "6.1.0-test", machine: "x86_64", cpus: 2}
			b := k.bytes()
			d := openBytes(t, b, "nul.kdump")
			defer d.Close()
			w := strings.Join(d.Info().Warnings, "\n")
			if c.warn == "" && w != "" {
				t.Fatalf("unexpected warnings %q", w)
			}
			if c.warn != "" && (!strings.Contains(w, c.warn) || !strings.Contains(w, "nul.kdump: VMCOREINFO")) {
				t.Fatalf("warnings %q lack the file and %q", w, c.warn)
			}
		})
	}
}
