// Package triage turns evidence (log files, crash(8) transcripts, kdump
// directories) into a diagnosis: the reports in it, joined per document, and
// the known bugs they match. Its Diagnosis is the JSON contract of
// `ktriage analyze --json`.
package triage

import (
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/owner"
)

// Input kinds of the JSON contract.
const (
	KindLog          = "log"
	KindCrashSession = "crash-session"
	KindVmcore       = "vmcore"
	KindKdumpDir     = "kdump-dir"
	KindSosreport    = "sosreport"
)

// Input is one piece of evidence as the user named it, or a file found in a
// directory they named.
type Input struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Note says why an input gave nothing, when it did not.
	Note string `json:"note,omitempty"`
}

// Finding is a corruption check's result on a kernel object.
type Finding struct {
	Check    string         `json:"check"`
	Severity string         `json:"severity"`
	Object   string         `json:"object"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
}

// Match is a known bug that one or more reports are.
type Match struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Reports  []int    `json:"reports"`
	Verified bool     `json:"verified"`
	Evidence []string `json:"evidence"`
	// FixedIn and Workaround are the entry's own, for scripts that act on them.
	FixedIn    *kb.FixedIn    `json:"fixed_in"`
	Workaround *kb.Workaround `json:"workaround"`
	// Summary and RootCause are the entry's words, for the human summary.
	Summary   string `json:"summary,omitempty"`
	RootCause string `json:"root_cause,omitempty"`
	// RootCauseVerified says whether a cited source confirms RootCause, so
	// text output can mark it; JSON keeps its shape (kb show has the provenance).
	RootCauseVerified bool `json:"-"`
}

// Vmcore describes a memory dump among the inputs.
type Vmcore struct {
	Format      string  `json:"format"`
	Compression *string `json:"compression"`
	Release     *string `json:"release"`
	Arch        *string `json:"arch"`
	PageSize    *int    `json:"page_size"`
	CPUs        *int    `json:"cpus"`
	CrashTime   *string `json:"crash_time"`
	PanicCPU    *int    `json:"panic_cpu"`
}

// Diagnosis is everything ktriage concludes from its inputs.
type Diagnosis struct {
	Inputs    []Input        `json:"inputs"`
	Reports   []*oops.Report `json:"reports"`
	Findings  []Finding      `json:"findings"`
	Matches   []Match        `json:"matches"`
	Owner     *owner.Owner   `json:"owner"`
	Vmcore    *Vmcore        `json:"vmcore"`
	NextSteps []string       `json:"next_steps"`
}
