package oops

import "strings"

//go:generate go run ./internal/bigrams/gen -o bigrams_gen.go

// The prefilter decides, for every line of a log, whether it can open a
// report. It must be cheap: a console log is mostly not crashes. Every
// header format names a token that its header line contains; a line holds a
// header only if it holds one of the tokens. The tokens are indexed by their
// first two bytes, so a line costs one table lookup per byte and a prefix
// comparison only where a token could start. Which pairs are rare is counted
// from log text by `go generate` (bigrams_gen.go), not written by hand.

// tokenSet is the prefilter's index of the header tokens.
type tokenSet struct {
	// all indexes every token by its anchor, for each.
	all bigramIndex
	// strided indexes every token by tokStride of its bigrams, so that
	// contains looks only at every tokStride-th position of a line; nil
	// when a token is too short for it.
	strided *bigramIndex
}

// bigramIndex maps a byte pair to the tokens indexed by it.
type bigramIndex struct {
	bucket  [1 << 16]uint8 // bigram -> index in buckets, 0 = none
	buckets [][]anchored
}

// add indexes tok by its bigram at off. It reports false when the index
// is full: a bucket number is a byte.
func (x *bigramIndex) add(tok string, off int) bool {
	if x.buckets == nil {
		x.buckets = [][]anchored{nil} // bucket 0 means none
	}
	k := uint16(tok[off])<<8 | uint16(tok[off+1])
	if x.bucket[k] == 0 {
		if len(x.buckets) == 255 {
			return false
		}
		x.bucket[k] = uint8(len(x.buckets))
		x.buckets = append(x.buckets, nil)
	}
	x.buckets[x.bucket[k]] = append(x.buckets[x.bucket[k]], anchored{tok, off})
	return true
}

// tokStride is the step of contains.
const tokStride = 3

// anchored is a token with the offset of its anchor: the bigram of the
// token least likely in ordinary log text, so that few positions of a line
// lead to a comparison.
type anchored struct {
	tok string
	off int
}

// anchorScore rates a bigram as an anchor: one absent from commonBigrams
// beats any common one, and among common ones the rarer wins.
func anchorScore(a, b byte) int {
	for i := 0; i+1 < len(commonBigrams); i += 2 {
		if commonBigrams[i] == a && commonBigrams[i+1] == b {
			return i / 2
		}
	}
	return 1000 + rarity(a) + rarity(b)
}

// rarity breaks ties between uncommon bigrams: capitals, digits and
// punctuation over lowercase letters, rare letters over frequent ones.
func rarity(c byte) int {
	if i := strings.IndexByte(commonLetters, c); i >= 0 {
		return i
	}
	return 40
}

func newTokenSet(tokens []string) *tokenSet {
	tokens = distinctTokens(tokens)
	ts := &tokenSet{strided: newStridedIndex(tokens)}
	for _, t := range tokens {
		if !ts.all.add(t, rarestBigram(t, 0, 1)) {
			panic("oops: more than 254 token anchors")
		}
	}
	return ts
}

// distinctTokens drops repeated tokens and those too short to have a
// bigram.
func distinctTokens(tokens []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tokens {
		if len(t) >= 2 && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// rarestBigram returns the offset of the best anchor among t's bigrams at
// from, from+step, ...
func rarestBigram(t string, from, step int) int {
	best, off := -1, 0
	for o := from; o+1 < len(t); o += step {
		if sc := anchorScore(t[o], t[o+1]); sc > best {
			best, off = sc, o
		}
	}
	return off
}

// newStridedIndex indexes each token by its rarest bigram at an offset of
// each residue modulo tokStride, so that contains looks only at every
// tokStride-th position of a line: wherever a token is, exactly one of its
// indexed bigrams starts at such a position. It returns nil when a token
// is too short to have all residues, or the index is full.
func newStridedIndex(tokens []string) *bigramIndex {
	x := &bigramIndex{}
	for _, t := range tokens {
		if len(t) < tokStride+1 {
			return nil
		}
		for r := 0; r < tokStride; r++ {
			if !x.add(t, rarestBigram(t, r, tokStride)) {
				return nil
			}
		}
	}
	return x
}

// tokenAt reports whether tok starts at b[s].
func tokenAt(b []byte, s int, tok string) bool {
	// The first byte before the comparison: most hits end there.
	return s >= 0 && len(b)-s >= len(tok) && b[s] == tok[0] && string(b[s:s+len(tok)]) == tok
}

// contains reports whether b holds any of the tokens.
func (ts *tokenSet) contains(b []byte) bool {
	st := ts.strided
	if st == nil {
		return ts.find(b, nil)
	}
	for q := 1; q < len(b); q += tokStride {
		// The bigram at q-1: the loop's form spares the bounds checks.
		j := st.bucket[uint16(b[q-1])<<8|uint16(b[q])]
		if j == 0 {
			continue
		}
		for _, a := range st.buckets[j] {
			if tokenAt(b, q-1-a.off, a.tok) {
				return true
			}
		}
	}
	return false
}

// find looks for the tokens in b: with fn nil it stops at the first and
// reports it; otherwise it calls fn for each until fn returns false.
func (ts *tokenSet) find(b []byte, fn func(tok string) bool) bool {
	if len(b) < 2 {
		return false
	}
	k := uint16(b[0])
	for i := 1; i < len(b); i++ {
		k = k<<8 | uint16(b[i])
		j := ts.all.bucket[k]
		if j == 0 {
			continue
		}
		for _, a := range ts.all.buckets[j] {
			if tokenAt(b, i-1-a.off, a.tok) && (fn == nil || !fn(a.tok)) {
				return true
			}
		}
	}
	return false
}

// extraTokens open reports or state document facts without being a
// format's token.
var extraTokens = []string{"RIP: 0010:", "Linux version ", "DMI: ", "Not tainted", "Tainted: ", "FAULT_INJECTION"}

// headerTokens is built by loadTables.
var headerTokens *tokenSet

func buildHeaderTokens() *tokenSet {
	var toks []string
	for _, f := range formats {
		toks = append(toks, f.token)
	}
	noticeOnce.Do(func() { noticeFormats = noticeTable() })
	for _, f := range noticeFormats {
		toks = append(toks, f.token)
	}
	return newTokenSet(append(toks, extraTokens...))
}
