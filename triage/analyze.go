package triage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/fixindex"
	"github.com/ktriage/ktriage/internal/decompress"
	"github.com/ktriage/ktriage/kb"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/owner"
)

// Options tune Analyze.
type Options struct {
	// KB is the knowledge base to match against; nil means the embedded one.
	KB *kb.KB
	// Wrap, when set, wraps each file's reader (size bytes, 0 if unknown):
	// the command line shows progress through it on a terminal.
	Wrap func(path string, r io.Reader, size int64) io.Reader
	// Warn, when set, is told the problems that leave an input readable
	// (a dump's file cut short, a NUL in its VMCOREINFO), each naming
	// the file, for the command line to show; --json output is unchanged.
	Warn func(msg string)
	// Stdin is read for the path "-", as a log; nil reads nothing.
	Stdin io.Reader
	// MaxDecompressed bounds what a compressed input may decompress to
	// (decompress.DefaultLimit when 0).
	MaxDecompressed int64
	// Host reads the running host's evidence too (analyze --host): its
	// logs under /var/log, its kernels and its NICs' offloads.
	Host bool
	// Fixes, when set, is a fix index of the user's kernel tree: the
	// commits that quote a crash like a report's are named as possible
	// fixes.
	Fixes *fixindex.Index
}

// maxDumpDecompressed bounds what a dump compressed whole (vmcore.gz) may
// decompress to: it is spooled to a temporary file.
const maxDumpDecompressed = 64 << 30

// maxDirFiles bounds how many files of one directory tree are read.
const maxDirFiles = 2000

