package kb

import (
	"encoding/json"
	"io/fs"
	"testing"
)

// TestFastParse: a built-in entry read for matching (parseEntryFast) is the
// entry read whole, its samples aside, and Full gives the samples back.
func TestFastParse(t *testing.T) {
	names, err := fs.Glob(embedded, "entries/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no entries: %v", err)
	}
	for _, n := range names {
		data, err := fs.ReadFile(embedded, n)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := parseEntry(n, data)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := parseEntryFast(n, data)
		if err != nil {
			t.Fatal(err)
		}
		if fast.Tests != nil {
			t.Errorf("%s: samples decoded eagerly", n)
		}
		tests := whole.Tests
		whole.Tests = nil
		a, _ := json.Marshal(whole)
		b, _ := json.Marshal(fast)
		if string(a) != string(b) {
			t.Errorf("%s: the fast parse differs from the whole one", n)
		}
		if err := fast.Full(); err != nil {
			t.Fatal(err)
		}
		ta, _ := json.Marshal(tests)
		tb, _ := json.Marshal(fast.Tests)
		if string(ta) != string(tb) || fast.lineOf("$.match") == 0 {
			t.Errorf("%s: Full does not give back the samples and lines", n)
		}
	}
	if got := string(withoutTests([]byte("id: a\ntests:\n  reports:\n    - log: |\n        x\n# c\nreferences: []\n"))); got != "id: a\nreferences: []\n" {
		t.Errorf("withoutTests = %q", got)
	}
}
