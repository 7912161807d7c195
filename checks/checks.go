// Package checks tests kernel objects against the invariants the kernel
// itself relies on, so that a dump of an sk_buff says in words which rule
// the crashing code found broken, instead of leaving an engineer to redo the
// arithmetic by hand. It reads typed values (kobj) and never parses text:
// crash(8) transcripts and vmcores are decoded elsewhere.
package checks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/oops"
)

// Finding is one verdict of one check on one object, as values: the object
// by type and address, the verdict and what followed from it as sentences,
// the registers that agree as registers, and the numbers it rests on. Text
// is made from these at the edge (Message, MarshalJSON), so that no consumer
// parses a message back.
type Finding struct {
	// Check is the check's public id (the Check* constants); consumers key
	// on it, so it never changes once published.
	Check string
	// Severity is SeverityError when an invariant the kernel relies on is
	// broken, SeverityWarning when it is probably broken or cannot be
	// decided from what was dumped, SeverityInfo for context.
	Severity Severity
	// Object is the object the verdict is about: its Type and Addr name
	// it ("sk_buff ffff880fe9624868").
	Object *kobj.Object
	// Verdict is the broken rule with the arithmetic that shows it, one
	// sentence as an engineer would write it in a ticket.
	Verdict string
	// Mechanics says how the crash followed from the verdict when the
	// faulting function tells ("skb_checksum_help asked for 176 bytes
	// …"), else "".
	Mechanics string
	// Registers are the crash-time registers that hold a quantity of the
	// verdict, in the order they are cited; nil when none does or the
	// registers are unknown.
	Registers []Agreement
	// Notes are further sentences of context (the stale frags a data_len
	// verdict did not count).
	Notes []string
	// Evidence holds the numbers the verdict was computed from, so that a
	// reader (or a test) can redo the arithmetic; "registers" maps each
	// register of Registers to its Agreement's Role. Values are int64,
	// string ("0x…" for addresses), bool, or slices/maps of those.
	Evidence map[string]any
}

// sentences are the finding's message sentence by sentence, in the order a
// ticket tells them: the verdict, how the crash followed, the registers
// that agree, the notes.
func (f Finding) sentences() []string {
	out := []string{f.Verdict}
	if f.Mechanics != "" {
		out = append(out, f.Mechanics)
	}
	if len(f.Registers) > 0 {
		parts := make([]string, len(f.Registers))
		for i, a := range f.Registers {
			parts[i] = a.String()
		}
		out = append(out, "The registers agree: "+strings.Join(parts, ", "))
	}
	return append(out, f.Notes...)
}

// Message is the finding in words, its sentences joined as prose.
func (f Finding) Message() string { return strings.Join(f.sentences(), ". ") }

// MarshalJSON writes the finding as a `findings` item of the analyze JSON
// contract: check, severity, object as "TYPE ADDR", message, evidence.
func (f Finding) MarshalJSON() ([]byte, error) {
	obj := ""
	if f.Object != nil {
		obj = f.Object.Name()
	}
	return json.Marshal(struct {
		Check    string         `json:"check"`
		Severity Severity       `json:"severity"`
		Object   string         `json:"object"`
		Message  string         `json:"message"`
		Evidence map[string]any `json:"evidence"`
	}{f.Check, f.Severity, obj, f.Message(), f.Evidence})
}

// Agreement is registers of the crashing context that hold one quantity of
// a verdict: corroboration that the code crashed computing with it.
type Agreement struct {
	// Registers hold the value, in crash's order ("R12", "R13").
	Registers []string
	// Role names the quantity the way Evidence keys do: "missing",
	// "headlen", "skb", "skb_shared_info", "head", "data", "tail_pointer".
	Role string
	// Value is the quantity.
	Value uint64
}

