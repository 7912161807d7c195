#!/bin/bash
# gen-vmcores.sh - generate REAL vmcores of a REAL kernel panic for ktriage's tests.
#
# usage: tools/gen-vmcores.sh [OUTDIR]        (default: <repo>/.cache/vmcores, git-ignored)
#        KSERIES=6.12 QMP=0 tools/gen-vmcores.sh .cache/vmcores-6.12   (internal/vmcores' Set612)
#
# The stock Debian 12 cloud kernel (the one tools/make-example.sh uses, from the same
# cache) boots under QEMU TCG (KVM does not work on our machines) with a busybox
# initramfs whose /init is tools/vmcore-guest/init. The guest panics on the network
# transmit path: crashnet.ko (the broken virtual NIC of tools/make-example.sh, its
# source taken from that script) pads an outgoing ARP frame past the end of the skb ->
# skb_over_panic -> "kernel BUG at net/core/skbuff.c" -> oops=panic. If the module
# cannot be built the trigger is `echo c > /proc/sysrq-trigger` (manifest says which).
#
# Two boots:
#  1. QMP boot (-m $MEM, -smp $SMP, -device vmcoreinfo, -device pvpanic-pci with
#     -action panic=pause): on the GUEST_PANICKED event the host asks QEMU over QMP
#     (a pipe chardev: plain bash, no client needed) for dump-guest-memory:
#       elf-qemu/vmcore.elf          ELF, paging:false: QEMU 7.2 puts two section headers
#                                    at offset 64 and the program headers after them
#                                    (e_phoff=192), and writes e_ehsize=8 (sizeof a pointer)
#       elf-qemu-paging/vmcore.elf   ELF, paging:true (~150 PT_LOADs, one per guest virtual
#                                    mapping); makedumpfile cannot read it even rewritten
#                                    ("Could not validate mem_section"): its expected dmesg
#                                    is elf-qemu's (same memory, same pause)
#       kdump-zlib-qemu/vmcore.flat  format:kdump-zlib: makedumpfile's FLATTENED stream. QEMU
#                                    7.2 parses VMCOREINFO's decimal NUMBER(phys_base)= as hex
#                                    for the kdump sub-header, so makedumpfile fails on it
#                                    ("Can't get a valid pgd"); its expected dmesg is made from
#                                    a de-flattened copy with phys_base corrected
#     Registers in these dumps are where QEMU paused the vCPUs, not a crash-time NT_PRSTATUS
#     from the kernel, and VMCOREINFO has no CRASHTIME. Each entry's "quirk" says the above.
#     makedumpfile 1.7.2 cannot read QEMU's ELF ("Can't get the number of PT_LOAD"): it
#     reads the program headers at offset 64 whatever e_phoff says. So a copy of
#     elf-qemu/vmcore.elf is rewritten (elf_phdrs_at_64 below: the program headers are
#     moved to offset 64, e_shoff/e_shnum/e_shstrndx zeroed; the notes and memory keep
#     their offsets) and makedumpfile makes, from that copy, with VMCOREINFO only (no vmlinux):
#       kdump-zlib/vmcore            makedumpfile -c        (kdump-compressed, zlib, -d 0)
#       kdump-lzo/vmcore             makedumpfile -l        (kdump-compressed, LZO, -d 0)
#       kdump-d31/vmcore             makedumpfile -c -d 31  (zlib, filtered like /var/crash)
#       flat/vmcore.flat             makedumpfile -F -d 1   (flattened, pages uncompressed,
#                                    zero pages left out: plain -F would be all 256 MiB)
#  2. kdump boot (-m $KDUMP_MEM, crashkernel=$CRASHKERNEL): /init loads the same kernel as
#     capture kernel with `kexec -p` (Debian kexec-tools; the binary and its libraries are
#     in the initramfs, with makedumpfile). The panic boots it; its /init (the same file)
#     runs makedumpfile --dump-dmesg and -c -d 31 on /proc/vmcore, copies /proc/vmcore to
#     the second virtio disk and tars the rest to the first, then powers off:
#       elf-proc-vmcore/vmcore.elf   /proc/vmcore as the capture kernel saw it (ELF, phdrs at
#                                    64, per-CPU NT_PRSTATUS with crash registers, CRASHTIME)
#                                    + vmcore-dmesg.txt made inside the capture kernel
#       kdump-proc-d31/vmcore        makedumpfile -c -d 31 run inside the capture kernel
#
#  3. tcpskb kdump boot (TCPSKB=1; as 2, ktv.trigger=tcpskb): the seed's bug on a real TCP
#     socket. tcpskb.ko (tools/vmcore-guest/tcpskb.c) hooks NF_INET_POST_ROUTING; the guest
#     puts a veth pair between its netns and a second one (host iproute2 `ip` and `ethtool`
#     in the initramfs), turns veth0's tx-checksumming off, and tcpsend (tools/vmcore-guest/
#     tcpsend.c, gcc -static) connects through veth0 to a sink in the other netns, prints
#       tcpskb: pid=N comm=tcpsend fd=N ino=N local=IP:PORT remote=IP:PORT dev=veth0 len=144
#     (console and /dev/kmsg) and write()s 144 bytes. The hook makes that segment's payload
#     unbacked (data_len 144, nr_frags 0, no frag_list, CHECKSUM_PARTIAL) and prints
#     `tcpskb: skb=%px sk=%px ...` (the skb also in the global tcpskb_bad_skb); then
#     __dev_queue_xmit -> validate_xmit_skb -> skb_checksum_help -> __skb_checksum BUG_ON(len)
#     in the process's write(). The capture kernel runs makedumpfile -c -d 31 only:
#       tcpskb-kdump-d31/vmcore      kdump-compressed, zlib, -d 31, + vmcore-dmesg.txt; its
#                                    entry has "guest": the two lines above parsed (pid, comm,
#                                    fd, ino, local, remote, dev, len, skb, sk)
#     or, when its makedumpfile warns that it does not know the kernel and the kernel has no
#     PG_slab flag (6.12 with Debian 12's makedumpfile 1.7.2, which then takes slab pages for
#     user pages and -d 31 drops live task_structs, files and sockets), -c -d 1 instead:
#       tcpskb-kdump-d1/vmcore       the same, -d 1 (zero pages only); its quirk says why.
#                                    Too big for the capture kernel's tmpfs: it is written
#                                    flattened (-F) to the second disk and de-flattened here
#
# Other kernels: KSERIES=6.12 picks the newest linux-image-6.12.*-cloud-amd64 apt knows
# (KVER= names one exactly); the set is then pinned by OUTDIR/kernel.txt. QMP=0 leaves out
# boot 1 and its derived dumps (internal/vmcores makes its 6.12 set so: boots 2 and 3).
# Module builds use /usr/src/linux-headers-$KVER when installed, else Debian's header
# packages (flavour, -common, linux-kbuild) downloaded and extracted under $CACHE.
#
# Beside every dump: dmesg.makedumpfile.txt = makedumpfile --dump-dmesg on that dump (for
# a flattened one, on its `makedumpfile -R` de-flattening; for QEMU's ELF, on the rewritten
# copy) - the expected output of `ktriage dmesg`; console.log (the serial console of the
# boot, CRLF); entry.json (this dump's manifest entry). manifest.json lists them all with
# their sizes and is written last: tests (internal/vmcores) treat it as "done". It records
# generator_version (internal/vmcores regenerates, keeping what exists, when its own is
# higher and an entry it wants is missing), kernel_package_version (dpkg-deb -f Version of
# the linux-image .deb booted) and debug_package (`apt-get download` it for the vmlinux).
# ELF files are made sparse (fallocate --dig-holes): with init_on_free=1 (KARGS) freed
# pages are zero, so a 256 MiB guest's ELF takes ~60 MB of disk; all dumps ~380 MB on disk
# (~950 MB apparent). -cpu max,la57=off: 4-level paging, as on most machines (-cpu max
# alone gives the guest LA57 and 5-level page tables: CPU=max to get those).
# Timings (2 cores, warm cache): QMP boot to panic ~5 s, the three QEMU dumps ~3 s, the
# four makedumpfile dumps ~4 s, kdump boot to capture done ~15 s, tcpskb kdump boot ~15 s
# (6.12 at -d 1: ~20-30 s); ~60 s in all (6.12 set, QMP=0: ~50 s).
#
# Idempotent: a dump that exists is kept; QMP-boot dumps are made together (a new boot
# means new memory, so its derived dumps are remade too). FORCE=1 starts from scratch.
# env: MEM=256 SMP=2 (QMP boot)   KDUMP_MEM=320 CRASHKERNEL=96M (kdump boot)
#      BOOT_TIMEOUT=300 (hard limit per QEMU run, s)   PAGING=1 (0: no elf-qemu-paging)
#      KDUMP=1 (0: no kdump boot)   TRIGGER=crashnet|sysrq   KVER=6.1.0-NN-cloud-amd64
#      QMP=1 (0: no QMP boot nor derived dumps)   TCPSKB=1 (0: no tcpskb boot)   KSERIES=6.12
#      CACHE=<repo>/.cache/example (kernel .deb and crashnet.ko, shared with make-example.sh)
#      CPU=max,la57=off   KARGS=init_on_free=1 (extra guest kernel arguments)
#      SKIP_APT=1 (never apt-get install)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/.cache/vmcores}")
CACHE=${CACHE:-$ROOT/.cache/example}
MEM=${MEM:-256}
SMP=${SMP:-2}
KDUMP_MEM=${KDUMP_MEM:-320}
CRASHKERNEL=${CRASHKERNEL:-96M}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
PAGING=${PAGING:-1}
KDUMP=${KDUMP:-1}
QMP=${QMP:-1}
TCPSKB=${TCPSKB:-1}
TCPSKB_PORT=7777
TCPSKB_LEN=144  # the seed's data_len: 210-byte frame = 14 Ethernet + 20 IP + 32 TCP + 144
TRIGGER=${TRIGGER:-crashnet}
CPU=${CPU:-max,la57=off}
KARGS=${KARGS:-init_on_free=1}
GUEST=$ROOT/tools/vmcore-guest
# 2: tcpskb-kdump-d31, QMP=0, KSERIES; 3: tcpskb-kdump-d1 where -d 31 loses slab pages.
# internal/vmcores compares it
GENERATOR_VERSION=3
T0=$(date +%s)
say() { printf '[gen-vmcores %3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { say "FATAL: $*"; exit 1; }
ERRORS=()
fail() { say "ERROR: $*"; ERRORS+=("$*"); }

mkdir -p "$OUT" "$CACHE"
exec 9>"$OUT/.gen.lock"
flock 9
[ "${FORCE:-0}" = 1 ] && { say "FORCE=1: removing $OUT/*"; find "$OUT" -mindepth 1 -maxdepth 1 ! -name .gen.lock -exec rm -rf {} +; }
W=$OUT/.work
rm -rf "$W" && mkdir -p "$W" "$OUT/logs"
QPID=
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# ------------------------------------------------------------------ what is missing
QMP_DIRS= DERIVED_DIRS=
if [ "$QMP" = 1 ]; then
  QMP_DIRS="elf-qemu kdump-zlib-qemu"
  [ "$PAGING" = 1 ] && QMP_DIRS="$QMP_DIRS elf-qemu-paging"
  DERIVED_DIRS="kdump-zlib kdump-lzo kdump-d31 flat"
fi
KDUMP_DIRS="elf-proc-vmcore kdump-proc-d31"
# tcpskb-kdump-d1 instead of -d31 when the capture kernel's makedumpfile would drop slab
# pages (see tcpskb_boot)
TCPSKB_DIRS="tcpskb-kdump-d31 tcpskb-kdump-d1"
have() { [ -s "$OUT/$1/entry.json" ]; }
# tcpskb_current: a tcpskb dump is there, and is not a -d 31 one that lacks slab pages: made
# by generator version 2 (no ktv.keepslab) with a makedumpfile that warned it does not know
# the kernel, of a kernel without PG_slab in VMCOREINFO
tcpskb_current() {
  have tcpskb-kdump-d1 && return 0
  have tcpskb-kdump-d31 || return 1
  grep -q 'kernel version is not supported' "$OUT/tcpskb-kdump-d31/entry.json" || return 0
  head -c 1048576 "$OUT/tcpskb-kdump-d31/vmcore" | grep -a -q -F 'NUMBER(PG_slab)='
}
need_qmp=
for d in $QMP_DIRS; do have "$d" || need_qmp=1; done
need_derived=$need_qmp
for d in $DERIVED_DIRS; do have "$d" || need_derived=1; done
need_kdump=
if [ "$KDUMP" = 1 ]; then for d in $KDUMP_DIRS; do have "$d" || need_kdump=1; done; fi
need_tcpskb=
if [ "$TCPSKB" = 1 ]; then tcpskb_current || need_tcpskb=1; fi
need_boot=$need_qmp$need_kdump$need_tcpskb

# ------------------------------------------------------------------ host packages
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=
apt_update() { [ -n "$APT_UPDATED" ] || { apt-get update -q >/dev/null; APT_UPDATED=1; }; }
apt_install() {  # install those of the given packages that are missing
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -n "${SKIP_APT:-}" ] && { say "missing packages ${missing[*]} (SKIP_APT set)"; return 1; }
  [ "$(id -u)" = 0 ] || { say "missing packages ${missing[*]} (not root: apt-get install them)"; return 1; }
  apt_update
  say "apt-get install ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
apt_install makedumpfile || die "makedumpfile is needed"
if [ -n "$need_boot" ]; then
  apt_install qemu-system-x86 busybox-static cpio gzip kexec-tools || die "QEMU, busybox, kexec-tools are needed"
fi
MKDF_VERSION=$(makedumpfile -v 2>&1 | sed -n 's/^makedumpfile: version \([^ ]*\).*/\1/p')

# ------------------------------------------------------------------ kernel (same cache as make-example.sh)
kernel_version() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -1
}
# series_version SERIES: the newest linux-image-SERIES.*-cloud-amd64 apt knows (6.12 ->
# 6.12.118+deb12-cloud-amd64), the signed images only (-dbg and -unsigned end otherwise)
series_version() {
  local re=${1//./\\.}
  apt-cache pkgnames "linux-image-$1." 2>/dev/null | grep -E "^linux-image-$re\.[0-9][^ ]*-cloud-amd64\$" |
    sed 's/^linux-image-//' | sort -V | tail -1
}
if [ -z "${KVER:-}" ] && [ -s "$OUT/kernel.txt" ]; then KVER=$(cat "$OUT/kernel.txt"); fi
if [ -z "${KVER:-}" ] && [ -n "${KSERIES:-}" ]; then
  KVER=$(series_version "$KSERIES")
  [ -n "$KVER" ] || { apt_update; KVER=$(series_version "$KSERIES"); }
  [ -n "$KVER" ] || die "no linux-image-$KSERIES.*-cloud-amd64 in apt's lists"
fi
if [ -z "${KVER:-}" ]; then
  KVER=$(kernel_version)
  [ -n "$KVER" ] || { apt_update; KVER=$(kernel_version); }
fi
[ -n "$KVER" ] || die "cannot determine the Debian cloud kernel version (set KVER)"
# fetch_deb PACKAGE: $CACHE/debs/PACKAGE_*.deb, downloaded (not installed) once
fetch_deb() {
  ls "$CACHE/debs/${1}_"*.deb >/dev/null 2>&1 && return 0
  mkdir -p "$CACHE/debs"
  (cd "$CACHE/debs" && apt-get download "$1" >/dev/null 2>&1) ||
    { apt_update; (cd "$CACHE/debs" && apt-get download "$1" >/dev/null); }
}
deb_of() { ls "$CACHE/debs/${1}_"*.deb 2>/dev/null | head -1; }
KDIR=$CACHE/kernel-$KVER
VMLINUZ=$KDIR/boot/vmlinuz-$KVER
if [ -n "$need_boot" ] && [ ! -s "$VMLINUZ" ]; then
  fetch_deb "linux-image-$KVER" || die "apt-get download linux-image-$KVER"
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
  dpkg-deb -x "$(deb_of "linux-image-$KVER")" "$KDIR.tmp"
  rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
fi
KPKGVER=$(dpkg-deb -f "$(deb_of "linux-image-$KVER")" Version 2>/dev/null || true)
# no .deb (all dumps there, the cache cleaned): the version the manifest recorded
[ -n "$KPKGVER" ] || KPKGVER=$(sed -n 's/^ "kernel_package": "\(.*\)",$/\1/p' "$OUT/manifest.json" 2>/dev/null || true)
[ -n "$KPKGVER" ] || KPKGVER=unknown
echo "$KVER" > "$OUT/kernel.txt"
say "kernel $KVER ($KPKGVER), makedumpfile $MKDF_VERSION; out $OUT"
KMOD=$KDIR/lib/modules/$KVER/kernel

# ------------------------------------------------------------------ modules and tcpsend
# kernel_headers: sets KHDR to a build tree for KVER's modules: /usr/src/linux-headers-$KVER
# when installed, else the flavour's header package, its -common and linux-kbuild packages
# downloaded and extracted under $CACHE (installing them would pull the image, initramfs-
# tools and more into the host), the flavour's Makefile pointed at the extracted -common.
KHDR=
kernel_headers() {
  [ -n "$KHDR" ] && return 0
  if [ -f "/usr/src/linux-headers-$KVER/Makefile" ]; then KHDR=/usr/src/linux-headers-$KVER; return 0; fi
  local H=$CACHE/headers-$KVER p deps
  if [ ! -f "$H/usr/src/linux-headers-$KVER/Makefile" ]; then
    fetch_deb "linux-headers-$KVER" || { say "apt-get download linux-headers-$KVER failed"; return 1; }
    deps=$(dpkg-deb -f "$(deb_of "linux-headers-$KVER")" Depends | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' |
           grep -E '^linux-(headers-.*-common|kbuild-.*)$' || true)
    rm -rf "$H.tmp" && mkdir -p "$H.tmp"
    for p in "linux-headers-$KVER" $deps; do
      fetch_deb "$p" || { say "apt-get download $p failed"; return 1; }
      # -common holds every architecture's headers: x86's only (a third fewer files to write)
      dpkg-deb --fsys-tarfile "$(deb_of "$p")" |
        tar -x -C "$H.tmp" --wildcards --exclude='./usr/src/*/arch/[!x]*' --exclude='./usr/src/*/arch/xtensa' \
          --exclude='./usr/share/doc/*'
    done
    sed -i "s|^include /usr/src/|include $H/usr/src/|" "$H.tmp/usr/src/linux-headers-$KVER/Makefile"
    rm -rf "$H" && mv "$H.tmp" "$H"
    say "headers: $(for p in "linux-headers-$KVER" $deps; do basename "$(deb_of "$p")"; done | tr '\n' ' ')extracted"
  fi
  KHDR=$H/usr/src/linux-headers-$KVER
}
# build_module NAME SOURCE: $CACHE/NAME-$KVER/NAME.ko, rebuilt when SOURCE changed. No
# BTF for the module: 6.12's headers carry a vmlinux for it, which would need pahole.
build_module() {
  local name=$1 src=$2 dir=$CACHE/$1-$KVER
  [ -s "$dir/$name.ko" ] && cmp -s "$src" "$dir/$name.c" && return 0
  apt_install gcc make || return 1
  kernel_headers || return 1
  mkdir -p "$dir" && rm -f "$dir/$name.ko"
  cp "$src" "$dir/$name.c" && echo "obj-m := $name.o" > "$dir/Makefile"
  say "building $name.ko"
  make -s -C "$KHDR" M="$dir" CONFIG_DEBUG_INFO_BTF_MODULES= modules >&2 && [ -s "$dir/$name.ko" ]
}
MODDIR=$CACHE/crashnet-$KVER
build_crashnet() {  # source: tools/make-example.sh
  sed -n '/crashnet\.c\.new" <<.EOF.$/,/^EOF$/p' "$ROOT/tools/make-example.sh" | sed '1d;$d' > "$W/crashnet.c"
  grep -q crashnet_start_xmit "$W/crashnet.c" || { say "no crashnet source in tools/make-example.sh"; return 1; }
  build_module crashnet "$W/crashnet.c"
}
TCPSEND=$CACHE/tcpsend/tcpsend
build_tcpskb() {  # tcpskb.ko and the static tcpsend, both from tools/vmcore-guest
  build_module tcpskb "$GUEST/tcpskb.c" || return 1
  [ -x "$TCPSEND" ] && cmp -s "$GUEST/tcpsend.c" "$CACHE/tcpsend/tcpsend.c" && return 0
  apt_install gcc libc6-dev || return 1
  # built aside and renamed: the generator of another set may be copying it right now
  mkdir -p "$CACHE/tcpsend"
  say "building tcpsend (static)"
  gcc -static -O2 -Wall -o "$TCPSEND.$$" "$GUEST/tcpsend.c" >&2 && mv "$TCPSEND.$$" "$TCPSEND" &&
    cp "$GUEST/tcpsend.c" "$CACHE/tcpsend/tcpsend.c.$$" && mv "$CACHE/tcpsend/tcpsend.c.$$" "$CACHE/tcpsend/tcpsend.c"
}
TRIGGER_DESC=
if [ -n "$need_qmp$need_kdump" ]; then
  if [ "$TRIGGER" = crashnet ] && ! build_crashnet; then
    say "crashnet.ko unavailable: falling back to sysrq-c"; TRIGGER=sysrq
  fi
fi
if [ -n "$need_tcpskb" ]; then
  apt_install iproute2 ethtool xz-utils || need_tcpskb=
  [ -n "$need_tcpskb" ] && { build_tcpskb || need_tcpskb=; }
  [ -n "$need_tcpskb" ] || fail "tcpskb: cannot build tcpskb.ko or tcpsend, or no ip/ethtool: no tcpskb boot"
fi
TCPSKB_DESC="tcpskb.ko + tcpsend: write() of $TCPSKB_LEN bytes on a TCP socket connected over veth0 (tx-checksumming off) -> POST_ROUTING hook leaves data_len=$TCPSKB_LEN with nr_frags 0, no frag_list, CHECKSUM_PARTIAL -> __dev_queue_xmit -> validate_xmit_skb -> skb_checksum_help -> __skb_checksum BUG_ON(len) -> kernel BUG at net/core/skbuff.c, oops=panic"
case $TRIGGER in
  crashnet) CRASH_DESC="crashnet.ko bug=skb_over + ping: ARP request -> __dev_queue_xmit -> sch_direct_xmit -> crashnet_start_xmit -> skb_put past the end -> skb_over_panic -> kernel BUG at net/core/skbuff.c, oops=panic" ;;
  sysrq)    CRASH_DESC="echo c > /proc/sysrq-trigger" ;;
  *) die "unknown TRIGGER=$TRIGGER" ;;
