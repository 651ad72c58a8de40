#!/bin/sh
# SPDX-License-Identifier: MIT
# /bench/init of the virtio-blk benchmark's L2 initramfs (bench/blk-bench.sh
# appends it and blkbench to tools/mkinitramfs.sh --modules virtio's image;
# the kernel starts it with rdinit=/bench/init).  Loads the virtio modules,
# waits for the disk, prints what the guest's block layer made of it, runs
# bench/blkbench on the raw disk (no file system, no switch_root: the disk is
# a scratch image that the write tests overwrite) and powers off.
# Kernel command line: blkbench.secs=S (per test, default 5), blkbench.pause=S
# (default 1), blkbench.tests=a,b,... (default all), blkbench.dev=/dev/vda.
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /lib/modules/load.list); do
	insmod "/lib/modules/$m.ko" || echo "blk-init: insmod $m failed"
done
secs=5 pause=1 dev=/dev/vda
tests="seqread seqwrite randread1 randwrite1 randread32 randwrite32 idle"
for a in $(cat /proc/cmdline); do
	case $a in
	blkbench.secs=*) secs=${a#*=} ;;
	blkbench.pause=*) pause=${a#*=} ;;
	blkbench.tests=*) tests=$(echo "${a#*=}" | tr , ' ') ;;
	blkbench.dev=*) dev=${a#*=} ;;
	esac
done
i=0
while [ ! -b "$dev" ] && [ $i -lt 100 ]; do
	usleep 100000
	i=$((i + 1))
done
if [ -b "$dev" ]; then
	q=/sys/block/${dev##*/}/queue
	# shellcheck disable=SC2012 # sysfs names are plain
	echo "blk-init: $dev: max_sectors_kb=$(cat "$q"/max_sectors_kb)" \
		"max_hw_sectors_kb=$(cat "$q"/max_hw_sectors_kb) max_segments=$(cat "$q"/max_segments)" \
		"max_segment_size=$(cat "$q"/max_segment_size) nr_requests=$(cat "$q"/nr_requests)" \
		"scheduler=$(cat "$q"/scheduler | tr ' ' ,) write_cache=$(cat "$q"/write_cache | tr ' ' _)" \
		"nr_hw_queues=$(ls -d "/sys/block/${dev##*/}"/mq/* | wc -l)"
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = 0x0002 ] && echo "blk-init: virtio-blk features=$(cat "$d/features")"
	done
	# shellcheck disable=SC2086 # a list of tests
	/bench/blkbench -d "$secs" -p "$pause" "$dev" $tests
	echo "blk-init: blkbench-rc=$?"
else
	echo "blk-init: no $dev after 10 s"
	cat /proc/interrupts
fi
poweroff -f
