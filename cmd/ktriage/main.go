// Command ktriage diagnoses Linux kernel crashes from console logs, crash(8)
// sessions and vmcores.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ktriage",
		Short:         "Diagnose Linux kernel crashes: oopses, panics, vmcores",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyzeCmd(), newKBCmd(), newDmesgCmd(), newVmcoreCmd(), newRemedyCmd(), newCrashCmd(), newServeCmd(), newSubmitCmd())
	return root
}

// checkedWriter is every command's standard output. It keeps the first
// write error, so that output lost to a full disk or > /dev/full makes
// ktriage exit non-zero whether or not the command looked at the error
// (a tabwriter's or fmt.Fprintf's is easily dropped).
type checkedWriter struct {
	f   *os.File
	err error
}

func (w *checkedWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.err = fmt.Errorf("writing standard output: %w", err)
		return n, w.err
	}
	return n, nil
}

// isTerminal tells whether w is a terminal, through the checked writer.
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*checkedWriter); ok {
		w = c.f
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// run executes the command line with stdout as its output and returns the
// first error: the command's own, else the output's.
func run(args []string, stdout *os.File) error {
	out := &checkedWriter{f: stdout}
	root := newRootCmd()
	root.SetOut(out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		return err
	}
	return out.err
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ktriage:", err)
		os.Exit(1)
	}
}