// Analyze reads every path (files and directories) and diagnoses what they
// show. It fails only when a path cannot be read; text that holds no crash
// gives no reports.
func Analyze(paths []string, opt Options) (*Diagnosis, error) {
	base := opt.KB
	if base == nil {
		var err error
		if base, err = kb.Embedded(); err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
	}
	d := &Diagnosis{Inputs: []Input{}, Reports: []*oops.Report{}, Findings: []checks.Finding{}, Matches: []Match{}, NextSteps: []string{}}
	if opt.Host {
		if err := analyzeHost(d, "/", opt, true); err != nil {
			return nil, err
		}
	}
	for _, p := range paths {
		if p == "-" {
			in := opt.Stdin
			if in == nil {
				in = bytes.NewReader(nil)
			}
			doc, err := analyzeStream(Stdin, in, nil, opt)
			if err != nil {
				return nil, err
			}
			d.Inputs = append(d.Inputs, doc.input)
			d.Reports = append(d.Reports, doc.reports...)
			d.addObjects(doc)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if st.IsDir() {
			if dirKind(p) == KindSosreport && d.host == nil {
				if err := analyzeHost(d, p, opt, false); err != nil {
					return nil, err
				}
				continue
			}
			if err := analyzeDir(d, p, opt); err != nil {
				return nil, err
			}
			continue
		}
		if st.Mode().IsRegular() && d.host == nil && isTarArchive(p, opt) {
			if err := analyzeHost(d, p, opt, false); err != nil {
				return nil, err
			}
			continue
		}
		doc, err := analyzeFile(p, opt)
		if err != nil {
			return nil, err
		}
		d.Inputs = append(d.Inputs, doc.input)
		d.Reports = append(d.Reports, doc.reports...)
		d.addObjects(doc)
	}
	match(d, base)
	finishHost(d, base)
	unmatched(d)
	if opt.Fixes != nil {
		possibleFixes(d, opt.Fixes)
	}
	nextSteps(d)
	return d, nil
}

// FromReports diagnoses reports assembled elsewhere (a netconsole stream,
// a fleet's ingest): they are matched to the knowledge base (the embedded
// one when k is nil) as analyze matches a log's.
func FromReports(reports []*oops.Report, k *kb.KB) (*Diagnosis, error) {
	if k == nil {
		var err error
		if k, err = kb.Embedded(); err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
	}
	d := &Diagnosis{Inputs: []Input{}, Reports: append([]*oops.Report{}, reports...), Findings: []checks.Finding{}, Matches: []Match{}, NextSteps: []string{}}
	match(d, k)
	unmatched(d)
	nextSteps(d)
	return d, nil
}

// unmatched lists the reports no entry matches at least likely, with the
// query a person would search for: the title, and the guilty function
// when the title does not name it.
func unmatched(d *Diagnosis) {
	known := map[int]bool{}
	for _, m := range d.Matches {
		if m.Confidence == kb.Likely.String() || m.Confidence == kb.Exact.String() {
			for _, i := range m.Reports {
				known[i] = true
			}
		}
	}
	for i, r := range d.Reports {
		if known[i] {
			continue
		}
		q := strconv.Quote(r.Title)
		if g := r.GuiltyFunction; g != nil && *g != "" && !strings.Contains(r.Title, *g) {
			q += " " + *g
		}
		d.Unmatched = append(d.Unmatched, Unmatched{Report: i, Query: q})
	}
}

// maxPossibleFixes bounds the candidate fixes shown per report.
const maxPossibleFixes = 3

// possibleFixes looks every report up in the fix index. Only commits that
// quote the report's title or blame its guilty function are kept: a
// shared frame or two is too common in a whole kernel tree to mean much.
func possibleFixes(d *Diagnosis, ix *fixindex.Index) {
	for i, r := range d.Reports {
		n := 0
		for _, c := range ix.LookupReport(r) {
			if c.Strength < fixindex.GuiltyMatch || n == maxPossibleFixes {
				continue
			}
			n++
			d.PossibleFixes = append(d.PossibleFixes, PossibleFix{Report: i, Commit: c.Commit.Hash, Subject: c.Commit.Subject,
				Release: c.Commit.Release, Strength: c.Strength.String(), Why: c.Why})
		}
	}
}

// document is what one file gives.
type document struct {
	input    Input
	reports  []*oops.Report
	release  string
	findings []checks.Finding
	owner    *owner.Owner
	next     []string
	vmcore   *Vmcore
}

// addNote adds what a note says to an input's note: one input may have
// several things cut.
func (in *Input) addNote(note string) {
	if in.Note != "" {
		in.Note += "; "
	}
	in.Note += note
}

// addObjects adds what the checks and the owner chain found in a document.
func (d *Diagnosis) addObjects(doc *document) {
	d.Findings = append(d.Findings, doc.findings...)
	if d.Owner == nil {
		d.Owner = doc.owner
	}
	if d.Vmcore == nil {
		d.Vmcore = doc.vmcore
	}
	for _, n := range doc.next {
		if !slices.Contains(d.NextSteps, n) {
			d.NextSteps = append(d.NextSteps, n)
		}
	}
}

func analyzeFile(path string, opt Options) (*document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return analyzeStream(path, f, st, opt)
}

// Stdin is the name analyze gives standard input, read for the path "-".
const Stdin = "standard input"

// analyzeStream reads one input from r, a file whose st is given, or nil
// for standard input. Nothing is read twice: a pipe (analyze <(journalctl
// -k), analyze -) reads as a file does.
func analyzeStream(path string, r io.Reader, st fs.FileInfo, opt Options) (*document, error) {
	head, err := readHead(r)
	if err != nil {
		return nil, fmt.Errorf("%s: offset 0: %w", path, err)
	}
	if kind := dump.Sniff(head); kind != "" {
		if st == nil || !st.Mode().IsRegular() && st.Mode()&fs.ModeDevice == 0 {
			return nil, fmt.Errorf("%s: offset 0: a %s dump must be read at random, from a file, not a pipe", path, kind)
		}
		return analyzeVmcore(path, opt.Warn)
	}
	// The head already read goes first.
	r = io.MultiReader(bytes.NewReader(head), r)
	if opt.Wrap != nil {
		size := int64(0)
		if st != nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		// Progress counts the bytes of the file, compressed or not.
		r = opt.Wrap(path, r, size)
	}
	if c := decompress.Sniff(head); c != "" {
		dr, err := decompress.NewReader(r, c, path, opt.MaxDecompressed)
		if err != nil {
			return nil, err
		}
		defer dr.Close()
		if head, err = readHead(dr); err != nil {
			return nil, err
		}
		r = io.MultiReader(bytes.NewReader(head), dr)
		if dump.Sniff(head) != "" {
			// A dump compressed whole is read at random once spooled
			// to a temporary file, under a limit of its own.
			limit := opt.MaxDecompressed
			if limit <= 0 {
				limit = maxDumpDecompressed
			}
			dr.SetLimit(limit)
			return analyzeVmcoreStream(path, r, opt.Warn)
		}
	}
	// A regular file that does not start as text is still read (a log
	// whose first blocks were zeroed by a crash), but a device or pipe
	// that streams binary data (/dev/zero named as a log) may never end.
	if why, utf16 := notText(head); why != "" && !utf16 && (st == nil || !st.Mode().IsRegular()) {
		return nil, fmt.Errorf("%s: offset 0: not text: %s; a stream or device that does not start as text is not read", path, why)
	}
	doc, err := scanDocument(path, r)
	if err != nil {
		return nil, err
	}
	if why, _ := notText(head); why != "" {
		doc.input.addNote("not text: " + why + "; read with its control bytes dropped")
	}
	return doc, nil
}

// readHead reads the first 4 KiB of r, or all of it when shorter.
func readHead(r io.Reader) ([]byte, error) {
	head := make([]byte, 4096)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// notText says why head is not the start of a text file, or "" when it is
// (or is empty), and whether it is UTF-16 text: such a file is still read,
// but the user learns that what it gave may not be all it holds.
func notText(head []byte) (why string, utf16 bool) {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return "it is UTF-16LE (byte-order mark FF FE); convert it with iconv -f UTF-16 -t UTF-8", true
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "it is UTF-16BE (byte-order mark FE FF); convert it with iconv -f UTF-16 -t UTF-8", true
	case len(head) == 0 || isText(head):
		return "", false
	}
	var nul [2]int
	bad := 0
	for i, c := range head {
		if c == 0 {
			nul[i%2]++
		}
		if isJunkByte(c) {
			bad++
		}
	}
	half := len(head) / 2
	switch {
	case nul[1] > half*9/10 && nul[0] < half/10:
		return "it looks like UTF-16LE without a byte-order mark (every second byte is NUL); convert it with iconv -f UTF-16LE -t UTF-8", true
	case nul[0] > half*9/10 && nul[1] < half/10:
		return "it looks like UTF-16BE without a byte-order mark (every second byte is NUL); convert it with iconv -f UTF-16BE -t UTF-8", true
	}
	return fmt.Sprintf("%d of its first %d bytes are control bytes (a binary file?)", bad, len(head)), false
}

// isJunkByte tells the control bytes isText counts.
func isJunkByte(c byte) bool {
	return c == 0 || c < 0x09 || (c > 0x0d && c < 0x20 && c != 0x1b)
}

// scanDocument reads one text document once, feeding each line to the oops
// scanner and to the crash(8) transcript scanner, and joins what they find.
func scanDocument(path string, r io.Reader) (*document, error) {
	sc := oops.NewScanner(path)
	cs := crashlog.NewScanner()
	prompts := 0
	session := false
	sc.OnLine = func(n int, line []byte) {
		// line is borrowed: it is looked at in place, and copied to a
		// string only where crash(8) output may start or has started.
		t := trimIndent(line)
		may := oops.MayStartCrashOutput(t)
		if may {
			if _, ok := oops.CrashPrompt(string(t)); ok {
				prompts++
			}
		}
		// Console logs hold no crash(8) output: the transcript parsers
		// start at the first line that crash(8) prints, and see every line
		// from there on.
		if !session {
			if !may || !oops.StartsCrashOutput(string(t)) {
				return
			}
			session = true
		}
		cs.Line(n, string(line))
	}
	// A compressed input cut short (copied while it was rotated, a
	// partial download) ends in io.ErrUnexpectedEOF: what came before the
	// cut is still evidence, so it is analyzed and the cut is noted.
	scanErr := sc.Scan(r)
	if scanErr != nil && !errors.Is(scanErr, io.ErrUnexpectedEOF) {
		return nil, scanErr
	}
	reps := sc.Finish()
	sess := cs.Finish()
	doc := &document{input: Input{Path: path, Kind: KindLog}, release: sc.Release()}
	if prompts > 0 || len(sess.Backtraces) > 0 || sess.Sys != nil {
		doc.input.Kind = KindCrashSession
	}
	if scanErr != nil {
		doc.input.addNote("it ends early, and was read up to the cut: " + strings.ReplaceAll(scanErr.Error(), path+": ", ""))
	}
	// Memory stays bounded by dropping the rest; the user must still
	// learn that what is shown is not all there was.
	if sess.Dropped > 0 {
		doc.input.addNote(fmt.Sprintf("only the first %d backtraces and %d sys blocks were read: %d more were not", crashlog.MaxBacktraces, crashlog.MaxSysBlocks, sess.Dropped))
	}
	if sc.Dropped > 0 {
		doc.input.addNote(fmt.Sprintf("lines longer than %d bytes, read only up to that length: %d", oops.MaxLine, sc.Dropped))
	}
	if sc.ReportsDropped > 0 {
		n := fmt.Sprintf("only the first %d distinct crash reports were kept: %d more were not", len(reps), sc.ReportsDropped)
		if sc.ReportsUntold > 0 {
			n += fmt.Sprintf(", nor %d further showings of crashes not told apart from them", sc.ReportsUntold)
		}
		doc.input.addNote(n)
	}
	doc.reports = join(path, reps, sess, doc.release)
	doc.findings, doc.owner, doc.next = objectFindings(sess, doc.reports)
	return doc, nil
}

// trimIndent drops the indentation of a pasted line: spaces, tabs and the
// no-break spaces web pages use (without TrimLeft's slow path for a
// non-ASCII cutset: this runs on every line).
func trimIndent(t []byte) []byte {
	for len(t) > 0 {
		switch {
		case t[0] == ' ' || t[0] == '\t':
			t = t[1:]
		case len(t) > 1 && t[0] == 0xc2 && t[1] == 0xa0:
			t = t[2:]
		default:
			return t
		}
	}
	return t
}

// isText tells text (kernel logs, transcripts, tickets in any script) from
// binary files found in a directory.
func isText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	bad := 0
	for _, c := range head {
		if isJunkByte(c) {
			bad++
		}
	}
	return bad*20 < len(head)
}

