package server_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/fleet/server"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// ureportForm is a multipart form as libreport's post_string_as_form_data
// sends it: one "file" field holding the µReport.
func ureportForm(t testing.TB, field string, doc []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, "*buffer*")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(doc)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// kerneloopsUReport is a version-2 µReport as satyr writes one for a
// kernel oops; raw or frames may be empty.
func kerneloopsUReport(t testing.TB, raw string, frames []oops.Frame) []byte {
	t.Helper()
	fs := []map[string]any{}
	for _, f := range frames {
		m := map[string]any{"function_name": f.Function, "reliable": f.Reliable, "function_offset": 0, "function_length": 0}
		if f.Offset != nil {
			m["function_offset"] = *f.Offset
		}
		if f.Size != nil {
			m["function_length"] = *f.Size
		}
		if f.Module != nil {
			m["module_name"] = *f.Module
		}
		fs = append(fs, m)
	}
	u := map[string]any{
		"ureport_version": 2,
		"type":            "kerneloops",
		"reporter":        map[string]string{"name": "satyr", "version": "0.43"},
		"os":              map[string]string{"name": "Red Hat Enterprise Linux", "version": "6.6", "architecture": "x86_64"},
		"packages":        []map[string]any{{"name": "kernel", "epoch": 0, "version": "2.6.32", "release": "504.23.4.el6", "architecture": "x86_64", "package_role": "affected"}},
		"problem": map[string]any{
			"type": "kerneloops", "component": "kernel", "raw_oops": raw, "version": "2.6.32-504.23.4.el6.x86_64",
			"taint_flags": []string{}, "modules": []string{"bonding", "8021q"}, "frames": fs,
		},
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type ureportAnswer struct {
	Result    *bool  `json:"result"`
	BTHash    string `json:"bthash"`
	Message   string `json:"message"`
	Error     string `json:"error"`
	Solutions []struct {
		Cause    string `json:"cause"`
		Note     string `json:"note"`
		NoteText string `json:"note_text"`
		URL      string `json:"url"`
	} `json:"solutions"`
}

// postUReport sends doc to reports/new/ and decodes the answer.
func (e *env) postUReport(doc []byte, token string, hdr map[string]string) (int, ureportAnswer) {
	e.t.Helper()
	body, ct := ureportForm(e.t, "file", doc)
	h := map[string]string{"Content-Type": ct}
	for k, v := range hdr {
		h[k] = v
	}
	code, _, out := e.do("POST", "/faf/reports/new/", token, h, body)
	var a ureportAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		e.t.Fatalf("reports/new/ answered %d, not JSON: %s", code, out)
	}
	return code, a
}

// ticketOops is the kernel log lines of the RHEL 6 ticket, without the
// customer's prose around them.
func ticketOops(t *testing.T) (string, *triage.Diagnosis) {
	t.Helper()
	p := filepath.Join(repoRoot(), "examples", "ticket-skb-checksum.txt")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "<") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 20 {
		t.Fatalf("%s: %d kernel log lines, want the oops", p, len(lines))
	}
	d, err := triage.Analyze([]string{p}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n") + "\n", d
}

// withoutRelease drops the lines that name the kernel release.
func withoutRelease(raw string) string {
	var keep []string
	for _, l := range strings.Split(raw, "\n") {
		if !strings.Contains(l, "tainted") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestUReport(t *testing.T) {
	qemuPath := filepath.Join(repoRoot(), "examples", "qemu-skb-over-panic", "console.log")
	qemu, err := os.ReadFile(qemuPath)
	if err != nil {
		t.Fatal(err)
	}
	qd, err := triage.Analyze([]string{qemuPath}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticket, td := ticketOops(t)
	if len(qd.Reports) == 0 || len(td.Reports) == 0 {
		t.Fatalf("fixtures without reports: qemu %d, ticket %d", len(qd.Reports), len(td.Reports))
	}
	const wantBug = "tcp-trim-head-skb-data-len"

	databases(t, server.Options{}, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name    string
			doc     []byte
			hdr     map[string]string
			wantSig string
			wantBug string
		}{
			{"qemu console raw_oops", kerneloopsUReport(t, string(qemu), nil), nil, qd.Reports[0].Signature, ""},
			{"rhel6 ticket raw_oops", kerneloopsUReport(t, ticket, td.Reports[0].Frames), nil, td.Reports[0].Signature, wantBug},
			// Without the line naming the release, the µReport's version
			// keeps the match exact.
			{"rhel6 ticket, release from version", kerneloopsUReport(t, withoutRelease(ticket), nil), nil, td.Reports[0].Signature, wantBug},
			// The same crash again, from a named host with a key: the
			// bucket is known now.
			{"rhel6 ticket again", kerneloopsUReport(t, ticket, nil), map[string]string{"X-Ktriage-Host": "db-node07", "Idempotency-Key": "abrt-1"}, td.Reports[0].Signature, wantBug},
		} {
			code, a := e.postUReport(tc.doc, writeToken, tc.hdr)
			if code != 202 || a.Result == nil {
				t.Fatalf("%s: %d %+v, want 202 with a result", tc.name, code, a)
			}
			if a.BTHash != tc.wantSig {
				t.Errorf("%s: bthash %s, want the bucket signature %s", tc.name, a.BTHash, tc.wantSig)
			}
			if tc.wantBug == "" {
				if len(a.Solutions) != 0 {
					t.Errorf("%s: solutions %+v, want none", tc.name, a.Solutions)
				}
				continue
			}
			if len(a.Solutions) != 1 || !*a.Result {
				t.Fatalf("%s: result %v solutions %+v, want one solution", tc.name, *a.Result, a.Solutions)
			}
			s := a.Solutions[0]
			if !strings.Contains(s.Note, tc.wantBug+", exact match") || s.Note != s.NoteText || s.Cause == "" || !strings.HasPrefix(s.URL, "https://") {
				t.Errorf("%s: solution %+v, want cause, a note naming %s and a URL", tc.name, s, tc.wantBug)
			}
			if !strings.Contains(a.Message, s.Cause) {
				t.Errorf("%s: message %q does not name the cause", tc.name, a.Message)
			}
		}
		// The same key again replays, and counts nothing.
		if code, a := e.postUReport(kerneloopsUReport(t, ticket, nil), writeToken, map[string]string{"Idempotency-Key": "abrt-1"}); code != 202 || a.BTHash != td.Reports[0].Signature {
			t.Errorf("replay: %d %+v", code, a)
		}

		// The bthashes are buckets of the read API, counted once per
		// submission.
		code, _, body := e.do("GET", "/api/buckets", readToken, nil, nil)
		if code != 200 {
			t.Fatalf("GET /api/buckets: %d %s", code, body)
		}
		var bs []bucketJSON
		if err := json.Unmarshal(body, &bs); err != nil {
			t.Fatal(err)
		}
		count := map[string]int64{}
		kbID := map[string]string{}
		for _, b := range bs {
			count[*b.Signature] = *b.Count
			if b.KBID != nil {
				kbID[*b.Signature] = *b.KBID
			}
		}
		if count[qd.Reports[0].Signature] != 1 || count[td.Reports[0].Signature] != 3 {
			t.Errorf("bucket counts %v, want qemu 1 and ticket 3", count)
		}
		if kbID[td.Reports[0].Signature] != wantBug {
			t.Errorf("ticket bucket kb_id %q, want %s", kbID[td.Reports[0].Signature], wantBug)
		}
	})
}

func TestUReportFramesOnly(t *testing.T) {
	_, td := ticketOops(t)
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{})
	code, a := e.postUReport(kerneloopsUReport(t, "", td.Reports[0].Frames), writeToken, nil)
	if code != 202 || len(a.BTHash) != 64 {
		t.Fatalf("frames only: %d %+v, want 202 with a bthash", code, a)
	}
	code, _, body := e.do("GET", "/api/buckets/"+a.BTHash, readToken, nil, nil)
	if code != 200 {
		t.Fatalf("bucket %s: %d %s", a.BTHash, code, body)
	}
	var b bucketJSON
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, f := range td.Reports[0].Frames {
		if f.Reliable {
			first = f.Function
			break
		}
	}
	if b.Title == nil || !strings.Contains(*b.Title, first) {
		t.Errorf("frames-only title %v, want one naming the first reliable frame %s", b.Title, first)
	}
}

func TestUReportRefusals(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"), server.Options{MaxBody: 64 << 10})
	good := kerneloopsUReport(t, "", []oops.Frame{{Location: oops.Location{Function: "skb_over_panic"}, Reliable: true}})
	for _, tc := range []struct {
		name, path, token string
		field             string
		doc               []byte
		ct                string
		want              int
	}{
		{"no token", "/faf/reports/new/", "", "file", good, "", 401},
		{"read-only token", "/faf/reports/new/", readToken, "file", good, "", 403},
		{"attach without token", "/faf/reports/attach/", "", "file", []byte(`{"bthash":"x","type":"url","data":"y"}`), "", 401},
		{"malformed JSON", "/faf/reports/new/", writeToken, "file", []byte(`{"ureport_version": 2,`), "", 400},
		{"no file field", "/faf/reports/new/", writeToken, "other", good, "", 400},
		{"not a form", "/faf/reports/new/", writeToken, "file", good, "application/json", 400},
		{"version 1", "/faf/reports/new/", writeToken, "file", bytes.Replace(good, []byte(`"ureport_version":2`), []byte(`"ureport_version":1`), 1), "", 400},
		{"python problem", "/faf/reports/new/", writeToken, "file", bytes.Replace(good, []byte(`"type":"kerneloops","version"`), []byte(`"type":"python","version"`), 1), "", 400},
		{"no oops", "/faf/reports/new/", writeToken, "file", kerneloopsUReport(t, "just a line\n", nil), "", 400},
		{"over the body limit", "/faf/reports/new/", writeToken, "file", kerneloopsUReport(t, strings.Repeat("x", 128<<10), nil), "", 413},
		{"attach", "/faf/reports/attach/", writeToken, "file", []byte(`{"bthash":"x","type":"url","data":"y"}`), "", 202},
		{"attach malformed", "/faf/reports/attach/", writeToken, "file", []byte(`{`), "", 400},
		{"good", "/faf/reports/new/", writeToken, "file", good, "", 202},
	} {
		body, ct := ureportForm(t, tc.field, tc.doc)
		if tc.ct != "" {
			body, ct = tc.doc, tc.ct
		}
		hdr := map[string]string{"Content-Type": ct}
		code, _, out := e.do("POST", tc.path, tc.token, hdr, body)
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, out, tc.want)
			continue
		}
		// libreport reads 400 and 413 as {"error": ...} and 202 as a result.
		var a ureportAnswer
		if err := json.Unmarshal(out, &a); err != nil {
			t.Errorf("%s: answer not JSON: %s", tc.name, out)
		}
		if (code == 202) != (a.Result != nil) || (code != 202) != (a.Error != "") {
			t.Errorf("%s: %d answered %s", tc.name, code, out)
		}
	}
}
