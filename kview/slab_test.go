package kview_test

import (
	"errors"
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
	for _, set := range vmcores.Sets {
		t.Run(set, func(t *testing.T) {
			e := vmcores.Require(t, set).Tcpskb(t)
			if e.Guest == nil {
				t.Fatal("no guest record")
			}
			d, k, err := triage.OpenVmcore(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			v := kview.New(k)
			skb, sk := uint64(e.Guest.SKB), uint64(e.Guest.SK)
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
		})
	}
}
