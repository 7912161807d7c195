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
