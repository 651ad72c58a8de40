/* SPDX-License-Identifier: MIT */
/*
 * The smallest guest: touch one register and stop.  Raw binary loaded and
 * entered at 0x40080000, EL1, MMU off; no stack, no memory accesses.
 * Expected: avmm stops at BRK #0 (the `stop' label; exit status 0) with x0 = 42.
 */
	.text
	.globl	_start
_start:
	mov	x0, #42
	.globl	stop
stop:	brk	#0		/* BRK #imm: avmm exits with status imm & 0xff */
