package kview_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/triage"
)

// TestSlabObject: the fixture's skb is the start of an object of
// skbuff_head_cache, an address inside it maps back to that start, and
// addresses that are no slab memory say why.
func TestSlabObject(t *testing.T) {
	v := openFixture(t, "skbcsum-kdump")
	skb, members := crashSKB(t)
	o, err := v.SlabObject(skb)
	if err != nil {
		t.Fatal(err)
	}
	if o.Cache != "skbuff_head_cache" || o.Start != skb || o.Size < 200 || o.Size > 512 {
		t.Errorf("SlabObject(skb %#x) = %+v", skb, o)
	}
	mid, err := v.SlabObject(skb + o.Size/2)
	if err != nil || mid != o {
		t.Errorf("SlabObject(skb+%d) = %+v, %v; want %+v", o.Size/2, mid, err, o)
	}
	// The data buffer is a kmalloc object, not an skbuff one.
	if head := members["head"]; head != 0 {
		h, err := v.SlabObject(head)
		if err != nil {
			t.Errorf("head %#x: %v", head, err)
		} else if !strings.HasPrefix(h.Cache, "kmalloc") || h.Start > head || head-h.Start >= h.Size {
			t.Errorf("head %#x: %+v", head, h)
		}
	}
	addr, _, err := v.Lookup("skbcsum_bad_skb")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []uint64{addr, 0, 0xffffffffffffffff} {
		_, err := v.SlabObject(bad)
		var se *kview.SlabError
		if !errors.As(err, &se) || se.Addr != bad || !strings.Contains(err.Error(), "direct") {
			t.Errorf("SlabObject(%#x) = %v, want a SlabError saying it is not direct-mapped", bad, err)
		}
	}
}

// TestSlabObjectTCP: on the generator's tcpskb dumps of 6.1 (PG_slab in
// page flags) and 6.12 (PGTY_slab in page_type), the guest's sock is the
// start of an object of the TCP cache and its skb the second sk_buff of an
// fclone object.
func TestSlabObjectTCP(t *testing.T) {
	dir61 := vmcores.Dir(t)
	dir612 := os.Getenv("KTRIAGE_VMCORES_6_12")
	if dir612 == "" {
		dir612 = vmcores.CacheDir() + "-6.12"
	}
	for _, dir := range []string{dir61, dir612} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Skipf("no %s/manifest.json", dir)
			}
			var m struct {
				Entries []struct {
					Name  string `json:"name"`
					Path  string `json:"path"`
					Guest *struct {
						SKB string `json:"skb"`
						SK  string `json:"sk"`
					} `json:"guest"`
				} `json:"entries"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, e := range m.Entries {
				if e.Name != "tcpskb-kdump-d31" || e.Guest == nil {
					continue
				}
				d, k, err := triage.OpenVmcore(filepath.Join(dir, e.Path))
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				v := kview.New(k)
				skb, _ := strconv.ParseUint(e.Guest.SKB, 0, 64)
				sk, _ := strconv.ParseUint(e.Guest.SK, 0, 64)
				so, err := v.SlabObject(sk)
				if err != nil || so.Cache != "TCP" || so.Start != sk {
					t.Errorf("sock %#x: %+v %v", sk, so, err)
				}
				second, err := v.Offset("sk_buff_fclones", "skb2")
				if err != nil {
					t.Fatal(err)
				}
				o, err := v.SlabObject(skb)
				if err != nil || o.Start != skb-second || o.Size < 2*second {
					t.Errorf("skb %#x: %+v %v (sk_buff_fclones.skb2 at %d)", skb, o, err, second)
				}
				t.Logf("%s: sock in %s, skb in %s", k.Release(), so.Cache, o.Cache)
				return
			}
			t.Skipf("%s/manifest.json has no tcpskb-kdump-d31 entry", dir)
		})
	}
}
