package kernel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// VMCOREINFO is the kernel's self-description, exported at crash time, that
// lets us read a dump without debuginfo: symbol addresses, structure sizes
// and member offsets, and a few constants. Keys keep the kernel's spelling
// ("SYMBOL(prb)", "OFFSET(printk_info.text_len)", "NUMBER(phys_base)").
type VMCOREINFO map[string]string

// maxVMCOREINFO bounds the text we parse: the kernel reserves one page for
// it (VMCOREINFO_BYTES), so anything far larger is not VMCOREINFO.
const maxVMCOREINFO = 1 << 20

// ParseVMCOREINFO parses KEY=VALUE lines. It is lenient where the producers
// are sloppy (a missing final newline after CRASHTIME, CRLF, NUL padding from
// the ELF note, lines without '=') and strict only where guessing would give
// wrong addresses later: an empty key is an error. A later duplicate key
// wins, as in kexec-tools.
func ParseVMCOREINFO(s string) (VMCOREINFO, error) {
	if len(s) > maxVMCOREINFO {
		return nil, fmt.Errorf("kernel: VMCOREINFO is %d bytes, more than %d", len(s), maxVMCOREINFO)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	info := VMCOREINFO{}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if k == "" {
			return nil, fmt.Errorf("kernel: VMCOREINFO line %q has no key", line)
		}
		info[k] = v
	}
	if len(info) == 0 {
		return nil, errors.New("kernel: VMCOREINFO has no KEY=VALUE line")
	}
	return info, nil
}

// Symbol returns SYMBOL(name), a kernel virtual address (hex without 0x).
func (vi VMCOREINFO) Symbol(name string) (uint64, bool) {
	return vi.hex("SYMBOL(" + name + ")")
}

// Size returns SIZE(typ), the size of a C type in bytes.
func (vi VMCOREINFO) Size(typ string) (int64, bool) {
	return vi.dec("SIZE(" + typ + ")")
}

// Offset returns OFFSET(typ.member), a member's byte offset.
func (vi VMCOREINFO) Offset(member string) (int64, bool) {
	return vi.dec("OFFSET(" + member + ")")
}

// Length returns LENGTH(sym), an array length.
func (vi VMCOREINFO) Length(sym string) (int64, bool) {
	return vi.dec("LENGTH(" + sym + ")")
}

// Number returns NUMBER(name): decimal, possibly negative, and on some
// architectures 0x-prefixed hex, so the base is detected from the text.
func (vi VMCOREINFO) Number(name string) (int64, bool) {
	v, ok := vi["NUMBER("+name+")"]
	if !ok {
		return 0, false
	}
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 0, 64); err == nil {
		return n, true
	}
	if n, err := strconv.ParseUint(v, 0, 64); err == nil {
		return int64(n), true
	}
	return 0, false
}

// KernelOffset returns KERNELOFFSET, the KASLR slide of the kernel image.
func (vi VMCOREINFO) KernelOffset() (uint64, bool) {
	return vi.hex("KERNELOFFSET")
}

func (vi VMCOREINFO) hex(key string) (uint64, bool) {
	v, ok := vi[key]
	if !ok {
		return 0, false
	}
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
	n, err := strconv.ParseUint(v, 16, 64)
	return n, err == nil
}

func (vi VMCOREINFO) dec(key string) (int64, bool) {
	v, ok := vi[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// kernelVersion parses the leading a.b.c of a release string; missing parts
// are zero. It packs them like the kernel's KERNEL_VERSION macro (with room
// for c > 255) so versions compare as integers.
func kernelVersion(release string) int {
	var parts [3]int
	i := 0
	for p := 0; p < 3; p++ {
		n, start := 0, i
		for i < len(release) && release[i] >= '0' && release[i] <= '9' && i-start < 6 {
			n = n*10 + int(release[i]-'0')
			i++
		}
		if i == start {
			break
		}
		parts[p] = n
		if i >= len(release) || release[i] != '.' {
			break
		}
		i++
	}
	return kver(parts[0], parts[1], parts[2])
}

func kver(a, b, c int) int { return a<<32 | b<<16 | min(c, 0xffff) }
