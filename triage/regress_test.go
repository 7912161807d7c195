package triage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// edit writes a transcript of testdata/transcripts changed by fn to a
// temporary file and analyzes it.
func editAnalyze(t *testing.T, name string, fn func(lines []string) []string) *Diagnosis {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "transcripts", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := fn(strings.Split(string(b), "\n"))
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Analyze([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func insertAfter(lines []string, prefix string, add ...string) []string {
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			out := append([]string{}, lines[:i+1]...)
			out = append(out, add...)
			return append(out, lines[i+1:]...)
		}
	}
	return lines
}

func stackLink(d *Diagnosis) string {
	if d.Owner == nil || len(d.Owner.Links) == 0 {
		return ""
	}
	return string(d.Owner.Links[0].Proof)
}

// TestStackWordsProveTheSKB: words of a `bt -f` frame and `bt -FF`'s
// "[address:cache]" form both tie the dumped skb to the crashing stack.
func TestStackWordsProveTheSKB(t *testing.T) {
	if got := stackLink(editAnalyze(t, "owner-stack-dumped.txt", func(l []string) []string { return l })); got != "inferred" {
		t.Fatalf("baseline stack link %q", got)
	}
	btf := editAnalyze(t, "owner-stack-dumped.txt", func(l []string) []string {
		return insertAfter(l, "#6 [ffff8801f7c0ba28] __kfree_skb", "    ffff8801f7c0ba30: ffff8801f3d29a68 ffff8801f7c0ba40 ")
	})
	if got := stackLink(btf); got != "proven" {
		t.Errorf("bt -f words: stack link %q", got)
	}
	btff := editAnalyze(t, "owner-stack-dumped.txt", func(l []string) []string {
		return append(l, "crash> bt -FF", "    ffff8801f7c0ba30: [ffff8801f3d29a68:skbuff_fclone_cache] ffff8801f7c0ba40 ")
	})
	if got := stackLink(btff); got != "proven" {
		t.Errorf("bt -FF words: stack link %q", got)
	}
}

// TestLostLineNoVerdict: a dump that lost the "}, {" between two frags is
// not complete, and gives no error.
func TestLostLineNoVerdict(t *testing.T) {
	d := editAnalyze(t, "consistent.txt", func(l []string) []string {
		for i, x := range l {
			if strings.TrimSpace(x) == "}, {" {
				return append(append([]string{}, l[:i]...), l[i+1:]...)
			}
		}
		t.Fatal("no }, { line")
		return l
	})
	for _, f := range d.Findings {
		if f.Severity == "error" {
			t.Errorf("invented %s: %s", f.Check, f.Message())
		}
	}
}

// TestPointerLayoutWithoutEnd: a 32-bit skb whose end line was lost is
// still read with the pointer layout.
func TestPointerLayoutWithoutEnd(t *testing.T) {
	d := editAnalyze(t, "skb32-consistent.txt", func(l []string) []string {
		var out []string
		for _, x := range l {
			if !strings.HasPrefix(strings.TrimSpace(x), "end = ") {
				out = append(out, x)
			}
		}
		return out
	})
	for _, f := range d.Findings {
		if f.Severity == "error" {
			t.Errorf("%s: %s", f.Check, f.Message())
		}
	}
}
