package kcrash

import (
	"fmt"
	"slices"
	"strings"
)

// Limits on what one input line may make the parser hold.
const (
	// MaxLine is the longest line accepted (a pasted script is many lines,
	// not one).
	MaxLine = 64 << 10
	// MaxWords bounds the words of one line, all commands together.
	MaxWords = 4096
)

// Flag is one option a command takes: "-64", "-o", "-s".
type Flag struct {
	// Name is the flag as typed, with its dash.
	Name string `json:"name"`
	// Help says what it does, for help.
	Help string `json:"help"`
}

// Call is one command as parsed: its name as the table knows it, the flags
// given and the other words in order.
type Call struct {
	// Name is the command's table name ("px" stays "px"; a type name used
	// as a command becomes "struct" with Shorthand set).
	Name string
	// Typed is the first word as typed.
	Typed string
	// Flags holds the flags given, by name with their dash.
	Flags map[string]bool
	// Args are the words that are not flags.
	Args []string
	// Shorthand is set for crash's "TYPE ADDR", run as "struct TYPE ADDR".
	Shorthand bool
}

// Has reports whether flag (with its dash) was given.
func (c *Call) Has(flag string) bool { return c.Flags[flag] }

// String is the call as a command line.
func (c *Call) String() string {
	w := append([]string{c.Typed}, sortedFlags(c.Flags)...)
	return strings.Join(append(w, c.Args...), " ")
}

func sortedFlags(m map[string]bool) []string {
	var out []string
	for f := range m {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// ParseError says which command and which word of a line could not be
// read, and why.
type ParseError struct {
	// Command is the command the word belongs to ("" when the line could
	// not be split into commands).
	Command string
	// Word is the offending word as typed.
	Word   string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("%q: %s", e.Word, e.Reason)
	}
	if e.Word == e.Command {
		return e.Command + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %q: %s", e.Command, e.Word, e.Reason)
}

// SplitLine splits a line into commands at unquoted semicolons and each
// command into words, as a shell does: 'single quotes' are literal,
// "double quotes" take backslash escapes, a backslash outside quotes
// escapes the next character. Empty commands are dropped; a '#' at the
// start of a word begins a comment.
func SplitLine(line string) ([][]string, error) {
	if len(line) > MaxLine {
		return nil, &ParseError{Word: line[:32] + "...", Reason: fmt.Sprintf("line of %d bytes is longer than the %d accepted", len(line), MaxLine)}
	}
	var (
		cmds  [][]string
		words []string
		cur   strings.Builder
		inW   bool // a word is open (possibly empty, from "")
		nw    int
	)
	endWord := func() error {
		if inW {
			nw++
			if nw > MaxWords {
				return &ParseError{Word: cur.String(), Reason: fmt.Sprintf("more than %d words on one line", MaxWords)}
			}
			words = append(words, cur.String())
			cur.Reset()
			inW = false
		}
		return nil
	}
	endCmd := func() {
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ';':
			if err := endWord(); err != nil {
				return nil, err
			}
			endCmd()
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if err := endWord(); err != nil {
				return nil, err
			}
		case c == '#' && !inW:
			i = len(line)
		case c == '\\':
			inW = true
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
		case c == '\'':
			inW = true
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, &ParseError{Command: first(words), Word: line[i:], Reason: "unterminated single quote"}
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inW = true
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, &ParseError{Command: first(words), Word: line[i:], Reason: "unterminated double quote"}
			}
			i = j
		default:
			inW = true
			cur.WriteByte(c)
		}
	}
	if err := endWord(); err != nil {
		return nil, err
	}
	endCmd()
	return cmds, nil
}

func first(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return w[0]
}

// Parse reads one command's words against the table: the command by name
// or alias, each flag checked against the command's, the count of the
// other words against its bounds. A first word that names no command is
// crash's "TYPE ADDR" shorthand for struct when the table has struct and
// an argument follows.
func (t *Table) Parse(words []string) (*Call, error) {
	if len(words) == 0 {
		return nil, &ParseError{Reason: "empty command"}
	}
	name := words[0]
	if name == "" {
		return nil, &ParseError{Command: `""`, Word: name, Reason: "empty command name"}
	}
	cmd := t.Lookup(name)
	call := &Call{Typed: name, Flags: map[string]bool{}}
	rest := words[1:]
	if cmd == nil {
		if why, ok := planned[name]; ok {
			return nil, &ParseError{Command: name, Word: name, Reason: why}
		}
		st := t.Lookup("struct")
		if st == nil || len(rest) == 0 || !isIdent(name) {
			return nil, &ParseError{Command: name, Word: name, Reason: "no such command (help lists them)"}
		}
		cmd, call.Shorthand = st, true
		rest = words // the type name is struct's first argument
	}
	call.Name = cmd.Name
	flagsDone := false
	for _, w := range rest {
		if flagsDone || len(w) < 2 || w[0] != '-' || cmd.argLooksLikeFlag(w) {
			call.Args = append(call.Args, w)
			continue
		}
		if w == "--" {
			flagsDone = true
			continue
		}
		if cmd.hasFlag(w) || cmd.PassFlags {
			call.Flags[w] = true
			continue
		}
		// Single-letter flags may be joined: "-lr".
		joined := true
		for _, c := range w[1:] {
			if !cmd.hasFlag("-" + string(c)) {
				joined = false
				break
			}
		}
		if !joined || len(w) == 2 {
			return nil, &ParseError{Command: cmd.Name, Word: w, Reason: "unknown flag" + cmd.flagList()}
		}
		for _, c := range w[1:] {
			call.Flags["-"+string(c)] = true
		}
	}
	if len(call.Args) < cmd.MinArgs {
		word := name
		if len(call.Args) > 0 {
			word = call.Args[len(call.Args)-1]
		}
		return nil, &ParseError{Command: cmd.Name, Word: word, Reason: fmt.Sprintf("needs at least %d argument(s): usage: %s", cmd.MinArgs, cmd.Usage)}
	}
	if cmd.MaxArgs >= 0 && len(call.Args) > cmd.MaxArgs {
		return nil, &ParseError{Command: cmd.Name, Word: call.Args[cmd.MaxArgs], Reason: fmt.Sprintf("too many arguments: usage: %s", cmd.Usage)}
	}
	return call, nil
}

// argLooksLikeFlag is false for every flag-shaped word except those a
// command takes as arguments: a negative number where the command has no
// numeric flag of that spelling.
func (c *Command) argLooksLikeFlag(w string) bool {
	if c.hasFlag(w) {
		return false
	}
	for _, r := range w[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return c.NumericArgs
}

func (c *Command) hasFlag(w string) bool {
	for _, f := range c.Flags {
		if f.Name == w {
			return true
		}
	}
	return false
}

func (c *Command) flagList() string {
	if len(c.Flags) == 0 {
		return " (" + c.Name + " takes none)"
	}
	var n []string
	for _, f := range c.Flags {
		n = append(n, f.Name)
	}
	return " (" + c.Name + " takes " + strings.Join(n, ", ") + ")"
}

// planned names the crash commands still to come, so that asking for one
// says why it is missing rather than that it does not exist. An entry
// stops mattering once Register adds the command.
var planned = map[string]string{}

// isIdent reports whether s can be a C type name.
func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == ',') {
			return false
		}
	}
	return true
}