// roles says, for each Role, how a message names the quantity and whether
// it is a byte count (cited with its value: a register holding a count is
// news only with the number) rather than an address.
var roles = map[string]struct {
	say   string
	count bool
}{
	"missing":         {"the missing byte count", true},
	"headlen":         {"headlen", true},
	"skb":             {"the skb", false},
	"skb_shared_info": {"its skb_shared_info (head+end)", false},
	"head":            {"head", false},
	"data":            {"data", false},
	"tail_pointer":    {"head+tail (the end of the linear data)", false},
}

// String is the agreement as a message cites it: "RBX = 0x90 = 144 is the
// missing byte count", "R8 holds the skb".
func (a Agreement) String() string {
	r := roles[a.Role]
	eq := strings.Join(a.Registers, " = ")
	if r.count {
		return fmt.Sprintf("%s = %#x = %d is %s", eq, a.Value, a.Value, r.say)
	}
	return fmt.Sprintf("%s hold%s %s", eq, plural(len(a.Registers)), r.say)
}

// Severity is how bad a finding is.
type Severity string

// Severities, as the JSON contract spells them.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Check ids. They are public (JSON output, KB rules and tickets quote them):
// add new ones, never rename.
const (
	// CheckSKBLen: len >= data_len; otherwise skb_headlen() wraps.
	CheckSKBLen = "skb-len"
	// CheckSKBLinear: the linear area (tail - data) holds exactly
	// skb_headlen() = len - data_len bytes.
	CheckSKBLinear = "skb-linear"
	// CheckSKBLayout: head <= data <= tail <= end, what skb_push/skb_put
	// enforce with skb_under_panic/skb_over_panic.
	CheckSKBLayout = "skb-layout"
	// CheckSKBDataLen: data_len equals the bytes the frags below nr_frags
	// and the frag_list skbs hold — what every walker of the packet
	// (__skb_checksum, skb_copy_bits) assumes and BUG()s on.
	CheckSKBDataLen = "skb-data-len"
	// CheckSKBStaleFrags: frags at or beyond nr_frags hold non-zero sizes;
	// context for a skb-data-len mismatch, never a verdict.
	CheckSKBStaleFrags = "skb-stale-frags"
	// CheckSKBShinfoMissing: the skb_shared_info at head+end was not
	// dumped, so the checks that need it did not run.
	CheckSKBShinfoMissing = "skb-shinfo-missing"
	// CheckSKBNrFrags: nr_frags <= MAX_SKB_FRAGS of the release.
	CheckSKBNrFrags = "skb-nr-frags"
	// CheckSKBCsum: with CHECKSUM_PARTIAL the checksum start lies in the
	// packet and the 2-byte checksum field in the linear area.
	CheckSKBCsum = "skb-csum"
	// CheckSKBHeaders: transport/network/mac header offsets, when set, lie
	// inside the buffer [head, end).
	CheckSKBHeaders = "skb-headers"
	// CheckSKBTruesize: truesize, the memory charged to the socket, is at
	// least len.
	CheckSKBTruesize = "skb-truesize"
	// CheckSKBDataref: the whole-data reference count (low 16 bits of
	// dataref) is at least the payload-only count (high 16 bits), and the
	// cloned flag agrees with it.
	CheckSKBDataref = "skb-dataref"
	// CheckSKBGSO: gso_segs agrees with len and gso_size.
	CheckSKBGSO = "skb-gso"
)

// Env is what the checks may use besides the objects.
type Env struct {
	// Objects is every object the evidence shows; the checks follow
	// pointers (head+end to skb_shared_info, frag_list to sk_buffs)
	// through it.
	Objects *kobj.Set
	// Regs are the crashing context's registers (crash bt exception
	// frame), by the name crash gives them ("RBX", "R12"); nil when
	// unknown. Registers equal to a computed quantity are cited as
	// corroboration.
	Regs map[string]uint64
	// Release is the kernel release ("2.6.32-642.4.2.el6.x86_64"), "" if
	// unknown. It decides MAX_SKB_FRAGS and, with no PtrSize, the word size.
	Release string
	// PtrSize is 8 or 4; 0 infers it from the pointers in the dump and the
	// release's architecture. It decides whether tail/end/headers are
	// offsets from head (64-bit) or pointers (32-bit).
	PtrSize int
	// PageSize is the kernel's page size; 0 means 4096. MAX_SKB_FRAGS
	// depends on it.
	PageSize int
	// RIPFunction is the faulting function ("skb_checksum"), "" if unknown.
	// When it walks the packet, the data_len verdict explains how the walk
	// ran out.
	RIPFunction string
}

