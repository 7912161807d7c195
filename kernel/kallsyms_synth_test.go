package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// synthSym is one symbol for encodeKallsyms.
type synthSym struct {
	typ  byte
	name string
	addr uint64
}

const (
	synthOffsetsAddr = 0xffffffff81a00000
	synthBase        = 0xffffffff81000000
)

// encodeKallsyms lays symbols out as scripts/kallsyms.c does, with one
// token per printable character: long selects the 6.1+ two-byte lengths,
// enc the address encoding (under absolute-percpu, addresses below 2^31
// are the per-cpu ones stored as they are).
func encodeKallsyms(syms []synthSym, enc AddrEncoding, long bool) *kallsymsTables {
	t := &kallsymsTables{numSyms: uint32(len(syms)), want: map[string]uint64{},
		tokenIndex: make([]byte, tokenIndexBytes), offsetsAddr: synthOffsetsAddr,
		relativeBase: synthBase, hasRelativeBase: enc != EncPlaceRelative && enc != EncAbsolute}
	for b := 0; b < 256; b++ {
		binary.LittleEndian.PutUint16(t.tokenIndex[2*b:], uint16(len(t.tokenTable)))
		if b >= 0x20 && b < 0x7f {
			t.tokenTable = append(t.tokenTable, byte(b))
		}
		t.tokenTable = append(t.tokenTable, 0)
	}
	for i, s := range syms {
		n := 1 + len(s.name)
		if long && n > 0x7f {
			t.names = append(t.names, byte(n&0x7f|0x80), byte(n>>7))
		} else {
			t.names = append(t.names, byte(n))
		}
		t.names = append(t.names, s.typ)
		t.names = append(t.names, s.name...)
		switch enc {
		case EncAbsolute:
			t.addresses = binary.LittleEndian.AppendUint64(t.addresses, s.addr)
		case EncBaseRelative:
			t.offsets = binary.LittleEndian.AppendUint32(t.offsets, uint32(s.addr-synthBase))
		case EncAbsolutePercpu:
			o := uint32(s.addr)
			if s.addr >= 1<<31 {
				o = uint32(synthBase - s.addr - 1)
			}
			t.offsets = binary.LittleEndian.AppendUint32(t.offsets, o)
		case EncPlaceRelative:
			t.offsets = binary.LittleEndian.AppendUint32(t.offsets, uint32(s.addr-(synthOffsetsAddr+4*uint64(i))))
		}
		if s.name == "_stext" || s.name == "init_task" {
			t.want[s.name] = s.addr
		}
	}
	return t
}

func synthSyms(longName string) []synthSym {
	return []synthSym{
		{'D', "fixed_percpu_data", 0},
		{'D', "runqueues", 0x2c000},
		{'T', "_text", synthBase},
		{'T', "_stext", synthBase + 0x1000},
		{'t', "helper", synthBase + 0x1000},
		{'T', "do_thing", synthBase + 0x1040},
		{'t', longName, synthBase + 0x2000},
		{'t', "helper", synthBase + 0x3000},
		{'D', "init_task", synthBase + 0x800000},
	}
}

// TestDecodeKallsymsEncodings: every address encoding and both length
// formats decode, and validation picks the right one, including a 200-byte
// name whose one-byte length has bit 7 set (pre-6.1) and its two-byte
// form (6.1+).
func TestDecodeKallsymsEncodings(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, enc := range []AddrEncoding{EncAbsolute, EncBaseRelative, EncAbsolutePercpu, EncPlaceRelative} {
		for _, twoByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/two-byte-lengths=%v", enc, twoByte), func(t *testing.T) {
				syms := synthSyms(long)
				s, err := decodeKallsyms(encodeKallsyms(syms, enc, twoByte))
				if err != nil {
					t.Fatal(err)
				}
				if s.Encoding() != enc || s.Len() != len(syms) {
					t.Errorf("encoding %v, %d symbols", s.Encoding(), s.Len())
				}
				for _, sy := range syms {
					if a, ok := s.Lookup(sy.name); !ok || (a != sy.addr && sy.name != "helper") {
						t.Errorf("Lookup(%s) = %#x, %v; want %#x", sy.name, a, ok, sy.addr)
					}
				}
				if a, _ := s.Lookup("helper"); a != synthBase+0x1000 {
					t.Errorf("helper at %#x, want the lowest address", a)
				}
				for _, c := range []struct {
					addr uint64
					name string
					off  uint64
					ok   bool
				}{
					{synthBase + 0x1000, "_stext", 0, true},
					{synthBase + 0x1044, "do_thing", 4, true},
					{synthBase + 0x2fff, long, 0xfff, true},
					{0x2c008, "runqueues", 8, true},
					{synthBase - 1, "", 0, false},
					{synthBase + 0x800000 + maxSymbolSize, "", 0, false},
					{0xffffffffc0001000, "", 0, false},
				} {
					n, off, ok := s.Addr(c.addr)
					if n != c.name || off != c.off || ok != c.ok {
						t.Errorf("Addr(%#x) = %s+%#x, %v; want %s+%#x, %v", c.addr, n, off, ok, c.name, c.off, c.ok)
					}
				}
			})
		}
	}
}

