/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2 section 5.3) with one port and no MULTIPORT:
 * queue 0 is port 0's receiveq (host to guest), queue 1 its transmitq.  No
 * device-type features are offered; the config space is the 1.2 struct
 * (cols, rows, max_nr_ports, emerg_wr), all zero, because Linux reads cols
 * and rows on every configuration-change interrupt without MULTIPORT whether
 * or not F_SIZE was negotiated.  This module owns the port's state: the
 * receive chain it holds for input, the transmit chain still being written,
 * and the character backend of key `chardev` (as pl011's, default stdio).
 *
 * Everything runs on the I/O thread under the device lock (doorbell, chardev
 * input, the retry timer), so there is no worker and no lock of our own.
 *
 * Flow control, both ways:
 *  - Input: can_receive pops one posted receive chain and offers its
 *    writable room; receive fills it and gives it back at once (a console
 *    wants the byte now, not a full buffer).  No chain posted, or the queue
 *    not live: room 0, and the chardev holds input back until a kick on the
 *    receiveq (or DRIVER_OK) calls chr_accept_input.
 *  - Output: a chain whose bytes chr_write does not take whole stays held,
 *    with its offset, and is retried from a 1 ms timer: the chardev has no
 *    writable callback, and it already drops output on its own when there
 *    is no reader at all (null, no unix client).  Linux's hvc put_chars
 *    spins with interrupts off until the buffer comes back, so a reader
 *    that takes nothing at all for VCONS_TX_STALL_NS (terminal stopped
 *    with Ctrl-S, a wedged pipe) must not hold the guest forever: then
 *    output is dropped, at once, until the backend takes some again.  A
 *    slow reader that keeps taking bytes gets everything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"
#include "vdev.h"

#define VIRTIO_ID_CONSOLE 3u
#define VCONS_RXQ 0u
#define VCONS_TXQ 1u
#define VCONS_QUEUE_SIZE 64u
#define VCONS_CONFIG_SIZE 12u /* cols, rows (le16), max_nr_ports, emerg_wr (le32) */
#define VCONS_RX_MAX 65536u   /* room offered per receive chain */
#define VCONS_TX_CHUNK 4096u  /* bytes copied out of guest memory per chr_write */
#define VCONS_TX_BUDGET (64u * 1024) /* bytes per I/O-thread pass before yielding */
#define VCONS_TX_RETRY_NS 1000000ull           /* 1 ms */
#define VCONS_TX_STALL_NS (100ull * 1000000)   /* 100 ms without progress */

struct vcons {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	struct vtrans *t;
	struct avmm_chr *chr;
	struct avmm_timer *tx_timer;

	/* receiveq: the chain can_receive popped, not yet given back */
	bool rx_held;
	bool rx_blocked; /* can_receive said 0: the chardev waits for accept_input */
	struct vq_chain rx;
	struct vq_seg rx_seg[VCONS_QUEUE_SIZE];

	/* transmitq: the chain being written, tx_off bytes of it done */
	bool tx_held;
	uint64_t tx_off;
	struct vq_chain tx;
	struct vq_seg tx_seg[VCONS_QUEUE_SIZE];
	bool tx_stalled;         /* the last write was short */
	uint64_t tx_stall_start; /* clock_ns of the last progress while stalled */
	bool tx_dropping;        /* no progress for VCONS_TX_STALL_NS: drop, logged once */
};

/* ---- receiveq ----------------------------------------------------------- */

static size_t vcons_can_receive(void *opaque)
{
	struct vcons *s = opaque;
	struct vq *vq = vtrans_vq(s->t, VCONS_RXQ);
	bool pushed = false;

	while (!s->rx_held) {
		if (!vtrans_queue_live(s->t, VCONS_RXQ) || vq->broken)
			break;
		s->rx = (struct vq_chain){.seg = s->rx_seg, .max_seg = VCONS_QUEUE_SIZE};
		int rc = vq_pop(vq, &s->rx);
		if (rc < 0)
			vtrans_needs_reset(s->t);
		if (rc <= 0)
			break;
		if (!s->rx.write_len) {
			/* Nothing to write into: give it back empty, try the next. */
			if (vq_push(vq, s->rx.head, 0) == 0)
				pushed = true;
			continue;
		}
		s->rx_held = true;
	}
	if (pushed)
		vtrans_notify_used(s->t, VCONS_RXQ);
	if (!s->rx_held) {
		s->rx_blocked = true;
		return 0;
	}
	return s->rx.write_len < VCONS_RX_MAX ? (size_t)s->rx.write_len : VCONS_RX_MAX;
}

static void vcons_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcons *s = opaque;
	struct vq *vq = vtrans_vq(s->t, VCONS_RXQ);

	/* The chardev passes at most what can_receive offered, right after it. */
	if (!s->rx_held || !vtrans_queue_live(s->t, VCONS_RXQ))
		return;
	ssize_t done = vq_chain_write(vq, &s->rx, 0, buf, len);
	if (done < 0)
		done = 0;
	s->rx_held = false;
	if (vq_push(vq, s->rx.head, (uint32_t)done) == 0)
		vtrans_notify_used(s->t, VCONS_RXQ);
}

