#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the L2 guest's root disk: a raw, sparse ext4 image holding the same
# static busybox as the initramfs, its applet links, and /sbin/init, which
# mounts proc/sys/devtmpfs, prints "avmm-guest: rootfs init started" and runs
# a job-control shell on the console (PS1 '~ # '); a getty on /dev/hvc0 when
# there is one and it is not the console (root, no password). No root needed:
# mke2fs -d copies a tree the caller owns, and debugfs then gives every file
# to root and adds /dev/console (which an unprivileged caller cannot mknod).
# /etc/avmm-known is 1 MiB of fixed pseudo-random bytes (SHA-256 in counter
# mode over "avmm-known"), a file of known content for the disk tests.
# /etc/udhcpc/default.script (busybox udhcpc's default) applies a DHCP lease:
# address, default route, /etc/resolv.conf.
# Batch mode: with avmm.run=<base64 script> on the kernel command line, init
# runs that script instead of the shell, prints AVMM-L2-STATUS=<rc> and
# powers off (the disk tests drive the guest this way).  Otherwise, with an
# eth0, init asks for a DHCP lease (udhcpc) before starting the shell.
# Reproducible: fixed file times (SOURCE_DATE_EPOCH, E2FSPROGS_FAKE_TIME),
# UUID and directory hash seed.
# The Debian kernel has virtio as modules: boot it with the initramfs from
# `tools/mkinitramfs.sh --modules virtio` and root=/dev/vda.
# Usage: tools/mkrootfs.sh [OUT] [--size MiB] [--add SRC:DST]...
#        (default OUT: <repo>/build/guest/rootfs.img, 64 MiB; SRC a file or a
#        directory, DST its absolute path in the image; needs busybox from
#        tools/fetch-guest.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n 's/^# \{0,1\}Usage: //p' "$0" >&2; exit 2; }
img=
size=64
adds=()
while [ $# -gt 0 ]; do
	case $1 in
	--size) [ $# -ge 2 ] || usage; size=$2; shift 2 ;;
	--add) [ $# -ge 2 ] || usage; adds+=("$2"); shift 2 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$img" ] || usage; img=$1; shift ;;
	esac
done
img=${img:-$AVMM_GUEST_DIR/rootfs.img}
bb=$AVMM_GUEST_DIR/busybox
need_cmd mke2fs debugfs python3
case $size in
'' | *[!0-9]*) die "--size $size: a whole number of MiB, please" ;;
esac
[ "$size" -ge 8 ] || die "--size $size: ext4 with a journal needs at least 8 MiB"
[ -x "$bb" ] || die "$bb missing: run tools/fetch-guest.sh first"

# A fixed identity, so that the same inputs give the same image.
epoch=${SOURCE_DATE_EPOCH:-1704067200}
uuid=8a7b6c5d-0e1f-4a2b-9c3d-a1b2c3d4e5f6

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$img.tmp"' EXIT
root=$tmp/root
guest_busybox_tree "$root" "$bb"
mkdir -p "$root/mnt" "$root/var" "$root/run"
busybox_applets "$bb" >"$tmp/applets" || die "cannot list the applets of $bb"
while read -r a; do
	[ -e "$root/bin/$a" ] || [ -L "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done <"$tmp/applets"
rm -f "$root/sbin/init"
{
	guest_init_head
	cat <<'INIT'
# A login on hvc0 (virtio-console) when it exists and is not the console.
if [ -c /dev/hvc0 ] && ! grep -qw hvc0 /sys/class/tty/console/active 2>/dev/null; then
	(while :; do setsid getty -L 0 hvc0 vt100; sleep 1; done) &
fi
ip link set lo up
# Batch mode (see the top of tools/mkrootfs.sh).
for a in $(cat /proc/cmdline); do
	case $a in
	avmm.run=*)
		echo "avmm-guest: rootfs init started (batch)"
		# a tmpfs: the root may be mounted read-only
		mount -t tmpfs tmpfs /run
		echo "${a#avmm.run=}" | base64 -d >/run/avmm-run.sh
		sh /run/avmm-run.sh </dev/console >/dev/console 2>&1
		echo "AVMM-L2-STATUS=$?"
		poweroff -f
		;;
	esac
done
# Interactive: eth0 by DHCP, in the background if no lease comes at once.
if [ -e /sys/class/net/eth0 ]; then
	udhcpc -i eth0 -b -q -t 3 -T 2 >/dev/null 2>&1
fi
INIT
	guest_init_tail "avmm-guest: rootfs init started"
} >"$root/sbin/init"
chmod 755 "$root/sbin/init"

