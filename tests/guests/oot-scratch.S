/* SPDX-License-Identifier: MIT */
/*
 * Drives the out-of-tree example plugin (tests/oot-plugin/scratch.c, a page
 * of 64-bit registers that read back what was written; an 8-byte read of
 * register 0 returns the plugin's access count) at 0x0a000000, as
 * configs/oot-scratch.ini maps it.  Each check is one bit of x0 at the BRK #0
 * (the `stop' label); x0 = 0 when all passed:
 *   bit 0 a 64-bit write to register 1 does not read back
 *   bit 1 a 32-bit write at 0x10 does not read back as 32 bits
 *   bit 2 its top byte (0x13) does not read back as a byte (little-endian)
 *   bit 3 a 16-bit write at 0x1a does not land in bits 31:16 of register 3
 *   bit 4 the last register of the page (0xff8) does not read back
 *   bit 5 the first read of register 0, the guest's 10th access, does not
 *         read 10 (one handler call per guest access: a lost or doubled
 *         MMIO exit shows here)
 *   bit 6 the next read of register 0 does not count one more
 * The plugin logs its own count at exit ("s0: <n> accesses", with -v): 11
 * when the guest and the plugin agree.
 */

	.text
	.globl	_start
_start:
	movz	x1, #0x0a00, lsl #16
	mov	x0, #0

	ldr	x2, =0x0123456789abcdef
	str	x2, [x1, #0x08]			/* 1 */
	ldr	x3, [x1, #0x08]			/* 2 */
	cmp	x3, x2
	b.eq	1f
	orr	x0, x0, #(1 << 0)
1:	ldr	w2, =0xdeadbeef
	str	w2, [x1, #0x10]			/* 3 */
	ldr	w3, [x1, #0x10]			/* 4 */
	cmp	w3, w2
	b.eq	1f
	orr	x0, x0, #(1 << 1)
1:	ldrb	w3, [x1, #0x13]			/* 5 */
	cmp	w3, #0xde
	b.eq	1f
	orr	x0, x0, #(1 << 2)
1:	mov	w2, #0x5a5a
	strh	w2, [x1, #0x1a]			/* 6 */
	ldr	x3, [x1, #0x18]			/* 7 */
	mov	x2, #0x5a5a0000
	cmp	x3, x2
	b.eq	1f
	orr	x0, x0, #(1 << 3)
1:	add	x4, x1, #0xff8
	mvn	x2, x1
	str	x2, [x4]			/* 8 */
	ldr	x3, [x4]			/* 9 */
	cmp	x3, x2
	b.eq	1f
	orr	x0, x0, #(1 << 4)
1:	ldr	x3, [x1]			/* 10: reads the count, 10 */
	cmp	x3, #10
	b.eq	1f
	orr	x0, x0, #(1 << 5)
1:	ldr	x2, [x1]			/* 11 */
	add	x3, x3, #1
	cmp	x2, x3
	b.eq	1f
	orr	x0, x0, #(1 << 6)
1:
	.globl	stop
stop:	brk	#0
	.ltorg
