#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetch the guest pieces from Debian's arm64 archive (cached under $AVMM_CACHE):
#   <out>/Image    uncompressed arm64 kernel from linux-image-*-cloud-arm64
#                  (KVM, PL011, GICv2/v3 and the arch timer are built in)
#   <out>/busybox  static arm64 busybox
# Usage: tools/fetch-guest.sh [OUT_DIR]     (default: <repo>/build/guest)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$AVMM_GUEST_DIR}
mkdir -p "$out"
need_cmd dpkg-deb apt-get

ensure_arm64_apt

# The meta package only depends on the versioned one that carries the kernel.
kpkg=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-arm64\).*/\1/p' | head -n 1)
[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-arm64:arm64 to a versioned kernel package"

kdeb=$(deb_fetch "$kpkg:arm64")
bdeb=$(deb_fetch busybox-static:arm64)

kdir=$AVMM_CACHE/extract/$(basename "$kdeb" .deb)
bdir=$AVMM_CACHE/extract/$(basename "$bdeb" .deb)
deb_extract "$kdeb" "$kdir"
deb_extract "$bdeb" "$bdir"

vmlinuz=$(ls -1 "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $kdeb"

# An arm64 Image has "ARM\x64" at offset 56. Debian ships it uncompressed, but
# accept a gzip'ed one too in case that changes.
is_arm64_image() {
	[ "$(od -An -tx1 -j56 -N4 "$1" | tr -d ' \n')" = "41524d64" ]
}
if ! up_to_date "$out/Image" "$vmlinuz"; then
	if is_arm64_image "$vmlinuz"; then
		cp -f "$vmlinuz" "$out/Image.tmp"
	elif [ "$(od -An -tx1 -N2 "$vmlinuz" | tr -d ' \n')" = "1f8b" ]; then
		gzip -dc "$vmlinuz" >"$out/Image.tmp"
	else
		die "$vmlinuz is neither an arm64 Image nor gzip'ed"
	fi
	is_arm64_image "$out/Image.tmp" || die "$vmlinuz does not hold an arm64 Image"
	mv -f "$out/Image.tmp" "$out/Image"
fi

[ -x "$bdir/bin/busybox" ] || die "no bin/busybox in $bdeb"
if ! up_to_date "$out/busybox" "$bdir/bin/busybox"; then
	cp -f "$bdir/bin/busybox" "$out/busybox"
fi

echo "$kpkg" >"$out/kernel-package"
note "Image   $(du -h "$out/Image" | cut -f1)  ($kpkg)"
note "busybox $(du -h "$out/busybox" | cut -f1)"
