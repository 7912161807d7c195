package server

// The µReport (FAF) endpoints, so that ABRT's reporter-ureport and other
// libreport clients can send kernel oopses here (issue #14).
//
// The wire format follows ABRT's own code, read for this file:
//   - abrt/libreport src/lib/ureport.c: libreport_ureport_do_post posts the
//     µReport as a multipart form whose one field is "file" to
//     <URL>/reports/new/ (UREPORT_SUBMIT_ACTION) and attachments
//     ({"bthash","type","data"}) to <URL>/reports/attach/; the reply is read
//     only on 202, 400 and 413 (anything else is "Unexpected HTTP response"),
//     as {"error": ...} or {"result", "message", "bthash", "reported_to",
//     "solutions": [{"cause", "note", "url"}]}; a solution without "note" is
//     skipped, and an attachment counts as accepted only when "result" reads
//     "true".
//   - abrt/faf src/webfaf/reports.py (new, attach): 202 with that JSON; 400
//     "Couldn't parse JSON data." / "uReport data is invalid."; 413 for an
//     oversized µReport.
//   - abrt/faf src/pyfaf/problemtypes/kerneloops.py: the kerneloops problem
//     is {"component", "version", "taint_flags", "modules", "raw_oops",
//     "frames": [{"address", "reliable", "function_name", "function_offset",
//     "function_length", "module_name"}]}.
//
// FAF's bthash is its own hash of component, taint flags and frames; ours
// is the bucket signature (oops.Signature), so a client's bthash names the
// bucket of GET /api/buckets/{signature}.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/triage"
)

// Bounds on a µReport, below the body limit: FAF keeps an oops in a 64 KiB
// large object; we allow more, since a console capture sent as raw_oops
// can carry the lines before the oops.
const (
	maxUReport       = 4 << 20
	maxUReportFrames = 1000
	ureportSource    = "ureport"
)

