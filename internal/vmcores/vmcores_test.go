package vmcores

import (
	"os"
	"testing"
)

// TestManifestFiles checks the generated cache (generating it when missing, as
// every test that uses it does): every entry's files exist with the recorded
// size, and the formats are the ones the generator promises.
func TestManifestFiles(t *testing.T) {
	entries := Manifest(t)
	if len(entries) == 0 {
		t.Fatal("manifest lists no dumps")
	}
	formats := map[string]bool{"elf": true, "kdump": true, "kdump-flattened": true}
	for _, e := range entries {
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
		if e.Dmesg == "" {
			t.Errorf("%s: no expected dmesg", e.Name)
		} else if b, err := os.ReadFile(e.Dmesg); err != nil || len(b) == 0 {
			t.Errorf("%s: expected dmesg %s unreadable or empty (%v)", e.Name, e.Dmesg, err)
		}
		if e.Oops == "" {
			t.Errorf("%s: no oops line in its dmesg", e.Name)
		}
	}
	if e := Lookup(t, "elf-qemu"); e.ElfPhoff == 64 {
		t.Errorf("elf-qemu: e_phoff 64, QEMU 7.2 puts section headers first")
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
