/* SPDX-License-Identifier: MIT */
/*
 * Split-virtqueue tests: rings are built byte by byte in the fake host's
 * guest RAM, following the virtio 1.2 layout (section 2.7) spelled out here
 * independently of virtqueue.c, and the device side is driven through the
 * host accessors.  One test per driver rule the queue enforces, then the
 * normal paths, the 16-bit index wrap and the event-suppression arithmetic.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"
#include "virtqueue.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull /* 1 MiB */
#define QSIZE 8u
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define BUF (RAM_BASE + 0x10000) /* data buffers from here */
#define TABLE (RAM_BASE + 0x8000) /* an indirect table */
#define RAM_END (RAM_BASE + RAM_SIZE)

/* Descriptor and ring flags (2.7). */
#define F_NEXT 1u
#define F_WRITE 2u
#define F_INDIRECT 4u
#define AVAIL_NO_INTERRUPT 1u
#define USED_NO_NOTIFY 1u

#define MAXSEG 64u

static struct avmm_dev dev;
static struct vq vq;
static struct vq_seg segs[MAXSEG];
static struct vq_chain ch;

static uint8_t *ram(uint64_t gpa)
{
	ck_assert_uint_ge(gpa, RAM_BASE);
	ck_assert_uint_lt(gpa, RAM_END);
	return dev.ram + (gpa - RAM_BASE);
}

static void w16(uint64_t gpa, uint16_t v)
{
	uint8_t *p = ram(gpa);
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void w32(uint64_t gpa, uint32_t v)
{
	w16(gpa, (uint16_t)v);
	w16(gpa + 2, (uint16_t)(v >> 16));
}

static void w64(uint64_t gpa, uint64_t v)
{
	w32(gpa, (uint32_t)v);
	w32(gpa + 4, (uint32_t)(v >> 32));
}

static uint16_t r16(uint64_t gpa)
{
	uint8_t *p = ram(gpa);
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t r32(uint64_t gpa)
{
	return r16(gpa) | (uint32_t)r16(gpa + 2) << 16;
}

/* Descriptor i of the table at `table`: {le64 addr, le32 len, le16 flags, le16 next}. */
static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint64_t d = table + 16ull * i;
	w64(d, addr);
	w32(d + 8, len);
	w16(d + 12, flags);
	w16(d + 14, next);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

/* avail: {le16 flags, le16 idx, le16 ring[N], le16 used_event} */
static uint16_t avail_idx(void)
{
	return r16(AVAIL + 2);
}

static void set_avail_idx(uint16_t v)
{
	w16(AVAIL + 2, v);
}

static void set_avail_flags(uint16_t v)
{
	w16(AVAIL, v);
}

static void set_used_event(uint16_t v)
{
	w16(AVAIL + 4 + 2 * QSIZE, v);
}

/* Make chain `head` available in the next slot. */
static void make_avail(uint16_t head)
{
	uint16_t idx = avail_idx();
	w16(AVAIL + 4 + 2 * (idx % QSIZE), head);
	set_avail_idx((uint16_t)(idx + 1));
}

/* used: {le16 flags, le16 idx, {le32 id, le32 len}[N], le16 avail_event} */
static uint16_t used_flags(void)
{
	return r16(USED);
}

static uint16_t used_idx(void)
{
	return r16(USED + 2);
}

static uint32_t used_id(unsigned slot)
{
	return r32(USED + 4 + 8 * slot);
}

static uint32_t used_len(unsigned slot)
{
	return r32(USED + 4 + 8 * slot + 4);
}

static uint16_t avail_event(void)
{
	return r16(USED + 4 + 8 * QSIZE);
}

static void start(uint64_t features)
{
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, AVAIL, USED, features), 0);
}

