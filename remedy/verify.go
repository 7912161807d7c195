package remedy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ktriage/ktriage/internal/boundedio"
	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/shellquote"
	"github.com/ktriage/ktriage/kb"
)

func liveOffloads(ctx context.Context, r Runner, dev string) (*netconf.Offloads, error) {
	out, err := r.Run(ctx, "ethtool", "-k", dev)
	if err != nil {
		return nil, err
	}
	offs, err := netconf.ParseEthtoolK("ethtool -k "+dev, out)
	if err != nil {
		return nil, err
	}
	for _, o := range offs {
		if o.Device == dev {
			return o, nil
		}
	}
	return nil, fmt.Errorf("ethtool -k %s printed no features for %s", dev, dev)
}

// runtimeApply switches the features of one running interface, leaving
// alone those already right and those the driver fixes, and checks the
// result with ethtool -k.
func runtimeApply(ctx context.Context, r Runner, dev string, o kb.EthtoolOffload) RuntimeResult {
	rr := RuntimeResult{Iface: dev}
	want := o.State == "on"
	before, err := liveOffloads(ctx, r, dev)
	if err != nil {
		rr.Err = err
		return rr
	}
	var change []string
	for _, n := range o.Features {
		f, _ := netconf.LookupFeature(n)
		st, ok := before.State(f.Long)
		switch {
		case !ok:
			change = append(change, f.Short)
		case st.On == want && st.Fixed:
			rr.FixedOK = append(rr.FixedOK, f.Short)
		case st.On == want:
			rr.Already = append(rr.Already, f.Short)
		case st.Fixed:
			rr.Fixed = append(rr.Fixed, f.Short)
		default:
			change = append(change, f.Short)
		}
	}
	var runErr error
	if len(change) > 0 {
		rr.Command = []string{"ethtool", "-K", dev}
		for _, c := range change {
			rr.Command = append(rr.Command, c, o.State)
		}
		_, runErr = r.Run(ctx, rr.Command...)
	}
	if len(change) == 0 {
		return rr
	}
	after, err := liveOffloads(ctx, r, dev)
	if err != nil {
		rr.Err = err
		return rr
	}
	for _, c := range change {
		f, _ := netconf.LookupFeature(c)
		if st, ok := after.State(f.Long); !ok || st.On != want {
			rr.Failed = append(rr.Failed, c)
		}
	}
	if len(rr.Failed) > 0 {
		if runErr != nil {
			rr.Err = fmt.Errorf("%s: %s still not %s: %w", dev, strings.Join(rr.Failed, " "), o.State, runErr)
		} else {
			rr.Err = fmt.Errorf("%s: %s still not %s after %s", dev, strings.Join(rr.Failed, " "), o.State, shellquote.Join(rr.Command))
		}
	}
	return rr
}

// Status is, for one interface, whether the workaround is in force now and
// whether it will be after a reboot, with the evidence for each.
type Status struct {
	Iface string
	// Now is "yes", "no", "partial" (only [fixed] features are wrong: the
	// driver cannot do better) or "unknown" (no ethtool -k for it).
	Now       string
	NowDetail string
	// Boot is "yes" or "no".
	Boot       string
	BootDetail string
}

// VerifyOptions say where the running state comes from.
type VerifyOptions struct {
	// EthtoolK are files of ethtool -k output (a ticket's, a sosreport's);
	// Verify reads them, and they come before the sosreport's own under
	// the root.
	EthtoolK []string
	// Live queries the running interfaces that no ethtool -k output
	// covers. Verify also does when no EthtoolK file is given and the root
	// is / or Netns is set: the interfaces are then this machine's, or the
	// namespace's.
	Live bool
	// Netns runs the live queries inside this network namespace.
	Netns string
	// Runner runs ethtool for the live queries; nil means ExecRunner in
	// Netns.
	Runner Runner
	Ifaces []string
}

// Verdict is what Verify found, one Status per interface.
type Verdict []Status

