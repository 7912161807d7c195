// Command logscan measures how fast `ktriage analyze` scans a large console
// log, against `grep -E` of the crash trigger words on the same file in the
// same run. It builds the log from the syzkaller corpus (real crash reports,
// about 5% of the bytes) and real boot logs (the rest), at two sizes to show
// that the cost is linear, and prints throughput, peak RSS and the ratios.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"github.com/ktriage/ktriage/internal/bench"
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
	fmt.Printf("log: %d MB with %d crash reports (%.1f%% of the bytes)\n", *sizeMB, crashes.n, 100*float64(crashes.bytes)/float64(int64(*sizeMB)<<20))
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

type stats struct{ n, bytes int64 }

var numeric = regexp.MustCompile(`^[0-9]+$`)

// build writes a log of about size bytes: boot-log filler with a corpus
// crash report after every ~19 parts of filler.
func build(shared, out string, size int64) (stats, error) {
	var st stats
	corpus := filepath.Join(shared, "corpora", "syzkaller-linux-report", "report")
	ents, err := os.ReadDir(corpus)
	if err != nil {
		return st, err
	}
	var reports [][]byte
	for _, e := range ents {
		if !numeric.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpus, e.Name()))
		if err != nil {
			return st, err
		}
		if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
			b = b[i+2:]
		}
		if i := bytes.Index(b, []byte("\nREPORT:\n")); i >= 0 {
			b = b[:i]
		}
		if len(b) < 64<<10 {
			reports = append(reports, b)
		}
	}
	fillers, _ := filepath.Glob(filepath.Join(shared, "fixtures", "vmcore", "*", "dmesg.makedumpfile.txt"))
	var filler []byte
	for _, f := range fillers {
		b, err := os.ReadFile(f)
		if err != nil {
			return st, err
		}
		// The boot part only: up to the first crash.
		if i := bytes.Index(b, []byte("] sysrq:")); i > 0 {
			b = b[:bytes.LastIndexByte(b[:i], '\n')+1]
		}
		if i := bytes.Index(b, []byte("------------[ cut here ]")); i > 0 {
			b = b[:bytes.LastIndexByte(b[:i], '\n')+1]
		}
		filler = append(filler, b...)
	}
	if len(reports) == 0 || len(filler) == 0 {
		return st, fmt.Errorf("no corpus in %s", shared)
	}
	f, err := os.Create(out)
	if err != nil {
		return st, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written, fill int64
	for i := 0; written < size; i++ {
		if fill < 19*st.bytes+int64(len(filler)) {
			w.Write(filler)
			written += int64(len(filler))
			fill += int64(len(filler))
			continue
		}
		r := reports[int(st.n)%len(reports)]
		w.Write(r)
		w.WriteByte('\n')
		written += int64(len(r)) + 1
		st.bytes += int64(len(r)) + 1
		st.n++
	}
	if err := w.Flush(); err != nil {
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
