package oops

import (
	"regexp"
	"slices"
	"strings"
)

// altFamily gives the alternative title of the reports whose title, up to
// the guilty function, matches pre: alt followed by the function. The pairs
// are the `fmt` and `alt` templates of the oops formats of google/syzkaller
// pkg/report/linux.go at 1e72964b0111319984575e60f266d1fa0a98abb5, which
// bucket one bug seen as different kinds of report ("bad-access in f" for a
// KASAN report and a general protection fault in f) together.
type altFamily struct {
	pre *regexp.Regexp // the title before the function, " in " included
	alt string         // "" when the format has no alternative title
}

// altFamilies is the table, built on first use (loadTables).
var altFamilies []altFamily

func altFamilyTable() []altFamily {
	return []altFamily{
		{re(`^KASAN: [a-z\-]+ (?:Read|Write) in $`), "bad-access in "},
		{re(`^KASAN: invalid-free in $`), "invalid-free in "},
		// The usb infoleak's alternative names the origin's frame, a
		// second stack this parser does not title by.
		{re(`^KMSAN: kernel-usb-infoleak in $`), ""},
		{re(`^KMSAN: [a-z\-]+ in $`), "bad-access in "},
		{re(`^KFENCE: (?:use-after-free|out-of-bounds) (?:read|write) in $`), "bad-access in "},
		{re(`^KFENCE: invalid free in $`), "invalid-free in "},
		{re(`^KFENCE: invalid (?:read|write) in $`), "bad-access in "},
		{re(`^BUG: unable to handle kernel (?:paging request|NULL pointer dereference|access to user memory) in $`), "bad-access in "},
		{re(`^BUG: soft lockup in $`), "stall in "},
		{re(`^BUG: stack guard page was hit in $`), "stack-overflow in "},
		{re(`^INFO: rcu detected stall in $`), "stall in "},
		{re(`^INFO: task (?:hung|can't die) in $`), "hang in "},
		{re(`^general protection fault in $`), "bad-access in "},
		{re(`^kernel panic: corrupted stack end in $`), "stack-overflow in "},
		{re(`^kernel stack overflow in $`), "stack-overflow in "},
		{re(`^BUG: corrupted list in $`), "bad-access in "},
		{re(`^UBSAN: array-index-out-of-bounds in $`), "bad-access in "},
		{re(`^(?:Internal error|Unhandled fault) in $`), "bad-access in "},
	}
}

// stripFramePrefixes are the prefixes of syscall entry points and wrappers
// that syzkaller takes off a frame (linuxStackParams.stripFramePrefixes of
// the same linux.go): a title's function is the shortest of the frame with
// one of them taken off, and each partial stripping is an alternative title.
var stripFramePrefixes = []string{
	"SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_",
	"__sys_", "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
}

// setAltTitles fills r.AltTitles from its title, its guilty function
// (canonical, as in the title) and the frame it came from (raw, clone
// suffixes aside): the format's alternative template with the function, and
// the title and that template with the frame stripped of each syscall prefix
// in turn, sorted, without the title itself.
func setAltTitles(r *Report, raw string) {
	if strings.HasPrefix(r.Title, "SYZFATAL:") {
		r.AltTitles = []string{"SYZFATAL"}
		return
	}
	c := "corrupted"
	if r.GuiltyFunction != nil {
		c = *r.GuiltyFunction
	}
	i := strings.LastIndex(r.Title, " in "+c)
	if i < 0 {
		return
	}
	pre, post := r.Title[:i+4], r.Title[i+4+len(c):]
	alt := ""
	for _, fam := range altFamilies {
		if fam.pre.MatchString(pre) {
			alt = fam.alt
			break
		}
	}
	raw = StripCloneSuffixes(raw)
	if raw == "" {
		raw = c
	}
	variants := []string{c, raw}
	for _, p := range stripFramePrefixes {
		if len(raw) > len(p) && strings.HasPrefix(raw, p) {
			variants = append(variants, raw[len(p):])
		}
	}
	var out []string
	for _, v := range variants {
		if t := pre + v + post; t != r.Title {
			out = append(out, t)
		}
		if alt != "" {
			out = append(out, alt+v)
		}
	}
	slices.Sort(out)
	r.AltTitles = slices.Compact(out)
}

// syzStrip is the name syzkaller gives a frame: the shortest of it with one
// of stripFramePrefixes taken off.
func syzStrip(fn string) string {
	best := fn
	for _, p := range stripFramePrefixes {
		if t := strings.TrimPrefix(fn, p); len(t) < len(best) {
			best = t
		}
	}
	return best
}
