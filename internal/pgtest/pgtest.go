// Package pgtest starts a throwaway PostgreSQL cluster for a test: initdb
// into a temporary directory, the server on a unix socket in it and on a
// random port of 127.0.0.1, stopped and removed when the test ends. Without
// PostgreSQL's binaries the test is skipped naming them, and fails under
// CI=true, where the test command installs them (make testdeps).
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/ktriage/ktriage/internal/testshared"
)

// binDir finds the newest /usr/lib/postgresql/*/bin holding initdb, or the
// directory of an initdb on PATH.
func binDir() (string, error) {
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(ms, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[j]))))
		return vi > vj
	})
	if len(ms) > 0 {
		return filepath.Dir(ms[0]), nil
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb and none on PATH (Debian package postgresql)")
	}
	return filepath.Dir(p), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a cluster and returns a postgres:// URL of its database
// "ktriage" (user ktriage, trust authentication on 127.0.0.1 only).
func Start(t testing.TB) string {
	t.Helper()
	bin, err := binDir()
	testshared.Require(t, err == nil, "needs PostgreSQL: %v", err)
	dir, err := os.MkdirTemp("", "ktriage-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// initdb refuses root: run the server as the postgres user then.
	var runAs []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		testshared.Require(t, err == nil, "running as root needs the postgres user (Debian package postgresql): %v", err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(append([]string{}, runAs...), filepath.Join(bin, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "ktriage", "-A", "trust", "-E", "UTF8", "--no-sync")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s", port, dir)
	run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		argv := append(append(append([]string{}, runAs...), filepath.Join(bin, "pg_ctl")), "-D", data, "-m", "immediate", "-w", "stop")
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	run("createdb", "-h", dir, "-p", strconv.Itoa(port), "-U", "ktriage", "ktriage")
	return fmt.Sprintf("postgres://ktriage@127.0.0.1:%d/ktriage?sslmode=disable", port)
}
