package remedy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/internal/hostilefile"
	"github.com/ktriage/ktriage/internal/remedytest"
	"github.com/ktriage/ktriage/internal/testshared"
	"github.com/ktriage/ktriage/kb"
)

// The hostile-root suite (issue #9, item 5): a root is evidence a customer
// sent, so every file in it may be built to hurt. Each case builds one
// hostile root and runs one command (scan, plan, apply, revert or verify)
// on it, and asserts: a clean error naming the file (or the safe outcome the
// case documents), nothing written outside the root (a sibling directory is
// snapshot before and after), no hang (each case runs under a timeout) and
// bounded memory.

const (
	eth0  = "/" + ifcfgDir + "/ifcfg-eth0"
	runID = "20260101T000000.000000Z"
)

// hostileCase is one hostile root and what must come of running op on it.
type hostileCase struct {
	name string
	// make builds the hostile part of root; outside is the sibling
	// directory that must not change.
	make func(t *testing.T, root, outside string)
	op   func(root string) (string, error)
	// want is in the error, or in the output when ok.
	want string
	ok   bool
}

// Operations, each the library side of one ktriage remedy command.
func opScan(root string) (string, error) { _, err := Scan(root); return "", err }

func opApply(root string) (string, error) {
	h, err := Scan(root)
	if err != nil {
		return "", err
	}
	w, err := seedWorkaroundErr()
	if err != nil {
		return "", err
	}
	p, err := NewPlan(h, w, Options{})
	if err != nil {
		return "", err
	}
	res, err := Apply(context.Background(), h, p, ApplyOptions{})
	if res != nil && res.Run != nil {
		return "run " + res.Run.ID + " " + res.Run.Status, err
	}
	return "", err
}

func opRevert(id string) func(root string) (string, error) {
	return func(root string) (string, error) {
		res, err := Revert(root, id)
		if res == nil {
			return "", err
		}
		out := strings.Join(res.Skipped, "\n")
		if res.Run != nil {
			out += "\nreverted " + res.Run.ID + " " + strings.Join(res.Restored, " ")
		}
		return out, err
	}
}

func opVerifyLatest(root string) (string, error) {
	w, notes, err := LatestRunWorkaround(root)
	if err != nil {
		return strings.Join(notes, "\n"), err
	}
	return strings.Join(notes, "\n") + "\nworkaround " + w.EntryID, nil
}

// applied makes one real applied run under root and returns its id.
func applied(t *testing.T, root string) string {
	t.Helper()
	out, err := opApply(root)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return strings.Fields(out)[1]
}