// analyzeDir reads the files of a directory tree as one body of evidence:
// a kdump directory's vmcore-dmesg.txt and vmcore, a sosreport's logs.
func analyzeDir(d *Diagnosis, dir string, opt Options) error {
	kind := dirKind(dir)
	var docs []*document
	count, unread := 0, 0
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if e.IsDir() {
			if p != dir && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			// A link to a file (a dump kept elsewhere) counts; a link to a
			// directory is not followed.
			st, err := os.Stat(p)
			if e.Type()&fs.ModeSymlink == 0 || err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		if kind == KindSosreport && !sosLogFile(dir, p) {
			return nil
		}
		if count >= maxDirFiles {
			unread++
			return nil
		}
		count++
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		head := make([]byte, 4096)
		n, _ := io.ReadFull(f, head)
		f.Close()
		head = head[:n]
		packed := decompress.Sniff(head) != ""
		if dump.Sniff(head) == "" && !packed && !isText(head) {
			return nil
		}
		doc, err := analyzeFile(p, opt)
		if err != nil && (dump.Sniff(head) != "" || packed) {
			// A dump or compressed file that cannot be read does not hide
			// the logs beside it.
			kind := KindLog
			if dump.Sniff(head) != "" {
				kind = KindVmcore
			}
			docs = append(docs, &document{input: Input{Path: p, Kind: kind, Note: err.Error()}})
			return nil
		}
		if err != nil {
			return err
		}
		if doc.input.Kind == KindLog && len(doc.reports) == 0 && doc.release == "" && !packed && !looksKernel(head) {
			return nil
		}
		docs = append(docs, doc)
		return nil
	})
	if err != nil {
		return err
	}
	in := Input{Path: dir, Kind: kind}
	if unread > 0 {
		in.addNote(fmt.Sprintf("only the first %d files were read: %d more were not", maxDirFiles, unread))
	}
	d.Inputs = append(d.Inputs, in)
	release := ""
	for _, doc := range docs {
		d.Inputs = append(d.Inputs, doc.input)
		d.addObjects(doc)
		if release == "" {
			release = doc.release
		}
		for _, r := range doc.reports {
			if r.Release != nil && release == "" {
				release = *r.Release
			}
		}
	}
	// Files of one directory describe one machine: the same crash in two of
	// them (vmcore-dmesg.txt and the console log) is one report, and a
	// release stated in one file holds for the others.
	seen := map[string]bool{}
	headed := false
	for _, doc := range docs {
		for _, r := range doc.reports {
			headed = headed || r.Header != ""
		}
	}
	for _, doc := range docs {
		for _, r := range doc.reports {
			if kind == KindKdumpDir && headed && r.Header == "" {
				// A bare crash(8) bt of the crash the logs beside it show.
				continue
			}
			key := r.Title + "\x00" + r.Signature + "\x00" + r.Header
			if kind == KindKdumpDir {
				// One kdump directory is one crash seen through several
				// files (vmcore-dmesg.txt, a console log, crash output):
				// the same title is the same report.
				key = r.Title
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			if r.Release == nil && release != "" {
				rel := release
				r.Release = &rel
			}
			d.Reports = append(d.Reports, r)
		}
	}
	return nil
}

