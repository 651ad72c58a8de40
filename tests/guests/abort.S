/* SPDX-License-Identifier: MIT */
/*
 * A guest that misbehaves on purpose and checks it gets architectural
 * behaviour, not a dead VMM (configs/abort.ini: GIC + PL011 at 0x09000000):
 *   1. a load from 0x0f000000, where nothing is mapped (KVM decodes it);
 *   2. an LDP from 0x0f000010: no instruction syndrome (ISV=0), decoded by
 *      avmm (core/emul.c) on both hosts, and nothing there either;
 *   3. an LDP of two words from the PL011's PrimeCell ID registers (ISV=0
 *      again), which must simply work: 0x0d, 0xf0.
 * 1 and 2 must arrive as synchronous external data aborts at EL1 (EC 0x25,
 * DFSC 0x10) with FAR = the address and ELR = the faulting instruction; the
 * handler records them and skips the instruction.  Stops at BRK #0 (`stop')
 * with x0 = 0 when every check passed, else a bitmask of the failed checks:
 *   bit 0/3 EC, 1/4 FAR, 2/5 ELR, 7/8 DFSC (first/second abort), 6 count,
 *   9 the values the LDP from the PL011 read.
 * BRK #1/#2/#3 in the other vectors flag unexpected exceptions.
 */
	.text
	.globl	_start
_start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	mov	x19, #0			/* aborts taken */
	movz	x1, #0x0f00, lsl #16
fault1:	ldr	x2, [x1]
	add	x1, x1, #0x10
fault2:	ldp	x2, x3, [x1]
	movz	x1, #0x0900, lsl #16
	add	x1, x1, #0xff0		/* UARTPCellID0, UARTPCellID1 */
	ldp	w4, w5, [x1]

	mov	x0, #0
	cmp	x4, #0x0d
	b.ne	2f
	cmp	x5, #0xf0
	b.eq	1f
2:	orr	x0, x0, #(1 << 9)
1:
	cmp	x19, #2
	b.eq	1f
	orr	x0, x0, #(1 << 6)
1:	ubfx	x9, x20, #26, #6
	cmp	x9, #0x25
	b.eq	1f
	orr	x0, x0, #(1 << 0)
1:	movz	x9, #0x0f00, lsl #16
	cmp	x21, x9
	b.eq	1f
	orr	x0, x0, #(1 << 1)
1:	adr	x9, fault1
	cmp	x24, x9
	b.eq	1f
	orr	x0, x0, #(1 << 2)
1:	and	x9, x20, #0x3f
	cmp	x9, #0x10
	b.eq	1f
	orr	x0, x0, #(1 << 7)
1:	ubfx	x9, x22, #26, #6
	cmp	x9, #0x25
	b.eq	1f
	orr	x0, x0, #(1 << 3)
1:	movz	x9, #0x0f00, lsl #16
	add	x9, x9, #0x10
	cmp	x23, x9
	b.eq	1f
	orr	x0, x0, #(1 << 4)
1:	adr	x9, fault2
	cmp	x25, x9
	b.eq	1f
	orr	x0, x0, #(1 << 5)
1:	and	x9, x22, #0x3f
	cmp	x9, #0x10
	b.eq	1f
	orr	x0, x0, #(1 << 8)
1:
	.globl	stop
stop:	brk	#0

	.balign	2048
vectors:				/* current EL, SP_EL0 */
	brk	#1
	.org	vectors + 0x080
	brk	#1
	.org	vectors + 0x100
	brk	#1
	.org	vectors + 0x180
	brk	#1
	.org	vectors + 0x200		/* current EL, SP_ELx: synchronous */
	b	sync_handler
	.org	vectors + 0x280
	brk	#2
	.org	vectors + 0x300
	brk	#2
	.org	vectors + 0x380
	brk	#2
	.org	vectors + 0x400		/* lower EL */
	brk	#3
	.org	vectors + 0x480
	brk	#3
	.org	vectors + 0x500
	brk	#3
	.org	vectors + 0x580
	brk	#3
	.org	vectors + 0x600
	brk	#3
	.org	vectors + 0x680
	brk	#3
	.org	vectors + 0x700
	brk	#3
	.org	vectors + 0x780
	brk	#3
	.org	vectors + 0x800

sync_handler:
	mrs	x9, esr_el1
	mrs	x10, far_el1
	mrs	x11, elr_el1
	cbnz	x19, 1f
	mov	x20, x9
	mov	x21, x10
	mov	x24, x11
	b	2f
1:	mov	x22, x9
	mov	x23, x10
	mov	x25, x11
2:	add	x19, x19, #1
	add	x11, x11, #4
	msr	elr_el1, x11
	eret
