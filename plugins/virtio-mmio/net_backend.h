/* SPDX-License-Identifier: MIT */
/*
 * The packet backends of virtio-net (net.c), one file each (net_socket.c
 * for `unixgram:` and `unixstream:`, net_slirp.c for `user`, net_tap.c for
 * `tap:`).  A backend owns its host side: its sockets or devices, their
 * I/O-thread watches and its framing.  It hands whole Ethernet frames to
 * the device and takes whole frames from it; the device owns everything
 * virtio.  A backend that sets `vnet_hdr` (the tap) carries a 12-byte
 * struct virtio_net_hdr (virtio 1.2 5.1.6, little-endian) in front of each
 * frame both ways, so checksum and segmentation offloads pass through it;
 * the device validates what it passes on, and tells the backend through
 * set_offloads what the driver can take.  The others carry bare frames.
 *
 * Everything runs on the I/O thread under the device lock (the watches'
 * callbacks, the device's doorbell), so a backend has no lock of its own.
 *
 * Receive flow control: the backend reads a frame only while
 * cb->can_receive() says yes; once it said no, the backend stops watching
 * for input until the device calls netbe_rx_resume().  Frames then wait in
 * the host kernel's socket buffer, which bounds them.
 */
#ifndef AVMM_VIRTIO_NET_BACKEND_H
#define AVMM_VIRTIO_NET_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <avmm/avmm.h>

/*
 * 64 KiB of GSO packet plus a 14-byte Ethernet header: the largest frame,
 * either way (Linux's legacy GSO and GRO limit, 65536, counts from the IP
 * header).  A vnet-header backend's frames are NETBE_VNET_HDR_LEN longer.
 */
#define NETBE_FRAME_MAX 65550u
#define NETBE_VNET_HDR_LEN 12u

/* What a vnet-header backend may hand over (set_offloads): partial checksums, TSO. */
#define NETBE_OFFLOAD_CSUM 1u
#define NETBE_OFFLOAD_TSO4 2u
#define NETBE_OFFLOAD_TSO6 4u
#define NETBE_OFFLOAD_ECN 8u /* TSO frames with ECN (CWR) set */

struct netbe_cb {
	/* May the backend hand over a frame now? */
	bool (*can_receive)(void *opaque);
	/*
	 * One frame of len bytes (any length: the device judges it), its vnet
	 * header first if the backend has them.  A len past NETBE_FRAME_MAX
	 * (plus the header) reports a frame too long to be read whole: only
	 * that many bytes are there, and the device drops it.
	 */
	void (*receive)(void *opaque, const void *frame, size_t len);
	/* After a send said -EAGAIN: the backend takes frames again. */
	void (*writable)(void *opaque);
	/* The peer went away (false) or came back (true). */
	void (*link)(void *opaque, bool up);
};

struct netbe;

struct netbe_ops {
	/*
	 * Send one frame (its vnet header first if the backend has them): 0
	 * when taken (whole), -EAGAIN when the backend is full (cb->writable
	 * follows), -ENOTCONN when the link is down, another negative errno
	 * when this frame cannot be sent (drop it).
	 */
	int (*send)(struct netbe *be, const void *frame, size_t len);
	/* The device can take frames again after can_receive said no. */
	void (*rx_resume)(struct netbe *be);
	bool (*link_up)(struct netbe *be);
	void (*close)(struct netbe *be);
	/*
	 * vnet-header backends: from now on hand over frames using only the
	 * NETBE_OFFLOAD_* bits in `offloads` (0: plain, fully checksummed
	 * frames).  Optional; 0 or a negative errno.
	 */
	int (*set_offloads)(struct netbe *be, unsigned offloads);
};

struct netbe {
	const struct netbe_ops *ops;
	const struct avmm_host *host;
	struct avmm_dev *dev;
	const struct netbe_cb *cb;
	void *opaque;
	bool vnet_hdr; /* frames carry a virtio_net_hdr both ways */
};

/*
 * Open the backend that `spec` (key `key`'s value) names, if this file
 * knows it: 0 and *out, -ENOENT when the spec is not its kind, another
 * negative errno (reported through cfg_error or err) on failure.
 */
int netbe_socket_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		      const char *spec, const struct netbe_cb *cb, void *opaque,
		      struct netbe **out, char *err, size_t errlen);

/* As netbe_socket_open, for `user` (libslirp); `mtu` is the device's. */
int netbe_slirp_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		     const char *spec, unsigned mtu, const struct netbe_cb *cb, void *opaque,
		     struct netbe **out, char *err, size_t errlen);

/*
 * As netbe_socket_open, for `tap:NAME` (Linux only; elsewhere a cfg error):
 * an existing tap device, with vnet headers.
 */
int netbe_tap_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		   const char *spec, const struct netbe_cb *cb, void *opaque,
		   struct netbe **out, char *err, size_t errlen);

static inline int netbe_send(struct netbe *be, const void *frame, size_t len)
{
	return be->ops->send(be, frame, len);
}
static inline void netbe_rx_resume(struct netbe *be)
{
	be->ops->rx_resume(be);
}
static inline bool netbe_link_up(struct netbe *be)
{
	return be->ops->link_up(be);
}
static inline int netbe_set_offloads(struct netbe *be, unsigned offloads)
{
	return be->ops->set_offloads ? be->ops->set_offloads(be, offloads)
				     : offloads ? -EOPNOTSUPP : 0;
}
static inline void netbe_close(struct netbe *be)
{
	if (be)
		be->ops->close(be);
}

/*
 * For the fd backends: make the I/O-thread watch on `fd` ask for `want`
 * (0: no watch); *cur is what it asks for now.  The ABI has no modify, so
 * a change is an unwatch and a watch; a failed watch leaves *cur 0.
 */
static inline void netbe_watch(struct netbe *be, int fd, unsigned *cur, unsigned want,
			       avmm_io_fn fn, void *opaque)
{
	if (want == *cur)
		return;
	if (*cur)
		be->host->io_unwatch(be->dev, fd);
	*cur = 0;
	if (want && be->host->io_watch(be->dev, fd, want, fn, opaque) == 0)
		*cur = want;
}

#endif