// Run applies every check to every object in env.Objects, so that a caller
// need not know which types have checks.
func Run(env Env) []Finding {
	if env.Objects == nil {
		return nil
	}
	var out []Finding
	used := map[uint64]bool{}
	for _, o := range env.Objects.OfType("sk_buff") {
		out = append(out, SKB(o, env)...)
		s := newSKB(o, env)
		if s.shinfo != nil {
			used[s.shinfo.Addr] = true
		}
	}
	// A skb_shared_info dumped without its sk_buff can still be checked
	// for what it says on its own.
	for _, o := range env.Objects.OfType("skb_shared_info") {
		if !used[o.Addr] {
			out = append(out, shinfoAlone(o, env)...)
		}
	}
	return out
}

// NextSteps says which crash(8) commands would complete what the checks
// could not prove, e.g. "skb_shared_info ffff881062d2dd80" when only the skb
// was dumped (head+end computed). Each is a command as typed at the crash>
// prompt; none is repeated.
func NextSteps(env Env) []string {
	if env.Objects == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, o := range env.Objects.OfType("sk_buff") {
		s := newSKB(o, env)
		if !s.hasHead || !s.hasEnd || !s.hasLen || !s.hasDataLen {
			// A partial paste (grep): the full dump has what is missing.
			add(fmt.Sprintf("sk_buff %x", o.Addr))
			continue
		}
		if s.shinfo == nil {
			if s.shinfoAddr != 0 {
				add(fmt.Sprintf("skb_shared_info %x", s.shinfoAddr))
			}
			continue
		}
		if fl, ok := s.shinfo.Value.Uint("frag_list"); ok && fl != 0 {
			if fw := walkFragList(fl, env.Objects); fw.missing != 0 {
				add(fmt.Sprintf("sk_buff %x", fw.missing))
			}
		}
	}
	return out
}

// norm fills Env's defaults so the checks need not repeat them.
func norm(env Env) Env {
	if env.PageSize <= 0 {
		env.PageSize = 4096
	}
	if env.Objects == nil {
		env.Objects = &kobj.Set{}
	}
	return env
}

// kver is a release's upstream version, enough to pick kernel constants.
type kver struct {
	major, minor int
	ok           bool
}

func (v kver) less(major, minor int) bool {
	return v.major < major || (v.major == major && v.minor < minor)
}

