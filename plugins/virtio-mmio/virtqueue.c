/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side: see virtqueue.h for what this owns.
 * Layout and rules from virtio 1.2 section 2.7: the descriptor table and its
 * indirect tables, the available and used rings, and event suppression
 * (VIRTIO_F_EVENT_IDX).  Written from the specification.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "virtqueue.h"

#define DESC_F_NEXT 1u
#define DESC_F_WRITE 2u
#define DESC_F_INDIRECT 4u

#define AVAIL_F_NO_INTERRUPT 1u /* avail.flags */
#define USED_F_NO_NOTIFY 1u     /* used.flags */

/* Offsets inside the areas. */
#define RING_FLAGS 0u
#define RING_IDX 2u
#define RING_ENTRIES 4u
#define USED_ELEM_SIZE 8u

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtqueue.c assumes a little-endian host, as the rings are"
#endif

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static inline uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * [gpa, gpa + len) lies wholly in guest RAM.  The host's guest_ptr is written
 * so that no sum wraps, so a range running past 2^64 is refused there.
 */
static bool range_ok(const struct vq *vq, uint64_t gpa, uint64_t len)
{
	return len == 0 || vq->host->guest_ptr(vq->dev, gpa, len) != NULL;
}

/*
 * The 16-bit index and flag fields are shared with a vCPU writing them
 * concurrently: single-copy atomic accesses (the areas are aligned, vq_init
 * checked), ordered by the explicit fences at the call sites.
 */
static int load16(const struct vq *vq, uint64_t gpa, uint16_t *v)
{
	uint16_t *p = vq->host->guest_ptr(vq->dev, gpa, 2);

	if (!p)
		return -EFAULT;
	*v = __atomic_load_n(p, __ATOMIC_RELAXED);
	return 0;
}

static int store16(const struct vq *vq, uint64_t gpa, uint16_t v)
{
	uint16_t *p = vq->host->guest_ptr(vq->dev, gpa, 2);

	if (!p)
		return -EFAULT;
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
	return 0;
}

void vq_setup(struct vq *vq, const struct avmm_host *host, struct avmm_dev *dev)
{
	memset(vq, 0, sizeof(*vq));
	vq->host = host;
	vq->dev = dev;
}

int vq_validate_config(uint32_t size, uint32_t max)
{
	if (max > VQ_MAX_SIZE)
		return -EINVAL;
	if (size == 0 || size > max || (size & (size - 1)))
		return -EINVAL;
	return 0;
}

void vq_reset(struct vq *vq)
{
	vq_setup(vq, vq->host, vq->dev);
}

int vq_init(struct vq *vq, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used,
	    uint64_t features)
{
	vq_reset(vq);
	if (vq_validate_config(size, VQ_MAX_SIZE))
		return -EINVAL;
	if (desc % VQ_DESC_ALIGN || avail % VQ_AVAIL_ALIGN || used % VQ_USED_ALIGN)
		return -EFAULT;
	/* The whole areas, used_event and avail_event included (2.7). */
	if (!range_ok(vq, desc, VQ_DESC_AREA(size)) || !range_ok(vq, avail, VQ_AVAIL_AREA(size)) ||
	    !range_ok(vq, used, VQ_USED_AREA(size)))
		return -EFAULT;
	vq->size = (uint16_t)size;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->features = features & VQ_FEATURES;
	vq->ready = true;
	return 0;
}

static uint64_t avail_event_gpa(const struct vq *vq)
{
	return vq->used + RING_ENTRIES + USED_ELEM_SIZE * vq->size;
}

static int vq_fail(struct vq *vq, int err)
{
	vq->broken = true;
	return err;
}

static int read_desc(const struct vq *vq, uint64_t table, unsigned i, struct desc *d)
{
	uint8_t raw[VQ_DESC_SIZE];

	if (vq->host->guest_read(vq->dev, table + (uint64_t)i * VQ_DESC_SIZE, raw, sizeof(raw)))
		return -EFAULT;
	d->addr = (uint64_t)le32_at(raw) | (uint64_t)le32_at(raw + 4) << 32;
	d->len = le32_at(raw + 8);
	d->flags = le16_at(raw + 12);
	d->next = le16_at(raw + 14);
	return 0;
}