esac
TRIGGER_DESC=$CRASH_DESC

# ------------------------------------------------------------------ initramfs
copy_with_libs() {  # copy an ELF program (to $3, default its own path) and the shared libraries it needs into $1
  local root=$1 bin=$2 lib dest=${3:-$2}
  mkdir -p "$root$(dirname "$dest")" && cp -L "$bin" "$root$dest"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
  done
}
# kmod ROOT RELPATH: copy drivers/RELPATH.ko of the kernel package into ROOT/lib/modules,
# unpacked when the package has .ko.xz (6.12: busybox insmod reads plain ELF only); nothing
# when the kernel has it built in (6.12 builds virtio and virtio_pci in).
kmod() {
  local f=$KMOD/drivers/$2 n
  n=$(basename "$2")
  if [ -f "$f.ko" ]; then cp "$f.ko" "$1/lib/modules/$n.ko"
  elif [ -f "$f.ko.xz" ]; then xz -dc "$f.ko.xz" > "$1/lib/modules/$n.ko"
  elif grep -qx "kernel/drivers/$2.ko" "$KDIR/lib/modules/$KVER/modules.builtin" 2>/dev/null; then :
  else say "no module drivers/$2 in linux-image-$KVER"; return 1
  fi
}
mkcpio() { (cd "$1" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | gzip -1n > "$2"; }
build_initramfs() {
  local r=$W/rootfs m
  rm -rf "$r" && mkdir -p "$r"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,boot}
  cp /bin/busybox "$r/bin/busybox"
  for m in $("$r/bin/busybox" --list); do [ "$m" = busybox ] || ln -s busybox "$r/bin/$m"; done
  cp "$GUEST/init" "$r/init" && chmod +x "$r/init"
  for m in firmware/qemu_fw_cfg misc/pvpanic/pvpanic misc/pvpanic/pvpanic-pci virtio/virtio_ring virtio/virtio \
           virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk; do
    kmod "$r" "$m"
  done
  if [ "$TRIGGER" = crashnet ] && [ -s "$MODDIR/crashnet.ko" ]; then cp "$MODDIR/crashnet.ko" "$r/lib/modules/"; fi
  copy_with_libs "$r" "$(command -v makedumpfile)"
  copy_with_libs "$r" "$(command -v kexec)"
  if [ -n "$need_tcpskb" ]; then  # the tcpskb boot: its module, tcpsend, veth, iproute2's ip, ethtool
    kmod "$r" net/veth
    cp "$CACHE/tcpskb-$KVER/tcpskb.ko" "$r/lib/modules/"
    cp "$TCPSEND" "$r/bin/tcpsend"
    copy_with_libs "$r" "$(command -v ip)" /usr/libexec/ktv/ip            # busybox ip has no veth
    copy_with_libs "$r" "$(command -v ethtool)" /usr/libexec/ktv/ethtool
  fi
  mkcpio "$r" "$W/initramfs.cpio.gz"           # QMP boot and capture kernel
  cp "$VMLINUZ" "$r/boot/vmlinuz"
  cp "$W/initramfs.cpio.gz" "$r/boot/capture.cpio.gz"
  mkcpio "$r" "$W/initramfs-kdump.cpio.gz"     # kdump boot: + capture kernel and its initramfs
  say "initramfs $(stat -c %s "$W/initramfs.cpio.gz") bytes, kdump one $(stat -c %s "$W/initramfs-kdump.cpio.gz") bytes"
}
[ -n "$need_boot" ] && build_initramfs

