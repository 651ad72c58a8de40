/* SPDX-License-Identifier: MIT */
#include "vdriver.h"

#include <check.h>
#include <string.h>

void vdrv_mem_write(struct vdrv *d, uint64_t gpa, const void *buf, size_t len)
{
	ck_assert(gpa >= d->dev->ram_base && gpa + len <= d->dev->ram_base + d->dev->ram_size);
	memcpy(d->dev->ram + (gpa - d->dev->ram_base), buf, len);
}

void vdrv_mem_read(struct vdrv *d, uint64_t gpa, void *buf, size_t len)
{
	ck_assert(gpa >= d->dev->ram_base && gpa + len <= d->dev->ram_base + d->dev->ram_size);
	memcpy(buf, d->dev->ram + (gpa - d->dev->ram_base), len);
}

static void wr16(struct vdrv *d, uint64_t gpa, uint16_t v)
{
	vdrv_mem_write(d, gpa, &v, 2); /* the fake's hosts are little-endian */
}

/* A ring index in the fake RAM, for atomic accesses (aligned: 2.7). */
static uint16_t *ring16(struct vdrv *d, uint64_t gpa)
{
	ck_assert(gpa >= d->dev->ram_base && gpa + 2 <= d->dev->ram_base + d->dev->ram_size);
	return (uint16_t *)(void *)(d->dev->ram + (gpa - d->dev->ram_base));
}

void vdrv_init(struct vdrv *d, struct avmm_dev *dev, uint64_t base)
{
	memset(d, 0, sizeof(*d));
	d->dev = dev;
	d->base = base;
	d->polite = true;
}

uint32_t vdrv_rd(struct vdrv *d, uint32_t off)
{
	return fake_rd32(d->dev, 0, d->base + off);
}

void vdrv_wr(struct vdrv *d, uint32_t off, uint32_t v)
{
	fake_wr32(d->dev, 0, d->base + off, v);
}

uint64_t vdrv_device_features(struct vdrv *d)
{
	vdrv_wr(d, VDRV_DEV_FEAT_SEL, 0);
	uint64_t lo = vdrv_rd(d, VDRV_DEV_FEAT);
	vdrv_wr(d, VDRV_DEV_FEAT_SEL, 1);
	return lo | (uint64_t)vdrv_rd(d, VDRV_DEV_FEAT) << 32;
}

