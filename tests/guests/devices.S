/* SPDX-License-Identifier: MIT */
/*
 * The device path end to end (configs/devices.ini: GICv2 at 0x08000000 and
 * 0x08010000, PL011 at 0x09000000, the virtual timer on PPI 27):
 *   1. prints DEVICES_LINE through the PL011, checking its TX flags first;
 *   2. programs the GIC distributor and CPU interface for INTID 27;
 *   3. arms the virtual timer with IRQs masked and watches the interrupt
 *      become pending in the GIC (GICD_ISPENDR0, GICC_HPPIR);
 *   4. unmasks IRQs and takes it through its own vector table: the handler
 *      acknowledges it (GICC_IAR), checks it is active (GICD_ISACTIVER0),
 *      stops the timer and ends it (GICC_EOIR);
 *   5. checks it is neither active nor pending afterwards and that the CPU
 *      interface has nothing left (IAR reads the spurious 1023).
 * Stops at BRK #0 (the `stop' label) with x0 = 0 when every check passed,
 * else a bitmask of the failed ones:
 *   bit  0 UARTFR: TXFE clear or TXFF/BUSY set before a write
 *   bit  1 GICD_ISENABLER0 does not read back bit 27
 *   bit  2 GICC_HPPIR not 1023 before the timer was armed
 *   bit  3 CNTV_CTL_EL0.ISTATUS not set within 1 s of arming
 *   bit  4 INTID 27 not pending in GICD_ISPENDR0 within 1 s
 *   bit  5 GICC_HPPIR not 27 while it is pending
 *   bit  6 the IRQ not taken within 1 s of unmasking
 *   bit  7 the IRQ taken more than once
 *   bit  8 GICC_IAR's interrupt ID not 27
 *   bit  9 INTID 27 not active in GICD_ISACTIVER0 inside the handler
 *   bit 10 INTID 27 still active after GICC_EOIR
 *   bit 11 INTID 27 still pending 1 s after the timer was stopped
 *   bit 12 GICC_IAR not 1023 (spurious) at the end
 * BRK #1/#2/#3 in the other vectors flag unexpected exceptions.
 *
 * Registers: x19 result, x20 IRQs taken, x21 IAR ID seen, x22 active bit seen
 * in the handler, x23 deadline, x26 GICD, x27 GICC, x28 PL011.  The handler
 * uses x9-x11 only, so it needs no stack.
 */
#define UARTDR		0x000
#define UARTFR		0x018
#define UARTCR		0x030
#define FR_BUSY		(1 << 3)
#define FR_TXFF		(1 << 5)
#define FR_TXFE		(1 << 7)

#define GICD_CTLR	0x000
#define GICD_ISENABLER0	0x100
#define GICD_ISPENDR0	0x200
#define GICD_ISACTIVER0	0x300
#define GICD_IPRIORITYR6 0x418		/* INTIDs 24-27 */
#define GICC_CTLR	0x00
#define GICC_PMR	0x04
#define GICC_IAR	0x0c
#define GICC_EOIR	0x10
#define GICC_HPPIR	0x18

#define VTIMER_INTID	27
#define SPURIOUS	1023

	.text
	.globl	_start
