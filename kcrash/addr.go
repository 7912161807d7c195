package kcrash

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Addr is a kernel address; it marshals to JSON as a hex string
// ("0xffffffff92d8e3a8"), since JSON numbers lose 64-bit precision.
type Addr uint64

// MarshalJSON implements json.Marshaler.
func (a Addr) MarshalJSON() ([]byte, error) { return json.Marshal(fmt.Sprintf("%#x", uint64(a))) }

// String is the address as crash prints it: 16 hex digits.
func (a Addr) String() string { return fmt.Sprintf("%016x", uint64(a)) }

// AddrError says a word is neither an address nor a known symbol.
type AddrError struct {
	Word string
	Err  error
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("%q is neither an address nor a symbol: %v", e.Word, e.Err)
}

// Unwrap exposes the lookup failure.
func (e *AddrError) Unwrap() error { return e.Err }

// addr reads an address argument: hexadecimal with or without 0x (crash
// reads bare numbers as hex), a symbol (core kernel or module, "mod:sym"),
// and "+"/"-" terms after the first, which are decimal unless 0x-prefixed,
// as gdb reads "0xffff881062d2dc00+384".
func (s *Session) addr(word string) (uint64, error) {
	if word == "" {
		return 0, &AddrError{Word: word, Err: fmt.Errorf("empty")}
	}
	terms, ops := splitTerms(word)
	base, err := s.firstTerm(terms[0])
	if err != nil {
		return 0, &AddrError{Word: word, Err: err}
	}
	for i, t := range terms[1:] {
		n, err := strconv.ParseUint(t, 0, 64)
		if err != nil {
			return 0, &AddrError{Word: word, Err: fmt.Errorf("offset %q: %w", t, err)}
		}
		if ops[i] == '+' {
			base += n
		} else {
			base -= n
		}
	}
	return base, nil
}

// splitTerms cuts "a+b-c" into terms and the operators between them.
func splitTerms(w string) ([]string, []byte) {
	var terms []string
	var ops []byte
	start := 0
	for i := 1; i < len(w); i++ {
		if w[i] == '+' || w[i] == '-' {
			terms = append(terms, w[start:i])
			ops = append(ops, w[i])
			start = i + 1
		}
	}
	return append(terms, w[start:]), ops
}

func (s *Session) firstTerm(t string) (uint64, error) {
	if hex, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		return strconv.ParseUint(hex, 16, 64)
	}
	a, _, lerr := s.v.Lookup(t)
	if lerr == nil {
		return a, nil
	}
	if n, err := strconv.ParseUint(t, 16, 64); err == nil {
		return n, nil
	}
	return 0, lerr
}

// count reads a COUNT argument: decimal, or hex with 0x.
func count(word string) (uint64, error) {
	n, err := strconv.ParseUint(word, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", word, err)
	}
	return n, nil
}
