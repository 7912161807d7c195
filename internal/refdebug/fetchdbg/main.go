// Command fetchdbg fetches the debug vmlinux of every kernel build a
// generated vmcore set holds, with tools/fetch-dbg.sh, checking each against
// a dump of that build. `make dbg` runs it.
//
//	go run ./internal/refdebug/fetchdbg [VMCORES_DIR]
//
// VMCORES_DIR defaults to $KTRIAGE_VMCORES, else the repository's
// .cache/vmcores. The cache directory is refdebug.CacheDir().
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/internal/vmcores"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fetchdbg:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := vmcores.CacheDir()
	switch len(os.Args) {
	case 1:
	case 2:
		dir = os.Args[1]
	default:
		return fmt.Errorf("usage: fetchdbg [VMCORES_DIR]")
	}
	entries, err := refdebug.ReadManifest(dir)
	if err != nil {
		return err
	}
	script := filepath.Join(vmcores.RepoRoot(), "tools", "fetch-dbg.sh")
	done := map[refdebug.Build]bool{}
	for _, e := range entries {
		if done[e.Build] {
			continue
		}
		done[e.Build] = true
		cmd := exec.Command("bash", script, "-d", e.Path, e.Build.Release, e.Build.Package, refdebug.CacheDir())
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s (checked against %s): %w", e.Build, e.Name, err)
		}
	}
	return nil
}
