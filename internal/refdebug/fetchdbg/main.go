// Command fetchdbg fetches the debug vmlinux of every kernel build the
// generated vmcore sets hold, with tools/fetch-dbg.sh, checking each against
// a dump of that build. `make dbg` runs it.
//
//	go run ./internal/refdebug/fetchdbg [VMCORES_DIR...]
//
// Without arguments it reads every set internal/vmcores knows where that
// package finds it ($KTRIAGE_VMCORES, $KTRIAGE_VMCORES_6_12, else the
// repository's .cache/vmcores and .cache/vmcores-6.12); a set not generated
// yet is passed over with a note. The cache directory is
// refdebug.CacheDir().
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ktriage/ktriage/internal/refdebug"
	"github.com/ktriage/ktriage/internal/vmcores"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fetchdbg:", err)
		os.Exit(1)
	}
}

func run(dirs []string) error {
	given := len(dirs) > 0
	if !given {
		for _, set := range vmcores.Sets {
			dirs = append(dirs, vmcores.SetDir(set))
		}
	}
	script := filepath.Join(vmcores.RepoRoot(), "tools", "fetch-dbg.sh")
	done := map[refdebug.Build]bool{}
	for _, dir := range dirs {
		entries, err := refdebug.ReadManifest(dir)
		if errors.Is(err, fs.ErrNotExist) && !given {
			fmt.Fprintf(os.Stderr, "fetchdbg: %s: no vmcores generated there (make vmcores): passed over\n", dir)
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if done[e.Build] {
				continue
			}
			done[e.Build] = true
			cmd := exec.Command("bash", script, "-d", e.Path, e.Build.Release, e.Build.Package, refdebug.CacheDir())
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s (checked against %s): %w", e.Build, e.Path, err)
			}
		}
	}
	return nil
}
