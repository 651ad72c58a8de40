#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside L1 (bench/boot-time.sh puts it at /avmm/bench/boot-l1.sh): boot
# the same L2 kernel + initramfs to its shell prompt under each VMM variant,
# alternating, timed by boot-clock on L1's monotonic clock.
#
#   boot-l1.sh ROUNDS VARIANT...
#
# Variants: avmm (configs/linux-virt.ini), qemu (-M virt,gic-version=2,
# kernel_irqchip=off: a userspace GICv2 like avmm's), qemu-kirq-v2 / -v3 (the
# in-kernel GIC); NAME-off: the same VMM with bench/boot-off.S, a guest that
# powers off at once, timed to process exit (the VMM's fixed cost).
# Each variant first boots once untimed (warm-up: L1 runs under TCG, so the
# first pass through L1's KVM code also pays for translating it).
# A variant whose warm-up fails is dropped, with the reason; when plain "qemu"
# fails, qemu-kirq-v2 (then -v3) is tried in its place, labelled as such.
# Output: one "boot-clock: vmm=... prompt=..." line per timed run.
rounds=${1:-5}
shift
variants=${*:-avmm qemu avmm-off qemu-off}
bench=/avmm/bench
guest=/avmm/build/guest
config=/avmm/configs/linux-virt.ini
timeout=${BOOT_CLOCK_TIMEOUT:-90}

mkdir -p /dev/pts
grep -q ' /dev/pts ' /proc/mounts || mount -t devpts devpts /dev/pts ||
	echo "boot-l1: cannot mount devpts"
# The kernel command line of the avmm config, so both boot the same way.
append=$(sed -n 's/^cmdline *= *//p' "$config")
echo "boot-l1: L2 command line: $append"

run() { # VARIANT: one boot under boot-clock, labelled $label
	v=$1
	flags=
	case $v in
	avmm) set -- /avmm/bin/avmm -c "$config" ;;
	avmm-off) set -- /avmm/bin/avmm -c "$bench/boot-off.ini" ;;
	qemu | qemu-off) set -- "$bench/qemu-system-aarch64" -accel kvm \
		-M virt,gic-version=2,kernel_irqchip=off ;;
	qemu-kirq-v2 | qemu-kirq-v2-off) set -- "$bench/qemu-system-aarch64" -accel kvm \
		-M virt,gic-version=2 ;;
	qemu-kirq-v3 | qemu-kirq-v3-off) set -- "$bench/qemu-system-aarch64" -accel kvm \
		-M virt,gic-version=3 ;;
	*) echo "boot-l1: unknown variant $v"; return 1 ;;
	esac
	case $v in
	qemu*) set -- "$@" -cpu host -smp 1 -m 512 -nographic -nodefaults -no-user-config \
		-serial stdio ;;
	esac
	case $v in
	*-off) flags=-e ;;
	qemu*) set -- "$@" -kernel "$guest/Image" -initrd "$guest/initramfs.cpio.gz" \
		-append "$append" ;;
	esac
	case $v in
	qemu*-off) set -- "$@" -kernel "$bench/boot-off.bin" ;;
	esac
	"$bench/boot-clock" $flags -t "$timeout" "$label" -- "$@"
}

echo "boot-l1: warm-up (not counted): $variants"
ok=
for v in $variants; do
	while :; do
		label="warmup-$v"
		if run "$v"; then
			ok="$ok $v"
			break
		fi
		echo "boot-l1: variant $v does not work here (see above); dropped"
		case $v in
		qemu) v=qemu-kirq-v2 ;;
		qemu-off) v=qemu-kirq-v2-off ;;
		qemu-kirq-v2) v=qemu-kirq-v3 ;;
		qemu-kirq-v2-off) v=qemu-kirq-v3-off ;;
		*) break ;;
		esac
		case " $variants $ok " in *" $v "*) break ;; esac
		echo "boot-l1: trying $v instead (in-kernel GIC: a different comparison)"
	done
done
[ -n "$ok" ] || { echo "boot-l1: nothing works"; exit 1; }
echo "boot-l1: timed variants:$ok; $rounds rounds, order rotated each round"

order=$ok
r=0
while [ "$r" -lt "$rounds" ]; do
	for v in $order; do
		label=$v
		run "$v" || echo "boot-l1: $v failed in round $((r + 1))"
	done
	# Rotate, so no variant always runs first (or right after the same one).
	# shellcheck disable=SC2086 # word splitting wanted
	set -- $order
	first=$1
	shift
	order="$* $first"
	r=$((r + 1))
done
echo "boot-l1: done"
