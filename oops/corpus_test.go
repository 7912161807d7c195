package oops

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// Floors for the syzkaller corpus: raise them as the parser improves, never
// lower them.
const (
	titleFloor     = 0.915
	typeFloor      = 0.989
	corruptedFloor = 0.944
)

type corpusCase struct {
	name      string
	title     string
	typ       string
	corrupted bool
	log       []byte
}

func readCorpusCase(path string) (corpusCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return corpusCase{}, err
	}
	data = bytes.ReplaceAll(data, []byte("\r"), nil)
	c := corpusCase{name: filepath.Base(path)}
	hdrEnd := bytes.Index(data, []byte("\n\n"))
	if bytes.HasPrefix(data, []byte("\n")) {
		hdrEnd = -1
		data = append([]byte{'\n'}, data...)
	} else if hdrEnd < 0 {
		return c, fmt.Errorf("%s: no blank line after the header", path)
	}
	for _, l := range strings.Split(string(data[:max(hdrEnd, 0)]), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		switch k {
		case "TITLE":
			c.title = v
		case "TYPE":
			c.typ = v
		case "CORRUPTED":
			c.corrupted = v == "Y"
		}
	}
	body := data[hdrEnd+2:]
	if i := bytes.Index(body, []byte("\n\nREPORT:\n")); i >= 0 {
		body = body[:i+1]
	}
	c.log = body
	return c, nil
}

var numericName = regexp.MustCompile(`^[0-9]+$`)

// TestSyzkallerCorpus holds the parser to syzkaller's expected titles, types
// and corrupted flags on its real console logs, as agreement figures with
// floors.
func TestSyzkallerCorpus(t *testing.T) {
	dir := testshared.Path(t, "corpora/syzkaller-linux-report/report")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n, titleOK, typeN, typeOK, corrOK int
	var misses []string
	for _, e := range entries {
		if !numericName.MatchString(e.Name()) {
			continue
		}
		c, err := readCorpusCase(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		reps, err := Parse(bytes.NewReader(c.log), c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n++
		got, gotType, gotCorr := "", "", false
		if len(reps) > 0 {
			got, gotType, gotCorr = reps[0].Title, reps[0].Type, reps[0].Corrupted
		}
		if got == c.title {
			titleOK++
		} else {
			misses = append(misses, fmt.Sprintf("%s: want %q got %q", c.name, c.title, got))
		}
		if c.typ != "" {
			typeN++
			if gotType == c.typ {
				typeOK++
			} else {
				misses = append(misses, fmt.Sprintf("%s: type: want %s got %s (%q)", c.name, c.typ, gotType, got))
			}
		}
		if c.title == "" || gotCorr == c.corrupted {
			corrOK++
		} else {
			misses = append(misses, fmt.Sprintf("%s: corrupted: want %v got %v (%q)", c.name, c.corrupted, gotCorr, got))
		}
	}
	if n == 0 {
		t.Fatalf("no corpus files in %s", dir)
	}
	sort.Strings(misses)
	if os.Getenv("KTRIAGE_CORPUS_MISSES") != "" {
		for _, m := range misses {
			t.Log(m)
		}
	}
	tr, yr, cr := float64(titleOK)/float64(n), float64(typeOK)/float64(max(typeN, 1)), float64(corrOK)/float64(n)
	fmt.Printf("title agreement: %d/%d (%.1f%%)\n", titleOK, n, 100*tr)
	fmt.Printf("type agreement: %d/%d (%.1f%%)\n", typeOK, typeN, 100*yr)
	fmt.Printf("corrupted agreement: %d/%d (%.1f%%)\n", corrOK, n, 100*cr)
	if tr < titleFloor {
		t.Errorf("title agreement %.3f below the floor %.2f", tr, titleFloor)
	}
	if yr < typeFloor {
		t.Errorf("type agreement %.3f below the floor %.2f", yr, typeFloor)
	}
	if cr < corruptedFloor {
		t.Errorf("corrupted agreement %.3f below the floor %.2f", cr, corruptedFloor)
	}
}
