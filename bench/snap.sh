#!/bin/sh
# SPDX-License-Identifier: MIT
# Sourced inside L1 (as /avmm/bench/snap.sh) by bench/blk-l1.sh and
# bench/net-l1.sh.  bench_snap PREFIX B|E TEST PID prints one
# "PREFIX: snap B|E TEST key=value..." line while the guest is quiet:
#   - KVM's debugfs counters (they sum over the VMs alive, and only one is);
#   - exits to userspace by reason, and KVM_IRQ_LINE calls (hist triggers on
#     kvm:kvm_userspace_exit and kvm:kvm_irq_line, set up by bench_snap_setup);
#   - the VMM's CPU time, the process and each thread, and L1's uptime (1/100 s).
kvm=/sys/kernel/debug/kvm
tr=/sys/kernel/tracing

# bench_snap_setup PREFIX: mount debugfs and tracefs, and set the hist
# triggers bench_snap reads; "PREFIX: warning: ..." for what is missing.
bench_snap_setup() {
	grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug
	grep -q ' /sys/kernel/tracing ' /proc/mounts || mount -t tracefs tracefs $tr
	for f in exits mmio_exit_user mmio_exit_kernel; do
		[ -r $kvm/$f ] || echo "$1: warning: no $kvm/$f"
	done
	for e in kvm_userspace_exit:reason kvm_irq_line:level; do
		echo "hist:keys=${e#*:}" >"$tr/events/kvm/${e%:*}/trigger" ||
			echo "$1: warning: no hist trigger on kvm:${e%:*}"
	done
}

bench_snap() { # PREFIX B|E TEST PID
	prefix=$1
	shift
	set -- "$1" "$2" "$3" $kvm/exits $kvm/mmio_exit_user $kvm/mmio_exit_kernel \
		$kvm/wfi_exit_stat $kvm/signal_exits $kvm/hvc_exit_stat \
		$tr/events/kvm/kvm_userspace_exit/hist $tr/events/kvm/kvm_irq_line/hist \
		/proc/uptime /proc/"$3"/stat /proc/"$3"/task/*/stat
	tag="$1 $2"
	shift 3
	awk -v tag="$tag" -v prefix="$prefix" '
	function ticks(line,    f) {  # utime + stime of a stat line
		sub(/^.*\) /, "", line)
		split(line, f, " ")
		return f[12] + f[13]
	}
	FILENAME ~ /\/debug\/kvm\// { n = FILENAME; sub(/.*\//, "", n); out = out " " n "=" $1; next }
	FILENAME ~ /kvm_userspace_exit/ && /^\{.*hitcount:/ {
		r = $0; sub(/.*reason: */, "", r); sub(/ .*/, "", r)
		h = $0; sub(/.*hitcount: */, "", h)
		ux += h; out = out " ux" r "=" h; next
	}
	FILENAME ~ /kvm_irq_line/ && /^\{.*hitcount:/ { h = $0; sub(/.*hitcount: */, "", h); irql += h; next }
	FILENAME ~ /\/task\// {
		c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c); gsub(/[^A-Za-z0-9]/, "_", c)
		if (c == "worker") { thr[c] += ticks($0); next }  # QEMU pool threads come and go: one sum
		nt++; tid[nt] = $1 + 0; tcomm[nt] = c; tticks[nt] = ticks($0); next
	}
	FILENAME == "/proc/uptime" { out = out " up=" int($1 * 100 + 0.5); next }
	FILENAME ~ /^\/proc\/[0-9]+\/stat$/ { out = out " cpu=" ticks($0); next }
	END {
		# comm#N: the Nth thread of that name in creation (thread id) order;
		# avmm names none of its threads
		for (i = 2; i <= nt; i++) {
			x = tid[i]; y = tcomm[i]; z = tticks[i]
			for (j = i - 1; j >= 1 && tid[j] > x; j--) { tid[j + 1] = tid[j]; tcomm[j + 1] = tcomm[j]; tticks[j + 1] = tticks[j] }
			tid[j + 1] = x; tcomm[j + 1] = y; tticks[j + 1] = z
		}
		for (i = 1; i <= nt; i++) thr[tcomm[i] "#" (++rank[tcomm[i]])] += tticks[i]
		for (c in thr) out = out " cpu_" c "=" thr[c]
		printf "%s: snap %s ux=%d irqline=%d%s\n", prefix, tag, ux, irql, out
	}' "$@" 2>/dev/null
}
