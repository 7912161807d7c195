package remedy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktriage/ktriage/internal/atomicfile"
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
	// Status is applying, applied, failed (rolled back) or reverted.
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

// Apply writes the plan's edits: it first checks that every file is still
// as planned, saves a backup of each into a new run directory with its
// run.json, then replaces each file atomically, undoing the ones already
// written if a later one fails. With no edits it writes nothing (no run).
// With opts.Now it then switches the features on the running interfaces.
func Apply(ctx context.Context, h *Host, p *Plan, opts ApplyOptions) (*ApplyResult, error) {
	res := &ApplyResult{}
	fsys, err := openRootFS(h.Root)
	if err != nil {
		return nil, err
	}
	defer fsys.r.Close()
	for _, e := range p.Edits {
		real := h.Real(e.Path)
		if err := confined(h.Root, real); err != nil {
			return nil, err
		}
		cur, err := fsys.readFile(path.Clean("/" + e.Path))
		switch {
		case e.Create && err == nil:
			return nil, fmt.Errorf("%s appeared after the plan was made; nothing was changed: run plan again", e.Path)
		case e.Create && errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		case !bytes.Equal(cur, e.Old):
			return nil, fmt.Errorf("%s changed after the plan was made; nothing was changed: run plan again", e.Path)
		}
	}
	if len(p.Edits) > 0 {
		if err := writeRun(h, p, opts, res); err != nil {
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

func writeRun(h *Host, p *Plan, opts ApplyOptions, res *ApplyResult) error {
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock
	}
	t := now().UTC()
	id := t.Format("20060102T150405.000000Z")
	base := h.Real("/" + RunDir)
	dir := filepath.Join(base, id)
	for i := 1; ; i++ {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			break
		}
		dir = filepath.Join(base, fmt.Sprintf("%s-%d", id, i))
	}
	id = filepath.Base(dir)
	if err := confined(h.Root, dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o700); err != nil {
		return fmt.Errorf("making the run directory: %w", err)
	}
	rec := &RunRecord{ID: id, Time: t, EntryID: p.EntryID, Offload: p.Offload, Interfaces: p.Interfaces, Status: "applying"}
	for _, e := range p.Edits {
		f := RunFile{Path: e.Path, Created: e.Create, NewSHA: digest(e.New)}
		if !e.Create {
			f.OldSHA = digest(e.Old)
			f.Backup = filepath.ToSlash(filepath.Join("files", filepath.FromSlash(strings.TrimPrefix(e.Path, "/"))))
			bp := filepath.Join(dir, filepath.FromSlash(f.Backup))
			if err := os.MkdirAll(filepath.Dir(bp), 0o700); err != nil {
				return fmt.Errorf("backing up %s: %w", e.Path, err)
			}
			if err := atomicfile.Write(bp, e.Old, 0o600); err != nil {
				return fmt.Errorf("backing up %s: %w", e.Path, err)
			}
		}
		rec.Files = append(rec.Files, f)
	}
	if err := saveRun(dir, rec); err != nil {
		return err
	}
	res.Run, res.RunDir = rec, dir
	var done []*Edit
	for _, e := range p.Edits {
		real := h.Real(e.Path)
		var err error
		if e.Create {
			if err = os.MkdirAll(filepath.Dir(real), 0o755); err == nil {
				err = atomicfile.Write(real, e.New, 0o644)
			}
		} else {
			err = atomicfile.Write(real, e.New, 0o644)
		}
		if err != nil {
			var undo []error
			for _, d := range done {
				if d.Create {
					undo = append(undo, os.Remove(h.Real(d.Path)))
				} else {
					undo = append(undo, atomicfile.Write(h.Real(d.Path), d.Old, 0o644))
				}
			}
			rec.Status = "failed"
			undo = append(undo, saveRun(dir, rec))
			if u := errors.Join(undo...); u != nil {
				return fmt.Errorf("writing %s: %w; undoing the files already written also failed (backups in %s): %w", e.Path, err, dir, u)
			}
			return fmt.Errorf("writing %s: %w (the files already written were restored)", e.Path, err)
		}
		done = append(done, e)
		res.Written = append(res.Written, e.Path)
	}
	rec.Status = "applied"
	return saveRun(dir, rec)
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func saveRun(dir string, rec *RunRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the run record: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "run.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the run record: %w", err)
	}
	return nil
}

