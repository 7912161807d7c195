#!/bin/bash
# make-example.sh - produce the REAL kernel console logs shipped under examples/.
#
# A stock Debian 12 cloud kernel is booted under QEMU (TCG, no KVM needed) with a tiny
# busybox initramfs. The initramfs init sets up a little network and then crashes the
# kernel on purpose. The serial console is captured to examples/<name>/console.log.
#
# Examples (all three by default; pass names to build just some):
#   qemu-skb-over-panic  crashnet.ko (a deliberately broken virtual NIC driver, source below)
#                        pads every outgoing frame past the end of its buffer. "ping" sends an
#                        ARP request -> dev_queue_xmit -> sch_direct_xmit -> crashnet_start_xmit
#                        -> skb_put -> skb_over_panic -> "kernel BUG at net/core/skbuff.c:NNN!";
#                        oops=panic -> "Kernel panic - not syncing: Fatal exception".
#   qemu-xmit-nullptr    same driver, bug=nullptr: TX ring pointer never allocated ->
#                        "BUG: kernel NULL pointer dereference" in crashnet_start_xmit,
#                        oops=panic -> "Kernel panic - not syncing: Fatal exception".
#   qemu-sysrq-crash     no module: "echo c > /proc/sysrq-trigger" ->
#                        "Kernel panic - not syncing: sysrq triggered crash".
#
# usage: tools/make-example.sh [EXAMPLE...]
# env:   CACHE=<repo>/.cache/example  (downloads, extracted kernel, module build; git-ignored)
#        BOOT_TIMEOUT=180              (hard limit per QEMU run, seconds)
#        KVER=6.1.0-NN-cloud-amd64     (default: what linux-image-cloud-amd64 depends on)
#        SKIP_APT=1                    (do not apt-get install anything)
# Idempotent: downloads and builds are cached; every run re-boots and rewrites the logs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CACHE:-$ROOT/.cache/example}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
ALL_EXAMPLES="qemu-skb-over-panic qemu-xmit-nullptr qemu-sysrq-crash"
EXAMPLES=${*:-$ALL_EXAMPLES}
T0=$(date +%s)
say() { printf '[make-example %3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

mkdir -p "$CACHE"
cd "$CACHE"

# ------------------------------------------------------------------ host packages
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=
apt_install() {  # install the given packages if any of them is missing
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -n "${SKIP_APT:-}" ] && { say "missing packages ${missing[*]} (SKIP_APT set)"; exit 1; }
  if [ -z "$APT_UPDATED" ]; then apt-get update -q >/dev/null; APT_UPDATED=1; fi
  say "apt-get install ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
apt_install qemu-system-x86 busybox-static cpio gzip gcc make

if [ -z "${KVER:-}" ]; then
  KVER=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
         sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -1)
  if [ -z "$KVER" ]; then
    [ -z "$APT_UPDATED" ] && { apt-get update -q >/dev/null; APT_UPDATED=1; }
    KVER=$(apt-cache depends linux-image-cloud-amd64 |
           sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -1)
  fi
fi
[ -n "$KVER" ] || { say "cannot determine the cloud kernel version"; exit 1; }
say "kernel linux-image-$KVER"

# ------------------------------------------------------------------ kernel (.deb, not installed)
KDIR=$CACHE/kernel-$KVER
if [ ! -s "$KDIR/boot/vmlinuz-$KVER" ]; then
  mkdir -p "$CACHE/debs"
  ls "$CACHE/debs/linux-image-${KVER}_"*.deb >/dev/null 2>&1 ||
    (cd "$CACHE/debs" && apt-get download "linux-image-$KVER" >/dev/null)
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
  dpkg-deb -x "$CACHE/debs/linux-image-${KVER}_"*.deb "$KDIR.tmp"
  rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
fi
KPKGVER=$(dpkg-deb -f "$CACHE/debs/linux-image-${KVER}_"*.deb Version 2>/dev/null || echo '?')
say "kernel package version $KPKGVER"

