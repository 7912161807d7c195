package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktriage/ktriage/internal/progress"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/remedy"
	"github.com/ktriage/ktriage/render"
	"github.com/ktriage/ktriage/triage"
)

// progressWrap shows reading progress on stderr when it is a terminal.
func progressWrap() func(string, io.Reader, int64) io.Reader {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return func(path string, r io.Reader, size int64) io.Reader {
		return progress.NewReader(r, os.Stderr, path, size)
	}
}

func newAnalyzeCmd() *cobra.Command {
	var asJSON bool
	var kbDir, root string
	cmd := &cobra.Command{
		Use:   "analyze [--json] [--root DIR] PATH...",
		Short: "Find and diagnose every kernel crash in logs, crash(8) sessions and kdump directories",
		Long: `analyze reads console logs, dmesg, vmcore-dmesg.txt, syslog and journal
exports, crash(8) transcripts and pasted tickets, finds every kernel crash in
them, and matches each to the knowledge base of known bugs. A directory is
read as one body of evidence (a kdump directory, a sosreport). "-" reads
standard input; gzip, xz and zstd files are read through their decompressor.

--root DIR names the crashed host's root directory (/ on the host itself, an
unpacked sosreport): an offload workaround then says how to make it persistent
on that host's network stack (ifcfg, NetworkManager, netplan or
systemd-networkd), as remedy reads it. Without it every choice is named.
--json output does not depend on it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kb.Load(kbDir)
			if err != nil {
				return err
			}
			warn := func(msg string) { fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: warning: %s\n", msg) }
			for _, n := range overrideNotes(k) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: note: %s\n", n)
			}
			d, err := triage.Analyze(args, triage.Options{KB: k, Wrap: progressWrap(), Warn: warn, Stdin: cmd.InOrStdin()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return render.JSON(out, d)
			}
			// A root that cannot be read costs only the choice of stack:
			// the diagnosis still prints, with a warning naming what was
			// wrong, and the workaround names every stack.
			var stacks []remedy.Stack
			if root != "" {
				if stacks, err = remedy.Stacks(root); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: warning: --root: %v; the workaround names every network stack\n", err)
					stacks = nil
				}
			}
			color := false
			if isTerminal(out) && os.Getenv("NO_COLOR") == "" {
				color = true
			}
			if err := render.Text(out, d, render.Style{Color: color, Stacks: stacks}); err != nil {
				return fmt.Errorf("writing the summary: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the JSON contract instead of the summary")
	cmd.Flags().StringVar(&kbDir, "kb-dir", "", "a directory of knowledge-base entries to add to the built-in ones (an entry with a built-in's id replaces it)")
	cmd.Flags().StringVar(&root, "root", "", "the crashed host's root directory, to say how to make a workaround persistent on its network stack (default: unknown)")
	return cmd
}
