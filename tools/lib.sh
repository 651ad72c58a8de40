# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers for the tools/*.sh scripts (sourced, not executed).
#
# Layout (all overridable from the environment):
#   AVMM_CACHE          downloaded .deb files and their extracted trees
#   AVMM_GUEST_DIR      L2 guest: Image, busybox, initramfs.cpio.gz
#   AVMM_SYSROOT        arm64 -dev packages for cross-building
#   AVMM_CROSS_BUILD    the aarch64 CMake build of avmm
#   AVMM_L1_DIR         the L1 initramfs and its staging tree

AVMM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AVMM_CACHE=${AVMM_CACHE:-$HOME/.cache/avmm}
AVMM_GUEST_DIR=${AVMM_GUEST_DIR:-$AVMM_REPO/build/guest}
AVMM_SYSROOT=${AVMM_SYSROOT:-$AVMM_REPO/build/sysroot-arm64}
AVMM_CROSS_BUILD=${AVMM_CROSS_BUILD:-$AVMM_REPO/build-aarch64}
AVMM_L1_DIR=${AVMM_L1_DIR:-$AVMM_REPO/build/l1}
AVMM_CROSS_PREFIX=${AVMM_CROSS_PREFIX:-aarch64-linux-gnu-}

die() {
	echo "${0##*/}: error: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' not found; install it (Debian: $(pkg_hint "$c"))"
	done
}

pkg_hint() {
	case $1 in
	qemu-system-aarch64) echo "apt-get install qemu-system-arm" ;;
	aarch64-linux-gnu-*) echo "apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu" ;;
	cpio) echo "apt-get install cpio" ;;
	cmake) echo "apt-get install cmake" ;;
	dpkg-deb) echo "apt-get install dpkg" ;;
	*) echo "apt-get install $1" ;;
	esac
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run once as root, or install sudo)"
	fi
}

# Make sure apt knows arm64 packages. Only touches dpkg/apt when needed, so a
# prepared machine (or an offline one with a warm cache) is left alone.
ensure_arm64_apt() {
	local updated=0
	need_cmd apt-get apt-cache dpkg
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		note "adding the arm64 architecture to dpkg"
		as_root dpkg --add-architecture arm64
		as_root apt-get update -qq || die "apt-get update failed"
		updated=1
	fi
	if ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
		[ $updated -eq 1 ] || as_root apt-get update -qq || die "apt-get update failed"
		apt-cache show busybox-static:arm64 >/dev/null 2>&1 ||
			die "apt has no arm64 packages even after 'apt-get update'; check /etc/apt/sources.list*"
	fi
}

