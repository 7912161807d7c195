package netconsole

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktriage/ktriage/oops"
)

// guestModules are loaded in this order: virtio-net-pci's driver and its
// dependencies in the Debian cloud kernel, then netconsole.
var guestModules = []string{
	"kernel/drivers/virtio/virtio_ring.ko",
	"kernel/drivers/virtio/virtio.ko",
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
	"kernel/drivers/virtio/virtio_pci.ko",
	"kernel/net/core/failover.ko",
	"kernel/drivers/net/net_failover.ko",
	"kernel/drivers/net/virtio_net.ko",
	"kernel/fs/configfs/configfs.ko",
	"kernel/drivers/net/netconsole.ko",
}

// guestInit brings up eth0 on QEMU's user network, points extended
// netconsole at the gateway 10.0.2.2 (which QEMU's user network delivers to
// the host's loopback; 52:55:0a:00:02:02 is its MAC) and crashes the kernel
// the way examples/qemu-skb-over-panic does.
const guestInit = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
port=
for w in $(cat /proc/cmdline); do
  case $w in ktv.ncport=*) port=${w#ktv.ncport=} ;; esac
done
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net configfs; do
  insmod /lib/modules/$m.ko
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
insmod /lib/modules/netconsole.ko netconsole=+6665@10.0.2.15/eth0,$port@10.0.2.2/52:55:0a:00:02:02
echo "init: netconsole to 10.0.2.2:$port"
insmod /lib/modules/crashnet.ko bug=skb_over
ip link set crash0 up
ip addr add 192.0.2.10/24 dev crash0
sleep 1
ping -c 1 -W 2 192.0.2.1
echo "init: still alive, no crash happened"
poweroff -f
`

// TestQEMUGuest boots Debian's kernel under QEMU (TCG) with extended
// netconsole sending to this test's receiver, crashes it, and expects the
// report oops finds in the guest's serial console, and no gap: the guest
// runs with ignore_loglevel, so every record is sent, and loopback loses
// none at this rate. It needs the cache tools/gen-vmcores.sh (make test's
// vmcore generator) and tools/make-example.sh fill (<repo>/.cache/example:
// kernel-<release>/ and crashnet-<release>/; KTRIAGE_NETCONSOLE_QEMU names
// another), and qemu-system-x86_64 and /bin/busybox, which the generator
// installs; it takes about 7 s.
func TestQEMUGuest(t *testing.T) {
	cache := os.Getenv("KTRIAGE_NETCONSOLE_QEMU")
	if cache == "" {
		// make test's vmcore generator (tools/gen-vmcores.sh) fills it.
		cache = filepath.Join("..", ".cache", "example")
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "kernel-*")); len(m) == 0 {
		msg := cache + ": no kernel-<release> (tools/gen-vmcores.sh or tools/make-example.sh makes it; KTRIAGE_NETCONSOLE_QEMU names another)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	kdirs, _ := filepath.Glob(filepath.Join(cache, "kernel-*"))
	if len(kdirs) == 0 {
		t.Fatalf("%s: no kernel-<release> directory", cache)
	}
	kdir := kdirs[0]
	release := strings.TrimPrefix(filepath.Base(kdir), "kernel-")
	files := map[string]string{"bin/busybox": "/bin/busybox"}
	for _, m := range guestModules {
		files["lib/modules/"+filepath.Base(m)] = filepath.Join(kdir, "lib", "modules", release, m)
	}
	files["lib/modules/crashnet.ko"] = filepath.Join(cache, "crashnet-"+release, "crashnet.ko")
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initramfs.cpio")
	if err := writeInitramfs(initrd, files); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []*oops.Report
	var rels []string
	var reportedAt time.Time
	// The default idle timeout: a guest emulated on a loaded machine may
	// stall for seconds mid-oops (a 3 s timeout once cut a report short in
	// make test); the end of its panic closes the document at once.
	r, err := Listen(context.Background(), "127.0.0.1:0", Options{Allow: loopbackOnly,
		OnReport: func(src netip.AddrPort, doc Document, rep *oops.Report) {
			mu.Lock()
			got = append(got, rep)
			rels = append(rels, doc.Release)
			reportedAt = time.Now()
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	serial := filepath.Join(dir, "serial.log")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-accel", "tcg", "-machine", "q35", "-cpu", "max", "-smp", "2", "-m", "256",
		"-display", "none", "-monitor", "none", "-no-reboot", "-serial", "file:"+serial,
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
		"-kernel", filepath.Join(kdir, "boot", "vmlinuz-"+release), "-initrd", initrd,
		"-append", fmt.Sprintf("console=ttyS0,115200 ignore_loglevel panic=0 oops=panic ktv.ncport=%d", r.Addr().Port()))
	var qout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &qout, &qout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if ctx.Err() != nil {
			log, _ := os.ReadFile(serial)
			t.Fatalf("no report after %v; sources %+v\nqemu: %s\nserial: %s", time.Since(start), r.Sources(), qout.String(), log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("report %v after boot", time.Since(start).Round(time.Second))
	cmd.Process.Kill()
	cmd.Wait()
	want := wantTitles(t, serial)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(titles(got), want) {
		t.Errorf("titles from netconsole %q, from the serial console %q", titles(got), want)
	}
	src := r.Sources()
	if len(src) != 1 || !src[0].Extended || src[0].Gaps != 0 || src[0].Messages == 0 || src[0].Duplicates+src[0].Late+src[0].Malformed != 0 {
		t.Errorf("sources %+v: want one extended source without gaps", src)
	}
	// Closed by the end of the panic, not after ten idle seconds.
	if len(src) == 1 {
		if wait := reportedAt.Sub(src[0].LastSeen); wait > 5*time.Second {
			t.Errorf("the report came %v after the guest's last datagram: its panic's end did not close it", wait)
		}
	}
	t.Logf("titles %q; source %+v", titles(got), src)
}

// writeInitramfs writes an uncompressed newc cpio (the kernel reads it as an
// initramfs) holding the guest's /init, busybox's applets as links, and
// files (archive path -> host path).
func writeInitramfs(path string, files map[string]string) error {
	var b bytes.Buffer
	ino := 1
	add := func(name string, mode int, data []byte) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		b.WriteString(name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for _, d := range []string{"bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"} {
		add(d, 0o40755, nil)
	}
	add("init", 0o100755, []byte(guestInit))
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		data, err := os.ReadFile(files[n])
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		add(n, 0o100755, data)
	}
	for _, applet := range []string{"sh", "mount", "cat", "echo", "insmod", "ip", "sleep", "ping", "poweroff"} {
		add("bin/"+applet, 0o120777, []byte("busybox"))
	}
	add("TRAILER!!!", 0, nil)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
