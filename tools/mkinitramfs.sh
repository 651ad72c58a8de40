#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the L2 guest's initramfs: static busybox and an /init that mounts
# proc/sys/devtmpfs, prints "avmm-guest: init started" and runs a job-control
# shell on the console (PS1 '~ # '). No root needed: the tree is packed with
# cpio, and /dev/console is appended as a hand-written newc entry.
# Usage: tools/mkinitramfs.sh [OUT_DIR]   (default: <repo>/build/guest; needs
#        OUT_DIR/busybox from tools/fetch-guest.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$AVMM_GUEST_DIR}
bb=$out/busybox
img=$out/initramfs.cpio.gz
need_cmd cpio gzip

[ -x "$bb" ] || die "$bb missing: run tools/fetch-guest.sh first"
if up_to_date "$img" "$bb" "$0" "$(dirname "$0")/lib.sh"; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# Applet links are made at boot (busybox --install): the arm64 binary cannot
# run here to list its applets, and at boot it costs a few milliseconds.
cat >"$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=${TERM:-vt100}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "avmm-guest: init started"
export PS1='~ # '
# Keep PID 1 alive: if the shell exits, start another one.
while :; do
	setsid cttyhack sh -i
done
EOF
chmod 755 "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

pack_initramfs "$root" "$img" 9
note "$img $(du -h "$img" | cut -f1)"