QEMU=(timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -cpu "$CPU"
      -display none -vga none -monitor none -nic none -no-reboot -kernel "$VMLINUZ")
QEMU_VERSION=$(qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/^QEMU emulator version //p')

# ------------------------------------------------------------------ helpers
sparse() { fallocate --dig-holes "$1" 2>/dev/null || true; }
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
# write_entry DIR FILE FORMAT COMPRESSION DUMP_LEVEL PRODUCER REGISTERS SOURCE [EXTRA_JSON]
write_entry() {
  local d=$1
  {
    printf '{"name": %s, "path": %s, "format": %s, "compression": %s, "dump_level": %s,\n' \
      "$(json_str "$d")" "$(json_str "$d/$2")" "$(json_str "$3")" "$(json_str "$4")" "$5"
    printf ' "producer": %s, "registers": %s, "source": %s,\n' "$(json_str "$6")" "$(json_str "$7")" "$(json_str "$8")"
    printf ' "trigger": %s, "kernel": %s%s}\n' "$(json_str "$TRIGGER_DESC")" "$(json_str "$KVER")" "${9:+, $9}"
  } > "$OUT/$d/entry.json.tmp"
  mv "$OUT/$d/entry.json.tmp" "$OUT/$d/entry.json"
}
# dmesg_of DUMP OUTFILE: makedumpfile --dump-dmesg (de-flattening a flattened dump first)
dmesg_of() {
  local in=$1 out=$2 log=$OUT/logs/dmesg-$(basename "$(dirname "$2")").log
  rm -f "$out"
  if [ "$(head -c 12 "$in" | tr -d '\0')" = makedumpfile ]; then
    rm -f "$W/deflat"
    makedumpfile -R "$W/deflat" < "$in" > "$log" 2>&1 || return 1
    in=$W/deflat
  fi
  makedumpfile --dump-dmesg "$in" "$out" >> "$log" 2>&1 || return 1
  rm -f "$W/deflat"
}
# qemu_kdump_phys_base FLAT DMESG_OUT: QEMU 7.2 parses the decimal NUMBER(phys_base)= of
# VMCOREINFO as hex for the kdump sub-header (4194304 -> 0x4194304), and makedumpfile then
# cannot translate addresses. De-flatten, correct phys_base in the copy, --dump-dmesg.
# Prints what it found.
qemu_kdump_phys_base() {
  local log=$OUT/logs/dmesg-kdump-zlib-qemu.log bs pb dec
  rm -f "$W/deflat"
  makedumpfile -R "$W/deflat" < "$1" >> "$log" 2>&1 || return 1
  bs=$(od -An -t u4 -j 428 -N 4 "$W/deflat" | tr -d ' ')     # disk_dump_header.block_size
  pb=$(u64 "$W/deflat" "$bs")                                  # kdump_sub_header.phys_base
  dec=$(grep -a -o -m1 'NUMBER(phys_base)=-\?[0-9]*' "$W/deflat" | head -1 | cut -d= -f2)
  [ -n "$dec" ] && [ "$dec" != "$pb" ] || return 1
  put_le "$W/deflat" "$bs" "$dec" 8
  makedumpfile --dump-dmesg "$W/deflat" "$2" >> "$log" 2>&1 || return 1
  rm -f "$W/deflat"
  printf 'kdump sub-header phys_base is 0x%x: QEMU parsed VMCOREINFO NUMBER(phys_base)=%s as hex; makedumpfile %s fails on it (Cannot get a valid pgd); dmesg.makedumpfile.txt was made from a copy with phys_base=0x%x' \
    "$pb" "$dec" "$MKDF_VERSION" "$dec"
}
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
u16() { od -An -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
put_le() {  # put_le FILE OFFSET VALUE BYTES: write VALUE little-endian at OFFSET
  local i s=
  for ((i = 0; i < $4; i++)); do s+=$(printf '\\x%02x' $(( ($3 >> (8 * i)) & 255 ))); done
  printf "$s" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# elf_phdrs_at_64 FILE: rewrite an ELF64 in place so that its program headers follow the
# ELF header (offset 64), as makedumpfile 1.7.2 expects, dropping the section headers.
elf_phdrs_at_64() {
  local f=$1 phoff phnum phent len i off first
  [ "$(head -c 5 "$f" | od -An -t x1 | tr -d ' ')" = 7f454c4602 ] || { say "$f: not an ELF64"; return 1; }
  phoff=$(u64 "$f" 32); phent=$(u16 "$f" 54); phnum=$(u16 "$f" 56)
  [ "$phoff" = 64 ] && return 0
  [ "$phnum" -lt 65535 ] || { say "$f: e_phnum is PN_XNUM, not handled"; return 1; }
  len=$((phent * phnum)); first=$(stat -c %s "$f")
  for ((i = 0; i < phnum; i++)); do
    off=$(u64 "$f" $((phoff + i * phent + 8)))
    [ "$off" -lt "$first" ] && first=$off
  done
  [ $((64 + len)) -le "$first" ] || { say "$f: no room for the program headers at 64"; return 1; }
  dd if="$f" of="$f" bs="$len" count=1 iflag=skip_bytes skip="$phoff" oflag=seek_bytes seek=64 conv=notrunc status=none
  local zend=$((phoff + len)); [ "$zend" -gt "$first" ] && zend=$first
  [ "$zend" -gt $((64 + len)) ] &&
    dd if=/dev/zero of="$f" bs=$((zend - 64 - len)) count=1 oflag=seek_bytes seek=$((64 + len)) conv=notrunc status=none
  put_le "$f" 32 64 8    # e_phoff
  put_le "$f" 40 0 8     # e_shoff
  put_le "$f" 58 0 6     # e_shentsize, e_shnum, e_shstrndx
}

# QMP over a pipe chardev: QEMU opens $W/qmp.in and $W/qmp.out read-write, so do we.
qmp_open() { exec {QIN}<>"$W/qmp.in" {QOUT}<>"$W/qmp.out"; }
qmp_close() { exec {QIN}>&- {QOUT}<&-; }
PANICKED=
qmp_line() {  # read one non-event line into REPLY within $1 s; events are logged
  local line deadline=$(( $(date +%s) + $1 ))
  while (( $(date +%s) <= deadline )); do
    read -r -t 1 -u "$QOUT" line || continue
    case $line in
      *'"event"'*) echo "$line" >> "$W/qmp-events.log"
                   case $line in *GUEST_PANICKED*) PANICKED=1 ;; esac ;;
      *) REPLY=$line; return 0 ;;
    esac
  done
  return 1
}
qmp() {  # qmp JSON [TIMEOUT]: run a command; fail unless it returns
  printf '%s\n' "$1" >&"$QIN"
  qmp_line "${2:-300}" || { say "QMP: no reply to $1"; return 1; }
  echo "$1 -> $REPLY" >> "$W/qmp.log"
  case $REPLY in *'"return"'*) return 0 ;; *) say "QMP: $1 -> $REPLY"; return 1 ;; esac
}
wait_panic() {  # wait_panic CONSOLE: until GUEST_PANICKED (pvpanic) or the console's end-of-panic line
  local con=$1 deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    [ -n "$PANICKED" ] && return 0
    grep -q -- '---\[ end Kernel panic' "$con" 2>/dev/null && return 0
    kill -0 "$QPID" 2>/dev/null || { say "QEMU exited before the panic"; return 1; }
    qmp_line 1 && echo "unexpected: $REPLY" >> "$W/qmp.log" || true
  done
  return 1
}

