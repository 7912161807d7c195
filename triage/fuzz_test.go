package triage

import (
	"strings"
	"testing"
)

// FuzzScanDocument feeds any text through the real wiring of a document:
// the oops scanner, the crash(8) output recogniser deciding where a session
// starts, and the transcript parsers. Whatever the input, it must not
// panic, and what it gives must be well formed.
func FuzzScanDocument(f *testing.F) {
	for _, s := range []string{
		"crash> sys\r\n      KERNEL: vmlinux\r\n    RELEASE: 2.6.32-504.23.4.el6.x86_64\r\ncrash> bt\r\nPID: 0  TASK: ffffffff81a8d020  CPU: 0   COMMAND: \"swapper\"\r\n #0 [ffff880061a03190] machine_kexec at ffffffff8103b60b\r\n    [exception RIP: skb_checksum+725]\r\n",
		"[ 1.0] kernel BUG at net/core/skbuff.c:120!\n[ 1.0] invalid opcode: 0000 [#1] SMP\n[ 1.0] RIP: 0010:skb_panic+0x48/0x4a\ncrash> \nPANIC: \"Oops: 0002 [#1] SMP \"\n",
		"crash64> struct sk_buff ffff8800|grep len\n  len = 1448,\nstruct sk_buff {\n  next = 0x0,\n}\ncrash>\x00bt\n",
		"CPUS: 24 [OFFLINE: 1]\nPID: 1  TASK: ffff  CPU: 3  COMMAND: \"x\"\n#7 [ffff880061a03538] f at ffffffff8145d60a\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		doc, err := scanDocument("fuzz", strings.NewReader(data))
		if err != nil {
			return
		}
		if doc.input.Path != "fuzz" || (doc.input.Kind != KindLog && doc.input.Kind != KindCrashSession) {
			t.Fatalf("input %+v", doc.input)
		}
		for _, r := range doc.reports {
			if r.Title == "" || r.Type == "" {
				t.Fatalf("malformed report %+v", r)
			}
			if r.Source.StartLine < 1 || r.Source.EndLine < r.Source.StartLine {
				t.Fatalf("bad span %+v", r.Source)
			}
		}
	})
}