static void setup(void)
{
	fake_init(&dev, "vq", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	vq_setup(&vq, &fakehost, &dev);
	memset(segs, 0, sizeof(segs));
	ch = (struct vq_chain){.seg = segs, .max_seg = MAXSEG};
}

static void teardown(void)
{
	fake_fini(&dev);
}

/* Pop must fail with `err`, then the queue stays broken. */
static void expect_driver_error(int err)
{
	ck_assert_int_eq(vq_pop(&vq, &ch), err);
	ck_assert(vq.broken);
	ck_assert_int_eq(vq_pop(&vq, &ch), -EIO);
	ck_assert_int_eq(vq_push(&vq, 0, 0), -EIO);
}

/* ---- configuration ------------------------------------------------------- */

START_TEST(validate_config)
{
	ck_assert_int_eq(vq_validate_config(1, 256), 0);
	ck_assert_int_eq(vq_validate_config(256, 256), 0);
	ck_assert_int_eq(vq_validate_config(32768, 32768), 0);
	ck_assert_int_eq(vq_validate_config(0, 256), -EINVAL);
	ck_assert_int_eq(vq_validate_config(3, 256), -EINVAL);
	ck_assert_int_eq(vq_validate_config(96, 256), -EINVAL);
	ck_assert_int_eq(vq_validate_config(512, 256), -EINVAL);
	ck_assert_int_eq(vq_validate_config(65536, 65536), -EINVAL);
}
END_TEST

START_TEST(init_refuses_bad_layout)
{
	ck_assert_int_eq(vq_init(&vq, 0, DESC, AVAIL, USED, 0), -EINVAL);
	ck_assert_int_eq(vq_init(&vq, 12, DESC, AVAIL, USED, 0), -EINVAL);
	ck_assert_int_eq(vq_init(&vq, 65536, DESC, AVAIL, USED, 0), -EINVAL);
	/* 2.7: descriptor table 16-, avail 2-, used 4-byte aligned. */
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC + 8, AVAIL, USED, 0), -EFAULT);
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, AVAIL + 1, USED, 0), -EFAULT);
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, AVAIL, USED + 2, 0), -EFAULT);
	/* Each area must be wholly in RAM, its trailing event field included. */
	ck_assert_int_eq(vq_init(&vq, QSIZE, RAM_END - 16 * QSIZE + 16, AVAIL, USED, 0), -EFAULT);
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, RAM_END - (4 + 2 * QSIZE), USED, 0), -EFAULT);
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, AVAIL, RAM_END - (4 + 8 * QSIZE), 0), -EFAULT);
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, AVAIL, 0x1000, 0), -EFAULT);
	ck_assert(!vq.ready);
	ck_assert_int_eq(vq_pop(&vq, &ch), -ENODEV);
	/* Ending exactly at the end of RAM is fine. */
	ck_assert_int_eq(vq_init(&vq, QSIZE, DESC, RAM_END - (6 + 2 * QSIZE), USED, 0), 0);
	ck_assert(vq.ready);
}
END_TEST

/* ---- normal paths ------------------------------------------------------- */

START_TEST(empty_then_single)
{
	start(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 0);
	desc(3, BUF, 100, 0, 0);
	make_avail(3);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(ch.head, 3);
	ck_assert_uint_eq(ch.nseg, 1);
	ck_assert_uint_eq(ch.nread, 1);
	ck_assert_uint_eq(ch.seg[0].gpa, BUF);
	ck_assert_uint_eq(ch.seg[0].len, 100);
	ck_assert(!ch.seg[0].write);
	ck_assert_uint_eq(ch.read_len, 100);
	ck_assert_uint_eq(ch.write_len, 0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 0);

	ck_assert_uint_eq(used_idx(), 0);
	ck_assert_int_eq(vq_push(&vq, 3, 0), 0);
	ck_assert_uint_eq(used_idx(), 1);
	ck_assert_uint_eq(used_id(0), 3);
	ck_assert_uint_eq(used_len(0), 0);
}
END_TEST

