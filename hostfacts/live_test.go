package hostfacts

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// fakeCommands answers ethtool -k and rpm -qa from tables, as Live's
// commands would on a host with those tools.
func fakeCommands(tools map[string]bool, ethtool map[string]string, rpm string) (commands, *[]string) {
	var ran []string
	return commands{
		lookPath: func(name string) (string, error) {
			if tools[name] {
				return "/usr/sbin/" + name, nil
			}
			return "", exec.ErrNotFound
		},
		run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			if _, ok := ctx.Deadline(); !ok {
				return nil, errors.New("run without a timeout")
			}
			ran = append(ran, name+" "+strings.Join(args, " "))
			switch name {
			case "/usr/sbin/ethtool":
				if out, ok := ethtool[args[len(args)-1]]; ok {
					return []byte(out), nil
				}
				return nil, fmt.Errorf("running ethtool: exit status 1")
			case "/usr/sbin/rpm":
				return []byte(rpm), nil
			}
			return nil, exec.ErrNotFound
		},
	}, &ran
}

func TestLive(t *testing.T) {
	root := fstest.MapFS{
		"sys/class/net/eth0":            {Data: []byte{}},
		"sys/class/net/eth1":            {Data: []byte{}},
		"sys/class/net/lo":              {Data: []byte{}},
		"sys/class/net/bonding_masters": {Data: []byte("bond0\n")},
		"var/lib/rpm/rpmdb.sqlite":      {Data: []byte{}},
		"proc/sys/kernel/osrelease":     {Data: []byte("4.18.0-80.el8.x86_64\n")},
		"var/log/messages":              {Data: []byte{}},
	}
	ethtool := map[string]string{
		"eth0": "Features for eth0:\nrx-checksumming: on\ntx-checksumming: on\ngeneric-receive-offload: on\n",
		"eth1": "Features for eth1:\nrx-checksumming: off\n",
	}
	rpm := "kernel-core-4.18.0-80.el8.x86_64\nkernel-4.18.0-80.el8.x86_64\nkernel-tools-4.18.0-80.el8.x86_64\n"

	t.Run("tools present", func(t *testing.T) {
		cmds, ran := fakeCommands(map[string]bool{"ethtool": true, "rpm": true}, ethtool, rpm)
		f, err := live(context.Background(), root, cmds)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Offloads) != 2 || f.Offloads[0].Device != "eth0" || f.Offloads[1].Device != "eth1" {
			t.Fatalf("offloads %+v", f.Offloads)
		}
		if st, _ := f.Offloads[0].State("gro"); !st.On {
			t.Errorf("eth0 gro %+v", st)
		}
		if len(f.Kernels) != 1 || f.Kernels[0].Package != "kernel-core" || f.Kernels[0].Release != "4.18.0-80.el8.x86_64" {
			t.Errorf("kernels %+v", f.Kernels)
		}
		// The running kernel is uname(2)'s, not the root's files'.
		var u syscall.Utsname
		if err := syscall.Uname(&u); err == nil && f.Uname.Source != "uname(2)" {
			t.Errorf("uname from %s", f.Uname.Source)
		}
		if f.Kernels[0].Running != (f.Kernels[0].Release == f.Uname.Release) {
			t.Errorf("Running %v for uname %s", f.Kernels[0].Running, f.Uname.Release)
		}
		want := []string{"/usr/sbin/rpm " + strings.Join(rpmKernelQuery, " "), "/usr/sbin/ethtool -k eth0", "/usr/sbin/ethtool -k eth1"}
		if strings.Join(*ran, "|") != strings.Join(want, "|") {
			t.Errorf("ran %q, want %q", *ran, want)
		}
		if len(f.Problems) != 0 {
			t.Errorf("problems %v", f.Problems)
		}
		if len(f.Logs) != 1 || f.Logs[0].Name != "var/log/messages" {
			t.Errorf("logs %+v", f.Logs)
		}
	})
	t.Run("tools missing", func(t *testing.T) {
		cmds, ran := fakeCommands(nil, nil, "")
		f, err := live(context.Background(), root, cmds)
		if err != nil {
			t.Fatal(err)
		}
		if len(*ran) != 0 || len(f.Offloads) != 0 || len(f.Kernels) != 0 {
			t.Errorf("ran %q, offloads %v, kernels %v", *ran, f.Offloads, f.Kernels)
		}
		if len(f.Problems) != 2 {
			t.Fatalf("problems %v, want rpm and ethtool missing", f.Problems)
		}
		for _, p := range f.Problems {
			if !errors.Is(p, ErrNoCommand) {
				t.Errorf("%v does not wrap ErrNoCommand", p)
			}
		}
	})
	t.Run("ethtool fails on one", func(t *testing.T) {
		cmds, _ := fakeCommands(map[string]bool{"ethtool": true}, map[string]string{"eth0": ethtool["eth0"]}, "")
		f, err := live(context.Background(), root, cmds)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Offloads) != 1 {
			t.Errorf("offloads %+v", f.Offloads)
		}
		var rpmMissing, ethFailed bool
		for _, p := range f.Problems {
			rpmMissing = rpmMissing || errors.Is(p, ErrNoCommand)
			ethFailed = ethFailed || strings.Contains(p.Error(), "ethtool")
		}
		if !rpmMissing || !ethFailed {
			t.Errorf("problems %v", f.Problems)
		}
	})
}

// Live on this machine: whatever it is, the running kernel is named and
// nothing fails outright.
func TestLiveHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ethtool on this host")
	}
	f, err := Live()
	if err != nil {
		t.Fatal(err)
	}
	if f.Uname.Release == "" || f.Hostname == "" {
		t.Errorf("uname %+v host %q", f.Uname, f.Hostname)
	}
	if _, err := exec.LookPath("ethtool"); err == nil && len(f.Offloads) == 0 {
		t.Errorf("ethtool present but no offloads; problems %v", f.Problems)
	}
	for _, p := range f.Problems {
		t.Logf("problem: %v", p)
	}
}

func TestRunCommand(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	out, err := runCommand(context.Background(), "sh", "-c", "echo out; echo err >&2")
	if err != nil || string(out) != "out\n" {
		t.Errorf("%q %v", out, err)
	}
	_, err = runCommand(context.Background(), "sh", "-c", "echo broken >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("err %v, want stderr in it", err)
	}
	var b limitedBuffer
	b.max = 4
	if n, _ := b.Write([]byte("abcdef")); n != 6 || b.String() != "abcd" || !b.cut {
		t.Errorf("limitedBuffer kept %q cut %v", b.String(), b.cut)
	}
}
