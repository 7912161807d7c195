package hostfacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ktriage/ktriage/internal/netconf"
	"github.com/ktriage/ktriage/internal/rootfs"
)

// Timeouts for the commands Live runs: ethtool answers at once unless a
// driver hangs in its ioctl; rpm -qa reads the whole database.
const (
	ethtoolTimeout = 5 * time.Second
	rpmTimeout     = 60 * time.Second
	maxCmdOutput   = 16 << 20
)

// rpmKernelQuery lists kernel packages as NVRA, one a line, in the form
// parseRPMList reads.
var rpmKernelQuery = []string{"-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n", "kernel*"}

// commands is what Live runs, replaceable in tests.
type commands struct {
	lookPath func(string) (string, error)
	run      func(ctx context.Context, name string, args ...string) ([]byte, error)
}

var hostCommands = commands{lookPath: exec.LookPath, run: runCommand}

// runCommand runs name with args and returns its standard output, at
// most maxCmdOutput bytes of it.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out, errb limitedBuffer
	out.max, errb.max = maxCmdOutput, 4096
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, clip(msg))
		}
		return out.Bytes(), fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), err)
	}
	if out.cut {
		return out.Bytes(), fmt.Errorf("running %s: output longer than %d bytes", name, out.max)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	strings.Builder
	max int
	cut bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.cut = true
		if room > 0 {
			b.Builder.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Builder.Write(p)
}

// Bytes returns what was kept.
func (b *limitedBuffer) Bytes() []byte { return []byte(b.String()) }

// Live reads the facts of the running host: its files under / (through
// internal/rootfs, trusting their modification times), uname(2), ethtool
// -k for every interface in /sys/class/net and, on an RPM host, rpm -qa.
// A missing ethtool or rpm is noted in Problems, not an error.
func Live() (*Facts, error) {
	d, err := rootfs.Open("/")
	if err != nil {
		return nil, fmt.Errorf("opening /: %w", err)
	}
	defer d.Close()
	return live(context.Background(), d.FS(), hostCommands)
}

func live(ctx context.Context, fsys fs.FS, cmds commands) (*Facts, error) {
	modTime := func(name string) time.Time {
		fi, err := fs.Stat(fsys, name)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	f, err := ReadWith(fsys, Options{ModTime: modTime})
	if err != nil {
		return nil, err
	}
	r := &reader{fsys: fsys, f: f}
	if u, ok := unameSyscall(); ok {
		f.Uname = u
	}
	if f.Hostname == "" {
		f.Hostname = f.Uname.Nodename
	}
	if len(f.Kernels) == 0 {
		r.liveRPM(ctx, cmds)
	}
	r.setKernels(f.Kernels)
	if len(f.Offloads) == 0 {
		r.liveEthtool(ctx, cmds)
	}
	return f, nil
}

// ErrNoCommand is what a Problems entry wraps when a command Live would
// run is not installed.
var ErrNoCommand = errors.New("command not installed")

func (r *reader) liveRPM(ctx context.Context, cmds commands) {
	if _, err := fs.Stat(r.fsys, "var/lib/rpm"); err != nil {
		return // not an RPM host
	}
	rpm, err := cmds.lookPath("rpm")
	if err != nil {
		r.problem(fmt.Errorf("installed kernels not read: rpm: %w", ErrNoCommand))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, rpmTimeout)
	defer cancel()
	out, err := cmds.run(ctx, rpm, rpmKernelQuery...)
	if err != nil {
		r.problem(err)
		return
	}
	if strings.TrimSpace(string(out)) == "" {
		return
	}
	ks, err := parseRPMList("rpm -qa kernel*", out, r.f.Uname.Arch)
	if err != nil {
		r.problem(err)
		return
	}
	r.f.Kernels = ks
}

func (r *reader) liveEthtool(ctx context.Context, cmds commands) {
	ents := r.readDir("sys/class/net")
	var ifaces []string
	for _, e := range ents {
		if netconf.CheckIfaceName(e.Name()) == nil && e.Name() != "bonding_masters" && e.Name() != "lo" {
			ifaces = append(ifaces, e.Name())
		}
	}
	if len(ifaces) == 0 {
		return
	}
	ethtool, err := cmds.lookPath("ethtool")
	if err != nil {
		r.problem(fmt.Errorf("NIC offloads not read: ethtool: %w", ErrNoCommand))
		return
	}
	sort.Strings(ifaces)
	for _, ifc := range ifaces {
		c, cancel := context.WithTimeout(ctx, ethtoolTimeout)
		out, err := cmds.run(c, ethtool, "-k", ifc)
		cancel()
		if err != nil {
			r.problem(err)
			continue
		}
		offs, err := netconf.ParseEthtoolK("ethtool -k "+ifc, out)
		if err != nil {
			r.problem(err)
			continue
		}
		r.f.Offloads = append(r.f.Offloads, offs...)
	}
}

// unameSyscall asks the kernel itself, which /proc may not show in a
// container whose /proc is the host's.
func unameSyscall() (Uname, bool) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return Uname{}, false
	}
	out := Uname{Nodename: cstr(u.Nodename[:]), Release: cstr(u.Release[:]), Version: cstr(u.Version[:]), Arch: cstr(u.Machine[:]), Source: "uname(2)"}
	out.Line = strings.Join([]string{cstr(u.Sysname[:]), out.Nodename, out.Release, out.Version, out.Arch}, " ")
	return out, true
}

// cstr is a NUL-terminated utsname field; its element type is int8 on
// some architectures and uint8 on others.
func cstr[T int8 | uint8](a []T) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