func looksKernel(head []byte) bool {
	for _, m := range []string{"] ", "kernel:", "crash>", "Linux version", "Call Trace"} {
		if bytes.Contains(head, []byte(m)) {
			return true
		}
	}
	return false
}

// dirKind names a directory by what it holds.
func dirKind(dir string) InputKind {
	if st, err := os.Stat(filepath.Join(dir, "sos_commands")); err == nil && st.IsDir() {
		return KindSosreport
	}
	ents, err := os.ReadDir(dir)
	if err == nil {
		// A directory holding one unpacked sosreport folder.
		var sos []string
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), "sosreport-") {
				sos = append(sos, e.Name())
			}
		}
		if len(sos) == 1 {
			if st, err := os.Stat(filepath.Join(dir, sos[0], "sos_commands")); err == nil && st.IsDir() {
				return KindSosreport
			}
		}
	}
	if err == nil {
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, "vmcore") || strings.HasPrefix(n, "dmesg.") || strings.HasPrefix(n, "dump.") {
				return KindKdumpDir
			}
		}
	}
	return KindLog
}

// sosLogFile keeps the files of a sosreport that hold kernel messages.
func sosLogFile(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	rel = filepath.ToSlash(rel)
	for _, pre := range []string{"var/log/messages", "var/log/kern.log", "var/log/dmesg", "var/log/syslog", "sos_commands/kernel/dmesg", "var/crash/", "sos_commands/logs/journalctl_--no-pager_--boot", "sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1", "sos_commands/kdump/"} {
		if strings.HasPrefix(rel, pre) {
			return true
		}
	}
	return strings.Contains(rel, "journalctl") && strings.Contains(rel, "-k")
}

