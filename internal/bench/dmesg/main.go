// Command dmesg times `ktriage dmesg` against `makedumpfile --dump-dmesg`
// on the same dumps in one run (the fixtures, and the generated dumps when
// the cache holds them), checks that their outputs are equal, and prints the
// ratio.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ktriage/ktriage/internal/bench"
)

func main() {
	ktriage, shared := bench.Flags()
	cacheDef := os.Getenv("KTRIAGE_VMCORES")
	if cacheDef == "" {
		cacheDef = ".cache/vmcores"
	}
	cache := flag.String("cache", cacheDef, "the generated dumps ($KTRIAGE_VMCORES, else .cache/vmcores)")
	runs := flag.Int("runs", 5, "runs of each command; the best is kept")
	flag.Parse()
	mdf, err := exec.LookPath("makedumpfile")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: makedumpfile not found (apt-get install makedumpfile)")
		os.Exit(1)
	}
	var dumps []string
	fx, _ := filepath.Glob(filepath.Join(*shared, "fixtures", "vmcore", "*", "vmcore.*"))
	dumps = append(dumps, fx...)
	if b, err := os.ReadFile(filepath.Join(*cache, "manifest.json")); err == nil {
		var m struct {
			Entries []struct{ Path, Format string } `json:"entries"`
		}
		if json.Unmarshal(b, &m) == nil {
			for _, e := range m.Entries {
				// makedumpfile reads kdump-compressed files and ELF with
				// program headers at 64 only.
				if e.Format == "kdump" {
					dumps = append(dumps, filepath.Join(*cache, e.Path))
				}
			}
		}
	}
	var kt, mt time.Duration
	for _, d := range dumps {
		var kout bytes.Buffer
		k, _, err := bench.Best(*runs, 0, func() *exec.Cmd {
			kout.Reset()
			cmd := exec.Command(*ktriage, "dmesg", d)
			cmd.Stdout = &kout
			return cmd
		})
		check(err)
		// makedumpfile will not overwrite its output: a fresh file per run.
		tmp := filepath.Join(os.TempDir(), "ktriage-bench-dmesg.txt")
		m, _, err := bench.Best(*runs, 0, func() *exec.Cmd {
			os.Remove(tmp)
			return exec.Command(mdf, "--dump-dmesg", d, tmp)
		})
		check(err)
		want, _ := os.ReadFile(tmp)
		os.Remove(tmp)
		same := "identical"
		if !bytes.Equal(kout.Bytes(), want) {
			same = "DIFFERENT"
		}
		fmt.Printf("%-70s ktriage %7.2f ms  makedumpfile %7.2f ms  ratio %5.2f  output %s\n", d, ms(k), ms(m), float64(m)/float64(k), same)
		kt += k
		mt += m
	}
	if len(dumps) > 0 {
		fmt.Printf("all %d dumps: ktriage %.1f ms, makedumpfile %.1f ms: ratio %.2f (makedumpfile's time over ktriage's; above 1, ktriage is faster)\n", len(dumps), ms(kt), ms(mt), float64(mt)/float64(kt))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
