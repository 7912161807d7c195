package kernel_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kernel"
)

// The fixtures: real Debian 6.1 vmcores (lockless ring, KASLR, -d 31), each
// beside the output of `makedumpfile --dump-dmesg` on it.
var fixtures = []struct{ dir, file string }{
	{"skbbug-qmp", "vmcore.filtered-d31"},
	{"skbcsum-kdump", "vmcore.kdump-d31"},
	{"sysrq-c-kdump", "vmcore.kdump-d31"},
	{"warn-kdump", "vmcore.kdump-d31"},
}

func openFixture(t testing.TB, dir, file string) (*dump.Dump, *kernel.Kernel, []byte) {
	t.Helper()
	path := testshared.Path(t, filepath.Join("fixtures/vmcore", dir, file))
	want, err := os.ReadFile(testshared.Path(t, filepath.Join("fixtures/vmcore", dir, "dmesg.makedumpfile.txt")))
	if err != nil {
		t.Fatal(err)
	}
	d, err := dump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.New(d, d.VMCOREINFO())
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, k, want
}

func TestFixtureDmesg(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.dir, func(t *testing.T) {
			d, k, want := openFixture(t, f.dir, f.file)
			defer d.Close()
			if g := k.DmesgGeneration(); g != kernel.GenLockless {
				t.Errorf("generation %v", g)
			}
			if !strings.HasPrefix(k.Release(), "6.1.0-") {
				t.Errorf("release %q", k.Release())
			}
			var got bytes.Buffer
			if err := k.Dmesg(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatal(lineDiff(got.String(), string(want)))
			}
		})
	}
}

// TestFixtureTranslate checks the direct map found in the page tables
// against what VMCOREINFO says lives in it: mem_section is a direct-map
// pointer, and the kernel's own utsname must read as OSRELEASE.
func TestFixtureTranslate(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.dir, func(t *testing.T) {
			d, k, _ := openFixture(t, f.dir, f.file)
			defer d.Close()
			po, ok := k.PageOffset()
			if !ok || po&(1<<30-1) != 0 || po < 0xffff800000000000 {
				t.Fatalf("page offset %#x, %v", po, ok)
			}
			vi := k.VMCOREINFO()
			ms, _ := vi.Symbol("mem_section")
			if pa, err := k.Translate(ms); err != nil || pa != ms-po {
				t.Errorf("mem_section %#x: %#x, %v (page offset %#x)", ms, pa, err, po)
			}
			uts, _ := vi.Symbol("init_uts_ns")
			off, _ := vi.Offset("uts_namespace.name")
			rel := make([]byte, 65)
			if _, err := k.ReadVirt(rel, uts+uint64(off)+2*65); err != nil {
				t.Fatal(err)
			}
			if got := string(bytes.TrimRight(rel, "\x00")); got != k.Release() {
				t.Errorf("utsname release %q, OSRELEASE %q", got, k.Release())
			}
		})
	}
}

// lineDiff shows the first differing line.
func lineDiff(got, want string) string {
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "dmesg differs from makedumpfile at line " + strconv.Itoa(i+1) + ":\n  got:  " + strconv.Quote(gl) + "\n  want: " + strconv.Quote(wl)
		}
	}
	return "outputs differ"
}

// BenchmarkDmesg is `ktriage dmesg` on a fixture: kernel.New and Dmesg
// over an open dump, and the same with opening the dump. makedumpfile
// 1.7.2 takes about 6 ms for the whole job on this file.
func BenchmarkDmesg(b *testing.B) {
	f := fixtures[2]
	d, _, want := openFixture(b, f.dir, f.file)
	defer d.Close()
	b.Run("dmesg", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		for b.Loop() {
			dmesgOf(b, d)
		}
	})
	b.Run("open+dmesg", func(b *testing.B) {
		path := testshared.Path(b, filepath.Join("fixtures/vmcore", f.dir, f.file))
		b.SetBytes(int64(len(want)))
		for b.Loop() {
			d, err := dump.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			dmesgOf(b, d)
			d.Close()
		}
	})
}

// dmesgOf is one iteration of BenchmarkDmesg: the kernel of d, and its log.
func dmesgOf(b *testing.B, d *dump.Dump) {
	k, err := kernel.New(d, d.VMCOREINFO())
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := k.Dmesg(&out); err != nil {
		b.Fatal(err)
	}
}
