package kcrash

import (
	"fmt"
	"io"
	"strings"
)

// builtins is the command table.
func builtins() []*Command {
	return []*Command{
		{Name: "sys", Usage: "sys", Help: "the system and the panic: release, version, CPUs, crash time, memory, panic message", MaxArgs: 0, Run: runSys},
		{Name: "log", Usage: "log", Help: "the kernel log, as makedumpfile --dump-dmesg prints it", MaxArgs: 0, Run: runLog},
		{Name: "ps", Usage: "ps [-k|-u] [-A] [PID|TASK|COMMAND]...", Help: "tasks: > marks those on a CPU at the crash; [kernel threads]",
			Flags: []Flag{{Name: "-k", Help: "kernel threads only"}, {Name: "-u", Help: "user tasks only"}, {Name: "-A", Help: "the tasks active on a CPU only"}}, MaxArgs: -1, Run: runPs},
		{Name: "struct", Aliases: []string{"union"}, Usage: "struct [-o] [-x] TYPE[.member[,member]] [ADDR [COUNT]]  (or TYPE ADDR)",
			Help:  "a struct at an address, decoded with the dump's BTF; -o the layout with offsets",
			Flags: []Flag{{Name: "-o", Help: "show member offsets"}, {Name: "-x", Help: "integers in hex"}}, MinArgs: 1, MaxArgs: 3, Run: runStruct},
		{Name: "rd", Usage: "rd [-64|-32|-16|-8] [-s] ADDR|SYMBOL [COUNT]", Help: "memory words in hex with their bytes as ASCII",
			Flags: []Flag{{Name: "-s", Help: "words that point at a symbol shown as it"}, {Name: "-64", Help: "64-bit words (the default)"}, {Name: "-32", Help: "32-bit words"}, {Name: "-16", Help: "16-bit words"}, {Name: "-8", Help: "bytes"}}, MinArgs: 1, MaxArgs: 2, Run: runRd},
		{Name: "p", Aliases: []string{"px", "pd", "print"}, Usage: "p|px SYMBOL", Help: "a global's value, typed (px: integers in hex)", MinArgs: 1, MaxArgs: 1, Run: runPrint},
		{Name: "sym", Usage: "sym ADDR|NAME...", Help: "symbol and offset of an address, or the address of a name (module symbols too)", MinArgs: 1, MaxArgs: -1, Run: runSym},
		{Name: "mod", Usage: "mod", Help: "loaded modules: struct module, name, base, size", MaxArgs: 0, Run: runMod},
		{Name: "files", Usage: "files [PID|TASK|COMMAND]", Help: "a task's open files (default: the panic task)", MaxArgs: -1, Run: runFiles},
		{Name: "net", Usage: "net [-s [PID|TASK|COMMAND]...]", Help: "network devices and addresses; -s a task's sockets",
			Flags: []Flag{{Name: "-s", Help: "sockets of a task"}}, MaxArgs: -1, Run: runNet},
		{Name: "dis", Usage: "dis [-l] [-r] ADDR|SYMBOL [COUNT]", Help: "disassembly in AT&T syntax; a symbol alone is its whole function",
			Flags: []Flag{{Name: "-l", Help: "source lines (none without debuginfo)"}, {Name: "-r", Help: "from the function's start up to ADDR"}}, MinArgs: 1, MaxArgs: 2, Run: runDis},
		{Name: "foreach", Usage: "foreach net|files|bt [-s]", Help: "net -s, files (or bt, once registered) for every task",
			Flags: []Flag{{Name: "-s", Help: "sockets (the only net form)"}}, PassFlags: true, MinArgs: 1, MaxArgs: 1, Run: runForeach},
		{Name: "bt", Usage: "bt [-a] [-t] [PID|TASK|COMMAND]", Help: "a task's kernel stack, unwound with the dump's ORC tables (default: the panic task)",
			Flags: []Flag{{Name: "-a", Help: "every task active on a CPU"}, {Name: "-t", Help: "add the stack's other text addresses as ? guesses"}}, MaxArgs: 1, Run: runBt},
		{Name: "help", Usage: "help [COMMAND]", Help: "the commands, or one command's usage and flags", MaxArgs: 1, Run: runHelp},
	}
}

// LogResult is `log`: the kernel log text.
type LogResult struct {
	Text string `json:"text"`
}

// WriteText implements Result.
func (r *LogResult) WriteText(w io.Writer) error {
	_, err := io.WriteString(w, r.Text)
	return err
}

func runLog(s *Session, c *Call) (Result, error) {
	log, err := s.logText()
	if len(log) == 0 && err != nil {
		return nil, err
	}
	return &LogResult{Text: string(log)}, err
}

// HelpResult is `help`.
type HelpResult struct {
	Commands []HelpEntry `json:"commands"`
	detail   bool
}

// HelpEntry is one command's usage.
type HelpEntry struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	Usage   string   `json:"usage"`
	Help    string   `json:"help"`
	Flags   []Flag   `json:"flags,omitempty"`
}

// WriteText implements Result.
func (r *HelpResult) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Commands {
		if !r.detail {
			fmt.Fprintf(&b, "%-8s %s\n", c.Name, c.Help)
			continue
		}
		fmt.Fprintf(&b, "usage: %s\n%s\n", c.Usage, c.Help)
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "also: %s\n", strings.Join(c.Aliases, ", "))
		}
		for _, f := range c.Flags {
			fmt.Fprintf(&b, "  %-4s %s\n", f.Name, f.Help)
		}
	}
	if !r.detail {
		b.WriteString("TYPE ADDR is struct TYPE ADDR; commands are separated by ';'; q or exit leaves.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func runHelp(s *Session, c *Call) (Result, error) {
	r := &HelpResult{}
	cmds := s.table.Commands()
	if len(c.Args) == 1 {
		cmd := s.table.Lookup(c.Args[0])
		if cmd == nil {
			if c.Args[0] == "bt" {
				return nil, fmt.Errorf("bt: not available yet (it needs the ORC unwinder)")
			}
			return nil, fmt.Errorf("%q: no such command", c.Args[0])
		}
		cmds, r.detail = []*Command{cmd}, true
	}
	for _, c := range cmds {
		r.Commands = append(r.Commands, HelpEntry{Name: c.Name, Aliases: c.Aliases, Usage: c.Usage, Help: c.Help, Flags: c.Flags})
	}
	return r, nil
}
