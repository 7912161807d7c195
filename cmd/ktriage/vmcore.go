package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/triage"
)

func newDmesgCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dmesg DUMP|-",
		Short: "Print the kernel log of a vmcore, as makedumpfile --dump-dmesg does, without debuginfo",
		Long: `dmesg prints the kernel log a vmcore holds, byte for byte as makedumpfile
--dump-dmesg prints it. DUMP may be an ELF vmcore, a kdump-compressed file or a
flattened stream; "-" reads a flattened stream from standard input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			open := triage.OpenVmcore
			if args[0] == "-" {
				var in io.Reader = cmd.InOrStdin()
				if w := progressWrap(); w != nil {
					in = w("standard input", in, 0)
				}
				open = func(string) (*dump.Dump, *kernel.Kernel, error) { return triage.OpenVmcoreStream(in, "standard input") }
			}
			d, k, err := open(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			// What `vmcore info` knows of the dump (a truncated file, a
			// NUL in VMCOREINFO) goes to stderr: stdout stays
			// makedumpfile's, byte for byte.
			for _, warn := range d.Info().Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: warning: %s\n", warn)
			}
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
	cmd.AddCommand(info, newSymCmd())
	return cmd
}

func newSymCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sym DUMP NAME|ADDR...",
		Short: "Translate symbol names to addresses and addresses to symbol+offset, from the dump's own kallsyms",
		Long: `sym answers as crash(8)'s sym does, from the kallsyms table in the dump's
memory (kernels 6.0 and later, whose VMCOREINFO names it): a name gives
"ADDR NAME", an address (hex, with or without 0x) "ADDR NAME+OFFSET" with a
decimal offset. An argument that is a symbol's name is taken as one even when
it reads as hex ("add"). Module symbols are not known yet.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, k, err := triage.OpenVmcore(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			syms, err := k.Symbols()
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			missed := 0
			for _, q := range args[1:] {
				line, err := symLine(syms, q)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "ktriage: sym: %v\n", err)
					missed++
					continue
				}
				fmt.Fprintln(out, line)
			}
			if missed > 0 {
				return fmt.Errorf("%s: sym: %d of %d not found", args[0], missed, len(args)-1)
			}
			return nil
		},
	}
}

// symLine answers one sym query.
func symLine(syms *kernel.Symbols, q string) (string, error) {
	hex, isHex := strings.CutPrefix(strings.ToLower(q), "0x")
	if !isHex {
		if a, ok := syms.Lookup(q); ok {
			return fmt.Sprintf("%016x %s", a, q), nil
		}
	}
	a, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return "", fmt.Errorf("%s: no such symbol in kallsyms", q)
	}
	name, off, ok := syms.Addr(a)
	if !ok {
		return "", fmt.Errorf("%#x: no kallsyms symbol at or below it (module symbols are not read yet)", a)
	}
	if off == 0 {
		return fmt.Sprintf("%016x %s", a, name), nil
	}
	return fmt.Sprintf("%016x %s+%d", a, name, off), nil
}
