/* SPDX-License-Identifier: MIT */
/*
 * Iterative Fibonacci: F(0) = 0, F(1) = 1, F(n) = F(n-1) + F(n-2).  Raw binary
 * loaded and entered at 0x40080000, EL1, MMU off; registers only.
 * Expected: avmm stops at BRK #0 (the `stop' label; exit status 0) with
 * x0 = F(10) = 55, x1 = F(11) = 89, x2 = 0 (iterations left).
 */
	.text
	.globl	_start
_start:
	mov	x0, #0		/* a = F(i) */
	mov	x1, #1		/* b = F(i + 1) */
	mov	x2, #10		/* n: iterations left */
1:	cbz	x2, 2f
	add	x3, x0, x1	/* (a, b) = (b, a + b) */
	mov	x0, x1
	mov	x1, x3
	sub	x2, x2, #1
	b	1b
	.globl	stop
2:
stop:	brk	#0