START_TEST(chained_and_copies)
{
	start(0);
	/* A request: 16-byte header in two pieces, then two writable buffers. */
	desc(0, BUF, 10, F_NEXT, 5);
	desc(5, BUF + 0x100, 6, F_NEXT, 2);
	desc(2, BUF + 0x200, 4, F_NEXT | F_WRITE, 7);
	desc(7, BUF + 0x300, 8, F_WRITE, 0);
	for (unsigned i = 0; i < 10; i++)
		ram(BUF)[i] = (uint8_t)i;
	for (unsigned i = 0; i < 6; i++)
		ram(BUF + 0x100)[i] = (uint8_t)(10 + i);
	make_avail(0);

	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(ch.nseg, 4);
	ck_assert_uint_eq(ch.nread, 2);
	ck_assert_uint_eq(ch.read_len, 16);
	ck_assert_uint_eq(ch.write_len, 12);
	ck_assert(ch.seg[2].write && ch.seg[3].write);
	ck_assert_uint_eq(ch.seg[3].gpa, BUF + 0x300);

	uint8_t hdr[20];
	memset(hdr, 0xee, sizeof(hdr));
	ck_assert_int_eq(vq_chain_read(&vq, &ch, 0, hdr, 16), 16);
	for (unsigned i = 0; i < 16; i++)
		ck_assert_uint_eq(hdr[i], i);
	/* Across the segment boundary, and short at the end of the readable part. */
	ck_assert_int_eq(vq_chain_read(&vq, &ch, 8, hdr, 20), 8);
	ck_assert_uint_eq(hdr[0], 8);
	ck_assert_uint_eq(hdr[7], 15);
	ck_assert_int_eq(vq_chain_read(&vq, &ch, 16, hdr, 1), 0);

	const uint8_t data[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	ck_assert_int_eq(vq_chain_write(&vq, &ch, 2, data, 12), 10);
	ck_assert_uint_eq(ram(BUF + 0x200)[1], 0);
	ck_assert_uint_eq(ram(BUF + 0x200)[2], 1);
	ck_assert_uint_eq(ram(BUF + 0x200)[3], 2);
	ck_assert_uint_eq(ram(BUF + 0x300)[0], 3);
	ck_assert_uint_eq(ram(BUF + 0x300)[7], 10);
	ck_assert_uint_eq(ram(BUF + 0x300)[8], 0);
	ck_assert_int_eq(vq_push(&vq, 0, 12), 0);
	ck_assert_uint_eq(used_id(0), 0);
	ck_assert_uint_eq(used_len(0), 12);
}
END_TEST

/* Writes reach only the writable segments and the used ring. */
START_TEST(writes_stay_in_writable_and_used)
{
	static uint8_t before[RAM_SIZE];

	start(0);
	desc(0, BUF, 32, F_NEXT, 1);
	desc(1, BUF + 0x100, 32, F_WRITE, 0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	memcpy(before, dev.ram, RAM_SIZE);

	uint8_t junk[200];
	memset(junk, 0xa5, sizeof(junk));
	ck_assert_int_eq(vq_chain_write(&vq, &ch, 0, junk, sizeof(junk)), 32);
	ck_assert_int_eq(vq_push(&vq, 0, 32), 0);
	uint64_t changed = 0, outside = 0;
	for (uint64_t off = 0; off < RAM_SIZE; off++) {
		uint64_t gpa = RAM_BASE + off;
		bool writable = gpa >= BUF + 0x100 && gpa < BUF + 0x120;
		bool used = gpa >= USED + 2 && gpa < USED + 4 + 8; /* idx and ring[0] */
		if (dev.ram[off] == before[off])
			continue;
		changed++;
		if (!writable && !used && !outside)
			outside = gpa;
	}
	ck_assert_msg(!outside, "byte at 0x%llx changed", (unsigned long long)outside);
	/* The buffer, the low bytes of used.idx (0 -> 1) and of ring[0].len (32). */
	ck_assert_uint_eq(changed, 32 + 1 + 1);
}
END_TEST

START_TEST(indirect)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE, 0, BUF, 8, F_NEXT, 2);
	desc_at(TABLE, 2, BUF + 0x100, 16, F_NEXT | F_WRITE, 1);
	desc_at(TABLE, 1, BUF + 0x200, 24, F_WRITE, 0);
	/* The WRITE flag of the descriptor naming the table is ignored (2.7). */
	desc(4, TABLE, 3 * 16, F_INDIRECT | F_WRITE, 0);
	make_avail(4);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(ch.head, 4);
	ck_assert_uint_eq(ch.nseg, 3);
	ck_assert_uint_eq(ch.nread, 1);
	ck_assert_uint_eq(ch.seg[0].gpa, BUF);
	ck_assert_uint_eq(ch.seg[1].gpa, BUF + 0x100);
	ck_assert_uint_eq(ch.seg[2].gpa, BUF + 0x200);
	ck_assert_uint_eq(ch.write_len, 40);

	/* After direct descriptors, as the last one. */
	desc_at(TABLE + 0x100, 0, BUF + 0x500, 4, F_WRITE, 0);
	desc(0, BUF + 0x400, 4, F_NEXT, 1);
	desc(1, TABLE + 0x100, 16, F_INDIRECT, 0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(ch.nseg, 2);
	ck_assert_uint_eq(ch.nread, 1);
	ck_assert_uint_eq(ch.seg[0].gpa, BUF + 0x400);
	ck_assert_uint_eq(ch.seg[1].gpa, BUF + 0x500);
	ck_assert(ch.seg[1].write);
}
END_TEST

/* The free-running 16-bit indices wrap; ring slots are idx mod size. */
START_TEST(index_wrap)
{
	start(0);
	vq.last_avail_idx = vq.used_idx = 65534;
	w16(USED + 2, 65534);
	set_avail_idx(65534);
	for (unsigned i = 0; i < 4; i++) {
		desc(i, BUF + 0x100 * i, 16, F_WRITE, 0);
		make_avail((uint16_t)i);
	}
	ck_assert_uint_eq(avail_idx(), 2);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(vq_pop(&vq, &ch), 1);
		ck_assert_uint_eq(ch.head, i);
		ck_assert_int_eq(vq_push(&vq, ch.head, 10 + i), 0);
	}
	ck_assert_int_eq(vq_pop(&vq, &ch), 0);
	ck_assert_uint_eq(used_idx(), 2);
	/* 65534 % 8 = 6: slots 6, 7, 0, 1. */
	ck_assert_uint_eq(used_id(6), 0);
	ck_assert_uint_eq(used_id(7), 1);
	ck_assert_uint_eq(used_id(0), 2);
	ck_assert_uint_eq(used_len(1), 13);
}
END_TEST

