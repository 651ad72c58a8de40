#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run avmm on real arm64 Linux/KVM, from any host.
#
# On x86_64 (or any non-arm64 host) this boots an arm64 Linux "L1" under
# qemu-system-aarch64 (TCG) with EL2 enabled, so /dev/kvm works inside it, and
# runs CMD there; avmm's guest is then a nested "L2" guest. Everything needed is
# built first (tools/fetch-guest.sh, mkinitramfs.sh, cross-build.sh, mkl1.sh).
# Inside L1: /avmm/bin/avmm, /avmm/configs/, /avmm/plugins/ (see tools/mkl1.sh).
# The console is this terminal; L1 prints AVMM-EXIT-STATUS=<n> when CMD ends
# and powers off. Ctrl-A reaches avmm (Ctrl-A x quits avmm, then L1 powers
# off); QEMU's own escape is moved to Ctrl-] (Ctrl-] x kills QEMU at once).
#
# On an arm64 Linux host with a usable /dev/kvm, QEMU is skipped: avmm is built
# natively into build-aarch64/ and CMD runs directly, with /avmm/... in CMD
# mapped to an equivalent tree under build/l1/native/avmm (set
# AVMM_FORCE_QEMU=1 to use QEMU anyway).
#
# Usage: tools/run-nested.sh [options]
#   --cmd CMD        command to run in L1 (default:
#                    /avmm/bin/avmm -c /avmm/configs/linux-virt.ini;
#                    Linux from a virtio disk: --disk)
#   --disk           the default command with configs/linux-disk.ini
#   --shell          no command: an interactive L1 shell
#   --timeout S      kill QEMU after S seconds (default: none on a terminal,
#                    900 otherwise; 0 = none)
#   --no-build       do not (re)build avmm; use what build-aarch64/ has
#   --prepare-only   build everything, do not boot
#   --add SRC:DEST   put an extra file into L1 (see tools/mkl1.sh)
#   --smp N, --mem MiB   L1 size (default 2, 3072)
#   --append ARGS    extra L1 kernel command-line arguments
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tools=$AVMM_REPO/tools

cmd="/avmm/bin/avmm -c /avmm/configs/linux-virt.ini"
timeout=
build=1
prepare_only=0
adds=()
smp=2
mem=3072
append=
while [ $# -gt 0 ]; do
	case $1 in
	--cmd) cmd=${2?--cmd needs a value}; shift 2 ;;
	--shell) cmd=; shift ;;
	--disk) cmd="/avmm/bin/avmm -c /avmm/configs/linux-disk.ini"; shift ;;
	--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
	--no-build) build=0; shift ;;
	--prepare-only) prepare_only=1; shift ;;
	--add) adds+=(--add "${2:?--add needs SRC:DEST}"); shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--append) append=${2?}; shift 2 ;;
	-h|--help) sed -n '3,31p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
if [ -z "$timeout" ]; then
	if [ -t 0 ]; then timeout=0; else timeout=900; fi
fi
case $timeout in
'' | *[!0-9]*) die "--timeout wants whole seconds, got '$timeout'" ;;
esac

phase_t0=$(date +%s.%N)
phase() { # print how long the previous phase took
	local t
	t=$(date +%s.%N)
	note "$(awk -v a="$phase_t0" -v b="$t" -v n="$1" 'BEGIN { printf "%-14s %6.1f s", n, b - a }')"
	phase_t0=$t
}