# ------------------------------------------------------------------ 1. QMP boot
qmp_boot() {
  local S=$W/qmp-boot con
  rm -rf "$S" && mkdir -p "$S"; con=$S/console.log
  mkfifo "$W/qmp.in" "$W/qmp.out"
  local append="console=ttyS0,115200 oops=panic panic=0 $KARGS ktv.mode=qmp ktv.trigger=$TRIGGER"
  say "QMP boot: -m $MEM -smp $SMP, $append"
  local tb=$(date +%s)
  "${QEMU[@]}" -smp "$SMP" -m "$MEM" -serial "file:$con" -initrd "$W/initramfs.cpio.gz" -append "$append" \
    -device vmcoreinfo -device pvpanic-pci -action panic=pause \
    -chardev "pipe,id=qmp,path=$W/qmp" -mon chardev=qmp,mode=control \
    </dev/null >"$OUT/logs/qemu-qmp.log" 2>&1 &
  QPID=$!
  qmp_open
  qmp_line 30 || { fail "QMP: no greeting"; return 1; }
  qmp '{"execute": "qmp_capabilities"}' 30 || return 1
  wait_panic "$con" || { fail "QMP boot: no panic within ${BOOT_TIMEOUT}s"; tail -20 "$con" >&2; return 1; }
  say "QMP boot: guest panicked after $(( $(date +%s) - tb ))s ($([ -n "$PANICKED" ] && echo pvpanic GUEST_PANICKED || echo console))"
  local ts
  ts=$(date +%s)
  qmp "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"protocol\": \"file:$S/vmcore.elf\"}}" || return 1
  say "  dump-guest-memory ELF: $(stat -c %s "$S/vmcore.elf") bytes in $(( $(date +%s) - ts ))s"
  ts=$(date +%s)
  qmp "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"format\": \"kdump-zlib\", \"protocol\": \"file:$S/vmcore.flat\"}}" || return 1
  say "  dump-guest-memory kdump-zlib: $(stat -c %s "$S/vmcore.flat") bytes in $(( $(date +%s) - ts ))s"
  if [ "$PAGING" = 1 ]; then
    ts=$(date +%s)
    qmp "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": true, \"protocol\": \"file:$S/vmcore-paging.elf\"}}" || return 1
    say "  dump-guest-memory ELF paging: $(stat -c %s "$S/vmcore-paging.elf") bytes in $(( $(date +%s) - ts ))s"
  fi
  qmp '{"execute": "quit"}' 30 || true
  wait "$QPID" 2>/dev/null || true
  QPID=; qmp_close
  cp "$W/qmp.log" "$OUT/logs/qmp.log"; [ -f "$W/qmp-events.log" ] && cp "$W/qmp-events.log" "$OUT/logs/qmp-events.log"

  # install: the whole QMP group (and what derives from it) is new memory
  local d regs="where QEMU paused the vCPUs (after the panic notifier), not the crash-time registers"
  for d in $QMP_DIRS $DERIVED_DIRS; do rm -rf "${OUT:?}/$d"; done
  mkdir -p "$OUT/elf-qemu" "$OUT/kdump-zlib-qemu"
  cp "$con" "$OUT/elf-qemu/console.log"; cp "$con" "$OUT/kdump-zlib-qemu/console.log"
  mv "$S/vmcore.elf" "$OUT/elf-qemu/vmcore.elf"; sparse "$OUT/elf-qemu/vmcore.elf"
  mv "$S/vmcore.flat" "$OUT/kdump-zlib-qemu/vmcore.flat"
  # dmesg of QEMU's ELF: on a copy with the program headers at 64
  cp --sparse=always "$OUT/elf-qemu/vmcore.elf" "$W/fixed.elf"
  elf_phdrs_at_64 "$W/fixed.elf" || { fail "rewriting QEMU's ELF"; return 1; }
  local phoff shoff ehsize elfquirk
  phoff=$(u64 "$OUT/elf-qemu/vmcore.elf" 32); shoff=$(u64 "$OUT/elf-qemu/vmcore.elf" 40)
  ehsize=$(u16 "$OUT/elf-qemu/vmcore.elf" 52)
  elfquirk="e_shoff=$shoff, e_phoff=$phoff, e_ehsize=$ehsize; makedumpfile $MKDF_VERSION reads program headers at offset 64 and fails (Can't get the number of PT_LOAD); dmesg.makedumpfile.txt was made from a copy with the program headers moved to 64"
  dmesg_of "$W/fixed.elf" "$OUT/elf-qemu/dmesg.makedumpfile.txt" || fail "makedumpfile --dump-dmesg on the rewritten QEMU ELF"
  local quirk=
  if ! dmesg_of "$OUT/kdump-zlib-qemu/vmcore.flat" "$OUT/kdump-zlib-qemu/dmesg.makedumpfile.txt"; then
    quirk=$(qemu_kdump_phys_base "$OUT/kdump-zlib-qemu/vmcore.flat" "$OUT/kdump-zlib-qemu/dmesg.makedumpfile.txt") ||
      fail "makedumpfile --dump-dmesg on QEMU's kdump-zlib (even with phys_base corrected)"
    [ -n "$quirk" ] && say "  kdump-zlib-qemu: $quirk"
  fi
  cmp -s "$OUT/kdump-zlib-qemu/dmesg.makedumpfile.txt" "$OUT/elf-qemu/dmesg.makedumpfile.txt" ||
    fail "kdump-zlib-qemu: dmesg differs from elf-qemu's"
  write_entry kdump-zlib-qemu vmcore.flat kdump-flattened zlib 0 \
    "qemu dump-guest-memory format=kdump-zlib paging=false" "$regs" "" '"qemu": '"$(json_str "$QEMU_VERSION")${quirk:+, \"quirk\": $(json_str "$quirk")}"
  if [ "$PAGING" = 1 ]; then
    mkdir -p "$OUT/elf-qemu-paging"; cp "$con" "$OUT/elf-qemu-paging/console.log"
    mv "$S/vmcore-paging.elf" "$OUT/elf-qemu-paging/vmcore.elf"; sparse "$OUT/elf-qemu-paging/vmcore.elf"
    cp --sparse=always "$OUT/elf-qemu-paging/vmcore.elf" "$W/fixed-paging.elf"
    local pq="$elfquirk"
    if elf_phdrs_at_64 "$W/fixed-paging.elf" && dmesg_of "$W/fixed-paging.elf" "$OUT/elf-qemu-paging/dmesg.makedumpfile.txt"; then :; else
      pq="$pq; makedumpfile $MKDF_VERSION cannot read it even so ($(grep -m1 -v '^$' "$OUT/logs/dmesg-elf-qemu-paging.log" || true)): dmesg.makedumpfile.txt is elf-qemu's (same memory, taken in the same pause)"
      say "  makedumpfile cannot read the paging ELF: its expected dmesg is elf-qemu's (same memory, same pause)"
      cp "$OUT/elf-qemu/dmesg.makedumpfile.txt" "$OUT/elf-qemu-paging/dmesg.makedumpfile.txt"
    fi
    rm -f "$W/fixed-paging.elf"
    write_entry elf-qemu-paging vmcore.elf elf none 0 "qemu dump-guest-memory paging=true" "$regs" "" \
      '"elf_phoff": '"$(u64 "$OUT/elf-qemu-paging/vmcore.elf" 32)"', "qemu": '"$(json_str "$QEMU_VERSION")"', "quirk": '"$(json_str "$pq")"
  fi
  # elf-qemu's entry last: its presence says the QMP group is complete
  write_entry elf-qemu vmcore.elf elf none 0 "qemu dump-guest-memory paging=false" "$regs" "" \
    '"elf_phoff": '"$phoff"', "qemu": '"$(json_str "$QEMU_VERSION")"', "quirk": '"$(json_str "$elfquirk")"
  say "QMP boot done in $(( $(date +%s) - tb ))s (ELF e_phoff=$phoff)"
}

