#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sourced (after tools/lib.sh) by the benchmarks that run both VMMs in one L1:
# bench/blk-bench.sh, bench/net-bench.sh, bench/boot-time.sh.

# bench_l1_only: these benchmarks run both VMMs in an L1 under QEMU; on an
# arm64 KVM host run-nested.sh would run them natively, which they do not
# support yet (its native mode does not take --add).
bench_l1_only() {
	if [ "$(uname -m)" = aarch64 ] && [ -w /dev/kvm ] && [ -z "${AVMM_FORCE_QEMU:-}" ]; then
		die "native arm64 KVM host: not supported yet; AVMM_FORCE_QEMU=1 runs it in an L1"
	fi
}

# bench_cross_build WORK SKIP VERB: the arm64 avmm (tools/cross-build.sh, log
# in WORK/cross-build.log), or with SKIP non-empty only its sysroot.  A failed
# build falls back, with a warning ("VERB the avmm already in ..."), to the
# avmm built before; dies if there is none.
bench_cross_build() {
	if [ -z "$2" ]; then
		"$AVMM_REPO/tools/cross-build.sh" >"$1/cross-build.log" 2>&1 || {
			tail -n 20 "$1/cross-build.log" >&2
			[ -x "$AVMM_CROSS_BUILD/core/avmm" ] || die "cross build failed and there is no avmm"
			note "warning: cross build failed; $3 the avmm already in $AVMM_CROSS_BUILD"
		}
	else
		"$AVMM_REPO/tools/cross-build.sh" --sysroot-only >/dev/null
	fi
	[ -x "$AVMM_CROSS_BUILD/core/avmm" ] || die "$AVMM_CROSS_BUILD/core/avmm missing"
}

# bench_static TOOL WORK: bench/TOOL.c built static for arm64 as WORK/TOOL
# (it runs in L2, which has no libraries).
bench_static() {
	"${AVMM_CROSS_PREFIX}gcc" -std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Werror -static -o "$2/$1" "$AVMM_REPO/bench/$1.c" ||
		die "building bench/$1.c failed (static: needs the cross toolchain's libc.a)"
}

# bench_l2_initramfs WORK INIT TOOL OUT: the virtio-modules initramfs, and a
# second archive appended (the kernel unpacks concatenated archives) with
# /bench/init (the script INIT) and /bench/TOOL (WORK/TOOL).
bench_l2_initramfs() {
	"$AVMM_REPO/tools/mkinitramfs.sh" "$AVMM_GUEST_DIR" --modules virtio -o "$1/l2-modules.cpio.gz"
	rm -rf "$1/l2-add"
	mkdir -p "$1/l2-add/bench"
	install -m 755 "$2" "$1/l2-add/bench/init"
	install -m 755 "$1/$3" "$1/l2-add/bench/$3"
	{
		cat "$1/l2-modules.cpio.gz"
		(cd "$1/l2-add" && find bench | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
			gzip -9n
	} >"$4"
}

# bench_sysroot WORK: prints WORK/sysroot, avmm's sysroot with the libraries
# of WORK/qemu-arm64's QEMU next to avmm's (mkl1.sh resolves every ELF's
# libraries from the sysroot).
bench_sysroot() {
	local sysroot=$1/sysroot
	rm -rf "$sysroot"
	cp -a "$AVMM_SYSROOT" "$sysroot"
	mkdir -p "$sysroot/usr/lib/aarch64-linux-gnu"
	cp -a "$1/qemu-arm64/usr/lib/aarch64-linux-gnu/." "$sysroot/usr/lib/aarch64-linux-gnu/"
	echo "$sysroot"
}

# bench_host_watch WORK PREFIX: copy run-nested.sh's console through, and at
# each of the guest tool's markers (@@B TEST, @@E TEST) print a
# "PREFIX-host: snap" line with the host's busy CPU time (/proc/stat) and
# that of this L1's QEMU, in clock ticks.  This machine is shared: what else
# ran during a test changes its result more than anything measured inside L1
# can show (L1 cannot see its vCPUs being preempted); the summaries turn these
# into the share of the host that other processes took.
bench_host_watch() {
	local line l1pid='' busy l1
	# (no tr -d '\r' before this: in a pipe its output is buffered)
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line"
		case $line in
		"@@B "* | "@@E "*)
			[ -n "$l1pid" ] || l1pid=$(pgrep -f -n -- "-initrd $1/l1/l1.cpio.gz" || true)
			busy=$(awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
			l1=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$l1pid/stat" 2>/dev/null || echo 0)
			printf '%s-host: snap %s %s busy=%s l1=%s ncpu=%s up=%s\n' "$2" "${line:2:1}" \
				"${line#* }" "$busy" "$l1" "$(nproc)" \
				"$(awk '{ printf "%d", $1 * 100 }' /proc/uptime)" ;;
		esac
	done
}
