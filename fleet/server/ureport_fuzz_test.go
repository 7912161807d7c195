package server

import (
	"testing"

	"github.com/ktriage/ktriage/oops"
)

// FuzzDecodeUReport feeds hostile µReports to the decoder and the report
// builder: neither may panic, and what the decoder accepts yields reports
// whose signatures are their own.
func FuzzDecodeUReport(f *testing.F) {
	f.Add([]byte(`{"ureport_version":2,"type":"kerneloops","problem":{"type":"kerneloops","component":"kernel","raw_oops":"kernel BUG at net/core/skbuff.c:1886!\ninvalid opcode: 0000 [#1] SMP\nRIP: 0010:[<ffffffff81451ff5>]  [<ffffffff81451ff5>] skb_checksum+0x2d5/0x2f0\nCall Trace:\n [<ffffffff8145d60a>] skb_checksum_help+0x8a/0x150\n","frames":[]}}`))
	f.Add([]byte(`{"ureport_version":2,"problem":{"type":"kerneloops","version":"6.1.0","modules":["e1000"],"frames":[{"function_name":"skb_over_panic","reliable":true,"function_offset":16,"function_length":32,"module_name":"e1000","address":18446744071579194357},{"reliable":false}]}}`))
	f.Add([]byte(`{"ureport_version":2,"problem":{"type":"kerneloops","frames":[{"function_name":"","reliable":true}]}}`))
	f.Add([]byte(`{"ureport_version":2,"problem":{"type":"kerneloops","raw_oops":"junk","frames":[{"reliable":false}]}}`))
	f.Add([]byte(`{"ureport_version":1}`))
	f.Add([]byte(`{"ureport_version":2,"problem":{"type":"kerneloops","frames":[{"address":-1}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		u, err := decodeUReport(in)
		if err != nil {
			return
		}
		if *u.Version != 2 || u.Problem.Type != "kerneloops" || len(u.Problem.Frames) > maxUReportFrames {
			t.Fatalf("accepted %+v", u)
		}
		for i, r := range u.reports() {
			if r == nil {
				t.Fatalf("report %d is nil", i)
			}
			if want := oops.Signature(r.Type, r.GuiltyFunction, r.Frames); r.Signature != want {
				t.Errorf("report %d (%q): signature %s, want %s", i, r.Title, r.Signature, want)
			}
		}
	})
}
