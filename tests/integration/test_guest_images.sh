#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick checks of the L2 guest's disk and initramfs tooling (no VM): builds a
# root disk with tools/mkrootfs.sh and reads it back with debugfs, and builds
# initramfs images with and without modules and lists them with cpio.
# Needs build/guest/{busybox,kernel-package} from tools/fetch-guest.sh (the
# kernel's modules from its cache) and e2fsprogs; without them it exits 77
# (ctest: skipped, not passed).
# Usage: tests/integration/test_guest_images.sh WORK_DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:?usage: $0 WORK_DIR}
guest=${AVMM_GUEST_DIR:-$repo/build/guest}
export AVMM_GUEST_DIR=$guest

if [ ! -x "$guest/busybox" ] || [ ! -s "$guest/kernel-package" ]; then
	echo "SKIP: $guest/busybox or kernel-package missing (run tools/fetch-guest.sh)"
	exit 77
fi
for c in mke2fs debugfs cpio; do
	command -v "$c" >/dev/null || { echo "SKIP: $c not installed (tools/install-deps.sh)"; exit 77; }
done

fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

rm -rf "$work"
mkdir -p "$work/add"
img=$work/rootfs.img
token="avmm-rootfs-token-$$-$RANDOM"
echo "$token" >"$work/add/token"
chmod 640 "$work/add/token"
# Owned by someone else, as every file is when a user builds it: the image
# must still give it to root.
[ "$(id -u)" -ne 0 ] || chown 4321:4321 "$work/add/token"

"$repo/tools/mkrootfs.sh" "$img" --size 24 --add "$work/add/token:/srv/check/token" >"$work/mkrootfs.log" 2>&1 ||
	{ cat "$work/mkrootfs.log"; echo "FAIL: mkrootfs.sh"; exit 1; }

dbg() { debugfs -R "$1" "$img" 2>/dev/null; }
# "ls -l" lines: inode mode (links) uid gid size date time name
ls_entry() { dbg "ls -l $1" | awk -v n="$2" '$NF == n'; }
entry_is() { # entry_is DIR NAME MODE -> uid 0, gid 0 and that mode
	local e
	e=$(ls_entry "$1" "$2")
	[ -n "$e" ] || { echo "  no $1/$2"; return 1; }
	echo "$e" | awk -v m="$3" '{ ok = ($2 == m && $4 == 0 && $5 == 0) } END { exit !ok }' ||
		{ echo "  $e"; return 1; }
}

size=$(stat -c %s "$img")
check "image is 24 MiB, a multiple of 512 ($size)" test $((size % 512)) -eq 0 -a "$size" -eq $((24 << 20))
check "image is sparse" test $(($(stat -c %b "$img") * 512)) -lt "$size"
check "ext4 with a journal" sh -c "dumpe2fs -h '$img' 2>/dev/null | grep -q '^Filesystem features:.*has_journal.*extent'"
check "/bin/busybox is a root-owned 0755 file" entry_is /bin busybox 100755
for a in sh mount insmod switch_root getty cttyhack setsid; do
	check "/bin/$a is a root-owned link" entry_is /bin "$a" 120777
done
check "/bin/sh points to busybox" test "$(dbg "stat /bin/sh" | sed -n 's/^Fast link dest: "\(.*\)"/\1/p')" = busybox
check "/sbin/init is a root-owned 0755 file" entry_is /sbin init 100755
init=$(dbg "cat /sbin/init")
check "/sbin/init prints the rootfs marker" grep -q 'echo "avmm-guest: rootfs init started"' <<<"$init"
check "/sbin/init gives a '~ # ' shell" grep -qF "export PS1='~ # '" <<<"$init"
check "/sbin/init mounts devtmpfs" grep -q 'mount -t devtmpfs devtmpfs /dev' <<<"$init"
check "/etc/profile gives login shells the '~ # ' prompt" grep -qxF "export PS1='~ # '" <<<"$(dbg "cat /etc/profile")"
check "/etc/passwd has root with uid 0" grep -qx 'root::0:0:root:/root:/bin/sh' <<<"$(dbg "cat /etc/passwd")"
check "/dev/console is char 5,1, root's" sh -c "debugfs -R 'stat /dev/console' '$img' 2>/dev/null | grep -q 'Type: character special' &&
	debugfs -R 'stat /dev/console' '$img' 2>/dev/null | grep -q 'Device major/minor number: 05:01'"
check "--add file has its content" test "$(dbg "cat /srv/check/token")" = "$token"
check "--add file is root's and keeps its mode" entry_is /srv/check token 100640
nonroot=$(for d in / /bin /sbin /etc /dev /srv /srv/check; do dbg "ls -l $d"; done |
	awk 'NF >= 8 && ($4 != 0 || $5 != 0)')
