package dump

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/testshared"
)

// fixtures lists the real vmcores: folder and dump file name.
var fixtures = []struct{ dir, file string }{
	{"skbcsum-kdump", "vmcore.kdump-d31"},
	{"sysrq-c-kdump", "vmcore.kdump-d31"},
	{"warn-kdump", "vmcore.kdump-d31"},
	{"skbbug-qmp", "vmcore.filtered-d31"},
}

func fixturePath(t testing.TB, dir, file string) string {
	return testshared.Path(t, filepath.Join("fixtures/vmcore", dir, file))
}

func openFixture(t testing.TB, dir, file string) *Dump {
	t.Helper()
	d, err := Open(fixturePath(t, dir, file))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var (
	verifyCrash = regexp.MustCompile(`CRASHTIME=(\d+) \((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\)`)
	verifyRIP   = regexp.MustCompile(`NT_PRSTATUS #(\d+) pid=(\d+) RIP=([0-9a-f]+) `)
	verifyRegs  = regexp.MustCompile(`\b([A-Z0-9]+)=([0-9a-f]{16})\b`)
)

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir, func(t *testing.T) {
			d := openFixture(t, fx.dir, fx.file)
			in := d.Info()
			if in.Format != "kdump-compressed" || in.Compression != "zlib" || in.Arch != "x86_64" || in.PageSize != 4096 {
				t.Errorf("info: format %q compression %q arch %q page size %d", in.Format, in.Compression, in.Arch, in.PageSize)
			}
			if in.DumpLevel != 31 || strings.Join(in.ExcludedClasses, ",") != "zero,cache,cache-private,user,free" {
				t.Errorf("dump level %d %v", in.DumpLevel, in.ExcludedClasses)
			}
			if in.Release != "6.1.0-56-cloud-amd64" {
				t.Errorf("release %q", in.Release)
			}
			if len(in.Warnings) > 0 {
				t.Errorf("warnings: %v", in.Warnings)
			}
			want, err := os.ReadFile(fixturePath(t, fx.dir, "vmcoreinfo.txt"))
			if err != nil {
				t.Fatal(err)
			}
			// vmcoreinfo.txt is the note's descriptor byte for byte: every
			// line, CRASHTIME's included, ends in "\n", nothing follows.
			if got := d.VMCOREINFO(); got != string(want) {
				t.Errorf("VMCOREINFO differs from vmcoreinfo.txt (%d vs %d bytes)", len(got), len(want))
			}
			prs := d.PRStatus()
			if len(prs) != in.CPUs {
				t.Errorf("%d NT_PRSTATUS notes, %d CPUs", len(prs), in.CPUs)
			}
			vpath := filepath.Join(filepath.Dir(fixturePath(t, fx.dir, fx.file)), "verify.txt")
			verify, err := os.ReadFile(vpath)
			if err != nil {
				if strings.HasSuffix(fx.dir, "-kdump") {
					t.Fatal(err)
				}
				if !in.CrashTime.IsZero() {
					t.Errorf("QEMU dump without CRASHTIME has crash time %v", in.CrashTime)
				}
				return
			}
			m := verifyCrash.FindSubmatch(verify)
			if m == nil {
				t.Fatal("verify.txt has no CRASHTIME")
			}
			sec, _ := strconv.ParseInt(string(m[1]), 10, 64)
			wt, _ := time.Parse("2006-01-02 15:04:05", string(m[2]))
			if !in.CrashTime.Equal(time.Unix(sec, 0)) || !in.CrashTime.Equal(wt) {
				t.Errorf("crash time %v, verify.txt says %s (%s)", in.CrashTime, m[1], m[2])
			}
			// Registers: each NT_PRSTATUS block of verify.txt.
			blocks := strings.Split(string(verify), "NT_PRSTATUS #")[1:]
			if len(blocks) != len(prs) {
				t.Fatalf("verify.txt has %d CPUs, dump %d", len(blocks), len(prs))
			}
			for i, b := range blocks {
				rm := verifyRIP.FindStringSubmatch("NT_PRSTATUS #" + b)
				if rm == nil {
					t.Fatalf("verify.txt block %d unparsed", i)
				}
				rip, _ := strconv.ParseUint(rm[3], 16, 64)
				pid, _ := strconv.Atoi(rm[2])
				if prs[i].Regs["RIP"] != rip || prs[i].PID != pid {
					t.Errorf("cpu %d: RIP %x pid %d, want %x %d", i, prs[i].Regs["RIP"], prs[i].PID, rip, pid)
				}
				for _, r := range verifyRegs.FindAllStringSubmatch(b, -1) {
					v, _ := strconv.ParseUint(r[2], 16, 64)
					if got, ok := prs[i].Regs[r[1]]; !ok || got != v {
						t.Errorf("cpu %d: %s = %x, want %x", i, r[1], got, v)
					}
				}
			}
		})
	}
}

// TestFixtureExcludedPage reads a page the dumpable bitmap excludes.
func TestFixtureExcludedPage(t *testing.T) {
	d := openFixture(t, "skbcsum-kdump", "vmcore.kdump-d31")
	m := d.mem.(*kdumpMemory)
	var excluded, hole uint64 = ^uint64(0), ^uint64(0)
	for pfn := uint64(0); pfn < m.maxPFN; pfn++ {
		if ok, err := m.dumpable(pfn); err != nil {
			t.Fatal(err)
		} else if ok {
			continue
		}
		if m.ram(pfn) && excluded == ^uint64(0) {
			excluded = pfn
		}
		if !m.ram(pfn) && hole == ^uint64(0) {
			hole = pfn
		}
	}
	if excluded == ^uint64(0) {
		t.Fatal("no excluded RAM page in a -d 31 dump")
	}
	buf := make([]byte, 16)
	n, err := d.ReadPhys(buf, excluded*4096+8)
	var pe *PageError
	if !errors.As(err, &pe) || pe.Kind != PageExcluded || n != 0 || pe.Addr != excluded*4096+8 {
		t.Fatalf("excluded pfn %d: n=%d err=%v", excluded, n, err)
	}
	if !strings.Contains(pe.Error(), "dump level 31") {
		t.Errorf("error does not say why: %v", pe)
	}
	if hole != ^uint64(0) {
		_, err := d.ReadPhys(buf, hole*4096)
		if !errors.As(err, &pe) || pe.Kind != PageAbsent {
			t.Errorf("hole pfn %d: %v", hole, err)
		}
	}
	if _, err := d.ReadPhys(buf, m.maxPFN*4096); !errors.As(err, &pe) || pe.Kind != PageAbsent {
		t.Errorf("past max_mapnr: %v", err)
	}
}

// TestFixtureVMCOREINFOPage finds the kernel's own copy of the VMCOREINFO
// text in physical memory and reads the page holding it.
func TestFixtureVMCOREINFOPage(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir, func(t *testing.T) {
			d := openFixture(t, fx.dir, fx.file)
			paddr, text, err := d.FindVMCOREINFO(0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(d.VMCOREINFO(), text) || len(text) < 1000 {
				t.Errorf("page at 0x%x holds %d bytes not a prefix of the note's VMCOREINFO", paddr, len(text))
			}
			// A read crossing into the page from the one before.
			buf := make([]byte, 64)
			if _, err := d.ReadPhys(buf, paddr); err != nil || !bytes.HasPrefix(buf, []byte("OSRELEASE=")) {
				t.Errorf("ReadPhys(0x%x): %v %q", paddr, err, buf)
			}
		})
	}
}
