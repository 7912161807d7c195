package kb

import (
	"fmt"
	"strings"

	"github.com/ktriage/ktriage/oops"
)

// SampleResult is what the entry made of one of its samples.
type SampleResult struct {
	// Reports is how many crash reports the sample's log holds.
	Reports int
	// Best is the strongest confidence at which the entry matched one of
	// them (0: none), and Title that report's title.
	Best  Confidence
	Title string
}

// CheckSample parses a sample's log as analyze does and matches every report
// in it against the entry.
func (e *Entry) CheckSample(s Sample) (SampleResult, error) {
	reps, err := oops.Parse(strings.NewReader(s.Log), e.ID+" sample")
	if err != nil {
		return SampleResult{}, err
	}
	res := SampleResult{Reports: len(reps)}
	for _, r := range reps {
		if m, ok := e.matchCrash(CrashOf(r)); ok && m.Confidence > res.Best {
			res.Best, res.Title = m.Confidence, r.Title
		}
		if res.Title == "" {
			res.Title = r.Title
		}
	}
	return res, nil
}

// lintTests checks that the entry carries real samples (a report and a near
// miss, each with the http(s) URL it was published at) and that it matches
// its reports, at least likely, and none of its near misses above possible.
func (e *Entry) lintTests(add func(string, error, string, ...any)) {
	t := e.Tests
	if t == nil || len(t.Reports) == 0 {
		add("$", nil, "tests.reports: at least one real report of the bug (its kernel log lines and the URL they were published at) is required")
	}
	if t == nil || len(t.NearMisses) == 0 {
		add("$", nil, "tests.near_misses: at least one near miss (another bug's report that looks alike) is required")
	}
	if t == nil {
		return
	}
	for kind, list := range map[string][]Sample{"reports": t.Reports, "near_misses": t.NearMisses} {
		for i, s := range list {
			p := fmt.Sprintf("$.tests.%s[%d]", kind, i)
			if !isHTTPURL(s.Source) {
				add(p+".source", nil, "sample source %q is not an http(s) URL", s.Source)
			}
			if strings.TrimSpace(s.Log) == "" {
				add(p+".log", nil, "sample log is empty")
				continue
			}
			res, err := e.CheckSample(s)
			switch {
			case err != nil:
				add(p+".log", err, "sample log does not parse")
			case res.Reports == 0:
				add(p+".log", nil, "sample log holds no crash report")
			case kind == "reports" && res.Best < Likely:
				add(p+".log", nil, "the entry does not match its own report %q (best: %v)", res.Title, res.Best)
			case kind == "near_misses" && res.Best > Possible:
				add(p+".log", nil, "the entry matches its near miss %q (%v): it would be mistaken for this bug", res.Title, res.Best)
			}
		}
	}
}
