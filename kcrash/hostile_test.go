package kcrash_test

import (
	"strings"
	"testing"

	"github.com/ktriage/ktriage/kcrash"
)

// TestHostile: unmapped addresses, huge counts, unknown names and broken
// words give errors naming what was wrong, never a panic, and what is
// printed stays bounded.
func TestHostile(t *testing.T) {
	s := fixtureSession(t)
	for _, c := range []struct {
		line string
		// errHas is in the error ("" for no error); note in the text.
		errHas, note string
		maxText      int
	}{
		{line: "rd 0", errHas: "0x0"},
		{line: "rd dead000000000000 4", errHas: "0xdead000000000000"},
		{line: "rd ffffffffffffffff 2", errHas: "wraps"},
		{line: "rd skbcsum_bad_skb 0", errHas: "count 0"},
		{line: "rd _stext 99999999999", note: "8192 of 99999999999 words", maxText: 600 << 10},
		{line: "rd skbcsum_bad_skb 99999999999", errHas: "0xffffffffc03eb000", note: "8192 of 99999999999 words", maxText: 600 << 10},
		{line: "rd -8 skbcsum_bad_skb zz", errHas: `"zz"`},
		{line: "rd no_such_symbol_at_all", errHas: "no_such_symbol_at_all"},
		{line: "struct sk_buff 0", errHas: "0x0"},
		{line: "struct no_such_type ffff8afc013cd300", errHas: "no_such_type"},
		{line: "no_such_type ffff8afc013cd300", errHas: "no_such_type"},
		{line: "struct sk_buff.no_member ffff8afc013cd300", errHas: "no_member"},
		{line: "struct sk_buff", errHas: "needs an address"},
		{line: "struct list_head _stext 1000000", note: "64 of 1000000 objects", maxText: 64 << 10},
		{line: "struct sk_buff ffff8afc013cd300 1000000", note: "64 of 1000000 objects", maxText: 8 << 20},
		{line: "dis 0", errHas: "0x0"},
		{line: "dis _stext 100000", note: "4096 of 100000 instructions", maxText: 1 << 20},
		{line: "sym 0x100000000000", errHas: "0x100000000000"},
		{line: "sym no_such_symbol_at_all", errHas: "no_such_symbol_at_all"},
		{line: "p no_such_symbol_at_all", errHas: "no_such_symbol_at_all"},
		{line: "p _stext", errHas: "_stext"},
		{line: "files 999999", errHas: "999999"},
		{line: "net -s no_such_comm", errHas: "no_such_comm"},
		{line: "foreach vm", errHas: `"vm"`},
		{line: "foreach net -q", errHas: `"-q": not a flag of foreach net`},
		{line: "help nosuch", errHas: "nosuch"},
		{line: "ps 999999", errHas: "999999"},
		{line: "rd " + strings.Repeat("f", 100), errHas: "fff"},
		{line: strings.Repeat("x", kcrash.MaxLine+1), errHas: "longer than"},
	} {
		t.Run(c.line[:min(len(c.line), 40)], func(t *testing.T) {
			as := s.Exec(c.line)
			if len(as) != 1 {
				t.Fatalf("%d answers", len(as))
			}
			a := as[0]
			if c.errHas == "" && a.Err != nil {
				t.Fatalf("error %v", a.Err)
			}
			if c.errHas != "" && (a.Err == nil || !strings.Contains(a.Error(), c.errHas)) {
				t.Fatalf("error %v, want one naming %q", a.Err, c.errHas)
			}
			var b strings.Builder
			if err := a.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			max := c.maxText
			if max == 0 {
				max = 4096
			}
			if b.Len() > max {
				t.Errorf("%d bytes of output, bound %d", b.Len(), max)
			}
			if c.note != "" && !strings.Contains(b.String(), c.note) {
				t.Errorf("no note %q in %.300q", c.note, b.String())
			}
		})
	}
}
