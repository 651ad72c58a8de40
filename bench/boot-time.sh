#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot time to the shell prompt: avmm against QEMU/KVM, the same L2 kernel,
# initramfs and command line (configs/linux-virt.ini's), 1 vCPU, 512 MiB, a
# userspace GICv2 in both (QEMU: kernel_irqchip=off), the console a PL011 on
# the VMM's stdio in both, read through a pseudo-terminal.  All runs happen in
# ONE L1 boot (tools/run-nested.sh), alternating, and are timed inside L1 on
# its monotonic clock by bench/boot-clock.c (process start -> "~ # ").
#
# Usage: bench/boot-time.sh [ROUNDS]          (default 5)
# Environment:
#   BOOT_TIME_VARIANTS   what to time (default "avmm qemu avmm-off qemu-off";
#                        also qemu-kirq-v2, qemu-kirq-v3: QEMU with the
#                        in-kernel GIC; NAME-off: that VMM with a guest that
#                        powers off at once, bench/boot-off.S: its fixed cost)
#   BOOT_TIME_DIR        work dir (default <repo>/build/boot-time): the arm64
#                        QEMU, a sysroot with its libraries, the L1 image, logs
#   BOOT_TIME_NO_BUILD=1 do not rebuild avmm (use build-aarch64 as it is)
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"
. "$(dirname "$0")/lib.sh"

rounds=${1:-5}
case $rounds in '' | *[!0-9]* | 0) die "ROUNDS wants a positive number, got '$rounds'" ;; esac
variants=${BOOT_TIME_VARIANTS:-avmm qemu avmm-off qemu-off}
work=${BOOT_TIME_DIR:-$AVMM_REPO/build/boot-time}
mkdir -p "$work"
log=$work/boot-time.log
bench_l1_only

# ---- the pieces -------------------------------------------------------------
bench_cross_build "$work" "${BOOT_TIME_NO_BUILD:-}" timing
qemu=$("$AVMM_REPO/tools/fetch-qemu-arm64.sh" "$work/qemu-arm64")
"${AVMM_CROSS_PREFIX}gcc" -std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Werror -o "$work/boot-clock" "$AVMM_REPO/bench/boot-clock.c" ||
	die "building bench/boot-clock.c failed"
"${AVMM_CROSS_PREFIX}gcc" -c -nostdlib -o "$work/boot-off.o" "$AVMM_REPO/bench/boot-off.S" &&
	"${AVMM_CROSS_PREFIX}objcopy" -O binary -j .text "$work/boot-off.o" "$work/boot-off.bin" ||
	die "assembling bench/boot-off.S failed"

# mkl1.sh resolves every ELF's libraries from the sysroot: give it one with
# QEMU's libraries next to avmm's (its stamps copied too, so cross-build.sh
# sees a finished sysroot and leaves it alone).
sysroot=$(bench_sysroot "$work")

# ---- one L1 boot, every run -------------------------------------------------
nvar=$(echo "$variants" | wc -w)
# L1 boot, then (warm-up + rounds) boots per variant, each well under 60 s.
timeout=$((120 + (rounds + 1) * (nvar + 1) * 60))
note "timing $variants, $rounds rounds, in one L1 boot (log: $log)"
AVMM_SYSROOT=$sysroot AVMM_L1_DIR=$work/l1 \
	"$AVMM_REPO/tools/run-nested.sh" --no-build --timeout "$timeout" \
	--add "$qemu:/avmm/bench/qemu-system-aarch64" \
	--add "$work/boot-clock:/avmm/bench/boot-clock" \
	--add "$AVMM_REPO/bench/boot-l1.sh:/avmm/bench/boot-l1.sh" \
	--add "$work/boot-off.bin:/avmm/bench/boot-off.bin" \
	--add "$AVMM_REPO/bench/boot-off.ini:/avmm/bench/boot-off.ini" \
	--cmd "sh /avmm/bench/boot-l1.sh $rounds $variants" </dev/null 2>&1 |
	tr -d '\r' | tee "$log"

# ---- summary ------------------------------------------------------------------
grep -q '^boot-l1: done' "$log" || die "the L1 run did not finish (see $log)"
awk '
function median(name, key,    n, i, j, t, a) {
	n = cnt[name]
	for (i = 1; i <= n; i++) a[i] = v[name, key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function label(n) { return n ~ /kirq/ ? n " (in-kernel GIC: NOT like for like)" : n }
function compare(what, key, a, b,    na, nb) {
	if (!(a in cnt) || !(b in cnt)) return
	na = median(a, key); nb = median(b, key)
	printf "%s (median of %d): avmm %.2f s, %s %.2f s, ratio %.2f (target: avmm faster)\n", what,
		cnt[a] < cnt[b] ? cnt[a] : cnt[b], na, label(b), nb, na / nb
}
/^boot-clock: vmm=/ && !/error=/ && !/vmm=warmup-/ {
	delete val
	for (f = 2; f <= NF; f++) { split($f, kv, "="); val[kv[1]] = kv[2] }
	name = val["vmm"]
	if (!(name in cnt)) order[++nnames] = name
	c = ++cnt[name]
	for (k in val) v[name, k, c] = val[k]
	runs[name] = runs[name] sprintf(" %.2f", name ~ /-off$/ ? val["exit"] : val["prompt"])
}
/^boot-clock: vmm=/ && /error=/ && !/vmm=warmup-/ { errors++ }
/^boot-l1: variant .* dropped/ { dropped = dropped " " $3 }
END {
	if (!("avmm" in cnt)) { print "boot-time: no successful avmm run"; exit 1 }
	print ""
	printf "%-18s %4s %10s %10s %10s  %s\n", "VMM", "runs", "init", "prompt", "exit", "(medians, s)  prompt or exit time of each run"
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (n ~ /-off$/)
			printf "%-18s %4d %10s %10s %10.3f  %s\n", n, cnt[n], "-", "-", median(n, "exit"), runs[n]
		else
			printf "%-18s %4d %10.3f %10.3f %10.3f  %s\n", n, cnt[n], median(n, "init"), median(n, "prompt"), median(n, "exit"), runs[n]
	}
	if (errors) printf "(%d timed run(s) failed: see the log)\n", errors
	if (dropped != "") printf "(dropped, their warm-up failed:%s; the reason is in the log)\n", dropped
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (n ~ /^qemu/ && n !~ /-off$/) compare("boot to prompt", "prompt", "avmm", n)
	}
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (n ~ /^qemu.*-off$/) compare("fixed cost, start to exit of a guest that powers off at once", "exit", "avmm-off", n)
	}
}' "$log" | tee -a "$log"
