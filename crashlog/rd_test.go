package crashlog

import (
	"reflect"
	"testing"
)

func TestSeedReadsAndStackWords(t *testing.T) {
	s := seedSession(t)
	want := []Read{{Addr: 0xffff880061a03508, Size: 8, Words: []uint64{0xffff880fe9624868}, Line: 223}}
	if !reflect.DeepEqual(s.Reads, want) {
		t.Errorf("reads %+v", s.Reads)
	}
	if w, ok := s.Word(0xffff880061a03508); !ok || w != 0xffff880fe9624868 {
		t.Errorf("Word = %x %v", w, ok)
	}
	if _, ok := s.Word(0xffff880061a03510); ok {
		t.Error("Word past the read")
	}
	// The author's `bt -F` excerpt has no frame lines: its words are kept
	// here, slot by slot.
	wantWords := []StackWord{
		{Slot: 0xffff880061a03508, Cache: "skbuff_fclone_cache", Line: 216},
		{Slot: 0xffff880061a03510, Value: 0x22, Line: 216},
		{Slot: 0xffff880061a03518, Cache: "size-65536", Line: 217},
		{Slot: 0xffff880061a03520, Cache: "size-8192", Line: 217},
		{Slot: 0xffff880061a03528, Symbol: "ixgbe_netdev_ops", Line: 218},
		{Slot: 0xffff880061a03530, Value: 0xffff880061a03560, Line: 218},
		{Slot: 0xffff880061a03538, Symbol: "skb_checksum_help+138", Line: 219},
	}
	if !reflect.DeepEqual(s.StackWords, wantWords) {
		t.Errorf("stack words %+v", s.StackWords)
	}
}

// TestStackWordsInsideBt: the words of a real `bt -f` are kept with their
// slots too (they tie objects to the crashing stack), besides their frames.
func TestStackWordsInsideBt(t *testing.T) {
	s := scanStruct(t, readTestdata(t, "bt_flags.txt"))
	found := false
	for _, w := range s.StackWords {
		found = found || w.Slot == 0xffff880061a034d8 && w.Value == 0xffff880fe9624868 && w.Cache == "" && w.Symbol == ""
	}
	if !found || len(s.Reads) != 1 || s.Reads[0].Addr != 0xffffffffc03e9380 {
		t.Errorf("stack words %+v, reads %+v", s.StackWords, s.Reads)
	}
}

func TestParseRdLine(t *testing.T) {
	for _, tc := range []struct {
		cmd, line string
		ok        bool
		want      Read
	}{
		{"rd ffff880061a03508", "ffff880061a03508:  ffff880fe9624868                    hHb.....", true,
			Read{Addr: 0xffff880061a03508, Size: 8, Words: []uint64{0xffff880fe9624868}}},
		{"rd ffff880061a03508 4", "ffff880061a03508:  ffff880fe9624868 0000000000000022   hHb.....\".......", true,
			Read{Addr: 0xffff880061a03508, Size: 8, Words: []uint64{0xffff880fe9624868, 0x22}}},
		{"rd -x ffff880061a03508 2", "ffff880061a03508:  ffff880fe9624868 0000000000000022", true,
			Read{Addr: 0xffff880061a03508, Size: 8, Words: []uint64{0xffff880fe9624868, 0x22}}},
		{"rd -8 ffff880061a03508 4", "ffff880061a03508:  68 48 62 e9                                       hHb.", true,
			Read{Addr: 0xffff880061a03508, Size: 1, Words: []uint64{0x68, 0x48, 0x62, 0xe9}}},
		{"rd -32 ffff880061a03508 2", "ffff880061a03508:  e9624868 ffff880f                     hHb.....", true,
			Read{Addr: 0xffff880061a03508, Size: 4, Words: []uint64{0xe9624868, 0xffff880f}}},
		{"rd -d ffff880061a03508 2", "ffff880061a03508:            -1                   34   ........\"......", true,
			Read{Addr: 0xffff880061a03508, Size: 0, Words: []uint64{^uint64(0), 34}}},
		{"rd -s ffff880061a03530 2", "ffff880061a03530:  ffff880061a03560 skb_checksum_help+138 ", true,
			Read{Addr: 0xffff880061a03530, Size: 8, Words: []uint64{0xffff880061a03560, 0}, Symbols: []string{"", "skb_checksum_help+138"}}},
		{"rd ffff880061a03508", "ffff880061a03508: nonsense", false, Read{}},
		{"bt -f", "ffff880061a03508: ffff880fe9624868 0000000000000022", false, Read{}},
	} {
		c := parseRdCmd(tc.cmd)
		r, ok := parseRdLine(tc.line, c)
		if !c.ok {
			r, ok = parseRdStrict(tc.line)
		}
		if tc.want.Size == 0 && ok {
			tc.want.Size = r.Size // decimal: the width is not shown
		}
		if ok != tc.ok || ok && !reflect.DeepEqual(r, tc.want) {
			t.Errorf("%q / %q = %+v %v", tc.cmd, tc.line, r, ok)
		}
	}
}

func TestParseRdStrict(t *testing.T) {
	for line, ok := range map[string]bool{
		"ffffffffc03e9380:  ffff8afc013cd300                    ..<.....":      true,
		"f3a4c0c0:  00000000 00000000 f2c81a00 00000000   ................":    true,
		"ffff880061a03508: ffff880fe9624868                    hHb.....":       false, // one space: bt -f
		"ffff880061a03508:  ffff880fe9624868":                                  false, // no ASCII column
		"ffff880061a03508:  ffff880fe9624868 tcp_send":                         false, // one space before it
		"ffff880061a03508:  ffff880fe9624868                    hHb.....xxxxx": false, // too wide
		"ffff880061a03508:  [size-64]  ........":                               false,
		"1234:  ffff880fe9624868  ........":                                    false,
	} {
		if _, got := parseRdStrict(line); got != ok {
			t.Errorf("parseRdStrict(%q) = %v", line, got)
		}
	}
}
