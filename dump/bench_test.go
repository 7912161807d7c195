package dump

import "testing"

// BenchmarkReadAllPages reads every dumped page of a fixture (16782 zlib
// pages) through ReadPhys, on a fresh Dump each time so that the cache
// does not serve them; b.SetBytes makes the figure MB/s of memory served.
func BenchmarkReadAllPages(b *testing.B) {
	path := fixturePath(b, "skbcsum-kdump", "vmcore.kdump-d31")
	buf := make([]byte, 4096)
	var pages int64
	for i := 0; i < b.N; i++ {
		d, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		pages = 0
		d.PresentPages(func(pfn uint64) bool {
			if _, err := d.ReadPhys(buf, pfn*4096); err != nil {
				b.Fatal(err)
			}
			pages++
			return true
		})
		d.Close()
	}
	b.SetBytes(pages * 4096)
	b.ReportMetric(float64(pages), "pages/op")
}
