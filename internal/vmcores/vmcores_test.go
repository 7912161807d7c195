package vmcores

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestManifestFiles checks every set (generating it when missing, as every test
// that uses it does): every entry's files exist with the recorded size, the formats
// are the ones the generator promises, and the manifest names the exact kernel
// package and its debug package.
func TestManifestFiles(t *testing.T) {
	for _, name := range Sets {
		t.Run(name, func(t *testing.T) {
			s := Require(t, name)
			if len(s.Entries) == 0 {
				t.Fatal("manifest lists no dumps")
			}
			if !strings.HasPrefix(s.Kernel, name+".") {
				t.Errorf("kernel %q is not of the %s series", s.Kernel, name)
			}
			if s.KernelPackageVersion == "" || s.KernelPackageVersion == "unknown" {
				t.Errorf("no kernel_package_version")
			}
			if want := "linux-image-" + s.Kernel + "-dbg=" + s.KernelPackageVersion; s.DebugPackage != want {
				t.Errorf("debug_package %q, want %q", s.DebugPackage, want)
			}
			formats := map[string]bool{"elf": true, "kdump": true, "kdump-flattened": true}
			for _, e := range s.Entries {
				fi, err := os.Stat(e.Path)
				if err != nil {
					t.Errorf("%s: %v", e.Name, err)
					continue
				}
				if fi.Size() != e.Size {
					t.Errorf("%s: size %d, manifest says %d", e.Name, fi.Size(), e.Size)
				}
				if !formats[e.Format] {
					t.Errorf("%s: unknown format %q", e.Name, e.Format)
				}
				if e.Kernel != s.Kernel {
					t.Errorf("%s: kernel %q, the set's is %q", e.Name, e.Kernel, s.Kernel)
				}
				if e.Dmesg == "" {
					t.Errorf("%s: no expected dmesg", e.Name)
				} else if b, err := os.ReadFile(e.Dmesg); err != nil || len(b) == 0 {
					t.Errorf("%s: expected dmesg %s unreadable or empty (%v)", e.Name, e.Dmesg, err)
				}
				if e.Oops == "" {
					t.Errorf("%s: no oops line in its dmesg", e.Name)
				}
			}
			if name == Set61 {
				if e := s.Lookup(t, "elf-qemu"); e.ElfPhoff == 64 {
					t.Errorf("elf-qemu: e_phoff 64, QEMU 7.2 puts section headers first")
				}
			}
		})
	}
}

// TestTcpskbGuest checks each set's tcpskb dump against its own kernel log: the
// process and skb the manifest records are the ones the dump's log names, and the
// kernel BUGged in __skb_checksum in that process. Its name says its dump level,
// and a level other than -d 31 has a quirk saying why.
func TestTcpskbGuest(t *testing.T) {
	oopsTask := regexp.MustCompile(`CPU: \d+ (?:UID: \d+ )?PID: (\d+) Comm: (\S+)`)
	for _, name := range Sets {
		t.Run(name, func(t *testing.T) {
			e := Require(t, name).Tcpskb(t)
			g := e.Guest
			if g == nil {
				t.Fatal("no guest record")
			}
			if want := fmt.Sprintf("%s%d", tcpskbPrefix, e.DumpLevel); e.Format != "kdump" || e.Name != want {
				t.Errorf("%s: format %s -d %d, want kdump named %s", e.Name, e.Format, e.DumpLevel, want)
			}
			// 6.1 has PG_slab, which makedumpfile 1.7.2 knows: no reason to leave -d 31
			if name == Set61 && e.DumpLevel != 31 {
				t.Errorf("%s: -d %d, want -d 31", e.Name, e.DumpLevel)
			}
			if e.DumpLevel != 31 && !strings.Contains(e.Quirk, "PG_slab") {
				t.Errorf("%s: -d %d and no quirk saying why: %q", e.Name, e.DumpLevel, e.Quirk)
			}
			if g.PID <= 1 || g.Comm != "tcpsend" || g.FD < 0 || g.Ino == 0 || g.Dev != "veth0" || g.Len <= 0 {
				t.Errorf("guest record %+v", *g)
			}
			for _, a := range []Addr{g.SKB, g.SK} {
				if a < 0xffff800000000000 {
					t.Errorf("guest record: %v is no kernel address", a)
				}
			}
			b, err := os.ReadFile(e.Dmesg)
			if err != nil {
				t.Fatal(err)
			}
			log := string(b)
			for _, want := range []string{
				fmt.Sprintf("tcpskb: pid=%d comm=%s fd=%d ino=%d local=%s remote=%s dev=%s len=%d\n",
					g.PID, g.Comm, g.FD, g.Ino, g.Local, g.Remote, g.Dev, g.Len),
				fmt.Sprintf("tcpskb: skb=%016x sk=%016x ", uint64(g.SKB), uint64(g.SK)),
				fmt.Sprintf(" data_len=%d headlen=", g.Len),
				"RIP: 0010:__skb_checksum+",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("dmesg lacks %q", want)
				}
			}
			if !strings.HasPrefix(e.Oops, "kernel BUG at net/core/skbuff.c:") {
				t.Errorf("oops %q", e.Oops)
			}
			i := strings.Index(log, "kernel BUG at")
			if i < 0 {
				t.Fatal("no kernel BUG in dmesg")
			}
			m := oopsTask.FindStringSubmatch(log[i:])
			if m == nil || m[1] != strconv.Itoa(g.PID) || m[2] != g.Comm {
				t.Errorf("the oops's task %v, the guest's pid=%d comm=%s", m, g.PID, g.Comm)
			}
		})
	}
}

