// Package progress shows how far the reading of a large input has got, on
// a terminal only, once it has taken more than a second: short runs and
// pipes stay quiet.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Reader counts the bytes read through it and reports them.
type Reader struct {
	r     io.Reader
	out   io.Writer
	name  string
	total int64 // 0 when unknown

	mu      sync.Mutex
	done    int64
	start   time.Time
	last    time.Time
	shown   bool
	delay   time.Duration
	every   time.Duration
	nowFunc func() time.Time
}

// NewReader wraps r; reports go to out (a terminal) once reading has taken
// longer than a second, at most every 200 ms. total is the expected size,
// 0 when unknown.
func NewReader(r io.Reader, out io.Writer, name string, total int64) *Reader {
	return &Reader{r: r, out: out, name: name, total: total, delay: time.Second, every: 200 * time.Millisecond, nowFunc: time.Now}
}

// Read reads from the wrapped reader and reports progress.
func (p *Reader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.nowFunc()
	if p.start.IsZero() {
		p.start = now
	}
	p.done += int64(n)
	if now.Sub(p.start) >= p.delay && now.Sub(p.last) >= p.every {
		p.last = now
		p.shown = true
		p.print(now)
	}
	if err == io.EOF && p.shown {
		p.print(now)
		fmt.Fprintln(p.out)
	}
	return n, err
}

func (p *Reader) print(now time.Time) {
	mb := float64(p.done) / (1 << 20)
	rate := mb / max(now.Sub(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		fmt.Fprintf(p.out, "\rreading %s: %.0f / %.0f MB (%.0f%%), %.0f MB/s", p.name, mb, float64(p.total)/(1<<20), 100*float64(p.done)/float64(p.total), rate)
		return
	}
	fmt.Fprintf(p.out, "\rreading %s: %.0f MB, %.0f MB/s", p.name, mb, rate)
}
