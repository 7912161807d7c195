package remedy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/shellquote"
	"github.com/ktriage/ktriage/kb"
)

// offloadCost is the one line every plan carries on what the workaround
// costs, so that nobody turns offloads off without knowing.
const offloadCost = "cost: with these offloads off the CPU computes checksums and cuts TCP segments itself: more softirq CPU and less peak throughput on busy links; the fix is a kernel without the bug."

// Edit is one file change of a plan: the file's content before (nil for a
// file remedy creates) and after.
type Edit struct {
	// Path is the file on the host (/etc/...), not prefixed by the root.
	Path    string
	Old     []byte
	New     []byte
	Create  bool
	Kind    string // ifcfg, keyfile, link, netplan
	Devices []string
}

// Plan is what remedy would do on a host for one workaround: the file
// edits, the runtime commands, and what is already in place.
type Plan struct {
	Root    string
	EntryID string
	Offload kb.EthtoolOffload
	// Interfaces are the interfaces the workaround is for on this host.
	Interfaces []string
	Edits      []*Edit
	// InPlace says, per interface, where the setting is already persistent.
	InPlace []string
	// Commands are the runtime commands (ethtool -K ...), one per
	// interface.
	Commands [][]string
	Notes    []string
	// Cost says in one line what the workaround costs: shown with every
	// plan and apply, so that nobody turns offloads off without knowing.
	Cost string
}

// Options choose what a plan covers.
type Options struct {
	// Ifaces, when set, replace the interfaces the entry's scope selects.
	Ifaces []string
}

// Workaround is an ethtool_offload action and the knowledge-base entry it
// comes from.
type Workaround struct {
	EntryID string
	Offload kb.EthtoolOffload
}

// maxDiagnosis bounds a DIAGNOSIS.json read for its workaround.
const maxDiagnosis = 64 << 20

