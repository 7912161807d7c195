package oops

import (
	"fmt"
	"strings"
	"testing"
)

// extractFrame is a frame as a test expects it: function and module ("" for
// the kernel itself).
type extractFrame struct{ fn, mod string }

// manyModules returns n module names and the lines a kernel prints them on
// when the list outgrows one printk record: the first line carries the
// "Modules linked in:" header, the others continue it.
func manyModules(n, perLine int) (names []string, text string) {
	var b strings.Builder
	b.WriteString("Modules linked in:")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("drv_%03d", i)
		if i%7 == 3 {
			name += "(OE)"
		}
		names = append(names, strings.TrimSuffix(name, "(OE)"))
		if i > 0 && i%perLine == 0 {
			b.WriteString("\n")
		}
		b.WriteString(" " + name)
	}
	return names, b.String()
}

// stamped prefixes every line of text as dmesg and journalctl -k do.
func stamped(text string) string {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for i, l := range lines {
		if l == "" {
			continue
		}
		fmt.Fprintf(&b, "Mar 02 10:11:12 host kernel: [ 1234.%06d] %s", i, l)
	}
	return b.String()
}

// TestExtractPastes checks the facts abrt and satyr extract from an oops
// (release, guilty function, frames with modules, the module list) on the
// architecture formats and kernel generations users paste.
func TestExtractPastes(t *testing.T) {
	bigMods, bigText := manyModules(150, 40)
	tests := []struct {
		name     string
		text     string
		reports  int
		release  string
		guilty   string
		frames   []extractFrame
		nmods    int
		firstMod string
		lastMod  string
	}{
		{
			name: "arm PC is at, Backtrace from-frames",
			text: `Unable to handle kernel NULL pointer dereference at virtual address 00000000
pgd = c0004000
[00000000] *pgd=00000000
Internal error: Oops: 5 [#1] PREEMPT SMP ARM
Modules linked in: brcmfmac brcmutil cfg80211 rfkill snd_bcm2835
CPU: 0 PID: 1234 Comm: kworker/0:1 Not tainted 4.9.35-v7+ #1014
Hardware name: BCM2835
Workqueue: events brcmf_fws_dequeue [brcmfmac]
task: b9a1c000 task.stack: b9a20000
PC is at brcmf_fws_commit_skb+0x24/0x1c0 [brcmfmac]
LR is at brcmf_fws_dequeue+0x1a4/0x2a0 [brcmfmac]
pc : [<7f2c4a3c>]    lr : [<7f2c6f28>]    psr: 60000013
sp : b9a21eb8  ip : 00000000  fp : b9a21ee4
Process kworker/0:1 (pid: 1234, stack limit = 0xb9a20210)
Backtrace: 
[<7f2c4a18>] (brcmf_fws_commit_skb [brcmfmac]) from [<7f2c6f28>] (brcmf_fws_dequeue+0x1a4/0x2a0 [brcmfmac])
[<7f2c6d84>] (brcmf_fws_dequeue [brcmfmac]) from [<80136a44>] (process_one_work+0x11c/0x398)
[<80136928>] (process_one_work) from [<80136d0c>] (worker_thread+0x54/0x5b8)
[<80136cb8>] (worker_thread) from [<8013c9a0>] (kthread+0x108/0x124)
[<8013c898>] (kthread) from [<80108148>] (ret_from_fork+0x14/0x2c)
Code: e5943000 e1a05000 e3530000 0a000040 (e5932000) 
---[ end trace 2e3f4a5b6c7d8e9f ]---
`,
			reports: 1, release: "4.9.35-v7+", guilty: "brcmf_fws_commit_skb",
			frames: []extractFrame{{"brcmf_fws_commit_skb", "brcmfmac"}, {"brcmf_fws_dequeue", "brcmfmac"}, {"process_one_work", ""}},
			nmods:  5, firstMod: "brcmfmac", lastMod: "snd_bcm2835",
		},
		{
			name: "arm old unwind frames with offsets",
			text: `Unable to handle kernel paging request at virtual address e0a0b0c0
pgd = c0004000
Internal error: Oops: 805 [#1] PREEMPT ARM
Modules linked in: g_ether
CPU: 0    Not tainted  (3.4.103 #2)
PC is at musb_h_tx_flush_fifo+0x10/0x80
LR is at musb_cleanup_urb+0x60/0xd0
pc : [<c02a1234>]    lr : [<c02a2345>]    psr: 20000093
Backtrace: 
[<c02a1224>] (musb_h_tx_flush_fifo+0x0/0x80) from [<c02a2345>] (musb_cleanup_urb+0x60/0xd0)
[<c02a22e5>] (musb_cleanup_urb+0x0/0xd0) from [<c02a3456>] (musb_urb_dequeue+0x90/0x120)
[<c02a33c6>] (musb_urb_dequeue+0x0/0x120) from [<c0290000>] (usb_hcd_unlink_urb+0x54/0xa0)
Code: e1a04000 e5903000 e3a02000 e5832000 (e5c32002) 
`,
			reports: 1, release: "3.4.103", guilty: "musb_h_tx_flush_fifo",
			frames: []extractFrame{{"musb_h_tx_flush_fifo", ""}, {"musb_cleanup_urb", ""}, {"musb_urb_dequeue", ""}},
			nmods:  1, firstMod: "g_ether", lastMod: "g_ether",
		},
		{
			name: "arm64 pc/lr and Call trace with modules",
			text: `Unable to handle kernel NULL pointer dereference at virtual address 0000000000000010
Mem abort info:
  ESR = 0x96000006
Internal error: Oops: 96000006 [#1] PREEMPT SMP
Modules linked in: nft_chain_nat xt_MASQUERADE nf_nat mlx5_core(OE) mlxfw(OE) psample
CPU: 5 PID: 8812 Comm: ethtool Tainted: G           OE     5.10.120-arm64 #1
Hardware name: Ampere Altra (DT)
pstate: 60400009 (nZCv daif +PAN -UAO -TCO BTYPE=--)
pc : mlx5e_ethtool_get_link_ksettings+0x48/0x2c0 [mlx5_core]
lr : mlx5e_get_link_ksettings+0x20/0x30 [mlx5_core]
sp : ffff80001a0bb9b0
x29: ffff80001a0bb9b0 x28: ffff0000c1a2b300
Call trace:
 mlx5e_ethtool_get_link_ksettings+0x48/0x2c0 [mlx5_core]
 mlx5e_get_link_ksettings+0x20/0x30 [mlx5_core]
 __ethtool_get_link_ksettings+0x6c/0xa0
 ethtool_get_settings+0x60/0x1a0
 dev_ethtool+0x1c4/0x2540
 dev_ioctl+0x2c4/0x5a0
Code: f9400e60 b4000a60 f9402a61 b40009e1 (b9401021) 
---[ end trace 0a1b2c3d4e5f6a7b ]---
`,
			reports: 1, release: "5.10.120-arm64", guilty: "mlx5e_ethtool_get_link_ksettings",
			frames: []extractFrame{{"mlx5e_ethtool_get_link_ksettings", "mlx5_core"}, {"mlx5e_get_link_ksettings", "mlx5_core"}, {"__ethtool_get_link_ksettings", ""}},
			nmods:  6, firstMod: "nft_chain_nat", lastMod: "psample",
		},
		{
			name: "arm64 old [<addr>] frames",
			text: `Unable to handle kernel paging request at virtual address dead000000000108
Internal error: Oops: 96000044 [#1] PREEMPT SMP
Modules linked in: wlan(O)
CPU: 2 PID: 3021 Comm: wpa_supplicant Tainted: G        W  O    3.18.31-perf-g1d2a3b4 #1
Hardware name: Qualcomm Technologies, Inc. MSM8996 (DT)
task: ffffffc0a2b1c000 ti: ffffffc0a2b20000 task.ti: ffffffc0a2b20000
PC is at hdd_cfg80211_scan_done+0x5c/0x120 [wlan]
LR is at hdd_cfg80211_scan_done+0x48/0x120 [wlan]
pc : [<ffffffbffc1a2b3c>] lr : [<ffffffbffc1a2b28>] pstate: 80000145
Call trace:
[<ffffffbffc1a2b3c>] hdd_cfg80211_scan_done+0x5c/0x120 [wlan]
[<ffffffbffc1a3c4d>] hdd_abort_scan+0x94/0x140 [wlan]
[<ffffffc000c1d2e4>] nl80211_abort_scan+0x3c/0x58
[<ffffffc000a1b2c3>] genl_rcv_msg+0x2a0/0x360
Code: f9400402 f9000443 f9000062 d2802202 (f9000402) 
`,
			reports: 1, release: "3.18.31-perf-g1d2a3b4", guilty: "hdd_cfg80211_scan_done",
			frames: []extractFrame{{"hdd_cfg80211_scan_done", "wlan"}, {"hdd_abort_scan", "wlan"}, {"nl80211_abort_scan", ""}},
			nmods:  1, firstMod: "wlan", lastMod: "wlan",
		},
		{
			name: "ppc64 NIP/LR and unreliable frames",
			text: `Unable to handle kernel paging request for data at address 0x00000008
Faulting instruction address: 0xc0000000004a1b2c
Oops: Kernel access of bad area, sig: 11 [#1]
SMP NR_CPUS=2048 NUMA pSeries
Modules linked in: xfs libcrc32c ibmvscsi scsi_transport_srp ibmveth
CPU: 3 PID: 4567 Comm: kworker/3:2 Not tainted 3.10.0-514.el7.ppc64le #1
task: c0000001f8a2b400 ti: c0000001f8a60000 task.ti: c0000001f8a60000
NIP: c0000000004a1b2c LR: c0000000004a1b00 CTR: c0000000004a1a80
REGS: c0000001f8a63850 TRAP: 0300   Not tainted  (3.10.0-514.el7.ppc64le)
MSR: 8000000000009033 <SF,EE,ME,IR,DR,RI,LE>  CR: 24002482  XER: 00000000
NIP [c0000000004a1b2c] blk_mq_run_hw_queue+0x2c/0x130
LR [c0000000004a1b00] blk_mq_run_hw_queues+0x70/0xd0
Call Trace:
[c0000001f8a63ad0] [c0000000004a1b00] blk_mq_run_hw_queues+0x70/0xd0 (unreliable)
[c0000001f8a63b10] [d000000002a1c2d4] xfs_buf_ioapply_map+0x1e4/0x280 [xfs]
[c0000001f8a63bc0] [c000000000123456] process_one_work+0x1c0/0x5a0
[c0000001f8a63c60] [c000000000123abc] worker_thread+0x26c/0x5a0
Instruction dump:
60000000 7c0802a6 fbe1fff8 f8010010 
---[ end trace 1122334455667788 ]---
`,
			reports: 1, release: "3.10.0-514.el7.ppc64le", guilty: "blk_mq_run_hw_queue",
			frames: []extractFrame{{"xfs_buf_ioapply_map", "xfs"}, {"process_one_work", ""}, {"worker_thread", ""}},
			nmods:  5, firstMod: "xfs", lastMod: "ibmveth",
		},
		{
			name: "s390 Krnl PSW and parenthesised frames",
			text: `Unable to handle kernel pointer dereference in virtual kernel address space
Failing address: 0000000000000000 TEID: 0000000000000483
Fault in home space mode while using kernel ASCE.
Oops: 0004 ilc:3 [#1] SMP 
Modules linked in: dasd_eckd_mod dasd_mod qeth_l2 qeth ccwgroup
CPU: 1 PID: 812 Comm: systemd-udevd Not tainted 4.18.0-80.el8.s390x #1
Hardware name: IBM 3906 M04 701 (z/VM 6.4.0)
Krnl PSW : 0704c00180000000 000003ff80a1b2c4 (dasd_eckd_check_characteristics+0x1a4/0x6d0 [dasd_eckd_mod])
           R:0 T:1 IO:1 EX:1 Key:0 M:1 W:0 P:0 AS:3 CC:0 PM:0 RI:0 EA:3
Krnl GPRS: 0000000000000000 0000000000000000 0000000000000000 000000007a1b2c3d
Krnl Code: 000003ff80a1b2b8: e31020000004	lg	%r1,0(%r2)
Call Trace:
([<000003ff80a1b2a0>] dasd_eckd_check_characteristics+0x180/0x6d0 [dasd_eckd_mod])
 [<000003ff80a0c1d2>] dasd_generic_set_online+0x1a2/0x3b0 [dasd_mod]
 [<0000000000734a56>] ccw_device_set_online+0x15e/0x2a0
 [<00000000001a2b3c>] kthread+0x14c/0x168
Last Breaking-Event-Address:
 [<000003ff80a1b2be>] dasd_eckd_check_characteristics+0x19e/0x6d0 [dasd_eckd_mod]
---[ end trace 9a8b7c6d5e4f3a2b ]---
`,
			reports: 1, release: "4.18.0-80.el8.s390x", guilty: "dasd_eckd_check_characteristics",
			frames: []extractFrame{{"dasd_eckd_check_characteristics", "dasd_eckd_mod"}, {"dasd_generic_set_online", "dasd_mod"}, {"ccw_device_set_online", ""}},
			nmods:  5, firstMod: "dasd_eckd_mod", lastMod: "ccwgroup",
		},
		{
			name: "i386 2.6.9 EIP is at, release on EFLAGS",
			text: `Unable to handle kernel NULL pointer dereference at virtual address 00000004
 printing eip:
f8a1b2c3
*pde = 00000000
Oops: 0000 [#1]
SMP 
Modules linked in: nfs lockd sunrpc e1000 ext3 jbd
CPU:    1
EIP:    0060:[<f8a1b2c3>]    Not tainted VLI
EFLAGS: 00010286   (2.6.9-42.ELsmp) 
EIP is at nfs_update_inode+0x23/0x5c0 [nfs]
eax: 00000000   ebx: f1a2b3c4   ecx: 00000000   edx: f5a6b7c8
Process ls (pid: 4321, threadinfo=e1a2b000 task=f7a8b9c0)
Stack: f1a2b3c4 00000000 e1a2bf0c f8a1c2d3 
Call Trace:
 [<f8a1c2d3>] nfs_refresh_inode+0x3c/0x60 [nfs]
 [<f8a1d3e4>] nfs3_proc_getattr+0x54/0x80 [nfs]
 [<c0162a1b>] vfs_getattr+0x3b/0xa0
 [<c0162b2c>] vfs_lstat+0x2c/0x40
Code: 89 c6 8b 40 04 85 c0 74 0a 
`,
			reports: 1, release: "2.6.9-42.ELsmp", guilty: "nfs_update_inode",
			frames: []extractFrame{{"nfs_refresh_inode", "nfs"}, {"nfs3_proc_getattr", "nfs"}, {"vfs_getattr", ""}},
			nmods:  6, firstMod: "nfs", lastMod: "jbd",
		},
		{
			name: "x86_64 2.6.32 Pid line and RIP [<addr>] with RSP",
			text: `BUG: unable to handle kernel NULL pointer dereference at 0000000000000018
IP: [<ffffffffa01a2b3c>] ext4_ext_find_extent+0x3c/0x2f0 [ext4]
PGD 42a1b3067 PUD 41c2d4067 PMD 0 
Oops: 0000 [#1] SMP 
last sysfs file: /sys/devices/system/cpu/online
CPU 2 
Modules linked in: ext4 jbd2 mbcache sd_mod crc_t10dif ahci dm_mod
Pid: 2345, comm: flush-253:0 Not tainted 2.6.32-504.23.4.el6.x86_64 #1 HP ProLiant DL380p Gen8
RIP: 0010:[<ffffffffa01a2b3c>]  [<ffffffffa01a2b3c>] ext4_ext_find_extent+0x3c/0x2f0 [ext4]
RSP: 0018:ffff8804288a1b30  EFLAGS: 00010246
RAX: 0000000000000000 RBX: ffff88042a1b2c00 RCX: 0000000000000000
Process flush-253:0 (pid: 2345, threadinfo ffff8804288a0000, task ffff88042c1d2e40)
Stack:
 ffff8804288a1b60 ffffffffa01a3c4d 0000000000000000 ffff88042a1b2c00
Call Trace:
 [<ffffffffa01a3c4d>] ext4_ext_map_blocks+0x8d/0x1120 [ext4]
 [<ffffffffa0185e6f>] ext4_map_blocks+0xff/0x1d0 [ext4]
 [<ffffffff811ab1c2>] ? __find_get_block+0xa2/0x1f0
 [<ffffffffa0187a1b>] mpage_da_map_and_submit+0xbb/0x420 [ext4]
Code: 48 89 5d d8 4c 89 65 e0 4c 89 6d e8 4c 89 75 f0 
RIP  [<ffffffffa01a2b3c>] ext4_ext_find_extent+0x3c/0x2f0 [ext4]
 RSP <ffff8804288a1b30>
CR2: 0000000000000018
`,
			reports: 1, release: "2.6.32-504.23.4.el6.x86_64", guilty: "ext4_ext_find_extent",
			frames: []extractFrame{{"ext4_ext_map_blocks", "ext4"}, {"ext4_map_blocks", "ext4"}, {"mpage_da_map_and_submit", "ext4"}},
			nmods:  7, firstMod: "ext4", lastMod: "dm_mod",
		},
		{
			name: "x86_64 2.6.18 RIP  [<addr>] only at the end",
			text: `Unable to handle kernel NULL pointer dereference at 0000000000000000 RIP: 
 [<ffffffff8003a1b2>] list_del+0x12/0x80
PGD 12a1b3067 PUD 12c2d4067 PMD 0 
Oops: 0000 [1] SMP 
last sysfs file: /block/sda/removable
CPU 0 
Modules linked in: ipv6 xfrm_nalgo crypto_api dm_mirror bnx2
Pid: 5678, comm: httpd Not tainted 2.6.18-194.el5 #1
RIP: 0010:[<ffffffff8003a1b2>]  [<ffffffff8003a1b2>] list_del+0x12/0x80
RSP: 0018:ffff81012a1b3d48  EFLAGS: 00010246
Process httpd (pid: 5678, threadinfo ffff81012a1b2000, task ffff81012c1d2040)
Call Trace:
 [<ffffffff8000c1d2>] free_block+0x72/0x140
 [<ffffffff800d2e3f>] drain_array+0x9f/0xd0
 [<ffffffff800d3a4b>] cache_reap+0xbb/0x1d0
Code: 48 8b 10 48 39 fa 74 1b 
RIP  [<ffffffff8003a1b2>] list_del+0x12/0x80
 RSP <ffff81012a1b3d48>
`,
			// list_del is on syzkaller's list of helpers to look past.
			reports: 1, release: "2.6.18-194.el5", guilty: "free_block",
			frames: []extractFrame{{"free_block", ""}, {"drain_array", ""}, {"cache_reap", ""}},
			nmods:  5, firstMod: "ipv6", lastMod: "bnx2",
		},
		{
			name: "x86_64 150 modules over several lines, OE taints",
			text: `BUG: kernel NULL pointer dereference, address: 0000000000000040
#PF: supervisor read access in kernel mode
#PF: error_code(0x0000) - not-present page
Oops: 0000 [#1] PREEMPT SMP NOPTI
` + bigText + `
CPU: 7 PID: 2211 Comm: Xorg Tainted: P           OE     6.5.0-14-generic #14~22.04.1-Ubuntu
Hardware name: ASUS System Product Name/PRIME B550-PLUS, BIOS 2803 04/27/2022
RIP: 0010:nv_drm_gem_free+0x1a/0x60 [nvidia_drm]
Code: 00 00 0f 1f 44 00 00 55 48 89 e5 
RSP: 0018:ffffb3a1c2d3bd48 EFLAGS: 00010246
Call Trace:
 <TASK>
 ? show_regs+0x6d/0x80
 ? __die+0x24/0x80
 ? page_fault_oops+0x99/0x1b0
 ? exc_page_fault+0x7f/0x180
 ? asm_exc_page_fault+0x27/0x30
 ? nv_drm_gem_free+0x1a/0x60 [nvidia_drm]
 drm_gem_object_free+0x1e/0x40 [drm]
 nv_drm_gem_unref_ioctl+0x3c/0x60 [nvidia_drm]
 drm_ioctl_kernel+0xca/0x170 [drm]
 drm_ioctl+0x26d/0x4b0 [drm]
 __x64_sys_ioctl+0xa3/0xf0
 </TASK>
CR2: 0000000000000040
---[ end trace 0000000000000000 ]---
`,
			reports: 1, release: "6.5.0-14-generic", guilty: "nv_drm_gem_free",
			frames: []extractFrame{{"drm_gem_object_free", "drm"}, {"nv_drm_gem_unref_ioctl", "nvidia_drm"}, {"drm_ioctl_kernel", "drm"}},
			nmods:  len(bigMods), firstMod: bigMods[0], lastMod: bigMods[len(bigMods)-1],
		},
		{
			name: "x86_64 150 modules, journal and dmesg stamps",
			text: stamped(`BUG: kernel NULL pointer dereference, address: 0000000000000040
Oops: 0000 [#1] PREEMPT SMP NOPTI
` + bigText + `
CPU: 7 PID: 2211 Comm: Xorg Tainted: P           OE     6.5.0-14-generic #14~22.04.1-Ubuntu
RIP: 0010:nv_drm_gem_free+0x1a/0x60 [nvidia_drm]
Call Trace:
 <TASK>
 drm_gem_object_free+0x1e/0x40 [drm]
 nv_drm_gem_unref_ioctl+0x3c/0x60 [nvidia_drm]
 drm_ioctl_kernel+0xca/0x170 [drm]
 </TASK>
---[ end trace 0000000000000000 ]---
`),
			reports: 1, release: "6.5.0-14-generic", guilty: "nv_drm_gem_free",
			frames: []extractFrame{{"drm_gem_object_free", "drm"}, {"nv_drm_gem_unref_ioctl", "nvidia_drm"}, {"drm_ioctl_kernel", "drm"}},
			nmods:  len(bigMods), firstMod: bigMods[0], lastMod: bigMods[len(bigMods)-1],
		},
		{
			name: "x86_64 WARNING in an OE module",
			text: `------------[ cut here ]------------
WARNING: CPU: 3 PID: 1022 at /var/lib/dkms/zfs/2.1.5/build/module/zfs/dbuf.c:1421 dbuf_read+0x3a2/0x5f0 [zfs]
Modules linked in: zfs(POE) zunicode(POE) zzstd(OE) zlua(OE) zavl(POE) icp(POE) zcommon(POE) znvpair(POE) spl(OE) e1000e
CPU: 3 PID: 1022 Comm: txg_sync Tainted: P           OE     5.15.0-91-generic #101-Ubuntu
Hardware name: Supermicro X11SSH-F/X11SSH-F, BIOS 2.4 12/27/2019
RIP: 0010:dbuf_read+0x3a2/0x5f0 [zfs]
Code: 0f 0b e9 
RSP: 0018:ffffa1b2c3d4bc10 EFLAGS: 00010246
Call Trace:
 <TASK>
 dmu_buf_hold_array_by_dnode+0x11e/0x4d0 [zfs]
 dmu_read_impl+0xa5/0x1a0 [zfs]
 spa_sync+0x5f3/0xfa0 [zfs]
 txg_sync_thread+0x227/0x3e0 [zfs]
 thread_generic_wrapper+0x61/0x80 [spl]
 kthread+0x127/0x150
 </TASK>
---[ end trace 1a2b3c4d5e6f7a8b ]---
`,
			reports: 1, release: "5.15.0-91-generic", guilty: "dbuf_read",
			frames: []extractFrame{{"dmu_buf_hold_array_by_dnode", "zfs"}, {"dmu_read_impl", "zfs"}, {"spa_sync", "zfs"}},
			nmods:  10, firstMod: "zfs", lastMod: "e1000e",
		},
		{
			name: "x86_64 3.10 el7 BUG_ON with [<addr>] frames",
			text: `------------[ cut here ]------------
kernel BUG at fs/xfs/xfs_aops.c:1064!
invalid opcode: 0000 [#1] SMP 
Modules linked in: xfs libcrc32c sd_mod crc_t10dif mpt3sas raid_class
CPU: 12 PID: 9123 Comm: kworker/u64:3 Not tainted 3.10.0-1160.el7.x86_64 #1
Hardware name: Dell Inc. PowerEdge R730/0H21J3, BIOS 2.11.0 11/02/2019
task: ffff9a1b2c3d4000 ti: ffff9a1b2c3e0000 task.ti: ffff9a1b2c3e0000
RIP: 0010:[<ffffffffc05a1b2c>]  [<ffffffffc05a1b2c>] xfs_vm_writepage+0x58c/0x5d0 [xfs]
RSP: 0018:ffff9a1b2c3e3b88  EFLAGS: 00010246
Call Trace:
 [<ffffffff8b1c2d3e>] __writepage+0x1e/0x50
 [<ffffffff8b1c3e4f>] write_cache_pages+0x20f/0x480
 [<ffffffffc05a2c3d>] xfs_vm_writepages+0x5d/0x90 [xfs]
Code: 0f 0b 48 8b 45 
RIP  [<ffffffffc05a1b2c>] xfs_vm_writepage+0x58c/0x5d0 [xfs]
 RSP <ffff9a1b2c3e3b88>
`,
			reports: 1, release: "3.10.0-1160.el7.x86_64", guilty: "xfs_vm_writepage",
			frames: []extractFrame{{"__writepage", ""}, {"write_cache_pages", ""}, {"xfs_vm_writepages", "xfs"}},
			nmods:  6, firstMod: "xfs", lastMod: "raid_class",
		},
		{
			name: "arm64 6.x WARNING, pc in module, Call trace modules",
			text: `------------[ cut here ]------------
WARNING: CPU: 1 PID: 77 at drivers/gpu/drm/panfrost/panfrost_mmu.c:301 panfrost_mmu_map+0x11c/0x150 [panfrost]
Modules linked in: panfrost gpu_sched drm_shmem_helper snd_soc_hdmi_codec dw_hdmi_i2s_audio
CPU: 1 PID: 77 Comm: kworker/u8:2 Not tainted 6.1.0-rpi7-rpi-v8 #1  Debian 1:6.1.63-1+rpt1
Hardware name: Pine64 RockPro64 v2.1 (DT)
pstate: 80000005 (Nzcv daif -PAN -UAO -TCO -DIT -SSBS BTYPE=--)
pc : panfrost_mmu_map+0x11c/0x150 [panfrost]
lr : panfrost_mmu_map+0x9c/0x150 [panfrost]
sp : ffff80000a1b3c40
Call trace:
 panfrost_mmu_map+0x11c/0x150 [panfrost]
 panfrost_gem_open+0x1a4/0x1e0 [panfrost]
 drm_gem_handle_create_tail+0xd0/0x1a0
 drm_gem_shmem_create_with_handle+0x54/0xa0 [drm_shmem_helper]
---[ end trace 0000000000000000 ]---
`,
			reports: 1, release: "6.1.0-rpi7-rpi-v8", guilty: "panfrost_mmu_map",
			frames: []extractFrame{{"panfrost_mmu_map", "panfrost"}, {"panfrost_gem_open", "panfrost"}, {"drm_gem_handle_create_tail", ""}},
			nmods:  5, firstMod: "panfrost", lastMod: "dw_hdmi_i2s_audio",
		},
		{
			name: "ppc32 NIP and Call Trace without unreliable",
			text: `Unable to handle kernel paging request for data at address 0x00000010
Faulting instruction address: 0xc01a2b3c
Oops: Kernel access of bad area, sig: 11 [#1]
PREEMPT PowerMac
Modules linked in: snd_aoa_i2sbus snd_pcm
CPU: 0 PID: 1500 Comm: pulseaudio Not tainted 4.19.0-6-powerpc #1 Debian 4.19.67-2
NIP:  c01a2b3c LR: c01a2b10 CTR: 00000000
REGS: ef1a3d40 TRAP: 0300   Not tainted  (4.19.0-6-powerpc Debian 4.19.67-2)
NIP [c01a2b3c] snd_pcm_period_elapsed+0x2c/0x110
LR [c01a2b10] snd_pcm_period_elapsed+0x0/0x110
Call Trace:
[ef1a3e00] [f1a2b3c4] i2sbus_pcm_irq+0x84/0x1a0 [snd_aoa_i2sbus]
[ef1a3e40] [c0081234] __handle_irq_event_percpu+0x5c/0x1d0
[ef1a3e80] [c00813b4] handle_irq_event_percpu+0x24/0x70
Instruction dump:
7c0802a6 
`,
			reports: 1, release: "4.19.0-6-powerpc", guilty: "snd_pcm_period_elapsed",
			frames: []extractFrame{{"i2sbus_pcm_irq", "snd_aoa_i2sbus"}, {"__handle_irq_event_percpu", ""}, {"handle_irq_event_percpu", ""}},
			nmods:  2, firstMod: "snd_aoa_i2sbus", lastMod: "snd_pcm",
		},
		{
			name: "x86_64 3.x general protection fault, last unloaded",
			text: `general protection fault: 0000 [#1] SMP 
Modules linked in: nfsv3 nfs fscache(E) bonding ixgbe(OE) mdio dca [last unloaded: usb_storage]
CPU: 6 PID: 31337 Comm: java Tainted: G           OE  ------------   3.10.0-957.27.2.el7.x86_64 #1
Hardware name: HPE ProLiant DL360 Gen10/ProLiant DL360 Gen10, BIOS U32 02/02/2019
task: ffff8b5a1c2d3e40 ti: ffff8b5a1c2e0000 task.ti: ffff8b5a1c2e0000
RIP: 0010:[<ffffffffc07a1b2c>]  [<ffffffffc07a1b2c>] ixgbe_xmit_frame_ring+0x2ac/0x1000 [ixgbe]
RSP: 0018:ffff8b5a1c2e3a58  EFLAGS: 00010286
Call Trace:
 [<ffffffffc07a2c3d>] ixgbe_xmit_frame+0x4d/0x80 [ixgbe]
 [<ffffffff9a83e1f2>] dev_hard_start_xmit+0x1a2/0x3e0
 [<ffffffff9a869a1b>] sch_direct_xmit+0x11b/0x1e0
 [<ffffffffc06b1c2d>] ? bond_start_xmit+0x1ed/0x470 [bonding]
Code: 8b 43 08 
RIP  [<ffffffffc07a1b2c>] ixgbe_xmit_frame_ring+0x2ac/0x1000 [ixgbe]
 RSP <ffff8b5a1c2e3a58>
`,
			reports: 1, release: "3.10.0-957.27.2.el7.x86_64", guilty: "ixgbe_xmit_frame_ring",
			frames: []extractFrame{{"ixgbe_xmit_frame", "ixgbe"}, {"dev_hard_start_xmit", ""}, {"sch_direct_xmit", ""}},
			nmods:  7, firstMod: "nfsv3", lastMod: "dca",
		},
		{
			name: "x86_64 2.6.9 <addr>{:mod:func+dec} frames, several a line",
			text: `Unable to handle kernel NULL pointer dereference at 0000000000000008 RIP: 
<ffffffffa01a2b3c>{:nfs:nfs_update_inode+35}
PML4 1a2b3067 PGD 1c2d4067 PMD 0 
Oops: 0000 [1] SMP 
CPU 1 
Modules linked in: nfs lockd sunrpc e1000 ext3 jbd
Pid: 4321, comm: ls Not tainted 2.6.9-89.ELsmp
RIP: 0010:[<ffffffffa01a2b3c>] <ffffffffa01a2b3c>{:nfs:nfs_update_inode+35}
RSP: 0018:00000100a1b2bd48  EFLAGS: 00010246
Process ls (pid: 4321, threadinfo 00000100a1b2a000, task 00000100c1d2e030)
Call Trace:<ffffffffa01a3c4d>{:nfs:nfs_refresh_inode+60} <ffffffffa01a4d5e>{:nfs:nfs3_proc_getattr+84} 
       <ffffffff8018a1b2>{vfs_getattr+59} <ffffffff8018b2c3>{vfs_lstat+44} 
Code: 48 8b 40 08 
RIP <ffffffffa01a2b3c>{:nfs:nfs_update_inode+35} RSP <00000100a1b2bd48>
`,
			reports: 1, release: "2.6.9-89.ELsmp", guilty: "nfs_update_inode",
			frames: []extractFrame{{"nfs_refresh_inode", "nfs"}, {"nfs3_proc_getattr", "nfs"}, {"vfs_getattr", ""}},
			nmods:  6, firstMod: "nfs", lastMod: "jbd",
		},
		{
			name: "two oopses in one paste",
			text: `BUG: unable to handle kernel paging request at ffffc90000a1b000
IP: e1000_clean_tx_irq+0x8c/0x3e0 [e1000e]
Oops: 0000 [#1] SMP
Modules linked in: e1000e ptp pps_core
CPU: 0 PID: 0 Comm: swapper/0 Not tainted 4.4.0-21-generic #37-Ubuntu
RIP: 0010:[<ffffffffc0012a3c>]  [<ffffffffc0012a3c>] e1000_clean_tx_irq+0x8c/0x3e0 [e1000e]
Call Trace:
 <IRQ> 
 [<ffffffffc0013b4d>] e1000e_poll+0x7d/0x2f0 [e1000e]
 [<ffffffff81717a1c>] net_rx_action+0x21c/0x360
 [<ffffffff81084c2d>] __do_softirq+0x10d/0x2a0
Code: 0f b6 
RIP  [<ffffffffc0012a3c>] e1000_clean_tx_irq+0x8c/0x3e0 [e1000e]
---[ end trace 1111111111111111 ]---
BUG: unable to handle kernel NULL pointer dereference at 0000000000000008
IP: e1000_clean_rx_irq+0x1c/0x3a0 [e1000e]
Oops: 0000 [#2] SMP
Modules linked in: e1000e ptp pps_core
CPU: 1 PID: 0 Comm: swapper/1 Tainted: G      D         4.4.0-21-generic #37-Ubuntu
RIP: 0010:[<ffffffffc0011a1c>]  [<ffffffffc0011a1c>] e1000_clean_rx_irq+0x1c/0x3a0 [e1000e]
Call Trace:
 <IRQ> 
 [<ffffffffc0013b4d>] e1000e_poll+0x9d/0x2f0 [e1000e]
 [<ffffffff81717a1c>] net_rx_action+0x21c/0x360
 [<ffffffff81084c2d>] __do_softirq+0x10d/0x2a0
Code: 0f b6 
RIP  [<ffffffffc0011a1c>] e1000_clean_rx_irq+0x1c/0x3a0 [e1000e]
---[ end trace 2222222222222222 ]---
`,
			reports: 2, release: "4.4.0-21-generic", guilty: "e1000_clean_tx_irq",
			frames: []extractFrame{{"e1000e_poll", "e1000e"}, {"net_rx_action", ""}, {"__do_softirq", ""}},
			nmods:  3, firstMod: "e1000e", lastMod: "pps_core",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reps, err := Parse(strings.NewReader(tc.text), "paste.txt")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(reps) != tc.reports {
				for _, r := range reps {
					t.Logf("report %q", r.Title)
				}
				t.Fatalf("%d reports, want %d", len(reps), tc.reports)
			}
			r := reps[0]
			if got := strOr(r.Release); got != tc.release {
				t.Errorf("release %q, want %q", got, tc.release)
			}
			if got := strOr(r.GuiltyFunction); got != tc.guilty {
				t.Errorf("guilty function %q, want %q (title %q)", got, tc.guilty, r.Title)
			}
			var frames []extractFrame
			for _, f := range r.Frames {
				if !f.Reliable {
					// "?" and "(unreliable)" entries: stack
					// leftovers, which abrt's hashing drops too.
					continue
				}
				frames = append(frames, extractFrame{f.Function, strOr(f.Module)})
			}
			for i, want := range tc.frames {
				if i >= len(frames) {
					t.Errorf("frame %d missing, want %v (frames %v)", i, want, frames)
					break
				}
				if frames[i] != want {
					t.Errorf("frame %d is %v, want %v (frames %v)", i, frames[i], want, frames)
					break
				}
			}
			if len(r.Modules) != tc.nmods {
				t.Errorf("%d modules, want %d (%v)", len(r.Modules), tc.nmods, r.Modules)
			} else if tc.nmods > 0 && (r.Modules[0] != tc.firstMod || r.Modules[tc.nmods-1] != tc.lastMod) {
				t.Errorf("modules %s..%s, want %s..%s", r.Modules[0], r.Modules[tc.nmods-1], tc.firstMod, tc.lastMod)
			}
		})
	}
}

