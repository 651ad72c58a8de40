#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tables of bench/net-bench.sh, from its log (so a log can be read again):
#
#   bench/net-summary.sh LOG
#
# Per backend and test: each VMM's median (MB/s, 10^6 bytes a second, for
# the streams tx and rx; transactions a second for rr and rr64, with their
# median p50 and p99 latencies), the ratio avmm/QEMU of the medians and the
# median of the rounds' paired ratios; then, summed over the rounds, per MB
# (streams) or per transaction (rr): exits to userspace (kvm_userspace_exit),
# of them MMIO exits (debugfs mmio_exit_user), all guest exits (debugfs
# exits), interrupts the guest took (/proc/interrupts, virtio lines),
# KVM_IRQ_LINE calls, packets the guest sent and received, and the VMM's CPU
# time (L1's, so it includes its vCPU thread's time in the guest) in µs.
# The idle row shows per-second rates instead.
set -euo pipefail
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: ${0##*/} LOG" >&2; exit 2; }
awk '
function median(key, n,    i, j, t, a) {
	for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function kv(s, arr,    i, n, f, p) {
	n = split(s, f, " ")
	for (i = 1; i <= n; i++) { p = index(f[i], "="); if (p) arr[substr(f[i], 1, p - 1)] = substr(f[i], p + 1) }
}
function per(v, d) { return d > 0 ? sprintf(v / d >= 100 ? "%.0f" : "%.2f", v / d) : "-" }
# counter k of test t on backend be (globals), times m, per da (avmm) | per dq (QEMU)
function both(k, da, dq, m) { return per(sum["avmm", be, t, k] * m, da) "|" per(sum["qemu", be, t, k] * m, dq) }
function stream(t) { return t == "tx" || t == "rx" }
/^net-l1: run label=/ {
	delete a; kv($0, a)
	counted = a["label"] !~ /^warmup-/
	vmm = a["vmm"]; be = a["net"]
	if (counted) {
		if (!(be in beseen)) { beseen[be] = 1; border[++nb] = be }
		if (!((vmm, be) in seen)) { seen[vmm, be] = 1 }
		if (!(vmm in vseen)) { vseen[vmm] = 1; vorder[++nv] = vmm }
	}
	next
}
!counted { next }
/^net-l1: snap B / { delete b; kv($0, b); next }
/^net-l1: snap E / {
	t = $4; delete e; kv($0, e)
	for (k in e) if ((k in b) || k ~ /^cpu_/) sum[vmm, be, t, k] += e[k] - b[k]
	for (k in e) if (k ~ /^cpu_/ && !((vmm, k) in thrseen)) { thrseen[vmm, k] = 1; thr[vmm] = thr[vmm] " " k }
	next
}
/^net-host: snap B / { delete hb; kv($0, hb); next }
/^net-host: snap E / {
	t = $4; delete he; kv($0, he)
	if (he["up"] > hb["up"])
		others[vmm, be, t, ++nothers[vmm, be, t]] = ((he["busy"] - hb["busy"]) - (he["l1"] - hb["l1"])) / ((he["up"] - hb["up"]) * he["ncpu"])
	next
}
/^netbench(-server)?: test=/ {
	delete r; kv($0, r); t = r["test"]
	if ("irqs" in r) { sum[vmm, be, t, "irqs"] += r["irqs"]; sum[vmm, be, t, "pkts"] += r["pkts"] }
	if ($1 == "netbench-server:") next
	if (!(t in tseen)) { tseen[t] = 1; torder[++nt] = t }
	c = ++cnt[vmm, be, t]
	sum[vmm, be, t, "secs"] += r["secs"]
	if (t == "idle") next
	if (stream(t)) { val[vmm, be, t, "m", c] = r["mbps"]; sum[vmm, be, t, "units"] += r["bytes"] / 1e6 }
	else {
		val[vmm, be, t, "m", c] = r["tps"]; sum[vmm, be, t, "units"] += r["trans"]
		val[vmm, be, t, "p50", c] = r["p50_us"]; val[vmm, be, t, "p99", c] = r["p99_us"]
	}
	next
}
/^netbench: / || /^net-init: netbench-rc=1/ { errors++ }
function med(v, t, what,    n) { n = cnt[v, be, t]; return n ? median(v SUBSEP be SUBSEP t SUBSEP what, n) : 0 }
END {
	if (!nb) { print "net-summary: no counted runs"; exit 1 }
	for (bi = 1; bi <= nb; bi++) {
		be = border[bi]
		if (!(("avmm", be) in seen) || !(("qemu", be) in seen) || !cnt["avmm", be, torder[1]] || !cnt["qemu", be, torder[1]])
			printf "\nnet=%s: not both VMMs ran (a VMM without results shows 0)\n", be
		printf "\nnet=%s (medians of %d|%d runs; ratio: of the medians, paired: median of the rounds\x27 avmm/QEMU)\n", be, cnt["avmm", be, torder[1]], cnt["qemu", be, torder[1]]
		printf "%-6s %10s %10s %7s %7s  %-6s %-15s %s\n", "test", "avmm", "QEMU", "ratio", "paired", "unit", "p50 us a|Q", "p99 us a|Q"
		for (i = 1; i <= nt; i++) {
			t = torder[i]
			if (t == "idle") continue
			ma = med("avmm", t, "m"); mq = med("qemu", t, "m")
			na = cnt["avmm", be, t]; nq = cnt["qemu", be, t]; np = na < nq ? na : nq
			for (k = 1; k <= np; k++)
				val["pair", be, t, k] = val["qemu", be, t, "m", k] > 0 ? val["avmm", be, t, "m", k] / val["qemu", be, t, "m", k] : 0
			pr = np ? median("pair" SUBSEP be SUBSEP t, np) : 0
			lat = stream(t) ? "" : sprintf("%-15s %s", med("avmm", t, "p50") "|" med("qemu", t, "p50"), med("avmm", t, "p99") "|" med("qemu", t, "p99"))
			printf "%-6s %10.2f %10.2f %7s %7s  %-6s %s\n", t, ma, mq, (mq > 0 ? sprintf("%.2f", ma / mq) : "-"),
				(np ? sprintf("%.2f", pr) : "-"), (stream(t) ? "MB/s" : "trans/s"), lat
		}
		printf "\nnet=%s per MB (tx, rx) or per transaction (rr), summed over the rounds (avmm|QEMU):\n", be
		printf "%-6s %-13s %-13s %-13s %-13s %-13s %-13s %s\n", "test", "uexits", "mmio_u", "exits", "guest irqs", "irqline", "guest pkts", "VMM CPU us"
		for (i = 1; i <= nt; i++) {
			t = torder[i]
			if (t == "idle") {
				sa = sum["avmm", be, t, "up"] / 100; sq = sum["qemu", be, t, "up"] / 100
				printf "%-6s per second: uexits %s, mmio_u %s, exits %s, irqs %s, irqline %s, VMM CPU %s%%\n", t,
					both("ux", sa, sq, 1), both("mmio_exit_user", sa, sq, 1),
					both("exits", sa, sq, 1), both("irqs", sa, sq, 1),
					both("irqline", sa, sq, 1), both("cpu", sa, sq, 1)
				continue
			}
			ua = sum["avmm", be, t, "units"]; uq = sum["qemu", be, t, "units"]
			printf "%-6s %-13s %-13s %-13s %-13s %-13s %-13s %s\n", t,
				both("ux", ua, uq, 1), both("mmio_exit_user", ua, uq, 1), both("exits", ua, uq, 1),
				both("irqs", ua, uq, 1), both("irqline", ua, uq, 1), both("pkts", ua, uq, 1),
				both("cpu", ua, uq, 10000)
		}
		printf "\nnet=%s VMM CPU time by thread, %% of L1 time between the snapshots, summed over the rounds:\n", be
		for (v = 1; v <= nv; v++) {
			vm = vorder[v]
			printf "%s:\n", vm
			for (i = 1; i <= nt; i++) {
				t = torder[i]; s = sum[vm, be, t, "up"]; line = ""
				n = split(thr[vm], th, " ")
				for (j = 1; j <= n; j++)
					if (sum[vm, be, t, th[j]] > 0) line = line sprintf(" %s=%.0f%%", substr(th[j], 5), (s > 0 ? 100 * sum[vm, be, t, th[j]] / s : 0))
				printf "  %-6s total=%.0f%%%s\n", t, (s > 0 ? 100 * sum[vm, be, t, "cpu"] / s : 0), line
			}
		}
		printf "\nnet=%s userspace exits by reason (KVM_EXIT_*: 6 MMIO, 10 INTR), per MB or transaction:\n", be
		for (v = 1; v <= nv; v++) {
			vm = vorder[v]
			for (i = 1; i <= nt; i++) {
				t = torder[i]; d = sum[vm, be, t, "units"]; line = ""
				if (t == "idle") continue
				for (rr = 0; rr < 64; rr++) if (sum[vm, be, t, "ux" rr] > 0) line = line sprintf(" %d:%s", rr, per(sum[vm, be, t, "ux" rr], d))
				printf "  %-5s %-6s%s\n", vm, t, line
			}
		}
		if (nothers["avmm", be, torder[1]] > 0) {
			printf "\nnet=%s host CPU taken by other processes during each test, %% of the host, round by round:\n", be
			for (i = 1; i <= nt; i++) {
				t = torder[i]
				for (v = 1; v <= nv; v++) {
					vm = vorder[v]; line = ""; mline = ""
					for (k = 1; k <= nothers[vm, be, t]; k++) line = line sprintf(" %3.0f", 100 * others[vm, be, t, k])
					if (t != "idle") for (k = 1; k <= cnt[vm, be, t]; k++) mline = mline " " val[vm, be, t, "m", k]
					printf "  %-5s %-6s%s%s\n", vm, t, line, (mline == "" ? "" : "   (result:" mline ")")
				}
			}
		}
	}
	if (errors) printf "(%d error line(s) or failed test(s): see the log)\n", errors
}' "$1"
