/* SPDX-License-Identifier: MIT */
/*
 * A guest-side virtio-mmio driver for device-type unit tests, over the fake
 * host: it negotiates, lays out split virtqueues in the fake guest RAM,
 * adds chains, kicks through QueueNotify (so the real doorbell path runs)
 * and reads the used ring back.  Offsets and ring layouts are spelled out
 * from virtio 1.2 (sections 2.7 and 4.2.2), independently of the plugin's
 * headers, so a layout bug there cannot hide behind the same bug here.
 *
 * Each queue q gets a 64 KiB window of RAM at ram_base + 0x10000 * (q + 1)
 * for its three areas; data buffers are the test's business (use addresses
 * from ram_base + VDRV_DATA on).
 */
#ifndef AVMM_TESTS_VDRIVER_H
#define AVMM_TESTS_VDRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "fakehost.h"

#define VDRV_MAX_QUEUES 4
#define VDRV_DATA 0x100000ull /* first byte of RAM past the queue windows */

/* virtio-mmio registers (4.2.2) and status bits (2.1). */
enum {
	VDRV_MAGIC = 0x000, VDRV_VERSION = 0x004, VDRV_DEVICE_ID = 0x008,
	VDRV_DEV_FEAT = 0x010, VDRV_DEV_FEAT_SEL = 0x014, VDRV_DRV_FEAT = 0x020,
	VDRV_DRV_FEAT_SEL = 0x024, VDRV_QSEL = 0x030, VDRV_QNUM_MAX = 0x034,
	VDRV_QNUM = 0x038, VDRV_QREADY = 0x044, VDRV_QNOTIFY = 0x050, VDRV_ISR = 0x060,
	VDRV_IACK = 0x064, VDRV_STATUS = 0x070, VDRV_QDESC_LO = 0x080, VDRV_QDESC_HI = 0x084,
	VDRV_QDRV_LO = 0x090, VDRV_QDRV_HI = 0x094, VDRV_QDEV_LO = 0x0a0,
	VDRV_QDEV_HI = 0x0a4, VDRV_CFG_GEN = 0x0fc, VDRV_CONFIG = 0x100,
};
#define VDRV_S_ACK 1u
#define VDRV_S_DRIVER 2u
#define VDRV_S_DRIVER_OK 4u
#define VDRV_S_FEATURES_OK 8u
#define VDRV_S_NEEDS_RESET 64u
#define VDRV_F_VERSION_1 (1ull << 32)
#define VDRV_F_INDIRECT (1ull << 28)
#define VDRV_F_EVENT_IDX (1ull << 29)

#define VDRV_D_NEXT 1u
#define VDRV_D_WRITE 2u
#define VDRV_D_INDIRECT 4u

struct vdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

struct vdrv_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t next_desc;   /* free-running descriptor allocator (mod size) */
	uint16_t avail_idx;   /* our shadow of avail.idx */
	uint16_t used_seen;   /* used entries consumed by vdrv_used */
	uint16_t kick_idx;    /* avail_idx when vdrv_kick last decided */
	unsigned kicks, kicks_saved; /* QueueNotify writes made, and not needed */
};

struct vdrv {
	struct avmm_dev *dev;
	uint64_t base;
	uint64_t features; /* as last negotiated */
	/*
	 * Set by vdrv_init: vdrv_kick kicks only when the device asked for it
	 * (avail_event with EVENT_IDX, else used.flags NO_NOTIFY), as Linux's
	 * virtqueue_kick_prepare does, so a device that suppresses kicks and
	 * forgets to ask again stalls the test.  Clear it to kick every time.
	 */
	bool polite;
	struct vdrv_queue q[VDRV_MAX_QUEUES];
};

void vdrv_init(struct vdrv *d, struct avmm_dev *dev, uint64_t base);
uint32_t vdrv_rd(struct vdrv *d, uint32_t off);
void vdrv_wr(struct vdrv *d, uint32_t off, uint32_t v);
/* The 64 offered feature bits. */
uint64_t vdrv_device_features(struct vdrv *d);
/* Reset, ACK, DRIVER, write `features`, FEATURES_OK: the Status read back. */
uint32_t vdrv_negotiate(struct vdrv *d, uint64_t features);
/* Lay out queue q with `size` entries in its window and set QueueReady. */
void vdrv_queue(struct vdrv *d, unsigned q, uint16_t size);
void vdrv_driver_ok(struct vdrv *d);
/* vdrv_negotiate + vdrv_queue(0..nq-1, size) + DRIVER_OK; asserts FEATURES_OK stuck. */
void vdrv_up(struct vdrv *d, uint64_t features, unsigned nq, uint16_t size);

/*
 * Put a chain of n buffers (readable ones first, as drivers do) in the
 * descriptor table and make it available; returns its head.  Not kicked.
 */
uint16_t vdrv_add(struct vdrv *d, unsigned q, const struct vdrv_buf *b, unsigned n);
/*
 * QueueNotify for q (polite: only if the device wants it, for what was added
 * since the last call), then run the fake's I/O poll until workers settle.
 */
void vdrv_kick(struct vdrv *d, unsigned q);
/* Whether the device asks for a kick for what was added since the last vdrv_kick. */
bool vdrv_wants_kick(struct vdrv *d, unsigned q);
/* Run the fake's I/O poll (workers, doorbells, watches) a few times. */
void vdrv_poll(struct vdrv *d);
/*
 * The next used element: true and *id, *len when there is one.  With
 * EVENT_IDX it also moves used_event past it (overriding vdrv_set_avail_flags).
 */
bool vdrv_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len);
/* Set avail.flags (1 = NO_INTERRUPT) or, with EVENT_IDX, used_event. */
void vdrv_set_avail_flags(struct vdrv *d, unsigned q, uint16_t flags);

/* Guest memory helpers over the fake RAM (abort the test when outside it). */
void vdrv_mem_write(struct vdrv *d, uint64_t gpa, const void *buf, size_t len);
void vdrv_mem_read(struct vdrv *d, uint64_t gpa, void *buf, size_t len);

#endif