// parseRelease reads "2.6.32-642.4.2.el6.x86_64" as 2.6 and
// "4.18.0-305.el8.x86_64" as 4.18; distro suffixes are ignored because
// the constants checked here follow the upstream base.
func parseRelease(rel string) kver {
	rel = strings.TrimSpace(rel)
	end := 0
	for end < len(rel) && (rel[end] == '.' || (rel[end] >= '0' && rel[end] <= '9')) {
		end++
	}
	parts := strings.Split(rel[:end], ".")
	if len(parts) < 2 {
		return kver{}
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || a < 2 || a > 20 {
		return kver{}
	}
	return kver{a, b, true}
}

// releaseBits guesses the word size from the architecture a release string
// names; 0 when it names none.
func releaseBits(rel string) int {
	r := strings.ToLower(rel)
	for _, s := range []string{"x86_64", "amd64", "aarch64", "arm64", "ppc64", "s390x", "sparc64", "mips64", "riscv64", "loongarch64"} {
		if strings.Contains(r, s) {
			return 64
		}
	}
	for _, s := range []string{"i386", "i486", "i586", "i686", "-686", "armv7", "armhf", "armel", ".arm", "mips"} {
		if strings.Contains(r, s) {
			return 32
		}
	}
	return 0
}

// maxFrags is MAX_SKB_FRAGS for the release and page size.
type maxFrags struct {
	max int
	// hard is the largest value any build of the release can have; above
	// max but not above hard is only a warning (CONFIG_MAX_SKB_FRAGS).
	hard int
	// why says where max came from, for the message.
	why string
	// assumed is set when the release did not decide max.
	assumed bool
}

// skbMaxFrags follows include/linux/skbuff.h: 2.6.x had 65536/PAGE_SIZE+2
// (18 with 4K pages), later kernels +1 (17), at least 16 either way; 6.2 on
// made it CONFIG_MAX_SKB_FRAGS (default 17, at most 45). Where the release
// is unknown or falls where the change is not pinned down (3.0–3.3), the
// larger value is assumed so that no legal skb is called corrupt.
func skbMaxFrags(release string, pageSize int) maxFrags {
	plus := func(n int) int {
		m := 65536/pageSize + n
		if m < 16 {
			m = 16
		}
		return m
	}
	v := parseRelease(release)
	switch {
	case !v.ok:
		m := plus(2)
		return maxFrags{m, m, fmt.Sprintf("release unknown: assumed 65536/PAGE_SIZE + 2 = %d, the 2.6.x value and the largest fixed one", m), true}
	case v.less(3, 0):
		m := plus(2)
		return maxFrags{m, m, fmt.Sprintf("%d.%d: 65536/PAGE_SIZE + 2 = %d", v.major, v.minor, m), false}
	case v.less(3, 4):
		m := plus(2)
		return maxFrags{m, m, fmt.Sprintf("%d.%d: assumed 65536/PAGE_SIZE + 2 = %d (the change to + 1 came around 3.x)", v.major, v.minor, m), true}
	case v.less(6, 2):
		m := plus(1)
		return maxFrags{m, m, fmt.Sprintf("%d.%d: 65536/PAGE_SIZE + 1 = %d", v.major, v.minor, m), false}
	default:
		return maxFrags{17, 45, fmt.Sprintf("%d.%d: CONFIG_MAX_SKB_FRAGS, default 17, at most 45", v.major, v.minor), false}
	}
}

// hex formats an address the way evidence holds addresses.
func hex(x uint64) string { return fmt.Sprintf("%#x", x) }

// regOrder is the order registers are cited in: crash's own order.
var regOrder = []string{
	"RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
	"EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP",
}

// notData are registers that never hold a value the code computed with:
// the instruction and stack pointers, flags and segments.
var notData = map[string]bool{
	"RIP": true, "RSP": true, "RFLAGS": true, "ORIG_RAX": true, "EIP": true, "ESP": true,
	"EFLAGS": true, "ORIG_EAX": true, "CS": true, "SS": true, "DS": true, "ES": true, "FS": true, "GS": true,
}

// sortedRegs returns the data registers in crash's order, unknown names last.
func sortedRegs(regs map[string]uint64) []string {
	rank := map[string]int{}
	for i, r := range regOrder {
		rank[r] = i + 1
	}
	var names []string
	for n := range regs {
		if !notData[strings.ToUpper(n)] {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := rank[strings.ToUpper(names[i])], rank[strings.ToUpper(names[j])]
		if a == 0 {
			a = 1 << 20
		}
		if b == 0 {
			b = 1 << 20
		}
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}

// baseFunction strips what compilers and crash append to a symbol
// ("skb_checksum+725", "__skb_checksum.isra.3", "x.cold") so that function
// names compare; clone suffixes go by oops's one rule for them.
func baseFunction(fn string) string {
	fn = strings.TrimSpace(fn)
	if i := strings.IndexAny(fn, "+ "); i >= 0 {
		fn = fn[:i]
	}
	return oops.StripCloneSuffixes(fn)
}
