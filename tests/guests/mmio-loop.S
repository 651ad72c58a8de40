/* SPDX-License-Identifier: MIT */
/*
 * MMIO round-trip benchmark guest (bench/): N 64-bit stores to a device
 * register at 0x0a000008, timed by the guest itself with CNTVCT_EL0 so the
 * same number means the same thing under avmm and under a bare KVM_RUN loop.
 * Raw binary at 0x40080000, EL1, MMU off.  Stops at BRK #0 with
 *   x0 = counter ticks for the N round trips, x2 = N, x3 = CNTFRQ_EL0.
 */
	.text
	.globl	_start
_start:
	movz	x1, #0x0a00, lsl #16	/* the device: 0x0a000000 */
	mov	x4, #4096		/* N */
	mov	x2, x4
	isb
	mrs	x5, cntvct_el0
1:	str	x4, [x1, #8]
	subs	x4, x4, #1
	b.ne	1b
	isb
	mrs	x6, cntvct_el0
	sub	x0, x6, x5
	mrs	x3, cntfrq_el0
	brk	#0