/* A full ring (size chains outstanding) is legal. */
START_TEST(full_ring)
{
	start(0);
	for (unsigned i = 0; i < QSIZE; i++) {
		desc(i, BUF, 1, 0, 0);
		make_avail((uint16_t)i);
	}
	for (unsigned i = 0; i < QSIZE; i++)
		ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_int_eq(vq_pop(&vq, &ch), 0);
	ck_assert(!vq.broken);
}
END_TEST

START_TEST(push_checks_device_bugs)
{
	start(0);
	ck_assert_int_eq(vq_push(&vq, 0, 0), -EINVAL); /* nothing popped */
	desc(0, BUF, 1, 0, 0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_int_eq(vq_push(&vq, QSIZE, 0), -EINVAL);
	ck_assert_int_eq(vq_push(&vq, 0, 0), 0);
	ck_assert_int_eq(vq_push(&vq, 0, 0), -EINVAL);
	ck_assert_uint_eq(used_idx(), 1);
	ck_assert(!vq.broken);
}
END_TEST

START_TEST(max_seg_limit)
{
	start(0);
	ch.max_seg = 2;
	desc(0, BUF, 1, F_NEXT, 1);
	desc(1, BUF, 1, F_NEXT, 2);
	desc(2, BUF, 1, 0, 0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), -ENOBUFS);
}
END_TEST

START_TEST(reset_clears_broken)
{
	start(0);
	set_avail_idx(QSIZE + 1);
	expect_driver_error(-EOVERFLOW);
	vq_reset(&vq);
	ck_assert(!vq.broken && !vq.ready);
	ck_assert_ptr_eq(vq.host, &fakehost);
	set_avail_idx(0);
	start(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 0);
}
END_TEST

/* ---- driver errors: one per rule ---------------------------------------- */