// confined fails when p, with its directories' symbolic links resolved,
// lies outside root: remedy writes nothing outside the root it was given.
func confined(root, p string) error {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	dir := filepath.Dir(p)
	// The deepest existing ancestor decides.
	for {
		if _, err := os.Lstat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	rel, err := filepath.Rel(r, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s resolves to %s, outside the root %s: refusing to write there", p, d, r)
	}
	return nil
}

// Runs lists the apply runs recorded under the host's root, oldest first.
// The records are read under the root like the configuration (see Scan):
// no link out of it is followed and no record is read unbounded.
func Runs(root string) ([]*RunRecord, error) {
	fsys, err := openRootFS(root)
	if err != nil {
		return nil, err
	}
	defer fsys.r.Close()
	return fsys.runs()
}

// openRootFS opens root (made absolute) for reading under it.
func openRootFS(root string) (rootFS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return rootFS{}, fmt.Errorf("root %s: %w", root, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return rootFS{}, fmt.Errorf("root: %w", err)
	}
	return rootFS{r: r, abs: abs}, nil
}

func (fsys rootFS) runs() ([]*RunRecord, error) {
	base := "/" + RunDir
	ents, err := fsys.readDir(base)
	if err != nil {
		return nil, fmt.Errorf("listing runs in %s: %w", base, err)
	}
	var out []*RunRecord
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		f := base + "/" + e.Name() + "/run.json"
		b, err := fsys.readFile(f)
		if err != nil {
			return nil, fmt.Errorf("run %s: reading %s: %w", e.Name(), f, err)
		}
		var rec RunRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		// The directory names the run: an id in the record that differs
		// could point anywhere.
		if rec.ID != e.Name() {
			return nil, fmt.Errorf("%s: names run %q, not its directory's %q", f, rec.ID, e.Name())
		}
		out = append(out, &rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Revert restores the files of one apply run (the latest applied one when
// id is empty) from its backups and removes the files it created. A file
// changed since that run is not overwritten: Revert refuses, touching
// nothing, and names it. Everything it reads and writes is under the root.
func Revert(root, id string) (*RunRecord, []string, error) {
	fsys, err := openRootFS(root)
	if err != nil {
		return nil, nil, err
	}
	defer fsys.r.Close()
	abs := fsys.abs
	h := &Host{Root: abs}
	runs, err := fsys.runs()
	if err != nil {
		return nil, nil, err
	}
	var rec *RunRecord
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if (id == "" && r.Status == "applied") || r.ID == id {
			rec = r
			break
		}
	}
	if rec == nil {
		if id != "" {
			return nil, nil, fmt.Errorf("no run %s under %s", id, filepath.Join(abs, RunDir))
		}
		return nil, nil, fmt.Errorf("no applied run to revert under %s", filepath.Join(abs, RunDir))
	}
	if rec.Status != "applied" {
		return nil, nil, fmt.Errorf("run %s is %s, not applied: nothing to revert", rec.ID, rec.Status)
	}
	dir := filepath.Join(abs, filepath.FromSlash(RunDir), rec.ID)
	if err := confined(abs, filepath.Join(dir, "run.json")); err != nil {
		return nil, nil, err
	}
	backups := map[string][]byte{}
	for _, f := range rec.Files {
		real := h.Real(f.Path)
		if err := confined(abs, real); err != nil {
			return nil, nil, err
		}
		cur, err := fsys.readFile(path.Clean("/" + f.Path))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if digest(cur) != f.NewSHA {
			return nil, nil, fmt.Errorf("%s changed after run %s; nothing was reverted: restore it by hand from %s", f.Path, rec.ID, filepath.Join(dir, filepath.FromSlash(f.Backup)))
		}
		if !f.Created {
			bp := path.Join("/", RunDir, rec.ID, f.Backup)
			if !strings.HasPrefix(bp, path.Join("/", RunDir, rec.ID, "files")+"/") {
				return nil, nil, fmt.Errorf("backup of %s: %q lies outside the run's files directory: nothing was reverted", f.Path, f.Backup)
			}
			b, err := fsys.readFile(bp)
			if err != nil {
				return nil, nil, fmt.Errorf("backup of %s: %w", f.Path, err)
			}
			if digest(b) != f.OldSHA {
				return nil, nil, fmt.Errorf("backup of %s in %s does not match its recorded digest: nothing was reverted", f.Path, dir)
			}
			backups[f.Path] = b
		}
	}
	var restored []string
	for _, f := range rec.Files {
		real := h.Real(f.Path)
		if f.Created {
			if err := os.Remove(real); err != nil {
				return rec, restored, fmt.Errorf("removing %s: %w", f.Path, err)
			}
		} else if err := atomicfile.Write(real, backups[f.Path], 0o644); err != nil {
			return rec, restored, fmt.Errorf("restoring %s: %w", f.Path, err)
		}
		restored = append(restored, f.Path)
	}
	t := time.Now().UTC()
	rec.Status, rec.Reverted = "reverted", &t
	return rec, restored, saveRun(dir, rec)
}