# ------------------------------------------------------------------ crashnet.ko
need_module=
for e in $EXAMPLES; do case $e in qemu-skb-over-panic|qemu-xmit-nullptr) need_module=1 ;; esac; done
MODDIR=$CACHE/crashnet-$KVER
write_module_source() {
  mkdir -p "$MODDIR"
  cat > "$MODDIR/crashnet.c.new" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
/*
 * crashnet - a virtual Ethernet NIC driver with deliberate, realistic bugs in its
 * transmit routine, so that ktriage has genuine network-path oopses to look at.
 *
 *   bug=skb_over  crashnet_pad_frame() pads frames to the jumbo size instead of
 *                 ETH_ZLEN, skb_put() runs past skb->end -> skb_over_panic() ->
 *                 "kernel BUG at net/core/skbuff.c"
 *   bug=nullptr   the TX descriptor ring is only allocated in a code path that never
 *                 runs; crashnet_ring_post() dereferences the NULL ring pointer
 */
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

static char *bug = "skb_over";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "which transmit bug to hit: skb_over | nullptr");

#define CRASHNET_RING_SIZE 256
#define CRASHNET_JUMBO_FRAME 9018

struct crashnet_ring {
	unsigned int prod;
	unsigned int cons;
	struct sk_buff *skbs[CRASHNET_RING_SIZE];
};

struct crashnet_priv {
	struct crashnet_ring *tx_ring;	/* set up by crashnet_alloc_rings(), never called */
	unsigned int min_frame;
	bool use_ring;
};

static struct net_device *crashnet_dev;

static noinline void crashnet_pad_frame(struct crashnet_priv *priv, struct sk_buff *skb)
{
	/* BUG: min_frame is the jumbo frame size, and there is no skb_tailroom() check */
	if (skb->len < priv->min_frame)
		skb_put(skb, priv->min_frame - skb->len);
}

static noinline void crashnet_ring_post(struct crashnet_priv *priv, struct sk_buff *skb)
{
	struct crashnet_ring *ring = priv->tx_ring;	/* NULL */

	ring->skbs[ring->prod % CRASHNET_RING_SIZE] = skb;
	ring->prod++;
}

static netdev_tx_t crashnet_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct crashnet_priv *priv = netdev_priv(dev);

	if (priv->use_ring) {
		crashnet_ring_post(priv, skb);
		return NETDEV_TX_OK;
	}
	crashnet_pad_frame(priv, skb);
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += skb->len;
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops crashnet_netdev_ops = {
	.ndo_start_xmit		= crashnet_start_xmit,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void crashnet_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &crashnet_netdev_ops;
	eth_hw_addr_random(dev);
}

static int __init crashnet_init(void)
{
	struct crashnet_priv *priv;
	int err;

	crashnet_dev = alloc_netdev(sizeof(struct crashnet_priv), "crash%d",
				    NET_NAME_ENUM, crashnet_setup);
	if (!crashnet_dev)
		return -ENOMEM;
	priv = netdev_priv(crashnet_dev);
	priv->min_frame = CRASHNET_JUMBO_FRAME;
	priv->use_ring = !strcmp(bug, "nullptr");
	err = register_netdev(crashnet_dev);
	if (err) {
		free_netdev(crashnet_dev);
		return err;
	}
	netdev_info(crashnet_dev, "crashnet NIC ready, bug=%s\n", bug);
	return 0;
}

static void __exit crashnet_exit(void)
{
	unregister_netdev(crashnet_dev);
	free_netdev(crashnet_dev);
}

module_init(crashnet_init);
module_exit(crashnet_exit);
MODULE_DESCRIPTION("virtual NIC with deliberate transmit bugs (ktriage examples)");
MODULE_LICENSE("GPL");
EOF
  if cmp -s "$MODDIR/crashnet.c.new" "$MODDIR/crashnet.c"; then
    rm -f "$MODDIR/crashnet.c.new"
  else
    mv "$MODDIR/crashnet.c.new" "$MODDIR/crashnet.c"
    rm -f "$MODDIR/crashnet.ko"
  fi
  echo 'obj-m := crashnet.o' > "$MODDIR/Makefile"
}
if [ -n "$need_module" ]; then
  apt_install "linux-headers-$KVER"
  write_module_source
  if [ ! -s "$MODDIR/crashnet.ko" ]; then
    say "building crashnet.ko"
    make -s -C "/usr/src/linux-headers-$KVER" M="$MODDIR" modules >&2
  fi
fi

