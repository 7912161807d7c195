package ktypes_test

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/ktriage/ktriage/ktypes"
)

// tiny builds a BTF blob with the types the tests lay out by hand.
func tiny(t *testing.T) *ktypes.BTF {
	t.Helper()
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	u64 := &btf.Int{Name: "long unsigned int", Size: 8}
	inner := &btf.Struct{Size: 8, Members: []btf.Member{{Name: "a", Type: u32}, {Name: "b", Type: u32, Offset: 32}}}
	lh := &btf.Struct{Name: "list_head", Size: 16}
	lh.Members = []btf.Member{{Name: "next", Type: &btf.Pointer{Target: lh}}, {Name: "prev", Type: &btf.Pointer{Target: lh}, Offset: 64}}
	outer := &btf.Struct{Name: "outer", Size: 48, Members: []btf.Member{
		{Name: "x", Type: u64},
		{Name: "", Type: &btf.Union{Size: 8, Members: []btf.Member{{Name: "in", Type: inner}, {Name: "w", Type: u64}}}, Offset: 64},
		{Name: "arr", Type: &btf.Array{Index: u32, Type: u32, Nelems: 4}, Offset: 128},
		{Name: "bits", Type: u32, Offset: 259, BitfieldSize: 3},
	}}
	b, err := btf.NewBuilder([]btf.Type{outer, lh}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := ktypes.LoadBTF(raw, "test BTF")
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestMember(t *testing.T) {
	ts := tiny(t)
	outer, err := ts.Type("struct outer")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path      string
		off, bits uint64
		typ       string
	}{
		{"x", 0, 0, "long unsigned int"},
		{"in.b", 96, 0, "unsigned int"},
		{"w", 64, 0, "long unsigned int"},
		{"arr[2]", 128 + 64, 0, "unsigned int"},
		{"bits", 259, 3, "unsigned int"},
	} {
		f, err := ktypes.Member(outer, c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if f.Offset != c.off || uint64(f.BitfieldSize) != c.bits || ktypes.TypeName(f.Type) != c.typ {
			t.Errorf("%s: got off %d bits %d %s, want %d %d %s", c.path, f.Offset, f.BitfieldSize, ktypes.TypeName(f.Type), c.off, c.bits, c.typ)
		}
	}
	for _, bad := range []string{"nope", "arr[9]", "x.y", "arr[", "in.b[1]"} {
		if _, err := ktypes.Member(outer, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestVarAndDecl(t *testing.T) {
	ts := tiny(t)
	v, err := ts.Var("modules")
	if err != nil {
		t.Fatal(err)
	}
	if got := ktypes.TypeName(v); got != "struct list_head" {
		t.Errorf("modules: %s", got)
	}
	if _, err := ts.Var("no_such_global"); !errors.Is(err, ktypes.ErrNotFound) {
		t.Errorf("unknown global: %v", err)
	}
	for decl, want := range map[string]string{
		"struct list_head *":    "struct list_head *",
		"unsigned int [3]":      "unsigned int [3]",
		"struct outer *[2]":     "struct outer * [2]",
		"long unsigned int [2]": "long unsigned int [2]",
		"unsigned int [4][2]":   "unsigned int [4][2]",
	} {
		got, err := ktypes.ParseDecl(ts, decl)
		if err != nil {
			t.Errorf("%s: %v", decl, err)
		} else if ktypes.TypeName(got) != want {
			t.Errorf("%s: got %s", decl, ktypes.TypeName(got))
		}
	}
	if _, err := ktypes.ParseDecl(ts, "void"); err == nil {
		t.Error("void: no error")
	}
}

func TestLoadBTFRefusesGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, {0x9f, 0xeb, 1}, make([]byte, 64)} {
		if _, err := ktypes.LoadBTF(raw, "x"); err == nil {
			t.Errorf("%x: no error", raw)
		}
	}
}

// FuzzBTF feeds LoadBTF and type lookups hostile bytes: BTF read from a
// corrupt dump must give an error, never a panic.
func FuzzBTF(f *testing.F) {
	b, err := btf.NewBuilder([]btf.Type{&btf.Struct{Name: "s", Size: 4, Members: []btf.Member{{Name: "a", Type: &btf.Int{Name: "int", Size: 4}}}}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, err := ktypes.LoadBTF(raw, "fuzz")
		if err != nil {
			return
		}
		if s, err := ts.Type("s"); err == nil {
			_, _ = ktypes.Member(s, "a")
			_ = ktypes.TypeName(s)
		}
		_, _ = ts.Var("modules")
	})
}
