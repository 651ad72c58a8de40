#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk throughput and IOPS: avmm against QEMU/KVM, inside the L2 guest,
# on the same raw scratch image (256 MiB on L1's tmpfs), kernel, initramfs
# and command line, 1 vCPU, 512 MiB, a userspace GICv2 in both (QEMU:
# -M virt,gic-version=2,kernel_irqchip=off -device virtio-blk-device, i.e.
# virtio-blk on virtio-mmio like avmm's), cache=writeback in both.  All runs
# happen in ONE L1 boot (tools/run-nested.sh), alternating; bench/blkbench
# (static, O_DIRECT on /dev/vda) measures in L2 and bench/blk-l1.sh reads
# KVM's counters and the VMM's CPU time in L1 around each test.
#
# Usage: bench/blk-bench.sh [ROUNDS [SECS]]   (default 1 round, 5 s a test)
# Environment:
#   BLK_BENCH_VARIANTS   what to run (default "avmm qemu")
#   BLK_TESTS            comma-separated blkbench tests (default all)
#   BLK_BENCH_DIR        work dir (default <repo>/build/blk-bench): the arm64
#                        QEMU, a sysroot with its libraries, blkbench, the L2
#                        initramfs, the L1 image, logs
#   BLK_BENCH_NO_BUILD=1 do not rebuild avmm (use build-aarch64 as it is)
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"

rounds=${1:-1}
secs=${2:-5}
case $rounds in '' | *[!0-9]* | 0) die "ROUNDS wants a positive number, got '$rounds'" ;; esac
case $secs in '' | *[!0-9]* | 0) die "SECS wants a positive whole number, got '$secs'" ;; esac
variants=${BLK_BENCH_VARIANTS:-avmm qemu}
work=${BLK_BENCH_DIR:-$AVMM_REPO/build/blk-bench}
mkdir -p "$work"
log=$work/blk-bench.log
if [ "$(uname -m)" = aarch64 ] && [ -w /dev/kvm ] && [ -z "${AVMM_FORCE_QEMU:-}" ]; then
	die "native arm64 KVM host: not supported yet; AVMM_FORCE_QEMU=1 runs it in an L1"
fi

# ---- the pieces -------------------------------------------------------------
if [ -z "${BLK_BENCH_NO_BUILD:-}" ]; then
	"$AVMM_REPO/tools/cross-build.sh" >"$work/cross-build.log" 2>&1 || {
		tail -n 20 "$work/cross-build.log" >&2
		[ -x "$AVMM_CROSS_BUILD/core/avmm" ] || die "cross build failed and there is no avmm"
		note "warning: cross build failed; measuring the avmm already in $AVMM_CROSS_BUILD"
	}
else
	"$AVMM_REPO/tools/cross-build.sh" --sysroot-only >/dev/null
fi
[ -x "$AVMM_CROSS_BUILD/core/avmm" ] || die "$AVMM_CROSS_BUILD/core/avmm missing"
qemu=$("$AVMM_REPO/tools/fetch-qemu-arm64.sh" "$work/qemu-arm64")
if [ ! -e "$AVMM_GUEST_DIR/Image" ] || [ ! -e "$AVMM_GUEST_DIR/busybox" ]; then
	"$AVMM_REPO/tools/fetch-guest.sh" "$AVMM_GUEST_DIR"
fi

# blkbench runs in L2, which has no libraries: static.
"${AVMM_CROSS_PREFIX}gcc" -std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Werror -static -o "$work/blkbench" "$AVMM_REPO/bench/blkbench.c" ||
	die "building bench/blkbench.c failed (static: needs the cross toolchain's libc.a)"

# The L2 initramfs: the virtio-modules one, and a second archive appended (the
# kernel unpacks concatenated archives) with /bench/init and /bench/blkbench.
"$AVMM_REPO/tools/mkinitramfs.sh" "$AVMM_GUEST_DIR" --modules virtio -o "$work/l2-modules.cpio.gz"
rm -rf "$work/l2-add"
mkdir -p "$work/l2-add/bench"
install -m 755 "$AVMM_REPO/bench/blk-init.sh" "$work/l2-add/bench/init"
install -m 755 "$work/blkbench" "$work/l2-add/bench/blkbench"
{
	cat "$work/l2-modules.cpio.gz"
	(cd "$work/l2-add" && find bench | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n
} >"$work/blk-initramfs.cpio.gz"

# mkl1.sh resolves every ELF's libraries from the sysroot: give it one with
# QEMU's libraries next to avmm's (as bench/boot-time.sh does).
sysroot=$work/sysroot
rm -rf "$sysroot"
cp -a "$AVMM_SYSROOT" "$sysroot"
mkdir -p "$sysroot/usr/lib/aarch64-linux-gnu"
cp -a "$work/qemu-arm64/usr/lib/aarch64-linux-gnu/." "$sysroot/usr/lib/aarch64-linux-gnu/"

# ---- one L1 boot, every run -------------------------------------------------
# This machine is shared: what else ran during a test changes its result more
# than anything measured inside L1 can show (L1 cannot see its vCPUs being
# preempted).  At each of blkbench's markers, note the host's busy CPU time
# (/proc/stat) and that of this L1's QEMU, in clock ticks: the summary turns
# them into the share of the host that other processes took.
host_watch() {
	local line l1pid='' busy l1
	# (no tr -d '\r' before this: in a pipe its output is buffered)
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line"
		case $line in
		"@@B "* | "@@E "*)
			[ -n "$l1pid" ] || l1pid=$(pgrep -f -n -- "-initrd $work/l1/l1.cpio.gz" || true)
			busy=$(awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
			l1=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$l1pid/stat" 2>/dev/null || echo 0)
			printf 'blk-host: snap %s %s busy=%s l1=%s ncpu=%s up=%s\n' "${line:2:1}" "${line#* }" \
				"$busy" "$l1" "$(nproc)" "$(awk '{ printf "%d", $1 * 100 }' /proc/uptime)" ;;
		esac
	done
}

nvar=$(echo "$variants" | wc -w)
ntests=$(echo "${BLK_TESTS:-a,b,c,d,e,f,g}" | tr , '\n' | wc -l)
# L1 boot, then per run an L2 boot (~60 s nested) and each test with its pauses.
timeout=$((300 + nvar * (60 + ntests * 4) + rounds * nvar * (60 + ntests * (secs + 4))))
note "running $variants, $rounds round(s) of ${secs}-second tests, in one L1 boot (log: $log)"
AVMM_SYSROOT=$sysroot AVMM_L1_DIR=$work/l1 AVMM_L1_NO_TOOLS=1 \
	nice "$AVMM_REPO/tools/run-nested.sh" --no-build --timeout "$timeout" \
	--add "$qemu:/avmm/bench/qemu-system-aarch64" \
	--add "$AVMM_REPO/bench/blk.ini:/avmm/bench/blk.ini" \
	--add "$AVMM_REPO/bench/blk-l1.sh:/avmm/bench/blk-l1.sh" \
	--add "$work/blk-initramfs.cpio.gz:/avmm/build/blk-bench/blk-initramfs.cpio.gz" \
	--cmd "BLK_TESTS=${BLK_TESTS:-} sh /avmm/bench/blk-l1.sh $rounds $secs $variants" </dev/null 2>&1 |
	host_watch | tee "$log"

# ---- summary ------------------------------------------------------------------
grep -q '^blk-l1: done' "$log" || die "the L1 run did not finish (see $log)"
"$AVMM_REPO/bench/blk-summary.sh" "$log" | tee -a "$log"
