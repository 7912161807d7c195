// Package vmcores gives tests the real vmcores that tools/gen-vmcores.sh makes: a
// Debian 6.1 kernel panicked under QEMU, dumped by QEMU (ELF, kdump-zlib), by
// makedumpfile (zlib, LZO, -d 31, flattened) and by a genuine kdump capture kernel
// (/proc/vmcore), each with makedumpfile's --dump-dmesg output beside it; and the
// tcpskb trigger (a user process's TCP write whose skb the kernel BUGs on in
// __skb_checksum, with what the guest printed about the process and skb in
// Entry.Guest). Set.Tcpskb gives that dump, whose name says its dump level:
// tcpskb-kdump-d31, or tcpskb-kdump-d1 where Debian 12's makedumpfile 1.7.2 would drop
// live slab pages at -d 31 (6.12: see Set.Tcpskb).
//
// Sets: Set61 (Default) is that whole set of Debian 12's cloud kernel 6.1; Set612 is
// Debian 12's newest 6.12 cloud kernel, made with QMP=0: the kdump boots only
// (elf-proc-vmcore, kdump-proc-d31, tcpskb-kdump-d1). Require(t, set) gives one.
//
// The dumps live in git-ignored caches ($KTRIAGE_VMCORES, or .cache/vmcores in the
// repository, for Set61; $KTRIAGE_VMCORES_6_12, or that path with "-6.12" appended,
// for Set612). When a set's manifest.json is missing, or was written by an older
// generator (its generator_version is lower than the one this package wants of that
// set: entries may be missing or flawed), the generator runs (about a minute on a warm cache, QEMU TCG; it keeps
// the dumps that exist), serialized with a lock file so that test binaries of several
// packages running at once generate it only once. When it cannot be made, the test is
// skipped with the reason, or fails under CI=true; a set that exists but could not be
// brought up to date is used as it is.
package vmcores

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	// Guest is what the guest printed about the crashing process and skb
	// (the tcpskb entry only, see Set.Tcpskb; nil elsewhere).
	Guest *Guest `json:"guest"`
}

// Guest is the record the tcpskb trigger's guest printed before the crash: tcpsend's
// line about itself and its socket (on the console and, through /dev/kmsg, in the
// dump's own log) and tcpskb.ko's line about the skb it corrupted.
type Guest struct {
	PID    int    `json:"pid"`    // the process that wrote on the socket
	Comm   string `json:"comm"`   // its comm ("tcpsend")
	FD     int    `json:"fd"`     // the socket's file descriptor in it
	Ino    uint64 `json:"ino"`    // the socket's inode number: /proc/PID/fd/FD -> socket:[Ino]
	Local  string `json:"local"`  // IP:PORT of the socket
	Remote string `json:"remote"` // IP:PORT it is connected to
	Dev    string `json:"dev"`    // the device it is bound to (SO_BINDTODEVICE), without checksum offload
	Len    int    `json:"len"`    // the bytes written: the corrupt skb's data_len
	SKB    Addr   `json:"skb"`    // the corrupt skb (also in the global tcpskb_bad_skb)
	SK     Addr   `json:"sk"`     // its skb->sk: the process's struct sock
}

// Addr is a kernel virtual address, "0x..." in manifest.json: JSON numbers above 2^53
// do not survive every reader.
type Addr uint64

// UnmarshalJSON reads a "0x..." string.
func (a *Addr) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("address %s: %w", b, err)
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	*a = Addr(v)
	return nil
}

// String is the address as %#x prints it.
func (a Addr) String() string { return fmt.Sprintf("%#x", uint64(a)) }

// Sets of dumps, by kernel series.
const (
	Set61   = "6.1"  // Debian 12's cloud kernel (linux-image-cloud-amd64), every dump format
	Set612  = "6.12" // Debian 12's newest 6.12 cloud kernel, kdump boots only
	Default = Set61  // the set Dir, Manifest and Lookup give
)

// Sets lists the sets, Default first.
var Sets = []string{Set61, Set612}

// generatorVersion is, per set, the lowest generator_version (tools/gen-vmcores.sh's
// GENERATOR_VERSION) whose manifest has every entry this package wants of the set.
// Version 3 only changed the 6.12 set (its version 2 tcpskb dump, -d 31, lacks slab
// pages): 6.1 sets of version 2 are complete and are not rewritten.
var generatorVersion = map[string]int{
	Set61:  2,
	Set612: 3,
}

