// Command ktriage diagnoses Linux kernel crashes from console logs, crash(8)
// sessions and vmcores.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ktriage",
		Short:         "Diagnose Linux kernel crashes: oopses, panics, vmcores",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyzeCmd(), newKBCmd(), newDmesgCmd(), newVmcoreCmd(), newRemedyCmd())
	return root
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ktriage:", err)
		os.Exit(1)
	}
}
