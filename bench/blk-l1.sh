#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (bench/blk-bench.sh puts it at /avmm/bench/blk-l1.sh): the
# virtio-blk benchmark under each VMM, alternating, on the same scratch image,
# kernel, initramfs and command line.
#
#   blk-l1.sh ROUNDS SECS VARIANT...        (variants: avmm qemu)
#
# The guest (bench/blk-init.sh) runs bench/blkbench, which prints "@@B TEST"
# and "@@E TEST" around each test and pauses after each; on each marker this
# script reads, while the guest is quiet:
#   - KVM's debugfs counters (/sys/kernel/debug/kvm/*: they sum over the VMs
#     alive, and only one is), e.g. exits, mmio_exit_user, wfi_exit_stat;
#   - exits to userspace by reason, and KVM_IRQ_LINE calls: hist triggers on
#     the kvm:kvm_userspace_exit and kvm:kvm_irq_line trace events;
#   - the VMM's CPU time: the process and each thread (/proc/PID/task/*/stat),
#     and L1's uptime (both in 1/100 s),
# and prints them as one "blk-l1: snap B|E TEST key=value..." line.
# Each variant first runs once with 1-second tests (warm-up, not counted:
# L1 runs under TCG, so the first pass through its KVM code costs more).
rounds=${1:-1}
secs=${2:-5}
shift 2
variants=${*:-avmm qemu}
bench=/avmm/bench
cfg=$bench/blk.ini
img=/tmp/blk.img
initrd=/avmm/build/blk-bench/blk-initramfs.cpio.gz
guest=/avmm/build/guest
# shellcheck source=bench/snap.sh
. /avmm/bench/snap.sh # bench_snap_setup, bench_snap; kvm, tr
tests=${BLK_TESTS:-seqread,seqwrite,randread1,randwrite1,randread32,randwrite32,idle}
cr=$(printf '\r')

bench_snap_setup blk-l1
names=
for f in "$kvm"/*; do
	case ${f##*/} in *-*) ;; *) names="$names ${f##*/}" ;; esac # NNN-FD: per-VM dirs
done
echo "blk-l1: kvm counters:$names"

# The scratch disk, on tmpfs (L1's memory), allocated: reads hit real pages.
dd if=/dev/zero of=$img bs=1M count=256 2>/dev/null || { echo "blk-l1: cannot make $img"; exit 1; }
base=$(sed -n 's/^cmdline *= *//p' "$cfg")

monitor() { # PROCESS-NAME: copy the console, snapshot at the markers
	pid=
	while IFS= read -r line; do
		line=${line%"$cr"}
		echo "$line"
		case $line in
		"@@B "* | "@@E "*)
			[ -n "$pid" ] || pid=$(pidof "$1" | cut -d' ' -f1)
			tag=${line%% *}
			bench_snap blk-l1 "${tag#@@}" "${line#* }" "$pid" ;;
		esac
	done
}

run() { # LABEL VARIANT SECS
	append="$base blkbench.secs=$3 blkbench.tests=$tests"
	echo "blk-l1: run label=$1 vmm=$2 secs=$3"
	case $2 in
	avmm) set -- "$1" "$2" avmm /avmm/bin/avmm -c "$cfg" -s "boot.cmdline=$append" ;;
	qemu) set -- "$1" "$2" qemu-system-aarch64 "$bench/qemu-system-aarch64" -accel kvm \
		-M virt,gic-version=2,kernel_irqchip=off -cpu host -smp 1 -m 512 \
		-name blk,debug-threads=on \
		-nographic -nodefaults -no-user-config -serial stdio \
		-kernel "$guest/Image" -initrd "$initrd" -append "$append" \
		-drive if=none,id=vda,file=$img,format=raw,cache=writeback \
		-device virtio-blk-device,drive=vda ;;
	*) echo "blk-l1: unknown variant $2"; return 1 ;;
	esac
	label=$1 name=$3
	shift 3
	{
		timeout 600 "$@" </dev/null 2>&1
		echo "blk-l1: vmm-rc=$?"
	} | monitor "$name"
	echo "blk-l1: end label=$label"
}

echo "blk-l1: warm-up (not counted): $variants"
for v in $variants; do
	run "warmup-$v" "$v" 1
done
order=$variants
r=0
while [ "$r" -lt "$rounds" ]; do
	for v in $order; do
		run "$v" "$v" "$secs"
	done
	# shellcheck disable=SC2086 # word splitting wanted
	set -- $order
	first=$1
	shift
	order="$* $first"
	r=$((r + 1))
done
echo "blk-l1: done"