# deb_fetch PKG:ARCH -> prints the path of the cached .deb.
# The cache key is apt's own file name (package_version_arch.deb), so a new
# Debian point release is fetched once and then reused.
deb_fetch() {
	local pkg=$1 dir=$AVMM_CACHE/debs line fname
	mkdir -p "$dir"
	line=$(apt-get download --print-uris "$pkg" 2>/dev/null | tail -n 1) || true
	fname=$(echo "$line" | awk '{print $2}')
	if [ -z "$fname" ]; then
		# apt lists missing or offline: fall back to any cached version.
		fname=$(cd "$dir" && ls -1 "${pkg%%:*}"_*_"${pkg##*:}".deb 2>/dev/null | sort -V | tail -n 1) ||
			true
		[ -n "$fname" ] || die "cannot resolve package $pkg (apt-get update? network?)"
		note "using cached $fname (apt could not resolve $pkg)"
	fi
	if [ ! -s "$dir/$fname" ]; then
		note "downloading $pkg"
		# apt's _apt sandbox user cannot write to $HOME; downloading as the
		# invoking user is what we want anyway.
		(cd "$dir" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg" >/dev/null) ||
			die "apt-get download $pkg failed"
		[ -s "$dir/$fname" ] || die "apt-get download $pkg did not produce $fname"
	fi
	echo "$dir/$fname"
}

# deb_extract DEB DESTDIR: extract once per .deb version (stamp file).
deb_extract() {
	local deb=$1 dest=$2 stamp
	stamp=$dest/.extracted-$(basename "$deb")
	[ -e "$stamp" ] && return 0
	mkdir -p "$dest"
	dpkg-deb -x "$deb" "$dest" || die "dpkg-deb -x $deb failed"
	touch "$stamp"
}

# cpio_newc_entry NAME MODE RDEV_MAJOR RDEV_MINOR INO: one newc entry for a
# device node, so initramfs images carry /dev/console without needing root
# (the kernel opens it for init's stdio before anything can mount devtmpfs).
cpio_newc_entry() {
	local name=$1 mode=$2 maj=$3 min=$4 ino=$5 namesize hdr pad
	namesize=$((${#name} + 1))
	hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0)
	printf '%s%s\0' "$hdr" "$name"
	# header (110 bytes) + name + NUL is padded to a multiple of 4
	pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}

# cpio_dev_archive: a small newc archive with /dev and /dev/console, to be
# concatenated after the main one (the kernel unpacks concatenated archives).
cpio_dev_archive() {
	cpio_newc_entry dev $((8#040755)) 0 0 900001
	cpio_newc_entry dev/console $((8#020600)) 5 1 900002
	cpio_newc_entry 'TRAILER!!!' 0 0 0 0
}

# up_to_date OUT IN...: true when OUT exists and is newer than every IN.
up_to_date() {
	local out=$1 f
	shift
	[ -e "$out" ] || return 1
	for f in "$@"; do
		[ -e "$f" ] || continue
		[ "$f" -nt "$out" ] && return 1
	done
	return 0
}

# Pack directory $1 (plus /dev/console) into a gzip'ed newc cpio at $2 with
# gzip level $3, atomically; no root needed.
pack_initramfs() {
	local root=$1 out=$2 level=$3
	{
		(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
		cpio_dev_archive
	} | gzip "-${level}n" >"$out.tmp"
	mv -f "$out.tmp" "$out"
}

# --- The L2 guest's userland (shared by mkinitramfs.sh and mkrootfs.sh) ---

# guest_busybox_tree ROOT BUSYBOX: the directories, /bin/busybox, /bin/sh and a
# root account with an empty password (busybox login lets it in, for a getty
# on hvc0; the console itself gets a shell without logging in) and /etc/profile.
guest_busybox_tree() {
	local root=$1 bb=$2
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
	cp "$bb" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	echo "root::0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	# login shells (a getty's) get the console shell's PATH and prompt
	printf '%s\n' 'export PATH=/sbin:/usr/sbin:/bin:/usr/bin' "export PS1='~ # '" >"$root/etc/profile"
}

# busybox_applets BUSYBOX: the applet names compiled into an (arm64) busybox,
# one a line. The binary cannot run here, so read its applet name table: NUL
# separated, sorted, starting with the test applets "[" and "[[".
busybox_applets() {
	python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\0[\0[[\0")
if start < 0:
    sys.exit("no applet name table in " + sys.argv[1])
names = data[start + 1:data.find(b"\0\0", start + 1)].split(b"\0")
for n in names:
    if not re.fullmatch(rb"[\[\]a-z0-9_.-]+", n):
        sys.exit("unexpected applet name %r in %s" % (n, sys.argv[1]))
if names != sorted(names) or b"sh" not in names or b"mount" not in names:
    sys.exit("the applet table of %s does not look like one" % sys.argv[1])
print("\n".join(n.decode() for n in names))
PY
}

# guest_init_head [install]: the start of a busybox init script: applet
# links (with "install": made at boot, for an initramfs), PATH, and the
# pseudo file systems (left alone when an initramfs moved them here already).
guest_init_head() {
	echo '#!/bin/sh'
	[ "${1:-}" != install ] || echo '/bin/busybox --install -s'
	cat <<'EOF2'
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=${TERM:-vt100}
[ -e /proc/self ] || mount -t proc proc /proc
[ -e /sys/kernel ] || mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev 2>/dev/null
EOF2
}

# guest_init_tail MARKER: print MARKER, then a job-control shell on the
# console with the prompt the tests wait for, for ever.
guest_init_tail() {
	echo "echo \"$1\""
	cat <<'EOF2'
export PS1='~ # '
# Keep PID 1 alive: if the shell exits, start another one.
while :; do
	setsid cttyhack sh -i
done
EOF2
}

# --- Guest kernel modules (the Debian kernel has virtio as modules) ---

# The virtio transport and devices avmm's guests use, and what they need.
# ext4, jbd2, mbcache and crc32c are built into Debian's cloud kernel;
# virtio_net pulls in net_failover and failover.
# shellcheck disable=SC2034 # used by the scripts that source this
AVMM_VIRTIO_MODULES="virtio_mmio virtio_blk virtio_rng virtio_console virtio_net"

# guest_modules_dir: lib/modules/<version> of the kernel package that
# fetch-guest.sh unpacked (AVMM_GUEST_MODULES overrides it).
guest_modules_dir() {
	local kpkg d
	if [ -n "${AVMM_GUEST_MODULES:-}" ]; then
		[ -d "$AVMM_GUEST_MODULES" ] || die "AVMM_GUEST_MODULES=$AVMM_GUEST_MODULES is not a directory"
		echo "$AVMM_GUEST_MODULES"
		return
	fi
	[ -s "$AVMM_GUEST_DIR/kernel-package" ] ||
		die "$AVMM_GUEST_DIR/kernel-package missing: run tools/fetch-guest.sh first"
	kpkg=$(cat "$AVMM_GUEST_DIR/kernel-package")
	d=$(ls -1d "$AVMM_CACHE"/extract/"${kpkg}"_*/lib/modules/"${kpkg#linux-image-}" 2>/dev/null |
		sort -V | tail -n 1)
	[ -n "$d" ] || die "no modules of $kpkg under $AVMM_CACHE/extract: run tools/fetch-guest.sh"
	echo "$d"
}

# module_cat KO: the module's ELF, decompressed if Debian compressed it.
module_cat() {
	case $1 in
	*.ko.xz) need_cmd xz; xz -dc "$1" ;;
	*.ko.zst) need_cmd zstd; zstd -dcq "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*.ko) cat "$1" ;;
	*) die "$1: not a kernel module" ;;
	esac
}

# module_find MODDIR NAME: the module's file; file names may use - for _.
module_find() {
	local f
	f=$(find "$1/kernel" \( -name "$2.ko*" -o -name "${2//_/-}.ko*" \) | LC_ALL=C sort | head -n 1)
	[ -n "$f" ] || die "module $2 is not in $1 (built in? see modules.builtin)"
	echo "$f"
}

# guest_modules_order MODDIR NAME...: "name path" lines in load order, every
# module after what it depends on. The package ships no modules.dep (depmod
# runs at install time), so read each module's own .modinfo "depends=".
guest_modules_order() {
	local moddir=$1 n
	shift
	declare -A _seen=()
	_mod_visit() {
		local name=${1//-/_} f deps d
		[ -z "${_seen[$name]:-}" ] || return 0
		_seen[$name]=1
		if grep -qE "/(${name}|${name//_/-})\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
			note "$name is built into the kernel"
			return 0
		fi
		f=$(module_find "$moddir" "$name")
		deps=$(module_cat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1)
		for d in ${deps//,/ }; do
			_mod_visit "$d"
		done
		echo "$name $f"
	}
	for n in "$@"; do
		_mod_visit "$n"
	done
}