// uReport is the part of a µReport (ureport_version 2) the kernel-oops
// endpoint reads; other fields and problem types are not ours.
type uReport struct {
	Version  *int `json:"ureport_version"`
	Reporter struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"reporter"`
	OS struct {
		Name         string `json:"name"`
		Version      string `json:"version"`
		Architecture string `json:"architecture"`
	} `json:"os"`
	// Auth is what libreport adds with IncludeAuthData (AuthDataItems
	// such as hostname and machineid).
	Auth    map[string]string `json:"auth"`
	Problem uProblem          `json:"problem"`
}

// uProblem is a kerneloops problem.
type uProblem struct {
	Type       string   `json:"type"`
	Component  string   `json:"component"`
	RawOops    string   `json:"raw_oops"`
	Version    string   `json:"version"`
	TaintFlags []string `json:"taint_flags"`
	Modules    []string `json:"modules"`
	Frames     []uFrame `json:"frames"`
}

// uFrame is one kerneloops frame as satyr writes it.
type uFrame struct {
	Address        *uint64 `json:"address"`
	FunctionName   string  `json:"function_name"`
	FunctionOffset *uint64 `json:"function_offset"`
	FunctionLength *uint64 `json:"function_length"`
	ModuleName     string  `json:"module_name"`
	Reliable       bool    `json:"reliable"`
}

// ureportResponse is FAF's answer to reports/new/.
type ureportResponse struct {
	// Result is true when the crash is known here: a known bug matched
	// or its bucket already held crashes (FAF: "known" or a solution).
	Result    bool              `json:"result"`
	BTHash    string            `json:"bthash,omitempty"`
	Message   string            `json:"message,omitempty"`
	Solutions []ureportSolution `json:"solutions,omitempty"`
}

// ureportSolution is a known bug as FAF offers a solution. libreport reads
// "note"; FAF's Solution object calls the same text note_text, which is
// sent too for clients written against FAF's model.
type ureportSolution struct {
	Cause    string `json:"cause"`
	Note     string `json:"note"`
	NoteText string `json:"note_text"`
	URL      string `json:"url,omitempty"`
}

// routeUReport registers the FAF-compatible endpoints.
func (s *Server) routeUReport() {
	s.route("POST /faf/reports/new/", true, s.handleUReport)
	s.route("POST /faf/reports/attach/", true, s.handleUReportAttach)
}

// readFormFile returns the multipart form's "file" field, as libreport
// and FAF name it, read whole up to maxUReport bytes.
func readFormFile(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return nil, fail(http.StatusBadRequest, "Invalid form data: want multipart/form-data with a file field")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Invalid form data: %v", err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fail(http.StatusBadRequest, "Invalid form data: no file field")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, fail(http.StatusBadRequest, "Invalid form data: %v", err)
		}
		if p.FormName() != "file" {
			continue // NextPart skips the rest of this part
		}
		b, err := io.ReadAll(io.LimitReader(p, maxUReport+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, fail(http.StatusBadRequest, "Invalid form data: %v", err)
		}
		if len(b) > maxUReport {
			return nil, fail(http.StatusRequestEntityTooLarge, "uReport may only be %d bytes long", maxUReport)
		}
		return b, nil
	}
}

// decodeUReport reads a version-2 kerneloops µReport. Every refusal is a
// 400, the one client error (with 413) libreport reads the message of.
func decodeUReport(b []byte) (*uReport, error) {
	var u uReport
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fail(http.StatusBadRequest, "Couldn't parse JSON data: %v", err)
	}
	switch {
	case u.Version == nil || *u.Version != 2:
		return nil, fail(http.StatusBadRequest, "uReport data is invalid: ureport_version must be 2")
	case u.Problem.Type != "kerneloops":
		return nil, fail(http.StatusBadRequest, "uReport data is invalid: problem type %.40q is not kerneloops", u.Problem.Type)
	case strings.TrimSpace(u.Problem.RawOops) == "" && len(u.Problem.Frames) == 0:
		return nil, fail(http.StatusBadRequest, "uReport data is invalid: a kerneloops problem needs raw_oops or frames")
	case len(u.Problem.Frames) > maxUReportFrames:
		return nil, fail(http.StatusBadRequest, "uReport data is invalid: %d frames, at most %d", len(u.Problem.Frames), maxUReportFrames)
	}
	for i, f := range u.Problem.Frames {
		if f.FunctionName == "" && f.Reliable {
			return nil, fail(http.StatusBadRequest, "uReport data is invalid: frame %d is reliable but has no function_name", i)
		}
	}
	return &u, nil
}

// reports turns a µReport into crash reports. raw_oops, when the oops
// parser finds a crash in it, is the whole truth (title, kind, release and
// trace as the kernel printed them); only without it are the frames used,
// and the title then comes from the first reliable frame ("Oops in f", or
// the BUG kind of functions that only fault through BUG()), since
// satyr's frames do not keep the header line that names the kind.
// It returns none when neither holds a crash.
func (u *uReport) reports() []*oops.Report {
	if strings.TrimSpace(u.Problem.RawOops) != "" {
		reps, err := oops.Parse(strings.NewReader(u.Problem.RawOops), ureportSource)
		if err == nil && len(reps) > 0 {
			// satyr takes "version" from the same oops, or from the
			// running kernel when the text lost its "Tainted:" line;
			// the knowledge base needs it to rank a match exact.
			if v := strings.TrimSpace(u.Problem.Version); v != "" {
				for _, r := range reps {
					if r.Release == nil {
						r.Release = &v
					}
				}
			}
			return reps
		}
	}
	frames := make([]oops.Frame, 0, len(u.Problem.Frames))
	var rip *oops.Location
	for _, f := range u.Problem.Frames {
		if f.FunctionName == "" {
			continue // FAF's "_unknown_" frames: nothing to bucket by
		}
		loc := oops.Location{Function: f.FunctionName, Offset: f.FunctionOffset, Size: f.FunctionLength}
		if f.ModuleName != "" {
			m := f.ModuleName
			loc.Module = &m
		}
		if f.Address != nil {
			a := fmt.Sprintf("%016x", *f.Address)
			loc.Address = &a
		}
		if rip == nil && f.Reliable {
			l := loc
			rip = &l
		}
		frames = append(frames, oops.Frame{Location: loc, Reliable: f.Reliable})
	}
	if len(frames) == 0 {
		return nil
	}
	r := oops.FromTrace("", rip, frames)
	if v := strings.TrimSpace(u.Problem.Version); v != "" {
		r.Release = &v
	}
	if len(u.Problem.Modules) > 0 {
		r.Modules = append([]string{}, u.Problem.Modules...)
	}
	r.Source.Path = ureportSource
	return []*oops.Report{r}
}

// host names the sender: X-Ktriage-Host, else the hostname libreport adds
// as auth data, else the reporter and OS (an anonymous µReport names no
// machine, so such crashes count as one host per OS release).
func (u *uReport) host(r *http.Request) string {
	for _, h := range []string{
		r.Header.Get("X-Ktriage-Host"),
		u.Auth["hostname"],
		strings.TrimSpace(strings.Join([]string{u.OS.Name, u.OS.Version, u.OS.Architecture}, " ")),
	} {
		if h = strings.TrimSpace(h); h != "" {
			if len(h) > maxHostLen {
				h = h[:maxHostLen]
			}
			return h
		}
	}
	return "ureport " + u.Reporter.Name
}

// handleUReport takes a kerneloops µReport, ingests it as POST
// /api/reports does a document, and answers as FAF does.
func (s *Server) handleUReport(w http.ResponseWriter, r *http.Request) error {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxKeyLen {
		return fail(http.StatusBadRequest, "an Idempotency-Key header is at most %d bytes", maxKeyLen)
	}
	if key == "" {
		// libreport sends none and does not retry: each submission is
		// a crash of its own.
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("ureport key: %w", err)
		}
		key = "ureport-" + hex.EncodeToString(b[:])
	}
	raw, err := readFormFile(w, r, s.opt.MaxBody)
	if err != nil {
		return err
	}
	u, err := decodeUReport(raw)
	if err != nil {
		return err
	}
	select {
	case s.analyze <- struct{}{}:
	case <-r.Context().Done():
		return r.Context().Err()
	}
	reps := u.reports()
	<-s.analyze
	if len(reps) == 0 {
		return fail(http.StatusBadRequest, "uReport data is invalid: no kernel crash in raw_oops and no named frames")
	}
	d, err := triage.FromReports(reps, s.opt.KB)
	if err != nil {
		return fmt.Errorf("diagnosing a µReport: %w", err)
	}
	sum := sha256.Sum256(raw)
	ack, err := s.ingest(r.Context(), store.Submission{
		Group: groupOf(r), Key: key, Host: u.host(r), Kind: "ureport", Received: s.opt.Now(), Diagnosis: d,
		Digest: "ureport:" + hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return err
	}
	result := "created"
	if ack.Replayed {
		result = "replayed"
	} else {
		s.m.reports.Add(float64(len(ack.Reports)))
	}
	s.m.ingests.WithLabelValues("ureport", result).Inc()

	resp := ureportResponse{}
	if len(ack.Reports) == 0 {
		return fmt.Errorf("ureport: submission %d acknowledged without reports", ack.Submission)
	}
	// One oops is one report; should raw_oops hold more, the first is
	// the one the client asked about (all are counted).
	ar := ack.Reports[0]
	resp.BTHash = ar.Signature
	if b, err := s.st.Bucket(r.Context(), ar.Signature); err == nil && b.Count > 1 {
		resp.Result = true
	}
	if kbug := ar.KnownBug; kbug != nil && (kbug.Confidence == kb.Exact.String() || kbug.Confidence == kb.Likely.String()) {
		note := fmt.Sprintf("%s (known bug %s, %s match).", kbug.Title, kbug.ID, kbug.Confidence)
		if kbug.Workaround != "" {
			note += "\n\nWorkaround: " + kbug.Workaround
		}
		sol := ureportSolution{Cause: kbug.Title, Note: note, NoteText: note, URL: s.entryURL(kbug.ID)}
		resp.Solutions = []ureportSolution{sol}
		resp.Result = true
		resp.Message = fmt.Sprintf("Your problem seems to be caused by %s\n\n%s", sol.Cause, sol.Note)
		if sol.URL != "" {
			resp.Message += "\n\nYou can get more information at " + sol.URL
		}
	}
	return writeJSON(w, http.StatusAccepted, resp)
}

// entryURL is the first web page a knowledge-base entry cites, for a
// solution's "more information".
func (s *Server) entryURL(id string) string {
	k := s.opt.KB
	if k == nil {
		var err error
		if k, err = kb.Embedded(); err != nil {
			return ""
		}
	}
	e := k.Get(id)
	if e == nil {
		return ""
	}
	for _, ref := range e.References {
		if ref.URL != "" {
			return ref.URL
		}
	}
	return ""
}

// handleUReportAttach accepts and drops an attachment (a bug number or
// comment for a bthash): buckets here carry no attachments yet, and
// libreport treats anything but {"result": true} as a failure.
func (s *Server) handleUReportAttach(w http.ResponseWriter, r *http.Request) error {
	raw, err := readFormFile(w, r, s.opt.MaxBody)
	if err != nil {
		return err
	}
	var a struct {
		BTHash string `json:"bthash"`
		Type   string `json:"type"`
		Data   string `json:"data"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return fail(http.StatusBadRequest, "Invalid JSON file: %v", err)
	}
	return writeJSON(w, http.StatusAccepted, map[string]bool{"result": true})
}
