package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktriage/ktriage/submit"
)

func newSubmitCmd() *cobra.Command {
	var (
		server, token, host string
		attempts            int
		key, kernel         string
		boot, wait          bool
		waitFor             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "submit --server URL --token TOKEN [--hostname H] PATH | --boot",
		Short: "Send a crash log or analyze --json document to a fleet server",
		Long: `submit sends PATH (a console log, vmcore-dmesg.txt, crash(8) transcript, or
an analyze --json document) to ktriage serve, and exits 0 once the server has
committed it. Failed tries are retried with backoff under one idempotency key,
so a retry never counts the crash twice; running submit twice on the same file
does. --token defaults to $KTRIAGE_TOKEN.

A vmcore, or a kdump directory (sent as a tar of its files), is stored by the
server and analyzed by one of its workers: submit prints its job and follows
it to its buckets (--wait=false: not; --wait-timeout bounds it). Once stored
it is acknowledged: a job still queued when the wait ends is said, and submit
exits 0; a job the server could not analyze is an error.

--boot instead records that this host now runs its kernel (uname -r, or
--kernel): run at every boot (the kdump unit does), it lets the fleet tell a
kernel its hosts stopped crashing on ("probably fixed in").`,
		Args: func(cmd *cobra.Command, args []string) error {
			if boot {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if token == "" {
				token = os.Getenv("KTRIAGE_TOKEN")
			}
			if token == "" {
				return fmt.Errorf("no token: --token or $KTRIAGE_TOKEN")
			}
			if host == "" {
				h, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("--hostname not given and the host's name is unknown: %w", err)
				}
				host = h
			}
			c := &submit.Client{Server: server, Token: token, Attempts: attempts}
			if boot {
				if kernel == "" {
					b, err := os.ReadFile("/proc/sys/kernel/osrelease")
					if err != nil {
						return fmt.Errorf("--kernel not given and the running kernel is unknown: %w", err)
					}
					kernel = strings.TrimSpace(string(b))
				}
				if err := c.Boot(cmd.Context(), host, kernel); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "boot of %s on %s recorded\n", host, kernel)
				return nil
			}
			ack, err := c.SubmitFileKey(cmd.Context(), args[0], host, key)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if ack.Job != 0 && ack.State != "done" {
				fmt.Fprintf(out, "%s: stored as upload %d, to be analyzed by job %d (GET /api/jobs/%d)\n", args[0], ack.Upload, ack.Job, ack.Job)
				if !wait {
					return nil
				}
				job := ack.Job
				ctx, cancel := context.WithTimeout(cmd.Context(), waitFor)
				ack, err = c.Wait(ctx, job, time.Second)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) && cmd.Context().Err() == nil {
					fmt.Fprintf(out, "%s: job %d not done after %s; it stays queued at the server (GET /api/jobs/%d)\n", args[0], job, waitFor, job)
					return nil
				}
				if err != nil {
					return err
				}
			}
			state := "accepted"
			if ack.Replayed {
				state = "already accepted"
			}
			fmt.Fprintf(out, "%s: %s as submission %d, %d crash reports\n", args[0], state, ack.Submission, len(ack.Reports))
			for _, r := range ack.Reports {
				fmt.Fprintf(out, "  %s  %s\n", r.Signature[:min(12, len(r.Signature))], r.Title)
				if kb := r.KnownBug; kb != nil {
					fmt.Fprintf(out, "    known bug %s (%s): %s\n", kb.ID, kb.Confidence, kb.Title)
					if kb.Workaround != "" {
						fmt.Fprintf(out, "    workaround: %s\n", kb.Workaround)
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&server, "server", "", "the fleet server's URL, http(s)://host:port (required)")
	fl.StringVar(&token, "token", "", "bearer token (default $KTRIAGE_TOKEN)")
	fl.StringVar(&host, "hostname", "", "the host the document comes from (default: this host's name)")
	fl.IntVar(&attempts, "attempts", submit.DefaultAttempts, "tries before giving up")
	fl.BoolVar(&wait, "wait", true, "for a vmcore or kdump directory, wait until the server's worker has analyzed it")
	fl.DurationVar(&waitFor, "wait-timeout", 10*time.Minute, "how long to wait for that")
	fl.BoolVar(&boot, "boot", false, "record this host's boot on its kernel instead of sending a file")
	fl.StringVar(&kernel, "kernel", "", "with --boot: the kernel release (default: the running one)")
	fl.StringVar(&key, "key", "", "the submission's idempotency key (default: a new one); a hook retrying across boots passes the one it kept")
	_ = cmd.MarkFlagRequired("server")
	return cmd
}
