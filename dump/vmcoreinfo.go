package dump

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// VMCOREINFO is the kernel's self-description, exported at crash time, that
// lets a dump be read without debuginfo: symbol addresses, structure sizes
// and member offsets, and a few constants. Keys keep the kernel's spelling
// ("OSRELEASE", "SYMBOL(prb)", "OFFSET(printk_info.text_len)",
// "NUMBER(phys_base)", "SIZE(page)", "LENGTH(mem_section)", "CRASHTIME",
// "KERNELOFFSET", "BUILD-ID", "CONFIG_X86_PAE", …) and values are verbatim;
// the methods decode the encodings, which differ by key (SYMBOL and
// KERNELOFFSET are hex without 0x, SIZE/OFFSET/LENGTH decimal, NUMBER
// decimal or 0x-hex). What the values mean is package kernel's business.
type VMCOREINFO map[string]string

// maxVMCOREINFO bounds the text ParseVMCOREINFO accepts: the kernel's
// buffer is one page (VMCOREINFO_BYTES); a few pages allow for big ones.
const maxVMCOREINFO = 1 << 20

// maxLineQuote bounds how much of a malformed line an error quotes.
const maxLineQuote = 60

// VMCOREINFOError reports VMCOREINFO lines that are not KEY=VALUE: the
// first one by number, (cut) content and reason, and how many more there
// were; its message names the first three. ParseVMCOREINFO skips them and
// returns the good lines with this error, so a caller can go on with a
// dump whose last line the kernel truncated, and still tell the user which
// lines were dropped.
type VMCOREINFOError struct {
	Line   int    // 1-based number of the first malformed line
	Text   string // that line, cut to 60 bytes
	Reason string // what is wrong with it
	More   int    // further malformed lines

	next []string // the next two, described for the message
}

// Error names the first malformed lines and counts the rest.
func (e *VMCOREINFOError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vmcoreinfo: line %d %q: %s", e.Line, e.Text, e.Reason)
	for _, n := range e.next {
		b.WriteString("; ")
		b.WriteString(n)
	}
	if rest := e.More - len(e.next); rest > 0 {
		fmt.Fprintf(&b, "; and %d more malformed lines", rest)
	}
	return b.String()
}

// ParseVMCOREINFO splits VMCOREINFO text into its KEY=VALUE pairs. One rule
// serves every reader, real dumps and hostile ones alike:
//
//   - NUL ends the text (an ELF note's descriptor is padded with NULs);
//   - a "\r" before the "\n" is dropped, and the last line may lack its
//     "\n" (older kernels append CRASHTIME without one);
//   - empty lines are skipped;
//   - a line without "=", or whose key is empty, has a control character
//     or space, or unbalanced parentheses, is malformed: it is skipped and
//     reported by a *VMCOREINFOError returned with the map of the good
//     lines (the kernel truncates the last line when its page overflows);
//   - a later duplicate key wins, as in kexec-tools and makedumpfile.
//
// The map is nil only when the text is unusable: larger than a few pages,
// or without a single KEY=VALUE line.
func ParseVMCOREINFO(s string) (VMCOREINFO, error) {
	if len(s) > maxVMCOREINFO {
		return nil, fmt.Errorf("vmcoreinfo: %d bytes, more than %d", len(s), maxVMCOREINFO)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	vi := VMCOREINFO{}
	var bad *VMCOREINFOError
	n := 0
	for l := range strings.SplitSeq(s, "\n") {
		n++
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		why := ""
		switch {
		case !ok:
			why = `no "="`
		case !validKey(k):
			why = "bad key"
		default:
			vi[k] = v
			continue
		}
		switch {
		case bad == nil:
			bad = &VMCOREINFOError{Line: n, Text: quoteLine(l), Reason: why}
		case len(bad.next) < 2:
			bad.next = append(bad.next, fmt.Sprintf("line %d %q: %s", n, quoteLine(l), why))
			fallthrough
		default:
			bad.More++
		}
	}
	if len(vi) == 0 {
		if bad != nil {
			return nil, fmt.Errorf("vmcoreinfo: no KEY=VALUE line: %w", bad)
		}
		return nil, errors.New("vmcoreinfo: no KEY=VALUE line")
	}
	if bad != nil {
		return vi, bad
	}
	return vi, nil
}

// validKey accepts NAME or KIND(arg) keys of printable characters.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	open := strings.IndexByte(k, '(')
	if open < 0 {
		return !strings.ContainsRune(k, ')')
	}
	return open > 0 && strings.HasSuffix(k, ")") && len(k) > open+2 && strings.Count(k, "(") == 1 && strings.Count(k, ")") == 1
}

// quoteLine cuts a line for an error message.
func quoteLine(s string) string {
	if len(s) > maxLineQuote {
		return s[:maxLineQuote] + "…"
	}
	return s
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

// PageSize returns PAGESIZE, the kernel's page size in bytes (decimal).
func (vi VMCOREINFO) PageSize() (int64, bool) {
	return vi.dec("PAGESIZE")
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
