// Package bench holds what the benchmark commands below it share: their
// common flags, and timing a command as the best of several runs (the
// machine may be shared, so the fastest run is the least disturbed one).
package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Flags registers -ktriage (the binary to measure) and -shared (the shared
// test assets: $KTRIAGE_SHARED, else ../shared); call it before flag.Parse.
func Flags() (ktriage, shared *string) {
	def := os.Getenv("KTRIAGE_SHARED")
	if def == "" {
		def = "../shared"
	}
	ktriage = flag.String("ktriage", "bin/ktriage", "the ktriage binary")
	shared = flag.String("shared", def, "the shared test assets")
	return ktriage, shared
}

// Best runs the command mk makes n times (at least once) and returns the
// shortest wall time and the largest peak RSS in KB. A run fails when the
// command cannot start or exits with a status above maxStatus (grep exits
// 1 when nothing matched). mk sets the command's output and environment;
// output left nil is discarded.
func Best(n, maxStatus int, mk func() *exec.Cmd) (time.Duration, int64, error) {
	var best time.Duration
	var rss int64
	for i := 0; i < max(n, 1); i++ {
		cmd := mk()
		start := time.Now()
		err := cmd.Run()
		t := time.Since(start)
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > maxStatus) {
			return 0, 0, fmt.Errorf("%s: %w", cmd, err)
		}
		if i == 0 || t < best {
			best = t
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss)
		}
	}
	return best, rss, nil
}