// writeRun writes a crafted run record for run id.
func writeRunJSON(t *testing.T, root, id, body string) {
	t.Helper()
	dir := filepath.Join(root, runDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runFor is a record of one changed file with the digests that make revert
// go ahead: the file is as the run left it and the backup as recorded.
func runFor(id, file, backup string, old, cur []byte) string {
	return fmt.Sprintf(`{"id":%q,"status":"applied","files":[{"path":%q,"backup":%q,"old_sha256":%q,"new_sha256":%q}]}`, id, file, backup, digest(old), digest(cur))
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(link), 0o755)
	os.RemoveAll(link)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestHostileRoots(t *testing.T) {
	secret := []byte("root:x:0:0:secret\n")
	cases := []hostileCase{
		// Links out of the root at every component.
		{"config file links out (relative)", func(t *testing.T, root, out string) {
			rel, _ := filepath.Rel(filepath.Join(root, ifcfgDir), filepath.Join(out, "secret"))
			symlink(t, rel, filepath.Join(root, eth0))
		}, opApply, eth0 + ": links outside the root", false},
		{"config file links out (absolute: read under the root)", func(t *testing.T, root, out string) {
			symlink(t, filepath.Join(out, "secret"), filepath.Join(root, eth0))
		}, opApply, eth0, false},
		{"config directory links out", func(t *testing.T, root, out string) {
			os.WriteFile(filepath.Join(out, "ifcfg-eth0"), []byte("DEVICE=eth0\n"), 0o644)
			os.RemoveAll(filepath.Join(root, ifcfgDir))
			symlink(t, out, filepath.Join(root, ifcfgDir))
		}, opApply, "/" + ifcfgDir + ": links outside the root", false},
		{"etc links out", func(t *testing.T, root, out string) {
			os.RemoveAll(filepath.Join(root, "etc"))
			symlink(t, out, filepath.Join(root, "etc"))
		}, opApply, "links outside the root", false},
		{"state directory var/lib links out: apply", func(t *testing.T, root, out string) {
			symlink(t, out, filepath.Join(root, "var", "lib"))
		}, opApply, "/" + runDir + ": links outside the root", false},
		{"state directory var/lib links out: revert", func(t *testing.T, root, out string) {
			os.MkdirAll(filepath.Join(out, "ktriage/remedy", runID), 0o755)
			os.WriteFile(filepath.Join(out, "ktriage/remedy", runID, "run.json"), []byte(runFor(runID, eth0, "files"+eth0, secret, secret)), 0o644)
			symlink(t, out, filepath.Join(root, "var", "lib"))
		}, opRevert(""), "links outside the root", false},
		{"state directory var links out (absolute): verify", func(t *testing.T, root, out string) {
			symlink(t, out, filepath.Join(root, "var"))
		}, opVerifyLatest, "links outside the root", false},
		{"run directory's files link out", func(t *testing.T, root, out string) {
			id := applied(t, root)
			files := filepath.Join(root, runDir, id, "files")
			os.RemoveAll(files)
			symlink(t, out, files)
		}, opRevert(""), "links outside the root", false},

		// FIFOs and devices.
		{"config file is a FIFO", func(t *testing.T, root, out string) {
			os.Remove(filepath.Join(root, eth0))
			hostilefile.FIFO(t, filepath.Join(root, eth0))
		}, opApply, eth0 + ": not a regular file", false},
		{"run.json is a FIFO", func(t *testing.T, root, out string) {
			os.MkdirAll(filepath.Join(root, runDir, runID), 0o700)
			hostilefile.FIFO(t, filepath.Join(root, runDir, runID, "run.json"))
		}, opRevert(""), "/" + runDir + "/" + runID + "/run.json: not a regular file", false},
		{"backup links to the root's /dev/zero", func(t *testing.T, root, out string) {
			id := applied(t, root)
			hostilefile.Zero(t, filepath.Join(root, "dev", "zero"))
			symlink(t, "/dev/zero", filepath.Join(root, runDir, id, "files"+eth0))
		}, opRevert(""), "backup of " + eth0 + " in /" + runDir, false},
		{"config file links to /dev/zero", func(t *testing.T, root, out string) {
			symlink(t, "/dev/zero", filepath.Join(root, eth0))
		}, opScan, eth0 + ": openat dev/zero: no such file", false},

		// Crafted run records.
		{"run id climbs out", func(t *testing.T, root, out string) {
			writeRunJSON(t, root, runID, `{"id":"../../..","status":"applied","files":[]}`)
		}, opRevert(""), `names run "../../.."`, false},
		{"run directory not a run id", func(t *testing.T, root, out string) {
			writeRunJSON(t, root, "..x", `{"id":"..x","status":"applied","files":[]}`)
		}, opRevert(""), `"..x" is not a run id`, false},
		{"--run with a path", nil, opRevert("../../../etc"), "is not a run id", false},
		{"--run absolute", nil, opRevert("/etc"), "is not a run id", false},
		{"--run with a slash", nil, opRevert(runID + "/x"), "is not a run id", false},
		{"backup path climbs out", func(t *testing.T, root, out string) {
			cur, _ := os.ReadFile(filepath.Join(root, eth0))
			writeRunJSON(t, root, runID, runFor(runID, eth0, "files/../../../../../../"+filepath.Join(out, "secret"), secret, cur))
		}, opRevert(""), "lies outside the run's files directory", false},
		{"backup links elsewhere in the root", func(t *testing.T, root, out string) {
			// The link stays in the root but leaves the run's directory:
			// revert would copy another file of the root over eth0.
			cur, _ := os.ReadFile(filepath.Join(root, eth0))
			other := []byte("DEVICE=eth0\n# another file\n")
			os.WriteFile(filepath.Join(root, "etc", "other"), other, 0o644)
			writeRunJSON(t, root, runID, runFor(runID, eth0, "files"+eth0, other, cur))
			symlink(t, strings.Repeat("../", 9)+"etc/other", filepath.Join(root, runDir, runID, "files"+eth0))
		}, opRevert(""), "links outside the root", false},
		{"file path not clean", func(t *testing.T, root, out string) {
			cur, _ := os.ReadFile(filepath.Join(root, eth0))
			writeRunJSON(t, root, runID, runFor(runID, "/../../"+eth0, "files/../../"+eth0, secret, cur))
		}, opRevert(""), "not a clean absolute path", false},
		{"file outside apply's directories", func(t *testing.T, root, out string) {
			cur := []byte("root:x:0:0\n")
			os.WriteFile(filepath.Join(root, "etc", "shadow"), cur, 0o600)
			writeRunJSON(t, root, runID, runFor(runID, "/etc/shadow", "files/etc/shadow", []byte("root::0:0\n"), cur))
			os.MkdirAll(filepath.Join(root, runDir, runID, "files", "etc"), 0o700)
			os.WriteFile(filepath.Join(root, runDir, runID, "files", "etc", "shadow"), []byte("root::0:0\n"), 0o600)
		}, opRevert(""), "/etc/shadow is not in a directory apply writes to", false},
		{"unknown status", func(t *testing.T, root, out string) {
			writeRunJSON(t, root, runID, `{"id":"`+runID+`","status":"pwned","files":[]}`)
		}, opVerifyLatest, `unknown status "pwned"`, false},

		// Runs cut short: skipped, said, and the rest still work.
		{"run directory without run.json is skipped", func(t *testing.T, root, out string) {
			applied(t, root)
			os.MkdirAll(filepath.Join(root, runDir, "20990101T000000.000000Z", "files"), 0o700)
		}, opRevert(""), "skipped /" + runDir + "/20990101T000000.000000Z: no run record", true},
		{"run cut short while applying is skipped", func(t *testing.T, root, out string) {
			applied(t, root)
			writeRunJSON(t, root, "20990101T000000.000000Z", `{"id":"20990101T000000.000000Z","status":"applying","files":[]}`)
		}, opRevert(""), "the run was cut short", true},
		{"verify passes over a broken run", func(t *testing.T, root, out string) {
			applied(t, root)
			os.MkdirAll(filepath.Join(root, runDir, "20990101T000000.000000Z"), 0o700)
		}, opVerifyLatest, "workaround tcp-trim-head-skb-data-len", true},

		// Hostile interface names, one format each.
		{"ifcfg DEVICE climbs", func(t *testing.T, root, out string) {
			os.WriteFile(filepath.Join(root, eth0), []byte("DEVICE=../../../x\n"), 0o644)
		}, opApply, eth0 + ":1: DEVICE", false},
		{"bonding slave with a newline", func(t *testing.T, root, out string) {
			os.WriteFile(filepath.Join(root, bondingDir, "bond0"), []byte("Ethernet Channel Bonding Driver: v3\n\nSlave Interface: eth0 eth1\n"), 0o644)
		}, opApply, "/" + bondingDir + "/bond0:3: Slave Interface", false},
		{"sysfs interface named ..", func(t *testing.T, root, out string) {
			os.MkdirAll(filepath.Join(root, sysNetDir, "a b"), 0o755)
		}, opScan, "/" + sysNetDir + "/a b", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runHostile(t, "rhel6", c) })
	}
	// The other formats' names.
	for _, c := range []struct{ fixture, file, data, want string }{
		{"rhel8-nm", nmDir + "/bond0-port1.nmconnection", "[connection]\nid=p\ntype=ethernet\ninterface-name=../x\n", ":4: interface-name"},
		{"ubuntu-netplan", netplanDir + "/50-cloud-init.yaml", "network:\n  version: 2\n  ethernets:\n    \"eth0\\n[Link]\":\n      dhcp4: true\n", ":4: ethernets."},
		{"networkd", "etc/systemd/network/10-x.link", "[Match]\nOriginalName=eth0\n[Link]\nName=a/b\n", ":4: Name"},
	} {
		t.Run(c.fixture+" hostile name", func(t *testing.T) {
			runHostile(t, c.fixture, hostileCase{make: func(t *testing.T, root, out string) {
				os.MkdirAll(filepath.Join(root, filepath.Dir(c.file)), 0o755)
				os.WriteFile(filepath.Join(root, c.file), []byte(c.data), 0o644)
			}, op: opScan, want: "/" + c.file + c.want})
		})
	}
}

// runHostile builds the case's root beside an outside directory and runs
// it under the suite's four assertions.
func runHostile(t *testing.T, fixture string, c hostileCase) {
	root := remedytest.Root(t, fixture)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("root:x:0:0:secret\n"), 0o644)
	if c.make != nil {
		c.make(t, root, outside)
	}
	before := snapshot(t, outside)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	alloc := ms.TotalAlloc
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() { out, err := c.op(root); done <- result{out, err} }()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("hung")
	}
	runtime.ReadMemStats(&ms)
	if grew := ms.TotalAlloc - alloc; grew > 256<<20 {
		t.Errorf("allocated %d MiB", grew>>20)
	}
	switch {
	case c.ok && r.err != nil:
		t.Errorf("got %v, want success saying %q", r.err, c.want)
	case c.ok && !strings.Contains(r.out, c.want):
		t.Errorf("output %q, want %q", r.out, c.want)
	case !c.ok && (r.err == nil || !strings.Contains(r.err.Error(), c.want)):
		t.Errorf("got %v (output %q), want an error saying %q", r.err, r.out, c.want)
	}
	sameSnapshot(t, before, snapshot(t, outside))
	if fi, err := os.Lstat(filepath.Join(root, eth0)); err == nil && fi.Mode().IsRegular() {
		if b, _ := boundedio.ReadFile(filepath.Join(root, eth0), 1<<20); strings.Contains(string(b), "secret") {
			t.Error("a file outside the root was copied into it")
		}
	}
}