check "every inode is root's" test -z "$nonroot"
[ -z "$nonroot" ] || echo "$nonroot"
"$repo/tools/mkrootfs.sh" "$work/again.img" --size 24 --add "$work/add/token:/srv/check/token" 2>/dev/null
check "the same inputs give the same image" cmp -s "$img" "$work/again.img"
rm -f "$work/again.img"
# No root needed: as nobody, the same image as root's (owners, times, counters).
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/nobody" "$@"
}
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && ! as_nobody true 2>/dev/null; then
	# Seen in a chroot whose / is mode 0700: nobody cannot even load libc.
	echo "note: the as-nobody build is not compared: user nobody cannot run programs here"
elif [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$work/nobody"
	chmod 777 "$work/nobody"
	# Its own copy of the tools: the checkout may sit in a directory nobody cannot enter.
	# Its own copy of the tools and busybox: the checkout may sit in a directory
	# nobody cannot enter.
	cp -a "$repo/tools" "$work/nobody/tools"
	mkdir -p "$work/nobody/guest"
	cp "$guest/busybox" "$work/nobody/guest/"
	chmod -R a+rX "$work/nobody/tools" "$work/nobody/guest"
	"$repo/tools/mkrootfs.sh" "$work/root.img" --size 24 2>/dev/null
	if as_nobody AVMM_GUEST_DIR="$work/nobody/guest" "$work/nobody/tools/mkrootfs.sh" \
		"$work/nobody/nobody.img" --size 24 >"$work/nobody.log" 2>&1; then
		check "built as nobody, the same image as built as root" cmp "$work/root.img" "$work/nobody/nobody.img"
	else
		fail "mkrootfs.sh as nobody: $(cat "$work/nobody.log")"
	fi
	rm -f "$work/root.img" "$work/nobody/nobody.img"
else
	echo "note: not root (or no setpriv): this run itself is the unprivileged build"
fi

# The initramfs: the plain one the integration tests boot, and one with modules.
"$repo/tools/mkinitramfs.sh" "$guest" -o "$work/plain.cpio.gz" 2>/dev/null
"$repo/tools/mkinitramfs.sh" "$guest" --modules virtio -o "$work/mod.cpio.gz" 2>/dev/null
plain=$(gzip -dc "$work/plain.cpio.gz" | cpio -t --quiet 2>/dev/null)
mod=$(gzip -dc "$work/mod.cpio.gz" | cpio -t --quiet 2>/dev/null)
check "plain initramfs has no modules" sh -c "! grep -q '^lib/modules' <<'X'
$plain
X"
pinit=$(gzip -dc "$work/plain.cpio.gz" | cpio -i --quiet --to-stdout init 2>/dev/null)
check "plain /init prints its marker and loads nothing" sh -c "grep -q 'echo \"avmm-guest: init started\"' <<'X' && ! grep -q insmod <<'Y'
$pinit
X
$pinit
Y"
for m in virtio_ring virtio virtio_mmio virtio_blk virtio_rng virtio_console failover net_failover \
	virtio_net; do
	check "module initramfs has lib/modules/$m.ko" grep -qx "lib/modules/$m.ko" <<<"$mod"
done
order=$(gzip -dc "$work/mod.cpio.gz" | cpio -i --quiet --to-stdout lib/modules/load.list 2>/dev/null | tr '\n' ' ')
# virtio_ring and virtio first, in either order (neither needs the other; the
# order modinfo lists them in differs between kernel builds): every virtio
# driver depends on both.
check "load order puts virtio_ring and virtio first ($order)" \
	sh -c 'case "$1" in "virtio_ring virtio "* | "virtio virtio_ring "*) ;; *) exit 1 ;; esac &&
		test "${1#* * }" = "virtio_mmio virtio_blk virtio_rng virtio_console failover net_failover virtio_net "' sh "$order"
gzip -dc "$work/mod.cpio.gz" | cpio -i --quiet --to-stdout lib/modules/virtio_blk.ko >"$work/virtio_blk.ko" 2>/dev/null
elf=$(od -An -tx1 -N20 "$work/virtio_blk.ko" | tr -d ' \n')
# ELF, 64-bit, little endian, ..., e_machine 0xb7 (AArch64), uncompressed
check "virtio_blk.ko is an uncompressed arm64 ELF" test "${elf:0:8}${elf:36:4}" = 7f454c46b700

echo "$fails failed"
[ "$fails" -eq 0 ]