// Err is nil when the workaround passes: on no interface is it off now or
// missing from the configuration for the next boot ("unknown" and
// "partial" do not fail it: the evidence is missing, or the driver cannot
// do better). Otherwise it says on how many interfaces the workaround is
// not in force, for a command to exit non-zero with.
func (v Verdict) Err() error {
	bad := 0
	for _, s := range v {
		if s.Now == "no" || s.Boot == "no" {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("the workaround is not in force on %d of %d interfaces", bad, len(v))
	}
	return nil
}

// loadEthtoolK reads ethtool -k output files, by interface; a later file
// wins for an interface two files show.
func loadEthtoolK(files []string) (map[string]*netconf.Offloads, error) {
	out := map[string]*netconf.Offloads{}
	for _, f := range files {
		data, err := boundedio.ReadFile(f, maxConfigFile)
		if err != nil {
			return nil, fmt.Errorf("reading ethtool -k output: %w", err)
		}
		offs, err := netconf.ParseEthtoolK(f, data)
		if err != nil {
			return nil, err
		}
		for _, o := range offs {
			out[o.Device] = o
		}
	}
	return out, nil
}

// Verify reports per interface whether the workaround is in force now
// (from ethtool -k output, given or live) and after a reboot (from the
// configuration files, as plan reads them).
func Verify(ctx context.Context, h *Host, w *Workaround, opts VerifyOptions) (Verdict, error) {
	given, err := loadEthtoolK(opts.EthtoolK)
	if err != nil {
		return nil, err
	}
	live := opts.Live || len(opts.EthtoolK) == 0 && (h.Root == "/" || opts.Netns != "")
	ifaces := opts.Ifaces
	if len(ifaces) == 0 {
		var err error
		ifaces, _, err = h.interfaces(w, Options{})
		if err != nil {
			if len(given) == 0 {
				return nil, err
			}
			for d := range given {
				ifaces = append(ifaces, d)
			}
			sort.Strings(ifaces)
		}
	}
	r := opts.Runner
	if r == nil {
		r = ExecRunner{Netns: opts.Netns}
	}
	want := w.Offload.State == "on"
	var out []Status
	for _, dev := range ifaces {
		s := Status{Iface: dev, Now: "unknown", NowDetail: "no ethtool -k output for " + dev}
		offs := given[dev]
		if offs == nil {
			offs = h.ethtool[dev]
		}
		if offs == nil && live {
			o, err := liveOffloads(ctx, r, dev)
			if err != nil {
				s.NowDetail = err.Error()
			}
			offs = o
		}
		if offs != nil {
			var wrong, fixed, okFixed, missing []string
			for _, n := range w.Offload.Features {
				f, _ := netconf.LookupFeature(n)
				st, ok := offs.State(f.Long)
				switch {
				case !ok:
					missing = append(missing, f.Short)
				case st.On != want && st.Fixed:
					fixed = append(fixed, f.Short)
				case st.On != want:
					wrong = append(wrong, f.Short)
				case st.Fixed:
					okFixed = append(okFixed, f.Short)
				}
			}
			var parts []string
			switch {
			case len(wrong) > 0:
				s.Now = "no"
				parts = append(parts, fmt.Sprintf("%s %s", strings.Join(wrong, " "), onOff(!want)))
			case len(fixed) > 0:
				s.Now = "partial"
			case len(missing) > 0:
				s.Now = "unknown"
			default:
				s.Now = "yes"
				parts = append(parts, fmt.Sprintf("%s %s", strings.Join(w.Offload.Features, " "), w.Offload.State))
			}
			if len(fixed) > 0 {
				parts = append(parts, fmt.Sprintf("%s %s [fixed]: the driver does not let it change", strings.Join(fixed, " "), onOff(!want)))
			}
			if len(okFixed) > 0 {
				parts = append(parts, fmt.Sprintf("%s %s [fixed] already", strings.Join(okFixed, " "), w.Offload.State))
			}
			if len(missing) > 0 {
				parts = append(parts, fmt.Sprintf("%s not in the ethtool -k output", strings.Join(missing, " ")))
			}
			s.NowDetail = strings.Join(parts, "; ")
		}
		p, err := NewPlan(h, w, Options{Ifaces: []string{dev}})
		switch {
		case err != nil:
			s.Boot, s.BootDetail = "no", err.Error()
		case len(p.Edits) == 0:
			s.Boot = "yes"
			if len(p.InPlace) > 0 {
				s.BootDetail = strings.TrimPrefix(p.InPlace[0], dev+": ")
			}
		default:
			var files []string
			for _, e := range p.Edits {
				files = append(files, e.Path)
			}
			s.Boot, s.BootDetail = "no", "not in "+strings.Join(files, ", ")+" (ktriage remedy plan shows the edit)"
		}
		out = append(out, s)
	}
	return out, nil
}
