package remedy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/rootfs"
	"github.com/ktriage/ktriage/kb"
)

// Runner runs a command and returns its combined output; it exists so that
// tests and namespaces can stand in for the host's ethtool.
type Runner interface {
	Run(ctx context.Context, args ...string) ([]byte, error)
}

// ExecRunner runs commands on this machine, or inside the network namespace
// Netns (ip netns exec) when set, so that a test or a container's interfaces
// can be changed without touching the host's.
type ExecRunner struct {
	Netns string
}

// Run runs args and returns combined output; a failure names the command
// and carries its output.
func (r ExecRunner) Run(ctx context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("no command")
	}
	if r.Netns != "" {
		args = append([]string{"ip", "netns", "exec", r.Netns}, args...)
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// RunRecord is the log of one apply run, kept as run.json beside the
// backups under /var/lib/ktriage/remedy/ID on the host, so that revert can
// restore exactly the files that run changed.
type RunRecord struct {
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	EntryID    string            `json:"entry"`
	Offload    kb.EthtoolOffload `json:"ethtool_offload"`
	Interfaces []string          `json:"interfaces"`
	Files      []RunFile         `json:"files"`
	// Status is applying (written before any backup or file: left so, the
	// run was cut short), applied, failed (rolled back) or reverted.
	Status   string     `json:"status"`
	Reverted *time.Time `json:"reverted,omitempty"`
}

// RunFile is one file a run changed: where its backup is, and the digests
// of its content before and after, which revert checks.
type RunFile struct {
	Path    string `json:"path"`
	Backup  string `json:"backup,omitempty"` // relative to the run directory
	Created bool   `json:"created,omitempty"`
	OldSHA  string `json:"old_sha256,omitempty"`
	NewSHA  string `json:"new_sha256"`
}

// ApplyOptions control apply.
type ApplyOptions struct {
	// Now also switches the features on the running interfaces.
	Now    bool
	Runner Runner
	// Clock names the run; nil means time.Now.
	Clock func() time.Time
}

// RuntimeResult is what --now did to one interface.
type RuntimeResult struct {
	Iface   string
	Command []string // nil when nothing needed changing
	// Already lists features that were in the wanted state before.
	Already []string
	// Fixed lists features the driver does not let change ([fixed]) and
	// that are not in the wanted state: the workaround is partial there.
	Fixed []string
	// FixedOK lists [fixed] features already in the wanted state.
	FixedOK []string
	// Failed lists features still not in the wanted state afterwards.
	Failed []string
	Err    error
}

// ApplyResult says what apply did.
type ApplyResult struct {
	// Run is the run record, nil when no file needed changing.
	Run     *RunRecord
	RunDir  string
	Written []string
	Runtime []RuntimeResult
}

// lockWait bounds how long apply and revert wait for another run holding
// the root's state directory.
const lockWait = 2 * time.Minute

// ErrChanged is what an error wraps when a file is no longer as the plan
// read it: another run or an editor changed it in between. Nothing of the
// plan was written (or what was is restored); plan again.
var ErrChanged = errors.New("changed after the plan was made")

// Run statuses. A run's record is written, as applying, before any backup
// or file, so that a directory without a record was never a run; applying
// left behind means the run was cut short.
const (
	statusApplying = "applying"
	statusApplied  = "applied"
	statusFailed   = "failed"
	statusReverted = "reverted"
)

// runIDLayout is the time layout of a run id; a second run in the same
// microsecond adds -N.
const runIDLayout = "20060102T150405.000000Z"

// validRunID tells whether id is one apply makes: a run id names a
// directory, so anything else ("../..", "/x", "a/b") is refused.
func validRunID(id string) bool {
	base, n, hasN := strings.Cut(id, "-")
	if len(base) != len(runIDLayout) {
		return false
	}
	if _, err := time.Parse(runIDLayout, base); err != nil {
		return false
	}
	if hasN {
		if n == "" || len(n) > 6 || strings.TrimLeft(n, "0123456789") != "" || n[0] == '0' {
			return false
		}
	}
	return true
}

// Apply writes the plan's edits: it holds the root's state directory
// locked, so that concurrent runs take turns, checks that every file is
// still as planned, records the run (run.json, as applying) and saves a
// backup of each file into the new run directory, then replaces each file
// atomically after reading it once more, undoing the ones already written
// if a later one fails or changed. With no edits it writes nothing (no
// run). With opts.Now it then switches the features on the running
// interfaces. Every path is resolved under the root (rootfs).
func Apply(ctx context.Context, h *Host, p *Plan, opts ApplyOptions) (*ApplyResult, error) {
	if h.readOnly || h.IsSosreport() {
		return nil, fmt.Errorf("%s is a sosreport, a copy of a host: nothing was changed (apply the plan on the host itself)", h.Root)
	}
	res := &ApplyResult{}
	if len(p.Edits) > 0 {
		d, err := rootfs.Open(h.Root)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		// A stale plan is refused before anything, the state directory
		// included, is made; and again once the lock is held.
		for _, e := range p.Edits {
			if err := unchanged(d.FS(), e); err != nil {
				return nil, fmt.Errorf("nothing was changed: %w", err)
			}
		}
		if err := d.MkdirAll(runDir, 0o700); err != nil {
			return nil, fmt.Errorf("apply failed, nothing was changed: making /%s: %w", runDir, err)
		}
		unlock, err := d.Lock(runDir, lockWait)
		if err != nil {
			return nil, fmt.Errorf("apply failed, nothing was changed: %w", err)
		}
		defer unlock()
		for _, e := range p.Edits {
			if err := unchanged(d.FS(), e); err != nil {
				return nil, fmt.Errorf("nothing was changed: %w", err)
			}
		}
		if err := writeRun(d, p, opts, res); err != nil {
			return res, err
		}
	}
	if opts.Now {
		r := opts.Runner
		if r == nil {
			r = ExecRunner{}
		}
		var errs []error
		for _, dev := range p.Interfaces {
			rr := runtimeApply(ctx, r, dev, p.Offload)
			res.Runtime = append(res.Runtime, rr)
			if rr.Err != nil {
				errs = append(errs, rr.Err)
			}
		}
		if len(errs) > 0 {
			return res, fmt.Errorf("runtime change: %w", errors.Join(errs...))
		}
	}
	return res, nil
}

// unchanged fails, naming the file, when e's file is not as the plan read
// it.
func unchanged(fsys fs.FS, e *Edit) error {
	cur, err := readFile(fsys, e.Path)
	switch {
	case e.Create && err == nil:
		return fmt.Errorf("%s appeared after the plan was made: %w: run plan again", e.Path, ErrChanged)
	case e.Create && errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%s: %w", e.Path, err)
	case !bytes.Equal(cur, e.Old):
		return fmt.Errorf("%s %w: run plan again", e.Path, ErrChanged)
	}
	return nil
}

// backupName is where apply keeps a file's backup in its run directory;
// revert takes no other.
func backupName(hostPath string) string { return "files/" + fsName(hostPath) }

func writeRun(d *rootfs.Dir, p *Plan, opts ApplyOptions, res *ApplyResult) error {
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock
	}
	t := now().UTC()
	id := t.Format(runIDLayout)
	for i := 1; ; i++ {
		err := d.Mkdir(path.Join(runDir, id), 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 1000 {
			return fmt.Errorf("apply failed, nothing was changed: making the run directory: %w", err)
		}
		id = fmt.Sprintf("%s-%d", t.Format(runIDLayout), i)
	}
	dir := path.Join(runDir, id)
	res.RunDir = filepath.Join(d.Path(), filepath.FromSlash(dir))
	// Nothing has changed yet: a failure before the first file is written
	// leaves no run directory behind.
	cleanup := func(err error) error {
		if rerr := d.RemoveAll(dir); rerr != nil {
			return fmt.Errorf("apply failed, nothing was changed: %w (and removing /%s failed: %w)", err, dir, rerr)
		}
		res.RunDir = ""
		return fmt.Errorf("apply failed, nothing was changed: %w", err)
	}
	rec := &RunRecord{ID: id, Time: t, EntryID: p.EntryID, Offload: p.Offload, Interfaces: p.Interfaces, Status: statusApplying}
	for _, e := range p.Edits {
		f := RunFile{Path: e.Path, Created: e.Create, NewSHA: digest(e.New)}
		if !e.Create {
			f.OldSHA, f.Backup = digest(e.Old), backupName(e.Path)
		}
		rec.Files = append(rec.Files, f)
	}
	if err := saveRun(d, rec); err != nil {
		return cleanup(err)
	}
	for i, e := range p.Edits {
		f := rec.Files[i]
		if f.Backup == "" {
			continue
		}
		bp := path.Join(dir, f.Backup)
		if err := d.MkdirAll(path.Dir(bp), 0o700); err != nil {
			return cleanup(fmt.Errorf("backing up %s: %w", e.Path, err))
		}
		if err := d.WriteFile(bp, e.Old, 0o600); err != nil {
			return cleanup(fmt.Errorf("backing up %s: %w", e.Path, err))
		}
	}
	res.Run = rec
	var done []*Edit
	for _, e := range p.Edits {
		// Read once more just before the rename: the lock keeps other
		// remedy runs out, not an editor.
		err := unchanged(d.FS(), e)
		if err == nil && e.Create {
			err = d.MkdirAll(path.Dir(fsName(e.Path)), 0o755)
		}
		if err == nil {
			err = d.WriteFile(fsName(e.Path), e.New, 0o644)
		}
		if err != nil {
			var undo []error
			for _, u := range done {
				if u.Create {
					undo = append(undo, d.Remove(fsName(u.Path)))
				} else {
					undo = append(undo, d.WriteFile(fsName(u.Path), u.Old, 0o644))
				}
			}
			rec.Status = statusFailed
			undo = append(undo, saveRun(d, rec))
			if u := errors.Join(undo...); u != nil {
				return fmt.Errorf("apply failed: writing %s: %w; undoing the files already written also failed (backups in %s): %w", e.Path, err, res.RunDir, u)
			}
			return fmt.Errorf("apply failed: writing %s: %w (the files already written were restored)", e.Path, err)
		}
		done = append(done, e)
		res.Written = append(res.Written, e.Path)
	}
	rec.Status = statusApplied
	if err := saveRun(d, rec); err != nil {
		return fmt.Errorf("the files were written but the run record was not (revert by hand from the backups in %s): %w", res.RunDir, err)
	}
	return nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func saveRun(d *rootfs.Dir, rec *RunRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the run record: %w", err)
	}
	if err := d.WriteFile(path.Join(runDir, rec.ID, "run.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the run record: %w", err)
	}
	return nil
}

// Runs lists the complete apply runs recorded under the host's root,
// oldest first, and says which directories it skipped and why (no record,
// a run cut short, a record that names what apply would not). The records
// are read under the root like the configuration (see Scan): no link out of
// it is followed and no record is read unbounded.
func Runs(root string) ([]*RunRecord, []string, error) {
	d, err := rootfs.Open(root)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	return runs(d.FS())
}

func runs(fsys fs.FS) ([]*RunRecord, []string, error) {
	base := "/" + runDir
	ents, err := readDir(fsys, base)
	if err != nil {
		return nil, nil, fmt.Errorf("listing runs in %s: %w", base, err)
	}
	var out []*RunRecord
	var skipped []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		rec, err := loadRun(fsys, e.Name())
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("skipped %s/%s: %v", base, e.Name(), err))
			continue
		}
		if rec.Status == statusApplying {
			skipped = append(skipped, fmt.Sprintf("skipped %s/%s: the run was cut short before it completed (its files may be half written: compare them with its backups)", base, e.Name()))
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, skipped, nil
}

