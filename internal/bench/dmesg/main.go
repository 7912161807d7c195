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
)

func main() {
	ktriage := flag.String("ktriage", "bin/ktriage", "the ktriage binary")
	shared := flag.String("shared", os.Getenv("KTRIAGE_SHARED"), "the shared test assets")
	cache := flag.String("cache", ".cache/vmcores", "the generated dumps")
	runs := flag.Int("runs", 5, "runs of each command; the best is kept")
	flag.Parse()
	if *shared == "" {
		*shared = "../shared"
	}
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
		k, kout := best(*runs, *ktriage, "dmesg", d)
		// makedumpfile will not overwrite its output: a fresh file per run.
		tmp := filepath.Join(os.TempDir(), "ktriage-bench-dmesg.txt")
		var m time.Duration
		var want []byte
		for i := 0; i < *runs; i++ {
			os.Remove(tmp)
			start := time.Now()
			err := exec.Command(mdf, "--dump-dmesg", d, tmp).Run()
			t := time.Since(start)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: makedumpfile --dump-dmesg %s: %v\n", d, err)
				os.Exit(1)
			}
			if i == 0 || t < m {
				m = t
			}
			want, _ = os.ReadFile(tmp)
		}
		os.Remove(tmp)
		same := "identical"
		if !bytes.Equal(kout, want) {
			same = "DIFFERENT"
		}
		fmt.Printf("%-70s ktriage %7.2f ms  makedumpfile %7.2f ms  ratio %5.1fx  output %s\n", d, ms(k), ms(m), float64(m)/float64(k), same)
		kt += k
		mt += m
	}
	if len(dumps) > 0 {
		fmt.Printf("all %d dumps: ktriage %.1f ms, makedumpfile %.1f ms: ktriage is %.1fx faster\n", len(dumps), ms(kt), ms(mt), float64(mt)/float64(kt))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// best runs a command n times and returns the shortest time and its output.
func best(n int, name string, args ...string) (time.Duration, []byte) {
	var bt time.Duration
	var out []byte
	for i := 0; i < n; i++ {
		start := time.Now()
		b, err := exec.Command(name, args...).Output()
		d := time.Since(start)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s %v: %v\n", name, args, err)
			os.Exit(1)
		}
		if i == 0 || d < bt {
			bt, out = d, b
		}
	}
	return bt, out
}
