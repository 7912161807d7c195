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

	"github.com/ktriage/ktriage/internal/bench"
	"github.com/ktriage/ktriage/internal/corpuslog"
)

func main() {
	ktriage, shared := bench.Flags()
	sizeMB := flag.Int("size", 200, "log size in MB")
	flag.Parse()
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
		kt, krss, err := bench.Best(3, 1, func() *exec.Cmd {
			cmd := exec.Command(*ktriage, "analyze", "--json", f)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			cmd.Stdout = io.Discard
			return cmd
		})
		check(err)
		// grep's output goes to a pipe: on /dev/null GNU grep stops at the
		// first match.
		gt, grss, err := bench.Best(3, 1, func() *exec.Cmd {
			cmd := exec.Command("grep", "-E", "BUG:|Oops|general protection|kernel BUG|WARNING:", f)
			cmd.Stdout = io.Discard
			return cmd
		})
		check(err)
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

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
