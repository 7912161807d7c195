// Package netconf reads and edits the files a Linux host keeps its network
// configuration and state in: initscripts ifcfg files, NetworkManager
// keyfiles, systemd .link files, netplan YAML, /proc/net/bonding and the
// output of ethtool -k. Each format has its own file; every parser takes the
// path to name in its errors and the bytes, and never opens a file, and every
// editor returns new bytes that change only what it was asked to change.
//
// Parse errors are *ParseError, naming the file and line.
package netconf

import (
	"fmt"
	"sort"
	"strings"
)

// Feature names one offload in each configuration language, because every
// tool spells it differently and an edit must use the spelling of the file
// it touches.
type Feature struct {
	// Short is the ethtool -K name the knowledge base uses (rx, tso, ...).
	Short string
	// Long is the name ethtool -k prints (rx-checksumming, ...).
	Long string
	// NM is the NetworkManager keyfile key in [ethtool] (feature-rx, ...).
	NM string
	// Link is the systemd .link [Link] key (ReceiveChecksumOffload, ...).
	Link string
	// Netplan is the netplan ethernets key (receive-checksum-offload, ...).
	Netplan string
}

// Features are the offloads remedy knows how to write everywhere. Names were
// checked against ethtool(8) output, libnm's NM_ETHTOOL_OPTNAME_FEATURE_*,
// systemd.link(5) and netplan's parser.
var Features = []Feature{
	{"rx", "rx-checksumming", "feature-rx", "ReceiveChecksumOffload", "receive-checksum-offload"},
	{"tx", "tx-checksumming", "feature-tx", "TransmitChecksumOffload", "transmit-checksum-offload"},
	{"tso", "tcp-segmentation-offload", "feature-tso", "TCPSegmentationOffload", "tcp-segmentation-offload"},
	{"gso", "generic-segmentation-offload", "feature-gso", "GenericSegmentationOffload", "generic-segmentation-offload"},
	{"gro", "generic-receive-offload", "feature-gro", "GenericReceiveOffload", "generic-receive-offload"},
	{"lro", "large-receive-offload", "feature-lro", "LargeReceiveOffload", "large-receive-offload"},
}

// LookupFeature finds a feature by any of its names (ethtool short or long
// name, keyfile, .link or netplan key), so that settings written in any
// language can be compared.
func LookupFeature(name string) (Feature, bool) {
	for _, f := range Features {
		if name == f.Short || name == f.Long || name == f.NM || strings.EqualFold(name, f.Link) || name == f.Netplan {
			return f, true
		}
	}
	// ethtool -K also accepts these aliases.
	switch name {
	case "rx-checksum":
		return Features[0], true
	case "tx-checksum":
		return Features[1], true
	}
	return Feature{}, false
}

// ParseError locates a problem in a configuration file, so that an operator
// can open the file at the line and fix it before anything touches it.
type ParseError struct {
	File string
	Line int // 0 when the whole file is at fault
	Msg  string
	Err  error // underlying error, if any
}

// Error formats the error as file:line: message.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error so errors.Is/As see through.
func (e *ParseError) Unwrap() error { return e.Err }

func perr(file string, line int, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	n := 1
	for _, c := range data[:off] {
		if c == '\n' {
			n++
		}
	}
	return n
}

// Splice is a replacement of data[Start:End] by Text: edits are made as
// splices against the bytes read, so that every other byte stays as it was
// and several edits of one file combine.
type Splice struct {
	Start, End int
	Text       string
}

// ApplySplices returns data with each splice made. Splices must not
// overlap; they may come in any order.
func ApplySplices(data []byte, ss []Splice) []byte {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Start < ss[j].Start })
	var b []byte
	pos := 0
	for _, s := range ss {
		b = append(b, data[pos:s.Start]...)
		b = append(b, s.Text...)
		pos = s.End
	}
	return append(b, data[pos:]...)
}
