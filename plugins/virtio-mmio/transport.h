/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 only (virtio 1.2 section 4.2.2, no
 * legacy interface).  This module owns one device's register file: the
 * device status and feature negotiation, each queue's driver-written layout
 * and QueueReady, InterruptStatus and the interrupt line, ConfigGeneration,
 * and the QueueNotify doorbell.  It turns a queue ready with vq_init and
 * back with vq_reset; popping and pushing belong to the device type.
 *
 * A device type (one file each) plugs in through struct vtype_ops: it states
 * what it offers and gets called for config space, feature acceptance,
 * DRIVER_OK, notifications and reset.  It reports back through the vtrans_*
 * helpers (used-buffer interrupt, DEVICE_NEEDS_RESET, config change), which
 * may also be called from the device type's worker.
 *
 * The driver is not trusted: control registers take aligned 32-bit accesses
 * only, bad writes are ignored (RAZ/WI) and logged as rate-limited guest
 * errors, and nothing the guest writes can make the transport index past its
 * queues or config space.
 *
 * Locking: MMIO handlers and the doorbell's I/O-thread callback run under
 * the core's device lock.  The interrupt and status state is additionally
 * guarded by the transport's own mutex so that the helpers below work from a
 * worker thread; the transport never holds it across a call into the device
 * type.
 */
#ifndef AVMM_VIRTIO_TRANSPORT_H
#define AVMM_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

#include "virtqueue.h"

/* Register offsets (4.2.2). */
#define VMMIO_MAGIC 0x000
#define VMMIO_VERSION 0x004
#define VMMIO_DEVICE_ID 0x008
#define VMMIO_VENDOR_ID 0x00c
#define VMMIO_DEV_FEATURES 0x010
#define VMMIO_DEV_FEATURES_SEL 0x014
#define VMMIO_DRV_FEATURES 0x020
#define VMMIO_DRV_FEATURES_SEL 0x024
#define VMMIO_QUEUE_SEL 0x030
#define VMMIO_QUEUE_NUM_MAX 0x034
#define VMMIO_QUEUE_NUM 0x038
#define VMMIO_QUEUE_READY 0x044
#define VMMIO_QUEUE_NOTIFY 0x050
#define VMMIO_INT_STATUS 0x060
#define VMMIO_INT_ACK 0x064
#define VMMIO_STATUS 0x070
#define VMMIO_QUEUE_DESC_LO 0x080
#define VMMIO_QUEUE_DESC_HI 0x084
#define VMMIO_QUEUE_DRIVER_LO 0x090
#define VMMIO_QUEUE_DRIVER_HI 0x094
#define VMMIO_QUEUE_DEVICE_LO 0x0a0
#define VMMIO_QUEUE_DEVICE_HI 0x0a4
#define VMMIO_SHM_SEL 0x0ac
#define VMMIO_SHM_LEN_LO 0x0b0
#define VMMIO_SHM_LEN_HI 0x0b4
#define VMMIO_SHM_BASE_LO 0x0b8
#define VMMIO_SHM_BASE_HI 0x0bc
#define VMMIO_CONFIG_GEN 0x0fc
#define VMMIO_CONFIG 0x100

#define VMMIO_MAGIC_VALUE 0x74726976u /* "virt" little-endian */
#define VMMIO_VERSION_2 2u
#define VMMIO_VENDOR_AVMM 0x4d4d5641u /* "AVMM" little-endian */
#define VMMIO_REGION_SIZE 0x200u
#define VMMIO_CONFIG_MAX (VMMIO_REGION_SIZE - VMMIO_CONFIG)

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* InterruptStatus bits (4.2.2). */
#define VMMIO_INT_USED 1u
#define VMMIO_INT_CONFIG 2u

#define VIRTIO_F_VERSION_1 (1ull << 32)
/*
 * Bits 24..41 are reserved for the transport and ring (section 6; 41 is
 * 1.3's ADMIN_VQ): a device type may offer only the ones implemented here.
 */
#define VIRTIO_F_TRANSPORT_MASK (((1ull << 42) - 1) & ~((1ull << 24) - 1))
#define VTRANS_FEATURES (VQ_FEATURES | VIRTIO_F_VERSION_1)

#define VTRANS_MAX_QUEUES 16u

/* Feature `bit` (a mask) may only be offered or accepted with all of `requires`. */
struct vtype_feature_dep {
	uint64_t bit;
	uint64_t requires;
};

