#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (as /avmm/tests/disk.sh SCENARIO): the virtio disk
# scenarios of configs/linux-disk.ini; run_integration.py checks the output.
# Each boots L2 from its own copy of the root disk in the rootfs init's batch
# mode (tools/mkrootfs.sh): the guest runs a script from its command line,
# prints AVMM-L2-STATUS=<rc> and powers off.  Every guest script ends with
# its kernel log's line count and trouble lines between @@K2 and @@K3; L1's
# view of the image afterwards (e2fsck, debugfs) comes between @@HOST-BEGIN
# and @@HOST-END.  tests/integration/l1-lib.sh (/avmm/tests/lib.sh) has
# the helpers both this and l1-net.sh use.
. /avmm/tests/lib.sh
CFG=/avmm/configs/linux-disk.ini

host_begin() { # IMG [E2FSCK-MODE]: e2fsck's verdict on it (default -n: check only)
	echo "@@HOST-BEGIN"
	e2fsck -f"${2:-n}" "$1" >/tmp/e2fsck.out 2>&1
	echo "e2fsck-rc=$?"
	sed 's/^/  e2fsck: /' /tmp/e2fsck.out
}

# Read a file of known content, write two files, use the rng; the image
# must then hold both files and be clean.
disk_rw() {
	img=$(disk_copy disk-rw) || return 1
	g='sha256sum /etc/avmm-known
grep " / " /proc/mounts
echo "write_cache=$(cat /sys/block/vda/queue/write_cache)"
echo "rng=$(cat /sys/class/misc/hw_random/rng_current)"
echo "hwrng-bytes=$(dd if=/dev/hwrng bs=32 count=2 2>/dev/null | wc -c)"
dd if=/dev/urandom of=/written.bin bs=64k count=32 2>/dev/null
echo "guest-written.bin=$(sha256sum /written.bin)"
echo "avmm-written-$((6*7))" >/written.txt
sync
mount -o remount,ro / && echo remounted-ro'
	$AVMM -v -c $CFG -s "vda.path=$img" -s "$(boot_args rw "$g")" 2>&1
	echo "avmm-rc=$?"
	host_begin "$img"
	echo "host-written.txt=$(debugfs -R 'cat /written.txt' "$img" 2>/dev/null)"
	echo "host-written.bin=$(debugfs -R 'cat /written.bin' "$img" 2>/dev/null | sha256sum)"
	echo "@@HOST-END"
	rm -f "$img"
}

# A record written and flushed, then SIGKILL: it must be in the image.
# mode "unsafe": the same with cache = unsafe, where FLUSH is not offered.
disk_durable() {
	img=$(disk_copy "disk-$1") || return 1
	g='echo "write_cache=$(cat /sys/block/vda/queue/write_cache)"
echo "durable-record-$((6*7))" >/record
sync /record
'"$KLOG"'
echo "RECORD-$((1+1))-DONE"
sleep 600'
	log=/tmp/disk-$1.log
	$AVMM -v -c $CFG -s "vda.path=$img" -s "vda.cache=$2" -s "$(boot_args rw "$g")" \
		>"$log" 2>&1 &
	pid=$!
	if wait_for "$log" "RECORD-2-DONE" 240; then
		kill -9 "$pid"
		echo "killed avmm (SIGKILL) after RECORD-2-DONE"
	else
		kill -9 "$pid"
		echo "no RECORD-2-DONE within 240 s"
	fi
	wait "$pid"
	echo "avmm-rc=$?"
	cat "$log"
	# e2fsck -p replays the journal, as the next mount would
	host_begin "$img" p
	echo "host-record=$(debugfs -R 'cat /record' "$img" 2>/dev/null)"
	echo "@@HOST-END"
	rm -f "$img" "$log"
}