# ------------------------------------------------------------------ derived (host makedumpfile)
derive() {  # derive DIR FILE COMPRESSION DUMP_LEVEL FLAGS...
  local d=$1 f=$2 comp=$3 lvl=$4; shift 4
  have "$d" && return 0
  local ts=$(date +%s) tmp=$W/derive-$d
  rm -rf "$tmp" && mkdir -p "$tmp"
  if [ "$1" = -F ]; then
    makedumpfile "$@" "$W/fixed.elf" > "$tmp/$f" 2> "$OUT/logs/makedumpfile-$d.log" || { fail "makedumpfile $* ($d)"; return 1; }
  else
    makedumpfile "$@" "$W/fixed.elf" "$tmp/$f" > "$OUT/logs/makedumpfile-$d.log" 2>&1 || { fail "makedumpfile $* ($d)"; return 1; }
  fi
  rm -rf "${OUT:?}/$d" && mkdir -p "$OUT/$d" && mv "$tmp/$f" "$OUT/$d/$f"
  cp "$OUT/elf-qemu/console.log" "$OUT/$d/console.log" 2>/dev/null || true
  dmesg_of "$OUT/$d/$f" "$OUT/$d/dmesg.makedumpfile.txt" || fail "makedumpfile --dump-dmesg on $d/$f"
  cmp -s "$OUT/$d/dmesg.makedumpfile.txt" "$OUT/elf-qemu/dmesg.makedumpfile.txt" ||
    fail "$d: dmesg differs from elf-qemu's"
  local fmt=kdump; [ "$1" = -F ] && fmt=kdump-flattened
  write_entry "$d" "$f" "$fmt" "$comp" "$lvl" "makedumpfile $* (from elf-qemu/vmcore.elf with program headers moved to offset 64)" \
    "as in elf-qemu: where QEMU paused the vCPUs" elf-qemu '"makedumpfile": '"$(json_str "$MKDF_VERSION")"
  say "  $d/$f: makedumpfile $*: $(stat -c %s "$OUT/$d/$f") bytes in $(( $(date +%s) - ts ))s"
}
derive_all() {
  have elf-qemu || return 0
  local TRIGGER_DESC  # elf-qemu's, which may be from an earlier run
  TRIGGER_DESC=$(sed -n 's/.*"trigger": "\([^"]*\)".*/\1/p' "$OUT/elf-qemu/entry.json")
  if [ ! -f "$W/fixed.elf" ]; then
    cp --sparse=always "$OUT/elf-qemu/vmcore.elf" "$W/fixed.elf"
    elf_phdrs_at_64 "$W/fixed.elf" || { fail "rewriting QEMU's ELF"; return 1; }
  fi
  derive kdump-zlib vmcore zlib 0 -c
  derive kdump-lzo vmcore lzo 0 -l
  derive kdump-d31 vmcore zlib 31 -c -d 31
  derive flat vmcore.flat none 1 -F -d 1
  rm -f "$W/fixed.elf"
}

