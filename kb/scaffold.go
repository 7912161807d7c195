package kb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/ktriage/ktriage/internal/version"
	"github.com/ktriage/ktriage/oops"
)

// TODO is the placeholder Scaffold leaves where only a person can fill in
// a fact: lint refuses it wherever a URL or a text is required, so a
// scaffold cannot pass for a finished entry.
const TODO = "TODO"

// maxScaffoldFrames is how many of the report's top reliable frames the
// scaffold's frame sequence lists: enough to tell the path, few enough to
// survive a refactoring of the callers.
const maxScaffoldFrames = 4

// Scaffold drafts an entry for the crash a report shows: its title, type,
// guilty function, top reliable frames and release filled into a match
// signature, and log (the report's kernel log lines as published) as the
// entry's first sample. The prose, sources and near miss are left as TODO
// for lint to ask for. The YAML parses as an entry whose id is id (Load
// accepts it); a nil report gives an empty draft.
func Scaffold(id string, r *oops.Report, log string) ([]byte, error) {
	if !forms().id.MatchString(id) {
		return nil, fmt.Errorf("entry id %q must match %s", id, forms().id)
	}
	e := Entry{
		ID:         id,
		Title:      TODO + ": a one-line name for the bug",
		Summary:    TODO + ": what goes wrong and how it shows.",
		RootCause:  Fact{Text: TODO + ": the defect, from the fixing commit.", Provenance: Provenance{Source: TODO}},
		References: []Reference{{Kind: "url", URL: TODO, Note: TODO + ": the fixing commit, the report, the CVE"}},
		Tests:      &Tests{Reports: []Sample{}, NearMisses: []Sample{}},
	}
	var b MatchBlock
	b.Source = TODO
	b.Note = TODO + ": confirm this signature against the fix; drop what is incidental"
	if r != nil {
		e.Title = r.Title
		if r.Type != "" {
			b.Types = []string{r.Type}
		}
		if r.Title != "" {
			b.Titles = []string{"^" + regexp.QuoteMeta(r.Title) + "$"}
		}
		if r.GuiltyFunction != nil {
			if g := NormalizeFunction(*r.GuiltyFunction); g != "" {
				b.Functions = []string{regexp.QuoteMeta(g)}
			}
		}
		if seq := topFrames(r); len(seq) > 1 {
			b.Frames = [][]string{seq}
		}
		if r.Release != nil {
			if rg, ok := releaseRange(*r.Release); ok {
				b.Releases = []Range{rg}
			}
		}
		if strings.TrimSpace(log) != "" {
			// logScalar writes the log in place of a placeholder:
			// for a log whose first line is indented, goccy's encoder
			// writes a block scalar its own decoder refuses.
			e.Tests.Reports = []Sample{{Source: TODO, Note: TODO + ": where this report was published", Log: logPlaceholder}}
		}
	}
	e.Match.Any = []MatchBlock{b}
	out, err := yaml.MarshalWithOptions(&e, yaml.UseLiteralStyleIfMultiline(true), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("scaffold %s: %w", id, err)
	}
	// The draft must load as it is, or the user starts from an error; a
	// literal block goccy refuses falls back to the quoted form.
	var errs []error
	for _, quoted := range []bool{false, true} {
		draft := out
		if i := bytes.Index(out, []byte("log: "+logPlaceholder+"\n")); i >= 0 {
			indent := i - (bytes.LastIndexByte(out[:i], '\n') + 1)
			draft = slices.Concat(out[:i], []byte("log: "+logScalar(log, indent+2, quoted)), out[i+len("log: "+logPlaceholder+"\n"):])
		}
		var buf bytes.Buffer
		buf.WriteString("# Drafted by ktriage kb new. Replace every TODO with a fact and the public\n")
		buf.WriteString("# http(s) URL it was read at, add a near miss, then run ktriage kb lint.\n")
		buf.Write(draft)
		_, err := parseEntry(id+".yaml", buf.Bytes())
		if err == nil {
			return buf.Bytes(), nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("scaffold %s does not parse back: %w", id, errors.Join(errs...))
}

// logPlaceholder stands for the sample log in the encoder's output.
const logPlaceholder = "KTRIAGE-SCAFFOLD-LOG"

// logScalar writes a log as a YAML scalar ending in a newline: a literal
// block, as people write samples, when the text allows one (UTF-8 without
// control characters or YAML line breaks but tab and newline, its first
// line not indented, its last not ending in blanks), else a double-quoted string with escapes, which
// holds any text (invalid UTF-8 becomes U+FFFD, as YAML must be UTF-8).
func logScalar(log string, indent int, quoted bool) string {
	literal := !quoted && log != "" && utf8.ValidString(log) && log[0] != ' ' && log[0] != '\t' && log[0] != '\n' &&
		// goccy drops the trailing blanks of a block's last line.
		!strings.HasSuffix(strings.TrimRight(log, "\n"), " ") && !strings.HasSuffix(strings.TrimRight(log, "\n"), "\t")
	for _, r := range log {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			literal = false
			break
		}
	}
	if !literal {
		q, _ := json.Marshal(strings.ToValidUTF8(log, "\uFFFD"))
		return string(q) + "\n"
	}
	// Chomping: "|-" keeps no final newline, "|" one, "|+" all.
	body := strings.TrimRight(log, "\n")
	chomp := "|+"
	switch len(log) - len(body) {
	case 0:
		chomp = "|-"
	case 1:
		chomp = "|"
	}
	var b strings.Builder
	b.WriteString(chomp + "\n")
	pad := strings.Repeat(" ", indent)
	for _, l := range strings.Split(log[:len(body)], "\n") {
		if l != "" {
			b.WriteString(pad + l)
		}
		b.WriteString("\n")
	}
	for range len(log) - len(body) - 1 {
		b.WriteString("\n")
	}
	return b.String()
}

// topFrames is the RIP function and the first reliable frames, clone
// suffixes removed, without repeats.
func topFrames(r *oops.Report) []string {
	var fns []string
	if r.RIP != nil {
		fns = append(fns, r.RIP.Function)
	}
	fns = append(fns, r.FrameFunctions(true)...)
	var seq []string
	for _, f := range fns {
		f = NormalizeFunction(f)
		if f == "" || (len(seq) > 0 && seq[len(seq)-1] == regexp.QuoteMeta(f)) {
			continue
		}
		seq = append(seq, regexp.QuoteMeta(f))
		if len(seq) == maxScaffoldFrames {
			break
		}
	}
	return seq
}

// releaseRange is the range that starts at the crash's own release, in the
// scheme its name is written in: deb-abi for a Debian or Ubuntu ABI
// (6.1.0-13-amd64), rpm for an Enterprise Linux or Fedora release, else
// upstream. The crash shows that release affected; the first affected one
// and the fixed one are for the author to find.
func releaseRange(rel string) (Range, bool) {
	rg := Range{Provenance: Provenance{Source: TODO, Note: TODO + ": the first affected release and the fixed one (max_exclusive)"}}
	switch {
	case rpmReleaseRE.MatchString(rel):
		rg.Scheme, rg.Min = schemeRPM, rpmArchRE.ReplaceAllString(rel, "")
	default:
		if abi, ok := version.DebianABI(rel); ok {
			rg.Scheme, rg.Min = schemeDebABI, abi
			break
		}
		v, err := version.ParseUpstream(rel)
		if err != nil {
			return Range{}, false
		}
		rg.Scheme, rg.Min = schemeUpstream, v.String()
	}
	if _, err := parseBound(rg.Scheme, rg.Min); err != nil {
		return Range{}, false
	}
	return rg, true
}

var (
	rpmReleaseRE = regexp.MustCompile(`\.(?:el\d+|fc\d+|amzn\d+|an\d+|oe\d+)(?:[_.]\w+)*`)
	rpmArchRE    = regexp.MustCompile(`\.(?:x86_64|aarch64|ppc64le|s390x|i686|noarch)$`)
)

// SuggestID derives an entry id from a report: its type and guilty
// function ("kasan-use-after-free-read-tcp-foo"), or "new-entry".
func SuggestID(r *oops.Report) string {
	var parts []string
	if r != nil {
		parts = append(parts, r.Type)
		if r.GuiltyFunction != nil {
			parts = append(parts, NormalizeFunction(*r.GuiltyFunction))
		}
	}
	id := strings.Trim(idJunkRE.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-"), "-")
	if len(id) > 60 {
		id = strings.TrimRight(id[:60], "-")
	}
	if id == "" || !forms().id.MatchString(id) {
		return "new-entry"
	}
	return id
}

var idJunkRE = regexp.MustCompile(`[^a-z0-9]+`)
