package triage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/vmcores"
)

// TestGeneratedVmcores runs over every dump tools/gen-vmcores.sh makes (it
// runs when the cache is empty): each is opened in the format and page
// compression the generator wrote, its kernel log equals makedumpfile's
// byte for byte, and analyze finds the crash its console log shows.
func TestGeneratedVmcores(t *testing.T) {
	entries := vmcores.Manifest(t)
	dir := vmcores.Dir(t)
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	formats := map[string]bool{}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			path := abs(e.Path)
			d, k, err := OpenVmcore(path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			in := d.Info()
			wantFormat := map[string]dump.Format{"elf": dump.FormatELF, "kdump": dump.FormatKdump, "kdump-flattened": dump.FormatFlattened}[e.Format]
			if in.Format != wantFormat || string(in.Compression) != e.Compression {
				t.Errorf("format %s/%s, want %s/%s", in.Format, in.Compression, wantFormat, e.Compression)
			}
			formats[string(in.Format)+"/"+string(in.Compression)] = true
			var got bytes.Buffer
			if err := k.Dmesg(&got); err != nil {
				t.Fatalf("dmesg: %v", err)
			}
			want, err := os.ReadFile(abs(e.Dmesg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("dmesg differs from makedumpfile's (%d vs %d bytes)%s", got.Len(), len(want), firstDiff(got.String(), string(want)))
			}
			diag, err := Analyze([]string{path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(diag.Reports) == 0 || !strings.HasPrefix(diag.Reports[0].Title, "kernel BUG in ") {
				t.Errorf("reports %v", titlesOf(diag))
			}
			if e.Console != "" {
				fromLog, err := Analyze([]string{abs(e.Console)}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if a, b := titlesOf(diag), titlesOf(fromLog); len(b) == 0 || a[0] != b[0] {
					t.Errorf("dump %q, console %q", a, b)
				}
			}
		})
	}
	// No format the generator promises may go missing silently.
	for _, f := range []string{"elf/none", "kdump-compressed/zlib", "kdump-compressed/lzo", "flattened/zlib", "flattened/none"} {
		if !formats[f] {
			t.Errorf("no generated dump in %s", f)
		}
	}
}

func titlesOf(d *Diagnosis) []string {
	var out []string
	for _, r := range d.Reports {
		out = append(out, r.Title)
	}
	return out
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("\nfirst difference at line %d:\n got  %s\n want %s", i+1, al[i], bl[i])
		}
	}
	return ""
}
