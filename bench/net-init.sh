#!/bin/sh
# SPDX-License-Identifier: MIT
# /bench/init of the virtio-net benchmark's L2 initramfs (bench/net-bench.sh
# appends it and netbench to tools/mkinitramfs.sh --modules virtio's image;
# the kernel starts it with rdinit=/bench/init).  Loads the virtio modules,
# waits for eth0, gives it a static address, prints what the driver
# negotiated, runs the tests and powers off.  Tests (netbench.tests=a,b,...):
#   tx    guest -> L1 stream: the guest connects to L1's server (PEER:PORT)
#   rx    L1 -> guest stream: the guest's server on GPORT, L1 connects (through
#         the VMM's forwarded port with user networking): net-l1.sh starts the
#         sending client when it sees this test's "@@B rx"
#   rr    1-byte request/response, the guest connects to L1's server
#   rr64  the same with 64 bytes
#   idle  nothing: what the rest of the system costs in the same window
# Kernel command line: netbench.secs=S (default 10), netbench.pause=S (1),
# netbench.tests=..., netbench.ip=ADDR/LEN (10.0.2.15/24), netbench.peer=ADDR
# (L1: 10.0.2.2), netbench.port=N (L1's server, 5201), netbench.gport=N (5202).
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /lib/modules/load.list); do
	insmod "/lib/modules/$m.ko" || echo "net-init: insmod $m failed"
done
secs=10 pause=1 ip=10.0.2.15/24 peer=10.0.2.2 port=5201 gport=5202
tests="tx rx rr rr64 idle"
for a in $(cat /proc/cmdline); do
	case $a in
	netbench.secs=*) secs=${a#*=} ;;
	netbench.pause=*) pause=${a#*=} ;;
	netbench.tests=*) tests=$(echo "${a#*=}" | tr , ' ') ;;
	netbench.ip=*) ip=${a#*=} ;;
	netbench.peer=*) peer=${a#*=} ;;
	netbench.port=*) port=${a#*=} ;;
	netbench.gport=*) gport=${a#*=} ;;
	esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	usleep 100000
	i=$((i + 1))
done
if [ ! -e /sys/class/net/eth0 ]; then
	echo "net-init: no eth0 after 10 s"
	cat /proc/interrupts
	poweroff -f
fi
ip link set lo up
ip addr add "$ip" dev eth0
ip link set eth0 up
ip route add default via "$peer" 2>/dev/null
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do
	usleep 100000
	i=$((i + 1))
done
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0001 ] && echo "net-init: virtio-net features=$(cat "$d/features")"
done
echo "net-init: eth0 $ip peer=$peer mtu=$(cat /sys/class/net/eth0/mtu)" \
	"carrier=$(cat /sys/class/net/eth0/carrier 2>/dev/null)" \
	"offloads=$(ethtool -k eth0 2>/dev/null | grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-receive-offload):' | tr -d ' ' | tr '\n' ,)"
# The first packets resolve ARP (and, with user networking, make slirp learn
# the guest's address): not inside a measured window.
ping -c 1 -W 5 "$peer" >/dev/null 2>&1 || echo "net-init: warning: no ping reply from $peer"
rc=0
for t in $tests; do
	case $t in
	tx) /bench/netbench client -d "$secs" -p "$pause" "$peer" "$port" tx send || rc=1 ;;
	rr) /bench/netbench client -d "$secs" -p "$pause" "$peer" "$port" rr rr || rc=1 ;;
	rr64) /bench/netbench client -d "$secs" -p "$pause" -s 64 "$peer" "$port" rr64 rr || rc=1 ;;
	# (timeout: L1 may never connect; the VMM's own timeout is longer)
	rx) timeout $((secs * 3 + 30)) /bench/netbench server -1 -m rx -p "$pause" "$gport" || rc=1 ;;
	idle) /bench/netbench idle -d "$secs" -p "$pause" idle || rc=1 ;;
	*) echo "net-init: unknown test $t"; rc=1 ;;
	esac
done
echo "net-init: netbench-rc=$rc"
poweroff -f
