package oops

import "strings"

// The prefilter decides, for every line of a log, whether it can open a
// report. It must be cheap: a console log is mostly not crashes. Every
// header format names a token that its header line contains; a line holds a
// header only if it holds one of the tokens. The tokens are indexed by their
// first two bytes, so a line costs one table lookup per byte and a prefix
// comparison only where a token could start.

type tokenSet struct {
	bucket  [1 << 16]uint8 // anchor bigram -> index in buckets, 0 = none
	buckets [][]anchored
}

// anchored is a token with the offset of its anchor: the bigram of the
// token least likely in ordinary log text, so that few positions of a line
// lead to a comparison.
type anchored struct {
	tok string
	off int
}

// rarity scores how unusual a byte is in kernel log prose: lowercase letters
// by their frequency in English, capitals, digits and punctuation highest.
func rarity(c byte) int {
	const common = " etaoinshrdlcumwfgypbvkjxqz"
	if i := strings.IndexByte(common, c); i >= 0 {
		return i
	}
	return 40
}

func newTokenSet(tokens []string) *tokenSet {
	ts := &tokenSet{buckets: [][]anchored{nil}}
	seen := map[string]bool{}
	for _, t := range tokens {
		if len(t) < 2 || seen[t] {
			continue
		}
		seen[t] = true
		best, off := -1, 0
		for i := 0; i+1 < len(t); i++ {
			if r := rarity(t[i]) + rarity(t[i+1]); r > best {
				best, off = r, i
			}
		}
		k := uint16(t[off])<<8 | uint16(t[off+1])
		if ts.bucket[k] == 0 {
			if len(ts.buckets) == 255 {
				panic("oops: more than 254 token anchors")
			}
			ts.bucket[k] = uint8(len(ts.buckets))
			ts.buckets = append(ts.buckets, nil)
		}
		ts.buckets[ts.bucket[k]] = append(ts.buckets[ts.bucket[k]], anchored{t, off})
	}
	return ts
}

// contains reports whether b holds any of the tokens.
func (ts *tokenSet) contains(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	k := uint16(b[0])
	for i := 1; i < len(b); i++ {
		k = k<<8 | uint16(b[i])
		j := ts.bucket[k]
		if j == 0 {
			continue
		}
		for _, a := range ts.buckets[j] {
			st := i - 1 - a.off
			if st >= 0 && len(b)-st >= len(a.tok) && string(b[st:st+len(a.tok)]) == a.tok {
				return true
			}
		}
	}
	return false
}

// each calls fn with every token b holds, until fn returns false.
func (ts *tokenSet) each(b []byte, fn func(tok string) bool) {
	if len(b) < 2 {
		return
	}
	k := uint16(b[0])
	for i := 1; i < len(b); i++ {
		k = k<<8 | uint16(b[i])
		j := ts.bucket[k]
		if j == 0 {
			continue
		}
		for _, a := range ts.buckets[j] {
			st := i - 1 - a.off
			if st >= 0 && len(b)-st >= len(a.tok) && string(b[st:st+len(a.tok)]) == a.tok {
				if !fn(a.tok) {
					return
				}
			}
		}
	}
}

// extraTokens open reports or state document facts without being a
// format's token.
var extraTokens = []string{"RIP: 0010:", "Linux version ", "DMI: ", "Not tainted", "Tainted: ", "FAULT_INJECTION"}

var headerTokens = func() *tokenSet {
	var toks []string
	for _, f := range formats {
		toks = append(toks, f.token)
	}
	return newTokenSet(append(toks, extraTokens...))
}()