native=0
if [ "$(uname -m)" = aarch64 ] && [ "$(uname -s)" = Linux ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
	[ -z "${AVMM_FORCE_QEMU:-}" ]; then
	native=1
fi

# ---- the guest pieces (cheap when up to date) ----------------------------
if [ ! -e "$AVMM_GUEST_DIR/Image" ] || [ ! -e "$AVMM_GUEST_DIR/busybox" ] ||
	[ -n "${AVMM_REFRESH:-}" ]; then
	"$tools/fetch-guest.sh" "$AVMM_GUEST_DIR"
fi
"$tools/mkinitramfs.sh" "$AVMM_GUEST_DIR"
# configs/linux-disk.ini's: the virtio-modules initramfs and the root disk
"$tools/mkinitramfs.sh" "$AVMM_GUEST_DIR" --modules virtio
up_to_date "$AVMM_GUEST_DIR/rootfs.img" "$AVMM_GUEST_DIR/busybox" "$tools/mkrootfs.sh" \
	"$tools/lib.sh" || "$tools/mkrootfs.sh" "$AVMM_GUEST_DIR/rootfs.img"
phase "guest images"

# ---- native arm64 host: no QEMU ---------------------------------------------
if [ $native -eq 1 ]; then
	b=$AVMM_CROSS_BUILD
	if [ $build -eq 1 ]; then
		[ -e "$b/CMakeCache.txt" ] ||
			cmake -S "$AVMM_REPO" -B "$b" -DAVMM_BUILD_TESTS=OFF -DBUILD_TESTING=OFF >/dev/null
		cmake --build "$b" -j"$(nproc)" || die "native build failed"
		mkdir -p "$b/guests"
		for src in "$AVMM_REPO"/tests/guests/*.S; do
			[ -e "$src" ] || continue
			g=$(basename "$src" .S)
			up_to_date "$b/guests/$g.bin" "$src" && up_to_date "$b/guests/$g.sym" "$src" &&
				continue
			gcc -c -nostdlib "$src" -o "$b/guests/$g.o" &&
				objcopy -O binary -j .text "$b/guests/$g.o" "$b/guests/$g.bin" &&
				nm "$b/guests/$g.o" >"$b/guests/$g.sym" ||
				die "assembling $src failed"
		done
		gcc -O2 -Wall -o "$b/kvm-probe" "$tools/kvm-probe.c" || die "building kvm-probe failed"
		# tests/oot-plugin from the installed headers, as tools/cross-build.sh does
		cmake --install "$b" --prefix "$b/oot/prefix" >/dev/null || die "cmake --install failed"
		pcdir=$(dirname "$(find "$b/oot/prefix" -name avmm-plugin.pc | head -n 1)")
		mkdir -p "$b/oot/plugins"
		# shellcheck disable=SC2046
		gcc -std=c11 -O2 -Wall -Wextra -Werror \
			$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --cflags avmm-plugin) \
			-shared -o "$b/oot/plugins/scratch.so" "$AVMM_REPO/tests/oot-plugin/scratch.c" ||
			die "building tests/oot-plugin/scratch.c failed"
		phase "native build"
	fi
	# The same layout as inside L1, so commands and configs work unchanged.
	root=$AVMM_L1_DIR/native/avmm
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/build"
	cp -r "$AVMM_REPO/configs" "$root/configs"
	ln -s "$b/core/avmm" "$root/bin/avmm"
	[ ! -e "$b/kvm-probe" ] || ln -s "$b/kvm-probe" "$root/bin/kvm-probe"
	ln -s "$b/plugins" "$root/plugins"
	[ ! -d "$b/oot/plugins" ] || ln -s "$b/oot/plugins" "$root/oot-plugins"
	ln -s "$b/guests" "$root/build/guests"
	ln -s "$AVMM_GUEST_DIR" "$root/build/guest"
	[ $prepare_only -eq 0 ] || exit 0
	if [ -z "$cmd" ]; then
		die "--shell makes no sense natively: run $root/bin/avmm yourself"
	fi
	cmd=${cmd//\/avmm\//$root/}
	note "native arm64 KVM host: running $cmd"
	rc=0
	(cd "$root" && PATH=$root/bin:$PATH AVMM_PLUGIN_PATH=$root/plugins \
		timeout --foreground -k 5 "$timeout" sh -c "$cmd") || rc=$?
	echo "AVMM-EXIT-STATUS=$rc"
	phase "run"
	exit 0
fi

# ---- L1 under QEMU --------------------------------------------------------
need_cmd qemu-system-aarch64
if [ $build -eq 1 ]; then
	"$tools/cross-build.sh" ||
		die "cross-building avmm failed; fix the build, or use --no-build to boot L1 with what exists"
	phase "cross build"
else
	"$tools/cross-build.sh" --probe-only
fi
"$tools/mkl1.sh" ${adds[@]+"${adds[@]}"}
phase "L1 initramfs"
[ $prepare_only -eq 0 ] || exit 0

kargs="console=ttyAMA0 quiet panic=-1"
if [ -n "$cmd" ]; then
	kargs+=" avmm.cmd=$(printf '%s' "$cmd" | base64 -w0)"
fi
[ -z "$append" ] || kargs+=" $append"
# arm64's COMMAND_LINE_SIZE is 2048.
[ ${#kargs} -lt 2000 ] || die "command too long for the kernel command line (${#kargs} bytes)"

# -nic none: L1 needs no network and must have no path to one; without it the
# virt machine adds a default virtio NIC whose boot ROM (efi-virtio.rom) only the
# ipxe-qemu package ships.
qemu=(qemu-system-aarch64
	-M virt,virtualization=on,gic-version=3
	-cpu max,pauth-impdef=on
	-smp "$smp" -m "$mem"
	-nographic -no-reboot -echr 0x1d
	-nic none
	-kernel "$AVMM_GUEST_DIR/Image"
	-initrd "$AVMM_L1_DIR/l1.cpio.gz"
	-append "$kargs")
note "booting L1 (timeout: $([ "$timeout" -eq 0 ] && echo none || echo "$timeout s"); Ctrl-] x kills QEMU)"
rc=0
timeout --foreground -k 5 "$timeout" "${qemu[@]}" || rc=$?
[ -t 0 ] && stty sane 2>/dev/null || true
phase "L1 run"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	die "QEMU killed after the ${timeout} s timeout (guest hung?)"
fi
[ $rc -eq 0 ] || die "QEMU exited with status $rc"
