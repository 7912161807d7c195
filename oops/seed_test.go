package oops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// TestSeedTicket holds the founding case: a RHEL ticket whose "kernel BUG
// at net/core/skbuff.c" header and bare skb_over_panic RIP fragment must
// both come out as kernel BUGs, the fragment blamed on tcp_sendmsg once the
// skb_* helpers are passed over.
func TestSeedTicket(t *testing.T) {
	path := testshared.Path(t, testshared.Seed)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reps, err := Parse(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	var header, headless *Report
	for _, r := range reps {
		if strings.Contains(r.Header, "kernel BUG at net/core/skbuff.c:1886!") && header == nil {
			header = r
		}
		if strings.Contains(r.Header, "skb_over_panic+0x5d/0x70") && headless == nil {
			headless = r
		}
	}
	if header == nil {
		t.Fatalf("no report for the kernel BUG header; got %d reports", len(reps))
	}
	if !strings.HasPrefix(header.Title, "kernel BUG in ") || header.Type != "BUG" {
		t.Errorf("header report: title %q type %q, want kernel BUG in ... / BUG", header.Title, header.Type)
	}
	if headless == nil {
		t.Fatalf("no report for the skb_over_panic RIP fragment")
	}
	if headless.Title != "kernel BUG in tcp_sendmsg" || headless.Type != "BUG" {
		t.Errorf("fragment report: title %q type %q, want %q / BUG", headless.Title, headless.Type, "kernel BUG in tcp_sendmsg")
	}
}
