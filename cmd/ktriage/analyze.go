package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ktriage/ktriage/fixindex"
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
	var asJSON, live bool
	var kbDir, root, fixIndex string
	cmd := &cobra.Command{
		Use:   "analyze [--json] [--root DIR] [--host] PATH...",
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
--json output does not depend on it.

A sosreport, unpacked or as its archive (.tar.xz, .tar.gz, .tar.bz2,
.tar.zst; read in one pass, never unpacked), adds a host section: the crash
history across all its logs (one crash on one boot counts once), whether the
running and installed kernels are affected by each known bug, and whether its
workaround is in force now (ethtool -k) and after a reboot (the configuration
files), with the change that would make it so. --host reads the same of the
running host.

--fix-index FILE names an index of a kernel git tree's fixes (ktriage kb
index builds it): each crash is then looked up among the commits that quote
a crash like it, and the candidates are named as possible fixes. Without the
flag the index at the default place is used when it exists.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if live {
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kb.Load(kbDir)
			if err != nil {
				return err
			}
			warn := func(msg string) { fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: warning: %s\n", msg) }
			for _, n := range overrideNotes(k) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: note: %s\n", n)
			}
			ix, err := loadFixIndex(fixIndex, cmd.Flags().Changed("fix-index"))
			if err != nil {
				return err
			}
			d, err := triage.Analyze(args, triage.Options{KB: k, Wrap: progressWrap(), Warn: warn, Stdin: cmd.InOrStdin(), Fixes: ix, Host: live})
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
	cmd.Flags().BoolVar(&live, "host", false, "read this host too: its logs under /var/log and /var/crash, its kernels, its NICs' offloads and network configuration")
	cmd.Flags().StringVar(&fixIndex, "fix-index", "", "a fix index built by ktriage kb index (default: the one in the user cache directory, if any)")
	cmd.Flags().StringVar(&root, "root", "", "the crashed host's root directory, to say how to make a workaround persistent on its network stack (default: unknown)")
	return cmd
}

// loadFixIndex loads the fix index a user named, or the one at the default
// place when there is one; a named index that cannot be read is an error,
// a missing default is no index.
func loadFixIndex(path string, named bool) (*fixindex.Index, error) {
	if !named {
		p, err := fixindex.DefaultPath()
		if err != nil {
			return nil, nil
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		path = p
	}
	// A FIFO or a device would block or never end: only a file is read.
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("fix index: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("fix index %s: not a regular file", path)
	}
	return fixindex.Load(path)
}
