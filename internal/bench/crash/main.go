// Command crash times `ktriage crash -c 'sys; ps; bt'` and `ktriage
// analyze` against crash(8) given the exact debug vmlinux (`crash -s` with
// the same commands), on the same dumps in one run, and prints the ratios
// of wall time, CPU time and peak RSS. crash needs its 283 MB vmlinux and
// seconds to start; ktriage reads kallsyms, BTF and ORC from the dump.
//
// The dumps are the generated 6.1 set's real kdump captures (crash 8.0.2
// opens no 6.12 dump); the vmlinux is the one `make dbg` fetched.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ktriage/ktriage/internal/bench"
	"github.com/ktriage/ktriage/internal/refdebug"
)

func main() {
	ktriage, _ := bench.Flags()
	cacheDef := os.Getenv("KTRIAGE_VMCORES")
	if cacheDef == "" {
		cacheDef = ".cache/vmcores"
	}
	cache := flag.String("cache", cacheDef, "the generated 6.1 dumps ($KTRIAGE_VMCORES, else .cache/vmcores)")
	runs := flag.Int("runs", 3, "runs of each ktriage command; the best is kept (crash runs once: ~5 s)")
	flag.Parse()
	entries, err := refdebug.ReadManifest(*cache)
	check(err)
	cmds := []string{"sys", "ps", "bt"}
	var kt, ct, kcpu, ccpu time.Duration
	var krss, crss int64
	n := 0
	for _, e := range entries {
		if e.Name != "kdump-proc-d31" && e.Name != "tcpskb-kdump-d31" && e.Name != "elf-proc-vmcore" {
			continue
		}
		vmlinux, err := refdebug.Locate(e.Build)
		check(err)
		_, cu, err := refdebug.CrashRun(context.Background(), vmlinux, e.Path, cmds...)
		check(err)
		ku, err := best(*runs, func() *exec.Cmd { return exec.Command(*ktriage, "crash", "-c", "sys; ps; bt", e.Path) })
		check(err)
		au, err := best(*runs, func() *exec.Cmd { return exec.Command(*ktriage, "analyze", e.Path) })
		check(err)
		fmt.Printf("%-18s crash -s %6.0f ms %4d MB | ktriage crash %5.0f ms (%.3fx) %3d MB (%.3fx) | ktriage analyze %5.0f ms (%.3fx) %3d MB\n",
			e.Name, ms(cu.Wall), cu.MaxRSS>>20, ms(ku.Wall), ratio(ku.Wall, cu.Wall), ku.MaxRSS>>20, float64(ku.MaxRSS)/float64(cu.MaxRSS),
			ms(au.Wall), ratio(au.Wall, cu.Wall), au.MaxRSS>>20)
		kt += ku.Wall
		ct += cu.Wall
		kcpu += ku.User + ku.Sys
		ccpu += cu.User + cu.Sys
		krss = max(krss, ku.MaxRSS, au.MaxRSS)
		crss = max(crss, cu.MaxRSS)
		n++
	}
	if n == 0 {
		fmt.Fprintf(os.Stderr, "bench: no kdump capture in %s (make vmcores)\n", *cache)
		os.Exit(1)
	}
	fmt.Printf("all %d dumps, `sys; ps; bt`: ktriage %.0f ms, crash %.0f ms: time ratio %.3f (CPU %.3f); peak RSS %d MB vs %d MB: ratio %.3f (ktriage's over crash's; goal <= 0.05 and < 64 MB)\n",
		n, ms(kt), ms(ct), ratio(kt, ct), ratio(kcpu, ccpu), krss>>20, crss>>20, float64(krss)/float64(crss))
}

// best runs the command runs times and keeps the fastest wall time, its
// CPU time, and the largest peak RSS.
func best(runs int, mk func() *exec.Cmd) (refdebug.Usage, error) {
	var out refdebug.Usage
	for i := 0; i < max(runs, 1); i++ {
		cmd := mk()
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return out, fmt.Errorf("%s: %w", cmd, err)
		}
		wall := time.Since(start)
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if i == 0 || wall < out.Wall {
			out.Wall = wall
			out.User, out.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
		}
		if ru != nil {
			out.MaxRSS = max(out.MaxRSS, ru.Maxrss*1024)
		}
	}
	return out, nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
