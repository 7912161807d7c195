package kernel

import "testing"

// FuzzKallsymsScan feeds the scan's recognisers hostile memory: they must
// answer, never index out of range.
func FuzzKallsymsScan(f *testing.F) {
	idx := make([]byte, tokenIndexBytes)
	for i := 1; i < 256; i++ {
		idx[2*i] = byte(2 * i)
		idx[2*i+1] = byte(2 * i >> 8)
	}
	f.Add(idx, []byte("a\x00b\x00"), uint64(4), uint64(2))
	f.Fuzz(func(t *testing.T, idx, b []byte, dist, n uint64) {
		if len(idx) >= tokenIndexBytes {
			looksLikeTokenIndex(idx[:tokenIndexBytes])
			if dist <= uint64(len(b)) {
				tokenTableAt(b, idx[:tokenIndexBytes], dist)
			}
		}
		namesFit(b, n%(maxKallsyms+1), dist)
		nameOffset(b, int(n%1024))
	})
}
