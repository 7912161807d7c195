package oops

import (
	"bufio"
	"fmt"
	"io"
)

// Scanner finds reports in a stream of log lines.
type Scanner struct {
	path    string
	reports []*Report
}

// NewScanner returns a scanner whose reports name path as their source.
func NewScanner(path string) *Scanner { return &Scanner{path: path} }

// ScanAll reads r to its end and returns the reports found.
func (s *Scanner) ScanAll(r io.Reader) ([]*Report, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		_, err := br.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
	}
	return s.reports, nil
}