/* New receive buffers may be there: let held-back input flow again. */
static void vcons_rx_unblock(struct vcons *s)
{
	if (s->rx_blocked) {
		s->rx_blocked = false;
		s->host->chr_accept_input(s->chr);
	}
}

static const struct avmm_chr_handlers vcons_chr_handlers = {
	.struct_size = sizeof(struct avmm_chr_handlers),
	.can_receive = vcons_can_receive,
	.receive = vcons_receive,
};

/* ---- transmitq ---------------------------------------------------------- */

enum vcons_tx_state {
	TX_DONE,  /* the held chain is written (or dropped): give it back */
	TX_FULL,  /* the backend is full: retry the rest in VCONS_TX_RETRY_NS */
	TX_YIELD, /* the pass's budget is spent: go on right after */
};

/* Write the held chain's readable bytes from tx_off on. */
static enum vcons_tx_state vcons_tx_chain(struct vcons *s, struct vq *vq, size_t *budget)
{
	uint8_t buf[VCONS_TX_CHUNK];

	while (s->tx_off < s->tx.read_len) {
		if (!*budget)
			return TX_YIELD;
		uint64_t left = s->tx.read_len - s->tx_off;
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = vq_chain_read(vq, &s->tx, s->tx_off, buf, want);
		if (n <= 0) {
			s->tx_off = s->tx.read_len; /* guest memory went away: nothing to send */
			break;
		}
		ssize_t w = s->host->chr_write(s->chr, buf, (size_t)n);
		if (w < 0 || w > n)
			w = n; /* the backend failed for good: waiting would not help */
		s->tx_off += (uint64_t)w;
		*budget -= *budget > (size_t)n ? (size_t)n : *budget;
		if (w == n) {
			s->tx_stalled = false;
			continue;
		}
		/* Short: the backend's queue is full.  Progress restarts the clock. */
		uint64_t now = s->host->clock_ns();
		if (w > 0 || !s->tx_stalled) {
			s->tx_stalled = true;
			s->tx_stall_start = now;
			s->tx_dropping = false;
		} else if (now - s->tx_stall_start >= VCONS_TX_STALL_NS) {
			if (!s->tx_dropping)
				s->host->log(s->dev, AVMM_LOG_WARN,
					     "virtio-console: output backend took nothing for "
					     "%llu ms: dropping output until it takes some again",
					     (unsigned long long)(VCONS_TX_STALL_NS / 1000000));
			s->tx_dropping = true;
			s->tx_off += (uint64_t)n; /* w == 0 */
			continue;
		}
		return TX_FULL;
	}
	return TX_DONE;
}

/* Send what the transmitq holds, as far as the backend takes it. */
static void vcons_tx(struct vcons *s)
{
	struct vq *vq = vtrans_vq(s->t, VCONS_TXQ);
	size_t budget = VCONS_TX_BUDGET;
	bool pushed = false;

	if (!vtrans_queue_live(s->t, VCONS_TXQ))
		return;
	for (;;) {
		if (!s->tx_held) {
			if (vq->broken)
				break;
			if (!budget) {
				s->host->timer_mod(s->tx_timer, s->host->clock_ns());
				break;
			}
			budget--; /* a chain costs a byte, however short */
			s->tx = (struct vq_chain){.seg = s->tx_seg, .max_seg = VCONS_QUEUE_SIZE};
			int rc = vq_pop(vq, &s->tx);
			if (rc < 0)
				vtrans_needs_reset(s->t);
			if (rc <= 0)
				break;
			s->tx_held = true;
			s->tx_off = 0;
		}
		enum vcons_tx_state st = vcons_tx_chain(s, vq, &budget);
		if (st != TX_DONE) {
			/* Yield to the rest of the I/O thread, or wait for room. */
			uint64_t delay = st == TX_FULL ? VCONS_TX_RETRY_NS : 0;
			s->host->timer_mod(s->tx_timer, s->host->clock_ns() + delay);
			break;
		}
		/* The device writes nothing into a transmit buffer: used length 0. */
		s->tx_held = false;
		if (vq_push(vq, s->tx.head, 0) == 0)
			pushed = true;
	}
	if (pushed)
		vtrans_notify_used(s->t, VCONS_TXQ);
}

