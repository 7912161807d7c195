package hostroot

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// variedLog is n bytes of kernel log lines that differ, so that the
// compressors work as on a real log (unlike TestHugeLogStream's repeated
// line).
func variedLog(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Dec  5 01:%02d:%02d host1 kernel: [%6d.%06d] eth%d: tx timeout on queue %d, %x\n", i/60%60, i%60, i/1000, i*7919%1000000, i%4, i%16, uint32(i)*2654435761)
	}
	return b.Bytes()[:n]
}

// BenchmarkOpenArchive: the pass over a sosreport holding a 32 MiB log,
// by compression of the archive; bytes/s are the log's.
func BenchmarkOpenArchive(b *testing.B) {
	log := variedLog(32 << 20)
	plain := buildTar(b, []ent{{name: top + "/var/log/messages", body: string(log)}})
	for _, format := range []string{"", "gzip", "xz", "zstd", "bzip2"} {
		data := pack(b, format, plain)
		b.Run("tar+"+format, func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			for b.Loop() {
				_, err := OpenReader(bytes.NewReader(data), "b.tar", Options{Stream: func(_ string, _ Member, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