// strOr returns *p, or "" for nil.
func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestTaskLineRelease checks the release and taint read from the task
// line of each kernel generation.
func TestTaskLineRelease(t *testing.T) {
	for _, c := range []struct{ line, release, tainted string }{
		{"Pid: 4321, comm: ls Not tainted 2.6.9-89.ELsmp", "2.6.9-89.ELsmp", ""},
		{"Pid: 4321, comm: ls Tainted: GF 2.6.9-89.ELsmp", "2.6.9-89.ELsmp", "F"},
		{"Pid: 0, comm: swapper Not tainted 2.6.32-504.23.4.el6.x86_64 #1 HP ProLiant DL380p Gen8", "2.6.32-504.23.4.el6.x86_64", ""},
		{"CPU: 0    Not tainted  (3.4.103 #2)", "3.4.103", ""},
		{"CPU: 0    Tainted: P  O    (3.4.103 #2)", "3.4.103", "PO"},
		{"CPU: 6 PID: 31337 Comm: java Tainted: G           OE  ------------   3.10.0-957.el7.x86_64 #1", "3.10.0-957.el7.x86_64", "OE"},
		// No release at all: nothing is made up.
		{"Pid: 4321, comm: ls Not tainted", "", ""},
	} {
		tl, ok := parseTaskLine(c.line)
		if !ok {
			t.Errorf("%q: not a task line", c.line)
			continue
		}
		if tl.release != c.release || strOr(tl.tainted) != c.tainted {
			t.Errorf("%q: release %q tainted %q, want %q %q", c.line, tl.release, strOr(tl.tainted), c.release, c.tainted)
		}
	}
}
