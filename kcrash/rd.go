package kcrash

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// kernelImageBase is where x86_64's kernel image and module area begin.
const kernelImageBase = 0xffffffff80000000

// maxRdBytes bounds one rd: 64 KiB, 8192 64-bit words.
const maxRdBytes = 64 << 10

// RdResult is `rd`: memory words at an address.
type RdResult struct {
	Addr Addr `json:"addr"`
	// Size is the bytes per word: 8, 4, 2 or 1.
	Size int `json:"size"`
	// Words are the values, in JSON as hex strings like addresses (a
	// 64-bit word does not survive a JSON number).
	Words []Addr `json:"words"`
	// Symbols holds, for rd -s, the symbol each word points at
	// ("init_user_ns", "skb_checksum_help+138"), "" for a plain word.
	Symbols []string `json:"symbols,omitempty"`
	// Note says what a bound or an unreadable page cut.
	Note string `json:"note,omitempty"`

	raw []byte
}

// WriteText implements Result: crash's layout, 16 bytes a line, the
// words in hex and the bytes as ASCII.
func (r *RdResult) WriteText(w io.Writer) error {
	var b strings.Builder
	perLine := 16 / r.Size
	width := perLine*(2*r.Size+1) - 1
	for i := 0; i < len(r.Words); i += perLine {
		end := min(i+perLine, len(r.Words))
		var words []string
		for k, x := range r.Words[i:end] {
			if r.Symbols != nil && r.Symbols[i+k] != "" {
				words = append(words, fmt.Sprintf("%-16s", r.Symbols[i+k]))
				continue
			}
			words = append(words, fmt.Sprintf("%0*x", 2*r.Size, uint64(x)))
		}
		line := strings.Join(words, " ")
		if r.Symbols != nil {
			// rd -s prints no ASCII column.
			fmt.Fprintf(&b, "%016x:  %s\n", uint64(r.Addr)+uint64(i*r.Size), strings.TrimRight(line, " "))
			continue
		}
		fmt.Fprintf(&b, "%016x:  %-*s   %s\n", uint64(r.Addr)+uint64(i*r.Size), width, line, ascii(r.raw[i*r.Size:end*r.Size]))
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ascii(p []byte) string {
	out := make([]byte, len(p))
	for i, c := range p {
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		} else {
			out[i] = '.'
		}
	}
	return string(out)
}

func runRd(s *Session, c *Call) (Result, error) {
	size := 8
	for flag, n := range map[string]int{"-64": 8, "-32": 4, "-16": 2, "-8": 1} {
		if c.Has(flag) {
			size = n
		}
	}
	addr, err := s.addr(c.Args[0])
	if err != nil {
		return nil, err
	}
	n := uint64(1)
	if len(c.Args) > 1 {
		if n, err = count(c.Args[1]); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("count 0")
		}
	}
	r := &RdResult{Addr: Addr(addr), Size: size}
	if n > maxRdBytes/uint64(size) {
		r.Note = fmt.Sprintf("(%d of %d words shown: rd reads at most %d bytes)", maxRdBytes/size, n, maxRdBytes)
		n = maxRdBytes / uint64(size)
	}
	total := int(n) * size
	if addr+uint64(total) < addr {
		return nil, fmt.Errorf("%#x + %d bytes wraps around the address space", addr, total)
	}
	// Read page by page so that what precedes an unreadable page is shown.
	raw := make([]byte, 0, total)
	var readErr error
	for len(raw) < total {
		a := addr + uint64(len(raw))
		chunk := min(total-len(raw), int(4096-a%4096))
		buf := make([]byte, chunk)
		if err := s.v.Read(buf, a); err != nil {
			readErr = fmt.Errorf("kernel virtual address %#x: %w", a, err)
			break
		}
		raw = append(raw, buf...)
	}
	raw = raw[:len(raw)/size*size]
	r.raw = raw
	for i := 0; i+size <= len(raw); i += size {
		var x uint64
		switch size {
		case 8:
			x = binary.LittleEndian.Uint64(raw[i:])
		case 4:
			x = uint64(binary.LittleEndian.Uint32(raw[i:]))
		case 2:
			x = uint64(binary.LittleEndian.Uint16(raw[i:]))
		default:
			x = uint64(raw[i])
		}
		r.Words = append(r.Words, Addr(x))
	}
	if c.Has("-s") {
		if size != 8 {
			return nil, fmt.Errorf("-s shows 64-bit words only")
		}
		r.Symbols = make([]string, len(r.Words))
		for i, w := range r.Words {
			// Only the kernel image and modules (the top 2 GiB) hold
			// symbols; a small number near an absolute symbol is data.
			if uint64(w) >= kernelImageBase {
				r.Symbols[i] = s.symOff(uint64(w))
			}
		}
	}
	if readErr != nil {
		if len(r.Words) == 0 {
			return nil, readErr
		}
		return r, readErr
	}
	return r, nil
}
