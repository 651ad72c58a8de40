/* SPDX-License-Identifier: MIT */
/*
 * A hostile virtio driver (configs/virtio-hostile.ini: GICv2, PL011 at
 * 0x09000000, a virtio-mmio rng at 0x0a000000 on SPI 16, 64 MiB of RAM from
 * 0x40000000).  Each case starts from a device reset and either breaks a rule
 * of virtio 1.2 and checks what the device does about it, or, at the end,
 * uses the device properly to show it recovered:
 *
 *   register cases (the transport, no ring)
 *     queuesel      QueueSel past the last queue: QueueNumMax and QueueReady
 *                   read 0 (4.2.2); queue 0's QueueNumMax is not 0
 *     queuenum      QueueNum 0, 3 (not a power of two) and 2 x QueueNumMax,
 *                   each then QueueReady = 1: QueueReady reads 0; QueueNum 4
 *                   then works (reads 1)
 *     rings-outside a descriptor area outside RAM: QueueReady reads 0
 *     narrow        8/16-bit and 64-bit accesses to control registers (4.2.2.2
 *                   allows only aligned 32-bit ones): reads return 0, the
 *                   8-bit write of Status is ignored.  Unaligned ones cannot
 *                   be made here: with the MMU off every access is to Device
 *                   memory, where they fault in the guest itself.
 *     feat-no-v1    FEATURES_OK without VERSION_1: reads back clear (6.1
 *                   lets the device refuse; a version 2 transport has no
 *                   legacy interface to fall back to)
 *     feat-unoffered  VERSION_1 plus bit 0 (rng offers no device feature):
 *                   FEATURES_OK reads back clear (2.2.2)
 *     feat-word2    VERSION_1 plus a bit of feature word 2 (none offered):
 *                   clear
 *     feat-ok       VERSION_1 | INDIRECT_DESC | EVENT_IDX: FEATURES_OK set
 *   ring cases (queue size 4): the driver error must set DEVICE_NEEDS_RESET
 *   (2.1.1) and raise a configuration-change interrupt (InterruptStatus bit 1,
 *   4.2.2), which the guest then acknowledges; no buffer may be used
 *     loop          0 -> 1 -> 0: a chain longer than the queue (2.7.5.2)
 *     ind-unneg     an INDIRECT descriptor, INDIRECT_DESC not negotiated
 *     ind-nested    an indirect table holding an INDIRECT descriptor
 *     ind-next      INDIRECT | NEXT (2.7.5.3.1)
 *     ind-big       an indirect table of 8 entries > queue size
 *     ind-len       an indirect table 24 bytes long (not whole descriptors)
 *     ind-loop      a loop inside the indirect table
 *     ind-outside   an indirect table outside RAM
 *     wrap          addr + len wraps past 2^64 onto RAM
 *     outside       a buffer outside RAM
 *     straddle      a buffer running past the end of RAM
 *     idx-jump      avail.idx = queue size + 1 with nothing used yet
 *     head-range    avail.ring[0] = 4: no such descriptor
 *     next-range    next = 4: no such descriptor
 *     order         a device-readable buffer after a writable one (2.7.4.2)
 *   good cases (the device recovers after each reset)
 *     good-chain    one chain of exactly queue-size (4) descriptors: 64 bytes
 *                   used, each buffer filled
 *     good-four     four chains at once (avail.idx = queue size): used.idx 4
 *     good-indirect an indirect table of 4 entries (negotiated): 64 bytes used
 *
 * Every case prints "virtio-hostile: NAME: ok", or ": FAIL (step N)" with the
 * step that failed (see below), on the PL011.  Stops at BRK #0 (the `stop'
 * label) with x0 = 0 when every case passed, else bit i set for case i
 * failed (in the order above).  BRK #1/#2/#3 in the vectors flag unexpected
 * exceptions.  Waits are bounded by the generic timer (2 s each).
 *
 * Steps: 1 Status not 0 after reset, 2 FEATURES_OK refused, 3 QueueNumMax too
 * small, 4 QueueReady not 1, 5 DRIVER_OK not set, 6 no DEVICE_NEEDS_RESET
 * within 2 s, 7 InterruptStatus without bit 1, 8 bit 1 still set after
 * InterruptACK, 9 used.idx moved, 10 used.idx did not reach its value within
 * 2 s, 11 used.len or id wrong, 12 a buffer left unfilled, 13 DEVICE_NEEDS_RESET
 * set by a good ring, 14 InterruptStatus without bit 0 after a good ring;
 * queuesel: 15/17 QueueNumMax of queue 1/0xffffffff not 0, 16 QueueReady of
 * queue 1 not 0, 18 queue 0's QueueNumMax 0; queuenum: 19/20/21 QueueNum
 * 0/3/2 x max made ready, 22 QueueNum 4 refused; 23 rings outside RAM made
 * ready; narrow: 24 the 32-bit MagicValue wrong, 25/26/27 the 8-bit, 16-bit,
 * 64-bit read not 0, 28 the 8-bit Status write took; features: 29 FEATURES_OK
 * not as it must be, 30 ACKNOWLEDGE | DRIVER lost.
 *
 * The rings live in guest RAM the device reads cacheably while this guest
 * (MMU off) accesses it as Device memory: every hand-over cleans and
 * invalidates the range to the point of coherency (sync_ram).
 *
 * Registers: x19 failed cases, x20 case index, x21 timer ticks per second,
 * x22-x24 the running case, x27 virtio-mmio, x28 PL011.  Helpers use x0-x15.
 */
