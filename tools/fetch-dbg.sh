#!/bin/bash
# fetch-dbg.sh - fetch the debug vmlinux (DWARF) of one exact Debian kernel build, for
# the reference debuggers (crash(8), drgn) and ktypes' DWARF source in ktriage's tests.
#
# usage: tools/fetch-dbg.sh [-d DUMP] KVER PKGVERSION [CACHEDIR]
#   KVER        kernel release, e.g. 6.1.0-57-cloud-amd64
#   PKGVERSION  Debian package version of that build, e.g. 6.1.192-3
#   CACHEDIR    default $KTRIAGE_DBG_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/ktriage/dbg (outside the clone, so
#               a fresh clone on the same machine reuses it)
#   -d DUMP     a vmcore of that kernel: the vmlinux's GNU build-id must equal the dump's
#               VMCOREINFO BUILD-ID (else exit 1: the dump was made by another build)
#
# Prints the vmlinux's path on stdout (the last line), progress on stderr.
#
# `apt-get download linux-image-$KVER-dbg=$PKGVERSION` (~283 MB for 6.1), then ONLY
# ./usr/lib/debug/boot/vmlinux-$KVER is extracted (dpkg-deb --fsys-tarfile | tar -x of that
# member: the package installed would take 1.7 GB of module debug info) and the .deb is
# deleted. The result is cached at CACHEDIR/$KVER_$PKGVERSION/vmlinux-$KVER with its build-id
# beside it (build-id.txt): a second run costs a readelf. If Debian no longer serves that
# version the script fails saying which versions ARE served (move the vmcore generator to
# the newest kernel then: the dumps and their vmlinux must be the same build).
set -euo pipefail

die() { echo "fetch-dbg: $*" >&2; exit 1; }

dump=""
while getopts "d:" opt; do
	case $opt in
	d) dump=$OPTARG ;;
	*) die "usage: $0 [-d DUMP] KVER PKGVERSION [CACHEDIR]" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 [-d DUMP] KVER PKGVERSION [CACHEDIR]"
kver=$1
pkgver=$2
cachedir=${3:-${KTRIAGE_DBG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ktriage/dbg}}
# Both go into a file name and an apt version pin: refuse anything but the characters
# Debian allows in them.
[[ $kver =~ ^[A-Za-z0-9._+-]+$ ]] || die "kernel release $kver: unexpected characters"
[[ $pkgver =~ ^[A-Za-z0-9.+~:-]+$ ]] || die "package version $pkgver: unexpected characters"

pkg=linux-image-$kver-dbg
member=./usr/lib/debug/boot/vmlinux-$kver
dir=$cachedir/${kver}_${pkgver//:/%3a}
out=$dir/vmlinux-$kver

# buildid FILE prints the GNU build-id note of an ELF file, in hex.
buildid() {
	readelf -n "$1" 2>/dev/null | sed -n 's/^[[:space:]]*Build ID:[[:space:]]*\([0-9a-f]*\).*/\1/p' | head -n1
}

# dumpbuildid DUMP prints VMCOREINFO's BUILD-ID. VMCOREINFO is plain text near the
# start of every dump format the kernel and makedumpfile write (an ELF note, the kdump
# sub-header's vmcoreinfo block, the flattened stream's first records): the first match
# is it. (In a compressed dump the kernel's own copy in memory is compressed, so it
# cannot match; in an ELF dump it is identical.)
dumpbuildid() {
	LC_ALL=C grep -a -m1 -o 'BUILD-ID=[0-9a-f]\+' "$1" | head -n1 | cut -d= -f2
}

verify() {
	[ -n "$dump" ] || return 0
	[ -r "$dump" ] || die "dump $dump: not readable"
	local want got
	want=$(dumpbuildid "$dump")
	[ -n "$want" ] || die "dump $dump: no VMCOREINFO BUILD-ID found"
	got=$(buildid "$out")
	# VMCOREINFO's BUILD-ID is the note's 20 bytes in hex; compare as prefix in case a
	# kernel writes it padded.
	[[ $got == "$want"* || $want == "$got"* ]] ||
		die "$out: build-id $got, but dump $dump has BUILD-ID=$want: the dump is of another build than $pkg $pkgver"
}

if [ -s "$out" ] && [ -s "$dir/build-id.txt" ]; then
	verify
	echo "fetch-dbg: cached $out" >&2
	echo "$out"
	exit 0
fi

command -v apt-get >/dev/null || die "needs apt-get (Debian) to fetch $pkg=$pkgver"
command -v dpkg-deb >/dev/null || die "needs dpkg-deb"
command -v readelf >/dev/null || die "needs readelf (binutils)"

# served prints the versions of $pkg apt knows about.
served() { apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u; }

if ! served | grep -qxF -- "$pkgver"; then
	echo "fetch-dbg: $pkg=$pkgver not in apt's lists; apt-get update" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
fi
if ! served | grep -qxF -- "$pkgver"; then
	now=$(served | tr '\n' ' ')
	if [ -z "$now" ]; then
		# The kernel ABI (the 57 in 6.1.0-57) changes with most point releases: list
		# the dbg packages of this flavour that are served, newest last.
		flavour=${kver#*-*-}
		now=$(apt-cache search --names-only "^linux-image-.*-$flavour-dbg\$" 2>/dev/null | awk '{print $1}' | sort -V | tail -n5 | tr '\n' ' ')
		die "$pkg is no longer served by apt (no version of it at all); served $flavour dbg packages: ${now:-none}. Regenerate the vmcores with a served kernel (tools/gen-vmcores.sh) and fetch that one."
	fi
	die "$pkg version $pkgver is no longer served by apt; served: $now. Regenerate the vmcores with the newest kernel (tools/gen-vmcores.sh) and fetch that pair."
fi

mkdir -p "$cachedir"
tmp=$(mktemp -d "$cachedir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download drops privileges to _apt: let it write here.
chmod 755 "$tmp"
chown _apt "$tmp" 2>/dev/null || true
echo "fetch-dbg: apt-get download $pkg=$pkgver (~300 MB)" >&2
(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$pkgver" >&2) || die "apt-get download $pkg=$pkgver failed"
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download $pkg=$pkgver left no .deb in $tmp"
mkdir "$tmp/x"
# --occurrence=1: tar stops at the member (10th in the archive) instead of reading the
# 1.7 GB stream to its end (5 s instead of 15); dpkg-deb then dies of a broken pipe,
# which is why only tar's status counts.
set +o pipefail
dpkg-deb --fsys-tarfile "$deb" 2>"$tmp/dpkg-deb.err" | tar -x --occurrence=1 -C "$tmp/x" "$member"
tarst=${PIPESTATUS[1]}
set -o pipefail
[ "$tarst" = 0 ] && [ -s "$tmp/x/$member" ] ||
	die "$deb: no member $member (tar status $tarst; dpkg-deb: $(head -c 500 "$tmp/dpkg-deb.err"))"
rm -f "$deb"
got=$(buildid "$tmp/x/$member")
[ -n "$got" ] || die "$deb: $member has no GNU build-id note"
mkdir -p "$dir"
mv "$tmp/x/$member" "$out.tmp"
echo "$got" >"$dir/build-id.txt.tmp"
mv "$out.tmp" "$out"
mv "$dir/build-id.txt.tmp" "$dir/build-id.txt"
verify
echo "fetch-dbg: $out (build-id $got)" >&2
echo "$out"
