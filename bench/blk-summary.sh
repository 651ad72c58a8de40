#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tables of bench/blk-bench.sh, from its log (so a log can be read again):
#
#   bench/blk-summary.sh LOG
#
# Per test: each VMM's median (MB/s for the sequential tests, IOPS for the
# random ones), the ratio avmm/QEMU of the medians, and per device request
# (requests the guest's block layer sent, /sys/block/vda/stat) summed over the
# rounds: exits to userspace (kvm_userspace_exit), of them MMIO exits
# (debugfs mmio_exit_user), all guest exits (debugfs exits), interrupts the
# guest took (/proc/interrupts, virtio lines), KVM_IRQ_LINE calls, and the
# VMM's CPU time (L1's, so it includes the time its vCPU thread spent running
# the guest) in microseconds and per thread.  The idle row shows per-second
# rates instead: the background that every window also holds.
set -euo pipefail
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: ${0##*/} LOG" >&2; exit 2; }
awk '
function median(key, n,    i, j, t, a) {
	for (i = 1; i <= n; i++) a[i] = val[key, i] + 0  # numbers, not strings
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function kv(s, arr,    i, n, f, p) {  # "k=v k=v" from field 4 on -> arr
	n = split(s, f, " ")
	for (i = 1; i <= n; i++) { p = index(f[i], "="); if (p) arr[substr(f[i], 1, p - 1)] = substr(f[i], p + 1) }
}
function per(v, d) { return d > 0 ? sprintf("%.2f", v / d) : "-" }
/^blk-l1: run label=/ {
	split($3, a, "="); vmm = a[2]
	counted = vmm !~ /^warmup-/
	if (counted) { runs[vmm]++; if (!(vmm in seen)) { seen[vmm] = 1; vorder[++nv] = vmm } }
	next
}
!counted { next }
/^blk-l1: snap B / { delete b; kv($0, b); next }
/^blk-l1: snap E / {
	t = $4; delete e; kv($0, e)
	# a thread made during the test has no B value: it started from 0
	for (k in e) if ((k in b) || k ~ /^cpu_/) sum[vmm, t, k] += e[k] - b[k]
	for (k in e) if (k ~ /^cpu_/ && !((vmm, k) in thrseen)) { thrseen[vmm, k] = 1; thr[vmm] = thr[vmm] " " k }
	next
}
/^blk-host: snap B / { delete hb; kv($0, hb); next }
/^blk-host: snap E / {
	t = $4; delete he; kv($0, he)
	# busy and l1 in clock ticks (USER_HZ, 100), up in 1/100 s
	if (he["up"] > hb["up"]) {
		others[vmm, t, ++nothers[vmm, t]] = ((he["busy"] - hb["busy"]) - (he["l1"] - hb["l1"])) / ((he["up"] - hb["up"]) * he["ncpu"])
	}
	next
}
/^blkbench: test=/ && !/error=/ {
	delete r; kv($0, r); t = r["name"]
	if (!(t in tseen)) { tseen[t] = 1; torder[++nt] = t }
	c = ++cnt[vmm, t]
	val[vmm, t, "m", c] = t ~ /^seq/ ? r["mbps"] : r["iops"]
	sum[vmm, t, "devreqs"] += r["devreqs"]; sum[vmm, t, "ops"] += r["ops"]
	sum[vmm, t, "irqs"] += r["irqs"]; sum[vmm, t, "secs"] += r["secs"]
	next
}
/^blkbench: test=/ { errors++ }
END {
	if (!("avmm" in seen) || !("qemu" in seen)) { print "blk-summary: no complete avmm and qemu runs"; exit 1 }
	printf "\n%-12s %10s %10s %7s %7s  %-11s %-11s %-11s %s\n", "test", "avmm", "QEMU", "ratio", "paired",
		"uexits/req", "mmio_u/req", "exits/req", "(avmm|QEMU; medians of " cnt["avmm", torder[1]] "|" cnt["qemu", torder[1]] " runs)"
	for (i = 1; i <= nt; i++) {
		t = torder[i]
		if (t == "idle") continue
		na = cnt["avmm", t]; nq = cnt["qemu", t]
		ma = na ? median("avmm" SUBSEP t SUBSEP "m", na) : 0
		mq = nq ? median("qemu" SUBSEP t SUBSEP "m", nq) : 0
		da = sum["avmm", t, "devreqs"]; dq = sum["qemu", t, "devreqs"]
		# round k ran avmm and QEMU one after the other: the ratio of each
		# such pair is less exposed to the machine load of the moment
		np = na < nq ? na : nq
		for (k = 1; k <= np; k++)
			val["pair", t, k] = val["qemu", t, "m", k] > 0 ? val["avmm", t, "m", k] / val["qemu", t, "m", k] : 0
		pr[t] = np ? median("pair" SUBSEP t, np) : 0
		printf "%-12s %10.1f %10.1f %7s %7s  %-11s %-11s %-11s %s\n", t, ma, mq, (mq > 0 ? sprintf("%.2f", ma / mq) : "-"),
			(np ? sprintf("%.2f", pr[t]) : "-"),
			per(sum["avmm", t, "ux"], da) "|" per(sum["qemu", t, "ux"], dq),
			per(sum["avmm", t, "mmio_exit_user"], da) "|" per(sum["qemu", t, "mmio_exit_user"], dq),
			per(sum["avmm", t, "exits"], da) "|" per(sum["qemu", t, "exits"], dq),
			(t ~ /^seq/ ? "MB/s" : "IOPS")
	}
	print "(ratio: of the medians; paired: the median of the rounds\x27 avmm/QEMU ratios)"
	print "\nper device request, summed over the rounds (avmm|QEMU):"
	printf "%-12s %-13s %-11s %-11s %-13s %-11s %-11s\n", "test", "devreqs/op", "irqs/req", "irqline/req", "VMM-CPU-us/req", "wfi/req", "mmio_k/req"
	for (i = 1; i <= nt; i++) {
		t = torder[i]
		da = sum["avmm", t, "devreqs"]; dq = sum["qemu", t, "devreqs"]
		if (t == "idle") {
			sa = sum["avmm", t, "secs"]; sq = sum["qemu", t, "secs"]
			printf "%-12s per second: uexits %s, mmio_u %s, exits %s, irqs %s, VMM CPU %s%%\n", t,
				per(sum["avmm", t, "ux"], sa) "|" per(sum["qemu", t, "ux"], sq),
				per(sum["avmm", t, "mmio_exit_user"], sa) "|" per(sum["qemu", t, "mmio_exit_user"], sq),
				per(sum["avmm", t, "exits"], sa) "|" per(sum["qemu", t, "exits"], sq),
				per(sum["avmm", t, "irqs"], sa) "|" per(sum["qemu", t, "irqs"], sq),
				per(sum["avmm", t, "cpu"] * 100, sum["avmm", t, "up"]) "|" per(sum["qemu", t, "cpu"] * 100, sum["qemu", t, "up"])
			continue
		}
		printf "%-12s %-13s %-11s %-11s %-13s %-11s %-11s\n", t,
			per(da, sum["avmm", t, "ops"]) "|" per(dq, sum["qemu", t, "ops"]),
			per(sum["avmm", t, "irqs"], da) "|" per(sum["qemu", t, "irqs"], dq),
			per(sum["avmm", t, "irqline"], da) "|" per(sum["qemu", t, "irqline"], dq),
			per(sum["avmm", t, "cpu"] * 10000, da) "|" per(sum["qemu", t, "cpu"] * 10000, dq),
			per(sum["avmm", t, "wfi_exit_stat"], da) "|" per(sum["qemu", t, "wfi_exit_stat"], dq),
			per(sum["avmm", t, "mmio_exit_kernel"], da) "|" per(sum["qemu", t, "mmio_exit_kernel"], dq)
	}
	print "\nVMM CPU time by thread, % of L1 time (uptime) between the snapshots, summed over the rounds:"
	for (v = 1; v <= nv; v++) {
		vm = vorder[v]
		printf "%s:\n", vm
		for (i = 1; i <= nt; i++) {
			t = torder[i]; s = sum[vm, t, "up"]; line = ""
			n = split(thr[vm], th, " ")
			for (j = 1; j <= n; j++)
				if (sum[vm, t, th[j]] > 0) line = line sprintf(" %s=%.0f%%", substr(th[j], 5), (s > 0 ? 100 * sum[vm, t, th[j]] / s : 0))
			printf "  %-12s total=%.0f%%%s\n", t, (s > 0 ? 100 * sum[vm, t, "cpu"] / s : 0), line
		}
	}
	print "\nuserspace exits by reason (KVM_EXIT_*: 6 MMIO, 10 INTR, 24 SYSTEM_EVENT), per request:"
	for (v = 1; v <= nv; v++) {
		vm = vorder[v]
		for (i = 1; i <= nt; i++) {
			t = torder[i]; d = sum[vm, t, "devreqs"]; line = ""
			if (t == "idle") continue
			for (rr = 0; rr < 64; rr++) if (sum[vm, t, "ux" rr] > 0) line = line sprintf(" %d:%s", rr, per(sum[vm, t, "ux" rr], d))
			printf "  %-5s %-12s%s\n", vm, t, line
		}
	}
	if (nothers["avmm", torder[1]] > 0) {
		print "\nhost CPU taken by other processes during each test, % of the host, round by round:"
		for (i = 1; i <= nt; i++) {
			t = torder[i]
			for (v = 1; v <= nv; v++) {
				vm = vorder[v]; line = ""
				for (k = 1; k <= nothers[vm, t]; k++) line = line sprintf(" %3.0f", 100 * others[vm, t, k])
				mline = ""
				for (k = 1; k <= cnt[vm, t]; k++) mline = mline " " val[vm, t, "m", k]
				printf "  %-5s %-12s%s   (result:%s)\n", vm, t, line, mline
			}
		}
	}
	if (errors) printf "(%d test(s) failed: see the log)\n", errors
}' "$1"
