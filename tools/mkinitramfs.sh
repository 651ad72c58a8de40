#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the L2 guest's initramfs: static busybox and an /init that mounts
# proc/sys/devtmpfs, prints "avmm-guest: init started" and runs a job-control
# shell on the console (PS1 '~ # '). No root needed: the tree is packed with
# cpio, and /dev/console is appended as a hand-written newc entry.
#
# With --modules (or AVMM_INITRAMFS_MODULES) it also carries those kernel
# modules and what they depend on, from the kernel package fetch-guest.sh
# unpacked, and /init loads them in dependency order. Then, when the kernel
# command line has root=DEV (and optionally rootfstype=, rw, init=), /init
# mounts DEV and switch_roots to its /sbin/init; if that fails it says so and
# gives the initramfs shell. "virtio" stands for AVMM_VIRTIO_MODULES in
# tools/lib.sh (virtio_mmio virtio_blk virtio_rng virtio_console).
# Usage: tools/mkinitramfs.sh [OUT_DIR] [--modules 'NAME...'|virtio] [-o FILE]
#        (default OUT_DIR: <repo>/build/guest, which needs busybox from
#        tools/fetch-guest.sh; default FILE: OUT_DIR/initramfs.cpio.gz, or
#        OUT_DIR/initramfs-modules.cpio.gz with modules, so the plain image
#        the tests boot is never replaced by one with modules)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n 's/^# \{0,1\}Usage: //p' "$0" >&2; exit 2; }
out=
img=
modules=${AVMM_INITRAMFS_MODULES:-}
while [ $# -gt 0 ]; do
	case $1 in
	--modules) [ $# -ge 2 ] || usage; modules=$2; shift 2 ;;
	-o | --output) [ $# -ge 2 ] || usage; img=$2; shift 2 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$out" ] || usage; out=$1; shift ;;
	esac
done
out=${out:-$AVMM_GUEST_DIR}
[ "$modules" != virtio ] || modules=$AVMM_VIRTIO_MODULES
if [ -z "$img" ]; then
	img=$out/initramfs.cpio.gz
	[ -z "$modules" ] || img=$out/initramfs-modules.cpio.gz
fi
bb=$out/busybox
need_cmd cpio gzip

[ -x "$bb" ] || die "$bb missing: run tools/fetch-guest.sh first"
# With modules the inputs are many and cheap to pack: always rebuild.
if [ -z "$modules" ] && up_to_date "$img" "$bb" "$0" "$(dirname "$0")/lib.sh"; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
guest_busybox_tree "$root" "$bb"

if [ -n "$modules" ]; then
	moddir=$(guest_modules_dir)
	mkdir -p "$root/lib/modules"
	# shellcheck disable=SC2086 # a list of names
	guest_modules_order "$moddir" $modules >"$tmp/order"
	: >"$root/lib/modules/load.list"
	# A kernel with all of them built in still gets the root= handling.
	[ -s "$tmp/order" ] || note "no modules to load for '$modules': all built in"
	# Decompressed here, so the guest's insmod needs no decompressor; the
	# kernel has no in-kernel module decompression (MODULE_DECOMPRESS).
	while read -r name path; do
		module_cat "$path" >"$root/lib/modules/$name.ko"
		echo "$name" >>"$root/lib/modules/load.list"
	done <"$tmp/order"
	note "modules: $(tr '\n' ' ' <"$root/lib/modules/load.list")"
fi

# Applet links are made at boot (busybox --install): the arm64 binary cannot
# run here to list its applets, and at boot it costs a few milliseconds.
{
	guest_init_head install
	[ -z "$modules" ] || cat <<'INIT'
for m in $(cat /lib/modules/load.list); do
	insmod "/lib/modules/$m.ko" || echo "avmm-guest: insmod $m failed"
done
echo "avmm-guest: modules loaded"
root= fstype=ext4 mode=ro init=/sbin/init
for a in $(cat /proc/cmdline); do
	case $a in
	root=*) root=${a#root=} ;;
	rootfstype=*) fstype=${a#rootfstype=} ;;
	init=*) init=${a#init=} ;;
	rw | ro) mode=$a ;;
	esac
done
if [ -n "$root" ]; then
	# The disk shows up while its driver probes; give it up to 5 s.
	i=0
	while [ ! -b "$root" ] && [ $i -lt 50 ]; do
		usleep 100000
		i=$((i + 1))
	done
	mkdir -p /newroot
	if mount -t "$fstype" -o "$mode" "$root" /newroot; then
		echo "avmm-guest: mounted $root on /newroot ($fstype, $mode)"
		if [ -x "/newroot$init" ]; then
			for d in dev proc sys; do
				mount --move "/$d" "/newroot/$d"
			done
			exec switch_root /newroot "$init"
		fi
		echo "avmm-guest: no $init on $root: staying in the initramfs"
	else
		echo "avmm-guest: cannot mount $root ($fstype, $mode): staying in the initramfs"
	fi
fi
INIT
	guest_init_tail "avmm-guest: init started"
} >"$root/init"
chmod 755 "$root/init"

pack_initramfs "$root" "$img" 9
note "$img $(du -h "$img" | cut -f1)"