START_TEST(err_avail_runs_ahead)
{
	start(0);
	desc(0, BUF, 1, 0, 0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	/* One in flight, not yet used: size more makes size + 1 outstanding. */
	set_avail_idx(1 + QSIZE);
	expect_driver_error(-EOVERFLOW);
}
END_TEST

START_TEST(err_head_out_of_range)
{
	start(0);
	make_avail(QSIZE);
	expect_driver_error(-ERANGE);
}
END_TEST

START_TEST(err_next_out_of_range)
{
	start(0);
	desc(0, BUF, 1, F_NEXT, QSIZE);
	make_avail(0);
	expect_driver_error(-ERANGE);
}
END_TEST

START_TEST(err_loop)
{
	start(0);
	desc(0, BUF, 1, F_NEXT, 1);
	desc(1, BUF, 1, F_NEXT, 0);
	make_avail(0);
	expect_driver_error(-ELOOP);
}
END_TEST

START_TEST(err_loop_indirect)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE, 0, BUF, 1, F_NEXT, 1);
	desc_at(TABLE, 1, BUF, 1, F_NEXT, 0);
	desc(0, TABLE, 32, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-ELOOP);
}
END_TEST

/* No loop, but direct + indirect buffers exceed the queue size. */
START_TEST(err_chain_longer_than_queue)
{
	start(VQ_F_INDIRECT_DESC);
	for (unsigned i = 0; i < QSIZE; i++)
		desc_at(TABLE, i, BUF, 1, i + 1 < QSIZE ? F_NEXT : 0, (uint16_t)(i + 1));
	desc(0, BUF, 1, F_NEXT, 1);
	desc(1, TABLE, 16 * QSIZE, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-ELOOP);
}
END_TEST

START_TEST(err_indirect_not_negotiated)
{
	start(0);
	desc_at(TABLE, 0, BUF, 1, 0, 0);
	desc(0, TABLE, 16, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EPROTO);
}
END_TEST

START_TEST(err_nested_indirect)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE + 0x100, 0, BUF, 1, 0, 0);
	desc_at(TABLE, 0, TABLE + 0x100, 16, F_INDIRECT, 0);
	desc(0, TABLE, 16, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EMLINK);
}
END_TEST

START_TEST(err_indirect_with_next)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE, 0, BUF, 1, 0, 0);
	desc(0, TABLE, 16, F_INDIRECT | F_NEXT, 1);
	desc(1, BUF, 1, 0, 0);
	make_avail(0);
	expect_driver_error(-EINVAL);
}
END_TEST

START_TEST(err_indirect_len_not_multiple)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE, 0, BUF, 1, 0, 0);
	desc(0, TABLE, 20, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EBADMSG);
}
END_TEST

START_TEST(err_indirect_len_zero)
{
	start(VQ_F_INDIRECT_DESC);
	desc(0, TABLE, 0, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EBADMSG);
}
END_TEST

START_TEST(err_indirect_table_too_big)
{
	start(VQ_F_INDIRECT_DESC);
	for (unsigned i = 0; i < 2 * QSIZE; i++)
		desc_at(TABLE, i, BUF, 1, 0, 0);
	desc(0, TABLE, 16 * (QSIZE + 1), F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EBADMSG);
}
END_TEST

START_TEST(err_indirect_table_outside_ram)
{
	start(VQ_F_INDIRECT_DESC);
	desc(0, RAM_END - 16, 32, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-EFAULT);
}
END_TEST

/* next is checked against the indirect table's own entries, not the queue size. */
START_TEST(err_indirect_next_out_of_range)
{
	start(VQ_F_INDIRECT_DESC);
	desc_at(TABLE, 0, BUF, 1, F_NEXT, 2);
	desc_at(TABLE, 1, BUF, 1, 0, 0);
	desc(0, TABLE, 32, F_INDIRECT, 0);
	make_avail(0);
	expect_driver_error(-ERANGE);
}
END_TEST

START_TEST(err_buffer_outside_ram)
{
	start(0);
	desc(0, RAM_END - 8, 16, 0, 0);
	make_avail(0);
	expect_driver_error(-EFAULT);
}
END_TEST

START_TEST(err_buffer_below_ram)
{
	start(0);
	desc(0, 0x1000, 16, F_WRITE, 0);
	make_avail(0);
	expect_driver_error(-EFAULT);
}
END_TEST

