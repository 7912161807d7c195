package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ktriage/ktriage/history"
	"github.com/ktriage/ktriage/hostfacts"
	"github.com/ktriage/ktriage/hostroot"
	"github.com/ktriage/ktriage/internal/decompress"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/remedy"
)

// Host is what a whole host's evidence says beside its crashes (JSON
// "host"): a sosreport's, unpacked or in its archive, or the running
// host's (analyze --host).
type Host struct {
	// Source is "sosreport" (a directory), "sosreport-archive" or
	// "live"; Path is what was read.
	Source   string `json:"source"`
	Path     string `json:"path"`
	Hostname string `json:"hostname,omitempty"`
	Distro   string `json:"distro,omitempty"`
	// Running is the running kernel's release (uname -r).
	Running string `json:"running_kernel,omitempty"`
	// Installed are the installed kernel packages.
	Installed []HostKernel `json:"installed_kernels"`
	// Crashes are the host's crashes, one per crash on one boot however
	// many logs show it, in time order.
	Crashes []HostCrash `json:"crashes"`
	// Buckets group the crashes by signature.
	Buckets []HostBucket `json:"buckets"`
	// KnownBugs say, per matched knowledge-base entry, which kernels are
	// affected and whether the workaround is in force.
	KnownBugs []HostBug `json:"known_bugs"`
	// Notes are what could not be read.
	Notes []string `json:"notes,omitempty"`
}

// HostKernel is an installed kernel package.
type HostKernel struct {
	Release string `json:"release,omitempty"`
	Package string `json:"package"`
	Version string `json:"version"`
	Running bool   `json:"running"`
}

// HostCrash is one crash on one boot.
type HostCrash struct {
	// Time is the wall clock of its first showing (RFC 3339, UTC as the
	// logs state it); empty when no log dates it.
	Time string `json:"time,omitempty"`
	// Boot is when the crashed boot began, when a log gives both clocks.
	Boot   string   `json:"boot,omitempty"`
	Uptime *float64 `json:"uptime,omitempty"`
	Title  string   `json:"title"`
	// Signature is the bucket key (oops.Signature).
	Signature string `json:"signature"`
	// Reports are the indexes of the diagnosis' reports this crash is,
	// Logs the files that show it.
	Reports []int    `json:"reports"`
	Logs    []string `json:"logs"`
}

// HostBucket is every crash of one signature on the host.
type HostBucket struct {
	Title     string `json:"title"`
	Signature string `json:"signature"`
	Count     int    `json:"count"`
	First     string `json:"first,omitempty"`
	Last      string `json:"last,omitempty"`
	// Crashes are indexes into Host.Crashes.
	Crashes []int `json:"crashes"`
}

// HostBug is a matched knowledge-base entry on this host.
type HostBug struct {
	ID string `json:"id"`
	// Running says whether the running kernel is in the affected ranges.
	Running *Exposure `json:"running_kernel,omitempty"`
	// Installed says it of each installed kernel.
	Installed []Exposure `json:"installed_kernels"`
	// Workaround is the state of the entry's workaround, when it has one
	// remedy carries out.
	Workaround *WorkaroundState `json:"workaround,omitempty"`
}

// Exposure is whether one kernel is affected. Affected is null when the
// ranges could not tell.
type Exposure struct {
	Release  string `json:"release"`
	Affected *bool  `json:"affected"`
	Why      string `json:"why"`
}

// WorkaroundState is whether a workaround is in force on the host now and
// after a reboot, per interface, with the change that would make it so.
type WorkaroundState struct {
	// Now and Persistent are "yes", "no", "partial" or "unknown" over all
	// interfaces the workaround names.
	Now        string           `json:"now"`
	Persistent string           `json:"persistent"`
	Interfaces []InterfaceState `json:"interfaces"`
	// Plan is the change to the host's configuration files, as a
	// unified diff; empty when none is needed.
	Plan string `json:"plan,omitempty"`
	// Error says why the state could not be read.
	Error string `json:"error,omitempty"`
}

// InterfaceState is remedy's verdict for one interface.
type InterfaceState struct {
	Iface      string `json:"iface"`
	Now        string `json:"now"`
	NowDetail  string `json:"now_detail,omitempty"`
	Boot       string `json:"boot"`
	BootDetail string `json:"boot_detail,omitempty"`
}

// hostState is what analyze keeps of a host until the reports are matched.
type hostState struct {
	host      *Host
	facts     *hostfacts.Facts
	root      *hostroot.Root // nil for the live host
	label     string
	sightings []history.Sighting
	closer    io.Closer
}

// close releases the host's root.
func (st *hostState) close() {
	if st.closer != nil {
		st.closer.Close()
		st.closer = nil
	}
}