/*
 * How many chains the driver made available beyond last_avail_idx.  It can
 * have at most `size` chains outstanding (popped or not, each needs a
 * descriptor until it is used), so a larger distance from used_idx is a
 * driver error, not a reason to loop.  The acquire fence orders the ring and
 * descriptor reads after the index read.
 */
static int avail_pending(struct vq *vq, uint16_t *pending)
{
	uint16_t idx;

	if (load16(vq, vq->avail + RING_IDX, &idx))
		return vq_fail(vq, -EFAULT);
	if ((uint16_t)(idx - vq->used_idx) > vq->size)
		return vq_fail(vq, -EOVERFLOW);
	atomic_thread_fence(memory_order_acquire);
	*pending = (uint16_t)(idx - vq->last_avail_idx);
	return 0;
}

/*
 * Walk the chain starting at `head` into *out.  A chain, indirect entries
 * included, is at most `size` buffers long (2.7): counting them is what
 * catches a loop, and with at most one indirect descriptor the walk takes at
 * most size + 1 steps whatever the tables hold.
 */
static int walk_chain(struct vq *vq, uint16_t head, struct vq_chain *out)
{
	uint64_t table = vq->desc;
	unsigned entries = vq->size, i = head;
	bool indirect = false;
	uint64_t total = 0;

	out->head = head;
	out->nseg = out->nread = 0;
	out->read_len = out->write_len = 0;
	if (head >= vq->size)
		return -ERANGE;
	for (;;) {
		struct desc d;

		if (read_desc(vq, table, i, &d))
			return -EFAULT;

		if (d.flags & DESC_F_INDIRECT) {
			/* Negotiated, one level, no NEXT; its WRITE flag is ignored. */
			if (!(vq->features & VQ_F_INDIRECT_DESC))
				return -EPROTO;
			if (indirect)
				return -EMLINK;
			if (d.flags & DESC_F_NEXT)
				return -EINVAL;
			if (d.len == 0 || d.len % VQ_DESC_SIZE || d.len / VQ_DESC_SIZE > vq->size)
				return -EBADMSG;
			if (!range_ok(vq, d.addr, d.len))
				return -EFAULT;
			indirect = true;
			table = d.addr;
			entries = d.len / VQ_DESC_SIZE;
			i = 0;
			continue;
		}

		bool write = d.flags & DESC_F_WRITE;
		/* Device-readable buffers come before device-writable ones. */
		if (!write && out->nseg > out->nread)
			return -EINVAL;
		if (!range_ok(vq, d.addr, d.len))
			return -EFAULT;
		total += d.len;
		if (total > (1ull << 32))
			return -EMSGSIZE;
		if (out->nseg >= vq->size)
			return -ELOOP;
		if (out->nseg >= out->max_seg)
			return -ENOBUFS;
		out->seg[out->nseg++] = (struct vq_seg){.gpa = d.addr, .len = d.len, .write = write};
		if (write) {
			out->write_len += d.len;
		} else {
			out->nread++;
			out->read_len += d.len;
		}

		if (!(d.flags & DESC_F_NEXT))
			return 0;
		if (d.next >= entries)
			return -ERANGE;
		i = d.next;
	}
}

int vq_pop(struct vq *vq, struct vq_chain *out)
{
	uint16_t pending, head;
	int ret;

	if (!vq->ready)
		return -ENODEV;
	if (vq->broken)
		return -EIO;
	ret = avail_pending(vq, &pending);
	if (ret || pending == 0)
		return ret;

	uint64_t slot = vq->avail + RING_ENTRIES + 2u * (vq->last_avail_idx & (vq->size - 1));
	if (load16(vq, slot, &head))
		return vq_fail(vq, -EFAULT);
	ret = walk_chain(vq, head, out);
	if (ret)
		return vq_fail(vq, ret);
	vq->last_avail_idx++;
	if ((vq->features & VQ_F_EVENT_IDX) && !vq->kicks_off &&
	    store16(vq, avail_event_gpa(vq), vq->last_avail_idx))
		return vq_fail(vq, -EFAULT);
	return 1;
}

int vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	uint8_t elem[USED_ELEM_SIZE];

	if (!vq->ready)
		return -ENODEV;
	if (vq->broken)
		return -EIO;
	if (head >= vq->size || vq->used_idx == vq->last_avail_idx)
		return -EINVAL;
	put_le32(elem, head);
	put_le32(elem + 4, len);
	uint64_t slot = vq->used + RING_ENTRIES + USED_ELEM_SIZE * (vq->used_idx & (vq->size - 1));
	if (vq->host->guest_write(vq->dev, slot, elem, sizeof(elem)))
		return vq_fail(vq, -EFAULT);
	/* The element and the buffer contents before the index that publishes them. */
	atomic_thread_fence(memory_order_release);
	if (store16(vq, vq->used + RING_IDX, (uint16_t)(vq->used_idx + 1)))
		return vq_fail(vq, -EFAULT);
	vq->used_idx++;
	return 0;
}

/* The spec's vring_need_event: `event` lies in [old, new), the indices just passed. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct vq *vq)
{
	uint16_t old = vq->signalled_used, v;
	bool valid = vq->signalled_valid;

	if (!vq->ready)
		return false;
	if (valid && old == vq->used_idx)
		return false;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	/* used.idx was stored; the driver's suppression state must be read after it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->features & VQ_F_EVENT_IDX) {
		if (load16(vq, vq->avail + RING_ENTRIES + 2u * vq->size, &v))
			return true;
		return !valid || need_event(v, vq->used_idx, old);
	}
	if (load16(vq, vq->avail + RING_FLAGS, &v))
		return true;
	return !(v & AVAIL_F_NO_INTERRUPT);
}

void vq_disable_notify(struct vq *vq)
{
	/* Already off: nothing to store (net's receive path asks per frame). */
	if (!vq->ready || vq->broken || vq->kicks_off)
		return;
	vq->kicks_off = true;
	/* With EVENT_IDX, avail_event simply stays behind: no kick past it. */
	if (!(vq->features & VQ_F_EVENT_IDX))
		store16(vq, vq->used + RING_FLAGS, USED_F_NO_NOTIFY);
}

int vq_enable_notify(struct vq *vq)
{
	uint16_t pending;
	int ret;

	if (!vq->ready)
		return -ENODEV;
	if (vq->broken)
		return -EIO;
	vq->kicks_off = false;
	if (vq->features & VQ_F_EVENT_IDX)
		ret = store16(vq, avail_event_gpa(vq), vq->last_avail_idx);
	else
		ret = store16(vq, vq->used + RING_FLAGS, 0);
	if (ret)
		return vq_fail(vq, ret);
	/*
	 * A driver that added a buffer before it could see the store above did
	 * not kick: look again, after a full fence (store, then load).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	ret = avail_pending(vq, &pending);
	if (ret)
		return ret;
	return pending != 0;
}

/*
 * Copy over segments [first, last) of c, skipping `off` bytes of them: into
 * `in` from the guest, or from `out` to it.  Only the segments the caller
 * names are touched, so a write never reaches the readable part.
 */
static ssize_t chain_copy(const struct vq *vq, const struct vq_chain *c, unsigned first,
			  unsigned last, uint64_t off, uint8_t *in, const uint8_t *out,
			  size_t len)
{
	size_t done = 0;

	for (unsigned s = first; s < last && done < len; s++) {
		const struct vq_seg *seg = &c->seg[s];

		if (off >= seg->len) {
			off -= seg->len;
			continue;
		}
		uint64_t n = seg->len - off;
		if (n > len - done)
			n = len - done;
		int ret = out ? vq->host->guest_write(vq->dev, seg->gpa + off, out + done, n)
			      : vq->host->guest_read(vq->dev, seg->gpa + off, in + done, n);
		if (ret)
			return -EFAULT;
		done += n;
		off = 0;
	}
	return (ssize_t)done;
}

ssize_t vq_chain_read(const struct vq *vq, const struct vq_chain *c, uint64_t off, void *buf,
		      size_t len)
{
	return chain_copy(vq, c, 0, c->nread, off, buf, NULL, len);
}

ssize_t vq_chain_write(const struct vq *vq, const struct vq_chain *c, uint64_t off,
		       const void *buf, size_t len)
{
	return chain_copy(vq, c, c->nread, c->nseg, off, NULL, buf, len);
}
