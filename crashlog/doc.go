// Package crashlog reads crash(8) session transcripts: what users paste from
// the crash utility into tickets and knowledge-base articles. A vmcore is
// often gone by the time a ticket is triaged; the transcript is what is left,
// and it holds facts the kernel log lacks (the exception frame's registers,
// the stack below an IRQ switch, the release in `sys`).
//
// It understands `bt` (with -l, -s, -x, -f, -F variants), `sys`, struct
// and union dumps (`struct TYPE ADDR` and the short `TYPE ADDR` form) into
// typed kobj values, `rd`, `p`/`px`, `dis -l`, `ps`, `net`, `net -s` and
// `foreach net -s`. It is line-fed and streaming, so that triage can read a large
// document once and hand each line to several consumers; it keeps only the
// blocks it recognises, bounded in size, and a bounded table of symbol hints.
//
// Transcripts arrive damaged: prompts lost, indentation stripped or turned
// into no-break spaces, blank lines doubled, remarks typed between and after
// lines, blocks cut short, the same bt pasted twice. The scanner tolerates
// these rather than insisting on crash's exact layout, and never fails:
// what it cannot read is prose.
package crashlog