// generatorEnv is the environment tools/gen-vmcores.sh runs with for a set.
var generatorEnv = map[string][]string{
	Set61:  nil,
	Set612: {"KSERIES=6.12", "QMP=0"},
}

// Set is one set's manifest.json: the kernel booted and the dumps made of it.
type Set struct {
	Name string `json:"-"` // Set61, Set612
	Dir  string `json:"-"` // where it is
	// GeneratorVersion is the version of tools/gen-vmcores.sh that wrote it (0: before
	// the field existed).
	GeneratorVersion int    `json:"generator_version"`
	Kernel           string `json:"kernel"` // uname -r of the guest
	// KernelPackageName and KernelPackageVersion are the linux-image package booted
	// (dpkg-deb -f Version); DebugPackage is its -dbg as PACKAGE=VERSION, what
	// `apt-get download` takes to fetch the debug vmlinux of exactly that build.
	KernelPackageName    string `json:"kernel_package_name"`
	KernelPackageVersion string `json:"kernel_package_version"`
	DebugPackage         string `json:"debug_package"`
	// KernelPackage is KernelPackageVersion under its first name (generator_version 0).
	KernelPackage string   `json:"kernel_package"`
	Makedumpfile  string   `json:"makedumpfile"`
	QEMU          string   `json:"qemu"`
	Errors        []string `json:"errors"` // what the generator could not do
	Entries       []Entry  `json:"entries"`
}

// Lookup returns the entry named name (a folder of the set, e.g. "kdump-proc-d31"),
// skipping the test when the generator did not make it (failing it under CI=true).
func (s *Set) Lookup(t testing.TB, name string) Entry {
	t.Helper()
	for _, e := range s.Entries {
		if e.Name == name {
			return e
		}
	}
	testshared.Require(t, false, "vmcores: no %q in %s/manifest.json (see its errors; re-run make vmcores)", name, s.Dir)
	return Entry{}
}

// tcpskbPrefix starts the name of a set's tcpskb entry; its dump level follows.
const tcpskbPrefix = "tcpskb-kdump-d"

// Tcpskb returns the set's dump of the tcpskb trigger (the one with Guest), whatever
// its dump level: tcpskb-kdump-d31 in Set61; tcpskb-kdump-d1 in Set612, because the
// capture kernel's makedumpfile 1.7.2 does not know 6.12, which marks slab pages in
// page_type instead of PG_slab, and its -d 31 (the user-page bit) drops the slab pages
// whose page->mapping word is odd: live task_structs, files and sockets (the entry's
// Quirk says so). It skips the test when the generator made none (fails it under
// CI=true).
func (s *Set) Tcpskb(t testing.TB) Entry {
	t.Helper()
	e, ok := s.tcpskb()
	testshared.Require(t, ok, "vmcores: no %s* entry in %s/manifest.json (see its errors; re-run make vmcores)", tcpskbPrefix, s.Dir)
	return e
}

func (s *Set) tcpskb() (Entry, bool) {
	for _, e := range s.Entries {
		if strings.HasPrefix(e.Name, tcpskbPrefix) {
			return e, true
		}
	}
	return Entry{}, false
}

// RepoRoot is the repository this package is in.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/vmcores/vmcores.go
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CacheDir is where the Default set is, generated or not: $KTRIAGE_VMCORES or
// <repo>/.cache/vmcores.
func CacheDir() string {
	if d := os.Getenv("KTRIAGE_VMCORES"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), ".cache", "vmcores")
}

// SetDir is where a set is, generated or not: CacheDir for Set61; for another set
// $KTRIAGE_VMCORES_<set with _ for .> (KTRIAGE_VMCORES_6_12), else CacheDir()+"-"+set,
// so that a KTRIAGE_VMCORES shared by several checkouts shares the other sets too.
// An unknown set has no directory ("").
func SetDir(set string) string {
	if _, ok := generatorEnv[set]; !ok {
		return ""
	}
	if set == Set61 {
		return CacheDir()
	}
	if d := os.Getenv("KTRIAGE_VMCORES_" + strings.ReplaceAll(set, ".", "_")); d != "" {
		return d
	}
	return CacheDir() + "-" + set
}

