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
. "$(dirname "$0")/lib.sh"

rounds=${1:-1}
secs=${2:-5}
case $rounds in '' | *[!0-9]* | 0) die "ROUNDS wants a positive number, got '$rounds'" ;; esac
case $secs in '' | *[!0-9]* | 0) die "SECS wants a positive whole number, got '$secs'" ;; esac
variants=${BLK_BENCH_VARIANTS:-avmm qemu}
work=${BLK_BENCH_DIR:-$AVMM_REPO/build/blk-bench}
mkdir -p "$work"
log=$work/blk-bench.log
bench_l1_only

# ---- the pieces -------------------------------------------------------------
bench_cross_build "$work" "${BLK_BENCH_NO_BUILD:-}" measuring
qemu=$("$AVMM_REPO/tools/fetch-qemu-arm64.sh" "$work/qemu-arm64")
if [ ! -e "$AVMM_GUEST_DIR/Image" ] || [ ! -e "$AVMM_GUEST_DIR/busybox" ]; then
	"$AVMM_REPO/tools/fetch-guest.sh" "$AVMM_GUEST_DIR"
fi

# blkbench runs in L2 (static); its initramfs is the virtio-modules one plus
# /bench/init and /bench/blkbench.
bench_static blkbench "$work"
bench_l2_initramfs "$work" "$AVMM_REPO/bench/blk-init.sh" blkbench "$work/blk-initramfs.cpio.gz"
sysroot=$(bench_sysroot "$work")

# ---- one L1 boot, every run -------------------------------------------------
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
	--add "$AVMM_REPO/bench/snap.sh:/avmm/bench/snap.sh" \
	--add "$work/blk-initramfs.cpio.gz:/avmm/build/blk-bench/blk-initramfs.cpio.gz" \
	--cmd "BLK_TESTS=${BLK_TESTS:-} sh /avmm/bench/blk-l1.sh $rounds $secs $variants" </dev/null 2>&1 |
	bench_host_watch "$work" blk | tee "$log"

# ---- summary ------------------------------------------------------------------
grep -q '^blk-l1: done' "$log" || die "the L1 run did not finish (see $log)"
# A VMM that failed to start leaves empty rows: no ratio may come of it.
! grep -q '^blk-l1: vmm-rc=[1-9]' "$log" ||
	die "a VMM exited with an error (blk-l1: vmm-rc=...; see $log)"
"$AVMM_REPO/bench/blk-summary.sh" "$log" | tee -a "$log"
