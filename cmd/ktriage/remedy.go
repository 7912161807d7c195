package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/hostroot"
	"github.com/ktriage/ktriage/internal/shellquote"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/remedy"
)

func newRemedyCmd() *cobra.Command {
	var root, kbDir string
	var ifaces []string
	cmd := &cobra.Command{
		Use:   "remedy",
		Short: "Carry out a knowledge-base workaround (NIC offloads): plan, apply, revert, verify",
		Long: `remedy turns an entry's structured workaround into edits of this host's network
configuration (initscripts ifcfg ETHTOOL_OPTS, NetworkManager keyfiles, netplan,
systemd .link files) and the matching ethtool -K commands. plan shows them as a
unified diff and writes nothing; apply writes them atomically with backups under
ROOT/var/lib/ktriage/remedy/RUN-ID; revert restores one run; verify says per
interface whether the workaround is in force now and after a reboot.

The workaround is named by a knowledge-base id (ktriage kb list) or by a
DIAGNOSIS.json written by ktriage analyze --json. --root reads and writes a copy
of a host's files (an unpacked sosreport, an image) instead of /.`,
	}
	cmd.PersistentFlags().StringVar(&root, "root", "/", "the host's root directory: every file read and written is under it")
	cmd.PersistentFlags().StringVar(&kbDir, "kb-dir", "", "directory of additional knowledge-base entries (*.yaml)")
	cmd.PersistentFlags().StringSliceVar(&ifaces, "iface", nil, "interfaces to change instead of those the entry's scope selects (repeat or comma-separate)")

	load := func(arg string) (*remedy.Host, *remedy.Workaround, *remedy.Plan, error) {
		k, err := kb.Load(kbDir)
		if err != nil {
			return nil, nil, nil, err
		}
		w, err := remedy.LoadWorkaround(arg, k)
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := scanRoot(root)
		if err != nil {
			return nil, nil, nil, err
		}
		p, err := remedy.NewPlan(h, w, remedy.Options{Ifaces: ifaces})
		if err != nil {
			return nil, nil, nil, err
		}
		return h, w, p, nil
	}

	plan := &cobra.Command{
		Use:   "plan [--root DIR] [--iface IF...] KB-ID|DIAGNOSIS.json",
		Short: "Show the edits and commands apply would carry out (writes nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, _, p, err := load(args[0])
			if err != nil {
				return err
			}
			return writePlan(cmd.OutOrStdout(), p)
		},
	}

	var now, thisHost bool
	var netns string
	apply := &cobra.Command{
		Use:   "apply [--root DIR] [--iface IF...] [--now [--netns NAME|--this-host]] KB-ID|DIAGNOSIS.json",
		Short: "Write the planned edits atomically, with backups; --now also runs ethtool -K",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if now && netns == "" && !thisHost && filepath.Clean(root) != "/" {
				return fmt.Errorf("--now with --root %s would change this machine's interfaces, not that root's: add --netns NAME to run ethtool in a network namespace, or --this-host to mean this machine", root)
			}
			if !now && (netns != "" || thisHost) {
				return errors.New("--netns and --this-host go with --now")
			}
			h, _, p, err := load(args[0])
			if err != nil {
				return err
			}
			res, err := remedy.Apply(context.Background(), h, p, remedy.ApplyOptions{Now: now, Runner: remedy.ExecRunner{Netns: netns}})
			writeApply(cmd.OutOrStdout(), p, res, err)
			return err
		},
	}
	apply.Flags().BoolVar(&now, "now", false, "also switch the features on the running interfaces (ethtool -K)")
	apply.Flags().StringVar(&netns, "netns", "", "with --now: run ethtool inside this network namespace (ip netns exec)")
	apply.Flags().BoolVar(&thisHost, "this-host", false, "with --now and --root other than /: change this machine's interfaces all the same")

	var runID string
	revert := &cobra.Command{
		Use:   "revert [--root DIR] [--run ID]",
		Short: "Restore the files of one apply run (the latest by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := remedy.Revert(root, runID)
			out := cmd.OutOrStdout()
			if res != nil {
				for _, n := range res.Skipped {
					fmt.Fprintf(out, "note: %s\n", n)
				}
				for _, f := range res.Restored {
					fmt.Fprintf(out, "restored %s\n", f)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "run %s reverted (%d files); running interfaces keep their current offloads until the next ifup or reboot\n", res.Run.ID, len(res.Restored))
			return nil
		},
	}
	revert.Flags().StringVar(&runID, "run", "", "the run to revert (default: the latest applied one)")

	var ethtoolK []string
	var vnetns string
	var live bool
	verify := &cobra.Command{
		Use:   "verify [--root DIR] [--ethtool-k FILE...] [--live] [KB-ID|DIAGNOSIS.json]",
		Short: "Say per interface whether the workaround is in force now and after a reboot",
		Long: `verify reads ethtool -k output from --ethtool-k files (or a sosreport's under
--root), or asks the running interfaces (the default when --root is / and no
file is given, or --live), and reads the configuration files under --root.
Without an argument it verifies the workaround of the latest apply run. It
exits non-zero when the workaround is off anywhere.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kb.Load(kbDir)
			if err != nil {
				return err
			}
			var w *remedy.Workaround
			var skipped []string
			if len(args) == 1 {
				w, err = remedy.LoadWorkaround(args[0], k)
			} else {
				w, skipped, err = remedy.LatestRunWorkaround(root)
			}
			for _, n := range skipped {
				fmt.Fprintf(cmd.OutOrStdout(), "note: %s\n", n)
			}
			if err != nil {
				return err
			}
			h, err := scanRoot(root)
			if err != nil {
				return err
			}
			v, err := remedy.Verify(context.Background(), h, w, remedy.VerifyOptions{
				EthtoolK: ethtoolK, Live: live, Netns: vnetns, Ifaces: ifaces,
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "workaround of %s: %s %s\n", w.EntryID, strings.Join(w.Offload.Features, " "), w.Offload.State)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IFACE\tNOW\tAFTER REBOOT\tEVIDENCE")
			for _, s := range v {
				fmt.Fprintf(tw, "%s\t%s\t%s\tnow: %s; boot: %s\n", s.Iface, s.Now, s.Boot, s.NowDetail, s.BootDetail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return v.Err()
		},
	}
	verify.Flags().StringSliceVar(&ethtoolK, "ethtool-k", nil, "files of ethtool -k output (repeat or comma-separate)")
	verify.Flags().BoolVar(&live, "live", false, "ask the running interfaces with ethtool -k")
	verify.Flags().StringVar(&vnetns, "netns", "", "ask the interfaces of this network namespace (implies --live)")

	cmd.AddCommand(plan, apply, revert, verify)
	return cmd
}

func writePlan(w io.Writer, p *remedy.Plan) error {
	fmt.Fprintf(w, "remedy for %s on %s: %s %s on %s (dry run: nothing written)\n",
		p.EntryID, p.Root, strings.Join(p.Offload.Features, " "), p.Offload.State, strings.Join(p.Interfaces, " "))
	if len(p.Edits) == 0 {
		fmt.Fprintln(w, "\nno file to change: the workaround is already in the configuration")
	} else {
		fmt.Fprintln(w)
		io.WriteString(w, p.Diff())
	}
	if len(p.InPlace) > 0 {
		fmt.Fprintln(w, "\nalready in place:")
		for _, s := range p.InPlace {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	fmt.Fprintln(w, "\nruntime commands (apply --now runs them):")
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %s\n", shellquote.Join(c))
	}
	if len(p.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", p.Cost)
	return err
}

func writeApply(w io.Writer, p *remedy.Plan, res *remedy.ApplyResult, err error) {
	if res == nil {
		return
	}
	for _, f := range res.Written {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	// A failed apply is not "nothing to change": its error says what
	// failed and what was left as it was.
	switch {
	case res.Run != nil && res.Run.Status != "applied":
		fmt.Fprintf(w, "run %s %s: its record and backups are in %s\n", res.Run.ID, res.Run.Status, res.RunDir)
	case res.Run != nil:
		fmt.Fprintf(w, "run %s: backups and run.json in %s (ktriage remedy revert --run %s undoes it)\n", res.Run.ID, res.RunDir, res.Run.ID)
	case err != nil && len(p.Edits) > 0:
		fmt.Fprintln(w, "apply failed: no file was changed")
	default:
		fmt.Fprintln(w, "nothing to change: every file already has the workaround")
		for _, s := range p.InPlace {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	for _, r := range res.Runtime {
		var parts []string
		if r.Command != nil {
			parts = append(parts, "ran "+shellquote.Join(r.Command))
		}
		if len(r.Already) > 0 {
			parts = append(parts, strings.Join(r.Already, " ")+" already "+p.Offload.State)
		}
		if len(r.FixedOK) > 0 {
			parts = append(parts, strings.Join(r.FixedOK, " ")+" [fixed] "+p.Offload.State+" already")
		}
		if len(r.Fixed) > 0 {
			parts = append(parts, strings.Join(r.Fixed, " ")+" [fixed] by the driver: cannot be changed, the workaround is partial here")
		}
		if r.Err != nil {
			parts = append(parts, "FAILED: "+r.Err.Error())
		}
		fmt.Fprintf(w, "now %s: %s\n", r.Iface, strings.Join(parts, "; "))
	}
	if !(len(p.Edits) == 0 && len(res.Runtime) == 0) {
		fmt.Fprintln(w, p.Cost)
	}
}

// scanRoot reads the host's configuration under root: a directory, or a
// sosreport archive read through hostroot without unpacking it (read-only:
// apply refuses it).
func scanRoot(root string) (*remedy.Host, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	if st.IsDir() && !sosreportDir(root) {
		return remedy.Scan(root)
	}
	r, err := hostroot.Open(root, hostroot.Options{})
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", root, err)
	}
	defer r.Close()
	return remedy.ScanFS(r, root)
}

// sosreportDir tells a directory that is an unpacked sosreport, or holds
// one sosreport-* folder: it is read through hostroot (read-only, its top
// folder found), not changed.
func sosreportDir(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, "sos_commands")); err == nil && st.IsDir() {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "sosreport-*", "sos_commands"))
	return len(m) == 1
}
