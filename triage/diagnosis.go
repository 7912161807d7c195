// Package triage turns evidence (log files, crash(8) transcripts, kdump
// directories) into a diagnosis: the reports in it, joined per document, and
// the known bugs they match. Its Diagnosis is the JSON contract of
// `ktriage analyze --json`.
package triage

import (
	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/owner"
)

// InputKind says what an input is.
type InputKind string

// Input kinds, as the JSON contract spells them.
const (
	// KindLog is a text file read for kernel messages (a console log, a
	// ticket), or a directory of them.
	KindLog InputKind = "log"
	// KindCrashSession is text with crash(8) output in it.
	KindCrashSession InputKind = "crash-session"
	// KindVmcore is a memory dump.
	KindVmcore InputKind = "vmcore"
	// KindKdumpDir is a directory kdump wrote (vmcore, vmcore-dmesg.txt,
	// dmesg.*, dump.*).
	KindKdumpDir InputKind = "kdump-dir"
	// KindSosreport is an sosreport directory.
	KindSosreport InputKind = "sosreport"
)

// Input is one piece of evidence as the user named it, or a file found in a
// directory they named.
type Input struct {
	Path string    `json:"path"`
	Kind InputKind `json:"kind"`
	// Note says why an input gave nothing, when it did not, or what of
	// it was not read.
	Note string `json:"note,omitempty"`
}

// Match is a known bug that one or more reports are.
type Match struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Reports  []int  `json:"reports"`
	Verified bool   `json:"verified"`
	// Confidence is exact, likely or possible (kb.Confidence), the
	// strongest over the reports; Why says what it rests on.
	Confidence string   `json:"confidence"`
	Why        string   `json:"why"`
	Evidence   []string `json:"evidence"`
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
	Inputs    []Input          `json:"inputs"`
	Reports   []*oops.Report   `json:"reports"`
	Findings  []checks.Finding `json:"findings"`
	Matches   []Match          `json:"matches"`
	Owner     *owner.Owner     `json:"owner"`
	Vmcore    *Vmcore          `json:"vmcore"`
	NextSteps []string         `json:"next_steps"`
	// PossibleFixes are commits of the user's own kernel tree (a fix
	// index, ktriage kb index) that quote a crash like a report's.
	PossibleFixes []PossibleFix `json:"possible_fixes,omitempty"`
	// Unmatched are the reports no known bug matches at least likely,
	// each with the query a person would search for.
	Unmatched []Unmatched `json:"unmatched,omitempty"`
	// Host is the whole host's evidence, when a sosreport or the live
	// host was read.
	Host *Host `json:"host,omitempty"`

	host *hostState
}

// PossibleFix is a commit of a fix index that may fix a report.
type PossibleFix struct {
	Report  int    `json:"report"`
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
	// Release is the first release tag that contains the commit, if any.
	Release string `json:"release,omitempty"`
	// Strength is title or guilty-function: what the commit's quoted
	// crash shares with the report.
	Strength string `json:"strength"`
	Why      string `json:"why"`
}

// Unmatched is a report that no knowledge-base entry matches (or only
// possibly), and what to search for.
type Unmatched struct {
	Report int    `json:"report"`
	Query  string `json:"query"`
}
