package render

import (
	"testing"

	"github.com/ktriage/ktriage/checks"
)

// TestFindingLines: the story's two lines of a verdict keep each sentence's
// full stop as the message has it, and cite the first register that agrees.
func TestFindingLines(t *testing.T) {
	rbx := checks.Agreement{Registers: []string{"RBX"}, Role: "missing", Value: 144}
	r8 := checks.Agreement{Registers: []string{"R8"}, Role: "skb", Value: 1}
	for _, c := range []struct {
		name      string
		f         checks.Finding
		what, how string
	}{
		{"verdict only", checks.Finding{Verdict: "v"}, "v", ""},
		{"mechanics", checks.Finding{Verdict: "v", Mechanics: "m"}, "v.", "m"},
		{"mechanics and note", checks.Finding{Verdict: "v", Mechanics: "m", Notes: []string{"n"}}, "v.", "m."},
		{"mechanics and registers", checks.Finding{Verdict: "v", Mechanics: "m", Registers: []checks.Agreement{rbx, r8}, Notes: []string{"n"}},
			"v.", "m (RBX = 0x90 = 144 is the missing byte count)."},
		{"registers only", checks.Finding{Verdict: "v", Registers: []checks.Agreement{r8}}, "v.", "R8 holds the skb"},
		{"note and registers", checks.Finding{Verdict: "v", Registers: []checks.Agreement{r8}, Notes: []string{"n"}}, "v.", "n (R8 holds the skb)."},
	} {
		what, how := findingLines(c.f)
		if what != c.what || how != c.how {
			t.Errorf("%s: %q / %q, want %q / %q", c.name, what, how, c.what, c.how)
		}
	}
}