// isTarArchive tells whether the file at p is a tar archive, plain or
// compressed (a sosreport's .tar.xz): the ustar magic of its first header,
// read through its decompressor.
func isTarArchive(p string, opt Options) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var r io.Reader = f
	head := make([]byte, 512)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	if c := decompress.Sniff(head); c != "" {
		dr, err := decompress.NewReader(io.MultiReader(bytes.NewReader(head), f), c, p, 1<<20)
		if err != nil {
			return false
		}
		defer dr.Close()
		head = make([]byte, 512)
		n, err = io.ReadFull(dr, head)
		head = head[:n]
		if err != nil && n < 263 {
			// Too damaged to show its first header: a name that says
			// tar is believed, and hostroot says what is wrong.
			b := strings.ToLower(filepath.Base(p))
			return strings.Contains(b, ".tar.") || strings.HasSuffix(b, ".tgz")
		}
	}
	return len(head) >= 263 && string(head[257:262]) == "ustar"
}

// analyzeHost reads a sosreport (a directory or its archive) or, with live,
// the running host: every log it holds, once, streamed, and its facts.
func analyzeHost(d *Diagnosis, p string, opt Options, live bool) error {
	st := &hostState{label: p}
	var docs []*document
	var logs []string
	stream := func(name string, info hostroot.Member, r io.Reader) error {
		shown := path.Join(p, name)
		doc, err := analyzeStream(shown, r, nil, opt)
		if err != nil {
			// A log that cannot be read whole is an archive cut short
			// or corrupt: hostroot names where.
			return err
		}
		docs = append(docs, doc)
		logs = append(logs, name)
		return nil
	}
	root, err := hostroot.Open(p, hostroot.Options{Stream: stream})
	if err != nil {
		if strings.Contains(err.Error(), p) {
			return err // hostroot names the archive and where
		}
		return fmt.Errorf("%s: %w", p, err)
	}
	// The root stays open for finishHost, which reads the host's network
	// configuration through it once the reports are matched.
	keep := false
	defer func() {
		if !keep {
			root.Close()
		}
	}()
	kind := KindSosreport
	src := "sosreport"
	if root.Kind == hostroot.Archive {
		src = "sosreport-archive"
	}
	var facts *hostfacts.Facts
	if live {
		src = "live"
		facts, err = hostfacts.Live()
	} else {
		// Modification times are not trusted for the year of a log's
		// lines: an archive made from a copy has the copy's. A rotated
		// file's name, a crash directory's, or the report's own date
		// give it.
		facts, err = hostfacts.ReadWith(root, hostfacts.Options{TopName: root.Top})
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	st.facts = facts
	st.closer = root
	if !live {
		st.root = root
	}
	h := &Host{Source: src, Path: p, Hostname: facts.Hostname, Distro: facts.Distro.Name, Running: facts.Uname.Release,
		Installed: []HostKernel{}, Crashes: []HostCrash{}, Buckets: []HostBucket{}, KnownBugs: []HostBug{}}
	for _, k := range facts.Kernels {
		h.Installed = append(h.Installed, HostKernel{Release: k.Release, Package: k.Package, Version: k.Version, Running: k.Running})
	}
	for _, e := range facts.Problems {
		h.Notes = append(h.Notes, e.Error())
	}
	for _, s := range root.Skipped {
		if hostroot.DefaultLogs(s.Name) {
			h.Notes = append(h.Notes, fmt.Sprintf("%s: not read (%s)", s.Name, s.Reason))
		}
	}
	st.host = h
	d.Inputs = append(d.Inputs, Input{Path: p, Kind: kind})
	years := map[string]int{}
	for _, l := range facts.Logs {
		years[l.Name] = l.Year
	}
	// Reports: one per crash text across the logs, as for a directory;
	// every showing of each stays a sighting for the history.
	seen := map[string]int{}
	for i, doc := range docs {
		d.Inputs = append(d.Inputs, doc.input)
		d.addObjects(doc)
		log := logs[i]
		for _, r := range doc.reports {
			if r.Release == nil && facts.Uname.Release != "" && live {
				rel := facts.Uname.Release
				r.Release = &rel
			}
			key := r.Title + "\x00" + r.Signature + "\x00" + r.Header
			j, ok := seen[key]
			if !ok {
				j = len(d.Reports)
				seen[key] = j
				d.Reports = append(d.Reports, r)
			}
			for _, c := range r.Clocks() {
				st.sightings = append(st.sightings, sighting(j, log, r, c, years[log]))
			}
		}
	}
	d.host = st
	keep = true
	return nil
}

// crashDirRe reads the crash time kdump names its directory by:
// var/crash/127.0.0.1-2015-09-23-03:12:44/.
var _ = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})-(\d{2}):(\d{2}):(\d{2})`)

// sighting places one showing of a report for the history.
func sighting(report int, log string, r *oops.Report, c oops.Showing, year int) history.Sighting {
	s := history.Sighting{Report: report, Log: log, Title: r.Title, Signature: r.Signature, Uptime: -1}
	if c.Time != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(c.Time), 64); err == nil {
			s.Uptime = f
		}
	}
	if c.Wall != "" {
		if year == 0 {
			year = time.Now().Year()
		}
		if t, ok := oops.ParseWall(c.Wall, year, time.UTC); ok {
			s.Wall = t
		}
	}
	return s
}

// finishHost completes the host section once the reports are matched: the
// crash history, and per matched entry the kernels it affects and the state
// of its workaround.
func finishHost(d *Diagnosis, k *kb.KB) {
	st := d.host
	if st == nil {
		return
	}
	defer st.close()
	h := st.host
	events, buckets := history.Build(st.sightings)
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, e := range events {
		c := HostCrash{Time: stamp(e.Time), Boot: stamp(e.Boot), Title: e.Title, Signature: e.Signature, Reports: uniq(e.Reports), Logs: e.Logs}
		if e.Uptime >= 0 {
			u := e.Uptime
			c.Uptime = &u
		}
		h.Crashes = append(h.Crashes, c)
	}
	for _, b := range buckets {
		h.Buckets = append(h.Buckets, HostBucket{Title: b.Title, Signature: b.Signature, Count: b.Count, First: stamp(b.First), Last: stamp(b.Last), Crashes: b.Events})
	}
	var rh *remedy.Host
	var rhErr error
	hostRead := false
	for _, m := range d.Matches {
		e := k.Get(m.ID)
		if e == nil {
			continue
		}
		hb := HostBug{ID: m.ID, Installed: []Exposure{}}
		runPkg := ""
		if rk, ok := st.facts.RunningKernel(); ok && rk.Scheme == hostfacts.SchemeDeb {
			runPkg = rk.Version
		}
		if h.Running != "" {
			x := exposure(e, h.Running, runPkg)
			hb.Running = &x
		}
		for _, kk := range st.facts.Kernels {
			pkg := ""
			if kk.Scheme == hostfacts.SchemeDeb {
				pkg = kk.Version
			}
			rel := kk.Release
			if rel == "" {
				rel = kk.Version
			}
			hb.Installed = append(hb.Installed, exposure(e, rel, pkg))
		}
		if w := e.Workaround; w != nil && w.EthtoolOffload != nil {
			if !hostRead {
				hostRead = true
				if st.root != nil {
					rh, rhErr = remedy.ScanFS(st.root, st.label)
				} else {
					rh, rhErr = remedy.Scan("/")
				}
			}
			hb.Workaround = workaroundState(rh, rhErr, &remedy.Workaround{EntryID: e.ID, Offload: *w.EthtoolOffload})
		}
		h.KnownBugs = append(h.KnownBugs, hb)
	}
	d.Host = h
}

func uniq(xs []int) []int {
	out := []int{}
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func exposure(e *kb.Entry, release, pkg string) Exposure {
	a := e.Affects(release, pkg)
	x := Exposure{Release: release, Why: a.Why}
	if a.Known {
		v := a.Affected
		x.Affected = &v
	}
	return x
}

// workaroundState asks remedy whether the workaround is in force now (the
// ethtool -k outputs the sosreport kept, or the live interfaces) and after
// a reboot (the configuration files), and for the change that would make it.
func workaroundState(h *remedy.Host, scanErr error, w *remedy.Workaround) *WorkaroundState {
	ws := &WorkaroundState{Now: "unknown", Persistent: "unknown", Interfaces: []InterfaceState{}}
	if scanErr != nil {
		ws.Error = scanErr.Error()
		return ws
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := remedy.Verify(ctx, h, w, remedy.VerifyOptions{})
	if err != nil {
		ws.Error = err.Error()
	}
	var nows, boots []string
	for _, s := range v {
		ws.Interfaces = append(ws.Interfaces, InterfaceState{Iface: s.Iface, Now: s.Now, NowDetail: s.NowDetail, Boot: s.Boot, BootDetail: s.BootDetail})
		nows = append(nows, s.Now)
		boots = append(boots, s.Boot)
	}
	ws.Now, ws.Persistent = overall(nows), overall(boots)
	if p, err := remedy.NewPlan(h, w, remedy.Options{}); err != nil {
		var ce *remedy.ConflictError
		if errors.As(err, &ce) || ws.Error == "" {
			ws.Error = err.Error()
		}
	} else {
		ws.Plan = p.Diff()
	}
	return ws
}

// overall sums per-interface states: "no" if any is, "yes" if all are,
// "partial" if all are yes or partial, "unknown" otherwise.
func overall(states []string) string {
	if len(states) == 0 {
		return "unknown"
	}
	sort.Strings(states)
	all := func(ok ...string) bool {
		for _, s := range states {
			found := false
			for _, o := range ok {
				found = found || s == o
			}
			if !found {
				return false
			}
		}
		return true
	}
	switch {
	case slices.Contains(states, "no"):
		return "no"
	case all("yes"):
		return "yes"
	case all("yes", "partial"):
		return "partial"
	}
	return "unknown"
}
