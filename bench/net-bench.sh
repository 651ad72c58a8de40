#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net throughput and latency: avmm against QEMU/KVM, between the L2
# guest and L1 (L1 has no network device), with the same kernel, initramfs
# and command line, 1 vCPU, 512 MiB, a userspace GICv2 in both (QEMU:
# -M virt,gic-version=2,kernel_irqchip=off -device virtio-net-device, i.e.
# virtio-net on virtio-mmio like avmm's) and the same backend: user (libslirp
# in both, L1's loopback as the gateway) and tap (tap0 in L1).  All runs
# happen in ONE L1 boot (tools/run-nested.sh), alternating; bench/netbench
# (static) measures on both sides and bench/net-l1.sh reads KVM's counters
# and the VMM's CPU time in L1 around each test.
#
# Usage: bench/net-bench.sh [ROUNDS [SECS]]   (default 3 rounds, 10 s a test)
# Environment:
#   NET_BENCH_VARIANTS   what to run (default "avmm qemu")
#   NET_BENCH_BACKENDS   comma-separated (default "user,tap" when avmm has
#                        the tap backend, else "user")
#   NET_TESTS            comma-separated tests of bench/net-init.sh (default
#                        tx,rx,rr,rr64,idle)
#   NET_BENCH_DIR        work dir (default <repo>/build/net-bench): the arm64
#                        QEMU, a sysroot with its libraries, netbench, the L2
#                        initramfs, the L1 image, logs
#   NET_BENCH_NO_BUILD=1 do not rebuild avmm (use build-aarch64 as it is)
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"
. "$(dirname "$0")/lib.sh"

rounds=${1:-3}
secs=${2:-10}
case $rounds in '' | *[!0-9]* | 0) die "ROUNDS wants a positive number, got '$rounds'" ;; esac
case $secs in '' | *[!0-9]* | 0) die "SECS wants a positive whole number, got '$secs'" ;; esac
variants=${NET_BENCH_VARIANTS:-avmm qemu}
work=${NET_BENCH_DIR:-$AVMM_REPO/build/net-bench}
tests=${NET_TESTS:-tx,rx,rr,rr64,idle}
mkdir -p "$work"
log=$work/net-bench.log
bench_l1_only

# ---- the pieces -------------------------------------------------------------
bench_cross_build "$work" "${NET_BENCH_NO_BUILD:-}" measuring
if [ -z "${NET_BENCH_BACKENDS:-}" ]; then
	# the tap backend names itself in its errors and help: its spec string
	if grep -aq 'tap:' "$AVMM_CROSS_BUILD/plugins/virtio-mmio.so" 2>/dev/null; then
		NET_BENCH_BACKENDS=user,tap
	else
		NET_BENCH_BACKENDS=user
	fi
fi
qemu=$("$AVMM_REPO/tools/fetch-qemu-arm64.sh" "$work/qemu-arm64")
# -netdev user is libslirp: Debian's QEMU links it (it lands in L1 with the
# other libraries below).
"${AVMM_CROSS_PREFIX}readelf" -dW "$qemu" | grep -q 'NEEDED.*libslirp' ||
	die "$qemu does not link libslirp: no -netdev user"
if [ ! -e "$AVMM_GUEST_DIR/Image" ] || [ ! -e "$AVMM_GUEST_DIR/busybox" ]; then
	"$AVMM_REPO/tools/fetch-guest.sh" "$AVMM_GUEST_DIR"
fi

# netbench runs in L2 and in L1 (static, one binary); the L2 initramfs is the
# virtio-modules one (virtio_net among them) plus /bench/init and /bench/netbench.
bench_static netbench "$work"
bench_l2_initramfs "$work" "$AVMM_REPO/bench/net-init.sh" netbench "$work/net-initramfs.cpio.gz"
sysroot=$(bench_sysroot "$work")

# ---- one L1 boot, every run -------------------------------------------------
nvar=$(echo "$variants" | wc -w)
nbe=$(echo "$NET_BENCH_BACKENDS" | tr , '\n' | wc -l)
ntests=$(echo "$tests" | tr , '\n' | wc -l)
# L1 boot, then per run an L2 boot (~60 s nested) and each test with its pauses.
timeout=$((300 + nbe * nvar * ((90 + ntests * 6) + rounds * (90 + ntests * (secs + 5)))))
note "running $variants on $NET_BENCH_BACKENDS, $rounds round(s) of ${secs}-second tests," \
	"in one L1 boot (log: $log, timeout ${timeout} s)"
AVMM_SYSROOT=$sysroot AVMM_L1_DIR=$work/l1 AVMM_L1_NO_TOOLS=1 \
	nice "$AVMM_REPO/tools/run-nested.sh" --no-build --timeout "$timeout" \
	--add "$qemu:/avmm/bench/qemu-system-aarch64" \
	--add "$work/netbench:/avmm/bench/netbench" \
	--add "$AVMM_REPO/bench/net.ini:/avmm/bench/net.ini" \
	--add "$AVMM_REPO/bench/net-l1.sh:/avmm/bench/net-l1.sh" \
	--add "$AVMM_REPO/bench/snap.sh:/avmm/bench/snap.sh" \
	--add "$work/net-initramfs.cpio.gz:/avmm/build/net-bench/net-initramfs.cpio.gz" \
	--cmd "NET_TESTS=$tests sh /avmm/bench/net-l1.sh $rounds $secs $NET_BENCH_BACKENDS $variants" </dev/null 2>&1 |
	bench_host_watch "$work" net | tee "$log"

# ---- summary ------------------------------------------------------------------
grep -q '^net-l1: done' "$log" || die "the L1 run did not finish (see $log)"
# A VMM that failed to start leaves empty rows: no ratio may come of it.
! grep -q '^net-l1: vmm-rc=[1-9]' "$log" ||
	die "a VMM exited with an error (net-l1: vmm-rc=...; see $log)"
"$AVMM_REPO/bench/net-summary.sh" "$log" | tee -a "$log"
