package oops

import "testing"

// TestPrefilterCoversFormats: every format's own token passes the
// prefilter, so no header can be skipped by it.
func TestPrefilterCoversFormats(t *testing.T) {
	loadTables()
	for _, f := range formats {
		if !headerTokens.contains([]byte("[ 1.0] x " + f.token + " y")) {
			t.Errorf("token %q is not found by the prefilter", f.token)
		}
	}
	for _, l := range []string{"usb 1-1: new high-speed USB device number 2", "EXT4-fs (sda1): mounted filesystem", "", "a"} {
		if headerTokens.contains([]byte(l)) {
			t.Errorf("%q passes the prefilter", l)
		}
	}
}

func BenchmarkPrefilter(b *testing.B) {
	loadTables()
	line := []byte("[    1.234567] virtio_net virtio1 enp0s2: renamed from eth0 and some more text here")
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		headerTokens.contains(line)
	}
}