# ------------------------------------------------------------------ 2. kdump boot
# kdump_run NAME TRIGGER [ARGS]: boot with ktv.trigger=TRIGGER (and ARGS) until the capture
# kernel is done; its results are then in $W/NAME/res (untarred) and $W/NAME/vmcore.img,
# its console in $W/NAME/console.log and logs/NAME-console.log. Sets tq and tb.
kdump_run() {
  local name=$1 trig=$2 S=$W/$1 con try
  local append="console=ttyS0,115200 oops=panic panic=0 $KARGS crashkernel=$CRASHKERNEL ktv.mode=kdump ktv.d31=1 ktv.trigger=$trig${3:+ $3}"
  # KASLR also places the kernel at a random physical address: in a small guest there is
  # now and then no free 16 MiB-aligned block for crashkernel=. Then boot again.
  for try in 1 2 3; do
    rm -rf "$S" && mkdir -p "$S/res"; con=$S/console.log
    truncate -s 64M "$S/res.img"; truncate -s "${KDUMP_MEM}M" "$S/vmcore.img"
    say "$name (try $try): -m $KDUMP_MEM -smp $SMP, $append"
    tb=$(date +%s)
    "${QEMU[@]}" -smp "$SMP" -m "$KDUMP_MEM" -serial "file:$con" -initrd "$W/initramfs-kdump.cpio.gz" -append "$append" \
      -drive "file=$S/res.img,format=raw,if=virtio" -drive "file=$S/vmcore.img,format=raw,if=virtio" \
      </dev/null >"$OUT/logs/qemu-$name.log" 2>&1 &
    QPID=$!
    local state=
    while kill -0 "$QPID" 2>/dev/null; do
      sleep 0.5
      if grep -q 'kexec_crash_loaded=0' "$con" 2>/dev/null; then state=noload; break; fi
      if grep -q -- '---\[ end Kernel panic' "$con" 2>/dev/null; then state=nokexec; break; fi
    done
    [ -n "$state" ] && { kill "$QPID" 2>/dev/null || true; }
    wait "$QPID" 2>/dev/null || true
    QPID=; tq=$(( $(date +%s) - tb ))
    cp "$con" "$OUT/logs/$name-console.log"
    if [ "$state" = noload ]; then
      say "$name: no crash kernel loaded ($(grep -a -m1 -o 'crashkernel reservation failed[^\r]*\|kexec -p failed' "$con" || true)), again"
      continue
    fi
    break
  done
  grep -q 'KTV: capture done' "$con" || { fail "$name: the capture kernel did not finish (${tq}s, ${state:-timeout}; see logs/$name-console.log)"; tail -25 "$con" >&2; return 1; }
  say "$name: QEMU exited after ${tq}s"
  grep -a 'KTV:\|tcpskb:' "$con" | tr -d '\r' | sed 's/^/    /' >&2
  tar -xf "$S/res.img" -C "$S/res" || { fail "$name: no results tar on the first disk"; return 1; }
  local f
  for f in "$S/res/"*.log; do [ -f "$f" ] && cp "$f" "$OUT/logs/$name-$(basename "$f")"; done
  return 0
}

