package kcrash_test

import (
	"strings"
	"testing"
)

// maxFuzzOutput bounds what one fuzzed line may print: the largest
// bounded answer (rd's 64 KiB as text, 64 task_structs) is a few MB.
const maxFuzzOutput = 64 << 20

// FuzzExec runs arbitrary lines against the fixture dump: no command may
// panic (Run turns a panic into an "internal error", which fails here),
// and every answer renders within a bound.
func FuzzExec(f *testing.F) {
	for _, s := range []string{
		"sys; ps; mod; net", "rd skbcsum_bad_skb 4", "rd -8 _stext+3 17", "sk_buff ffff8afc013cd300",
		"struct sk_buff.len,data_len ffff8afc013cd300 2", "sym ffffffff92d8e3a8", "dis __skb_checksum+760 3",
		"dis -r skb_checksum+50", "p jiffies", "px init_uts_ns", "files 104", "net -s 1", "foreach files",
		"struct -o skb_shared_info", "rd ffffffffffffff00 64", "help rd", "p current_task",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s := fixtureSession(t)
		for _, a := range s.Exec(line) {
			if a.Err != nil && strings.Contains(a.Err.Error(), "internal error") {
				t.Fatalf("%q: %v", a.Command, a.Err)
			}
			var b strings.Builder
			if err := a.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if b.Len() > maxFuzzOutput {
				t.Fatalf("%q: %d bytes", a.Command, b.Len())
			}
		}
	})
}
