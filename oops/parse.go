package oops

import "io"

// Parse reads a kernel log from r and returns every crash report in it.
// path names the input in each report's source span.
func Parse(r io.Reader, path string) ([]*Report, error) {
	s := NewScanner(path)
	return s.ScanAll(r)
}
