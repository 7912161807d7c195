package dump

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seeds: small synthetic files (512-byte pages) of each format, so that
// the fuzzer mutates structure rather than page data. testdata/fuzz holds
// the same seeds for `go test` without -fuzz; KTRIAGE_WRITE_FUZZ_SEEDS=1
// rewrites them.

func tinyPage(pfn uint64) []byte {
	pg := make([]byte, 512)
	if pfn == 2 {
		return pg
	}
	for i := range pg {
		pg[i] = byte(i/7) + byte(pfn)
	}
	return pg
}

func tinyKdump(enc func(uint64, []byte) ([]byte, uint32), status uint32) []byte {
	k := &kdumpFile{blockSize: 512, maxPFN: 16, ram: func(p uint64) bool { return p < 12 }, pfns: []uint64{1, 2, 3, 9},
		page: tinyPage, encode: enc, status: status, shareZero: true,
		notes:      noteBlob([]Note{{Name: "CORE", Type: 1, Desc: prstatusDesc(1, 0xffffffff81000000)}, {Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.1\nPAGESIZE=512\nCRASHTIME=1\n")}}),
		vmcoreinfo: []byte("OSRELEASE=6.1\n"), level: 31, release: "6.1", machine: "x86_64", cpus: 1, timestamp: 1}
	return k.bytes()
}

func tinyELF(qemu, xnum bool) []byte {
	return elfCore([]Note{{Name: "CORE", Type: 1, Desc: prstatusDesc(1, 0xffffffff81000000)}, {Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.1\nPAGESIZE=4096\n")}},
		[]elfSeg{{paddr: 0x1000, data: tinyPage(1)[:300], memsz: 4096}, {paddr: 0x3000, data: tinyPage(3), memsz: 512}}, qemu, xnum)
}

func elfSeeds() [][]byte {
	return [][]byte{tinyELF(false, false), tinyELF(true, false), tinyELF(true, true)}
}

func kdumpSeeds() [][]byte {
	return [][]byte{tinyKdump(encZlib, flagZlib), tinyKdump(encLZO, flagLZO), tinyKdump(encSnappy, flagSnappy), tinyKdump(encZstd, flagZstd), tinyKdump(encRaw, 0)}
}

func flatSeeds() [][]byte {
	return [][]byte{flatten(tinyKdump(encZlib, flagZlib), []int{512, 100}), flatten(tinyELF(true, false), []int{64})}
}

func vmcoreinfoSeeds() [][]byte {
	return [][]byte{[]byte(testVMCOREINFO), []byte("OSRELEASE=6.1\nSYMBOL(x)=ff\nOFFSET(a.b)=8\nNUMBER(y)=0x10\nCRASHTIME=5"), []byte("bad\n=x\nA(=1\n"),
		[]byte("NUMBER(x)=0x7fffffffffffffff\r\nSIZE(a)=99999999999999999999\n=\n\x00OSRELEASE=x"), []byte("KERNELOFFSET=zz\nSYMBOL()=\nOFFSET(a.b)=-1\n")}
}

// exercise opens data and reads what it claims, which must never panic
// nor allocate beyond what the input's size justifies.
func exercise(t *testing.T, data []byte) {
	d, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)), "fuzz")
	if err != nil {
		if !strings.HasPrefix(err.Error(), "fuzz") {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	defer d.Close()
	_ = d.Info()
	_ = d.PRStatus()
	if s := d.VMCOREINFO(); s != "" {
		ParseVMCOREINFO(s)
	}
	buf := make([]byte, d.Info().PageSize+100)
	n := 0
	d.PresentPages(func(pfn uint64) bool {
		d.ReadPhys(buf, pfn*uint64(d.Info().PageSize)+uint64(n%7))
		n++
		return n < 64
	})
	for _, a := range []uint64{0, 4096, 1 << 20, ^uint64(0) - 10} {
		d.ReadPhys(buf, a)
	}
}

func addSeeds(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

// fuzzOpen opens and reads what the fuzzer makes of one container's seeds.
// The containers keep a target each, so that each keeps its own corpus.
func fuzzOpen(f *testing.F, seeds [][]byte) { addSeeds(f, seeds); f.Fuzz(exercise) }

func FuzzOpenELF(f *testing.F)       { fuzzOpen(f, elfSeeds()) }
func FuzzOpenKdump(f *testing.F)     { fuzzOpen(f, kdumpSeeds()) }
func FuzzOpenFlattened(f *testing.F) { fuzzOpen(f, flatSeeds()) }

// FuzzVMCOREINFOParse checks that any text parses into keys that write
// back as KEY=VALUE lines which parse, without error, into the same map.
func FuzzVMCOREINFOParse(f *testing.F) {
	addSeeds(f, vmcoreinfoSeeds())
	f.Fuzz(func(t *testing.T, data []byte) {
		vi, err := ParseVMCOREINFO(string(data))
		if vi == nil {
			if err == nil {
				t.Fatal("nil map without an error")
			}
			return
		}
		var b strings.Builder
		for k, v := range vi {
			if !validKey(k) || strings.ContainsAny(k, "=\n\x00") || strings.ContainsAny(v, "\n\x00") || strings.HasSuffix(v, "\r") {
				t.Fatalf("key %q value %q", k, v)
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
			vi.Symbol(k)
			vi.Number(k)
			vi.Size(k)
		}
		again, err := ParseVMCOREINFO(b.String())
		if err != nil || len(again) != len(vi) {
			t.Fatalf("re-parse of %q: %v (%d keys, want %d)", b.String(), err, len(again), len(vi))
		}
		for k, v := range vi {
			if again[k] != v {
				t.Fatalf("re-parse: %q=%q, want %q", k, again[k], v)
			}
		}
	})
}

// TestFuzzSeeds keeps the committed seed corpora in step with the
// generators, and checks that every seed opens.
func TestFuzzSeeds(t *testing.T) {
	write := os.Getenv("KTRIAGE_WRITE_FUZZ_SEEDS") == "1"
	for name, seeds := range map[string][][]byte{
		"FuzzOpenELF": elfSeeds(), "FuzzOpenKdump": kdumpSeeds(), "FuzzOpenFlattened": flatSeeds(), "FuzzVMCOREINFOParse": vmcoreinfoSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		for i, s := range seeds {
			if name != "FuzzVMCOREINFOParse" {
				if _, err := OpenReaderAt(bytes.NewReader(s), int64(len(s)), "seed"); err != nil {
					t.Errorf("%s seed %d: %v", name, i, err)
				}
			}
			p := filepath.Join(dir, fmt.Sprintf("seed-%d", i))
			enc := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if write {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(p, []byte(enc), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(p); err != nil || string(got) != enc {
				t.Errorf("%s is stale or missing: run with KTRIAGE_WRITE_FUZZ_SEEDS=1", p)
			}
		}
	}
}
