package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/triage"
)

func newDmesgCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dmesg DUMP",
		Short: "Print the kernel log of a vmcore, as makedumpfile --dump-dmesg does, without debuginfo",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, k, err := triage.OpenVmcore(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			if err := k.Dmesg(w); err != nil {
				w.Flush()
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return w.Flush()
		},
	}
}

func newVmcoreCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "vmcore", Short: "Inspect memory dumps"}
	var raw, asJSON bool
	info := &cobra.Command{
		Use:   "info DUMP",
		Short: "Summarize a dump: format, release, arch, page size, CPUs, crash time, compression, excluded pages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, k, err := triage.OpenVmcore(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			out := cmd.OutOrStdout()
			if raw {
				_, err := fmt.Fprint(out, d.VMCOREINFO())
				return err
			}
			in := d.Info()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			}
			rel := in.Release
			if rel == "" {
				rel = k.Release()
			}
			crash := "unknown"
			if !in.CrashTime.IsZero() {
				crash = in.CrashTime.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			level := "unknown"
			if in.DumpLevel >= 0 {
				level = fmt.Sprint(in.DumpLevel)
			}
			excluded := strings.Join(in.ExcludedClasses, ", ")
			if excluded == "" {
				excluded = "none"
			}
			fmt.Fprintf(out, "file:        %s (%d bytes)\n", args[0], in.Size)
			fmt.Fprintf(out, "format:      %s, pages %s\n", in.Format, in.Compression)
			fmt.Fprintf(out, "release:     %s\n", rel)
			fmt.Fprintf(out, "arch:        %s, page size %d\n", in.Arch, in.PageSize)
			fmt.Fprintf(out, "cpus:        %d\n", in.CPUs)
			fmt.Fprintf(out, "crash time:  %s\n", crash)
			fmt.Fprintf(out, "dump level:  %s, excluded: %s\n", level, excluded)
			fmt.Fprintf(out, "printk log:  %s\n", k.DmesgGeneration())
			for _, w := range in.Warnings {
				fmt.Fprintf(out, "warning:     %s\n", w)
			}
			return nil
		},
	}
	info.Flags().BoolVar(&raw, "raw", false, "print the VMCOREINFO text itself")
	info.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.AddCommand(info)
	return cmd
}
