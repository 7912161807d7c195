// Package kcrash runs crash(8)-style commands over a kview.View: sys, log,
// ps, struct, rd, p/px, sym, mod, files, net, dis, foreach and help, each
// answering with a typed result that renders as crash prints it (so that a
// support engineer's habits, and crashlog's transcript parsers, carry
// over) and marshals to JSON.
//
// Commands are data: a Table of Command values with their flags and
// argument bounds, parsed by one parser (SplitLine, Table.Parse). bt is
// the next, on top of the ORC unwinder; it registers itself without
// touching the parser:
//
//	sess.Register(&kcrash.Command{
//		Name: "bt", Usage: "bt [-f] [PID|TASK]", Help: "a task's backtrace",
//		Flags: []kcrash.Flag{{Name: "-f", Help: "every stack word"}},
//		MaxArgs: 1,
//		Run: func(s *kcrash.Session, c *kcrash.Call) (kcrash.Result, error) { ... },
//	})
//
// Until then `bt` answers that it awaits the unwinder. A Result's text is
// crash's layout ("crash> CMD" prompts before each make it a transcript
// that crashlog reads back to the same values); its JSON form carries the
// same values, addresses as hex strings.
package kcrash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kview"
)

// Result is what a command answers: it renders as crash(8) prints it, and
// marshals to JSON with encoding/json.
type Result interface {
	// WriteText writes the crash-style rendering.
	WriteText(w io.Writer) error
}

// Command is one entry of the command table.
type Command struct {
	Name    string
	Aliases []string
	// Usage is the synopsis ("rd [-64|-32|-16|-8] ADDR|SYMBOL [COUNT]"),
	// Help one line on what it shows.
	Usage, Help string
	Flags       []Flag
	// MinArgs and MaxArgs bound the non-flag words; MaxArgs -1 is no
	// bound.
	MinArgs, MaxArgs int
	// NumericArgs lets "-1" be an argument rather than a flag.
	NumericArgs bool
	// PassFlags takes flags the table does not list, for Run to check:
	// foreach passes them to the command it runs.
	PassFlags bool
	// Run carries the command out.
	Run func(s *Session, c *Call) (Result, error)
}

// Table is a set of commands by name and alias.
type Table struct {
	cmds   []*Command
	byName map[string]*Command
}

// Add puts c in the table; a name or alias already taken is an error.
func (t *Table) Add(c *Command) error {
	if t.byName == nil {
		t.byName = map[string]*Command{}
	}
	if c.Name == "" || c.Run == nil {
		return fmt.Errorf("kcrash: command %q has no name or no Run", c.Name)
	}
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		if _, dup := t.byName[n]; dup {
			return fmt.Errorf("kcrash: command name %q is taken", n)
		}
	}
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		t.byName[n] = c
	}
	t.cmds = append(t.cmds, c)
	return nil
}

// Lookup returns the command called name, or nil.
func (t *Table) Lookup(name string) *Command { return t.byName[name] }

// Commands returns the commands sorted by name.
func (t *Table) Commands() []*Command {
	out := slices.Clone(t.cmds)
	slices.SortFunc(out, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns every name and alias, sorted, for completion.
func (t *Table) Names() []string {
	var out []string
	for n := range t.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Session is one dump under examination: the view, what is known of the
// dump file, the command table and what the commands read once (the log).
// It is not safe for concurrent use.
type Session struct {
	v     *kview.View
	table Table
	file  string
	info  *dump.Info

	logOnce sync.Once
	log     []byte
	logErr  error

	memOnce  sync.Once
	memBytes uint64

	seq int // p's $N

	capsOnce sync.Once
	caps     Capabilities

	notes      []dump.PRStatus
	tracerOnce sync.Once
	bt         *backtrace.Tracer
	panicOnce  sync.Once
	panicInfo  *backtrace.Panic
	panicErr   error
}

// Option adjusts New.
type Option func(*Session)

// WithDumpFile tells the session the dump's path and what its container
// says (format, CPUs, crash time, dump level), for sys.
func WithDumpFile(path string, info dump.Info) Option {
	return func(s *Session) { s.file, s.info = path, &info }
}

// New returns a session over v with the built-in commands.
func New(v *kview.View, opts ...Option) *Session {
	s := &Session{v: v}
	for _, c := range builtins() {
		if err := s.table.Add(c); err != nil {
			panic(err) // the built-in table is fixed at compile time
		}
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// View returns the session's view.
func (s *Session) View() *kview.View { return s.v }

// Register adds a command to the session's table (bt, when the unwinder
// is there).
func (s *Session) Register(c *Command) error { return s.table.Add(c) }

// Table returns the session's command table.
func (s *Session) Table() *Table { return &s.table }

// Answer is one command of a line with its outcome.
type Answer struct {
	// Command is the command as typed.
	Command string
	Call    *Call
	Result  Result
	// Err is why the command failed (a Result may still hold what was read
	// before the failure).
	Err error
}

// MarshalJSON gives {"command": ..., "result": ...} or {"command": ...,
// "error": ...} (both when a failure cut a result short).
func (a Answer) MarshalJSON() ([]byte, error) {
	m := struct {
		Command string `json:"command"`
		Name    string `json:"name,omitempty"`
		Result  Result `json:"result,omitempty"`
		Error   string `json:"error,omitempty"`
	}{Command: a.Command, Result: a.Result}
	if a.Call != nil {
		m.Name = a.Call.Name
	}
	if a.Err != nil {
		m.Error = a.Err.Error()
	}
	return json.Marshal(m)
}

// WriteText writes the answer as crash would: the result, then the error
// as "NAME: message".
func (a Answer) WriteText(w io.Writer) error {
	if a.Result != nil {
		if err := a.Result.WriteText(w); err != nil {
			return err
		}
	}
	if a.Err != nil {
		_, err := fmt.Fprintf(w, "%s\n", a.Error())
		return err
	}
	return nil
}

// Error is the failure as one line naming the command, "" when none.
func (a Answer) Error() string {
	if a.Err == nil {
		return ""
	}
	var pe *ParseError
	if errors.As(a.Err, &pe) {
		return a.Err.Error()
	}
	name := a.Command
	if a.Call != nil {
		name = a.Call.Typed
	}
	if f := strings.Fields(name); len(f) > 0 {
		name = f[0]
	}
	return name + ": " + a.Err.Error()
}

// Exec runs every command of a line in order; a failing command does not
// stop the others.
func (s *Session) Exec(line string) []Answer {
	cmds, err := SplitLine(line)
	if err != nil {
		return []Answer{{Command: strings.TrimSpace(line), Err: err}}
	}
	var out []Answer
	for _, words := range cmds {
		a := Answer{Command: strings.Join(words, " ")}
		a.Call, a.Err = s.table.Parse(words)
		if a.Err == nil {
			a.Result, a.Err = s.Run(a.Call)
		}
		out = append(out, a)
	}
	return out
}

// Run carries out one parsed call, turning a panic in a command (a bug,
// never to be reached by hostile input, but a shell must survive it) into
// an error.
func (s *Session) Run(c *Call) (res Result, err error) {
	cmd := s.table.Lookup(c.Name)
	if cmd == nil {
		return nil, &ParseError{Command: c.Name, Word: c.Name, Reason: "no such command"}
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return cmd.Run(s, c)
}

// Text renders a result to a string.
func Text(r Result) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}