// join puts together what the oops and crash(8) scanners found in one
// document: a crash shown as an oops header and as a `bt` is one report; a
// `bt` whose crash the document shows no oops for becomes a report of its
// own, titled from the `sys` PANIC message.
func join(path string, reps []*oops.Report, sess *crashlog.Session, docRelease string) []*oops.Report {
	out := append([]*oops.Report(nil), reps...)
	var sys *crashlog.Sys
	if sess != nil {
		sys = sess.Sys
	}
	seen := map[string]bool{}
	if sess != nil {
		for _, bt := range sess.Backtraces {
			k := bt.Key()
			if seen[k] || (bt.Exception == nil && len(bt.Trace) == 0) {
				continue
			}
			seen[k] = true
			var rip *oops.Location
			if bt.Exception != nil {
				loc := bt.Exception.Location()
				rip = &loc
			}
			panicTask := sys != nil && (sys.Task == "" || bt.Task == "" || sys.Task == bt.Task)
			if rip == nil && !panicTask {
				// A sleeping task's bt is context, not a crash.
				continue
			}
			idx := -1
			for i, r := range out {
				if len(r.Frames) != 0 || r.RIP != nil {
					continue
				}
				if sys != nil && sys.Panic != "" && !sameCrashText(r.Header, sys.Panic) {
					continue
				}
				idx = i
				break
			}
			var r *oops.Report
			if idx >= 0 {
				r = oops.WithTrace(out[idx], rip, bt.Trace)
				if bt.Span.End > r.Source.EndLine {
					r.Source.EndLine = bt.Span.End
				}
			} else {
				header := ""
				if sys != nil && panicTask {
					header = sys.Panic
				}
				r = oops.FromTrace(header, rip, bt.Trace)
				r.Source = oops.Span{Path: path, StartLine: max(bt.Span.Start, 1), EndLine: max(bt.Span.End, bt.Span.Start, 1)}
			}
			if r.PID == nil {
				r.PID = bt.PID
			}
			if r.CPU == nil {
				r.CPU = bt.CPU
			}
			if r.Comm == nil && bt.Command != "" {
				c := bt.Command
				r.Comm = &c
			}
			if idx >= 0 {
				out[idx] = r
			} else {
				out = append(out, r)
			}
		}
	}
	release := docRelease
	if sys != nil && sys.Release != "" {
		release = sys.Release
	}
	for _, r := range out {
		if r.Release == nil && release != "" {
			rel := release
			r.Release = &rel
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Source.StartLine < out[j].Source.StartLine })
	return out
}

