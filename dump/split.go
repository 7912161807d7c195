package dump

import (
	"fmt"
	"sort"
)

// splitMemory serves a split dump: each part holds one page-frame range.
type splitMemory struct {
	parts []*kdumpMemory // sorted by startPFN, disjoint
}

func (s *splitMemory) part(pfn uint64) *kdumpMemory {
	i := sort.Search(len(s.parts), func(i int) bool { return s.parts[i].endPFN > pfn })
	if i < len(s.parts) && s.parts[i].startPFN <= pfn {
		return s.parts[i]
	}
	return nil
}

func (s *splitMemory) readAt(p []byte, paddr uint64) error {
	ps := uint64(s.parts[0].pageSize)
	m := s.part(paddr / ps)
	if m == nil {
		return &PageError{Addr: paddr, Kind: PageAbsent, Reason: fmt.Sprintf("page frame %d is in no part of the split dump", paddr/ps)}
	}
	return m.readAt(p, paddr)
}

func (s *splitMemory) pages(fn func(pfn uint64) bool) {
	stop := false
	for _, m := range s.parts {
		m.pages(func(pfn uint64) bool {
			if !fn(pfn) {
				stop = true
			}
			return !stop
		})
		if stop {
			return
		}
	}
}

func (s *splitMemory) close() {
	for _, m := range s.parts {
		m.close()
	}
}

// OpenSplit opens the parts of a split dump (makedumpfile --split writes
// one kdump-compressed file per page-frame range) as one dump. The parts
// may be given in any order; a single unsplit file opens as with Open.
func OpenSplit(paths ...string) (*Dump, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("OpenSplit: no files")
	}
	var ds []*Dump
	fail := func(err error) (*Dump, error) {
		for _, d := range ds {
			d.Close()
		}
		return nil, err
	}
	for _, p := range paths {
		d, err := Open(p)
		if err != nil {
			return fail(err)
		}
		ds = append(ds, d)
	}
	if len(ds) == 1 {
		return ds[0], nil
	}
	sm := &splitMemory{}
	for _, d := range ds {
		m, ok := d.mem.(*kdumpMemory)
		if !ok || !d.info.Split {
			return fail(&FormatError{File: d.name, Offset: -1, Msg: "not a part of a split kdump-compressed dump"})
		}
		if m.maxPFN != ds[0].mem.(*kdumpMemory).maxPFN || m.pageSize != ds[0].info.PageSize {
			return fail(&FormatError{File: d.name, Offset: -1, Msg: fmt.Sprintf("split part does not match %s (max_mapnr or page size differ)", ds[0].name)})
		}
		if why := otherCrash(ds[0], d); why != "" {
			return fail(&FormatError{File: d.name, Offset: -1, Msg: fmt.Sprintf("split part is not of the same crash as %s: %s", ds[0].name, why)})
		}
		sm.parts = append(sm.parts, m)
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].info.StartPFN < ds[j].info.StartPFN })
	sort.SliceStable(sm.parts, func(i, j int) bool { return sm.parts[i].startPFN < sm.parts[j].startPFN })
	for i := 1; i < len(sm.parts); i++ {
		if sm.parts[i].startPFN < sm.parts[i-1].endPFN {
			return fail(&FormatError{File: ds[i].name, Offset: -1, Msg: fmt.Sprintf("split part [%d, %d) overlaps %s", sm.parts[i].startPFN, sm.parts[i].endPFN, ds[i-1].name)})
		}
	}
	d := &Dump{name: ds[0].name, mem: sm, info: ds[0].info, vmcoreinfo: ds[0].vmcoreinfo}
	d.info.StartPFN, d.info.EndPFN = 0, d.info.MaxPFN
	d.info.Size = 0
	d.info.Warnings = nil
	// makedumpfile --split covers [0, max_mapnr) with its parts: a range
	// no part covers is a part not given, whose pages would otherwise
	// read as absent like pages the dump left out.
	gap := func(lo, hi uint64, where string) {
		d.info.Warnings = append(d.info.Warnings, fmt.Sprintf("%s: no part covers page frames [%d, %d) %s: a part of the split dump is missing", ds[0].name, lo, hi, where))
	}
	next := uint64(0)
	for i, m := range sm.parts {
		if m.startPFN > next {
			gap(next, m.startPFN, "before "+ds[i].name)
		}
		next = max(next, m.endPFN)
	}
	if next < d.info.MaxPFN {
		gap(next, d.info.MaxPFN, "after "+ds[len(ds)-1].name)
	}
	for _, p := range ds {
		d.info.Size += p.info.Size
		d.info.Warnings = append(d.info.Warnings, p.info.Warnings...)
		if d.vmcoreinfo == "" {
			d.vmcoreinfo = p.vmcoreinfo
		}
		d.closers = append(d.closers, p.closers...)
		p.closers = nil
	}
	return d, nil
}

// otherCrash says how part b shows it was written for another crash than
// part a (makedumpfile --split gives every part the same header and
// VMCOREINFO), or "" when nothing does: parts of two crashes mixed up in a
// directory must not be read as one dump.
func otherCrash(a, b *Dump) string {
	switch {
	case a.info.Release != b.info.Release:
		return fmt.Sprintf("kernel release %q, not %q", b.info.Release, a.info.Release)
	case a.info.Arch != b.info.Arch:
		return fmt.Sprintf("machine %q, not %q", b.info.Arch, a.info.Arch)
	case !a.info.CrashTime.Equal(b.info.CrashTime):
		return fmt.Sprintf("crash time %v, not %v", b.info.CrashTime, a.info.CrashTime)
	case a.vmcoreinfo != b.vmcoreinfo && a.vmcoreinfo != "" && b.vmcoreinfo != "":
		return "its VMCOREINFO differs"
	}
	return ""
}
