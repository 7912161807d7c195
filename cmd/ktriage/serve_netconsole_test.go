package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/kb"
)

// TestNetconsoleIngest: a real kernel's console log sent as plain
// netconsole over loopback becomes one event of the sending host in the
// fleet store, matched and bucketed as a submitted log is (the receiver's
// own tests deny senders outside the allowed networks).
func TestNetconsoleIngest(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := kb.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	allow, err := parsePrefixes("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := netconsoleIngest(ctx, "127.0.0.1:0", allow, "lab", st, k, log)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(rc.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		if _, err := conn.Write([]byte(sc.Text() + "\n")); err != nil {
			t.Fatal(err)
		}
		if n++; n%64 == 0 {
			time.Sleep(time.Millisecond) // loopback drops what the socket buffer cannot hold
		}
	}
	f.Close()
	conn.Close()
	time.Sleep(100 * time.Millisecond)
	rc.Close() // closes every source's log: its reports are ingested
	bs, err := st.Buckets(ctx, store.SortCount, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range bs {
		if b.Title == "kernel BUG in crashnet_start_xmit" && b.Count == 1 && b.Hosts == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("buckets %+v: want one crashnet_start_xmit event from 127.0.0.1", bs)
	}

	if _, err := parsePrefixes(""); err == nil || !strings.Contains(err.Error(), "no network") {
		t.Errorf("an empty allow list: %v", err)
	}
	if p, err := parsePrefixes("192.0.2.7, 10.0.0.0/8"); err != nil || len(p) != 2 || p[0] != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("parsePrefixes: %v %v", p, err)
	}
}
