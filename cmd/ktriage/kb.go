package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/fixindex"
	"github.com/ktriage/ktriage/internal/atomicfile"
	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
)

func newKBCmd() *cobra.Command {
	var kbDir string
	cmd := &cobra.Command{
		Use:   "kb",
		Short: "The knowledge base of known kernel bugs",
		Long: `kb lists, shows and checks the knowledge base: one YAML entry per known
kernel bug, built into ktriage. --kb-dir adds a directory of your own entries
(*.yaml). An entry there with a built-in's id replaces the built-in (list,
lint and analyze say which); an id defined twice in the directory is an
error. User entries are linted exactly like the built-in ones.`,
	}
	cmd.PersistentFlags().StringVar(&kbDir, "kb-dir", "", "directory of additional knowledge-base entries (*.yaml)")

	list := kbSubcommand("list", "List the entries: id, verified mark, title", cobra.NoArgs, &kbDir,
		func(cmd *cobra.Command, _ []string, k *kb.KB, err error) error {
			if err != nil {
				return err
			}
			return writeKBList(cmd.OutOrStdout(), k)
		})

	var asJSON bool
	show := kbSubcommand("show ID", "Show every fact of one entry; unverified facts are marked", cobra.ExactArgs(1), &kbDir,
		func(cmd *cobra.Command, args []string, k *kb.KB, err error) error {
			if err != nil {
				return err
			}
			e := k.Get(args[0])
			if e == nil {
				return fmt.Errorf("no knowledge-base entry %q (ktriage kb list shows the ids)", args[0])
			}
			if err := e.Full(); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(e)
			}
			return writeKBEntry(cmd.OutOrStdout(), e)
		})
	show.Flags().BoolVar(&asJSON, "json", false, "print the entry as JSON")

	// lint reports the files that failed to load beside the problems of
	// those that loaded.
	lint := kbSubcommand("lint", "Check every entry; exit non-zero on any problem", cobra.NoArgs, &kbDir,
		func(cmd *cobra.Command, _ []string, k *kb.KB, loadErr error) error {
			var problems []string
			if loadErr != nil {
				problems = append(problems, splitJoined(loadErr)...)
			}
			for _, err := range k.Lint() {
				problems = append(problems, err.Error())
			}
			for _, n := range overrideNotes(k) {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			if len(problems) > 0 {
				w := cmd.ErrOrStderr()
				for _, p := range problems {
					fmt.Fprintln(w, p)
				}
				return fmt.Errorf("kb lint: %d problem(s) in %d entries", len(problems), k.Len())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d entries, %d verified%s, OK\n", k.Len(), k.Verified(), overriddenSuffix(k))
			return nil
		})

	cmd.AddCommand(list, show, lint, newKBNewCmd(), newKBIndexCmd())
	return cmd
}

// maxNewInput bounds the log kb new reads: the report is parsed from
// memory so that its lines can be copied out as published.
const maxNewInput = 64 << 20

// maxSampleLines and maxSampleBytes bound the report lines copied into
// the draft's sample, so that a report with a runaway trace or line still
// makes an entry (at most 256 KiB) that loads.
const (
	maxSampleLines = 300
	maxSampleBytes = 128 << 10
)

func newKBNewCmd() *cobra.Command {
	var from, id, out string
	var nth int
	cmd := &cobra.Command{
		Use:   "new [--from LOGFILE] [--id ID] [--out DIR]",
		Short: "Draft a knowledge-base entry from a crash report",
		Long: `new writes DIR/ID.yaml, a draft entry for the crash in LOGFILE ("-" reads
standard input): its title, type, guilty function, top reliable frames and
release are filled into a match signature, and the report's log lines become
the entry's first sample. Sources, prose and a near miss are left as TODO,
which kb lint asks for. Without --from the draft is empty. An existing file
is never overwritten. The id defaults to one made of the crash type and the
guilty function; an id of a built-in entry makes the draft override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rep *oops.Report
			var log string
			if from != "" {
				var err error
				if rep, log, err = reportFrom(cmd.InOrStdin(), from, nth); err != nil {
					return err
				}
			}
			if id == "" {
				id = kb.SuggestID(rep)
			}
			data, err := kb.Scaffold(id, rep, log)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("kb new: %w", err)
			}
			path := filepath.Join(out, id+".yaml")
			if err := atomicfile.Create(path, data, 0o644); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s exists: choose another --id, or edit it", path)
				}
				return fmt.Errorf("kb new: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s\n", path)
			if k, _ := kb.Load(""); k.Get(id) != nil {
				fmt.Fprintf(w, "it overrides the built-in entry %s when loaded with --kb-dir %s\n", id, out)
			}
			fmt.Fprintf(w, "next: replace its TODOs, add a near miss, then run ktriage kb --kb-dir %s lint\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", `a kernel log holding the crash ("-" for standard input)`)
	cmd.Flags().IntVar(&nth, "report", 1, "which report of the log to draft from, counting from 1")
	cmd.Flags().StringVar(&id, "id", "", "the entry's id and file name (default: from the crash type and guilty function)")
	cmd.Flags().StringVar(&out, "out", ".", "the directory to write the entry to (created if need be)")
	return cmd
}

// reportFrom parses the log at path and returns its nth report with the
// log lines it spans, as published.
func reportFrom(stdin io.Reader, path string, nth int) (*oops.Report, string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxNewInput+1))
		if err == nil && len(data) > maxNewInput {
			err = fmt.Errorf("more than %d bytes", maxNewInput)
		}
	} else {
		data, err = boundedio.ReadFile(path, maxNewInput)
	}
	if err != nil {
		return nil, "", fmt.Errorf("kb new: reading %s: %w", path, err)
	}
	reps, err := oops.Parse(bytes.NewReader(data), path)
	if err != nil {
		return nil, "", fmt.Errorf("kb new: %w", err)
	}
	if len(reps) == 0 {
		return nil, "", fmt.Errorf("kb new: %s holds no kernel crash report", path)
	}
	if nth < 1 || nth > len(reps) {
		return nil, "", fmt.Errorf("kb new: --report %d: %s holds %d report(s)", nth, path, len(reps))
	}
	r := reps[nth-1]
	var b strings.Builder
	n := 0
	for line := range bytes.Lines(data) {
		n++
		if n < r.Source.StartLine {
			continue
		}
		if n > r.Source.EndLine || n >= r.Source.StartLine+maxSampleLines || b.Len()+len(line) > maxSampleBytes {
			break
		}
		b.WriteString(strings.TrimRight(string(line), "\r\n") + "\n")
	}
	return r, b.String(), nil
}

func newKBIndexCmd() *cobra.Command {
	var gitDir, since, out string
	cmd := &cobra.Command{
		Use:   "index --git PATH [--since TAG] [--out FILE]",
		Short: "Index the fixes in your kernel git tree, for analyze to name likely fixes",
		Long: `index reads the history of the kernel git tree at PATH (HEAD, or what
--since's revision lacks) and indexes the commits whose messages quote a crash
(syzbot reports, BUG:/KASAN:/WARNING: headers, call traces) or carry Fixes:
tags, with the first release tag containing each. The index is written to
FILE (default: fixindex.json in ktriage's directory of your cache), replacing
it whole. It reads messages, never diffs: a full mainline tree takes minutes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gitDir == "" {
				return errors.New("kb index: --git PATH names the kernel tree to index")
			}
			if out == "" {
				var err error
				if out, err = fixindex.DefaultPath(); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			start := time.Now()
			ix, err := fixindex.Build(ctx, gitDir, since)
			if err != nil {
				return err
			}
			if err := ix.WriteFile(out); err != nil {
				return err
			}
			crash, released := 0, 0
			for i := range ix.Commits {
				if ix.Commits[i].QuotesCrash() {
					crash++
				}
				if ix.Commits[i].Release != "" {
					released++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d commits of %s at %.12s (%d quote a crash, %d in a release) in %v\nwrote %s\n",
				len(ix.Commits), ix.Repo, ix.Head, crash, released, time.Since(start).Round(time.Millisecond), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&gitDir, "git", "", "the kernel git tree (work tree or bare repository)")
	cmd.Flags().StringVar(&since, "since", "", "index only what this revision (a tag) lacks")
	cmd.Flags().StringVar(&out, "out", "", "the index file (default: fixindex.json in ktriage's directory of the user cache)")
	return cmd
}

// kbSubcommand is a kb subcommand that runs on the knowledge base loaded
// from the embedded entries and --kb-dir (*kbDir), with the load error, which
// Load returns beside the entries that did load.
func kbSubcommand(use, short string, args cobra.PositionalArgs, kbDir *string,
	run func(cmd *cobra.Command, args []string, k *kb.KB, loadErr error) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, a []string) error {
			k, err := kb.Load(*kbDir)
			return run(cmd, a, k, err)
		},
	}
}

// splitJoined flattens errors.Join trees into one message per error.
func splitJoined(err error) []string {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range u.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func writeKBList(w io.Writer, k *kb.KB) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERIFIED\tTITLE")
	for _, e := range k.Entries() {
		mark := "✗"
		if e.Verified {
			mark = "✓"
		}
		title := e.Title
		if e.Overrides != "" {
			title += " (" + e.File + " overrides the built-in)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.ID, mark, title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d entries, %d verified%s\n", k.Len(), k.Verified(), overriddenSuffix(k))
	return err
}

// overriddenSuffix counts the built-in entries that --kb-dir replaced, for
// the summary lines of list and lint.
func overriddenSuffix(k *kb.KB) string {
	if n := len(k.Overridden()); n > 0 {
		return fmt.Sprintf(", %d built-in overridden by --kb-dir", n)
	}
	return ""
}

// overrideNotes says, one line each, which built-in entries --kb-dir
// replaced: a user who overrides a shipped entry loses its later fixes, so
// every command that uses the knowledge base says so.
func overrideNotes(k *kb.KB) []string {
	var out []string
	for _, e := range k.Overridden() {
		out = append(out, fmt.Sprintf("knowledge-base entry %s: %s overrides the built-in %s", e.ID, e.File, e.Overrides))
	}
	return out
}

// kbWriter accumulates the first write error.
type kbWriter struct {
	w   io.Writer
	err error
}

func (p *kbWriter) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func unverified(v bool) string {
	if v {
		return ""
	}
	return " (unverified)"
}

func sourceNote(p *kbWriter, indent, source, note string) {
	if source != "" {
		p.f("%ssource: %s\n", indent, source)
	}
	if note != "" {
		p.f("%snote: %s\n", indent, oneLine(note))
	}
}

// excerpt shows the words of a source that name a commit, as quoted.
func excerpt(p *kbWriter, indent, quote string) {
	if quote != "" {
		p.f("%sexcerpt: %q\n", indent, oneLine(quote))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func writeKBEntry(w io.Writer, e *kb.Entry) error {
	p := &kbWriter{w: w}
	p.f("%s%s\n", e.ID, unverified(e.Verified))
	p.f("%s\n", e.Title)
	p.f("file: %s\n", e.File)
	if e.Overrides != "" {
		p.f("overrides the built-in %s\n", e.Overrides)
	}
	p.f("\n")
	p.f("Summary:\n  %s\n\n", oneLine(e.Summary))

	p.f("Match:\n")
	top := e.Match.MatchBlock
	writeBlock(p, "  ", &top)
	for i := range e.Match.Any {
		p.f("  signature %d of %d%s:\n", i+1, len(e.Match.Any), unverified(e.Match.Any[i].Verified))
		writeBlock(p, "    ", &e.Match.Any[i])
	}
	p.f("\nRoot cause%s:\n  %s\n", unverified(e.RootCause.Verified), oneLine(e.RootCause.Text))
	sourceNote(p, "  ", e.RootCause.Source, e.RootCause.Note)

	if f := e.FixedIn; f != nil {
		p.f("\nFixed in:\n")
		if u := f.Upstream; u != nil {
			p.f("  upstream commit %s %q%s\n", u.Commit, u.Title, unverified(u.Verified))
			if u.Release != "" {
				p.f("    first release %s%s\n", u.Release, unverified(u.ReleaseVerified))
			}
			sourceNote(p, "    ", u.Source, u.Note)
			excerpt(p, "    ", u.Excerpt)
		}
		for _, d := range f.Distros {
			p.f("  %s %s%s\n", d.Name, d.Version, unverified(d.Verified))
			sourceNote(p, "    ", d.Source, d.Note)
		}
	}

	if wa := e.Workaround; wa != nil {
		p.f("\nWorkaround%s:\n  %s\n", unverified(wa.Verified), oneLine(wa.Text))
		if o := wa.EthtoolOffload; o != nil {
			p.f("  action: ethtool -K %s %s on %s", strings.Join(o.Features, " "+o.State+" "), o.State, o.Scope)
			if o.Driver != "" {
				p.f(" (driver %s)", o.Driver)
			}
			if len(o.Devices) > 0 {
				p.f(" (%s)", strings.Join(o.Devices, ", "))
			}
			p.f("\n")
		}
		for _, s := range wa.Sysctl {
			p.f("  action: sysctl %s=%s\n", s.Key, s.Value)
		}
		for _, m := range wa.ModuleOptions {
			p.f("  action: options %s %s=%s\n", m.Module, m.Option, m.Value)
		}
		for _, c := range wa.KernelCmdline {
			p.f("  action: kernel command line %s\n", c)
		}
		for _, m := range wa.AvoidModules {
			p.f("  action: stop using module %s\n", m)
		}
		sourceNote(p, "  ", wa.Source, wa.Note)
	}

	p.f("\nReferences:\n")
	for _, r := range e.References {
		id := r.ID
		if id == "" {
			id = r.URL
		}
		p.f("  %s %s%s\n", r.Kind, id, unverified(r.Verified))
		if r.Title != "" {
			p.f("    %s\n", oneLine(r.Title))
		}
		if r.URL != "" && r.URL != id {
			p.f("    %s\n", r.URL)
		}
		if r.Note != "" {
			p.f("    note: %s\n", oneLine(r.Note))
		}
		excerpt(p, "    ", r.Excerpt)
	}
	return p.err
}

func writeBlock(p *kbWriter, indent string, b *kb.MatchBlock) {
	if len(b.Types) > 0 {
		p.f("%stypes: %s\n", indent, strings.Join(b.Types, ", "))
	}
	for _, t := range b.Titles {
		p.f("%stitle: /%s/\n", indent, t)
	}
	for _, f := range b.Functions {
		p.f("%sguilty function: /%s/\n", indent, f)
	}
	for _, seq := range b.Frames {
		p.f("%sframes in order: %s\n", indent, strings.Join(seq, " → "))
	}
	for _, l := range b.Locations {
		p.f("%slocation: /%s/\n", indent, l)
	}
	if len(b.Modules) > 0 {
		p.f("%smodules: %s\n", indent, strings.Join(b.Modules, ", "))
	}
	for _, r := range b.Releases {
		p.f("%srelease in %s%s\n", indent, r.String(), unverified(r.Verified))
		sourceNote(p, indent+"  ", r.Source, r.Note)
	}
	hasCond := len(b.Types)+len(b.Titles)+len(b.Functions)+len(b.Frames)+len(b.Locations)+len(b.Modules) > 0
	if hasCond && (b.Source != "" || b.Note != "" || !b.Verified) {
		p.f("%sthis signature%s:\n", indent, unverified(b.Verified))
		sourceNote(p, indent+"  ", b.Source, b.Note)
	}
}
