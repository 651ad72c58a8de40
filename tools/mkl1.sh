#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the L1 initramfs: the arm64 Linux that runs avmm under nested QEMU.
#
# Layout inside L1:
#   /avmm/bin/avmm, /avmm/bin/kvm-probe     from build-aarch64 (if built)
#   /avmm/plugins/*.so                      (AVMM_PLUGIN_PATH points here)
#   /avmm/oot-plugins/*.so                  tests/oot-plugin, built from the
#                                           installed headers (not on the path)
#   /avmm/configs/                          the repo's configs/, unchanged
#   /avmm/build/guests/*.bin, *.sym         bare-metal test guests (if built)
#                                           and their symbol tables
#   /avmm/build/guest/{Image,initramfs.cpio.gz}   the L2 Linux, and
#     initramfs-modules.cpio.gz, rootfs.img       its virtio root disk
#   /usr/bin/{debugfs,e2fsck,socat}         for the disk and net tests, and
#     qemu-system-aarch64                   net-qemu's other VMM (Debian arm64)
#   /lib/modules/*.ko, load.list            L1 kernel modules /init loads: tun
#                                           (net-tap's and net-bench.sh's taps)
#   /lib/...                                every shared library they need
# so `/avmm/bin/avmm -c /avmm/configs/x.ini` resolves the configs' relative
# paths (../build/guest/Image) exactly as in the source tree.
#
# /init runs the command in `avmm.cmd=<base64>` on the kernel command line on
# the console, prints AVMM-EXIT-STATUS=<n> and powers off; with no command it
# runs an interactive shell.
#
# Usage: tools/mkl1.sh [--add SRC:DEST]... [--require-avmm]
#   --add SRC:DEST   also copy file SRC to DEST inside L1 (ELF files get their
#                    libraries too)
#   --require-avmm   fail if build-aarch64/core/avmm is missing
# Output: build/l1/l1.cpio.gz
set -euo pipefail
. "$(dirname "$0")/lib.sh"

adds=()
require_avmm=0
while [ $# -gt 0 ]; do
	case $1 in
	--add) adds+=("${2:?--add needs SRC:DEST}"); shift 2 ;;
	--require-avmm) require_avmm=1; shift ;;
	-h|--help) sed -n '3,28p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

readelf=${AVMM_CROSS_PREFIX}readelf
need_cmd "$readelf" cpio gzip

bb=$AVMM_GUEST_DIR/busybox
for f in "$bb" "$AVMM_GUEST_DIR/Image" "$AVMM_GUEST_DIR/initramfs.cpio.gz"; do
	[ -e "$f" ] || die "$f missing: run tools/fetch-guest.sh and tools/mkinitramfs.sh"
done

out=$AVMM_L1_DIR/l1.cpio.gz
root=$AVMM_L1_DIR/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,proc,sys,dev,tmp,root,etc} \
	"$root"/avmm/{bin,plugins,oot-plugins,configs,build/guest,build/guests}
ln -s lib "$root/lib64"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

