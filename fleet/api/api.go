// Package api holds the fleet service's wire types: what the server
// answers to a submission, which the store writes and the submit client
// reads. It imports nothing of either side, so a client that only submits
// links no database driver.
package api

// AckReport is one report of a submission: its bucket and, when the
// knowledge base matched it, the known bug.
type AckReport struct {
	Signature        string    `json:"signature"`
	SignatureVersion int       `json:"signature_version"`
	Title            string    `json:"title"`
	KnownBug         *KnownBug `json:"known_bug"`
}

// KnownBug is the knowledge-base entry a report matched, with its
// workaround in words when it has one.
type KnownBug struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Confidence string `json:"confidence"`
	Workaround string `json:"workaround,omitempty"`
}

// Job is the answer for an upload that a worker analyzes (a vmcore, or a
// kdump directory sent as a tar): 202 once it is stored and its job queued,
// 200 for its key sent again, and GET /api/jobs/{job} until its State is
// done (Submission and Reports then hold its acknowledgement) or failed
// (Error says why).
type Job struct {
	Upload     int64       `json:"upload"`
	Job        int64       `json:"job"`
	Kind       string      `json:"kind"`
	Size       int64       `json:"size"`
	State      string      `json:"state"`
	Attempts   int         `json:"attempts"`
	Error      string      `json:"error,omitempty"`
	Submission int64       `json:"submission,omitempty"`
	Reports    []AckReport `json:"reports"`
}

// Remedy is a bucket's workaround carried out, when its known bug has one
// remedy can apply: the plan `ktriage remedy plan` makes on a minimal host
// of each network stack, for one interface. A host's own plan (run there)
// follows its own configuration.
type Remedy struct {
	EntryID string        `json:"kb_id"`
	Iface   string        `json:"iface"`
	Command string        `json:"command"` // the runtime change, for Iface
	Stacks  []RemedyStack `json:"stacks"`
	// OnHost is what to run on each host: plan, then apply.
	OnHost []string `json:"on_host"`
	Cost   string   `json:"cost"`
}

// RemedyStack is the persistent change on a host of one network stack.
type RemedyStack struct {
	Stack string   `json:"stack"`
	Diff  string   `json:"diff"`
	Notes []string `json:"notes,omitempty"`
}
