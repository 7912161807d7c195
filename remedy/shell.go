package remedy

import "strings"

// ShellJoin joins a command's words for an operator to copy into a shell:
// a word of only safe characters is left bare, any other is single-quoted
// (a quote inside closes the quoting, escapes itself and reopens it), so
// that a name taken from a file ("$(...)",
// a blank, a ';') is passed on as one word and never run. Every command
// remedy shows goes through it.
func ShellJoin(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = shellWord(a)
	}
	return strings.Join(words, " ")
}

func shellWord(s string) string {
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
