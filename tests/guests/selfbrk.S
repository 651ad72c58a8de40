/* SPDX-License-Identifier: MIT */
/*
 * A bare-metal program that uses BRK for itself (configs/selfbrk.ini:
 * format = raw, brk-exit = false).  It installs its own vector table, runs
 * BRK #0x42 and must take it there: EC 0x3c with the immediate in the ISS and
 * ELR = the BRK.  The handler steps over it.  Success is a PSCI SYSTEM_OFF
 * (avmm exits with status 0, and prints no "stopped at BRK" dump); any
 * failed check, or any other exception, parks the vCPU in a WFI loop at
 * `fail', so the run ends only by --timeout.  (No global labels: a branch
 * to one would keep its relocation, unresolved in the raw binary.)
 */
	.text
	.globl	_start
_start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	mov	x19, #0			/* BRKs taken */
brk_here:
	brk	#0x42
	cmp	x19, #1
	b.ne	fail
	ubfx	x9, x20, #26, #6	/* ESR_EL1.EC */
	cmp	x9, #0x3c
	b.ne	fail
	and	x9, x20, #0xffff	/* the immediate */
	cmp	x9, #0x42
	b.ne	fail
	adr	x9, brk_here
	cmp	x21, x9
	b.ne	fail
	movz	w0, #0x0008		/* PSCI SYSTEM_OFF: 0x84000008 */
	movk	w0, #0x8400, lsl #16
	hvc	#0
fail:	wfi
	b	fail

	.balign	2048
vectors:				/* only current EL, SP_ELx, synchronous is expected */
	b	fail
	.org	vectors + 0x080
	b	fail
	.org	vectors + 0x100
	b	fail
	.org	vectors + 0x180
	b	fail
	.org	vectors + 0x200
	b	sync_handler
	.org	vectors + 0x280
	b	fail
	.org	vectors + 0x300
	b	fail
	.org	vectors + 0x380
	b	fail
	.org	vectors + 0x400
	b	fail
	.org	vectors + 0x480
	b	fail
	.org	vectors + 0x500
	b	fail
	.org	vectors + 0x580
	b	fail
	.org	vectors + 0x600
	b	fail
	.org	vectors + 0x680
	b	fail
	.org	vectors + 0x700
	b	fail
	.org	vectors + 0x780
	b	fail
	.org	vectors + 0x800

sync_handler:
	mrs	x20, esr_el1
	mrs	x21, elr_el1
	add	x19, x19, #1
	add	x9, x21, #4
	msr	elr_el1, x9
	eret
