package dump

import "testing"

// The adversarial suite lives in package dump_test, so that it can run
// package kernel's Dmesg on what it opens; these give it the dumps this
// package's test builders make.

// Sample is one dump the tests make: the format it stands for (the suite
// counts outcomes by it) and its bytes.
type Sample struct {
	Format, Name string
	Bytes        []byte
}

// TinySamples are the small synthetic dumps of every container and page
// compression the tests build (no printk ring: their dmesg fails cleanly).
func TinySamples() []Sample {
	return []Sample{
		{"elf", "tiny-elf", tinyELF(false, false)},
		{"qemu-elf", "tiny-qemu-elf", tinyELF(true, false)},
		{"qemu-elf", "tiny-qemu-elf-pn-xnum", tinyELF(true, true)},
		{"kdump-zlib", "tiny-kdump-zlib", tinyKdump(encZlib, flagZlib)},
		{"kdump-lzo", "tiny-kdump-lzo", tinyKdump(encLZO, flagLZO)},
		{"kdump-snappy", "tiny-kdump-snappy", tinyKdump(encSnappy, flagSnappy)},
		{"kdump-zstd", "tiny-kdump-zstd", tinyKdump(encZstd, flagZstd)},
		{"kdump-raw", "tiny-kdump-raw", tinyKdump(encRaw, 0)},
		{"flattened", "tiny-flat-kdump", flatten(tinyKdump(encZlib, flagZlib), []int{512, 100})},
		{"flattened", "tiny-flat-elf", flatten(tinyELF(true, false), []int{64})},
	}
}

// ReencodedFixtures are the shared fixture kdump with its pages stored
// snappy- and zstd-compressed, which no real capture here makes, and
// uncompressed: dumps of those encodings with a printk ring to read. Only the page frames keep
// accepts are kept (the rest become excluded), so that the suite's
// mutants stay small.
func ReencodedFixtures(t testing.TB, keep func(pfn uint64) bool) []Sample {
	d, err := Open(fixturePath(t, "skbcsum-kdump", "vmcore.kdump-d31"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	re := func(enc func(uint64, []byte) ([]byte, uint32), status uint32) []byte {
		m := d.mem.(*kdumpMemory)
		in := d.Info()
		k := &kdumpFile{blockSize: in.PageSize, maxPFN: m.maxPFN, ram: m.ram, encode: enc, status: status,
			notes: noteBlob(in.Notes), vmcoreinfo: []byte(d.VMCOREINFO()), level: int32(in.DumpLevel),
			release: in.Release, machine: in.Arch, cpus: int32(in.CPUs), timestamp: in.CrashTime.Unix(), shareZero: true}
		d.PresentPages(func(pfn uint64) bool {
			if keep(pfn) {
				k.pfns = append(k.pfns, pfn)
			}
			return true
		})
		buf := make([]byte, in.PageSize)
		k.page = func(pfn uint64) []byte {
			if _, err := d.ReadPhys(buf, pfn*uint64(in.PageSize)); err != nil {
				t.Fatal(err)
			}
			return buf
		}
		return k.bytes()
	}
	return []Sample{
		{"kdump-snappy", "skbcsum-snappy", re(encSnappy, flagSnappy)},
		{"kdump-zstd", "skbcsum-zstd", re(encZstd, flagZstd)},
		// Pages stored verbatim: the suite can damage the log's memory.
		{"kdump-raw", "skbcsum-raw", re(encRaw, 0)},
	}
}

// FixturePath is the shared fixture kdump the samples above come from.
func FixturePath(t testing.TB) string { return fixturePath(t, "skbcsum-kdump", "vmcore.kdump-d31") }