func seedWorkaroundErr() (*Workaround, error) {
	k, err := kb.Embedded()
	if err != nil {
		return nil, err
	}
	return LoadWorkaround("tcp-trim-head-skb-data-len", k)
}

// TestFullFilesystem: an apply on a full filesystem fails, says so, leaves
// no run directory that would break later reverts, and changes no file.
// It mounts a small tmpfs, so it needs root (as CI runs it).
func TestFullFilesystem(t *testing.T) {
	testshared.Require(t, os.Geteuid() == 0, "needs root to mount a tmpfs")
	mnt := t.TempDir()
	mount, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt).CombinedOutput()
	testshared.Require(t, err == nil, "mount tmpfs: %v: %s", err, mount)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	src := remedytest.Root(t, "rhel6")
	root := filepath.Join(mnt, "root")
	if out, err := exec.Command("cp", "-a", src, root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	// An applied run first, so that revert has something to do after.
	id := applied(t, root)
	if _, err := Revert(root, id); err != nil {
		t.Fatal(err)
	}
	// Fill the filesystem.
	f, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	before := snapshot(t, filepath.Join(root, "etc"))
	out, err := opApply(root)
	if err == nil || !strings.Contains(err.Error(), "apply failed") || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("apply on a full filesystem: %q, %v", out, err)
	}
	sameSnapshot(t, before, snapshot(t, filepath.Join(root, "etc")))
	// Later runs are not broken by what the failed one left.
	os.Remove(filepath.Join(mnt, "fill"))
	if _, skipped, err := Runs(root); err != nil || len(skipped) > 0 {
		t.Errorf("runs after a failed apply: %v, skipped %q", err, skipped)
	}
	if _, err := opApply(root); err != nil {
		t.Errorf("apply once there is room: %v", err)
	}
	if _, err := Revert(root, ""); err != nil {
		t.Errorf("revert after: %v", err)
	}
}

