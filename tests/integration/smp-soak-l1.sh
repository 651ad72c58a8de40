#!/bin/sh
# SPDX-License-Identifier: MIT
# Inside L1 (see smp-soak.py): boot Linux on 2 vCPUs N times with avmm on the
# console.  A boot that shows no prompt within 45 s is reported with the
# state, user/system time and kernel stack of each avmm thread, then killed.
for i in $(seq 1 "${1:-20}"); do
	echo "@@ITER $i"
	(
		sleep 45
		p=$(pidof avmm) || exit 0
		echo "@@HANG $i"
		for t in /proc/$p/task/*; do
			echo "== $(cat "$t/comm") state=$(cut -d' ' -f3 "$t/stat") utime=$(cut -d' ' -f14 "$t/stat") stime=$(cut -d' ' -f15 "$t/stat") wchan=$(cat "$t/wchan")"
			head -6 "$t/stack"
		done
		sleep 5
		for t in /proc/$p/task/*; do
			echo "== 5 s later utime=$(cut -d' ' -f14 "$t/stat") stime=$(cut -d' ' -f15 "$t/stat")"
		done
		kill -9 "$p"
	) &
	wd=$!
	/avmm/bin/avmm -s machine.cpus=2 -c /avmm/configs/linux-virt.ini
	echo "@@RC $? $i"
	kill "$wd" 2>/dev/null
done
echo "@@DONE"
