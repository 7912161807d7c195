package oops

import (
	"slices"
	"strings"
	"testing"
)

// TestSoftWrap: logs folded at word boundaries by a mailer or a tracker,
// and reflowed with records run together, read as their records; a log
// whose unstamped lines are other programs' output is read line by line.
func TestSoftWrap(t *testing.T) {
	folded := `[18763.779547] [drm] REG_WAIT timeout 10us * 3000 tries -
dce110_stream_encoder_dp_blank line:950
[18763.779651] WARNING: CPU: 4 PID: 25404 at
drivers/gpu/drm/mydrv/dc_helper.c:277
mydrv_reg_wait.cold+0x29/0x30 [mydrv]
[18763.779687] CPU: 4 PID: 25404 Comm: kworker/4:0 Tainted: G         C
5.1.0-1.fc31.x86_64 #1
[18763.779689] Hardware name: System manufacturer System Product Name/ROG
STRIX X470-I GAMING, BIOS 2202 04/11/2019
[18763.779764] RIP: 0010:mydrv_reg_wait.cold+0x29/0x30 [mydrv]
[18763.779767] RSP: 0018:ffff9b5320bb7720 EFLAGS: 00010297
[18763.779769] RAX: 0000000000000052 RBX: 0000000000000bb9 RCX:
0000000000000000
[18763.779780] Call Trace:
[18763.779854]  mydrv_stream_blank+0x159/0x2e0 [mydrv]
[18763.779921]  mydrv_link_disable_stream+0x42/0x270 [mydrv]
[18763.780751] ---[ end trace 1b9ec5613589027e ]---
`
	reflowed := `[6514198.051700][   C75] ------------[ cut here ]------------
[6514198.066833][   C75] kernel BUG at drivers/net/mydrv.c:2194!
[6514198.081919][   C75] invalid opcode: 0000 [#1] SMP NOPTI
[6514198.096676][   C75] CPU: 75 PID: 0 Comm: swapper/75 Tainted: G
       O      5.15.32-mykernel #1 [6514198.125512][   C75]
Hardware name: HYVE EDGE-METAL-GEN10/HS-1811DLite1, BIOS V2.80-sig
03/21/2022 [6514198.152869][   C75] RIP:
0010:mydrv_pull_tail+0x3b6/0x3d0 [6514198.167637][   C75] Code: 34 3a
e8 6d fc ff ff 48 8b 7c 24 08 [6514198.214396][
C75] RSP: 0018:ffff93accd5fc9a8 EFLAGS: 00010282 [6514198.229430][
C75] Call Trace: [6514198.263091][   C75]  <IRQ>
[6514198.390262][   C75]  mydrv_ensure_writable+0x85/0xa0
[6514198.402710][   C75]  mydrv_mangle_packet+0x77/0x4d0 [mydrv]
[6514198.402719][   C75]  ? ip_set_test+0xaa/0x170 [ip_set]
[6514198.441335][   C75]  ipt_do_table+0x300/0x650 [ip_tables]
[6514198.465724][   C75]  nf_hook_slow+0x41/0xb0 [6514198.476603][
C75]  ip_output+0xdb/0x120 [6514198.476611][   C75]  ?
__ip_finish_output+0x1a0/0x1a0 [6514198.476615][   C75]
__ip_queue_xmit+0x172/0x400 [6514198.509393][   C75]  ?
`
	programOutput := `[   10.000001] random: crng init done
executing program 0:
[   10.000002] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   10.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI
executing program 1:
[   10.000004] CPU: 0 PID: 77 Comm: repro Not tainted 6.1.0 #1
[   10.000005] RIP: 0010:mydrv_reset+0x10/0x40 [mydrv]
syz-executor: r0 = openat(0xffffffffffffff9c, 0x0, 0x0, 0x0)
[   10.000006] Call Trace:
[   10.000007]  <TASK>
[   10.000008]  mydrv_work+0x20/0x60 [mydrv]
[   10.000009]  process_one_work+0x1e2/0x3b0
`
	for _, c := range []struct {
		name       string
		doc        string
		soft       bool
		split      bool
		title, rel string
		frames     []string
	}{
		{"folded", folded, true, false, "WARNING in mydrv_reg_wait", "5.1.0-1.fc31.x86_64", []string{"mydrv_stream_blank", "mydrv_link_disable_stream"}},
		{"reflowed", reflowed, true, true, "kernel BUG in mydrv_pull_tail", "5.15.32-mykernel", []string{"mydrv_ensure_writable", "mydrv_mangle_packet", "ipt_do_table", "nf_hook_slow", "ip_output", "__ip_queue_xmit"}},
		{"program output", programOutput, false, false, "BUG: unable to handle kernel NULL pointer dereference in mydrv_reset", "6.1.0", []string{"mydrv_work", "process_one_work"}},
	} {
		w, split := softWrap([]byte(c.doc))
		if (w > 0) != c.soft || split != c.split {
			t.Errorf("%s: softWrap = %d, %v; want soft %v, split %v", c.name, w, split, c.soft, c.split)
		}
		reps, err := Parse(strings.NewReader(c.doc), c.name)
		if err != nil || len(reps) != 1 {
			t.Errorf("%s: %d reports, %v", c.name, len(reps), err)
			continue
		}
		r := reps[0]
		rel := ""
		if r.Release != nil {
			rel = *r.Release
		}
		if r.Title != c.title || rel != c.rel || !slices.Equal(r.FrameFunctions(true), c.frames) {
			t.Errorf("%s: %q %q %q; want %q %q %q", c.name, r.Title, rel, r.FrameFunctions(true), c.title, c.rel, c.frames)
		}
	}
}