START_TEST(err_buffer_wraps)
{
	start(0);
	/* addr + len wraps around 2^64 onto the start of RAM. */
	desc(0, ~0ull - 0xfff, (uint32_t)(RAM_BASE + 0x2000), F_WRITE, 0);
	make_avail(0);
	expect_driver_error(-EFAULT);
}
END_TEST

START_TEST(err_readable_after_writable)
{
	start(0);
	desc(0, BUF, 4, F_WRITE | F_NEXT, 1);
	desc(1, BUF + 0x100, 4, 0, 0);
	make_avail(0);
	expect_driver_error(-EINVAL);
}
END_TEST

/* Over 2^32 bytes in total: 4097 one-MiB buffers (all of RAM, over and over). */
START_TEST(err_total_length)
{
	enum { N = 8192, CHAIN = 4097 };
	static struct vq_seg big[N];
	uint64_t table = RAM_BASE, avail = RAM_BASE + 16ull * N, used = avail + 0x8000;

	ck_assert_int_eq(vq_init(&vq, N, table, avail, used, 0), 0);
	for (unsigned i = 0; i < CHAIN; i++)
		desc_at(table, i, RAM_BASE, (uint32_t)RAM_SIZE, i + 1 < CHAIN ? F_NEXT : 0,
			(uint16_t)(i + 1));
	w16(avail + 4, 0);
	w16(avail + 2, 1);
	ch = (struct vq_chain){.seg = big, .max_seg = N};
	ck_assert_int_eq(vq_pop(&vq, &ch), -EMSGSIZE);
	ck_assert(vq.broken);

	/* 4096 of them, exactly 2^32, are allowed. */
	vq_reset(&vq);
	ck_assert_int_eq(vq_init(&vq, N, table, avail, used, 0), 0);
	desc_at(table, CHAIN - 2, RAM_BASE, (uint32_t)RAM_SIZE, 0, 0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(ch.read_len, 1ull << 32);
}
END_TEST

/* ---- notifications ------------------------------------------------------ */

static void pop_push(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		desc(0, BUF, 1, 0, 0);
		make_avail(0);
		ck_assert_int_eq(vq_pop(&vq, &ch), 1);
		ck_assert_int_eq(vq_push(&vq, 0, 0), 0);
	}
}

START_TEST(notify_flags)
{
	start(0);
	pop_push(1);
	ck_assert(vq_should_notify(&vq));
	ck_assert(!vq_should_notify(&vq)); /* nothing new */
	set_avail_flags(AVAIL_NO_INTERRUPT);
	pop_push(1);
	ck_assert(!vq_should_notify(&vq));
	set_avail_flags(0);
	pop_push(1);
	/* Without EVENT_IDX used_event is ignored. */
	set_used_event(1000);
	ck_assert(vq_should_notify(&vq));
}
END_TEST

/* The spec's vring_need_event: interrupt when used_event is in [old, new). */
START_TEST(notify_event_idx_wrap)
{
	start(VQ_F_EVENT_IDX);
	vq.last_avail_idx = vq.used_idx = 65533;
	set_avail_idx(65533);
	pop_push(1); /* 65533 -> 65534 */
	ck_assert(vq_should_notify(&vq)); /* first decision: always */

	/* 65534 -> 0: events 65534 and 65535 passed, 0 not yet. */
	pop_push(2);
	vq.signalled_used = 65534;
	set_used_event(65533);
	ck_assert(!vq_should_notify(&vq));
	vq.signalled_used = 65534;
	set_used_event(65534);
	ck_assert(vq_should_notify(&vq));
	vq.signalled_used = 65534;
	set_used_event(65535);
	ck_assert(vq_should_notify(&vq));
	vq.signalled_used = 65534;
	set_used_event(0);
	ck_assert(!vq_should_notify(&vq));

	/* 0 -> 1 passes event 0; NO_INTERRUPT is ignored with EVENT_IDX. */
	set_avail_flags(AVAIL_NO_INTERRUPT);
	pop_push(1);
	ck_assert(vq_should_notify(&vq));
	ck_assert(!vq_should_notify(&vq));
}
END_TEST

