// Command logscan measures how fast `ktriage analyze` scans a large console
// log, against `grep -E` of the crash trigger words on the same file in the
// same run. It builds the log from the syzkaller corpus (real crash reports,
// about 5% of the bytes) and real boot logs (the rest), at two sizes to show
// that the cost is linear, and prints throughput, peak RSS and the ratios.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ktriage/ktriage/internal/corpuslog"
)

func main() {
	ktriage := flag.String("ktriage", "bin/ktriage", "the ktriage binary")
	shared := flag.String("shared", os.Getenv("KTRIAGE_SHARED"), "the shared test assets")
	sizeMB := flag.Int("size", 200, "log size in MB")
	flag.Parse()
	if *shared == "" {
		*shared = "../shared"
	}
	dir, err := os.MkdirTemp("", "ktriage-bench-")
	check(err)
	if os.Getenv("KTRIAGE_BENCH_KEEP") == "" {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("logs kept in", dir)
	}
	big := filepath.Join(dir, "console-big.log")
	half := filepath.Join(dir, "console-half.log")
	crashes, err := build(*shared, big, int64(*sizeMB)<<20)
	check(err)
	_, err = build(*shared, half, int64(*sizeMB)<<19)
	check(err)
	fmt.Printf("log: %d MB with %d crash reports (%.1f%% of the bytes)\n", *sizeMB, crashes.Reports, 100*float64(crashes.ReportBytes)/float64(int64(*sizeMB)<<20))
	for _, f := range []string{half, big} {
		st, _ := os.Stat(f)
		mb := float64(st.Size()) / (1 << 20)
		// Best of three runs each: the machine may be shared.
		kt, krss := best(3, func() *exec.Cmd { return exec.Command(*ktriage, "analyze", "--json", f) }, "GOMAXPROCS=1")
		// grep's output goes to a pipe: on /dev/null GNU grep stops at the
		// first match.
		gt, grss := best(3, func() *exec.Cmd {
			return exec.Command("grep", "-E", "BUG:|Oops|general protection|kernel BUG|WARNING:", f)
		})
		fmt.Printf("%6.0f MB  ktriage %7.1f MB/s  peak RSS %5.1f MB   grep -E %7.1f MB/s  peak RSS %5.1f MB   ktriage/grep time ratio %.2f\n",
			mb, mb/kt.Seconds(), float64(krss)/1024, mb/gt.Seconds(), float64(grss)/1024, kt.Seconds()/gt.Seconds())
	}
}

// build writes the corpus-built log of about size bytes to out.
func build(shared, out string, size int64) (corpuslog.Stats, error) {
	f, err := os.Create(out)
	if err != nil {
		return corpuslog.Stats{}, err
	}
	st, err := corpuslog.Build(f, shared, size)
	if err != nil {
		f.Close()
		return st, err
	}
	return st, f.Close()
}

// best runs a command n times and keeps the shortest time and largest RSS.
func best(n int, mk func() *exec.Cmd, env ...string) (time.Duration, int64) {
	var bt time.Duration
	var rss int64
	for i := 0; i < n; i++ {
		t, r := run(mk(), env...)
		if i == 0 || t < bt {
			bt = t
		}
		rss = max(rss, r)
	}
	return bt, rss
}

// run times a command with its output discarded and returns its peak RSS in KB.
func run(cmd *exec.Cmd, env ...string) (time.Duration, int64) {
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
			check(fmt.Errorf("%s: %w", cmd, err))
		}
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return d, 0
	}
	return d, ru.Maxrss
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
