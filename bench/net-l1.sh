#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (bench/net-bench.sh puts it at /avmm/bench/net-l1.sh): the
# virtio-net benchmark under each VMM, alternating, with the same kernel,
# initramfs, command line and network backend.
#
#   net-l1.sh ROUNDS SECS BACKENDS VARIANT...
#       BACKENDS: comma-separated, user and/or tap; VARIANTS: avmm qemu
#
# L1 has no network device: all traffic is between L2 and L1.  L1 runs
# netbench's server (port 5201) for the guest's tx and rr tests, and for the
# rx test connects to the guest's server: with user networking through the
# VMM's forwarded port 127.0.0.1:5202 (slirp's hostfwd), with tap directly
# to 192.168.77.2:5202 over tap0 (192.168.77.1/24, made here with tunctl).
#
# The guest (bench/net-init.sh) prints "@@B TEST" and "@@E TEST" around each
# test and pauses after each; on each marker this script reads, while the
# link is quiet (as bench/blk-l1.sh does):
#   - KVM's debugfs counters (/sys/kernel/debug/kvm/*: they sum over the VMs
#     alive, and only one is), e.g. exits, mmio_exit_user, wfi_exit_stat;
#   - exits to userspace by reason, and KVM_IRQ_LINE calls: hist triggers on
#     the kvm:kvm_userspace_exit and kvm:kvm_irq_line trace events;
#   - the VMM's CPU time: the process and each thread (/proc/PID/task/*/stat),
#     and L1's uptime (both in 1/100 s),
# and prints them as one "net-l1: snap B|E TEST key=value..." line.
# Each variant and backend first runs once with 2-second tests (warm-up, not counted).
rounds=${1:-1}
secs=${2:-10}
backends=${3:-user}
shift 3
variants=${*:-avmm qemu}
bench=/avmm/bench
cfg=$bench/net.ini
nb=$bench/netbench
initrd=/avmm/build/net-bench/net-initramfs.cpio.gz
guest=/avmm/build/guest
# shellcheck source=bench/snap.sh
. /avmm/bench/snap.sh # bench_snap_setup, bench_snap; kvm, tr
tests=${NET_TESTS:-tx,rx,rr,rr64,idle}
mac=52:54:00:12:34:56
pause=1
cr=$(printf '\r')

bench_snap_setup net-l1
base=$(sed -n 's/^cmdline *= *//p' "$cfg")

# L1's side: netbench's server for the guest's connections, on every address.
$nb server 5201 &
server=$!
case ",$backends," in
*,tap,*)
	tunctl -t tap0 >/dev/null || echo "net-l1: tunctl -t tap0 failed"
	ip addr add 192.168.77.1/24 dev tap0
	ip link set tap0 up ;;
esac

monitor() { # PROCESS-NAME RX-HOST SECS: copy the console, snapshot at the markers
	pid=
	while IFS= read -r line; do
		line=${line%"$cr"}
		echo "$line"
		case $line in
		"@@B "* | "@@E "*)
			[ -n "$pid" ] || pid=$(pidof "$1" | cut -d' ' -f1)
			tag=${line%% *}
			bench_snap net-l1 "${tag#@@}" "${line#* }" "$pid" ;;
		esac
		# The guest's server listens: send to it, after the same pause
		# the guest's own clients take.
		[ "$line" != "@@B rx" ] || $nb client -q -w $pause -d "$3" "$2" 5202 rx send &
	done
	wait
}

run() { # LABEL VARIANT BACKEND SECS
	label=$1 rsecs=$4
	append="$base netbench.secs=$4 netbench.pause=$pause netbench.tests=$tests"
	case $3 in
	user)
		append="$append netbench.ip=10.0.2.15/24 netbench.peer=10.0.2.2"
		rxhost=127.0.0.1
		avmm_net=
		qemu_net=user,id=n0,hostfwd=tcp:127.0.0.1:5202-10.0.2.15:5202 ;;
	tap)
		append="$append netbench.ip=192.168.77.2/24 netbench.peer=192.168.77.1"
		rxhost=192.168.77.2
		avmm_net="-s net0.net=tap:tap0 -s net0.hostfwd="
		qemu_net=tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off ;;
	*) echo "net-l1: unknown backend $3"; return 1 ;;
	esac
	echo "net-l1: run label=$1 vmm=$2 net=$3 secs=$4"
	# shellcheck disable=SC2086 # avmm_net: words
	case $2 in
	avmm) set -- "$1" "$2" avmm /avmm/bin/avmm -c "$cfg" $avmm_net -s "boot.cmdline=$append" ;;
	qemu) set -- "$1" "$2" qemu-system-aarch64 "$bench/qemu-system-aarch64" -accel kvm \
		-M virt,gic-version=2,kernel_irqchip=off -cpu host -smp 1 -m 512 \
		-name net,debug-threads=on \
		-nographic -nodefaults -no-user-config -serial stdio \
		-kernel "$guest/Image" -initrd "$initrd" -append "$append" \
		-netdev "$qemu_net" -device virtio-net-device,netdev=n0,mac=$mac ;;
	*) echo "net-l1: unknown variant $2"; return 1 ;;
	esac
	name=$3
	shift 3
	{
		timeout 900 "$@" </dev/null 2>&1
		echo "net-l1: vmm-rc=$?"
	} | monitor "$name" "$rxhost" "$rsecs"
	echo "net-l1: end label=$label"
}

for b in $(echo "$backends" | tr , ' '); do
	echo "net-l1: warm-up (not counted): $variants, net=$b"
	for v in $variants; do
		run "warmup-$v" "$v" "$b" 2
	done
	order=$variants
	r=0
	while [ "$r" -lt "$rounds" ]; do
		for v in $order; do
			run "$v" "$v" "$b" "$secs"
		done
		# shellcheck disable=SC2086 # word splitting wanted
		set -- $order
		first=$1
		shift
		order="$* $first"
		r=$((r + 1))
	done
done
kill "$server" 2>/dev/null
echo "net-l1: done"
