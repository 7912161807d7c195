package hostroot

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"testing"
)

// FuzzOpenReader: any bytes read as an archive give a root or an error,
// never a panic, within the bounds given; every name in the root then
// resolves, opens and reads without a panic or an endless loop of links.
func FuzzOpenReader(f *testing.F) {
	ents := []ent{
		{name: top + "/etc/hostname", body: "host1\n"},
		{name: top + "/etc/localtime", typ: tar.TypeSymlink, link: "/usr/share/zoneinfo/UTC"},
		{name: top + "/usr/share/zoneinfo/UTC", body: "TZif2"},
		{name: top + "/loop", typ: tar.TypeSymlink, link: "/loop"},
		{name: top + "/a/b", typ: tar.TypeSymlink, link: "../a"},
		{name: top + "/h", typ: tar.TypeLink, link: top + "/etc/hostname"},
		{name: top + "/dev/null", typ: tar.TypeChar},
		{name: top + "/var/log/messages", body: kernLine},
	}
	plain := buildTar(f, ents)
	f.Add(plain)
	for _, format := range []string{"gzip", "xz", "zstd"} {
		f.Add(pack(f, format, plain))
	}
	f.Add(buildTar(f, []ent{{name: top + "/var/log/messages.1.gz", body: string(pack(f, "gzip", []byte(kernLine)))}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		const bound = 1 << 20
		var streamed int64
		r, err := OpenReader(bytes.NewReader(data), "fuzz.tar", Options{
			MaxFile: 64 << 10, MaxKept: bound, MaxTotal: bound,
			Stream: func(_ string, _ Member, r io.Reader) error {
				n, err := io.Copy(io.Discard, r)
				streamed += n
				return err
			},
		})
		if streamed > bound {
			t.Fatalf("streamed %d bytes, over the bound %d", streamed, bound)
		}
		if err != nil {
			return
		}
		fs.WalkDir(r, ".", func(name string, _ fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			r.Stat(name)
			r.ReadLink(name)
			if f, err := r.Open(name); err == nil {
				io.Copy(io.Discard, f)
				f.Close()
			}
			return nil
		})
	})
}
