package kernel_test

import (
	"testing"
)

// TestKallsymsTypes: the nm type letters crash's sym prints: a global
// function T, a static one t, an exported variable D, a bss variable b or
// B, and an address inside a function its function's letter.
func TestKallsymsTypes(t *testing.T) {
	d, k, _ := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	defer d.Close()
	syms, err := k.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		types string // acceptable letters
	}{
		{"__skb_checksum", "T"},
		{"skb_checksum_help", "T"},
		{"init_task", "D"},
		{"init_uts_ns", "D"}, // jiffies_64 would not do: jiffies is its alias
		{"do_one_initcall", "T"},
	} {
		addr, typ, ok := syms.LookupType(c.name)
		if !ok {
			t.Errorf("%s: not found", c.name)
			continue
		}
		if !containsByte(c.types, typ) {
			t.Errorf("%s: type %q, want one of %q", c.name, typ, c.types)
		}
		name, off, typ2, ok := syms.AddrType(addr + 1)
		if !ok || name != c.name || off != 1 || typ2 != typ {
			t.Errorf("AddrType(%s+1) = %s+%d %q %v", c.name, name, off, typ2, ok)
		}
	}
	// A static function: its letter is lower case.
	statics := 0
	for _, n := range []string{"__skb_checksum_complete_head", "skb_checksum_setup_ip", "validate_xmit_skb"} {
		if _, typ, ok := syms.LookupType(n); ok && typ == 't' {
			statics++
		}
	}
	if statics == 0 {
		t.Error("no static function has type t")
	}
	if _, _, ok := syms.LookupType("no_such_symbol_at_all"); ok {
		t.Error("a missing name found")
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
