package triage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ktriage/ktriage/backtrace"
	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/livecheck"
	"github.com/ktriage/ktriage/oops"
)

// OpenVmcore opens a memory dump and the kernel in it: the dump's own
// VMCOREINFO is all it needs, no debuginfo.
func OpenVmcore(path string) (*dump.Dump, *kernel.Kernel, error) {
	d, err := dump.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return kernelOf(d, path)
}

func kernelOf(d *dump.Dump, path string) (*dump.Dump, *kernel.Kernel, error) {
	info, err := d.RequireVMCOREINFO()
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	k, err := kernel.New(d, info)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, k, nil
}

// OpenVmcoreStream opens a flattened dump read from r (standard input):
// it is indexed once into a temporary file.
func OpenVmcoreStream(r io.Reader, name string) (*dump.Dump, *kernel.Kernel, error) {
	d, err := dump.OpenFlattened(r, name, "")
	if err != nil {
		return nil, nil, err
	}
	return kernelOf(d, name)
}

// analyzeVmcore reads a dump's kernel log and analyzes it as the document
// the dump holds; the reports name the dump as their source, with line
// numbers of its log as `ktriage dmesg` prints it.
func analyzeVmcore(path string, warn func(string)) (*document, error) {
	d, k, err := OpenVmcore(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return analyzeDump(path, d, k, warn)
}

// analyzeVmcoreStream is analyzeVmcore for a dump read as a stream (one
// that was compressed as a whole): it is spooled once to a temporary file.
func analyzeVmcoreStream(path string, r io.Reader, warn func(string)) (*document, error) {
	d, k, err := OpenVmcoreStream(r, path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return analyzeDump(path, d, k, warn)
}

// analyzeDump analyzes the kernel log of an open dump. Its readers'
// warnings go to warn (the command line's stderr) as well as into the
// input's note (the diagnosis).
func analyzeDump(path string, d *dump.Dump, k *kernel.Kernel, warn func(string)) (*document, error) {
	if warn != nil {
		for _, w := range d.Info().Warnings {
			warn(w)
		}
	}
	var log bytes.Buffer
	// A log with no record is still a dump to describe (release, CPUs,
	// crash time): it is noted below, not a failure of the analysis.
	// A log that cannot be read (a corrupt prb) is said, as an empty
	// one is: the dump's memory and its description still stand.
	logErr := k.Dmesg(&log)
	if errors.Is(logErr, kernel.ErrEmptyLog) {
		logErr = nil
	}
	empty := log.Len() == 0 && logErr == nil
	doc, err := scanDocument(path, &log)
	if err != nil {
		return nil, err
	}
	doc.input.Kind = KindVmcore
	// What the dump's readers found wrong (a truncated file, a missing
	// part) and an empty log are said, as vmcore info says them: the
	// diagnosis may lack what the dump lost.
	for _, w := range d.Info().Warnings {
		doc.input.addNote(strings.TrimPrefix(w, path+": "))
	}
	if logErr != nil {
		doc.input.addNote(fmt.Sprintf("its kernel log could not be read whole (%v): the diagnosis may lack the crash's report", logErr))
	}
	if empty {
		doc.input.addNote("its kernel log holds no record: the printk ring may be corrupt or overwritten (ktriage vmcore info names the log's layout)")
	}
	doc.vmcore = vmcoreSection(d, k)
	if doc.vmcore.PanicCPU == nil {
		// The container does not say; the crash's own report does.
		for _, r := range doc.reports {
			if r.CPU != nil {
				c := *r.CPU
				doc.vmcore.PanicCPU = &c
				break
			}
		}
	}
	memoryObjects(d, k, doc)
	for _, r := range doc.reports {
		if r.Release == nil && k.Release() != "" {
			rel := k.Release()
			r.Release = &rel
		}
	}
	return doc, nil
}

// vmcoreSection is the JSON contract's `vmcore`.
func vmcoreSection(d *dump.Dump, k *kernel.Kernel) *Vmcore {
	in := d.Info()
	v := &Vmcore{Format: string(in.Format)}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	num := func(n int) *int {
		if n <= 0 {
			return nil
		}
		return &n
	}
	v.Compression = str(string(in.Compression))
	rel := in.Release
	if rel == "" && k != nil {
		rel = k.Release()
	}
	v.Release = str(rel)
	v.Arch = str(in.Arch)
	v.PageSize = num(in.PageSize)
	v.CPUs = num(in.CPUs)
	if !in.CrashTime.IsZero() {
		v.CrashTime = str(in.CrashTime.UTC().Format(time.RFC3339))
	}
	if in.PanicCPU >= 0 {
		c := in.PanicCPU
		v.PanicCPU = &c
	}
	return v
}

// maxMemoryNotes bounds the notes of what memory reads failed: the first
// few say what is missing; a dump that lost much says so in its warnings.
const maxMemoryNotes = 3

// memoryObjects searches the dump's memory for corrupt objects the crashing
// context holds (the registers of the crashing CPU and its task's stack),
// checks them, and follows a corrupt one to its owner: the findings and
// owner a crash(8) transcript would give, from the dump alone. What stops
// it (no BTF, no CPU notes) is a note on the input, never a failure of
// the analysis: the log's diagnosis stands without it.
func memoryObjects(d *dump.Dump, k *kernel.Kernel, doc *document) {
	in := livecheck.Input{Release: k.Release(), PageSize: d.Info().PageSize}
	for _, n := range d.PRStatus() {
		in.CPUs = append(in.CPUs, livecheck.CPUState{CPU: n.CPU, PID: n.PID, Regs: n.Regs})
	}
	// The crashing task and CPU by the one rule ktriage crash's bt uses:
	// panic_cpu, the report's CPU and PID, and the notes, agreeing.
	v := kview.New(k)
	lc := backtrace.LogContext{CPU: -1, PID: -1}
	r := crashingReport(doc.reports)
	if r != nil {
		in.PID, in.CPU = r.PID, r.CPU
		if r.CPU != nil {
			lc.CPU = *r.CPU
		}
		if r.PID != nil {
			lc.PID = *r.PID
		}
	}
	if p, err := backtrace.New(v, d.PRStatus()).FindPanic(lc); err == nil {
		cpu, pid := p.CPU, p.PID
		in.CPU, in.PID = &cpu, &pid
		for _, dis := range p.Disagreements {
			doc.input.addNote("the panic task's witnesses disagree: " + dis)
		}
	}
	res, err := livecheck.Run(v, in)
	if err != nil {
		doc.input.addNote("its memory was not searched for corrupt objects: " + err.Error())
		return
	}
	doc.findings = append(doc.findings, res.Findings...)
	if doc.owner == nil {
		doc.owner = res.Owner
	}
	for i, n := range res.Notes {
		if i == maxMemoryNotes {
			doc.input.addNote(fmt.Sprintf("and %d more reads of memory failed", len(res.Notes)-i))
			break
		}
		doc.input.addNote("in memory, " + n)
	}
}

// crashingReport is the report that took the kernel down: the one a panic
// followed, else the last that names its task.
func crashingReport(reps []*oops.Report) *oops.Report {
	var last *oops.Report
	for _, r := range reps {
		if r.Panicked && (r.PID != nil || r.CPU != nil) {
			return r
		}
		if r.PID != nil || r.CPU != nil {
			last = r
		}
	}
	return last
}
