/* SPDX-License-Identifier: MIT */
/*
 * Internal to virtio-net (net.c): its drop counters, for the unit tests
 * and a later stats interface.
 */
#ifndef AVMM_VIRTIO_NET_H
#define AVMM_VIRTIO_NET_H

#include <stdint.h>

struct vnet_stats {
	uint64_t tx_frames, rx_frames;
	uint64_t tx_malformed;  /* chain shorter than the header, or a frame too long */
	uint64_t tx_dropped;    /* the backend refused it, or the link is down */
	uint64_t rx_oversized;  /* longer than NETBE_FRAME_MAX or than the posted buffers */
	uint64_t rx_runt;       /* shorter than an Ethernet header */
	uint64_t rx_no_queue;   /* arrived while the receiveq was not live */
	uint64_t rx_paused;     /* times input waited for receive buffers */
	/* A virtio_net_hdr using what was not negotiated, or pointing past the frame. */
	uint64_t tx_bad_hdr;    /* from the driver */
	uint64_t rx_bad_hdr;    /* from a vnet-header backend (or one shorter than a header) */
};

/* The counters of a `type = net` instance's device state (vdev_state()). */
const struct vnet_stats *vnet_stats(const void *state);

#endif