// TestDecodeKallsymsDisagreement: a VMCOREINFO whose _stext matches no
// decoding gets a KallsymsError listing what each gave.
func TestDecodeKallsymsDisagreement(t *testing.T) {
	tb := encodeKallsyms(synthSyms("x"), EncAbsolutePercpu, true)
	tb.want["_stext"] = 0xffffffff82000000
	_, err := decodeKallsyms(tb)
	var ke *KallsymsError
	if !errors.As(err, &ke) || ke.Key != "SYMBOL(_stext)" || !strings.Contains(err.Error(), "absolute-percpu: _stext at 0xffffffff81001000, VMCOREINFO says 0xffffffff82000000") {
		t.Fatalf("error %v", err)
	}
	tb = encodeKallsyms(synthSyms("x"), EncBaseRelative, true)
	tb.want["init_task"]++
	if _, err := decodeKallsyms(tb); err == nil || !strings.Contains(err.Error(), "init_task at 0xffffffff81800000, VMCOREINFO says 0xffffffff81800001") {
		t.Fatalf("error %v", err)
	}
}

// FuzzKallsyms feeds arbitrary tables to the decoder: hdr gives the count,
// relative base, which tables exist and _stext's address; names, the token
// bytes (index then table) and the offsets or addresses come as they are.
// The decoder must not panic, must allocate by the bytes it was given (a
// count of millions with a few bytes is refused up front), and what it
// accepts must hold exactly the claimed count, with _stext where wanted.
func FuzzKallsyms(f *testing.F) {
	for _, enc := range []AddrEncoding{EncAbsolute, EncBaseRelative, EncAbsolutePercpu, EncPlaceRelative} {
		tb := encodeKallsyms(synthSyms(strings.Repeat("y", 130)), enc, enc != EncAbsolute)
		hdr := binary.LittleEndian.AppendUint32(nil, tb.numSyms)
		hdr = binary.LittleEndian.AppendUint64(hdr, tb.relativeBase)
		hdr = append(hdr, byte(enc))
		hdr = binary.LittleEndian.AppendUint64(hdr, tb.want["_stext"])
		tables := tb.offsets
		if enc == EncAbsolute {
			tables = tb.addresses
		}
		f.Add(hdr, tb.names, append(tb.tokenIndex, tb.tokenTable...), tables)
	}
	f.Fuzz(func(t *testing.T, hdr, names, tokens, addrs []byte) {
		if len(hdr) < 21 {
			return
		}
		tb := &kallsymsTables{
			numSyms:      binary.LittleEndian.Uint32(hdr),
			relativeBase: binary.LittleEndian.Uint64(hdr[4:]),
			names:        names,
			offsetsAddr:  synthOffsetsAddr,
			want:         map[string]uint64{"_stext": binary.LittleEndian.Uint64(hdr[13:])},
		}
		switch AddrEncoding(hdr[12] & 3) {
		case EncAbsolute:
			tb.addresses = addrs
		case EncBaseRelative, EncAbsolutePercpu:
			tb.offsets, tb.hasRelativeBase = addrs, true
		default:
			tb.offsets = addrs
		}
		if len(tokens) >= tokenIndexBytes {
			tb.tokenIndex, tb.tokenTable = tokens[:tokenIndexBytes], tokens[tokenIndexBytes:]
		}
		s, err := decodeKallsyms(tb)
		if err != nil {
			var ke *KallsymsError
			var me *MissingError
			if !errors.As(err, &ke) && !errors.As(err, &me) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if uint32(s.Len()) != tb.numSyms {
			t.Fatalf("%d symbols, table says %d", s.Len(), tb.numSyms)
		}
		// Validation put a symbol named _stext at the wanted address;
		// Lookup may prefer another of the name (a global one).
		want := tb.want["_stext"]
		if _, ok := s.Lookup("_stext"); !ok {
			t.Fatal("no _stext")
		}
		if n, off, ok := s.Addr(want); !ok || off != 0 {
			t.Fatalf("Addr(_stext %#x) = %s+%#x, %v", want, n, off, ok)
		}
	})
}
