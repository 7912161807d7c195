package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// ReadOnly is the token group that may only read.
const ReadOnly = "readonly"

// minTokenLen keeps guessable tokens out of a tokens file.
const minTokenLen = 16

// Tokens are the bearer tokens the server accepts, each with its host
// group. Only their SHA-256 hashes are kept.
type Tokens struct {
	hashes [][sha256.Size]byte
	groups []string
}

// ParseTokens reads a tokens file: one "TOKEN GROUP" per line; blank lines
// and lines starting with # are skipped. name is the file's name, for errors.
func ParseTokens(r io.Reader, name string) (*Tokens, error) {
	t := &Tokens{}
	seen := map[[sha256.Size]byte]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want TOKEN GROUP, found %d fields", name, line, len(f))
		}
		if len(f[0]) < minTokenLen {
			return nil, fmt.Errorf("%s:%d: token shorter than %d characters", name, line, minTokenLen)
		}
		h := sha256.Sum256([]byte(f[0]))
		if seen[h] {
			return nil, fmt.Errorf("%s:%d: token repeated", name, line)
		}
		seen[h] = true
		t.hashes = append(t.hashes, h)
		t.groups = append(t.groups, f[1])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(t.hashes) == 0 {
		return nil, fmt.Errorf("%s: no tokens", name)
	}
	return t, nil
}

// lookup returns the group of token and its hash; ok is false for an
// unknown token. Every stored hash is compared, in constant time, so the
// time taken says nothing of which one (if any) agreed.
func (t *Tokens) lookup(token string) (group string, hash [sha256.Size]byte, ok bool) {
	hash = sha256.Sum256([]byte(token))
	found := -1
	for i, h := range t.hashes {
		if subtle.ConstantTimeCompare(h[:], hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", hash, false
	}
	return t.groups[found], hash, true
}

// limiter is a token bucket per bearer token: rate requests a second with
// bursts of burst.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[[sha256.Size]byte]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// allow takes one request from key's bucket; when it is empty it says how
// long until the next request is allowed.
func (l *limiter) allow(key [sha256.Size]byte) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}