// TestConcurrentApplies: applies racing on one root take turns (the state
// directory's lock) and an apply whose plan another one overtook is
// refused with ErrChanged, naming the file, never written over it: with
// each refused apply planned and run again, as an operator would, every
// edit is in the file at the end, each run's backup is the file as the run
// before left it, and revert of every run in turn gives the original back.
// Before the lock, 7 of 30 tries lost an edit.
func TestConcurrentApplies(t *testing.T) {
	for _, same := range []bool{false, true} {
		t.Run(fmt.Sprintf("same entry %v", same), func(t *testing.T) {
			root := remedytest.Root(t, "rhel6")
			orig, _ := os.ReadFile(filepath.Join(root, eth0))
			outside := t.TempDir()
			before := snapshot(t, outside)
			feats := []string{"rx", "tx", "tso", "gso", "gro", "lro"}
			const n = 6
			errs := make(chan error, n)
			for i := range n {
				w := &Workaround{EntryID: fmt.Sprintf("entry-%d", i), Offload: kb.EthtoolOffload{Features: []string{feats[i]}, State: "off", Scope: kb.ScopeDevice}}
				if same {
					w = &Workaround{EntryID: "entry", Offload: kb.EthtoolOffload{Features: feats, State: "off", Scope: kb.ScopeDevice}}
				}
				go func() {
					for try := 0; ; try++ {
						h, err := Scan(root)
						if err != nil {
							errs <- err
							return
						}
						p, err := NewPlan(h, w, Options{Ifaces: []string{"eth0"}})
						if err != nil {
							errs <- err
							return
						}
						_, err = Apply(context.Background(), h, p, ApplyOptions{})
						if errors.Is(err, ErrChanged) && try < 100 {
							if !strings.Contains(err.Error(), eth0) {
								errs <- fmt.Errorf("refusal does not name the file: %w", err)
								return
							}
							continue
						}
						errs <- err
						return
					}
				}()
			}
			for range n {
				select {
				case err := <-errs:
					if err != nil {
						t.Error(err)
					}
				case <-time.After(60 * time.Second):
					t.Fatal("hung")
				}
			}
			got, _ := os.ReadFile(filepath.Join(root, eth0))
			for _, f := range feats {
				if !strings.Contains(string(got), " "+f+" off") {
					t.Errorf("the edit for %s was lost:\n%s", f, got)
				}
			}
			runs, skipped, err := Runs(root)
			if err != nil || len(skipped) > 0 {
				t.Fatalf("runs: %v %q", err, skipped)
			}
			want := 1
			if !same {
				want = n
			}
			if len(runs) != want {
				t.Errorf("%d runs, want %d", len(runs), want)
			}
			// The runs chain: each one's old content is the one before's
			// new, and its backup holds that content.
			prev := digest(orig)
			for _, r := range runs {
				f := r.Files[0]
				if f.OldSHA != prev {
					t.Errorf("run %s backed up content no run left", r.ID)
				}
				b, _ := os.ReadFile(filepath.Join(root, runDir, r.ID, f.Backup))
				if digest(b) != f.OldSHA {
					t.Errorf("run %s: backup does not match its digest", r.ID)
				}
				prev = f.NewSHA
			}
			if prev != digest(got) {
				t.Error("the file is not what the last run wrote")
			}
			for range runs {
				if _, err := Revert(root, ""); err != nil {
					t.Fatal(err)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(root, eth0)); string(b) != string(orig) {
				t.Errorf("reverting every run did not give the original back:\n%s", b)
			}
			sameSnapshot(t, before, snapshot(t, outside))
		})
	}
}