#define UARTDR		0x000
#define UARTFR		0x018
#define UARTCR		0x030
#define FR_TXFF		(1 << 5)

/*
 * -DVIRTIO_BASE=...: another board's transport.  On QEMU's virt board (7.2:
 * -global virtio-mmio.force-legacy=false -device virtio-rng-device, which
 * sits at 0x0a003e00; load the guest above QEMU's DTB) the good cases pass
 * and 7 of the 15 ring cases: QEMU leaves the others unchecked.
 */
#ifndef VIRTIO_BASE
#define VIRTIO_BASE	0x0a000000
#endif
#define MAGIC		0x000
#define VERSION		0x004
#define DRV_FEATURES	0x020
#define DRV_FEATURES_SEL 0x024
#define QUEUE_SEL	0x030
#define QUEUE_NUM_MAX	0x034
#define QUEUE_NUM	0x038
#define QUEUE_READY	0x044
#define QUEUE_NOTIFY	0x050
#define INT_STATUS	0x060
#define INT_ACK		0x064
#define STATUS		0x070
#define QUEUE_DESC_LO	0x080
#define QUEUE_DESC_HI	0x084
#define QUEUE_DRIVER_LO	0x090
#define QUEUE_DRIVER_HI	0x094
#define QUEUE_DEVICE_LO	0x0a0
#define QUEUE_DEVICE_HI	0x0a4

#define ST_ACK		1
#define ST_DRIVER	2
#define ST_DRIVER_OK	4
#define ST_FEATURES_OK	8
#define ST_NEEDS_RESET	64

#define F_INDIRECT	0x10000000	/* word 0, bit 28 */
#define F_EVENT_IDX	0x20000000	/* word 0, bit 29 */
#define F_VERSION_1	1		/* word 1: bit 32 */

#define D_NEXT		1
#define D_WRITE		2
#define D_INDIRECT	4

#define RAM_END		0x44000000	/* 64 MiB from 0x40000000 */
#define OUTSIDE		0x30000000	/* below RAM, no device there */
#define QN		4		/* the queue size of every ring case */
#define RING		0x40200000	/* everything the device sees: */
#define DESC		0x40200000	/*   descriptor table, QN entries */
#define AVAIL		0x40201000
#define USED		0x40202000
#define IND		0x40203000	/*   indirect tables */
#define IND2		0x40203800
#define BUF		0x40204000	/*   buffers, 16 bytes each */
#define RING_LEN	0x4400
#define STACK_TOP	0x40300000

	.text
	.globl	_start
