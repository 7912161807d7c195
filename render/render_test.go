package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/triage"
)

func diagnosis(t *testing.T) *triage.Diagnosis {
	t.Helper()
	d, err := triage.Analyze([]string{"../examples/ticket-skb-checksum.txt"}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestText: the summary says what crashed, which known bug and what to do,
// in that order, and colours only when asked.
func TestText(t *testing.T) {
	d := diagnosis(t)
	var plain, color bytes.Buffer
	if err := Text(&plain, d, Style{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&color, d, Style{Color: true}); err != nil {
		t.Fatal(err)
	}
	p := plain.String()
	crash, bug, fix := strings.Index(p, "kernel BUG in"), strings.Index(p, "Known bug"), strings.Index(p, "workaround:")
	if crash < 0 || bug < crash || fix < bug {
		t.Errorf("order crash %d, bug %d, workaround %d:\n%s", crash, bug, fix, p)
	}
	if strings.Contains(p, "\x1b[") || !strings.Contains(color.String(), "\x1b[") {
		t.Error("colour escapes in the wrong output")
	}
}

// TestJSONNulls: unknown values are null, never 0 or "".
func TestJSONNulls(t *testing.T) {
	d := diagnosis(t)
	var b bytes.Buffer
	if err := JSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	r := v["reports"].([]any)[0].(map[string]any)
	if r["rip"] == nil || r["frames"] == nil {
		t.Fatal("missing rip or frames")
	}
	if v["owner"] != nil || v["vmcore"] != nil {
		t.Errorf("owner %v, vmcore %v: want null", v["owner"], v["vmcore"])
	}
	if _, ok := r["guilty_function"]; !ok {
		t.Error("guilty_function absent instead of null")
	}
}

// TestSeedStory: the founding case told in at most ten lines, in order.
func TestSeedStory(t *testing.T) {
	seed := testshared.Path(t, "seed/000_3286c7f043f8c294.txt")
	d, err := triage.Analyze([]string{seed}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := Story(d, Style{})
	if len(lines) > 10 {
		t.Fatalf("%d lines", len(lines))
	}
	text := strings.Join(lines, "\n")
	order := []string{"2 crashes, one bug", "Corrupt sk_buff ffff880fe9624868", "Socket ffff881063a669c0, fd 7330",
		"Process 29860 proc1, inferred", "Known bug tcp-trim-head-skb-data-len", "Workaround: ethtool -K"}
	at := -1
	for _, s := range order {
		i := strings.Index(text, s)
		if i <= at {
			t.Fatalf("%q missing or out of order:\n%s", s, text)
		}
		at = i
	}
}
