#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (bench/run-mmio.sh puts it at /avmm/bench/mmio-l1.sh):
# alternate bare-KVM and avmm runs of the same guest, one line per run.
runs=${1:-5}
i=0
while [ "$i" -lt "$runs" ]; do
	/avmm/bench/kvm-bare-mmio /avmm/build/guests/mmio-loop.bin
	AVMM_PLUGIN_PATH=/avmm/bench /avmm/bin/avmm -c /avmm/bench/mmio.ini 2>&1 |
		awk '/^  x0 /{t=$4} /^  x2 /{n=$4} /^  x3 /{f=$4}
		     END { gsub(/[()]/, "", t); gsub(/[()]/, "", n); gsub(/[()]/, "", f);
			   if (n > 0 && f > 0) printf "avmm: n=%s ticks=%s freq=%s per_exit_us=%.2f\n", n, t, f, 1e6 * t / f / n;
			   else print "avmm: no register dump" }'
	i=$((i + 1))
done
