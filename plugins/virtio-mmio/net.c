/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 section 5.1) with one queue pair and no control
 * queue: queue 0 is the receiveq, queue 1 the transmitq.  Offered: MAC,
 * MTU, STATUS and MRG_RXBUF; with a backend that carries vnet headers (the
 * tap) also the checksum and TCP segmentation offloads both ways: CSUM,
 * HOST_TSO4/6, HOST_ECN (the driver's partial checksums and GSO frames go
 * to the backend as they are) and GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN
 * (the backend's go to the driver; at DRIVER_OK the backend is told to use
 * just what was negotiated, at reset nothing).  No UFO.  Config space:
 * mac[6], status (le16: LINK_UP while the backend's peer is there),
 * max_virtqueue_pairs (le16, 1), mtu (le16).  Every buffer starts with the
 * 12-byte struct virtio_net_hdr (VERSION_1 always has num_buffers).  On
 * transmit the device checks it (flags and gso_type only as negotiated,
 * the checksum within the frame, a GSO frame with a partial checksum,
 * gso_size and hdr_len): a bad one drops the chain and is counted.  It
 * then passes it on (num_buffers 0) to a vnet-header backend, strips it
 * for the others.  On receive it writes the backend's header, checked the
 * same way against the guest's features, or an all-zero one, with
 * num_buffers.  This module owns the device's queues' use and its backend
 * (net_backend.h) named by key `net`.
 *
 * Keys: `mac` (xx:xx:xx:xx:xx:xx, unicast; default 02:XX:XX:XX:XX:XX with
 * the last five bytes from the FNV-1a hash of the device name, so a guest
 * keeps its address, and its DHCP lease, across runs), `mtu` (68..65535,
 * default 1500), `net` (user, unixgram:PATH, unixstream:PATH or tap:NAME;
 * the backends' own keys are theirs).
 *
 * Everything runs on the I/O thread under the device lock (doorbell,
 * backend watches, the transmit timer): no worker and no lock of our own.
 *
 * Receive never allocates and never spins: a frame is written into chains
 * popped from the receiveq (several with MRG_RXBUF, held across frames
 * until used).  When the posted chains are not enough yet, the frame is
 * kept in one fixed staging buffer and the backend stops reading (frames
 * then wait in the host's socket buffer) until the driver posts more and
 * kicks queue 0.  A frame the posted buffers can never hold (all of the
 * queue is held, or one chain without MRG_RXBUF is too short), a runt, or
 * one past NETBE_FRAME_MAX is dropped and counted.  Transmit drops and
 * counts chains shorter than the header or longer than the header plus
 * NETBE_FRAME_MAX; a backend that is full holds the chain until it is
 * writable again.  The driver is asked to kick a queue only when the
 * device waits on it: the receiveq once its buffers ran out, the transmitq
 * once it is drained, never while a chain waits for the backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "net_backend.h"
#include "transport.h"
#include "vdev.h"

#define VIRTIO_ID_NET 1u
#define VNET_RXQ 0u
#define VNET_TXQ 1u
#define VNET_QUEUE_SIZE 256u
#define VNET_HDR_LEN 12u
#define VNET_CONFIG_SIZE 12u
#define VNET_ETH_HLEN 14u
#define VNET_RX_HELD 64u   /* receive chains held for one frame at most */
#define VNET_TX_BUDGET 256u /* chains per I/O-thread pass before yielding */

#define VIRTIO_NET_F_CSUM (1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MTU (1ull << 3)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ull << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ull << 8)
#define VIRTIO_NET_F_GUEST_ECN (1ull << 9)
#define VIRTIO_NET_F_GUEST_UFO (1ull << 10)
#define VIRTIO_NET_F_HOST_TSO4 (1ull << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ull << 12)
#define VIRTIO_NET_F_HOST_ECN (1ull << 13)
#define VIRTIO_NET_F_HOST_UFO (1ull << 14)
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15)
#define VIRTIO_NET_F_STATUS (1ull << 16)
#define VIRTIO_NET_S_LINK_UP 1u

/* Offered only over a backend that carries vnet headers. */
#define VNET_OFFLOAD_FEATURES                                                          \
	(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |         \
	 VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_HOST_TSO4 |     \
	 VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN)

/* struct virtio_net_hdr (5.1.6): flags, gso_type, then le16 hdr_len, gso_size, csum_start, csum_offset. */
#define VNET_HDR_F_NEEDS_CSUM 1u
#define VNET_HDR_F_DATA_VALID 2u
#define VNET_HDR_GSO_NONE 0u
#define VNET_HDR_GSO_TCPV4 1u
#define VNET_HDR_GSO_TCPV6 4u
#define VNET_HDR_GSO_ECN 0x80u

struct vnet_rx_chain {
	struct vq_chain c;
	struct vq_seg seg[VNET_QUEUE_SIZE];
};

struct vnet {
	const struct avmm_host *host;
	struct avmm_dev *dev;
	struct vtrans *t;
	struct vtype_ops ops; /* vnet_ops, with the offloads if the backend has vnet headers */
	struct netbe *be;
	struct avmm_timer *tx_timer;

	uint8_t mac[6];
	uint16_t mtu;
	bool link_up;
	struct vnet_stats st;

	/* receiveq: chains popped and not yet used, in pop order */
	struct vnet_rx_chain rx[VNET_RX_HELD];
	unsigned rx_held;
	size_t staged_len; /* 0: nothing staged */
	uint8_t staged_hdr[VNET_HDR_LEN];
	bool rx_paused;    /* can_receive said no: the backend waits for netbe_rx_resume */

	/* transmitq: the chain the backend was too full for, its frame in tx_buf */
	bool tx_held;
	uint16_t tx_head;
	size_t tx_len;
	struct vq_chain tx;
	struct vq_seg tx_seg[VNET_QUEUE_SIZE];

	uint8_t staged[NETBE_FRAME_MAX];
	uint8_t tx_buf[VNET_HDR_LEN + NETBE_FRAME_MAX];
};

const struct vnet_stats *vnet_stats(const void *state)
{
	return &((const struct vnet *)state)->st;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- the virtio_net_hdr --------------------------------------------------- */

/* What a header may use, in one direction. */
#define VH_CSUM 1u       /* NEEDS_CSUM */
#define VH_DATA_VALID 2u
#define VH_TSO4 4u
#define VH_TSO6 8u
#define VH_ECN 16u
#define VH_FROM_DRIVER 32u /* 5.1.6.2.1: GSO frames come with NEEDS_CSUM and hdr_len */

static unsigned vnet_tx_allowed(uint64_t f)
{
	return VH_FROM_DRIVER | (f & VIRTIO_NET_F_CSUM ? VH_CSUM : 0) |
	       (f & VIRTIO_NET_F_HOST_TSO4 ? VH_TSO4 : 0) |
	       (f & VIRTIO_NET_F_HOST_TSO6 ? VH_TSO6 : 0) |
	       (f & VIRTIO_NET_F_HOST_ECN ? VH_ECN : 0);
}

static unsigned vnet_rx_allowed(uint64_t f)
{
	return (f & VIRTIO_NET_F_GUEST_CSUM ? VH_CSUM | VH_DATA_VALID : 0) |
	       (f & VIRTIO_NET_F_GUEST_TSO4 ? VH_TSO4 : 0) |
	       (f & VIRTIO_NET_F_GUEST_TSO6 ? VH_TSO6 : 0) |
	       (f & VIRTIO_NET_F_GUEST_ECN ? VH_ECN : 0);
}

/*
 * Check header `h` of a `len`-byte frame against what `allow` permits:
 * NULL when it is fine, else what is wrong (for the log line).
 */
static const char *vnet_hdr_check(const uint8_t *h, size_t len, unsigned allow)
{
	unsigned flags = h[0], gso = h[1] & ~VNET_HDR_GSO_ECN;
	uint32_t hdr_len = get_le16(h + 2), gso_size = get_le16(h + 4);
	uint32_t csum_start = get_le16(h + 6), csum_offset = get_le16(h + 8);

	if (flags & ~(VNET_HDR_F_NEEDS_CSUM | (allow & VH_DATA_VALID ? VNET_HDR_F_DATA_VALID : 0)))
		return "flags not negotiated";
	if (flags & VNET_HDR_F_NEEDS_CSUM) {
		if (!(allow & VH_CSUM))
			return "a partial checksum, not negotiated";
		if (csum_start + csum_offset + 2 > len)
			return "a checksum past the frame";
	}
	if (gso == VNET_HDR_GSO_NONE) {
		if (h[1] & VNET_HDR_GSO_ECN)
			return "ECN without segmentation";
		return NULL;
	}
	if (!(gso == VNET_HDR_GSO_TCPV4 && (allow & VH_TSO4)) &&
	    !(gso == VNET_HDR_GSO_TCPV6 && (allow & VH_TSO6)))
		return "a gso_type unknown or not negotiated";
	if ((h[1] & VNET_HDR_GSO_ECN) && !(allow & VH_ECN))
		return "ECN segmentation, not negotiated";
	if (!gso_size)
		return "segmentation with gso_size 0";
	if (hdr_len > len)
		return "hdr_len past the frame";
	if ((allow & VH_FROM_DRIVER) && (!hdr_len || !(flags & VNET_HDR_F_NEEDS_CSUM)))
		return "segmentation without hdr_len or a partial checksum";
	return NULL;
}

/* ---- receiveq ----------------------------------------------------------- */

static bool vnet_mrg(struct vnet *n)
{
	return vtrans_features(n->t) & VIRTIO_NET_F_MRG_RXBUF;
}

/*
 * Hold chains until they cover `need` bytes: 1 they do, 0 not yet (more
 * buffers may come), -ENOSPC never (drop the frame).
 */
static int vnet_rx_gather(struct vnet *n, struct vq *vq, uint64_t need)
{
	bool mrg = vnet_mrg(n);
	bool pushed = false;
	int ret = 0;

	/*
	 * Receive kicks only matter while a frame waits for buffers: off
	 * otherwise, so the driver's refills cost no exit (on when it runs out).
	 */
	vq_disable_notify(vq);
	for (;;) {
		uint64_t have = 0;
		for (unsigned i = 0; i < n->rx_held; i++)
			have += n->rx[i].c.write_len;
		if (n->rx_held && (mrg ? have >= need : n->rx[0].c.write_len >= need)) {
			ret = 1;
			break;
		}
		if (n->rx_held && !mrg) {
			ret = -ENOSPC; /* one chain per frame, and it is too short */
			break;
		}
		if (n->rx_held == VNET_RX_HELD || n->rx_held == vq->size) {
			ret = -ENOSPC; /* all there could ever be is held */
			break;
		}
		struct vnet_rx_chain *r = &n->rx[n->rx_held];
		r->c = (struct vq_chain){.seg = r->seg, .max_seg = VNET_QUEUE_SIZE};
		int rc = vq_pop(vq, &r->c);
		if (rc == 0) {
			/* Out of buffers: now a refill must kick us (and may have raced). */
			rc = vq_enable_notify(vq);
			if (rc == 1) {
				vq_disable_notify(vq);
				continue;
			}
		}
		if (rc < 0)
			vtrans_needs_reset(n->t);
		if (rc <= 0)
			break;
		if (r->c.write_len < VNET_HDR_LEN) {
			/* Cannot even hold the header: give it back unused. */
			if (vq_push(vq, r->c.head, 0) == 0)
				pushed = true;
			continue;
		}
		n->rx_held++;
	}
	if (pushed)
		vtrans_notify_used(n->t, VNET_RXQ);
	return ret;
}

/*
 * Write a frame into the held chains, after header `vh` (num_buffers
 * filled in here): true when delivered (or dropped for good).
 */
static bool vnet_rx_deliver(struct vnet *n, const uint8_t *vh, const uint8_t *frame, size_t len)
{
	struct vq *vq = vtrans_vq(n->t, VNET_RXQ);

	if (!vtrans_queue_live(n->t, VNET_RXQ) || vq->broken) {
		n->st.rx_no_queue++;
		return true;
	}
	uint64_t need = VNET_HDR_LEN + (uint64_t)len;
	int rc = vnet_rx_gather(n, vq, need);
	if (rc == 0)
		return false;
	if (rc < 0) {
		if (n->st.rx_oversized++ == 0)
			n->host->log(n->dev, AVMM_LOG_WARN,
				     "virtio-net: a %zu-byte frame does not fit the guest's "
				     "receive buffers: dropped (and counted from now on)", len);
		return true;
	}

	/* Fill chains in order; the first one's header says how many were used. */
	unsigned used = 0;
	uint64_t off = 0; /* into header + frame */
	uint32_t lens[VNET_RX_HELD];
	uint8_t hdr[VNET_HDR_LEN];
	memcpy(hdr, vh, VNET_HDR_LEN);
	while (off < need) {
		const struct vq_chain *c = &n->rx[used].c;
		uint64_t room = c->write_len < need - off ? c->write_len : need - off;
		/* The header goes in last, once num_buffers is known. */
		uint64_t done = off == 0 ? VNET_HDR_LEN : 0;
		while (done < room) {
			uint64_t foff = off + done - VNET_HDR_LEN;
			ssize_t w = vq_chain_write(vq, c, done, frame + foff, (size_t)(room - done));
			if (w <= 0)
				break; /* guest memory went away: the rest is lost */
			done += (uint64_t)w;
		}
		lens[used++] = (uint32_t)room;
		off += room;
	}
	put_le16(hdr + 10, (uint16_t)used);
	vq_chain_write(vq, &n->rx[0].c, 0, hdr, sizeof(hdr));
	for (unsigned i = 0; i < used; i++)
		vq_push(vq, n->rx[i].c.head, lens[i]);
	/* Keep the unused chains, in order, for the next frame. */
	memmove(&n->rx[0], &n->rx[used], (n->rx_held - used) * sizeof(n->rx[0]));
	n->rx_held -= used;
	for (unsigned i = 0; i < n->rx_held; i++)
		n->rx[i].c.seg = n->rx[i].seg;
	n->st.rx_frames++;
	vtrans_notify_used(n->t, VNET_RXQ);
	return true;
}

static bool vnet_can_receive(void *opaque)
{
	struct vnet *n = opaque;
	if (n->staged_len) {
		if (!n->rx_paused)
			n->st.rx_paused++;
		n->rx_paused = true;
		return false;
	}
	return true;
}

static void vnet_receive(void *opaque, const void *data, size_t len)
{
	struct vnet *n = opaque;
	const uint8_t *frame = data;
	uint8_t hdr[VNET_HDR_LEN] = {0};

	if (n->be->vnet_hdr) {
		if (len < VNET_HDR_LEN) {
			n->st.rx_bad_hdr++;
			return;
		}
		memcpy(hdr, frame, VNET_HDR_LEN);
		frame += VNET_HDR_LEN;
		len -= VNET_HDR_LEN;
	}
	if (len > NETBE_FRAME_MAX) {
		n->st.rx_oversized++;
		return;
	}
	if (len < VNET_ETH_HLEN) {
		n->st.rx_runt++;
		return;
	}
	if (n->be->vnet_hdr) {
		if (!vtrans_queue_live(n->t, VNET_RXQ)) {
			n->st.rx_no_queue++; /* and the features are not settled */
			return;
		}
		uint64_t f = vtrans_features(n->t);
		/* A checksum known good is only news to a driver that negotiated GUEST_CSUM. */
		if (!(f & VIRTIO_NET_F_GUEST_CSUM))
			hdr[0] &= (uint8_t)~VNET_HDR_F_DATA_VALID;
		const char *bad = vnet_hdr_check(hdr, len, vnet_rx_allowed(f));
		if (bad) {
			if (n->st.rx_bad_hdr++ == 0)
				n->host->log(n->dev, AVMM_LOG_WARN,
					     "virtio-net: a received frame's header has %s: "
					     "dropped (and counted from now on)", bad);
			return;
		}
		put_le16(hdr + 10, 0);
	}
	if (vnet_rx_deliver(n, hdr, frame, len))
		return;
	/* No room yet: keep it (the backend asks can_receive before the next). */
	memcpy(n->staged_hdr, hdr, VNET_HDR_LEN);
	memcpy(n->staged, frame, len);
	n->staged_len = len;
}

/* Buffers may have arrived: deliver the staged frame, let input flow again. */
static void vnet_rx_kick(struct vnet *n)
{
	if (n->staged_len) {
		if (!vnet_rx_deliver(n, n->staged_hdr, n->staged, n->staged_len))
			return;
		n->staged_len = 0;
	}
	if (n->rx_paused) {
		n->rx_paused = false;
		netbe_rx_resume(n->be);
	}
}

static void vnet_rx_drop_held(struct vnet *n)
{
	/* The chains belong to the ring the driver took back. */
	n->rx_held = 0;
}

/* ---- transmitq ---------------------------------------------------------- */

static void vnet_tx(struct vnet *n)
{
	struct vq *vq = vtrans_vq(n->t, VNET_TXQ);
	unsigned budget = VNET_TX_BUDGET;
	bool pushed = false;

	if (!vtrans_queue_live(n->t, VNET_TXQ))
		return;
	/*
	 * No kicks while draining: the driver queues more without an exit.
	 * They stay off while a chain waits for the backend (writable resumes)
	 * or the budget ran out (the timer does), on once the queue is empty.
	 */
	vq_disable_notify(vq);
	for (;;) {
		if (!n->tx_held) {
			if (vq->broken)
				break;
			if (!budget--) {
				n->host->timer_mod(n->tx_timer, n->host->clock_ns());
				break;
			}
			n->tx = (struct vq_chain){.seg = n->tx_seg, .max_seg = VNET_QUEUE_SIZE};
			int rc = vq_pop(vq, &n->tx);
			if (rc == 0) {
				rc = vq_enable_notify(vq); /* and a last look */
				if (rc == 1) {
					vq_disable_notify(vq);
					continue;
				}
			}
			if (rc < 0)
				vtrans_needs_reset(n->t);
			if (rc <= 0)
				break;
			if (n->tx.read_len < VNET_HDR_LEN ||
			    n->tx.read_len > VNET_HDR_LEN + NETBE_FRAME_MAX) {
				if (n->st.tx_malformed++ == 0)
					n->host->log(n->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
						     "virtio-net: transmit chain of %llu bytes "
						     "(header %u, frame at most %u): dropped",
						     (unsigned long long)n->tx.read_len,
						     VNET_HDR_LEN, NETBE_FRAME_MAX);
				if (vq_push(vq, n->tx.head, 0) == 0)
					pushed = true;
				continue;
			}
			ssize_t r = vq_chain_read(vq, &n->tx, 0, n->tx_buf, (size_t)n->tx.read_len);
			n->tx_len = r > 0 ? (size_t)r : 0;
			const char *bad = n->tx_len >= VNET_HDR_LEN
						  ? vnet_hdr_check(n->tx_buf,
								   n->tx_len - VNET_HDR_LEN,
								   vnet_tx_allowed(vtrans_features(n->t)))
						  : NULL;
			if (bad) {
				if (n->st.tx_bad_hdr++ == 0)
					n->host->log(n->dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
						     "virtio-net: a transmitted frame's header has "
						     "%s: dropped (and counted from now on)", bad);
				if (vq_push(vq, n->tx.head, 0) == 0)
					pushed = true;
				continue;
			}
			/* The backend gets the header as it is but for num_buffers (5.1.6.2). */
			put_le16(n->tx_buf + 10, 0);
			n->tx_held = true;
		}
		size_t skip = n->be->vnet_hdr ? 0 : VNET_HDR_LEN;
		int rc = n->tx_len >= VNET_HDR_LEN
				 ? netbe_send(n->be, n->tx_buf + skip, n->tx_len - skip)
				 : -EFAULT;
		if (rc == -EAGAIN)
			break; /* the backend calls writable */
		if (rc)
			n->st.tx_dropped++;
		else
			n->st.tx_frames++;
		n->tx_held = false;
		if (vq_push(vq, n->tx.head, 0) == 0)
			pushed = true;
	}
	if (pushed)
		vtrans_notify_used(n->t, VNET_TXQ);
}

static void vnet_tx_timer(void *opaque)
{
	vnet_tx(opaque);
}

static void vnet_writable(void *opaque)
{
	vnet_tx(opaque);
}

static void vnet_link(void *opaque, bool up)
{
	struct vnet *n = opaque;

	if (n->link_up == up)
		return;
	n->link_up = up;
	vtrans_config_changed(n->t);
	/*
	 * A chain waiting for room would wait forever: retry it, dropped, from
	 * the timer (not from here: this may run inside vnet_tx's own send).
	 */
	if (!up && n->tx_held)
		n->host->timer_mod(n->tx_timer, n->host->clock_ns());
}

static const struct netbe_cb vnet_cb = {
	.can_receive = vnet_can_receive,
	.receive = vnet_receive,
	.writable = vnet_writable,
	.link = vnet_link,
};

/* ---- transport hooks ---------------------------------------------------- */

static int vnet_config_read(void *opaque, uint32_t offset, unsigned size, uint32_t *value)
{
	struct vnet *n = opaque;
	uint8_t cfg[VNET_CONFIG_SIZE];

	memcpy(cfg, n->mac, 6);
	put_le16(cfg + 6, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	put_le16(cfg + 8, 1); /* max_virtqueue_pairs */
	put_le16(cfg + 10, n->mtu);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)cfg[offset + i] << (8 * i);
	*value = v;
	return 0;
}

static void vnet_notify(void *opaque, unsigned q)
{
	struct vnet *n = opaque;

	if (q == VNET_RXQ)
		vnet_rx_kick(n);
	else
		vnet_tx(n);
}

/* The backend's offloads toward the driver: what it negotiated of GUEST_*. */
static unsigned vnet_offloads(uint64_t f)
{
	return (f & VIRTIO_NET_F_GUEST_CSUM ? NETBE_OFFLOAD_CSUM : 0) |
	       (f & VIRTIO_NET_F_GUEST_TSO4 ? NETBE_OFFLOAD_TSO4 : 0) |
	       (f & VIRTIO_NET_F_GUEST_TSO6 ? NETBE_OFFLOAD_TSO6 : 0) |
	       (f & VIRTIO_NET_F_GUEST_ECN ? NETBE_OFFLOAD_ECN : 0);
}

/* 5.1.3.1's dependencies on one of two features, which vtype_feature_dep cannot say. */
static int vnet_features_ok(void *opaque, uint64_t f)
{
	(void)opaque;
	if ((f & VIRTIO_NET_F_GUEST_ECN) &&
	    !(f & (VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6)))
		return -EINVAL;
	if ((f & VIRTIO_NET_F_HOST_ECN) && !(f & (VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6)))
		return -EINVAL;
	return 0;
}

static void vnet_driver_ok(void *opaque)
{
	struct vnet *n = opaque;

	/* A failure leaves the backend's frames plain: correct, only slower. */
	if (n->be->vnet_hdr)
		netbe_set_offloads(n->be, vnet_offloads(vtrans_features(n->t)));
	vnet_rx_kick(n);
	vnet_tx(n);
}

static void vnet_tx_drop(struct vnet *n)
{
	n->host->timer_del(n->tx_timer);
	n->tx_held = false;
}

static void vnet_queue_stop(void *opaque, unsigned q)
{
	struct vnet *n = opaque;

	if (q == VNET_RXQ)
		vnet_rx_drop_held(n);
	else
		vnet_tx_drop(n);
}

static void vnet_reset_cb(void *opaque)
{
	struct vnet *n = opaque;

	vnet_rx_drop_held(n);
	vnet_tx_drop(n);
	if (n->be->vnet_hdr)
		netbe_set_offloads(n->be, 0);
	/* A staged frame was for the old driver; let input flow (and drop) again. */
	n->staged_len = 0;
	if (n->rx_paused) {
		n->rx_paused = false;
		netbe_rx_resume(n->be);
	}
}

static const uint16_t vnet_qmax[2] = {VNET_QUEUE_SIZE, VNET_QUEUE_SIZE};

/* 5.1.3.1; the ECN bits' either-or dependencies are vnet_features_ok's. */
static const struct vtype_feature_dep vnet_deps[] = {
	{VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN |
		 VIRTIO_NET_F_GUEST_UFO,
	 VIRTIO_NET_F_GUEST_CSUM},
	{VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN |
		 VIRTIO_NET_F_HOST_UFO,
	 VIRTIO_NET_F_CSUM},
};

/* The template of each instance's ops (struct vnet.ops): the offloads depend on the backend. */
static const struct vtype_ops vnet_ops = {
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU | VIRTIO_NET_F_STATUS |
		    VIRTIO_NET_F_MRG_RXBUF | VQ_FEATURES,
	.deps = vnet_deps,
	.ndeps = sizeof(vnet_deps) / sizeof(vnet_deps[0]),
	.features_ok = vnet_features_ok,
	.nr_queues = 2,
	.queue_num_max = vnet_qmax,
	.config_size = VNET_CONFIG_SIZE,
	.config_read = vnet_config_read,
	.driver_ok = vnet_driver_ok,
	.notify = vnet_notify,
	.reset = vnet_reset_cb,
	.queue_stop = vnet_queue_stop,
};

/* ---- keys --------------------------------------------------------------- */

/* 02:xx:xx:xx:xx:xx: locally administered, unicast, from FNV-1a of the name. */
static void vnet_default_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = name; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ull;
	}
	mac[0] = 0x02;
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int vnet_parse_mac(const char *s, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

static int vnet_keys(struct vnet *n)
{
	const struct avmm_host *host = n->host;
	const char *s;
	int rc = host->cfg_str(n->dev, "mac", &s);
	if (rc == 0) {
		if (vnet_parse_mac(s, n->mac))
			return host->cfg_error(n->dev, "mac",
					       "'%s' is not a MAC address: write six hex "
					       "bytes as in 02:00:00:00:00:01", s);
		if (n->mac[0] & 1)
			return host->cfg_error(n->dev, "mac",
					       "%s is a multicast address: clear the lowest bit "
					       "of the first byte", s);
		static const uint8_t zero[6];
		if (!memcmp(n->mac, zero, 6))
			return host->cfg_error(n->dev, "mac", "00:00:00:00:00:00 is not a valid address");
	} else if (rc == -ENOENT) {
		vnet_default_mac(host->dev_name(n->dev), n->mac);
	} else {
		return rc;
	}
	uint64_t mtu = 1500;
	rc = host->cfg_u64(n->dev, "mtu", &mtu);
	if (rc && rc != -ENOENT)
		return rc;
	if (mtu < 68 || mtu > 65535)
		return host->cfg_error(n->dev, "mtu", "%llu is outside 68 .. 65535",
				       (unsigned long long)mtu);
	n->mtu = (uint16_t)mtu;
	return 0;
}

/* ---- plugin hooks ------------------------------------------------------- */

/*
 * The keys only user networking reads, set for another backend: named as
 * such rather than as unknown.  Empty is as good as absent, so that
 * `-s net0.hostfwd=` turns linux-net.ini into a machine for another backend.
 */
static int vnet_user_keys_unset(struct vnet *n, const char *spec)
{
	static const char *const keys[] = {"hostfwd", "restrict", "subnet"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		int rc = n->host->cfg_str(n->dev, keys[i], &v);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		if (*v)
			return n->host->cfg_error(n->dev, keys[i],
						  "only net = user reads this key, not net = %s: "
						  "delete it, or empty it with -s %s.%s=",
						  spec, n->host->dev_name(n->dev), keys[i]);
	}
	return 0;
}

static int vnet_open_backend(struct vnet *n, char *err, size_t errlen)
{
	const char *spec;
	int rc = n->host->cfg_str(n->dev, "net", &spec);
	if (rc == -ENOENT)
		return n->host->cfg_error(n->dev, "net",
					  "missing: set net = user, unixgram:PATH, "
					  "unixstream:PATH or tap:NAME");
	if (rc)
		return rc;
	if (strcmp(spec, "user") && (rc = vnet_user_keys_unset(n, spec)))
		return rc;
	rc = netbe_socket_open(n->dev, n->host, "net", spec, &vnet_cb, n, &n->be, err, errlen);
	if (rc != -ENOENT)
		return rc;
	rc = netbe_slirp_open(n->dev, n->host, "net", spec, n->mtu, &vnet_cb, n, &n->be, err,
			      errlen);
	if (rc != -ENOENT)
		return rc;
	rc = netbe_tap_open(n->dev, n->host, "net", spec, &vnet_cb, n, &n->be, err, errlen);
	if (rc != -ENOENT)
		return rc;
	return n->host->cfg_error(n->dev, "net",
				  "unknown backend '%s': use user, unixgram:PATH, "
				  "unixstream:PATH or tap:NAME", spec);
}

static int vnet_create(struct avmm_dev *dev, const struct avmm_host *host, void **state,
		       char *err, size_t errlen)
{
	struct vnet *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->host = host;
	n->dev = dev;

	int rc = vnet_keys(n);
	if (rc)
		goto fail;
	rc = host->timer_new(dev, vnet_tx_timer, n, &n->tx_timer);
	if (rc) {
		snprintf(err, errlen, "cannot create transmit timer: %s", strerror(-rc));
		goto fail;
	}
	/*
	 * The backend first: what it carries decides what is offered.  Its
	 * callbacks only run on the I/O thread, which starts after create().
	 */
	rc = vnet_open_backend(n, err, errlen);
	if (rc)
		goto fail;
	n->ops = vnet_ops;
	if (n->be->vnet_hdr)
		n->ops.features |= VNET_OFFLOAD_FEATURES;
	struct vtrans_config cfg = {.ops = &n->ops, .opaque = n};
	rc = vtrans_create(dev, host, &cfg, &n->t, err, errlen);
	if (rc) {
		netbe_close(n->be);
		goto fail;
	}
	n->link_up = netbe_link_up(n->be);
	*state = n;
	return 0;

fail:
	if (n->tx_timer)
		host->timer_free(n->tx_timer);
	free(n);
	return rc;
}

static void vnet_destroy(void *state)
{
	struct vnet *n = state;

	netbe_close(n->be);
	n->host->timer_free(n->tx_timer);
	vtrans_destroy(n->t);
	free(n);
}

static struct vtrans *vnet_transport(void *state)
{
	return ((struct vnet *)state)->t;
}

const struct vdev_type vnet_type = {
	.name = "net",
	.summary = "network interface",
	.create = vnet_create,
	.destroy = vnet_destroy,
	.transport = vnet_transport,
};