// LoadWorkaround finds the ethtool_offload action named by arg: a
// knowledge-base id, or a DIAGNOSIS.json written by ktriage analyze --json
// (its matches' workarounds). A diagnosis with several different offload
// actions is ambiguous and an error listing them.
func LoadWorkaround(arg string, k *kb.KB) (*Workaround, error) {
	if data, err := boundedio.ReadFile(arg, maxDiagnosis); err == nil {
		var d struct {
			Matches []struct {
				ID         string         `json:"id"`
				Workaround *kb.Workaround `json:"workaround"`
			} `json:"matches"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: not a ktriage diagnosis (analyze --json): %w", arg, err)
		}
		var found []*Workaround
		var ids []string
		for _, m := range d.Matches {
			if m.Workaround == nil || m.Workaround.EthtoolOffload == nil {
				continue
			}
			dup := false
			for _, f := range found {
				if f.EntryID == m.ID {
					dup = true
				}
			}
			if !dup {
				found = append(found, &Workaround{m.ID, *m.Workaround.EthtoolOffload})
				ids = append(ids, m.ID)
			}
		}
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("%s: no match in this diagnosis has an ethtool_offload workaround", arg)
		case 1:
			return found[0], validOffload(found[0])
		}
		return nil, fmt.Errorf("%s: several matches carry an offload workaround (%s): name one by its knowledge-base id", arg, strings.Join(ids, ", "))
	} else if strings.HasSuffix(arg, ".json") {
		return nil, fmt.Errorf("reading the diagnosis: %w", err)
	}
	if k == nil {
		return nil, fmt.Errorf("no knowledge base to look %q up in", arg)
	}
	e := k.Get(arg)
	if e == nil {
		return nil, fmt.Errorf("no knowledge-base entry %q and no such file (ktriage kb list shows the ids)", arg)
	}
	if e.Workaround == nil || e.Workaround.EthtoolOffload == nil {
		return nil, fmt.Errorf("entry %s has no ethtool_offload workaround for remedy to carry out", arg)
	}
	w := &Workaround{e.ID, *e.Workaround.EthtoolOffload}
	return w, validOffload(w)
}

// LatestRunWorkaround is the workaround of the latest apply run recorded
// under root that completed (applied, or applied and reverted since), for
// verifying what was applied without naming it again. The notes say which
// run directories were passed over (runs cut short or failed, directories
// that are not runs) and why.
func LatestRunWorkaround(root string) (*Workaround, []string, error) {
	runs, skipped, err := Runs(root)
	if err != nil {
		return nil, skipped, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if r := runs[i]; r.Status == statusApplied || r.Status == statusReverted {
			return &Workaround{EntryID: r.EntryID, Offload: r.Offload}, skipped, nil
		}
		skipped = append(skipped, fmt.Sprintf("skipped run %s: it failed and was rolled back", runs[i].ID))
	}
	why := ""
	if len(skipped) > 0 {
		why = " (" + strings.Join(skipped, "; ") + ")"
	}
	return nil, skipped, fmt.Errorf("no completed apply run under %s to take the workaround from%s: name a KB-ID or DIAGNOSIS.json", root, why)
}

func validOffload(w *Workaround) error {
	o := w.Offload
	if o.State != "on" && o.State != "off" {
		return fmt.Errorf("entry %s: ethtool_offload state %q: want on or off", w.EntryID, o.State)
	}
	if len(o.Features) == 0 {
		return fmt.Errorf("entry %s: ethtool_offload lists no features", w.EntryID)
	}
	for _, f := range o.Features {
		if _, ok := netconf.LookupFeature(f); !ok {
			return fmt.Errorf("entry %s: offload feature %q is not one remedy can write (rx tx tso gso gro lro)", w.EntryID, f)
		}
	}
	return nil
}

// features resolves the workaround's feature names.
func (w *Workaround) features() []netconf.Feature {
	var out []netconf.Feature
	for _, n := range w.Offload.Features {
		f, _ := netconf.LookupFeature(n)
		out = append(out, f)
	}
	return out
}

// interfaces returns the interfaces the workaround's scope selects on this
// host, or opts.Ifaces when given.
func (h *Host) interfaces(w *Workaround, opts Options) ([]string, []string, error) {
	var notes []string
	if len(opts.Ifaces) > 0 {
		set := map[string]bool{}
		for _, i := range opts.Ifaces {
			for _, j := range strings.Split(i, ",") {
				if j = strings.TrimSpace(j); j != "" {
					if err := netconf.CheckIfaceName(j); err != nil {
						return nil, nil, fmt.Errorf("--iface: %w", err)
					}
					// ethtool would take it for an option.
					if strings.HasPrefix(j, "-") {
						return nil, nil, fmt.Errorf("--iface: bad interface name %q", j)
					}
					set[j] = true
				}
			}
		}
		return sortedKeys(set), nil, nil
	}
	switch w.Offload.Scope {
	case kb.ScopeBondSlaves:
		bonds := h.bondSlaves()
		if len(bonds) == 0 {
			return nil, nil, fmt.Errorf("entry %s applies to bond slaves, and no bond is configured under %s: name the interfaces with --iface", w.EntryID, h.Root)
		}
		set := map[string]bool{}
		var names []string
		for b, s := range bonds {
			for _, d := range s {
				set[d] = true
			}
			names = append(names, b)
		}
		sort.Strings(names)
		notes = append(notes, fmt.Sprintf("%s: the offloads run in the slaves' drivers, so the slaves are changed and the bond itself is left as it is (add --iface %s and the slaves to switch its software offloads too)", strings.Join(names, ", "), shellquote.Join(names[:1])))
		return sortedKeys(set), notes, nil
	case kb.ScopeAll, "":
		p := h.physical()
		if len(p) == 0 {
			return nil, nil, fmt.Errorf("no Ethernet interface is configured under %s: name the interfaces with --iface", h.Root)
		}
		return p, nil, nil
	case kb.ScopeDevice:
		if len(w.Offload.Devices) == 0 {
			return nil, nil, fmt.Errorf("entry %s: scope device without devices: name the interfaces with --iface", w.EntryID)
		}
		for _, d := range w.Offload.Devices {
			if err := netconf.CheckIfaceName(d); err != nil {
				return nil, nil, fmt.Errorf("entry %s: devices: %w", w.EntryID, err)
			}
		}
		return append([]string(nil), w.Offload.Devices...), nil, nil
	case kb.ScopeDriver:
		var out []string
		for d, drv := range h.drivers {
			if drv == w.Offload.Driver {
				out = append(out, d)
			}
		}
		if len(out) == 0 {
			return nil, nil, fmt.Errorf("entry %s applies to interfaces driven by %s, and none is under %s/%s: name the interfaces with --iface", w.EntryID, w.Offload.Driver, h.Root, sysNetDir)
		}
		sort.Strings(out)
		return out, nil, nil
	}
	return nil, nil, fmt.Errorf("entry %s: unknown ethtool_offload scope %q", w.EntryID, w.Offload.Scope)
}

// ConflictError is a refusal: a file already sets one of the workaround's
// features the other way, or the edit is ambiguous. Nothing is changed.
type ConflictError struct {
	File string
	Line int
	Msg  string
}

// Error formats the refusal as file:line: message.
func (e *ConflictError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	if e.File != "" {
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// oldInitscriptsRE is compiled on first use, not at every command's start-up.
var oldInitscriptsRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`release (5|6\.[01])\b`) })

// NewPlan works out, for each selected interface, which file keeps its
// settings and how that file must change, plus the runtime commands. It
// refuses (ConflictError) when two files configure one interface, when a
// file already sets a feature the other way, or when no file configures an
// interface; a refusal covers the whole plan.
func NewPlan(h *Host, w *Workaround, opts Options) (*Plan, error) {
	ifaces, notes, err := h.interfaces(w, opts)
	if err != nil {
		return nil, err
	}
	p := &Plan{Root: h.Root, EntryID: w.EntryID, Offload: w.Offload, Interfaces: ifaces, Notes: notes, Cost: offloadCost}
	feats := w.features()
	state := w.Offload.State
	var errs []error
	netplanAdds := map[*netconf.Netplan][]netconf.Splice{}
	netplanDevs := map[*netconf.Netplan][]string{}
	appended := false
	for _, dev := range ifaces {
		cmd := []string{"ethtool", "-K", dev}
		for _, f := range feats {
			cmd = append(cmd, f.Short, state)
		}
		p.Commands = append(p.Commands, cmd)

		var ifcfgs []*netconf.Ifcfg
		for _, f := range h.ifcfgs {
			if f.Device() == dev {
				ifcfgs = append(ifcfgs, f)
			}
		}
		var kfs []*netconf.Keyfile
		for _, k := range h.keyfiles {
			if k.Device() == dev || (k.Device() == "" && k.MAC() != "" && k.MAC() == h.macs[dev]) {
				kfs = append(kfs, k)
			}
		}
		var nps []*netconf.NetplanEthernet
		var npf []*netconf.Netplan
		for _, np := range h.netplans {
			if e := np.Ethernet(dev, h.macs[dev]); e != nil {
				nps, npf = append(nps, e), append(npf, np)
			}
		}
		var files []string
		for _, f := range ifcfgs {
			files = append(files, f.Path)
		}
		for _, k := range kfs {
			files = append(files, k.Path())
		}
		for i := range nps {
			files = append(files, npf[i].Path)
		}
		if len(files) > 1 {
			errs = append(errs, &ConflictError{Msg: fmt.Sprintf("%s is configured by %d files (%s): remedy cannot tell which one is in force; remove or merge the extra ones, then run again", dev, len(files), strings.Join(files, ", "))})
			continue
		}
		// Each stack's planner gives an edit, or where the setting is
		// already in place; netplan's edits of one file are combined below.
		var (
			e       *Edit
			inPlace string
			notes   []string
			err     error
		)
		switch {
		case len(ifcfgs) == 1:
			e, inPlace, err = planIfcfg(ifcfgs[0], dev, feats, state)
			if _, had := ifcfgs[0].Get("ETHTOOL_OPTS"); had && e != nil {
				appended = true
			}
		case len(kfs) == 1:
			e, inPlace, err = planKeyfile(kfs[0], dev, feats, state)
			if e != nil {
				notes = append(notes, fmt.Sprintf("%s: NetworkManager applies [ethtool] when it activates the profile: nmcli connection reload; %s", dev, shellquote.Join([]string{"nmcli", "connection", "up", kfs[0].ID()})))
			}
		case len(nps) == 1:
			var s *netconf.Splice
			s, inPlace, err = planNetplan(npf[0], nps[0], feats, state)
			if s != nil {
				netplanAdds[npf[0]] = append(netplanAdds[npf[0]], *s)
				netplanDevs[npf[0]] = append(netplanDevs[npf[0]], dev)
			}
			r := nps[0].Renderer
			if r == "" {
				r = npf[0].Renderer
			}
			if strings.EqualFold(r, "NetworkManager") {
				notes = append(notes, fmt.Sprintf("%s: netplan documents the offload keys for the networkd back end; with renderer NetworkManager check after netplan apply that they took effect (ktriage remedy verify)", dev))
			}
		case h.networkdDir || len(h.links) > 0:
			var note string
			e, inPlace, note, err = planLink(h, dev, feats, state)
			if note != "" {
				notes = append(notes, note)
			}
		default:
			err = &ConflictError{Msg: fmt.Sprintf("no configuration file under %s configures %s (looked for ifcfg-*, NetworkManager keyfiles, netplan and systemd .link files)", h.Root, dev)}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Notes = append(p.Notes, notes...)
		switch {
		case e != nil:
			p.Edits = append(p.Edits, e)
		case inPlace != "":
			p.InPlace = append(p.InPlace, inPlace)
		}
	}
	for np, ss := range netplanAdds {
		p.Edits = append(p.Edits, &Edit{Path: np.Path, Old: np.Data, New: netconf.ApplySplices(np.Data, ss), Kind: "netplan", Devices: netplanDevs[np]})
		p.Notes = append(p.Notes, "netplan: run netplan apply (or reboot) to render the .link settings")
	}
	for _, e := range p.Edits {
		if err := reparse(e); err != nil {
			errs = append(errs, &ConflictError{File: e.Path, Msg: fmt.Sprintf("the edit would not parse as %s any more (%v): change the file by hand", e.Kind, err)})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("refusing to change anything: %w", errors.Join(errs...))
	}
	sort.SliceStable(p.Edits, func(i, j int) bool { return p.Edits[i].Path < p.Edits[j].Path })
	if h.release != "" && oldInitscriptsRE().MatchString(h.release) && hasKind(p.Edits, "ifcfg") {
		p.Notes = append(p.Notes, fmt.Sprintf("%q: initscripts before 9.03.24 (RHEL 6.2) run ETHTOOL_OPTS only as ethtool -s DEVICE ..., so the -K parts fail at boot there: update initscripts first", h.release))
	} else if appended {
		p.Notes = append(p.Notes, "ETHTOOL_OPTS with several ';'-separated parts needs initscripts 9.03.24 or later (RHEL 6.2+); each part names its device")
	}
	return p, nil
}

// reparse reads an edit's new content with the parser of its kind: the
// editors splice text into files, and an odd but accepted file can be
// spliced into one its own parser (and so the host) no longer reads.
func reparse(e *Edit) error {
	var err error
	switch e.Kind {
	case "ifcfg":
		_, err = netconf.ParseIfcfg(e.Path, e.New)
	case "keyfile":
		_, err = netconf.ParseKeyfile(e.Path, e.New)
	case "link":
		_, err = netconf.ParseLink(e.Path, e.New)
	case "netplan":
		_, err = netconf.ParseNetplan(e.Path, e.New)
	default:
		err = fmt.Errorf("no parser for kind %q", e.Kind)
	}
	return err
}

func hasKind(es []*Edit, kind string) bool {
	for _, e := range es {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func settingWord(state string) (nm, link, netplan string) {
	if state == "on" {
		return "true", "true", "true"
	}
	return "false", "false", "false"
}

func listShort(fs []netconf.Feature) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Short)
	}
	return strings.Join(s, " ")
}

// planIfcfg edits ETHTOOL_OPTS: a new line when there is none, else a
// "; -K DEV ..." part appended inside the existing value, for the features
// not already set.
func planIfcfg(f *netconf.Ifcfg, dev string, feats []netconf.Feature, state string) (*Edit, string, error) {
	v, had := f.Get("ETHTOOL_OPTS")
	if had && v.Dynamic {
		return nil, "", &ConflictError{File: f.Path, Line: v.Line, Msg: "ETHTOOL_OPTS uses command substitution or a parameter form remedy cannot evaluate: edit it by hand"}
	}
	set := map[string]bool{}
	if had {
		for _, o := range netconf.SplitEthtoolOpts(v.Value) {
			if o.Offload == nil || o.Offload.Device != dev {
				continue
			}
			for _, s := range o.Offload.Settings {
				ft, ok := netconf.LookupFeature(s[0])
				if !ok {
					continue
				}
				for _, want := range feats {
					if want.Short != ft.Short {
						continue
					}
					if s[1] != state {
						return nil, "", &ConflictError{File: f.Path, Line: v.Line, Msg: fmt.Sprintf("ETHTOOL_OPTS already turns %s %s for %s (%q): remedy will not override that; change or remove it, then run again", s[0], s[1], dev, strings.TrimSpace(o.Raw))}
					}
					set[ft.Short] = true
				}
			}
		}
	}
	var missing []netconf.Feature
	for _, ft := range feats {
		if !set[ft.Short] {
			missing = append(missing, ft)
		}
	}
	if len(missing) == 0 {
		return nil, fmt.Sprintf("%s: %s:%d ETHTOOL_OPTS already has %s %s", dev, f.Path, v.Line, listShort(feats), state), nil
	}
	part := "-K " + dev
	for _, ft := range missing {
		part += " " + ft.Short + " " + state
	}
	var out []byte
	switch {
	case !had:
		out = append([]byte(nil), f.Data...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		// A last line ending in a backslash continues into ours: end it.
		if len(out) > 0 {
			if bs := len(out) - 1 - len(bytes.TrimRight(out[:len(out)-1], `\`)); bs%2 == 1 {
				out = append(out, '\n')
			}
		}
		out = append(out, "ETHTOOL_OPTS=\""+part+"\"\n"...)
	case strings.TrimSpace(v.Value) == "":
		out = netconf.ApplySplices(f.Data, []netconf.Splice{{Start: v.Start, End: v.End, Text: `"` + part + `"`}})
	case v.Quote != 0:
		out = netconf.ApplySplices(f.Data, []netconf.Splice{{Start: v.End - 1, End: v.End - 1, Text: "; " + part}})
	default:
		out = netconf.ApplySplices(f.Data, []netconf.Splice{{Start: v.Start, End: v.End, Text: `"` + dquote(v.Value) + "; " + part + `"`}})
	}
	if err := checkIfcfgEdit(f, out, dev, missing, state); err != nil {
		return nil, "", err
	}
	return &Edit{Path: f.Path, Old: f.Data, New: out, Kind: "ifcfg", Devices: []string{dev}}, "", nil
}

// checkIfcfgEdit parses the edited file again and makes sure that every
// other variable kept its value and that ETHTOOL_OPTS now ends with the new
// part: a wrong edit here can take a host off the network at its next boot.
func checkIfcfgEdit(f *netconf.Ifcfg, out []byte, dev string, missing []netconf.Feature, state string) error {
	g, err := netconf.ParseIfcfg(f.Path, out)
	if err != nil {
		return &ConflictError{File: f.Path, Msg: fmt.Sprintf("the edited file would not parse (%v): edit it by hand", err)}
	}
	for _, v := range f.Vars {
		if v.Name == "ETHTOOL_OPTS" {
			continue
		}
		if g.Value(v.Name) != f.Value(v.Name) {
			return &ConflictError{File: f.Path, Line: v.Line, Msg: fmt.Sprintf("adding ETHTOOL_OPTS would change %s: edit the file by hand", v.Name)}
		}
	}
	opts := netconf.SplitEthtoolOpts(g.Value("ETHTOOL_OPTS"))
	if len(opts) == 0 || opts[len(opts)-1].Offload == nil || opts[len(opts)-1].Offload.Device != dev || len(opts[len(opts)-1].Offload.Settings) != len(missing) {
		return &ConflictError{File: f.Path, Msg: "the edited ETHTOOL_OPTS would not read back as written: edit it by hand"}
	}
	return nil
}

func dquote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return r.Replace(s)
}

func planKeyfile(k *netconf.Keyfile, dev string, feats []netconf.Feature, state string) (*Edit, string, error) {
	word, _, _ := settingWord(state)
	var kv [][2]string
	for _, ft := range feats {
		v, line, ok := k.EthtoolSetting(ft.NM)
		if ok {
			on, valid := parseBool(v)
			if !valid {
				return nil, "", &ConflictError{File: k.Path(), Line: line, Msg: fmt.Sprintf("%s=%s is not a boolean", ft.NM, v)}
			}
			if on != (state == "on") {
				return nil, "", &ConflictError{File: k.Path(), Line: line, Msg: fmt.Sprintf("[ethtool] %s=%s already turns %s %s for %s: remedy will not override that; change or remove it, then run again", ft.NM, v, ft.Short, onOff(on), dev)}
			}
			continue
		}
		kv = append(kv, [2]string{ft.NM, word})
	}
	if len(kv) == 0 {
		return nil, fmt.Sprintf("%s: %s [ethtool] already has %s %s", dev, k.Path(), listShort(feats), state), nil
	}
	return &Edit{Path: k.Path(), Old: k.Data(), New: k.SetEthtool(kv), Kind: "keyfile", Devices: []string{dev}}, "", nil
}

func planNetplan(np *netconf.Netplan, e *netconf.NetplanEthernet, feats []netconf.Feature, state string) (*netconf.Splice, string, error) {
	_, _, word := settingWord(state)
	var kv [][2]string
	for _, ft := range feats {
		if v, ok := e.Settings[ft.Netplan]; ok {
			on, valid := netconf.NetplanBool(v.Value)
			if !valid {
				return nil, "", &ConflictError{File: np.Path, Line: v.Line, Msg: fmt.Sprintf("%s: %s is not a boolean", ft.Netplan, v.Value)}
			}
			if on != (state == "on") {
				return nil, "", &ConflictError{File: np.Path, Line: v.Line, Msg: fmt.Sprintf("ethernets.%s already sets %s: %s: remedy will not override that; change or remove it, then run again", e.ID, ft.Netplan, v.Value)}
			}
			continue
		}
		kv = append(kv, [2]string{ft.Netplan, word})
	}
	if len(kv) == 0 {
		return nil, fmt.Sprintf("%s: %s ethernets.%s already has %s %s", e.Name, np.Path, e.ID, listShort(feats), state), nil
	}
	out, err := np.SetOffloads(e, kv)
	if err != nil {
		return nil, "", err
	}
	// Express the insertion as a splice against the original bytes so that
	// several interfaces of one file combine.
	i := 0
	for i < len(np.Data) && i < len(out) && np.Data[i] == out[i] {
		i++
	}
	return &netconf.Splice{Start: i, End: i, Text: string(out[i : i+len(out)-len(np.Data)])}, "", nil
}

// planLink edits the first .link file udev would apply to dev when it names
// dev alone and lives in /etc; otherwise it writes a new /etc file that
// sorts first, carrying over the [Link] settings of the file it displaces.
func planLink(h *Host, dev string, feats []netconf.Feature, state string) (*Edit, string, string, error) {
	_, word, _ := settingWord(state)
	var first *netconf.LinkFile
	exact := false
	var skipped []string
	for _, l := range h.links {
		m, ex, unknown := l.Matches(dev, h.macs[dev])
		if unknown {
			skipped = append(skipped, l.Path())
			continue
		}
		if m {
			first, exact = l, ex
			break
		}
	}
	var note string
	if len(skipped) > 0 {
		note = fmt.Sprintf("%s: %s match on conditions remedy does not evaluate and were not considered", dev, strings.Join(skipped, ", "))
	}
	var kv [][2]string
	for _, ft := range feats {
		if first != nil && exact {
			if v, line, ok := first.Setting(ft.Link); ok {
				on, valid := parseBool(v)
				if !valid {
					return nil, "", note, &ConflictError{File: first.Path(), Line: line, Msg: fmt.Sprintf("%s=%s is not a boolean", ft.Link, v)}
				}
				if on != (state == "on") {
					return nil, "", note, &ConflictError{File: first.Path(), Line: line, Msg: fmt.Sprintf("%s=%s already turns %s %s for %s: remedy will not override that; change or remove it, then run again", ft.Link, v, ft.Short, onOff(on), dev)}
				}
				continue
			}
		}
		kv = append(kv, [2]string{ft.Link, word})
	}
	if len(kv) == 0 {
		return nil, fmt.Sprintf("%s: %s already has %s %s", dev, first.Path(), listShort(feats), state), note, nil
	}
	if first != nil && exact {
		e := &Edit{Path: first.Path(), Old: first.Data(), New: first.SetLink(kv), Kind: "link", Devices: []string{dev}}
		if !strings.HasPrefix(first.Path(), "/etc/") {
			// Same name in /etc overrides the vendor copy.
			e.Path = "/" + linkDirs[0] + "/" + path.Base(first.Path())
			e.Old, e.Create = nil, true
		}
		return e, "", note, nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by ktriage remedy: offloads %s on %s only.\n", state, dev)
	b.WriteString("# udev applies only the first .link file that matches an interface, so this\n")
	if first != nil {
		fmt.Fprintf(&b, "# file repeats the [Link] settings of %s, which matched %s before.\n", first.Path(), dev)
	} else {
		b.WriteString("# file is the only one that matches it.\n")
	}
	b.WriteString("[Match]\n")
	if mac := h.macs[dev]; mac != "" {
		fmt.Fprintf(&b, "MACAddress=%s\n", mac)
	} else {
		fmt.Fprintf(&b, "OriginalName=%s\n", dev)
	}
	b.WriteString("\n[Link]\n")
	if first != nil {
		for _, s := range first.LinkSettings() {
			fmt.Fprintf(&b, "%s=%s\n", s[0], s[1])
		}
	}
	for _, p := range kv {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	name := "/" + linkDirs[0] + "/00-ktriage-" + dev + ".link"
	return &Edit{Path: name, New: b.Bytes(), Create: true, Kind: "link", Devices: []string{dev}}, "", note, nil
}

func parseBool(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