static void vcons_tx_timer(void *opaque)
{
	vcons_tx(opaque);
}

static void vcons_tx_drop(struct vcons *s)
{
	s->host->timer_del(s->tx_timer);
	s->tx_held = false;
	s->tx_off = 0;
	s->tx_stalled = s->tx_dropping = false;
}

/* ---- transport hooks ---------------------------------------------------- */

static int vcons_config_read(void *opaque, uint32_t offset, unsigned size, uint32_t *value)
{
	(void)opaque, (void)offset, (void)size;
	*value = 0; /* no size (F_SIZE not offered), no ports (no MULTIPORT) */
	return 0;
}

static void vcons_notify(void *opaque, unsigned q)
{
	struct vcons *s = opaque;

	if (q == VCONS_RXQ)
		vcons_rx_unblock(s);
	else
		vcons_tx(s);
}

static void vcons_driver_ok(void *opaque)
{
	struct vcons *s = opaque;

	/* Buffers made available before DRIVER_OK had no kick that counted. */
	vcons_rx_unblock(s);
	vcons_tx(s);
}

static void vcons_queue_stop(void *opaque, unsigned q)
{
	struct vcons *s = opaque;

	/* The chains we hold belong to the ring the driver is taking back. */
	if (q == VCONS_RXQ)
		s->rx_held = false;
	else
		vcons_tx_drop(s);
}

static void vcons_reset_cb(void *opaque)
{
	struct vcons *s = opaque;

	s->rx_held = false;
	vcons_tx_drop(s);
}

static const uint16_t vcons_qmax[2] = {VCONS_QUEUE_SIZE, VCONS_QUEUE_SIZE};

static const struct vtype_ops vcons_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.features = VQ_FEATURES,
	.nr_queues = 2,
	.queue_num_max = vcons_qmax,
	.config_size = VCONS_CONFIG_SIZE,
	.config_read = vcons_config_read,
	.driver_ok = vcons_driver_ok,
	.notify = vcons_notify,
	.reset = vcons_reset_cb,
	.queue_stop = vcons_queue_stop,
};

/* ---- plugin hooks ------------------------------------------------------- */

static int vcons_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
			char *err, size_t errlen)
{
	struct vcons *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->host = host;
	s->dev = dev;

	int rc = host->chr_open(dev, "chardev", "stdio", &s->chr);
	if (rc) {
		/* -EINVAL: the host already reported it at the key. */
		if (rc != -EINVAL)
			snprintf(err, errlen, "cannot open character backend: %s", strerror(-rc));
		goto fail;
	}
	rc = host->timer_new(dev, vcons_tx_timer, s, &s->tx_timer);
	if (rc) {
		snprintf(err, errlen, "cannot create output retry timer: %s", strerror(-rc));
		goto fail;
	}
	struct vtrans_config cfg = {.ops = &vcons_ops, .opaque = s};
	rc = vtrans_create(dev, host, &cfg, &s->t, err, errlen);
	if (rc)
		goto fail;
	rc = host->chr_set_handlers(s->chr, &vcons_chr_handlers, s);
	if (rc) {
		snprintf(err, errlen, "cannot attach to character backend: %s", strerror(-rc));
		vtrans_destroy(s->t);
		goto fail;
	}
	*state = s;
	return 0;

fail:
	if (s->tx_timer)
		host->timer_free(s->tx_timer);
	free(s);
	return rc;
}

static void vcons_destroy(void *state)
{
	struct vcons *s = state;

	/* The chardev outlives us (the core closes it): no input into freed state. */
	s->host->chr_set_handlers(s->chr, NULL, NULL);
	s->host->timer_free(s->tx_timer);
	vtrans_destroy(s->t);
	free(s);
}

static int vcons_fdt_populate(void *state, void *fdt)
{
	return vtrans_fdt_populate(((struct vcons *)state)->t, fdt);
}

static void vcons_reset(void *state)
{
	vtrans_reset(((struct vcons *)state)->t);
}

const struct vdev_type vcons_type = {
	.name = "console",
	.summary = "console",
	.create = vcons_create,
	.destroy = vcons_destroy,
	.fdt_populate = vcons_fdt_populate,
	.reset = vcons_reset,
};
