// Package shellquote joins a command's words for an operator to paste into
// a POSIX shell.
package shellquote

import "strings"

// Join joins a command's words for an operator to copy into a shell: a word
// of only safe characters is left bare, any other is single-quoted (a quote
// inside closes the quoting, escapes itself and reopens it), so that a name
// taken from a file ("$(...)", a blank, a ';') is passed on as one word and
// never run. Every command ktriage shows for pasting goes through it.
func Join(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = word(a)
	}
	return strings.Join(words, " ")
}

func word(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.,:/@%+=", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
