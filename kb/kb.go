// Package kb is ktriage's knowledge base of known Linux kernel crash bugs:
// one YAML file per bug (embedded from entries/, plus an optional directory
// of the user's own), a matcher that recognises a crash by its type, title,
// guilty function, ordered frame subsequences, modules and kernel release
// (compared in upstream, RPM or Debian order by internal/version), and a
// linter.
//
// Entry files look like this (see entries/ for complete ones):
//
//	id: tcp-sack-panic
//	title: ...
//	summary: ...
//	verified: true
//	match:
//	  releases: [{max_exclusive: "5.2", scheme: upstream}]   # ANDed with every block
//	  any:                                                   # one block must hold
//	    - types: [BUG]
//	      functions: ['tcp_shifted_skb']
//	      verified: true
//	      source: https://...
//	root_cause: {text: ..., verified: true, source: https://...}
//	fixed_in:
//	  upstream: {commit: 3b4929f65b0d..., title: "...", release: v5.2-rc6, verified: true, source: https://...}
//	  distros: [{name: RHEL 8, version: 4.18.0-80.4.2.el8_0, verified: false}]
//	workaround:
//	  text: ...
//	  sysctl: [{key: net.ipv4.tcp_sack, value: "0"}]
//	references:
//	  - {kind: commit, id: 3b4929f65b0d..., url: https://..., verified: true}
//
// Within a match block all fields must hold; within a field any listed
// alternative suffices. Function and frame patterns match whole names;
// title and location patterns are searched.
//
// Kernel releases and package versions: an RPM kernel release
// (2.6.32-504.23.4.el6.x86_64) is its package's version-release with the
// architecture dropped, so rpm ranges compare it directly. A Debian or Ubuntu
// release (6.1.0-13-amd64) names the ABI, not the package version (6.1.55-1):
// deb-abi ranges compare the ABI (6.1.0-13), deb ranges compare
// Crash.PackageVersion. A crash whose release is unknown is not excluded by
// release ranges; the evidence says the ranges were not checked.
package kb

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ktriage/ktriage/internal/boundedio"
)

//go:embed entries/*.yaml
var embedded embed.FS

// embeddedPrefix starts the File of every embedded entry.
const embeddedPrefix = "embedded:"

// KB is a set of entries with unique ids, sorted by id.
type KB struct {
	entries []*Entry
	byID    map[string]*Entry
}

// Embedded loads the entries built into the binary.
func Embedded() (*KB, error) { return Load("") }

// Load loads the embedded entries and, when dir is not empty, every *.yaml
// and *.yml file directly in dir. Entries that fail to parse are left out and
// their errors returned, joined, together with the knowledge base of the
// others. An entry of dir whose id is a built-in's replaces the built-in (its
// Overrides names the built-in's file), so that a user can correct or
// withdraw a shipped entry without rebuilding; two entries of dir with the
// same id are an error naming both files, and the second is left out. The
// returned KB is never nil.
func Load(dir string) (*KB, error) {
	var errs []error
	builtin, err := loadFS(embedded, "entries", embeddedPrefix+"entries/")
	if err != nil {
		errs = append(errs, err)
	}
	var user []*Entry
	if dir != "" {
		st, err := os.Stat(dir)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("knowledge-base directory: %w", err))
		case !st.IsDir():
			errs = append(errs, fmt.Errorf("knowledge-base directory %s: not a directory", dir))
		default:
			es, err := loadFS(os.DirFS(dir), ".", filepath.Clean(dir)+string(filepath.Separator))
			user = es
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	k, err := overlay(builtin, user)
	if err != nil {
		errs = append(errs, err)
	}
	return k, errors.Join(errs...)
}

// overlay builds the knowledge base of the built-in entries with the user's
// laid over them: a user entry replaces the built-in of the same id. Ids
// repeated within either set are errors (see New).
func overlay(builtin, user []*Entry) (*KB, error) {
	var errs []error
	userKB, err := New(user...)
	if err != nil {
		errs = append(errs, err)
	}
	var all []*Entry
	for _, e := range builtin {
		if e == nil {
			continue
		}
		if u := userKB.Get(e.ID); u != nil {
			if u.Overrides == "" {
				u.Overrides = e.File
				continue
			}
			// A second built-in of the id: New reports it below.
		}
		all = append(all, e)
	}
	all = append(all, userKB.entries...)
	k, err := New(all...)
	if err != nil {
		errs = append(errs, err)
	}
	return k, errors.Join(errs...)
}

// loadFS parses the entry files in one directory of fsys. label prefixes the
// file names in Entry.File and in errors.
func loadFS(fsys fs.FS, dir, label string) ([]*Entry, error) {
	des, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.TrimSuffix(label, "/"), err)
	}
	var out []*Entry
	var errs []error
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		data, err := readEntryFile(fsys, pathJoin(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", label, name, err))
			continue
		}
		parse := parseEntry
		if label == embeddedPrefix+"entries/" {
			// Built-in entries pass lint in CI: only what matching
			// needs is decoded now (see parseEntryFast).
			parse = parseEntryFast
		}
		e, err := parse(label+name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

// readEntryFile reads an entry file of at most maxEntryFile bytes. It
// looks before it opens, so that a FIFO is refused rather than waited on,
// and a device (a link to /dev/zero) or a huge file is refused unread.
func readEntryFile(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", boundedio.ErrNotRegular, st.Mode().Type())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return boundedio.ReadRegular(f, maxEntryFile)
}

func pathJoin(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

// New builds a knowledge base from parsed entries. An id used twice is an
// error naming both files; the later entry is left out.
func New(entries ...*Entry) (*KB, error) {
	k := &KB{byID: map[string]*Entry{}}
	var errs []error
	for _, e := range entries {
		if e == nil {
			continue
		}
		if prev, ok := k.byID[e.ID]; ok {
			errs = append(errs, &Problem{File: e.File, Line: e.lineOf("$.id"), ID: e.ID,
				Msg: fmt.Sprintf("duplicate entry id %q: defined in %s and in %s", e.ID, prev.File, e.File)})
			continue
		}
		k.byID[e.ID] = e
		k.entries = append(k.entries, e)
	}
	sort.SliceStable(k.entries, func(i, j int) bool { return k.entries[i].ID < k.entries[j].ID })
	return k, errors.Join(errs...)
}

// Entries returns the entries sorted by id.
func (k *KB) Entries() []*Entry { return append([]*Entry(nil), k.entries...) }

// Get returns the entry with the given id, or nil.
func (k *KB) Get(id string) *Entry { return k.byID[id] }

// Len returns the number of entries.
func (k *KB) Len() int { return len(k.entries) }

// Overridden returns the entries that replace a built-in entry of the same
// id (Entry.Overrides names its file), sorted by id.
func (k *KB) Overridden() []*Entry {
	var out []*Entry
	for _, e := range k.entries {
		if e.Overrides != "" {
			out = append(out, e)
		}
	}
	return out
}

// Verified returns the number of entries marked verified.
func (k *KB) Verified() int {
	n := 0
	for _, e := range k.entries {
		if e.Verified {
			n++
		}
	}
	return n
}