_start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	mov	x19, #0
	mov	x20, #0
	mov	x21, #SPURIOUS
	mov	x22, #0
	movz	x26, #0x0800, lsl #16
	movz	x27, #0x0801, lsl #16
	movz	x28, #0x0900, lsl #16

	/* 1. the PL011: enable it (UARTEN | TXE | RXE), print the line */
	mov	w0, #0x301
	str	w0, [x28, #UARTCR]
	adr	x1, line
1:	ldrb	w2, [x1], #1
	cbz	w2, 3f
	ldr	w3, [x28, #UARTFR]
	mov	w4, #(FR_TXFE | FR_TXFF | FR_BUSY)
	and	w3, w3, w4
	cmp	w3, #FR_TXFE
	b.eq	2f
	orr	x19, x19, #(1 << 0)
2:	str	w2, [x28, #UARTDR]
	b	1b
3:
	/* 2. the GIC: INTID 27 enabled at priority 0xa0, Group 0 (an IRQ) */
	str	wzr, [x26, #GICD_CTLR]
	mov	w0, #0xa0a0
	movk	w0, #0xa0a0, lsl #16
	str	w0, [x26, #GICD_IPRIORITYR6]
	mov	w0, #(1 << VTIMER_INTID)
	str	w0, [x26, #GICD_ISENABLER0]
	ldr	w0, [x26, #GICD_ISENABLER0]
	tbnz	w0, #VTIMER_INTID, 1f
	orr	x19, x19, #(1 << 1)
1:	mov	w0, #1
	str	w0, [x26, #GICD_CTLR]
	mov	w0, #0xf0
	str	w0, [x27, #GICC_PMR]
	mov	w0, #1
	str	w0, [x27, #GICC_CTLR]
	ldr	w0, [x27, #GICC_HPPIR]
	and	w0, w0, #0x3ff
	cmp	w0, #SPURIOUS
	b.eq	1f
	orr	x19, x19, #(1 << 2)
1:
	/* 3. the timer, 1/1024 s ahead; PSTATE.I is still set from reset */
	mrs	x0, cntfrq_el0
	lsr	x1, x0, #10
	msr	cntv_tval_el0, x1
	mov	x1, #1			/* ENABLE, IMASK clear */
	msr	cntv_ctl_el0, x1
	isb
	mrs	x23, cntvct_el0
	add	x23, x23, x0		/* every wait below ends within 1 s */
1:	mrs	x1, cntv_ctl_el0
	tbnz	x1, #2, 2f		/* ISTATUS */
	mrs	x1, cntvct_el0
	cmp	x1, x23
	b.lo	1b
	orr	x19, x19, #(1 << 3)
2:	ldr	w1, [x26, #GICD_ISPENDR0]
	tbnz	w1, #VTIMER_INTID, 3f
	mrs	x1, cntvct_el0
	cmp	x1, x23
	b.lo	2b
	orr	x19, x19, #(1 << 4)
3:	ldr	w1, [x27, #GICC_HPPIR]
	and	w1, w1, #0x3ff
	cmp	w1, #VTIMER_INTID
	b.eq	4f
	orr	x19, x19, #(1 << 5)
4:
	/* 4. take it */
	mrs	x23, cntvct_el0
	add	x23, x23, x0
	msr	daifclr, #2
	isb
1:	cbnz	x20, 2f
	mrs	x1, cntvct_el0
	cmp	x1, x23
	b.lo	1b
	orr	x19, x19, #(1 << 6)
2:	msr	daifset, #2
	isb
	cmp	x20, #1
	b.ls	1f
	orr	x19, x19, #(1 << 7)
1:	cmp	x21, #VTIMER_INTID
	b.eq	1f
	orr	x19, x19, #(1 << 8)
1:	cbnz	x22, 1f
	orr	x19, x19, #(1 << 9)
1:
	/* 5. all quiet again */
	ldr	w1, [x26, #GICD_ISACTIVER0]
	tbz	w1, #VTIMER_INTID, 1f
	orr	x19, x19, #(1 << 10)
1:	mrs	x23, cntvct_el0
	add	x23, x23, x0
2:	ldr	w1, [x26, #GICD_ISPENDR0]
	tbz	w1, #VTIMER_INTID, 3f
	mrs	x1, cntvct_el0
	cmp	x1, x23
	b.lo	2b
	orr	x19, x19, #(1 << 11)
3:	ldr	w1, [x27, #GICC_IAR]
	and	w1, w1, #0x3ff
	cmp	w1, #SPURIOUS
	b.eq	4f
	orr	x19, x19, #(1 << 12)
4:	mov	x0, x19
	.globl	stop
stop:	brk	#0

line:	.asciz	"devices: hello through the PL011\n"

	.balign	2048
vectors:				/* current EL, SP_EL0 */
	brk	#1
	.org	vectors + 0x080
	brk	#1
	.org	vectors + 0x100
	brk	#1
	.org	vectors + 0x180
	brk	#1
	.org	vectors + 0x200		/* current EL, SP_ELx */
	brk	#2
	.org	vectors + 0x280		/* IRQ */
	ldr	w9, [x27, #GICC_IAR]
	and	w10, w9, #0x3ff
	mov	x21, x10
	add	x20, x20, #1
	ldr	w11, [x26, #GICD_ISACTIVER0]
	ubfx	x22, x11, #VTIMER_INTID, #1
	msr	cntv_ctl_el0, xzr	/* drop the timer's line before the EOI */
	isb
	str	w9, [x27, #GICC_EOIR]
	eret
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
