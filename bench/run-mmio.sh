#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# MMIO round trip: avmm's whole path (exit -> bus -> scratch plugin -> resume)
# against a bare KVM_RUN loop, same guest, same (nested) L1; prints the ratio
# of the medians.  Usage: bench/run-mmio.sh [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
b=${AVMM_CROSS_BUILD:-$repo/build-aarch64}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$repo/tools/cross-build.sh" >/dev/null
"$repo/tools/run-nested.sh" --no-build --timeout 900 \
	--add "$b/bench/kvm-bare-mmio:/avmm/bench/kvm-bare-mmio" \
	--add "$b/bench/scratch.so:/avmm/bench/scratch.so" \
	--add "$repo/bench/mmio.ini:/avmm/bench/mmio.ini" \
	--add "$repo/bench/mmio-l1.sh:/avmm/bench/mmio-l1.sh" \
	--cmd "sh /avmm/bench/mmio-l1.sh $runs" </dev/null | tr -d '\r' | tee "$log"

median() { sort -n | awk '{a[NR]=$1} END { if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2) }'; }
bare=$(sed -n 's/^bare: .*per_exit_us=\([0-9.]*\).*/\1/p' "$log" | median)
avmm=$(sed -n 's/^avmm: .*per_exit_us=\([0-9.]*\).*/\1/p' "$log" | median)
[ -n "$bare" ] && [ -n "$avmm" ] || { echo "run-mmio: no measurements (see the log above)" >&2; exit 1; }
awk -v a="$avmm" -v b="$bare" 'BEGIN {
	printf "MMIO round trip, median of runs: bare KVM_RUN %.2f us, avmm %.2f us; ratio %.3f (target <= 1.10)\n", b, a, a / b }'
