#!/bin/sh
# SPDX-License-Identifier: MIT
# Sourced inside L1 (as /avmm/tests/lib.sh) by the scenario scripts that boot
# L2 from the root disk in its batch mode (tools/mkrootfs.sh): l1-disk.sh and
# l1-net.sh.  The guest runs a script from its kernel command line, prints
# AVMM-L2-STATUS=<rc> and powers off; every guest script ends with its kernel
# log's line count and trouble lines between @@K2 and @@K3
# (run_integration.py's l2_batch_log reads them).
AVMM=/avmm/bin/avmm
KLOG='echo @@K2; dmesg | wc -l; dmesg | grep -E "WARN|BUG|Oops|Call trace"; echo @@K3'

disk_copy() { # NAME -> prints /tmp/NAME.img, a fresh copy of the root disk
	cp /avmm/build/guest/rootfs.img "/tmp/$1.img" && echo "/tmp/$1.img"
}

# The boot.cmdline override running SCRIPT (then KLOG).  arm64's command line
# holds 2048 bytes, the script's base64 included: keep scripts short.
boot_args() { # MODE SCRIPT
	printf 'boot.cmdline=console=ttyAMA0 quiet root=/dev/vda %s avmm.run=%s' "$1" \
		"$(printf '%s\n%s\n' "$2" "$KLOG" | base64 | tr -d '\n')"
}

wait_for() { # FILE PATTERN SECONDS: until PATTERN is in FILE
	n=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -le $(($3 * 2)) ] || return 1
		sleep 0.5
	done
}