kdump_boot() {
  local S=$W/kdump tq tb
  TRIGGER_DESC=$CRASH_DESC
  kdump_run kdump "$TRIGGER" || return 1
  local con=$S/console.log size; size=$(cat "$S/res/vmcore.size")
  truncate -s "$size" "$S/vmcore.img"; sparse "$S/vmcore.img"
  for d in $KDUMP_DIRS; do rm -rf "${OUT:?}/$d"; done
  mkdir -p "$OUT/elf-proc-vmcore"
  cp "$con" "$OUT/elf-proc-vmcore/console.log"
  mv "$S/vmcore.img" "$OUT/elf-proc-vmcore/vmcore.elf"
  cp "$S/res/vmcore-dmesg.txt" "$OUT/elf-proc-vmcore/vmcore-dmesg.txt" 2>/dev/null || fail "no vmcore-dmesg.txt from the capture kernel"
  dmesg_of "$OUT/elf-proc-vmcore/vmcore.elf" "$OUT/elf-proc-vmcore/dmesg.makedumpfile.txt" || fail "makedumpfile --dump-dmesg on /proc/vmcore's copy"
  cmp -s "$OUT/elf-proc-vmcore/dmesg.makedumpfile.txt" "$OUT/elf-proc-vmcore/vmcore-dmesg.txt" ||
    fail "elf-proc-vmcore: host dmesg differs from the capture kernel's"
  local regs="crash-time NT_PRSTATUS per CPU, saved by the panicking kernel"
  if [ -s "$S/res/vmcore-d31" ]; then
    mkdir -p "$OUT/kdump-proc-d31"; cp "$con" "$OUT/kdump-proc-d31/console.log"
    mv "$S/res/vmcore-d31" "$OUT/kdump-proc-d31/vmcore"
    dmesg_of "$OUT/kdump-proc-d31/vmcore" "$OUT/kdump-proc-d31/dmesg.makedumpfile.txt" || fail "makedumpfile --dump-dmesg on kdump-proc-d31"
    cmp -s "$OUT/kdump-proc-d31/dmesg.makedumpfile.txt" "$OUT/elf-proc-vmcore/dmesg.makedumpfile.txt" ||
      fail "kdump-proc-d31: dmesg differs from elf-proc-vmcore's"
    write_entry kdump-proc-d31 vmcore kdump zlib 31 "makedumpfile -c -d 31 /proc/vmcore (in the capture kernel)" "$regs" elf-proc-vmcore \
      '"makedumpfile": '"$(json_str "$MKDF_VERSION")$(mkdf_quirk kdump-proc-d31 kdump-makedumpfile-d31)"
  else
    fail "kdump boot: the capture kernel made no makedumpfile -c -d 31 dump"
  fi
  write_entry elf-proc-vmcore vmcore.elf elf none 0 "/proc/vmcore of the kdump capture kernel (kexec -p, crashkernel=$CRASHKERNEL), copied with dd" \
    "$regs" "" '"elf_phoff": '"$(u64 "$OUT/elf-proc-vmcore/vmcore.elf" 32)"', "capture_dmesg": "elf-proc-vmcore/vmcore-dmesg.txt"'"$(mkdf_quirk elf-proc-vmcore kdump-makedumpfile-dmesg)"
  say "kdump boot done in $(( $(date +%s) - tb ))s: /proc/vmcore $size bytes"
}

# mkdf_quirk DIR CAPTURE_LOG: `, "quirk": "..."` when makedumpfile (on the host for DIR's
# dmesg, or in the capture kernel, logs/CAPTURE_LOG.log) did not know the kernel version
# (1.7.2 and 6.12): it warns that its work may be incomplete, and did it all the same.
# MORE, if given, is added to the quirk.
mkdf_quirk() {
  local w= q=
  grep -qs 'kernel version is not supported' "$OUT/logs/dmesg-$1.log" && w="the host's --dump-dmesg"
  grep -qs 'kernel version is not supported' "$OUT/logs/$2.log" && w="${w:+$w and }the capture kernel's run"
  [ -n "$w" ] && q="makedumpfile $MKDF_VERSION does not know kernel $KVER: $w warned \"The kernel version is not supported. The makedumpfile operation may be incomplete.\" and completed"
  [ -n "${3:-}" ] && q="${q:+$q. }$3"
  [ -n "$q" ] || return 0
  printf ', "quirk": %s' "$(json_str "$q")"
}

