/* SPDX-License-Identifier: MIT */
/*
 * A guest that powers off at once (PSCI SYSTEM_OFF over HVC, the conduit both
 * avmm and QEMU's virt board use under KVM): process start to exit with this
 * guest is a VMM's fixed start-up + tear-down cost (bench/boot-time.sh).
 * Raw binary, position independent: avmm enters it at 0x40080000, QEMU's
 * loader wherever it puts a raw -kernel image.
 */
	.text
	.globl	_start
_start:
	movz	x0, #0x0008
	movk	x0, #0x8400, lsl #16	/* PSCI_SYSTEM_OFF */
	hvc	#0
1:	wfi
	b	1b
