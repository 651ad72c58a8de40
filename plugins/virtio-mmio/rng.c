/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 section 5.4): one request queue whose chains are
 * device-writable buffers the device fills with entropy from the host's
 * CSPRNG (getrandom() on Linux, arc4random_buf() on macOS).  No features, no
 * config space.  Requests are served on the I/O thread from the doorbell: a
 * getrandom() of at most VRNG_MAX_PER_REQ bytes per chain does not block once
 * the host's pool is initialised, and the bound keeps one huge buffer from
 * holding the I/O thread (the rest of it is simply not filled: the used
 * length says how much was, which the driver honours).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__APPLE__)
#include <sys/random.h> /* getrandom; macOS has arc4random_buf in stdlib.h */
#endif

#include "transport.h"
#include "vdev.h"

#define VIRTIO_ID_RNG 4u
#define VRNG_QUEUE_SIZE 64u
#define VRNG_MAX_PER_REQ 4096u

struct vrng {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	struct vtrans *t;
	struct vq_seg seg[VRNG_QUEUE_SIZE];
};

static int rng_fill(void *buf, size_t len)
{
#if defined(__APPLE__)
	arc4random_buf(buf, len);
	return 0;
#else
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
#endif
}

static void vrng_notify(void *opaque, unsigned q)
{
	struct vrng *r = opaque;
	struct vq *vq = vtrans_vq(r->t, q);
	uint8_t buf[VRNG_MAX_PER_REQ];
	bool pushed = false;

	for (;;) {
		struct vq_chain c = {.seg = r->seg, .max_seg = VRNG_QUEUE_SIZE};
		int rc = vq_pop(vq, &c);
		if (rc == 0)
			break;
		if (rc < 0) {
			vtrans_needs_reset(r->t);
			break;
		}
		size_t len = c.write_len < sizeof(buf) ? (size_t)c.write_len : sizeof(buf);
		ssize_t done = 0;
		if (len && rng_fill(buf, len) == 0)
			done = vq_chain_write(vq, &c, 0, buf, len);
		if (done < 0)
			done = 0;
		if (vq_push(vq, c.head, (uint32_t)done) == 0)
			pushed = true;
	}
	if (pushed)
		vtrans_notify_used(r->t, q);
}

static void vrng_reset_cb(void *opaque)
{
	(void)opaque; /* nothing in flight: every request completes in notify */
}

static const uint16_t vrng_qmax[1] = {VRNG_QUEUE_SIZE};

static const struct vtype_ops vrng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.features = VQ_FEATURES,
	.nr_queues = 1,
	.queue_num_max = vrng_qmax,
	.notify = vrng_notify,
	.reset = vrng_reset_cb,
};

static int vrng_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		       char *err, size_t errlen)
{
	struct vrng *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->host = host;
	r->dev = dev;
	struct vtrans_config cfg = {.ops = &vrng_ops, .opaque = r};
	int rc = vtrans_create(dev, host, &cfg, &r->t, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	*state = r;
	return 0;
}

static void vrng_destroy(void *state)
{
	struct vrng *r = state;
	vtrans_destroy(r->t);
	free(r);
}

static struct vtrans *vrng_transport(void *state)
{
	return ((struct vrng *)state)->t;
}

const struct vdev_type vrng_type = {
	.name = "rng",
	.summary = "entropy source",
	.create = vrng_create,
	.destroy = vrng_destroy,
	.transport = vrng_transport,
};