mkdir -p "$root/etc/udhcpc"
cat >"$root/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
# udhcpc calls this with the event in $1 and the lease in the environment
# (interface, ip, mask as a prefix length, router, dns).
case $1 in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do
		ip route replace default via "$r" dev "$interface"
		break
	done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	;;
esac
exit 0
DHCP
chmod 755 "$root/etc/udhcpc/default.script"

for a in "${adds[@]}"; do
	src=${a%%:*}
	dst=${a#*:}
	if [ "$src" = "$a" ] || [ -z "$src" ]; then
		die "--add $a: want SRC:DST"
	fi
	case $dst in /*) ;; *) die "--add $a: DST must be an absolute path in the image" ;; esac
	[ -e "$src" ] || die "--add $a: $src does not exist"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done

python3 - "$root/etc/avmm-known" <<'PY'
import hashlib, sys
with open(sys.argv[1], "wb") as f:
    for i in range(32768):  # 32 bytes each: 1 MiB
        f.write(hashlib.sha256(b"avmm-known%d" % i).digest())
PY

find "$root" -exec touch -h -d "@$epoch" {} +

# debugfs fixes what mke2fs -d copies from the caller: owners, and the one
# device node init needs before it can mount devtmpfs.
{
	# mknod makes its name in the current directory
	printf 'cd /dev\nmknod console c 5 1\ncd /\nsif /dev/console mode 020600\n'
	(cd "$root" && find . -mindepth 1 \( ! -uid 0 -o ! -gid 0 \) | LC_ALL=C sort) |
		while read -r p; do
			printf 'sif "%s" uid 0\nsif "%s" gid 0\n' "${p#.}" "${p#.}"
		done
	# mke2fs copies each file's ctime, which touch cannot set, and atime,
	# which reading it may have changed.
	(cd "$root" && find . | LC_ALL=C sort) | while read -r p; do
		p=${p#.}
		printf 'sif "%s" %s @%s\n' "${p:-/}" ctime "$epoch" "${p:-/}" atime "$epoch"
	done
	printf 'sif /dev/console %s @%s\n' atime "$epoch" mtime "$epoch" ctime "$epoch"
	# The superblock counts the kilobytes ever written (more the more files
	# needed an owner); zero, it stays zero when debugfs closes the image.
	echo "ssv kbytes_written 0"
} >"$tmp/debugfs.cmd"

rm -f "$img.tmp"
truncate -s "${size}M" "$img.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -b 4096 -I 256 -L avmm-root -U "$uuid" \
	-E "root_owner=0:0,hash_seed=$uuid" -d "$root" "$img.tmp" ||
	die "mke2fs failed (does the tree fit in --size $size MiB?)"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$tmp/debugfs.cmd" "$img.tmp" >"$tmp/debugfs.log" 2>&1 ||
	die "debugfs failed: $(cat "$tmp/debugfs.log")"
# debugfs reports a failed command but still exits 0.
if grep -Ev '^(debugfs[: ]|Allocated inode: )' "$tmp/debugfs.log" | grep -q .; then
	die "debugfs: $(grep -Ev '^(debugfs[: ]|Allocated inode: )' "$tmp/debugfs.log" | head -n 5)"
fi
mv -f "$img.tmp" "$img"
note "$img ${size} MiB ($(du -h "$img" | cut -f1) used), $(wc -l <"$tmp/applets") applets"
