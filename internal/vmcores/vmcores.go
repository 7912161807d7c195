// Package vmcores gives tests the real vmcores that tools/gen-vmcores.sh makes: a
// Debian 6.1 kernel panicked under QEMU, dumped by QEMU (ELF, kdump-zlib), by
// makedumpfile (zlib, LZO, -d 31, flattened) and by a genuine kdump capture kernel
// (/proc/vmcore), each with makedumpfile's --dump-dmesg output beside it.
//
// The dumps live in a git-ignored cache ($KTRIAGE_VMCORES, or .cache/vmcores in the
// repository). When its manifest.json is missing, Dir runs the generator (about two
// minutes on a warm cache, QEMU TCG), serialized with a lock file so that test binaries
// of several packages running at once generate it only once. When it cannot be made,
// the test is skipped with the reason, or fails under CI=true.
package vmcores

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/testshared"
)

// Entry is one dump of manifest.json. Manifest makes Path, Dmesg, Console and
// CaptureDmesg absolute; the file holds them relative to the cache directory.
type Entry struct {
	Name        string `json:"name"`        // folder: elf-qemu, kdump-zlib, elf-proc-vmcore, ...
	Path        string `json:"path"`        // the dump
	Format      string `json:"format"`      // elf, kdump (kdump-compressed), kdump-flattened
	Compression string `json:"compression"` // none, zlib, lzo (the page compression)
	DumpLevel   int    `json:"dump_level"`  // makedumpfile -d
	Producer    string `json:"producer"`    // the command that wrote it
	Registers   string `json:"registers"`   // what the CPU state notes hold
	Source      string `json:"source"`      // the entry it was made from, if any
	Trigger     string `json:"trigger"`     // how the guest was crashed
	Kernel      string `json:"kernel"`      // uname -r of the guest
	ElfPhoff    int64  `json:"elf_phoff"`   // e_phoff of an ELF dump (QEMU 7.2: 192, kernel: 64)
	Quirk       string `json:"quirk"`       // what is odd about this dump and how its dmesg was made
	// Dmesg is makedumpfile --dump-dmesg's output for this dump (the expected log).
	Dmesg string `json:"dmesg"`
	// CaptureDmesg is the log the kdump capture kernel saved itself (kdump entries).
	CaptureDmesg string `json:"capture_dmesg"`
	Console      string `json:"console"` // the serial console of the boot (CRLF)
	Oops         string `json:"oops"`    // first oops line of Dmesg, without timestamp
	Panic        string `json:"panic"`   // "Kernel panic - not syncing: ..." line, if any
	Size         int64  `json:"size"`
	DiskBytes    int64  `json:"disk_bytes"` // allocated: ELF dumps are sparse files
}

// manifest is manifest.json.
type manifest struct {
	Kernel        string   `json:"kernel"`
	KernelPackage string   `json:"kernel_package"`
	Makedumpfile  string   `json:"makedumpfile"`
	QEMU          string   `json:"qemu"`
	Errors        []string `json:"errors"`
	Entries       []Entry  `json:"entries"`
}

// RepoRoot is the repository this package is in.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/vmcores/vmcores.go
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CacheDir is where the dumps are, generated or not: $KTRIAGE_VMCORES or
// <repo>/.cache/vmcores.
func CacheDir() string {
	if d := os.Getenv("KTRIAGE_VMCORES"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), ".cache", "vmcores")
}

var (
	mu     sync.Mutex
	genErr error // the failed generation of this process: not tried again
)

// Dir returns the cache directory, generating the dumps first when its manifest.json is
// missing. Without the dumps the test is skipped (failed under CI=true).
func Dir(t testing.TB) string {
	t.Helper()
	dir := CacheDir()
	mf := filepath.Join(dir, "manifest.json")
	if exists(mf) {
		return dir
	}
	mu.Lock()
	defer mu.Unlock()
	if genErr == nil && !exists(mf) {
		if testing.Short() {
			t.Skipf("vmcores: %s missing and -short: not generating (run make vmcores)", mf)
		}
		genErr = generate(t, dir)
	}
	if genErr != nil && !exists(mf) {
		testshared.Require(t, false, "vmcores: cannot generate %s: %v", dir, genErr)
	}
	return dir
}

// Manifest returns the dumps Dir holds, with absolute paths.
func Manifest(t testing.TB) []Entry {
	t.Helper()
	dir := Dir(t)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("vmcores: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("vmcores: manifest.json: %v", err)
	}
	for _, e := range m.Errors {
		t.Logf("vmcores: the generator reported: %s", e)
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		e.Path, e.Dmesg, e.Console, e.CaptureDmesg = abs(e.Path), abs(e.Dmesg), abs(e.Console), abs(e.CaptureDmesg)
	}
	return m.Entries
}

// Lookup returns the entry named name (a folder of the cache, e.g. "kdump-lzo"),
// skipping the test when the generator did not make it (failing it under CI=true).
func Lookup(t testing.TB, name string) Entry {
	t.Helper()
	for _, e := range Manifest(t) {
		if e.Name == name {
			return e
		}
	}
	testshared.Require(t, false, "vmcores: no %q in %s/manifest.json (see its errors; re-run make vmcores)", name, CacheDir())
	return Entry{}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// generate runs tools/gen-vmcores.sh DIR under a lock file beside DIR, unless another
// process made the manifest while this one waited for the lock.
func generate(t testing.TB, dir string) error {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer unlock()
	if exists(filepath.Join(dir, "manifest.json")) {
		return nil
	}
	script := filepath.Join(RepoRoot(), "tools", "gen-vmcores.sh")
	logPath := dir + ".log"
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	var tail bytes.Buffer
	cmd := exec.Command("bash", script, dir)
	cmd.Stdout, cmd.Stderr = logf, &tailWriter{w: logf, buf: &tail}
	t.Logf("vmcores: %s missing: running tools/gen-vmcores.sh (QEMU TCG, a few minutes; log %s)", dir, logPath)
	start := time.Now()
	err = cmd.Run()
	t.Logf("vmcores: generator ran %s", time.Since(start).Round(time.Second))
	if err != nil {
		return fmt.Errorf("%s: %v; last lines of %s:\n%s", script, err, logPath, lastLines(tail.String(), 15))
	}
	return nil
}

// tailWriter copies to w and keeps what was written, for the error message.
type tailWriter struct {
	w   *os.File
	buf *bytes.Buffer
}

func (tw *tailWriter) Write(p []byte) (int, error) {
	tw.buf.Write(p)
	if tw.buf.Len() > 64<<10 {
		tw.buf.Next(tw.buf.Len() - 32<<10)
	}
	return tw.w.Write(p)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