// sameCrashText tells whether an oops header and crash's PANIC message name
// the same crash.
func sameCrashText(header, panicMsg string) bool {
	h, p := strings.TrimSpace(header), strings.TrimSpace(panicMsg)
	if h == "" || p == "" {
		return false
	}
	return strings.Contains(h, p) || strings.Contains(p, h)
}

// match looks every report up in the knowledge base, one match per entry.
func match(d *Diagnosis, k *kb.KB) {
	byID := map[string]int{}
	best := map[string]kb.Confidence{}
	for i, r := range d.Reports {
		c := kb.CrashOf(r)
		for _, m := range k.Match(c) {
			e := m.Entry
			j, ok := byID[e.ID]
			if !ok {
				j = len(d.Matches)
				byID[e.ID] = j
				d.Matches = append(d.Matches, Match{ID: e.ID, Title: e.Title, Reports: []int{}, Verified: e.Verified,
					Evidence: []string{}, FixedIn: e.FixedIn, Workaround: e.Workaround, Summary: e.Summary, RootCause: e.RootCause.Text, RootCauseVerified: e.RootCause.Verified})
			}
			mm := &d.Matches[j]
			if m.Confidence > best[e.ID] {
				best[e.ID] = m.Confidence
				mm.Confidence, mm.Why = m.Confidence.String(), m.Why
			}
			mm.Reports = append(mm.Reports, i)
			for _, ev := range m.Evidence {
				mm.Evidence = append(mm.Evidence, fmt.Sprintf("report %d: %s", i, ev))
			}
		}
	}
	// Strongest first; the knowledge base's order among equals.
	sort.SliceStable(d.Matches, func(i, j int) bool { return best[d.Matches[i].ID] > best[d.Matches[j].ID] })
}

// nextSteps says what would complete the diagnosis.
func nextSteps(d *Diagnosis) {
	for _, r := range d.Reports {
		if r.Release == nil {
			d.NextSteps = append(d.NextSteps, "uname -r   # on the crashed host (or crash> sys): the release decides which known bugs apply")
			break
		}
	}
	for _, m := range d.Matches {
		if d.Host != nil {
			// The host section says which offloads are on.
			break
		}
		if w := m.Workaround; w != nil && w.EthtoolOffload != nil {
			scope := "each NIC"
			if w.EthtoolOffload.Scope == kb.ScopeBondSlaves {
				scope = "each bond slave (cat /proc/net/bonding/*)"
			}
			d.NextSteps = append(d.NextSteps, fmt.Sprintf("ethtool -k <nic>   # on %s: which of %s are on now (%s)",
				scope, strings.Join(w.EthtoolOffload.Features, ", "), m.ID))
		}
	}
}
