// Command gen writes oops's prefilter tables: `go generate ./oops` runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ktriage/ktriage/oops/internal/bigrams"
)

func main() {
	def := os.Getenv("KTRIAGE_SHARED")
	if def == "" {
		def = "../../shared" // go generate runs in oops/
	}
	shared := flag.String("shared", def, "the shared test assets")
	out := flag.String("o", "bigrams_gen.go", "the file to write")
	flag.Parse()
	src, err := bigrams.Source(*shared)
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
