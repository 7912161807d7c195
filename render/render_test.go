package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

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