struct vtype_ops {
	uint32_t device_id;
	/* Offered: device-type bits plus any of VQ_FEATURES; VERSION_1 is implied. */
	uint64_t features;
	const struct vtype_feature_dep *deps;
	unsigned ndeps;
	unsigned nr_queues;               /* 1 .. VTRANS_MAX_QUEUES */
	const uint16_t *queue_num_max;    /* [nr_queues], each 1 .. VQ_MAX_SIZE */
	uint32_t config_size;             /* bytes of config space, <= VMMIO_CONFIG_MAX */

	/*
	 * Config space at `offset` (< config_size, offset + size within it),
	 * size 1, 2 or 4 and naturally aligned; little-endian value.
	 * Optional when config_size is 0.
	 */
	int (*config_read)(void *opaque, uint32_t offset, unsigned size, uint32_t *value);
	int (*config_write)(void *opaque, uint32_t offset, unsigned size, uint32_t value);
	/*
	 * The driver set FEATURES_OK with `features` (already checked to be
	 * offered, to include VERSION_1 and to meet `deps`): 0 accepts, a
	 * negative errno refuses (FEATURES_OK then reads back clear).  Optional.
	 */
	int (*features_ok)(void *opaque, uint64_t features);
	/* The driver set DRIVER_OK: the queues it made ready may now be used.  Optional. */
	void (*driver_ok)(void *opaque);
	/*
	 * Without a worker: the QueueNotify doorbell fired and queue `q` is
	 * ready and DRIVER_OK is set.  Rings coalesce, so it is called for every
	 * such queue on each firing: look at all of each queue's work.
	 */
	void (*notify)(void *opaque, unsigned q);
	/*
	 * Device reset (Status = 0, or vtrans_reset): called once the queues
	 * are no longer live (vtrans_queue_live is false) but before the
	 * transport resets them, so a worker run in flight can be waited out.
	 * Required.
	 */
	void (*reset)(void *opaque);
	/*
	 * The driver wrote QueueReady = 0 on ready queue `q`: the same, for one
	 * queue (not live any more, vq_reset after the call).  Optional; a
	 * device type whose worker pops queues needs it.
	 */
	void (*queue_stop)(void *opaque, unsigned q);
};

struct vtrans_config {
	const struct vtype_ops *ops;
	void *opaque;
	/*
	 * NULL: the doorbell fires on the I/O thread and calls ops->notify.
	 * Else the doorbell kicks this worker of the device instead; its fn
	 * checks vtrans_queue_live() for every queue.
	 */
	struct avmm_worker *worker;
};

struct vtrans;

/*
 * From the plugin's create(): reads config key `base` (the region's guest
 * address, VMMIO_REGION_SIZE-aligned) and claims the line of key `irq`,
 * registers the region and the QueueNotify doorbell.  A bad vtype_ops (a
 * device-type bug) fails with -EINVAL and a message in err.  Offered
 * features missing a dependency are dropped (and logged), never offered.
 */
int vtrans_create(struct avmm_dev *dev, const struct avmm_host *host,
		  const struct vtrans_config *cfg, struct vtrans **out, char *err, size_t errlen);
void vtrans_destroy(struct vtrans *t);
/* Device reset, as if the driver wrote 0 to Status (guest SYSTEM_RESET). */
void vtrans_reset(struct vtrans *t);
/* The virtio,mmio node for desc->fdt_populate. */
int vtrans_fdt_populate(struct vtrans *t, void *fdt);

/* The queue `q` (< nr_queues) of the device. */
struct vq *vtrans_vq(struct vtrans *t, unsigned q);
/* The offered feature set (after dropping bits whose dependencies are absent). */
uint64_t vtrans_offered(const struct vtrans *t);
/* The negotiated features: valid once FEATURES_OK is set. */
uint64_t vtrans_features(struct vtrans *t);
/* DRIVER_OK is set and queue `q` is ready: it may be used (any thread). */
bool vtrans_queue_live(struct vtrans *t, unsigned q);

/*
 * After vq_push on queue q: raise the used-buffer interrupt if the driver
 * wants one (vq_should_notify).  Any thread.
 */
void vtrans_notify_used(struct vtrans *t, unsigned q);
/*
 * An unrecoverable error (vq_pop returned a driver error): set
 * DEVICE_NEEDS_RESET and, with DRIVER_OK set, raise a configuration-change
 * interrupt.  Any thread.
 */
void vtrans_needs_reset(struct vtrans *t);
/* The device changed its config space: bump ConfigGeneration, interrupt. */
void vtrans_config_changed(struct vtrans *t);

#endif