// loadRun reads and checks the record of run id: every path it names must
// be one apply would have written, since revert writes and reads there.
func loadRun(fsys fs.FS, id string) (*RunRecord, error) {
	if !validRunID(id) {
		return nil, fmt.Errorf("not a run: %q is not a run id", id)
	}
	f := "/" + runDir + "/" + id + "/run.json"
	b, err := readFile(fsys, f)
	if err != nil {
		return nil, fmt.Errorf("no run record: reading %s: %w", f, err)
	}
	var rec RunRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	// The directory names the run: an id in the record that differs
	// could point anywhere.
	if rec.ID != id {
		return nil, fmt.Errorf("%s: names run %q, not its directory's %q", f, rec.ID, id)
	}
	switch rec.Status {
	case statusApplying, statusApplied, statusFailed, statusReverted:
	default:
		return nil, fmt.Errorf("%s: unknown status %q", f, rec.Status)
	}
	for _, rf := range rec.Files {
		switch {
		case !path.IsAbs(rf.Path) || path.Clean(rf.Path) != rf.Path || rf.Path == "/" || strings.ContainsRune(rf.Path, 0):
			return nil, fmt.Errorf("%s: file %q is not a clean absolute path", f, rf.Path)
		case !writable(rf.Path):
			return nil, fmt.Errorf("%s: file %s is not in a directory apply writes to", f, rf.Path)
		case rf.Created && rf.Backup != "":
			return nil, fmt.Errorf("%s: created file %s has a backup %q", f, rf.Path, rf.Backup)
		case !rf.Created && rf.Backup != backupName(rf.Path):
			return nil, fmt.Errorf("%s: backup of %s: %q lies outside the run's files directory (apply keeps it as %q)", f, rf.Path, rf.Backup, backupName(rf.Path))
		}
	}
	return &rec, nil
}

