package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ktriage/ktriage/fleet/server"
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

// TestNetconsoleGapRecorded: a crash sent as extended netconsole with one
// record lost is stored with the gap said in its diagnosis's inputs, and
// the gap is counted in /metrics.
func TestNetconsoleGapRecorded(t *testing.T) {
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
	rc, err := netconsoleIngest(ctx, "127.0.0.1:0", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "lab", st, k, log)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := server.ParseTokens(strings.NewReader("gap-token-0123456789abcdef lab\n"), "tokens")
	h, err := server.New(st, server.Options{Tokens: tok, TempDir: t.TempDir(), KB: k})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Register(netconsoleMetrics(rc)...); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(rc.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../examples/qemu-skb-over-panic/console.log")
	if err != nil {
		t.Fatal(err)
	}
	stamp := regexp.MustCompile(`^\[\s*\d+\.\d+\] `)
	seq := 0
	for _, line := range strings.Split(string(data), "\n") {
		loc := stamp.FindStringIndex(line)
		if loc == nil {
			continue
		}
		if seq != 30 { // a boot line lost in transit
			fmt.Fprintf(conn, "6,%d,%d,-;%s\n", seq, 1000000+seq, line[loc[1]:])
		}
		if seq++; seq%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	conn.Close()
	time.Sleep(200 * time.Millisecond)
	rc.Close()
	bs, err := st.Buckets(ctx, store.SortCount, 10)
	if err != nil || len(bs) != 1 {
		t.Fatalf("buckets %+v %v", bs, err)
	}
	b, err := st.Bucket(ctx, bs[0].Signature)
	if err != nil || len(b.Samples) != 1 {
		t.Fatalf("bucket %+v %v", b, err)
	}
	if s := string(b.Samples[0].Diagnosis); !strings.Contains(s, "1 record(s) lost in 1 gap(s)") || !strings.Contains(s, `"path":"netconsole 127.0.0.1:`) {
		t.Errorf("the stored diagnosis does not say the gap:\n%.600s", s)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer gap-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"ktriage_netconsole_gaps_total 1", "ktriage_netconsole_missing_records_total 1", "ktriage_netconsole_datagrams_total "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