# ------------------------------------------------------------------ 3. tcpskb kdump boot
# guest_record CONSOLE: the JSON object of what the guest printed about the process and the
# skb: tcpsend's line (pid= ... len=) and tcpskb.ko's (skb= sk= ...). Fails without both.
guest_record() {
  local con=$1 p k v out= sep=
  p=$(tr -d '\r' < "$con" | grep -a -m1 -o 'tcpskb: pid=.*' | sed 's/^tcpskb: //') || return 1
  k=$(tr -d '\r' < "$con" | grep -a -m1 -o 'tcpskb: skb=[0-9a-f]* sk=[0-9a-f]*' | sed 's/^tcpskb: //') || return 1
  for kv in $p $k; do
    v=${kv#*=}
    case ${kv%%=*} in
      pid|fd|ino|len) [[ $v =~ ^[0-9]+$ ]] || return 1; out+="$sep\"${kv%%=*}\": $v" ;;
      skb|sk) out+="$sep\"${kv%%=*}\": \"0x$v\"" ;;
      *) out+="$sep\"${kv%%=*}\": $(json_str "$v")" ;;
    esac
    sep=', '
  done
  printf '{%s}' "$out"
}
# The capture kernel dumps at -d 31, or at -d 1 (zero pages only; ktv.keepslab=1, see
# tools/vmcore-guest/init) when its makedumpfile warns that it does not know the kernel and
# VMCOREINFO has no NUMBER(PG_slab): makedumpfile 1.7.2 on 6.12 counts slab pages whose
# page->mapping word is odd (struct slab's per-cpu partial count `slabs` lies there) as
# anonymous user pages, and its -d 8 bit drops them: live task_structs, files, sockets.
# The entry's name and dump_level say the level used.
tcpskb_boot() {
  local S=$W/tcpskb tq tb TRIGGER_DESC=$TCPSKB_DESC d lvl guest x why=
  # ktv.elf=0: the capture kernel makes the filtered dump only (no copy of /proc/vmcore)
  kdump_run tcpskb tcpskb "ktv.elf=0 ktv.keepslab=1 ktv.tcpskb=$TCPSKB_PORT,$TCPSKB_LEN" || return 1
  local prod="makedumpfile -c -d 31 /proc/vmcore (in the capture kernel)"
  if [ -s "$S/res/vmcore-d31" ]; then lvl=31
  elif [ -e "$S/res/vmcore-d1.flat-on-vdb" ] &&
       makedumpfile -R "$S/res/vmcore-d1" < "$S/vmcore.img" > "$OUT/logs/tcpskb-deflatten.log" 2>&1; then
    lvl=1
    prod="makedumpfile -F -c -d 1 /proc/vmcore > /dev/vdb (in the capture kernel: the dump does not fit its tmpfs), then makedumpfile -R on the host"
    why="So the capture kernel dumped at -d 1 (zero pages only), not -d 31: this kernel has no PG_slab flag (VMCOREINFO: slab pages are marked in page_type), and makedumpfile $MKDF_VERSION then counts slab pages whose page->mapping word is odd (struct slab's slabs count) as anonymous user pages, which -d 31 drops (live task_structs, files, sockets)"
  else fail "tcpskb: the capture kernel made no makedumpfile -c -d 31 or -d 1 dump"; return 1
  fi
  rm -f "$S/vmcore.img"
  d=tcpskb-kdump-d$lvl
  guest=$(guest_record "$S/console.log") || { fail "tcpskb: no tcpsend or tcpskb.ko line on the console"; return 1; }
  for x in $TCPSKB_DIRS; do rm -rf "${OUT:?}/$x"; done
  mkdir -p "$OUT/$d"
  cp "$S/console.log" "$OUT/$d/console.log"
  mv "$S/res/vmcore-d$lvl" "$OUT/$d/vmcore"
  cp "$S/res/vmcore-dmesg.txt" "$OUT/$d/vmcore-dmesg.txt" 2>/dev/null || fail "tcpskb: no vmcore-dmesg.txt from the capture kernel"
  dmesg_of "$OUT/$d/vmcore" "$OUT/$d/dmesg.makedumpfile.txt" || fail "makedumpfile --dump-dmesg on $d"
  cmp -s "$OUT/$d/dmesg.makedumpfile.txt" "$OUT/$d/vmcore-dmesg.txt" || fail "$d: host dmesg differs from the capture kernel's"
  grep -q 'kernel BUG at net/core/skbuff.c' "$OUT/$d/dmesg.makedumpfile.txt" || fail "$d: no kernel BUG at net/core/skbuff.c in its dmesg"
  write_entry "$d" vmcore kdump zlib "$lvl" "$prod" \
    "crash-time NT_PRSTATUS per CPU, saved by the panicking kernel" "" \
    '"makedumpfile": '"$(json_str "$MKDF_VERSION")"', "capture_dmesg": '"$(json_str "$d/vmcore-dmesg.txt")"', "guest": '"$guest$(mkdf_quirk "$d" "tcpskb-makedumpfile-d$lvl" "$why")"
  say "tcpskb boot done in $(( $(date +%s) - tb ))s: $d/vmcore $(stat -c %s "$OUT/$d/vmcore") bytes; guest $guest"
}

# ------------------------------------------------------------------ run
if [ "$QMP" != 1 ]; then say "QMP=0: no QMP boot, no dumps derived from it"
else
  if [ -n "$need_qmp" ]; then qmp_boot || fail "QMP boot failed"; else say "QMP dumps present"; fi
  if [ -n "$need_derived" ]; then derive_all || true; else say "makedumpfile dumps present"; fi
fi
if [ -n "$need_kdump" ]; then kdump_boot || fail "kdump boot failed"; elif [ "$KDUMP" = 1 ]; then say "kdump dumps present"; fi
if [ -n "$need_tcpskb" ]; then tcpskb_boot || fail "tcpskb boot failed"; elif [ "$TCPSKB" = 1 ] && tcpskb_current; then say "tcpskb dump present"; fi

# ------------------------------------------------------------------ manifest
# the first line of the log that matches $2, without its timestamp
log_line() { grep -m1 -a -E "$2" "$1" 2>/dev/null | tr -d '\r' | sed 's/^\[[ 0-9.]*\] //' || true; }
OOPS_RE='kernel BUG at|BUG: |Oops: |general protection fault|WARNING: CPU|sysrq: Trigger a crash|watchdog: BUG|INFO: task'
PANIC_RE='Kernel panic - not syncing'

{
  printf '{\n "generator": "tools/gen-vmcores.sh",\n "generator_version": %s,\n "kernel": %s,\n "kernel_package": %s,\n' \
    "$GENERATOR_VERSION" "$(json_str "$KVER")" "$(json_str "$KPKGVER")"
  printf ' "kernel_package_name": %s,\n "kernel_package_version": %s,\n "debug_package": %s,\n' \
    "$(json_str "linux-image-$KVER")" "$(json_str "$KPKGVER")" "$(json_str "linux-image-$KVER-dbg=$KPKGVER")"
  printf ' "makedumpfile": %s,\n "qemu": %s,\n' "$(json_str "$MKDF_VERSION")" "$(json_str "$QEMU_VERSION")"
  printf ' "errors": ['
  sep=
  for e in ${ERRORS[@]+"${ERRORS[@]}"}; do printf '%s%s' "$sep" "$(json_str "$e")"; sep=', '; done
  printf '],\n "entries": [\n'
  sep=
  for d in $QMP_DIRS $DERIVED_DIRS $KDUMP_DIRS $TCPSKB_DIRS; do
    have "$d" || continue
    f=$OUT/$(sed -n 's/.*"path": "\([^"]*\)".*/\1/p' "$OUT/$d/entry.json")
    [ -f "$f" ] || continue
    dm=; [ -s "$OUT/$d/dmesg.makedumpfile.txt" ] && dm=$d/dmesg.makedumpfile.txt
    con=; [ -s "$OUT/$d/console.log" ] && con=$d/console.log
    printf '%s  %s, "dmesg": %s, "console": %s, "oops": %s, "panic": %s, "size": %s, "disk_bytes": %s}' "$sep" \
      "$(sed 's/}[[:space:]]*$//' "$OUT/$d/entry.json" | tr '\n' ' ')" \
      "$(json_str "$dm")" "$(json_str "$con")" "$(json_str "$(log_line "$OUT/$d/dmesg.makedumpfile.txt" "$OOPS_RE")")" \
      "$(json_str "$(log_line "$OUT/$d/dmesg.makedumpfile.txt" "$PANIC_RE")")" \
      "$(stat -c %s "$f")" "$(( $(stat -c %b "$f") * $(stat -c %B "$f") ))"
    sep=$',\n'
  done
  printf '\n ]\n}\n'
} > "$OUT/manifest.json.tmp"
mv "$OUT/manifest.json.tmp" "$OUT/manifest.json"
say "manifest: $OUT/manifest.json ($(grep -c '"name"' "$OUT/manifest.json") dumps, $(du -sh --exclude=.work --apparent-size "$OUT" | cut -f1) apparent, $(du -sh --exclude=.work "$OUT" | cut -f1) on disk)"
if [ ${#ERRORS[@]} -gt 0 ]; then
  say "finished with ${#ERRORS[@]} error(s):"; printf '  %s\n' "${ERRORS[@]}" >&2
  exit 1
fi
say "done in $(( $(date +%s) - T0 ))s"