var (
	mu     sync.Mutex
	genErr = map[string]error{} // the failed generation of a set in this process: not tried again
)

// Dir returns the Default set's directory, generating the dumps first when its
// manifest.json is missing or old (see the package comment). Without the dumps the
// test is skipped (failed under CI=true).
func Dir(t testing.TB) string {
	t.Helper()
	return Require(t, Default).Dir
}

// Manifest returns the dumps of the Default set, with absolute paths.
func Manifest(t testing.TB) []Entry {
	t.Helper()
	return Require(t, Default).Entries
}

// Lookup returns the Default set's entry named name (a folder of the cache, e.g.
// "kdump-lzo"), skipping the test when the generator did not make it (failing it under
// CI=true).
func Lookup(t testing.TB, name string) Entry {
	t.Helper()
	return Require(t, Default).Lookup(t, name)
}

// Require returns the set named set (Set61, Set612), generating or completing it first
// when its manifest.json is missing or was written by an older generator. Paths in its
// entries are absolute. Without the dumps the test is skipped (failed under CI=true).
func Require(t testing.TB, set string) *Set {
	t.Helper()
	dir := SetDir(set)
	if dir == "" {
		t.Fatalf("vmcores: unknown set %q (have %v)", set, Sets)
	}
	mf := filepath.Join(dir, "manifest.json")
	s, err := readSet(set, dir)
	if err == nil && s.GeneratorVersion >= generatorVersion[set] {
		return s.logErrors(t)
	}
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("vmcores: %v", err)
	}
	if testing.Short() {
		if s != nil {
			return s.logErrors(t)
		}
		t.Skipf("vmcores: %s missing and -short: not generating (run make vmcores)", mf)
	}
	mu.Lock()
	defer mu.Unlock()
	if genErr[set] == nil {
		// another test of this process may have generated it while this one waited
		if s, err = readSet(set, dir); err == nil && s.GeneratorVersion >= generatorVersion[set] {
			return s.logErrors(t)
		}
		if s != nil {
			t.Logf("vmcores: %s was written by generator version %d, this package wants %d: completing it", mf, s.GeneratorVersion, generatorVersion[set])
		}
		genErr[set] = generate(t, dir, generatorEnv[set], generatorVersion[set])
	}
	s, err = readSet(set, dir)
	switch {
	case err == nil && genErr[set] != nil:
		t.Logf("vmcores: cannot bring %s up to date (%v): using it as it is", dir, genErr[set])
	case os.IsNotExist(err):
		testshared.Require(t, false, "vmcores: cannot generate %s: %v", dir, genErr[set])
	case err != nil:
		t.Fatalf("vmcores: %v", err)
	}
	return s.logErrors(t)
}

// readSet reads dir/manifest.json, making the entries' paths absolute. Its error
// satisfies os.IsNotExist when the file is missing.
func readSet(name, dir string) (*Set, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	s, err := parseSet(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	s.Name, s.Dir = name, dir
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range s.Entries {
		e := &s.Entries[i]
		e.Path, e.Dmesg, e.Console, e.CaptureDmesg = abs(e.Path), abs(e.Dmesg), abs(e.Console), abs(e.CaptureDmesg)
	}
	return s, nil
}

// parseSet decodes manifest.json. A manifest older than kernel_package_version has the
// version under kernel_package only.
func parseSet(b []byte) (*Set, error) {
	var s Set
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.KernelPackageVersion == "" {
		s.KernelPackageVersion = s.KernelPackage
	}
	return &s, nil
}

func (s *Set) logErrors(t testing.TB) *Set {
	t.Helper()
	for _, e := range s.Errors {
		t.Logf("vmcores: the generator reported (%s): %s", s.Name, e)
	}
	return s
}

// generate runs tools/gen-vmcores.sh DIR, with env added to the environment, under a
// lock file beside DIR, unless another process made a manifest of at least version
// while this one waited for the lock.
func generate(t testing.TB, dir string, env []string, version int) error {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer unlock()
	if s, err := readSet("", dir); err == nil && s.GeneratorVersion >= version {
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
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, &tailWriter{w: logf, buf: &tail}
	envs := strings.Join(env, " ")
	if envs != "" {
		envs += " "
	}
	t.Logf("vmcores: %s missing or old: running %stools/gen-vmcores.sh (QEMU TCG, a minute or two; log %s)", dir, envs, logPath)
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