START_TEST(kick_suppression_flags)
{
	start(0);
	vq_disable_notify(&vq);
	ck_assert_uint_eq(used_flags(), USED_NO_NOTIFY);
	ck_assert_int_eq(vq_enable_notify(&vq), 0);
	ck_assert_uint_eq(used_flags(), 0);
	/* A buffer added while kicks were off is seen at re-enable. */
	vq_disable_notify(&vq);
	desc(0, BUF, 1, 0, 0);
	make_avail(0);
	ck_assert_int_eq(vq_enable_notify(&vq), 1);
	ck_assert_uint_eq(used_flags(), 0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_int_eq(vq_enable_notify(&vq), 0);
}
END_TEST

START_TEST(kick_suppression_event_idx)
{
	start(VQ_F_EVENT_IDX);
	vq_disable_notify(&vq);
	ck_assert_uint_eq(used_flags(), 0); /* flags unused with EVENT_IDX */
	desc(0, BUF, 1, 0, 0);
	make_avail(0);
	make_avail(0);
	ck_assert_int_eq(vq_enable_notify(&vq), 1);
	ck_assert_uint_eq(avail_event(), 0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_int_eq(vq_enable_notify(&vq), 0);
	ck_assert_uint_eq(avail_event(), 2); /* kick for the next one */
}
END_TEST

/* A device that never turns kicks off still asks for one past each pop. */
START_TEST(kick_event_idx_follows_pops)
{
	start(VQ_F_EVENT_IDX);
	desc(0, BUF, 1, 0, 0);
	make_avail(0);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(avail_event(), 1);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(avail_event(), 2);
	/* Kicks off: avail_event stays behind while draining. */
	vq_disable_notify(&vq);
	make_avail(0);
	ck_assert_int_eq(vq_pop(&vq, &ch), 1);
	ck_assert_uint_eq(avail_event(), 2);
	ck_assert_int_eq(vq_enable_notify(&vq), 0);
	ck_assert_uint_eq(avail_event(), 3);
}
END_TEST

START_TEST(enable_notify_sees_driver_error)
{
	start(0);
	set_avail_idx(QSIZE + 1);
	ck_assert_int_eq(vq_enable_notify(&vq), -EOVERFLOW);
	ck_assert(vq.broken);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *t = tcase_create("virtqueue");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, validate_config);
	tcase_add_test(t, init_refuses_bad_layout);
	tcase_add_test(t, empty_then_single);
	tcase_add_test(t, chained_and_copies);
	tcase_add_test(t, writes_stay_in_writable_and_used);
	tcase_add_test(t, indirect);
	tcase_add_test(t, index_wrap);
	tcase_add_test(t, full_ring);
	tcase_add_test(t, push_checks_device_bugs);
	tcase_add_test(t, max_seg_limit);
	tcase_add_test(t, reset_clears_broken);
	tcase_add_test(t, err_avail_runs_ahead);
	tcase_add_test(t, err_head_out_of_range);
	tcase_add_test(t, err_next_out_of_range);
	tcase_add_test(t, err_loop);
	tcase_add_test(t, err_loop_indirect);
	tcase_add_test(t, err_chain_longer_than_queue);
	tcase_add_test(t, err_indirect_not_negotiated);
	tcase_add_test(t, err_nested_indirect);
	tcase_add_test(t, err_indirect_with_next);
	tcase_add_test(t, err_indirect_len_not_multiple);
	tcase_add_test(t, err_indirect_len_zero);
	tcase_add_test(t, err_indirect_table_too_big);
	tcase_add_test(t, err_indirect_table_outside_ram);
	tcase_add_test(t, err_indirect_next_out_of_range);
	tcase_add_test(t, err_buffer_outside_ram);
	tcase_add_test(t, err_buffer_below_ram);
	tcase_add_test(t, err_buffer_wraps);
	tcase_add_test(t, err_readable_after_writable);
	tcase_add_test(t, err_total_length);
	tcase_add_test(t, notify_flags);
	tcase_add_test(t, notify_event_idx_wrap);
	tcase_add_test(t, kick_suppression_flags);
	tcase_add_test(t, kick_suppression_event_idx);
	tcase_add_test(t, kick_event_idx_follows_pops);
	tcase_add_test(t, enable_notify_sees_driver_error);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
