package triage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/ulikunitz/xz"
)

// hostsDir holds the host fixtures (hostfacts/testdata/hosts/README.md says
// what each is).
const hostsDir = "../hostfacts/testdata/hosts"

// archiveOf writes the tree at dir as a tar.xz in a temporary directory, as
// sos does: one top folder, mode and links kept.
func archiveOf(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || rel == "README.md" {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+"-sosreport.tar.xz")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostFoundingCase: the founding case's sosreport (RHEL 6, bond0 over
// eth0/eth1, offloads on, the skb_checksum BUG in messages and kdump's
// vmcore-dmesg.txt, an older skb_over_panic in a rotated file), read
// unpacked and as its archive, gives one host section: two crashes in two
// buckets, the known bug affecting every installed kernel, the workaround
// in force neither now nor after a reboot, and the ifcfg change that
// makes it persistent, appended to the ETHTOOL_OPTS already there.
func TestHostFoundingCase(t *testing.T) {
	dir := filepath.Join(hostsDir, "rhel6")
	var got []*Host
	for _, p := range []string{dir, archiveOf(t, dir)} {
		d, err := Analyze([]string{p}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		h := d.Host
		if h == nil {
			t.Fatalf("%s: no host section", p)
		}
		got = append(got, h)
		if h.Hostname != "hosta" || h.Running != "2.6.32-504.23.4.el6.x86_64" || len(h.Installed) != 3 {
			t.Errorf("%s: host %q running %q, %d kernels", p, h.Hostname, h.Running, len(h.Installed))
		}
		if len(h.Crashes) != 2 || len(h.Buckets) != 2 {
			t.Fatalf("%s: %d crashes in %d buckets, want 2 in 2: %+v", p, len(h.Crashes), len(h.Buckets), h.Crashes)
		}
		skb := h.Crashes[1]
		if skb.Title != "kernel BUG in dev_hard_start_xmit" || skb.Time != "2015-09-23T03:12:40Z" || len(skb.Logs) != 2 {
			t.Errorf("%s: the founding crash %+v, want it dated from messages and shown by vmcore-dmesg.txt too", p, skb)
		}
		if old := h.Crashes[0]; old.Title != "kernel BUG in tcp_sendmsg" || old.Time != "2015-09-14T02:14:30Z" || old.Logs[0] != "var/log/messages-20150920" {
			t.Errorf("%s: the older crash %+v", p, old)
		}
		if len(h.KnownBugs) != 1 || h.KnownBugs[0].ID != "tcp-trim-head-skb-data-len" {
			t.Fatalf("%s: known bugs %+v", p, h.KnownBugs)
		}
		b := h.KnownBugs[0]
		if b.Running == nil || b.Running.Affected == nil || !*b.Running.Affected || len(b.Installed) != 3 {
			t.Errorf("%s: exposure %+v %+v", p, b.Running, b.Installed)
		}
		w := b.Workaround
		if w == nil || w.Now != "no" || w.Persistent != "no" || len(w.Interfaces) != 2 {
			t.Fatalf("%s: workaround %+v", p, w)
		}
		for _, want := range []string{
			`+ETHTOOL_OPTS="-G eth0 rx 4096; -K eth0 rx off tx off tso off gso off gro off lro off"`,
			`+ETHTOOL_OPTS="-K eth1 rx off tx off tso off gso off gro off lro off"`,
		} {
			if !strings.Contains(w.Plan, want) {
				t.Errorf("%s: plan lacks %q:\n%s", p, want, w.Plan)
			}
		}
	}
	// The archive tells what the directory tells.
	a, b := *got[0], *got[1]
	a.Source, a.Path, b.Source, b.Path = "", "", "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("the archive's host section differs from the directory's:\n%s\n%s", ja, jb)
	}
	if got[0].Source != "sosreport" || got[1].Source != "sosreport-archive" {
		t.Errorf("sources %q %q", got[0].Source, got[1].Source)
	}
}

// TestHostFixtures: every host fixture, unpacked and archived, gives the
// facts its README states, and JSON that the host schema accepts.
func TestHostFixtures(t *testing.T) {
	sch, err := jsonschema.NewCompiler().Compile("testdata/host.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, host, running string
		crashes             int
		titles              []string
	}{
		{"rhel6", "hosta", "2.6.32-504.23.4.el6.x86_64", 2, nil},
		{"rhel8", "web-r8a", "4.18.0-372.26.1.el8_6.x86_64", 1, []string{"kernel BUG in tcp_gso_segment"}},
		{"rhel9", "db-r9b", "5.14.0-284.11.1.el9_2.x86_64", 1, nil},
		{"ubuntu2204", "gpu-node03", "5.15.0-91-generic", 1, nil},
		{"debian12-sos", "", "6.18.44-fc-v1272", 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(hostsDir, c.name)
			for _, p := range []string{dir, archiveOf(t, dir)} {
				d, err := Analyze([]string{p}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				h := d.Host
				if h == nil {
					t.Fatalf("%s: no host section", p)
				}
				if c.host != "" && h.Hostname != c.host || h.Running != c.running || len(h.Crashes) != c.crashes {
					t.Errorf("%s: host %q running %q, %d crashes %+v; want %q %q %d", p, h.Hostname, h.Running, len(h.Crashes), h.Crashes, c.host, c.running, c.crashes)
				}
				for i, want := range c.titles {
					if i < len(h.Crashes) && h.Crashes[i].Title != want {
						t.Errorf("%s: crash %d %q, want %q", p, i, h.Crashes[i].Title, want)
					}
				}
				raw, _ := json.Marshal(h)
				v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if err := sch.Validate(v); err != nil {
					t.Errorf("%s: host section against testdata/host.schema.json: %v", p, err)
				}
			}
		})
	}
}

// TestHostHostileArchive: a sosreport archive cut short, one whose member
// climbs out of the root, and one whose link points outside it each fail
// with an error naming the archive and the member; nothing is read as a
// host.
func TestHostHostileArchive(t *testing.T) {
	good := archiveOf(t, filepath.Join(hostsDir, "rhel6"))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut-sosreport.tar.xz")
	os.WriteFile(cut, data[:len(data)*2/3], 0o644)
	// gzip streams member by member: a cut names the member it fell in.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	xr, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, xr); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	cutGz := filepath.Join(t.TempDir(), "cut-sosreport.tar.gz")
	os.WriteFile(cutGz, gz.Bytes()[:gz.Len()*2/3], 0o644)

	build := func(name string, hdrs ...*tar.Header) string {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hdrs {
			tw.WriteHeader(h)
			if h.Typeflag == tar.TypeReg {
				tw.Write(make([]byte, h.Size))
			}
		}
		tw.Close()
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, buf.Bytes(), 0o644)
		return p
	}
	top := "sosreport-evil-2026/"
	dotdot := build("dotdot.tar", &tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: top + "sos_commands/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: top + "../../etc/cron.d/x", Typeflag: tar.TypeReg, Size: 4, Mode: 0o644})
	link := build("link.tar", &tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: top + "sos_commands/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: top + "var/log/messages", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/shadow", Mode: 0o777})
	for _, c := range []struct {
		path   string
		member string
	}{
		{cut, "xz data ends early"},
		{cutGz, "member"},
		{dotdot, "etc/cron.d/x"},
		{link, "var/log/messages"},
	} {
		_, err := Analyze([]string{c.path}, Options{})
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.member) {
			t.Errorf("%s: %v; want an error naming the archive and %s", c.path, err, c.member)
		}
	}
}
