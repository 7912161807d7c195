package kcrash_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kcrash"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// TestGeneratedDumps: on every generated dump (ELF from QEMU and
// /proc/vmcore, kdump-compressed, flattened; 6.1.0-57), sys names the
// release and the manifest's oops as PANIC, ps reads back with the
// crashing task active, and mod and net answer.
func TestGeneratedDumps(t *testing.T) {
	for _, e := range vmcores.Manifest(t) {
		t.Run(e.Name, func(t *testing.T) {
			d, k, err := triage.OpenVmcore(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			s := kcrash.New(kview.New(k), kcrash.WithDumpFile(e.Path, d.Info()), kcrash.WithNotes(d.PRStatus()))
			caps := s.Capabilities()
			if !caps.Kallsyms || !caps.BTF || !caps.KallsymsAll || !caps.ORC {
				t.Errorf("capabilities %+v", caps)
			}
			as := s.Exec("sys; ps; mod; net; bt")
			for _, a := range as {
				if a.Err != nil {
					t.Errorf("%s: %v", a.Command, a.Err)
				}
			}
			cs, text := transcript(t, as...)
			if cs.Sys == nil || cs.Sys.Release != e.Kernel {
				t.Errorf("sys: %+v, want release %s", cs.Sys, e.Kernel)
			} else if e.Oops != "" && cs.Sys.Panic != e.Oops {
				t.Errorf("PANIC %q, manifest's oops %q", cs.Sys.Panic, e.Oops)
			}
			if len(cs.Backtraces) != 1 || len(cs.Backtraces[0].AllFrames) < 3 || !as[4].Result.(*kcrash.BtResult).Traces[0].Complete {
				t.Errorf("bt: %d backtraces read back:\n%s", len(cs.Backtraces), text)
			}
			active := 0
			for _, tk := range cs.Tasks {
				if tk.Active && tk.PID != 0 {
					active++
				}
			}
			if len(cs.Tasks) < 20 || active == 0 {
				t.Errorf("ps: %d tasks read back, %d active non-idle", len(cs.Tasks), active)
			}
			log, err := os.ReadFile(e.Dmesg)
			if err != nil {
				t.Fatal(err)
			}
			mods := as[2].Result.(*kcrash.ModResult).Modules
			for _, m := range mods {
				if !strings.Contains(string(log), m.Name) {
					t.Errorf("module %s is not in the log", m.Name)
				}
			}
			if len(mods) == 0 || len(cs.NetDevs) == 0 {
				t.Errorf("%d modules, %d devices in:\n%.2000s", len(mods), len(cs.NetDevs), text)
			}
			// The guest pinged: its raw socket is listed under its task,
			// as crashlog reads foreach net -s.
			fe := run(t, s, "foreach net -s")
			want := map[string]kcrash.Socket{}
			for _, ts := range fe.Result.(*kcrash.SocketsResult).Tasks {
				for _, sk := range ts.Sockets {
					want[fmt.Sprintf("%d/%d", ts.Task.PID, sk.FD)] = sk
				}
			}
			// Its socket's path is as /proc/PID/fd shows it.
			fl := kcrash.Text(run(t, s, "foreach files").Result)
			if !regexp.MustCompile(` SOCK socket:\[\d+\]\n`).MatchString(fl) {
				t.Errorf("no socket:[INODE] path in foreach files")
			}
			fs, ftext := transcript(t, fe)
			if len(want) == 0 || len(fs.Sockets) != len(want) {
				t.Fatalf("%d sockets, crashlog reads %d:\n%.2000s", len(want), len(fs.Sockets), ftext)
			}
			for _, got := range fs.Sockets {
				if got.Task == nil {
					t.Errorf("socket %x read without its task", got.Sock)
					continue
				}
				w, ok := want[fmt.Sprintf("%d/%d", got.Task.PID, got.FD)]
				if !ok || got.Sock != uint64(w.Sock) || got.Socket != uint64(w.Socket) || got.Family != w.Family || got.Type != w.Type {
					t.Errorf("crashlog reads %+v, foreach gave %+v", got, w)
				}
			}
		})
	}
}