elves=()
add_file() { # SRC DEST
	mkdir -p "$(dirname "$root$2")"
	cp -L "$1" "$root$2"
	if [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; then
		elves+=("$root$2")
	fi
}

# ---- avmm and friends ---------------------------------------------------
b=$AVMM_CROSS_BUILD
if [ -x "$b/core/avmm" ]; then
	add_file "$b/core/avmm" /avmm/bin/avmm
elif [ $require_avmm -eq 1 ]; then
	die "$b/core/avmm missing: run tools/cross-build.sh"
else
	note "warning: $b/core/avmm not built; L1 will have no avmm"
fi
[ ! -x "$b/tools/kvm-probe" ] || add_file "$b/tools/kvm-probe" /avmm/bin/kvm-probe
for so in "$b"/plugins/*.so; do
	[ -e "$so" ] && add_file "$so" "/avmm/plugins/$(basename "$so")"
done
for so in "$b"/oot/plugins/*.so; do
	[ -e "$so" ] && add_file "$so" "/avmm/oot-plugins/$(basename "$so")"
done
if [ -d "$AVMM_REPO/configs" ]; then
	cp -r "$AVMM_REPO/configs/." "$root/avmm/configs/"
fi
# Bare-metal test guests: the aarch64 build's, else the host build's (they are
# arm64 code whichever build made them).
for d in ${AVMM_GUESTS_DIR:-} "$b/guests" "$b/tests/guests" "$AVMM_REPO/build/guests"; do
	if compgen -G "$d/*.bin" >/dev/null; then
		cp "$d"/*.bin "$root/avmm/build/guests/"
		! compgen -G "$d/*.sym" >/dev/null || cp "$d"/*.sym "$root/avmm/build/guests/"
		break
	fi
done
cp "$AVMM_GUEST_DIR/Image" "$AVMM_GUEST_DIR/initramfs.cpio.gz" "$root/avmm/build/guest/"
# configs/linux-disk.ini's initramfs and root disk (tools/run-nested.sh makes them)
for f in initramfs-modules.cpio.gz rootfs.img; do
	[ ! -e "$AVMM_GUEST_DIR/$f" ] || cp --sparse=always "$AVMM_GUEST_DIR/$f" "$root/avmm/build/guest/"
done

# ---- programs the disk and net tests run in L1 ----------------------------
# debugfs and e2fsck read an image back; socat talks to a unix-socket chardev;
# QEMU is the other guest's VMM in the net-qemu scenario.  Debian's arm64
# builds with their libraries (tools/fetch-arm64-bin.sh).
extra_libdirs=()
if [ -z "${AVMM_L1_NO_TOOLS:-}" ]; then
	for t in "e2fsprogs sbin/debugfs sbin/e2fsck" "socat usr/bin/socat" \
		"qemu-system-arm usr/bin/qemu-system-aarch64"; do
		read -r pkg progs <<<"$t"
		# shellcheck disable=SC2086 # progs: one word a program
		bins=$("$AVMM_REPO/tools/fetch-arm64-bin.sh" "$pkg" "$AVMM_L1_DIR/tools/$pkg" $progs) ||
			die "fetching the arm64 $progs failed (AVMM_L1_NO_TOOLS=1 builds L1 without them)"
		for bin in $bins; do
			add_file "$bin" "/usr/bin/$(basename "$bin")"
		done
		extra_libdirs+=("$AVMM_L1_DIR/tools/$pkg/usr/lib/aarch64-linux-gnu")
	done
fi
# ---- L1 kernel modules: the kernel is the guest's Debian one ------------
# /init loads them in load.list's order (dependencies first).
mkdir -p "$root/lib/modules"
guest_modules_order "$(guest_modules_dir)" tun | while read -r name ko; do
	module_cat "$ko" >"$root/lib/modules/$name.ko"
	echo "$name" >>"$root/lib/modules/load.list"
done
for a in "${adds[@]}"; do
	[ -e "${a%%:*}" ] || die "--add: ${a%%:*} does not exist"
	add_file "${a%%:*}" "${a#*:}"
done

# ---- shared libraries: NEEDED entries, recursively ----------------------
libdirs=("$AVMM_SYSROOT/usr/lib/aarch64-linux-gnu" "$AVMM_SYSROOT/lib/aarch64-linux-gnu"
	"/usr/aarch64-linux-gnu/lib" ${extra_libdirs[@]+"${extra_libdirs[@]}"})
find_lib() {
	local d
	for d in "${libdirs[@]}"; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}
declare -A have=()
interps=()
# glibc dlopen()s libgcc_s for thread cancellation and unwinding.
queue=(libgcc_s.so.1)
for e in "${elves[@]}"; do
	while read -r lib; do queue+=("$lib"); done < <("$readelf" -dW "$e" |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	interp=$("$readelf" -lW "$e" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	[ -z "$interp" ] || interps+=("$interp")
done
while [ ${#queue[@]} -gt 0 ]; do
	lib=${queue[0]}
	queue=("${queue[@]:1}")
	[ -z "${have[$lib]:-}" ] || continue
	have[$lib]=1
	path=$(find_lib "$lib") || die "shared library $lib not found in ${libdirs[*]}"
	cp -L "$path" "$root/lib/$lib"
	while read -r dep; do queue+=("$dep"); done < <("$readelf" -dW "$path" |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done
for interp in $(printf '%s\n' "${interps[@]}" | sort -u); do
	src=$(find_lib "$(basename "$interp")") || die "dynamic loader $interp not found"
	mkdir -p "$(dirname "$root$interp")"
	[ -e "$root$interp" ] || cp -L "$src" "$root$interp"
done

# ---- /init --------------------------------------------------------------
cat >"$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/avmm/bin:/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=${TERM:-vt100}
export AVMM_PLUGIN_PATH=/avmm/plugins
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "avmm-l1: WARNING: cannot load module $m"
done </lib/modules/load.list
ip link set lo up # the net tests' servers listen on L1's loopback
echo "avmm-l1: up after $(cut -d' ' -f1 /proc/uptime) s (guest clock)"
if [ -c /dev/kvm ]; then
	echo "avmm-l1: /dev/kvm present"
else
	echo "avmm-l1: WARNING: no /dev/kvm (QEMU needs -M virt,virtualization=on and an EL2 CPU)"
fi
cmd=
for arg in $(cat /proc/cmdline); do
	case $arg in
	avmm.cmd=*) cmd=$(echo "${arg#avmm.cmd=}" | base64 -d) ||
		echo "avmm-l1: bad avmm.cmd= encoding (want base64)" ;;
	esac
done
cd /avmm
if [ -n "$cmd" ]; then
	echo "avmm-l1: running: $cmd"
	setsid cttyhack sh -c "$cmd"
	echo "AVMM-EXIT-STATUS=$?"
	poweroff -f
fi
export PS1='L1 # '
while :; do
	setsid cttyhack sh -i
done
EOF
chmod 755 "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

pack_initramfs "$root" "$out" 1
note "$out $(du -h "$out" | cut -f1) ($(ls "$root/lib" | wc -l) libraries," \
	"avmm: $([ -e "$root/avmm/bin/avmm" ] && echo yes || echo no)," \
	"plugins: $(ls "$root/avmm/plugins" | wc -l), guests: $(ls "$root/avmm/build/guests" | wc -l))"
