package hostroot

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

const top = "sosreport-host1-2026-12-05-abcdef"

const kernLine = "Dec  5 01:02:03 host1 kernel: [  120.000000] skbuff: skb_over_panic: text:ffffffff81000000 len:4 put:4\n"

// sosTree is a small sosreport with its logs compressed in each way.
func sosTree(t testing.TB, withBzip2 bool) (ents []ent, logs map[string]string) {
	logs = map[string]string{
		"var/log/messages":                          strings.Repeat(kernLine, 3),
		"var/log/messages-20261201.gz":              strings.Repeat(kernLine, 5),
		"var/log/kern.log.1.xz":                     "kern.log one\n",
		"var/log/dmesg.0.zst":                       "dmesg zero\n",
		"sos_commands/kernel/dmesg_-T":              "dmesg -T\n",
		"var/crash/127.0.0.1-2026/vmcore-dmesg.txt": "vmcore dmesg\n",
	}
	if withBzip2 {
		logs["var/log/syslog.2.bz2"] = "syslog two\n"
	}
	formats := map[string]string{".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".bz2": "bzip2"}
	ents = []ent{
		{name: top + "/", typ: tar.TypeDir},
		{name: top + "/etc/", typ: tar.TypeDir},
		{name: top + "/etc/hostname", body: "host1\n"},
		{name: top + "/etc/hostname.hard", typ: tar.TypeLink, link: top + "/etc/hostname"},
		{name: top + "/etc/localtime", typ: tar.TypeSymlink, link: "/usr/share/zoneinfo/Europe/Paris"},
		{name: top + "/usr/share/zoneinfo/Europe/Paris", body: "TZif2"},
		{name: top + "/etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
		{name: top + "/usr/lib/os-release", body: "ID=rhel\n"},
		{name: top + "/etc/systemd/network/99-default.link", typ: tar.TypeSymlink, link: "/dev/null"},
		{name: top + "/dev/null", typ: tar.TypeChar},
		{name: top + "/run/initctl", typ: tar.TypeFifo},
		{name: top + "/sos_commands/block/big", body: strings.Repeat("x", 300)},
		{name: top + "/uname", typ: tar.TypeSymlink, link: "sos_commands/kernel/uname_-a"},
		{name: top + "/sos_commands/kernel/uname_-a", body: "Linux host1 6.1.0\n"},
	}
	for _, n := range slices.Sorted(maps.Keys(logs)) {
		body := []byte(logs[n])
		if f, ok := formats[filepath.Ext(n)]; ok {
			body = pack(t, f, body)
		}
		ents = append(ents, ent{name: top + "/" + n, body: string(body), mt: mtime.Add(time.Hour)})
	}
	return ents, logs
}

// collect is a Stream that keeps what it is given.
type collect struct {
	got  map[string]string
	info map[string]Member
}

func newCollect() *collect { return &collect{got: map[string]string{}, info: map[string]Member{}} }

func (c *collect) stream(name string, m Member, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.got[name] = string(b)
	c.info[name] = m
	return nil
}

// TestOpenArchive: each compression of the same sosreport gives the same
// root: logs streamed decompressed, the rest kept, links resolved under
// the root, devices and large files listed as skipped.
func TestOpenArchive(t *testing.T) {
	for _, format := range []string{"", "gzip", "xz", "zstd", "bzip2"} {
		t.Run("tar+"+format, func(t *testing.T) {
			ents, logs := sosTree(t, format == "bzip2")
			data := pack(t, format, buildTar(t, ents))
			c := newCollect()
			r, err := OpenReader(bytes.NewReader(data), "sos.tar", Options{Stream: c.stream, MaxFile: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Kind != Archive || r.Top != top {
				t.Errorf("kind %v, top %q", r.Kind, r.Top)
			}
			for n, want := range logs {
				if c.got[n] != want {
					t.Errorf("stream %s: %q, want %q", n, c.got[n], want)
				}
				if _, err := r.Open(n); !errors.Is(err, ErrStreamed) {
					t.Errorf("open streamed %s: %v", n, err)
				}
				if mt, err := r.ModTime(n); err != nil || !mt.Equal(mtime.Add(time.Hour)) {
					t.Errorf("ModTime(%s) = %v, %v", n, mt, err)
				}
			}
			if len(c.got) != len(logs) {
				t.Errorf("streamed %d files, want %d", len(c.got), len(logs))
			}
			if got := c.info["var/log/messages-20261201.gz"].Compression; got != "gzip" {
				t.Errorf("compression of the .gz log: %q", got)
			}
			for name, want := range map[string]string{
				"etc/hostname":      "host1\n",
				"etc/hostname.hard": "host1\n",
				"etc/localtime":     "TZif2",
				"etc/os-release":    "ID=rhel\n",
				"uname":             "Linux host1 6.1.0\n",
			} {
				b, err := fs.ReadFile(r, name)
				if err != nil || string(b) != want {
					t.Errorf("read %s: %q, %v; want %q", name, b, err, want)
				}
			}
			if l, err := fs.ReadLink(r, "etc/localtime"); err != nil || l != "/usr/share/zoneinfo/Europe/Paris" {
				t.Errorf("readlink: %q, %v", l, err)
			}
			// A link to /dev/null does not open (the device is not held)
			// and reads as the link remedy knows a masked file by.
			if _, err := r.Open("etc/systemd/network/99-default.link"); !errors.Is(err, ErrSkipped) {
				t.Errorf("open link to /dev/null: %v", err)
			}
			var skipped []string
			for _, s := range r.Skipped {
				skipped = append(skipped, s.Name+":"+s.Reason.String())
			}
			wantSkipped := []string{"dev/null:" + Special.String(), "run/initctl:" + Special.String(), "sos_commands/block/big:" + TooLarge.String()}
			if !slices.Equal(skipped, wantSkipped) {
				t.Errorf("skipped %q, want %q", skipped, wantSkipped)
			}
			if fi, err := r.Stat("sos_commands/block/big"); err != nil || fi.Size() != 300 {
				t.Errorf("stat of the skipped file: %v, %v", fi, err)
			}
			ents2, err := fs.ReadDir(r, "etc")
			var names []string
			for _, e := range ents2 {
				names = append(names, e.Name())
			}
			if err != nil || !slices.Equal(names, []string{"hostname", "hostname.hard", "localtime", "os-release", "systemd"}) {
				t.Errorf("readdir etc: %q, %v", names, err)
			}
		})
	}
}

// TestFSContract: a root of kept files passes testing/fstest.
func TestFSContract(t *testing.T) {
	data := buildTar(t, []ent{
		{name: top + "/etc/hostname", body: "host1\n"},
		{name: top + "/etc/a/b/c", body: "c"},
		{name: top + "/etc/link", typ: tar.TypeSymlink, link: "a/b"},
		{name: top + "/etc/abs", typ: tar.TypeSymlink, link: "/etc/hostname"},
		{name: top + "/var/log/messages", body: "m\n"},
	})
	r, err := OpenReader(bytes.NewReader(data), "sos.tar", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(r, "etc/hostname", "etc/a/b/c", "var/log/messages"); err != nil {
		t.Fatal(err)
	}
}

// TestHostile: every hostile archive ends Open with an error naming the
// archive and the member.
func TestHostile(t *testing.T) {
	log := strings.Repeat(kernLine, 100)
	plain := buildTar(t, []ent{
		{name: top + "/etc/hostname", body: "host1\n"},
		{name: top + "/var/log/messages", body: log},
	})
	// The offset of the log's data: its header follows the first member.
	logData := bytes.Index(plain, []byte(kernLine))
	corruptGz := pack(t, "gzip", []byte(log))
	corruptGz[len(corruptGz)-6] ^= 0xff // its CRC32
	gzArchive := pack(t, "gzip", plain)
	bomb := make([]byte, 8<<20)
	z := pack(t, "zstd", buildTar(t, []ent{{name: top + "/var/log/messages", body: string(variedLog(4 << 20))}}))
	truncZstd := z[:len(z)*6/10]
	for _, c := range []struct {
		name   string
		data   []byte
		opt    Options
		member string
		is     error
		text   string
	}{
		{name: "absolute", data: buildTar(t, []ent{{name: "/etc/shadow", body: "x"}}), member: "/etc/shadow", is: ErrUnsafe, text: "absolute"},
		{name: "dotdot", data: buildTar(t, []ent{{name: top + "/etc/x", body: "x"}, {name: top + "/../../etc/shadow", body: "x"}}), member: top + "/../../etc/shadow", is: ErrUnsafe, text: ".."},
		{name: "relative link escapes", data: buildTar(t, []ent{{name: top + "/etc/evil", typ: tar.TypeSymlink, link: "../../etc/shadow"}}), member: top + "/etc/evil", is: ErrUnsafe, text: "above the top folder"},
		{name: "member through a link", data: buildTar(t, []ent{{name: top + "/l", typ: tar.TypeSymlink, link: "/etc"}, {name: top + "/l/passwd", body: "x"}}), member: top + "/l/passwd", is: ErrUnsafe, text: "not a directory"},
		{name: "outside the top folder", data: buildTar(t, []ent{{name: top + "/etc/x", body: "x"}, {name: "other/x", body: "x"}}), member: "other/x", is: ErrUnsafe, text: "outside the top folder"},
		{name: "hard link to nothing", data: buildTar(t, []ent{{name: top + "/etc/x", typ: tar.TypeLink, link: top + "/etc/y"}}), member: top + "/etc/x", is: ErrUnsafe, text: "hard link"},
		{name: "hard link escapes", data: buildTar(t, []ent{{name: top + "/etc/x", typ: tar.TypeLink, link: "../etc/shadow"}}), member: top + "/etc/x", is: ErrUnsafe},
		{name: "truncated in a member", data: plain[:logData+1000], member: top + "/var/log/messages", is: io.ErrUnexpectedEOF, text: "at byte "},
		{name: "truncated at a member's end", data: plain[:logData+(len(log)+511)/512*512], is: io.ErrUnexpectedEOF, text: "end-of-archive"},
		{name: "truncated gzip archive", data: gzArchive[:len(gzArchive)/2], is: io.ErrUnexpectedEOF, text: "ends early"},
		{name: "corrupt gzip archive", data: append(bytes.Clone(gzArchive[:len(gzArchive)-8]), 1, 2, 3, 4, 5, 6, 7, 8), text: "gzip"},
		{name: "corrupt compressed log", data: buildTar(t, []ent{{name: top + "/var/log/messages.1.gz", body: string(corruptGz)}}), member: top + "/var/log/messages.1.gz", text: "gzip"},
		{name: "truncated compressed log", data: buildTar(t, []ent{{name: top + "/var/log/messages.1.gz", body: string(corruptGz[:len(corruptGz)/2])}}), member: top + "/var/log/messages.1.gz", is: io.ErrUnexpectedEOF},
		{name: "bomb archive", data: pack(t, "zstd", buildTar(t, []ent{{name: top + "/zero", body: string(bomb)}})), opt: Options{MaxTotal: 1 << 20}, member: top + "/zero", is: ErrTooLarge},
		{name: "bomb log", data: buildTar(t, []ent{{name: top + "/var/log/messages.2.xz", body: string(pack(t, "xz", bomb))}}), opt: Options{MaxTotal: 1 << 20}, member: top + "/var/log/messages.2.xz", is: ErrTooLarge},
		{name: "kept too much", data: buildTar(t, []ent{{name: top + "/a", body: "0123456789"}, {name: top + "/b", body: "0123456789"}}), opt: Options{MaxKept: 300}, member: top + "/b", is: ErrTooLarge},
		{name: "many empty members", data: buildTar(t, manyEmpty(2000)), opt: Options{MaxKept: 100 << 10}, is: ErrTooLarge, text: "keeping"},
		{name: "name over PATH_MAX", data: buildTar(t, []ent{{name: top + "/" + strings.Repeat("d/", 3000), typ: tar.TypeDir}}), is: ErrUnsafe, text: "PATH_MAX"},
		{name: "truncated zstd archive", data: truncZstd, member: top + "/var/log/messages", is: io.ErrUnexpectedEOF},
		{name: "not an archive", data: []byte(strings.Repeat(kernLine, 10)), is: ErrNotArchive},
		{name: "empty", data: nil, is: ErrNotArchive},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Stream == nil {
				c.opt.Stream = func(_ string, _ Member, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				}
			}
			_, err := OpenReader(bytes.NewReader(c.data), "hostile.tar", c.opt)
			if err == nil {
				t.Fatal("opened")
			}
			t.Log(err)
			var ae *ArchiveError
			if !errors.As(err, &ae) || ae.Archive != "hostile.tar" {
				t.Fatalf("%v: not an ArchiveError naming the archive", err)
			}
			if c.member != "" && ae.Member != c.member {
				t.Errorf("%v: member %q, want %q", err, ae.Member, c.member)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%v: does not wrap %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("%v: does not say %q", err, c.text)
			}
			if strings.Contains(c.name, "truncated in") && ae.Offset <= int64(logData) {
				t.Errorf("offset %d, want past %d", ae.Offset, logData)
			}
		})
	}
}

// TestStreamErrors: Stream's error ends Open naming the member, and a
// read error a Stream drops still does.
func TestStreamErrors(t *testing.T) {
	corrupt := pack(t, "gzip", []byte(kernLine))
	corrupt[len(corrupt)-6] ^= 0xff
	data := buildTar(t, []ent{{name: top + "/var/log/messages", body: kernLine}, {name: top + "/var/log/messages.1.gz", body: string(corrupt)}})
	boom := errors.New("boom")
	_, err := OpenReader(bytes.NewReader(data), "s.tar", Options{Stream: func(string, Member, io.Reader) error { return boom }})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), top+"/var/log/messages") {
		t.Errorf("stream error: %v", err)
	}
	_, err = OpenReader(bytes.NewReader(data), "s.tar", Options{Stream: func(_ string, _ Member, r io.Reader) error {
		io.Copy(io.Discard, r)
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "messages.1.gz") {
		t.Errorf("dropped read error: %v", err)
	}
}

// TestOpenFile: Open takes an archive file or a named pipe, and refuses
// what is neither.
func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	data := pack(t, "gzip", buildTar(t, []ent{{name: top + "/etc/hostname", body: "h\n"}}))
	file := filepath.Join(dir, "sosreport.tar.gz")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.Write(data)
			f.Close()
		}
	}()
	for _, p := range []string{file, fifo} {
		r, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := fs.ReadFile(r, "etc/hostname"); err != nil || string(b) != "h\n" || r.Path != p {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	if _, err := Open("/dev/null", Options{}); !errors.Is(err, ErrNotArchive) {
		t.Errorf("open /dev/null: %v", err)
	}
}

// TestNotSosreport: an archive of a host's / (made with tar -C / .) has no
// top folder: names start at its root, "./" dropped.
func TestNotSosreport(t *testing.T) {
	data := buildTar(t, []ent{
		{name: "./", typ: tar.TypeDir},
		{name: "./etc/hostname", body: "h\n"},
		{name: "./var/log/messages", body: kernLine},
	})
	c := newCollect()
	r, err := OpenReader(bytes.NewReader(data), "root.tar", Options{Stream: c.stream})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(r, "etc/hostname"); r.Top != "" || err != nil || string(b) != "h\n" || c.got["var/log/messages"] != kernLine {
		t.Errorf("top %q, hostname %q %v, streamed %q", r.Top, b, err, c.got)
	}
}

func manyEmpty(n int) []ent {
	var out []ent
	for i := range n {
		out = append(out, ent{name: fmt.Sprintf("%s/proc/%d/empty", top, i)})
	}
	return out
}
