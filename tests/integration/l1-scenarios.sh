#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (as /avmm/tests/scenarios.sh): each named scenario in turn,
# framed by markers run_integration.py parses:
#   @@SCENARIO-BEGIN <name>@@ ... @@SCENARIO-END <name> rc=<n> t=<seconds>@@
# Batch scenarios get stdin from /dev/null and a safety timeout, so one hung
# scenario cannot eat the whole run (hang's is 20 s, far from the 3 s its
# check wants); linux-shell is interactive on the console.  The Linux
# scenarios and oot-scratch run avmm with -v: run_integration.py reads
# info-level lines there (the ID-register note, the plugin's access count).
# The disk-* scenarios are tests/integration/l1-disk.sh's, net-* l1-net.sh's.
cd /avmm || exit 1
uptime_cs() { # hundredths of a second since L1 boot
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}
for s in "$@"; do
	echo "@@SCENARIO-BEGIN $s@@"
	t0=$(uptime_cs)
	case $s in
	kvm-probe) timeout 60 /avmm/bin/kvm-probe 1000 </dev/null 2>&1 ;;
	hello) timeout 60 /avmm/bin/avmm -c /avmm/configs/hello.ini </dev/null 2>&1 ;;
	fibonacci) timeout 60 /avmm/bin/avmm -c /avmm/configs/fibonacci.ini </dev/null 2>&1 ;;
	hang) timeout 20 /avmm/bin/avmm --timeout 3 -c /avmm/configs/hang.ini </dev/null 2>&1 ;;
	abort) timeout 60 /avmm/bin/avmm -c /avmm/configs/abort.ini </dev/null 2>&1 ;;
	selfbrk) timeout 60 /avmm/bin/avmm --timeout 10 -c /avmm/configs/selfbrk.ini \
		</dev/null 2>&1 ;;
	devices) timeout 60 /avmm/bin/avmm -c /avmm/configs/devices.ini </dev/null 2>&1 ;;
	virtio-hostile) timeout 60 /avmm/bin/avmm -c /avmm/configs/virtio-hostile.ini \
		</dev/null 2>&1 ;;
	oot-scratch) AVMM_PLUGIN_PATH=/avmm/oot-plugins timeout 60 /avmm/bin/avmm -v \
		-c /avmm/configs/oot-scratch.ini </dev/null 2>&1 ;;
	linux-shell) /avmm/bin/avmm -v -c /avmm/configs/linux-virt.ini 2>&1 ;;
	linux-smp) /avmm/bin/avmm -v -s machine.cpus=2 -c /avmm/configs/linux-virt.ini 2>&1 ;;
	linux-disk) cp /avmm/build/guest/rootfs.img /tmp/linux-disk.img &&
		/avmm/bin/avmm -v -c /avmm/configs/linux-disk.ini -s vda.path=/tmp/linux-disk.img 2>&1
		rc=$?; rm -f /tmp/linux-disk.img; (exit $rc) ;;
	disk-*) timeout 400 sh /avmm/tests/disk.sh "$s" </dev/null 2>&1 ;;
	net-*) timeout 400 sh /avmm/tests/net.sh "$s" </dev/null 2>&1 ;;
	l1-kernel-log) # L1's own kernel log after everything else ran
		k=$(dmesg)
		echo "lines: $(echo "$k" | wc -l)"
		echo "$k" | grep -E 'WARN|BUG|Oops|Call trace'
		true ;;
	*) echo "scenarios.sh: unknown scenario '$s'"; false ;;
	esac
	rc=$?
	t1=$(uptime_cs)
	dt=$((t1 - t0))
	echo "@@SCENARIO-END $s rc=$rc t=$((dt / 100)).$((dt / 10 % 10))@@"
done