// writable tells whether apply could have written the host path: a file
// directly in one of the configuration directories it edits. A record
// naming any other file (/etc/shadow) was not written by apply.
func writable(hostPath string) bool {
	switch path.Dir(hostPath) {
	case "/" + ifcfgDir, "/" + nmDir, "/" + netplanDir, "/" + linkDirs[0]:
		return true
	}
	return false
}

// RevertResult says what Revert did.
type RevertResult struct {
	// Run is the run reverted.
	Run *RunRecord
	// Restored are the files restored or removed, in the run's order.
	Restored []string
	// Skipped are run directories passed over, each with why.
	Skipped []string
}

// Revert restores the files of one apply run (the latest applied one when
// id is empty) from its backups and removes the files it created. A file
// changed since that run is not overwritten: Revert refuses, touching
// nothing, and names it. It holds the state directory locked as Apply
// does, takes no run id but one apply makes, and reads each backup through
// the run's own directory, so that no path a record names leads elsewhere;
// everything it reads and writes is under the root.
func Revert(root, id string) (*RevertResult, error) {
	if id != "" && !validRunID(id) {
		return nil, fmt.Errorf("%q is not a run id (ktriage remedy verify names the latest; runs are directories of /%s)", id, runDir)
	}
	d, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	abs := d.Path()
	res := &RevertResult{}
	if _, err := fs.Stat(d.FS(), runDir); err == nil {
		unlock, err := d.Lock(runDir, lockWait)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	runs, skipped, err := runs(d.FS())
	res.Skipped = skipped
	if err != nil {
		return res, err
	}
	var rec *RunRecord
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if (id == "" && r.Status == statusApplied) || r.ID == id {
			rec = r
			break
		}
	}
	if rec == nil {
		why := ""
		if len(skipped) > 0 {
			why = " (" + strings.Join(skipped, "; ") + ")"
		}
		if id != "" {
			return res, fmt.Errorf("no run %s under %s%s", id, filepath.Join(abs, runDir), why)
		}
		return res, fmt.Errorf("no applied run to revert under %s%s", filepath.Join(abs, runDir), why)
	}
	res.Run = rec
	if rec.Status != statusApplied {
		return res, fmt.Errorf("run %s is %s, not applied: nothing to revert", rec.ID, rec.Status)
	}
	dir := path.Join(runDir, rec.ID)
	run, err := d.Sub(dir)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", rec.ID, err)
	}
	defer run.Close()
	backups := map[string][]byte{}
	for _, f := range rec.Files {
		cur, err := readFile(d.FS(), f.Path)
		if err != nil {
			return res, fmt.Errorf("%s: %w", f.Path, err)
		}
		if digest(cur) != f.NewSHA {
			return res, fmt.Errorf("%s changed after run %s; nothing was reverted: restore it by hand from %s", f.Path, rec.ID, filepath.Join(abs, filepath.FromSlash(path.Join(dir, f.Backup))))
		}
		if !f.Created {
			b, err := readFile(run.FS(), f.Backup)
			if err != nil {
				return res, fmt.Errorf("backup of %s in /%s: %w", f.Path, dir, err)
			}
			if digest(b) != f.OldSHA {
				return res, fmt.Errorf("backup of %s in /%s does not match its recorded digest: nothing was reverted", f.Path, dir)
			}
			backups[f.Path] = b
		}
	}
	for _, f := range rec.Files {
		if f.Created {
			if err := d.Remove(fsName(f.Path)); err != nil {
				return res, fmt.Errorf("removing %s: %w", f.Path, err)
			}
		} else if err := d.WriteFile(fsName(f.Path), backups[f.Path], 0o644); err != nil {
			return res, fmt.Errorf("restoring %s: %w", f.Path, err)
		}
		res.Restored = append(res.Restored, f.Path)
	}
	t := time.Now().UTC()
	rec.Status, rec.Reverted = statusReverted, &t
	return res, saveRun(d, rec)
}