_start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	mov	x0, #STACK_TOP
	mov	sp, x0
	mov	x19, #0
	mov	x20, #0
	mrs	x21, cntfrq_el0
	ldr	x27, =VIRTIO_BASE
	movz	x28, #0x0900, lsl #16
	mov	w0, #0x301			/* UARTEN | TXE | RXE */
	str	w0, [x28, #UARTCR]

	bl	case_queuesel
	bl	case_queuenum
	bl	case_rings_outside
	bl	case_narrow
	adr	x0, n_feat_no_v1
	mov	x1, #0				/* word 0 */
	mov	x2, #0				/* word 1: no VERSION_1 */
	mov	x3, #0				/* word 2 */
	mov	x4, #0				/* want FEATURES_OK clear */
	bl	case_features
	adr	x0, n_feat_unoffered
	mov	x1, #1
	mov	x2, #F_VERSION_1
	mov	x3, #0
	mov	x4, #0
	bl	case_features
	adr	x0, n_feat_word2
	mov	x1, #0
	mov	x2, #F_VERSION_1
	mov	x3, #1
	mov	x4, #0
	bl	case_features
	adr	x0, n_feat_ok
	ldr	x1, =F_INDIRECT|F_EVENT_IDX
	mov	x2, #F_VERSION_1
	mov	x3, #0
	mov	x4, #1
	bl	case_features

	.macro	bad name, fn, feat
	adr	x0, \name
	adr	x1, \fn
	mov	x2, #\feat
	bl	bad_case
	.endm
	bad	n_loop, b_loop, 0
	bad	n_ind_unneg, b_ind_unneg, 0
	bad	n_ind_nested, b_ind_nested, F_INDIRECT
	bad	n_ind_next, b_ind_next, F_INDIRECT
	bad	n_ind_big, b_ind_big, F_INDIRECT
	bad	n_ind_len, b_ind_len, F_INDIRECT
	bad	n_ind_loop, b_ind_loop, F_INDIRECT
	bad	n_ind_outside, b_ind_outside, F_INDIRECT
	bad	n_wrap, b_wrap, 0
	bad	n_outside, b_outside, 0
	bad	n_straddle, b_straddle, 0
	bad	n_idx_jump, b_idx_jump, 0
	bad	n_head_range, b_head_range, 0
	bad	n_next_range, b_next_range, 0
	bad	n_order, b_order, 0

	bl	case_good_chain
	bl	case_good_four
	bl	case_good_indirect

	adr	x0, s_done
	bl	puts
	mov	x0, x19
	.globl	stop
stop:	brk	#0

/* ---- output -------------------------------------------------------------- */

/* puts(x0 = NUL-terminated string) */
puts:
1:	ldrb	w1, [x0], #1
	cbz	w1, 3f
2:	ldr	w2, [x28, #UARTFR]
	tbnz	w2, #5, 2b			/* TXFF */
	str	w1, [x28, #UARTDR]
	b	1b
3:	ret

/* report(x0 = case name, w1 = 0 or the failed step): print, count, record */
report:
	stp	x29, x30, [sp, #-32]!
	str	x1, [sp, #16]
	mov	x3, x0
	adr	x0, s_prefix
	bl	puts
	mov	x0, x3
	bl	puts
	ldr	x1, [sp, #16]
	cbnz	w1, 1f
	adr	x0, s_ok
	bl	puts
	b	2f
1:	mov	x2, #1
	lsl	x2, x2, x20
	orr	x19, x19, x2
	adr	x0, s_fail
	bl	puts
	ldr	x1, [sp, #16]			/* the step, two decimal digits */
	mov	w2, #10
	udiv	w3, w1, w2
	msub	w4, w3, w2, w1
	add	w3, w3, #'0'
	add	w4, w4, #'0'
	adr	x0, s_step
	strb	w3, [x0]			/* s_step is in the image: RAM */
	strb	w4, [x0, #1]
	bl	puts
2:	add	x20, x20, #1
	ldp	x29, x30, [sp], #32
	ret

/* ---- memory ---------------------------------------------------------------- */

/* sync_ram(x0 = start, x1 = length): DC CIVAC over the range, then DSB */
sync_ram:
	mrs	x2, ctr_el0
	ubfx	x2, x2, #16, #4			/* DminLine: log2 of words */
	mov	x3, #4
	lsl	x3, x3, x2
	sub	x4, x3, #1
	add	x1, x0, x1
	bic	x0, x0, x4
1:	dc	civac, x0
	add	x0, x0, x3
	cmp	x0, x1
	b.lo	1b
	dsb	sy
	ret

/* ring_clear: zero every area the device sees */
ring_clear:
	stp	x29, x30, [sp, #-16]!
	bl	sync_ram_ring			/* no dirty line may land on the zeroes */
	mov	x0, #RING
	mov	x1, #RING_LEN
1:	stp	xzr, xzr, [x0], #16
	subs	x1, x1, #16
	b.ne	1b
	bl	sync_ram_ring
	ldp	x29, x30, [sp], #16
	ret

sync_ram_ring:
	mov	x0, #RING
	mov	x1, #RING_LEN
	b	sync_ram

/* desc(x0 = table, w1 = index, x2 = addr, w3 = len, w4 = flags, w5 = next) */
desc:
	add	x0, x0, w1, uxtw #4
	str	x2, [x0]
	str	w3, [x0, #8]
	strh	w4, [x0, #12]
	strh	w5, [x0, #14]
	ret

/* avail(w0 = slot, w1 = head) */
avail:
	ldr	x2, =AVAIL+4
	add	x2, x2, w0, uxtw #1
	strh	w1, [x2]
	ret

/* avail_idx(w0) */
avail_idx:
	ldr	x2, =AVAIL
	strh	w0, [x2, #2]
	ret

/* used_idx: w0 = used.idx as the device last wrote it */
used_idx:
	stp	x29, x30, [sp, #-16]!
	ldr	x0, =USED
	mov	x1, #16
	bl	sync_ram
	ldr	x0, =USED
	ldrh	w0, [x0, #2]
	ldp	x29, x30, [sp], #16
	ret

/* x9 = the counter value 2 s from now */
deadline:
	mrs	x9, cntvct_el0
	add	x9, x9, x21, lsl #1
	ret

/* ---- the device ------------------------------------------------------------- */

/* vreset: Status = 0; w0 = 0, or step 1 when Status does not read back 0 */
vreset:
	str	wzr, [x27, #STATUS]
	ldr	w0, [x27, #STATUS]
	cbz	w0, 1f
	mov	w0, #1
1:	ret

/*
 * negotiate(w0 = feature word 0; word 1 is VERSION_1): reset, ACKNOWLEDGE,
 * DRIVER, features, FEATURES_OK.  w0 = 0 or the failed step.
 */
negotiate:
	stp	x29, x30, [sp, #-32]!
	str	x0, [sp, #16]
	bl	vreset
	cbnz	w0, 1f
	mov	w1, #ST_ACK
	str	w1, [x27, #STATUS]
	mov	w1, #(ST_ACK | ST_DRIVER)
	str	w1, [x27, #STATUS]
	ldr	x0, [sp, #16]
	str	wzr, [x27, #DRV_FEATURES_SEL]
	str	w0, [x27, #DRV_FEATURES]
	mov	w1, #1
	str	w1, [x27, #DRV_FEATURES_SEL]
	mov	w1, #F_VERSION_1
	str	w1, [x27, #DRV_FEATURES]
	mov	w1, #(ST_ACK | ST_DRIVER | ST_FEATURES_OK)
	str	w1, [x27, #STATUS]
	ldr	w1, [x27, #STATUS]
	mov	w0, #0
	tbnz	w1, #3, 1f
	mov	w0, #2
1:	ldp	x29, x30, [sp], #32
	ret

/* queue_layout: queue 0's areas (DESC, AVAIL, USED) */
queue_layout:
	str	wzr, [x27, #QUEUE_SEL]
	mov	w0, #DESC
	str	w0, [x27, #QUEUE_DESC_LO]
	str	wzr, [x27, #QUEUE_DESC_HI]
	ldr	w0, =AVAIL
	str	w0, [x27, #QUEUE_DRIVER_LO]
	str	wzr, [x27, #QUEUE_DRIVER_HI]
	ldr	w0, =USED
	str	w0, [x27, #QUEUE_DEVICE_LO]
	str	wzr, [x27, #QUEUE_DEVICE_HI]
	ret

/* queue_setup: queue 0, QN entries, ready; w0 = 0 or the failed step */
queue_setup:
	stp	x29, x30, [sp, #-16]!
	bl	queue_layout
	ldr	w0, [x27, #QUEUE_NUM_MAX]
	cmp	w0, #QN
	mov	w0, #3
	b.lo	1f
	mov	w0, #QN
	str	w0, [x27, #QUEUE_NUM]
	mov	w0, #1
	str	w0, [x27, #QUEUE_READY]
	ldr	w1, [x27, #QUEUE_READY]
	mov	w0, #0
	cmp	w1, #1
	b.eq	1f
	mov	w0, #4
1:	ldp	x29, x30, [sp], #16
	ret

/* driver_ok: w0 = 0, or step 5 when Status does not read back with DRIVER_OK */
driver_ok:
	mov	w0, #(ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK)
	str	w0, [x27, #STATUS]
	ldr	w1, [x27, #STATUS]
	cmp	w1, w0
	mov	w0, #0
	b.eq	1f
	mov	w0, #5
1:	ret

/* start(w0 = feature word 0): a live queue 0 over cleared rings; w0 = 0 or step */
start:
	stp	x29, x30, [sp, #-32]!
	str	x0, [sp, #16]
	bl	ring_clear
	ldr	x0, [sp, #16]
	bl	negotiate
	cbnz	w0, 1f
	bl	queue_setup
	cbnz	w0, 1f
	bl	driver_ok
1:	ldp	x29, x30, [sp], #32
	ret

/* notify: hand the rings over, write QueueNotify (queue 0) */
notify:
	stp	x29, x30, [sp, #-16]!
	bl	sync_ram_ring
	str	wzr, [x27, #QUEUE_NOTIFY]
	ldp	x29, x30, [sp], #16
	ret

/* ---- register cases ------------------------------------------------------------ */

case_queuesel:
	stp	x29, x30, [sp, #-16]!
	bl	vreset
	cbnz	w0, 9f
	mov	w0, #1				/* rng has one queue */
	str	w0, [x27, #QUEUE_SEL]
	ldr	w1, [x27, #QUEUE_NUM_MAX]
	mov	w0, #15
	cbnz	w1, 9f
	ldr	w1, [x27, #QUEUE_READY]
	mov	w0, #16
	cbnz	w1, 9f
	mov	w0, #0xffffffff
	str	w0, [x27, #QUEUE_SEL]
	ldr	w1, [x27, #QUEUE_NUM_MAX]
	mov	w0, #17
	cbnz	w1, 9f
	str	wzr, [x27, #QUEUE_SEL]
	ldr	w1, [x27, #QUEUE_NUM_MAX]
	mov	w0, #18
	cbz	w1, 9f
	mov	w0, #0
9:	mov	w1, w0
	adr	x0, n_queuesel
	bl	report
	ldp	x29, x30, [sp], #16
	ret

/* try_num(w0 = QueueNum): QueueReady = 1; w0 = what QueueReady reads */
try_num:
	str	w0, [x27, #QUEUE_NUM]
	mov	w0, #1
	str	w0, [x27, #QUEUE_READY]
	ldr	w0, [x27, #QUEUE_READY]
	ret

case_queuenum:
	stp	x29, x30, [sp, #-32]!
	bl	ring_clear
	mov	w0, #0
	bl	negotiate
	cbnz	w0, 9f
	bl	queue_layout
	ldr	w0, [x27, #QUEUE_NUM_MAX]
	str	x0, [sp, #16]
	mov	w0, #0
	bl	try_num
	cbz	w0, 1f
	mov	w0, #19
	b	9f
1:	mov	w0, #3
	bl	try_num
	cbz	w0, 1f
	mov	w0, #20
	b	9f
1:	ldr	x0, [sp, #16]
	lsl	w0, w0, #1			/* a power of two above QueueNumMax */
	bl	try_num
	cbz	w0, 1f
	mov	w0, #21
	b	9f
1:	mov	w0, #QN
	bl	try_num
	cmp	w0, #1
	mov	w0, #22
	b.ne	9f
	mov	w0, #0
9:	mov	w1, w0
	adr	x0, n_queuenum
	bl	report
	ldp	x29, x30, [sp], #32
	ret

case_rings_outside:
	stp	x29, x30, [sp, #-16]!
	bl	ring_clear
	mov	w0, #0
	bl	negotiate
	cbnz	w0, 9f
	bl	queue_layout
	mov	w0, #OUTSIDE
	str	w0, [x27, #QUEUE_DESC_LO]
	mov	w0, #QN
	bl	try_num
	mov	w1, w0
	mov	w0, #23
	cbnz	w1, 9f
	mov	w0, #0
9:	mov	w1, w0
	adr	x0, n_rings_outside
	bl	report
	ldp	x29, x30, [sp], #16
	ret

case_narrow:
	stp	x29, x30, [sp, #-16]!
	bl	vreset
	cbnz	w0, 9f
	ldr	w1, [x27, #MAGIC]		/* the 32-bit read works: "virt" */
	movz	w2, #0x6976
	movk	w2, #0x7472, lsl #16
	mov	w0, #24
	cmp	w1, w2
	b.ne	9f
	ldrb	w1, [x27, #MAGIC]
	mov	w0, #25
	cbnz	w1, 9f
	ldrh	w1, [x27, #VERSION]
	mov	w0, #26
	cbnz	w1, 9f
	ldr	x1, [x27, #MAGIC]
	mov	w0, #27
	cbnz	x1, 9f
	mov	w1, #ST_ACK
	strb	w1, [x27, #STATUS]
	ldr	w1, [x27, #STATUS]
	mov	w0, #28
	cbnz	w1, 9f
	mov	w0, #0
9:	mov	w1, w0
	adr	x0, n_narrow
	bl	report
	ldp	x29, x30, [sp], #16
	ret

/*
 * case_features(x0 = name, w1/w2/w3 = driver feature words 0/1/2,
 * w4 = 1 when FEATURES_OK must stick, 0 when it must read back clear)
 */
case_features:
	stp	x29, x30, [sp, #-16]!
	mov	x22, x0
	bl	vreset
	cbnz	w0, 9f
	mov	w0, #ST_ACK
	str	w0, [x27, #STATUS]
	mov	w0, #(ST_ACK | ST_DRIVER)
	str	w0, [x27, #STATUS]
	str	wzr, [x27, #DRV_FEATURES_SEL]
	str	w1, [x27, #DRV_FEATURES]
	mov	w0, #1
	str	w0, [x27, #DRV_FEATURES_SEL]
	str	w2, [x27, #DRV_FEATURES]
	mov	w0, #2
	str	w0, [x27, #DRV_FEATURES_SEL]
	str	w3, [x27, #DRV_FEATURES]
	mov	w0, #(ST_ACK | ST_DRIVER | ST_FEATURES_OK)
	str	w0, [x27, #STATUS]
	ldr	w1, [x27, #STATUS]
	and	w5, w1, #ST_FEATURES_OK
	cmp	w4, #0
	cset	w4, ne
	lsl	w4, w4, #3
	mov	w0, #29				/* FEATURES_OK not as it must be */
	cmp	w4, w5
	b.ne	9f
	and	w1, w1, #~ST_FEATURES_OK
	mov	w0, #30				/* ACKNOWLEDGE | DRIVER lost */
	cmp	w1, #(ST_ACK | ST_DRIVER)
	b.ne	9f
	mov	w0, #0
9:	mov	w1, w0
	mov	x0, x22
	bl	report
	ldp	x29, x30, [sp], #16
	ret

/* ---- ring cases --------------------------------------------------------------- */

/*
 * bad_case(x0 = name, x1 = builder, w2 = feature word 0): a live queue, the
 * builder's broken ring, a notification; then DEVICE_NEEDS_RESET, the
 * configuration-change interrupt (acknowledged) and no used buffer.
 */
bad_case:
	stp	x29, x30, [sp, #-16]!
	mov	x22, x0
	mov	x23, x1
	mov	w0, w2
	bl	start
	cbnz	w0, 9f
	blr	x23
	bl	notify
	bl	deadline
1:	ldr	w1, [x27, #STATUS]
	tbnz	w1, #6, 2f			/* DEVICE_NEEDS_RESET */
	mrs	x1, cntvct_el0
	cmp	x1, x9
	b.lo	1b
	mov	w0, #6
	b	9f
2:	ldr	w1, [x27, #INT_STATUS]
	mov	w0, #7
	tbz	w1, #1, 9f
	mov	w1, #2
	str	w1, [x27, #INT_ACK]
	ldr	w1, [x27, #INT_STATUS]
	mov	w0, #8
	tbnz	w1, #1, 9f
	bl	used_idx
	mov	w1, w0
	mov	w0, #9
	cbnz	w1, 9f
	mov	w0, #0
9:	mov	w1, w0
	mov	x0, x22
	bl	report
	ldp	x29, x30, [sp], #16
	ret

	/* The builders: descriptors and avail ring, x0-x15 only, leaf calls. */
	.macro	dsc table, index, addr, len, flags, next
	ldr	x0, =\table
	mov	w1, #\index
	ldr	x2, =\addr
	ldr	w3, =\len
	mov	w4, #\flags
	mov	w5, #\next
	bl	desc
	.endm
	.macro	head slot, hd, idx
	mov	w0, #\slot
	mov	w1, #\hd
	bl	avail
	mov	w0, #\idx
	bl	avail_idx
	.endm
	.macro	builder name
\name:
	stp	x29, x30, [sp, #-16]!
	.endm
	.macro	end_builder
	ldp	x29, x30, [sp], #16
	ret
	.endm

	builder	b_loop
	dsc	DESC, 0, BUF, 16, D_WRITE|D_NEXT, 1
	dsc	DESC, 1, BUF+16, 16, D_WRITE|D_NEXT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_unneg
	dsc	IND, 0, BUF, 16, D_WRITE, 0
	dsc	DESC, 0, IND, 16, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_nested
	dsc	IND2, 0, BUF, 16, D_WRITE, 0
	dsc	IND, 0, IND2, 16, D_INDIRECT, 0
	dsc	DESC, 0, IND, 16, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_next
	dsc	IND, 0, BUF, 16, D_WRITE, 0
	dsc	DESC, 0, IND, 16, D_INDIRECT|D_NEXT, 1
	dsc	DESC, 1, BUF+16, 16, D_WRITE, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_big
	.irp	i, 0, 1, 2, 3, 4, 5, 6
	dsc	IND, \i, BUF+16*\i, 16, D_WRITE|D_NEXT, \i+1
	.endr
	dsc	IND, 7, BUF+16*7, 16, D_WRITE, 0
	dsc	DESC, 0, IND, 16*8, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_len
	dsc	IND, 0, BUF, 16, D_WRITE, 0
	dsc	DESC, 0, IND, 24, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_loop
	dsc	IND, 0, BUF, 16, D_WRITE|D_NEXT, 1
	dsc	IND, 1, BUF+16, 16, D_WRITE|D_NEXT, 0
	dsc	DESC, 0, IND, 32, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_ind_outside
	dsc	DESC, 0, OUTSIDE, 16, D_INDIRECT, 0
	head	0, 0, 1
	end_builder

	builder	b_wrap				/* 2^64 - 256 + (1 GiB + 272) = RAM + 16 */
	dsc	DESC, 0, 0xffffffffffffff00, 0x40000110, D_WRITE, 0
	head	0, 0, 1
	end_builder

	builder	b_outside
	dsc	DESC, 0, OUTSIDE, 16, D_WRITE, 0
	head	0, 0, 1
	end_builder

	builder	b_straddle
	dsc	DESC, 0, RAM_END-8, 16, D_WRITE, 0
	head	0, 0, 1
	end_builder

	builder	b_idx_jump			/* four good chains, but idx says five */
	.irp	i, 0, 1, 2, 3
	dsc	DESC, \i, BUF+16*\i, 16, D_WRITE, 0
	head	\i, \i, QN+1
	.endr
	end_builder

	builder	b_head_range
	dsc	DESC, 0, BUF, 16, D_WRITE, 0
	head	0, QN, 1
	end_builder

	builder	b_next_range
	dsc	DESC, 0, BUF, 16, D_WRITE|D_NEXT, QN
	head	0, 0, 1
	end_builder

	builder	b_order
	dsc	DESC, 0, BUF, 16, D_WRITE|D_NEXT, 1
	dsc	DESC, 1, BUF+16, 16, 0, 0
	head	0, 0, 1
	end_builder

/*
 * good_wait(w0 = used.idx to reach): w0 = 0 or the failed step; checks
 * there is no DEVICE_NEEDS_RESET and acknowledges the used-buffer interrupt.
 */
good_wait:
	stp	x29, x30, [sp, #-32]!
	str	x0, [sp, #16]
	bl	notify
	bl	deadline
1:	bl	used_idx
	ldr	x1, [sp, #16]
	cmp	w0, w1
	b.eq	2f
	mrs	x1, cntvct_el0
	cmp	x1, x9
	b.lo	1b
	mov	w0, #10
	b	9f
2:	ldr	w1, [x27, #STATUS]
	mov	w0, #13
	tbnz	w1, #6, 9f
	ldr	w1, [x27, #INT_STATUS]
	mov	w0, #14
	tbz	w1, #0, 9f
	mov	w1, #1
	str	w1, [x27, #INT_ACK]
	mov	x0, #RING
	mov	x1, #RING_LEN
	bl	sync_ram			/* the device's writes, to read below */
	mov	w0, #0
9:	ldp	x29, x30, [sp], #32
	ret

/* used_elem(w0 = slot, w1 = id, w2 = len): w0 = 0, or step 11 on a mismatch */
used_elem:
	ldr	x3, =USED+4
	add	x3, x3, w0, uxtw #3
	ldr	w4, [x3]			/* Device memory: no pair */
	ldr	w5, [x3, #4]
	mov	w0, #11
	cmp	w4, w1
	b.ne	1f
	cmp	w5, w2
	b.ne	1f
	mov	w0, #0
1:	ret

/* filled(w0 = count of 16-byte buffers from BUF): w0 = 0, or step 12 if one is all zero */
filled:
	ldr	x3, =BUF
1:	ldr	x4, [x3], #8
	ldr	x5, [x3], #8
	orr	x4, x4, x5
	cbz	x4, 2f
	subs	w0, w0, #1
	b.ne	1b
	ret
2:	mov	w0, #12
	ret

case_good_chain:
	stp	x29, x30, [sp, #-16]!
	mov	w0, #0
	bl	start
	cbnz	w0, 9f
	.irp	i, 0, 1, 2
	dsc	DESC, \i, BUF+16*\i, 16, D_WRITE|D_NEXT, \i+1
	.endr
	dsc	DESC, 3, BUF+16*3, 16, D_WRITE, 0
	head	0, 0, 1
	mov	w0, #1
	bl	good_wait
	cbnz	w0, 9f
	mov	w0, #0
	mov	w1, #0
	mov	w2, #16 * QN
	bl	used_elem
	cbnz	w0, 9f
	mov	w0, #QN
	bl	filled
9:	mov	w1, w0
	adr	x0, n_good_chain
	bl	report
	ldp	x29, x30, [sp], #16
	ret

case_good_four:
	stp	x29, x30, [sp, #-16]!
	mov	w0, #0
	bl	start
	cbnz	w0, 9f
	.irp	i, 0, 1, 2, 3
	dsc	DESC, \i, BUF+16*\i, 16, D_WRITE, 0
	head	\i, \i, QN
	.endr
	mov	w0, #QN
	bl	good_wait
	cbnz	w0, 9f
	.irp	i, 0, 1, 2, 3			/* rng completes in order */
	mov	w0, #\i
	mov	w1, #\i
	mov	w2, #16
	bl	used_elem
	cbnz	w0, 9f
	.endr
	mov	w0, #QN
	bl	filled
9:	mov	w1, w0
	adr	x0, n_good_four
	bl	report
	ldp	x29, x30, [sp], #16
	ret

case_good_indirect:
	stp	x29, x30, [sp, #-16]!
	mov	w0, #F_INDIRECT
	bl	start
	cbnz	w0, 9f
	.irp	i, 0, 1, 2
	dsc	IND, \i, BUF+16*\i, 16, D_WRITE|D_NEXT, \i+1
	.endr
	dsc	IND, 3, BUF+16*3, 16, D_WRITE, 0
	dsc	DESC, 0, IND, 16*QN, D_INDIRECT, 0
	head	0, 0, 1
	mov	w0, #1
	bl	good_wait
	cbnz	w0, 9f
	mov	w0, #0
	mov	w1, #0
	mov	w2, #16 * QN
	bl	used_elem
	cbnz	w0, 9f
	mov	w0, #QN
	bl	filled
9:	mov	w1, w0
	adr	x0, n_good_indirect
	bl	report
	ldp	x29, x30, [sp], #16
	ret

	.ltorg

/* ---- strings ------------------------------------------------------------------ */

s_prefix:	.asciz	"virtio-hostile: "
s_ok:		.asciz	": ok\n"
s_fail:		.asciz	": FAIL (step "
s_step:		.asciz	"00)\n"
s_done:		.asciz	"virtio-hostile: done\n"
n_queuesel:	.asciz	"queuesel"
n_queuenum:	.asciz	"queuenum"
n_rings_outside: .asciz	"rings-outside"
n_narrow:	.asciz	"narrow"
n_feat_no_v1:	.asciz	"feat-no-v1"
n_feat_unoffered: .asciz "feat-unoffered"
n_feat_word2:	.asciz	"feat-word2"
n_feat_ok:	.asciz	"feat-ok"
n_loop:		.asciz	"loop"
n_ind_unneg:	.asciz	"ind-unneg"
n_ind_nested:	.asciz	"ind-nested"
n_ind_next:	.asciz	"ind-next"
n_ind_big:	.asciz	"ind-big"
n_ind_len:	.asciz	"ind-len"
n_ind_loop:	.asciz	"ind-loop"
n_ind_outside:	.asciz	"ind-outside"
n_wrap:		.asciz	"wrap"
n_outside:	.asciz	"outside"
n_straddle:	.asciz	"straddle"
n_idx_jump:	.asciz	"idx-jump"
n_head_range:	.asciz	"head-range"
n_next_range:	.asciz	"next-range"
n_order:	.asciz	"order"
n_good_chain:	.asciz	"good-chain"
n_good_four:	.asciz	"good-four"
n_good_indirect: .asciz	"good-indirect"

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
