package oops

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// Floors for the syzkaller corpus, one set per part (corpusPart): raise
// them as the parser improves, never lower them.
var corpusFloors = [2]struct{ title, typ, corrupted, alt float64 }{
	tuningPart:   {title: 0.995, typ: 0.995, corrupted: 0.99, alt: 0.995},
	checkingPart: {title: 0.97, typ: 0.99, corrupted: 0.97, alt: 0.985},
}

// maxPartGap is how far the two parts' title agreement may drift apart, in
// points: a wider gap says the rules were fitted to the tuning part.
const maxPartGap = 3.0

// The corpus is split once and for all into a tuning part, whose mismatches
// the test prints and which rules may be written against, and a checking
// part, of which only the counts are ever shown: its agreement says how the
// rules do on logs they were not written for.
const (
	tuningPart = iota
	checkingPart
)

var partNames = [2]string{tuningPart: "tuning", checkingPart: "checking"}

// corpusPart puts a corpus file in its part by the SHA-256 of its base name,
// read as a big-endian integer: 0 mod 3 is the checking part.
func corpusPart(name string) int {
	sum := sha256.Sum256([]byte(name))
	// The residue of a big-endian number mod 3, byte by byte.
	r := 0
	for _, b := range sum {
		r = (r*256 + int(b)) % 3
	}
	if r == 0 {
		return checkingPart
	}
	return tuningPart
}

type corpusCase struct {
	name      string
	title     string
	typ       string
	corrupted bool
	alts      []string // the ALT: lines, in order
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
		case "ALT":
			c.alts = append(c.alts, v)
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

// partScore counts one part's agreement.
type partScore struct {
	n, titleOK, typeN, typeOK, corrOK, altN, altOK int
}

func ratio(a, b int) float64 { return float64(a) / float64(max(b, 1)) }

// TestSyzkallerCorpus holds the parser to syzkaller's expected titles, types,
// corrupted flags and alternative titles on its real console logs, as
// agreement figures with floors, per part of the held-out split.
func TestSyzkallerCorpus(t *testing.T) {
	dir := testshared.Path(t, "corpora/syzkaller-linux-report/report")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var score [2]partScore
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
		part := corpusPart(c.name)
		s := &score[part]
		miss := func(format string, args ...any) {
			// The checking part's details are never shown.
			if part == tuningPart {
				misses = append(misses, c.name+": "+fmt.Sprintf(format, args...))
			}
		}
		s.n++
		got, gotType, gotCorr := "", "", false
		var gotAlts []string
		if len(reps) > 0 {
			got, gotType, gotCorr, gotAlts = reps[0].Title, reps[0].Type, reps[0].Corrupted, reps[0].AltTitles
		}
		if got == c.title {
			s.titleOK++
		} else {
			miss("want %q got %q", c.title, got)
		}
		if c.typ != "" {
			s.typeN++
			if gotType == c.typ {
				s.typeOK++
			} else {
				miss("type: want %s got %s (%q)", c.typ, gotType, got)
			}
		}
		if c.title == "" || gotCorr == c.corrupted {
			s.corrOK++
		} else {
			miss("corrupted: want %v got %v (%q)", c.corrupted, gotCorr, got)
		}
		if len(c.alts) > 0 || len(gotAlts) > 0 {
			s.altN++
			if slices.Equal(c.alts, gotAlts) {
				s.altOK++
			} else {
				miss("alt: want %q got %q", c.alts, gotAlts)
			}
		}
	}
	if score[tuningPart].n == 0 || score[checkingPart].n == 0 {
		t.Fatalf("no corpus files in one part of %s", dir)
	}
	sort.Strings(misses)
	if os.Getenv("KTRIAGE_CORPUS_MISSES") != "" {
		for _, m := range misses {
			t.Log(m)
		}
	}
	var titleRate [2]float64
	for part, s := range score {
		fl := corpusFloors[part]
		tr, yr, cr, ar := ratio(s.titleOK, s.n), ratio(s.typeOK, s.typeN), ratio(s.corrOK, s.n), ratio(s.altOK, s.altN)
		titleRate[part] = tr
		fmt.Printf("%s part agreement: titles %d/%d (%.1f%%), types %d/%d (%.1f%%), corrupted %d/%d (%.1f%%), alt titles %d/%d (%.1f%%)\n",
			partNames[part], s.titleOK, s.n, 100*tr, s.typeOK, s.typeN, 100*yr, s.corrOK, s.n, 100*cr, s.altOK, s.altN, 100*ar)
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"title", tr, fl.title}, {"type", yr, fl.typ}, {"corrupted", cr, fl.corrupted}, {"alt title", ar, fl.alt}} {
			if c.got < c.want {
				t.Errorf("%s part: %s agreement %.3f below the floor %.3f", partNames[part], c.what, c.got, c.want)
			}
		}
	}
	if gap := 100 * math.Abs(titleRate[tuningPart]-titleRate[checkingPart]); gap >= maxPartGap {
		t.Errorf("title agreement differs by %.1f points between the parts (at most %.1f)", gap, maxPartGap)
	}
}