# readonly = true: writes fail in the guest, even below the file system
# with the block device forced writable; the image stays byte-identical.
disk_readonly() {
	img=$(disk_copy disk-readonly) || return 1
	before=$(sha256sum <"$img")
	g='echo "ro=$(cat /sys/block/vda/ro)"
grep " / " /proc/mounts
if echo x >/etc/new-file; then echo fs-write-accepted; else echo fs-write-refused; fi
blockdev --setrw /dev/vda
if dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=1000 oflag=direct conv=notrunc 2>/dev/null
then echo dev-write-accepted; else echo dev-write-refused; fi
true'
	$AVMM -v -c $CFG -s "vda.path=$img" -s vda.readonly=true -s "$(boot_args ro "$g")" 2>&1
	echo "avmm-rc=$?"
	host_begin "$img"
	[ "$(sha256sum <"$img")" = "$before" ] && echo image-unchanged || echo image-changed
	echo "@@HOST-END"
	rm -f "$img"
}

# A login on hvc0 through a unix-socket chardev that socat connects to.
disk_console() {
	img=$(disk_copy disk-console) || return 1
	sock=/tmp/hvc0.sock
	log=/tmp/disk-console.log
	g='n=0
while [ ! -e /tmp/hvc-ok ] && [ $n -lt 240 ]; do sleep 0.5; n=$((n + 1)); done
[ -e /tmp/hvc-ok ] && echo "HVC-$((1+1))-SEEN"'
	rm -f "$sock" /tmp/hvc.in /tmp/hvc.out
	$AVMM -v -c $CFG -s "vda.path=$img" -s "con0.chardev=unix:$sock" \
		-s "$(boot_args rw "$g")" >"$log" 2>&1 &
	pid=$!
	wait_for "$log" "rootfs init started" 240 || echo "no rootfs init within 240 s"
	mkfifo /tmp/hvc.in
	socat -t 5 - "UNIX-CONNECT:$sock" </tmp/hvc.in >/tmp/hvc.out 2>&1 &
	spid=$!
	# a socat that died must show as missing output, not kill this script
	trap '' PIPE
	exec 3>/tmp/hvc.in
	# getty may flush what arrives before it runs: retry until the shell answered.
	i=0
	while [ $i -lt 12 ] && ! grep -q "HVC-2-SEEN" "$log"; do
		sleep 4
		printf 'root\n' >&3
		sleep 4
		printf 'echo "hvc-$((40+2)) $(tty)"; touch /tmp/hvc-ok\n' >&3
		i=$((i + 1))
	done
	wait_for "$log" "AVMM-L2-STATUS" 120 || kill "$pid"
	exec 3>&-
	wait "$pid"
	echo "avmm-rc=$?"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	cat "$log"
	echo "@@HVC-BEGIN"
	tr -d '\r' </tmp/hvc.out
	echo "@@HVC-END"
	rm -f "$img" "$log" "$sock" /tmp/hvc.in /tmp/hvc.out
}

# Two avmm processes on one writable image: the second is refused (exit 2).
disk_lock() {
	img=$(disk_copy disk-lock) || return 1
	log=/tmp/disk-lock.log
	$AVMM -c $CFG -s "vda.path=$img" -s "$(boot_args rw 'sleep 600')" >"$log" 2>&1 &
	pid=$!
	wait_for "$log" "rootfs init started" 240 || echo "first avmm: no rootfs init within 240 s"
	echo "@@SECOND-BEGIN"
	$AVMM -c $CFG -s "vda.path=$img" -s "$(boot_args rw true)" </dev/null 2>&1
	echo "second-rc=$?"
	echo "@@SECOND-END"
	kill "$pid"
	wait "$pid"
	echo "first-rc=$?"
	rm -f "$img" "$log"
}

case $1 in
disk-rw) disk_rw ;;
disk-durable) disk_durable durable writeback ;;
disk-unsafe) disk_durable unsafe unsafe ;;
disk-readonly) disk_readonly ;;
disk-console) disk_console ;;
disk-lock) disk_lock ;;
*) echo "disk.sh: unknown scenario '$1'"; exit 1 ;;
esac
