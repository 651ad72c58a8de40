/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 section 2.7), device side, shared by every
 * virtio device of the virtio-mmio plugin.  This module owns one queue's
 * device-side state (its cursors, negotiated ring features and whether the
 * driver broke it) and every access to the queue's three guest areas; it
 * knows nothing of the transport's registers or of any device type.  The
 * transport calls vq_init once the driver set QueueReady and vq_reset on a
 * device reset; devices pop chains, copy through them and push them back.
 *
 * The driver is not trusted.  Guest memory is reached only through the host's
 * bounds-checked accessors, every descriptor is read once into a local copy
 * (the guest may rewrite the table meanwhile), every chain is walked with a
 * counter, and every rule of the spec the driver can break is checked.  A
 * broken rule returns a negative errno and marks the queue broken: it then
 * refuses all work until vq_reset, and the transport sets DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: the caller serialises calls on one queue (the core's
 * per-device lock does).  Ordering against the guest's vCPUs is this module's
 * business: acquire after reading avail.idx, release before publishing
 * used.idx, a full fence between publishing and reading the other side's
 * event index or flags.
 */
#ifndef AVMM_VIRTIO_VIRTQUEUE_H
#define AVMM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <avmm/avmm.h>

#define VQ_MAX_SIZE 32768u

/* Ring feature bits, at their virtio feature-word positions. */
#define VQ_F_INDIRECT_DESC (1ull << 28)
#define VQ_F_EVENT_IDX (1ull << 29)
#define VQ_FEATURES (VQ_F_INDIRECT_DESC | VQ_F_EVENT_IDX)

/* Ring layout (section 2.7): byte sizes and required alignments of the areas. */
#define VQ_DESC_SIZE 16u
#define VQ_DESC_ALIGN 16u
#define VQ_AVAIL_ALIGN 2u
#define VQ_USED_ALIGN 4u
#define VQ_DESC_AREA(size) ((uint64_t)(size) * 16u)
#define VQ_AVAIL_AREA(size) (6u + (uint64_t)(size) * 2u)
#define VQ_USED_AREA(size) (6u + (uint64_t)(size) * 8u)

struct vq {
	const struct avmm_host *host;
	struct avmm_dev *dev;

	bool ready;  /* vq_init succeeded and no vq_reset since */
	bool broken; /* the driver broke a rule: no work until vq_reset */
	uint16_t size;
	uint64_t desc, avail, used; /* guest physical addresses of the areas */
	uint64_t features;          /* negotiated VQ_F_* */

	bool kicks_off; /* vq_disable_notify since the last vq_enable_notify */
	uint16_t last_avail_idx; /* next avail.ring slot to pop */
	uint16_t used_idx;       /* next used.ring slot; used.idx once published */

	/* used_idx when the last interrupt decision was made (vq_should_notify) */
	uint16_t signalled_used;
	bool signalled_valid;
};

/* One buffer of a chain: guest physical, wholly in guest RAM when popped. */
struct vq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/*
 * A popped chain.  The caller provides `seg` with room for `max_seg` entries
 * (the queue size covers every valid chain; vq_pop never allocates).  The
 * device-readable segments come first: seg[0 .. nread), then the writable
 * ones seg[nread .. nseg).
 */
struct vq_chain {
	struct vq_seg *seg;
	unsigned max_seg;

	uint16_t head; /* the id to give back to vq_push */
	unsigned nseg, nread;
	uint64_t read_len, write_len; /* byte totals of each part */
};

/* Bind a zeroed, not-ready queue to the host table and device. */
void vq_setup(struct vq *vq, const struct avmm_host *host, struct avmm_dev *dev);

/*
 * A driver's QueueNum: 0 when it is a power of two no larger than `max`
 * (QueueNumMax, itself at most VQ_MAX_SIZE), else -EINVAL.
 */
int vq_validate_config(uint32_t size, uint32_t max);

/*
 * Make the queue ready with the driver's layout and negotiated features
 * (bits outside VQ_FEATURES are ignored).  -EINVAL for a bad size, -EFAULT
 * when an area is misaligned or not wholly in guest RAM; the queue then stays
 * not ready.  The cursors start at 0.
 */
int vq_init(struct vq *vq, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used,
	    uint64_t features);

/* Back to not ready (device reset, QueueReady = 0); keeps vq_setup's binding. */
void vq_reset(struct vq *vq);

/*
 * Pop the next available chain into *out: 1 popped, 0 none available, or a
 * negative errno for a driver error (the queue is then broken; -EIO on every
 * later call).  -ENOBUFS when the chain is valid but longer than
 * out->max_seg.  -ENODEV when the queue is not ready.
 */
int vq_pop(struct vq *vq, struct vq_chain *out);

/*
 * Give chain `head` back with `len` bytes written into its writable part:
 * writes used.ring[] then publishes used.idx.  -EINVAL for a head that was not
 * popped (a device bug: more pushes than pops, or head >= size), -EIO when
 * broken, -ENODEV when not ready.
 */
int vq_push(struct vq *vq, uint16_t head, uint32_t len);

/*
 * After one or more vq_push: whether the driver wants a used-buffer
 * interrupt for what was pushed since the last call (used_event with
 * EVENT_IDX, else avail.flags NO_INTERRUPT).  True when in doubt.
 */
bool vq_should_notify(struct vq *vq);

/*
 * Available-buffer notifications (kicks), on after vq_init.  Disable while
 * draining the queue; vq_enable_notify re-enables them and then looks again:
 * 1 when buffers arrived meanwhile (keep popping: that kick may never come),
 * 0 when the queue is empty, a negative errno as for vq_pop.  With EVENT_IDX
 * and kicks on, every vq_pop also moves avail_event past what it popped, so
 * a device that never disables them is still kicked for each new buffer.
 */
void vq_disable_notify(struct vq *vq);
int vq_enable_notify(struct vq *vq);

/*
 * Copy between `buf` and the chain's readable (vq_chain_read) or writable
 * (vq_chain_write) part, starting `off` bytes into that part.  Returns the
 * bytes copied: less than `len` when the part ends first; -EFAULT if guest
 * memory went away.
 */
ssize_t vq_chain_read(const struct vq *vq, const struct vq_chain *c, uint64_t off, void *buf,
		      size_t len);
ssize_t vq_chain_write(const struct vq *vq, const struct vq_chain *c, uint64_t off,
		       const void *buf, size_t len);

#endif
