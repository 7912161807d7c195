package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

func newCrashCmd() *cobra.Command {
	var (
		vmlinux string
		cmds    string
		asJSON  bool
	)
	c := &cobra.Command{
		Use:   "crash DUMP",
		Short: "crash(8)-style commands over a vmcore without debuginfo: sys, log, ps, struct, rd, p, sym, mod, files, net, dis, foreach",
		Long: `crash runs crash(8)'s commands over a vmcore with the kernel's own kallsyms
(6.0+) and BTF (CONFIG_DEBUG_INFO_BTF): sys, log, ps, struct TYPE[.member] ADDR
(or TYPE ADDR), rd, p/px, sym, mod, files, net [-s], dis, foreach net|files, help.
Output is laid out as crash prints it, so crash transcripts' readers read it.

With -c, the ';'-separated commands run and ktriage exits non-zero if any
failed. Without -c, a terminal gets a shell (prompt "crash> ", history,
tab completion, Ctrl-D, q or exit to leave); other standard input is read
as commands, one line at a time. The first line says what the dump allows.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, k, err := triage.OpenVmcore(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			for _, w := range d.Info().Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: warning: %s\n", w)
			}
			var opts []kview.Option
			if vmlinux != "" {
				ts, err := loadVmlinux(vmlinux, k)
				if err != nil {
					return fmt.Errorf("--vmlinux %s: %w", vmlinux, err)
				}
				opts = append(opts, kview.WithTypes(ts))
			}
			sess := kcrash.New(kview.New(k, opts...), kcrash.WithDumpFile(args[0], d.Info()), kcrash.WithNotes(d.PRStatus()))
			sh := &shell{sess: sess, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr(), json: asJSON}
			if err := sh.capabilities(); err != nil {
				return err
			}
			in := cmd.InOrStdin()
			switch {
			case cmd.Flags().Changed("cmds"):
				sh.echo = true
				sh.line(cmds)
			case isTerminalReader(in) && isTerminal(cmd.OutOrStdout()):
				return sh.interactive()
			default:
				sh.echo = true
				if err := sh.lines(in); err != nil {
					return err
				}
			}
			if sh.failed > 0 {
				return fmt.Errorf("crash: %d of %d commands failed", sh.failed, sh.ran)
			}
			return nil
		},
	}
	c.Flags().StringVar(&vmlinux, "vmlinux", "", "a debug vmlinux whose DWARF types replace the dump's BTF")
	c.Flags().StringVarP(&cmds, "cmds", "c", "", "commands to run, separated by ';'")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line: the capabilities, then each command's result or error")
	return c
}

// isTerminalReader tells whether r is a terminal.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// shell runs lines of commands and prints their answers.
type shell struct {
	sess        *kcrash.Session
	out, errw   io.Writer
	json        bool
	echo        bool // print "crash> CMD" before each answer, as a transcript does
	ran, failed int
}

func (sh *shell) capabilities() error {
	caps := sh.sess.Capabilities()
	if sh.json {
		return json.NewEncoder(sh.out).Encode(map[string]any{"capabilities": caps})
	}
	return caps.WriteText(sh.out)
}

// line runs one line's commands; it returns false when the line asks to
// leave.
func (sh *shell) line(l string) bool {
	if t := strings.TrimSpace(l); t == "q" || t == "quit" || t == "exit" {
		return false
	}
	for _, a := range sh.sess.Exec(l) {
		if a.Call != nil && (a.Call.Name == "q" || a.Call.Name == "exit") {
			return false
		}
		sh.ran++
		if a.Err != nil {
			sh.failed++
		}
		if sh.json {
			if err := json.NewEncoder(sh.out).Encode(a); err != nil {
				fmt.Fprintf(sh.errw, "ktriage: %s: %v\n", a.Command, err)
			}
			continue
		}
		if sh.echo {
			fmt.Fprintf(sh.out, "crash> %s\n", a.Command)
		}
		if a.Result != nil {
			if err := a.Result.WriteText(sh.out); err != nil {
				fmt.Fprintf(sh.errw, "ktriage: %s: %v\n", a.Command, err)
			}
		}
		if a.Err != nil {
			fmt.Fprintln(sh.errw, a.Error())
		}
	}
	return true
}

// lines reads commands from r, one line at a time.
func (sh *shell) lines(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), kcrash.MaxLine+1)
	for sc.Scan() {
		if !sh.line(sc.Text()) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading commands from standard input: %w", err)
	}
	return nil
}

// historyFile is $XDG_STATE_HOME/ktriage/crash_history, or
// ~/.local/state/ktriage/crash_history; "" when neither can be made.
func historyFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "ktriage")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	return filepath.Join(dir, "crash_history")
}

func (sh *shell) interactive() error {
	var items []readline.PrefixCompleterInterface
	for _, n := range sh.sess.Table().Names() {
		items = append(items, readline.PcItem(n))
	}
	items = append(items, readline.PcItem("exit"), readline.PcItem("q"))
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "crash> ",
		HistoryFile:     historyFile(),
		AutoComplete:    readline.NewPrefixCompleter(items...),
		InterruptPrompt: "^C",
		EOFPrompt:       "exit",
		Stdout:          sh.out,
		Stderr:          sh.errw,
	})
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	defer rl.Close()
	for {
		l, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // io.EOF: Ctrl-D
			return nil
		}
		if !sh.line(l) {
			return nil
		}
	}
}
