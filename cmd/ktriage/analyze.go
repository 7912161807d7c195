package main

import "github.com/spf13/cobra"

func newAnalyzeCmd() *cobra.Command {
	return &cobra.Command{Use: "analyze [--json] PATH...", Short: "Analyze kernel crash evidence"}
}
