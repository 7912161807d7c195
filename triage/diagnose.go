package triage

import (
	"sort"
	"strings"

	"github.com/ktriage/ktriage/checks"
	"github.com/ktriage/ktriage/crashlog"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/oops"
	"github.com/ktriage/ktriage/owner"
)

// objectFindings runs the corruption checks over the objects a crash(8)
// session dumped, follows the corrupt sk_buff to its owner, and says which
// crash(8) commands would complete the proof.
func objectFindings(sess *crashlog.Session, reps []*oops.Report) (fs []checks.Finding, o *owner.Owner, next []string) {
	if sess == nil {
		return nil, nil, nil
	}
	env := checks.Env{Objects: &sess.Objects}
	if sess.Sys != nil {
		env.Release = sess.Sys.Release
	}
	if env.Release == "" {
		for _, r := range reps {
			if r.Release != nil {
				env.Release = *r.Release
				break
			}
		}
	}
	// The crashing context: the panic task's exception frame.
	for _, bt := range sess.Backtraces {
		if bt.Exception == nil {
			continue
		}
		if sess.Sys != nil && sess.Sys.Task != "" && bt.Task != "" && sess.Sys.Task != bt.Task {
			continue
		}
		env.Regs = bt.Exception.Regs
		env.RIPFunction = bt.Exception.Function
		break
	}
	corrupt := map[uint64]bool{}
	fs = checks.Run(env)
	for _, f := range fs {
		if f.Severity == checks.SeverityError && f.Object.Type == "sk_buff" {
			corrupt[f.Object.Addr] = true
		}
	}
	// Partial dumps (grep'd, cut short) give no verdicts, but they tell
	// what to dump whole and can still start the owner chain.
	all := &kobj.Set{}
	for _, o := range sess.Objects.All() {
		all.Add(o)
	}
	for _, o := range sess.Partial {
		if o.Addr != 0 && o.Type != "" {
			all.Add(o)
		}
	}
	withPartial := env
	withPartial.Objects = all
	next = append(next, prefixed(checks.NextSteps(withPartial))...)

	skbs := sess.Objects.OfType("sk_buff")
	if len(skbs) == 0 {
		skbs = all.OfType("sk_buff")
	}
	if len(skbs) == 0 {
		return fs, nil, next
	}
	// Corrupt sk_buffs first: the chain is followed for the one at fault.
	sort.SliceStable(skbs, func(i, j int) bool { return corrupt[skbs[i].Addr] && !corrupt[skbs[j].Addr] })
	in := owner.Input{SKBs: skbs, Regs: env.Regs, StackWords: sess.StackWords, Reads: sess.Reads,
		Sockets: sess.Sockets, Tasks: sess.Tasks, NetDevs: sess.NetDevs}
	o, more := owner.Correlate(in)
	return fs, o, append(next, prefixed(more)...)
}

// prefixed writes crash(8) commands the way a user types them.
func prefixed(cmds []string) []string {
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		if !strings.HasPrefix(c, "crash> ") {
			c = "crash> " + c
		}
		out = append(out, c)
	}
	return out
}