# ------------------------------------------------------------------ initramfs
say "building initramfs"
RFS=$CACHE/rootfs
rm -rf "$RFS" && mkdir -p "$RFS"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules}
cp /bin/busybox "$RFS/bin/busybox"
for a in $("$RFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$RFS/bin/$a"; done
[ -n "$need_module" ] && cp "$MODDIR/crashnet.ko" "$RFS/lib/modules/"
cat > "$RFS/init" <<'EOF'
#!/bin/sh
# ktriage example init: set up a small network, then crash the kernel on purpose.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
example=
for w in $(cat /proc/cmdline); do
  case $w in ktriage.example=*) example=${w#ktriage.example=} ;; esac
done
echo "init: example=$example"
run() { echo "# $*"; "$@"; }
# No IPv6 autoconfiguration traffic: the first frame on the wire must be ping's ARP request.
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
run ip link set lo up
case $example in
  qemu-skb-over-panic|qemu-xmit-nullptr)
    bug=skb_over; [ "$example" = qemu-xmit-nullptr ] && bug=nullptr
    run insmod /lib/modules/crashnet.ko bug=$bug
    run ip link set crash0 up
    run ip addr add 192.0.2.10/24 dev crash0
    run ip link show crash0
    sleep 1
    run ping -c 1 -W 2 192.0.2.1
    ;;
  qemu-sysrq-crash)
    run uname -a
    run cat /proc/sys/kernel/sysrq
    sync
    echo "# echo c > /proc/sysrq-trigger"
    echo c > /proc/sysrq-trigger
    ;;
  *) echo "init: unknown example '$example'" ;;
esac
echo "init: still alive, no crash happened"
sleep 3
poweroff -f
EOF
chmod +x "$RFS/init"
(cd "$RFS" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | gzip -9n > "$CACHE/initramfs.cpio.gz"

# ------------------------------------------------------------------ boot + crash
boot_example() {
  local name=$1 out=$ROOT/examples/$1 raw=$CACHE/$1.serial
  local append="console=ttyS0,115200 panic=0 oops=panic ktriage.example=$name"
  mkdir -p "$out"
  rm -f "$raw"
  say "$name: booting (timeout ${BOOT_TIMEOUT}s): $append"
  timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 2 -m 256 \
      -display none -monitor none -no-reboot \
      -serial "file:$raw" \
      -kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$CACHE/initramfs.cpio.gz" \
      -append "$append" &
  local qpid=$! t=0 done=
  # panic=0: the guest halts after "---[ end Kernel panic ..." and QEMU keeps running, so
  # stop QEMU ourselves once that line is on the console (or when init powers off).
  while kill -0 "$qpid" 2>/dev/null; do
    if grep -q -- '---\[ end Kernel panic' "$raw" 2>/dev/null; then
      sleep 1; done=1; kill "$qpid" 2>/dev/null || true; break
    fi
    sleep 1; t=$((t + 1))
  done
  wait "$qpid" 2>/dev/null || true
  [ -n "$done" ] || { say "$name: no '---[ end Kernel panic' line after ${t}s"; tail -20 "$raw" >&2; return 1; }
  # CRLF -> LF, drop terminal control sequences SeaBIOS/the kernel may emit.
  sed -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$raw" > "$out/console.log"
  local want
  case $name in
    qemu-skb-over-panic) want='skb_over_panic|kernel BUG at net/core/skbuff.c|crashnet_start_xmit|Call Trace:|Kernel panic - not syncing: Fatal exception' ;;
    qemu-xmit-nullptr)   want='BUG: kernel NULL pointer dereference|crashnet_ring_post|Call Trace:|Kernel panic - not syncing: Fatal exception' ;;
    qemu-sysrq-crash)    want='sysrq: Trigger a crash|Kernel panic - not syncing: sysrq triggered crash|Call Trace:' ;;
  esac
  local IFS='|' w
  for w in $want; do
    grep -qF -- "$w" "$out/console.log" || { say "$name: console.log lacks '$w'"; return 1; }
  done
  unset IFS
  say "$name: $(wc -l < "$out/console.log") lines, $(wc -c < "$out/console.log") bytes -> examples/$name/console.log"
}
for e in $EXAMPLES; do
  case " $ALL_EXAMPLES " in *" $e "*) ;; *) say "unknown example $e"; exit 2 ;; esac
  boot_example "$e"
done
say "done in $(( $(date +%s) - T0 ))s"
