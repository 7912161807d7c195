package main

import "github.com/spf13/cobra"

func newKBCmd() *cobra.Command {
	return &cobra.Command{Use: "kb", Short: "The knowledge base of known kernel bugs"}
}