uint32_t vdrv_negotiate(struct vdrv *d, uint64_t features)
{
	vdrv_wr(d, VDRV_STATUS, 0);
	vdrv_wr(d, VDRV_STATUS, VDRV_S_ACK);
	vdrv_wr(d, VDRV_STATUS, VDRV_S_ACK | VDRV_S_DRIVER);
	vdrv_wr(d, VDRV_DRV_FEAT_SEL, 0);
	vdrv_wr(d, VDRV_DRV_FEAT, (uint32_t)features);
	vdrv_wr(d, VDRV_DRV_FEAT_SEL, 1);
	vdrv_wr(d, VDRV_DRV_FEAT, (uint32_t)(features >> 32));
	vdrv_wr(d, VDRV_STATUS, VDRV_S_ACK | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	d->features = features;
	return vdrv_rd(d, VDRV_STATUS);
}

void vdrv_queue(struct vdrv *d, unsigned q, uint16_t size)
{
	ck_assert_uint_lt(q, VDRV_MAX_QUEUES);
	struct vdrv_queue *vq = &d->q[q];
	uint64_t win = d->dev->ram_base + 0x10000ull * (q + 1);

	ck_assert_uint_le(size, 1024); /* the areas must fit the 64 KiB window */
	memset(vq, 0, sizeof(*vq));
	vq->size = size;
	vq->desc = win;
	vq->avail = win + 16ull * size;
	vq->used = (vq->avail + 6 + 2ull * size + 3) & ~3ull;
	ck_assert(win >= d->dev->ram_base &&
		  win + 0x10000 <= d->dev->ram_base + d->dev->ram_size);
	memset(d->dev->ram + (win - d->dev->ram_base), 0, 0x10000);

	vdrv_wr(d, VDRV_QSEL, q);
	vdrv_wr(d, VDRV_QNUM, size);
	vdrv_wr(d, VDRV_QDESC_LO, (uint32_t)vq->desc);
	vdrv_wr(d, VDRV_QDESC_HI, (uint32_t)(vq->desc >> 32));
	vdrv_wr(d, VDRV_QDRV_LO, (uint32_t)vq->avail);
	vdrv_wr(d, VDRV_QDRV_HI, (uint32_t)(vq->avail >> 32));
	vdrv_wr(d, VDRV_QDEV_LO, (uint32_t)vq->used);
	vdrv_wr(d, VDRV_QDEV_HI, (uint32_t)(vq->used >> 32));
	vdrv_wr(d, VDRV_QREADY, 1);
	ck_assert_uint_eq(vdrv_rd(d, VDRV_QREADY), 1);
}

void vdrv_driver_ok(struct vdrv *d)
{
	vdrv_wr(d, VDRV_STATUS, vdrv_rd(d, VDRV_STATUS) | VDRV_S_DRIVER_OK);
}

void vdrv_up(struct vdrv *d, uint64_t features, unsigned nq, uint16_t size)
{
	ck_assert_uint_eq(vdrv_negotiate(d, features),
			  VDRV_S_ACK | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++)
		vdrv_queue(d, q, size);
	vdrv_driver_ok(d);
}

uint16_t vdrv_add(struct vdrv *d, unsigned q, const struct vdrv_buf *b, unsigned n)
{
	struct vdrv_queue *vq = &d->q[q];
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_le(n, vq->size);
	uint16_t head = vq->next_desc % vq->size;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % vq->size);
		uint16_t next = (uint16_t)((head + i + 1) % vq->size);
		uint8_t desc[16];
		uint16_t flags = (uint16_t)((b[i].write ? VDRV_D_WRITE : 0) |
					    (i + 1 < n ? VDRV_D_NEXT : 0));
		memcpy(desc, &b[i].gpa, 8);
		memcpy(desc + 8, &b[i].len, 4);
		memcpy(desc + 12, &flags, 2);
		memcpy(desc + 14, &next, 2);
		vdrv_mem_write(d, vq->desc + 16ull * idx, desc, 16);
	}
	vq->next_desc = (uint16_t)(vq->next_desc + n);
	wr16(d, vq->avail + 4 + 2ull * (vq->avail_idx % vq->size), head);
	vq->avail_idx++;
	/* A store-release, not a fence: gcc's ThreadSanitizer refuses fences. */
	__atomic_store_n(ring16(d, vq->avail + 2), vq->avail_idx, __ATOMIC_RELEASE);
	return head;
}

void vdrv_poll(struct vdrv *d)
{
	/* Doorbell -> worker kick -> worker run -> (maybe) a re-kick: a few rounds. */
	for (int i = 0; i < 4; i++)
		fake_io_poll(d->dev);
}

bool vdrv_wants_kick(struct vdrv *d, unsigned q)
{
	struct vdrv_queue *vq = &d->q[q];
	uint16_t v;

	if (d->features & VDRV_F_EVENT_IDX) {
		/* 2.7.10: kick if avail_event lies in [kick_idx, avail_idx). */
		vdrv_mem_read(d, vq->used + 4 + 8ull * vq->size, &v, 2);
		return (uint16_t)(vq->avail_idx - v - 1) < (uint16_t)(vq->avail_idx - vq->kick_idx);
	}
	vdrv_mem_read(d, vq->used, &v, 2);
	return !(v & 1); /* VIRTQ_USED_F_NO_NOTIFY */
}

void vdrv_kick(struct vdrv *d, unsigned q)
{
	struct vdrv_queue *vq = &d->q[q];

	if (!d->polite || vdrv_wants_kick(d, q)) {
		vdrv_wr(d, VDRV_QNOTIFY, q);
		vq->kicks++;
	} else {
		vq->kicks_saved++;
	}
	vq->kick_idx = vq->avail_idx;
	vdrv_poll(d);
}

bool vdrv_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len)
{
	struct vdrv_queue *vq = &d->q[q];
	uint16_t idx = __atomic_load_n(ring16(d, vq->used + 2), __ATOMIC_ACQUIRE);
	if (idx == vq->used_seen)
		return false;
	uint64_t e = vq->used + 4 + 8ull * (vq->used_seen % vq->size);
	vdrv_mem_read(d, e, id, 4);
	vdrv_mem_read(d, e + 4, len, 4);
	vq->used_seen++;
	/* As Linux's virtqueue_get_buf: interrupt me for the next one (2.7.10). */
	if (d->features & VDRV_F_EVENT_IDX)
		wr16(d, vq->avail + 4 + 2ull * vq->size, vq->used_seen);
	return true;
}

void vdrv_set_avail_flags(struct vdrv *d, unsigned q, uint16_t flags)
{
	wr16(d, d->q[q].avail, flags);
}
