package crashlog

import (
	"strings"
	"testing"
)

// FuzzStructDump feeds arbitrary text line by line after a struct prompt
// (and once more without it): the scanner must not panic, and what it keeps
// must stay within its limits.
func FuzzStructDump(f *testing.F) {
	fuzz(f, []string{
		"struct sk_buff {\n  next = 0x0,\n  {\n    csum = 1,\n    {\n      csum_start = 288\n    }\n  },\n  cb = \"\\000\\XXX\",\n  destructor = 0xffffffff814b3ed0 <tcp_wfree>,\n  head = 0xffff881062d2dc00 \"\",\n  cloned = 1 '\\001',\n  users = {\n    counter = 1\n  }\n}\n",
		"struct skb_shared_info {\n  frags = {{\n      page = 0x0,\n      size = 64\n    }, {\n      page = 0x24\n    }},\n  nr_frags = 0, <---- 0\n}\n",
		"  len = 210,\n  data_len = 144, <---- fragments\ncrash> sk_buff ffff880fe9624868|grep len\n  len = 210,\n",
		"$1 = {\n  a = {1, 2, 3},\n  b = '\\000' <repeats 15 times>,\n  c = {0 <repeats 99999999 times>}\n}\n$2 = 0x0\n",
		"ffff880061a03508:  ffff880fe9624868                    hHb.....\nffff880061a03508: [skbuff_fclone_cache] 0000000000000022\n",
		"/usr/src/net/core/dev.c: 1951\n0xffffffff8145d5f1 <skb_checksum_help+113>: cmp    %eax,%r12d <--- remark\n",
		"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}\nx = \"\\",
		"struct a {\nb = {void (void)} 0x1 <f>,\nc = (A | B),\nd = {\"ab\", \"cd\"},\ne = -9223372036854775808\n",
	}, func(t *testing.T, data string) {
		for _, prefix := range []string{"crash> struct sk_buff ffff880fe9624868\n", ""} {
			s := NewScanner()
			for i, l := range strings.Split(prefix+data, "\n") {
				s.Line(i+1, l)
			}
			sess := s.Finish()
			checkInvariants(t, sess)
			checkStructInvariants(t, sess)
			_, _, _ = sess.DisSource(0xffffffff8145d5f1)
			_, _ = sess.Word(0xffff880061a03508)
		}
	})
}