// TestSetTcpskb: the tcpskb entry is found whatever its level, and only it.
func TestSetTcpskb(t *testing.T) {
	for _, c := range []struct {
		name  string
		names []string
		want  string // "" for none
	}{
		{"6.1", []string{"elf-qemu", "kdump-d31", "kdump-proc-d31", "tcpskb-kdump-d31"}, "tcpskb-kdump-d31"},
		{"6.12", []string{"elf-proc-vmcore", "kdump-proc-d31", "tcpskb-kdump-d1"}, "tcpskb-kdump-d1"},
		{"none", []string{"elf-proc-vmcore", "kdump-proc-d31"}, ""},
		{"empty", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s Set
			for _, n := range c.names {
				s.Entries = append(s.Entries, Entry{Name: n})
			}
			e, ok := s.tcpskb()
			if ok != (c.want != "") || e.Name != c.want {
				t.Errorf("tcpskb() = %q, %v; want %q", e.Name, ok, c.want)
			}
		})
	}
}

func TestParseSet(t *testing.T) {
	for _, c := range []struct {
		name, json string
		wantErr    bool
		version    string
		skb        Addr
	}{
		{"before kernel_package_version", `{"kernel_package": "6.1.192-3", "entries": [{"name": "flat"}]}`, false, "6.1.192-3", 0},
		{"current", `{"generator_version": 2, "kernel_package": "a", "kernel_package_version": "6.12.118-1~deb12u1",
			"entries": [{"name": "tcpskb-kdump-d31", "guest": {"pid": 5, "skb": "0xffff8bef93cd52e8", "sk": "0xffff8bef93c54c00"}}]}`,
			false, "6.12.118-1~deb12u1", 0xffff8bef93cd52e8},
		{"address not hex", `{"entries": [{"guest": {"skb": "0xzz"}}]}`, true, "", 0},
		{"address a number", `{"entries": [{"guest": {"skb": 12}}]}`, true, "", 0},
		{"address too big", `{"entries": [{"guest": {"skb": "0x1ffffffffffffffff"}}]}`, true, "", 0},
		{"not json", `{"entries": [`, true, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSet([]byte(c.json))
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if s.KernelPackageVersion != c.version {
				t.Errorf("kernel_package_version %q, want %q", s.KernelPackageVersion, c.version)
			}
			var skb Addr
			if g := s.Entries[0].Guest; g != nil {
				skb = g.SKB
			}
			if skb != c.skb {
				t.Errorf("skb %v, want %v", skb, c.skb)
			}
		})
	}
}

func FuzzParseSet(f *testing.F) {
	f.Add([]byte(`{"generator_version": 2, "entries": [{"name": "x", "guest": {"pid": 1, "skb": "0x10", "sk": "0x20"}}]}`))
	f.Add([]byte(`{"kernel_package": "1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSet(b)
		if err == nil && s == nil {
			t.Fatal("no set and no error")
		}
	})
}

func TestSetDir(t *testing.T) {
	t.Setenv("KTRIAGE_VMCORES", "/x/vmcores")
	t.Setenv("KTRIAGE_VMCORES_6_12", "")
	for set, want := range map[string]string{Set61: "/x/vmcores", Set612: "/x/vmcores-6.12", "5.10": ""} {
		if got := SetDir(set); got != want {
			t.Errorf("SetDir(%q) = %q, want %q", set, got, want)
		}
	}
	t.Setenv("KTRIAGE_VMCORES_6_12", "/y/612")
	if got := SetDir(Set612); got != "/y/612" {
		t.Errorf("SetDir(6.12) with KTRIAGE_VMCORES_6_12 = %q", got)
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines("a", 5); got != "a" {
		t.Errorf("lastLines = %q", got)
	}
}
