/* SPDX-License-Identifier: MIT */
/*
 * The tap backend of virtio-net (net_backend.h), Linux only: `tap:NAME`
 * attaches to the EXISTING tap device NAME through /dev/net/tun (made
 * beforehand with `ip tuntap add dev NAME mode tap user $USER` or tunctl;
 * this backend never creates one), with IFF_VNET_HDR and a 12-byte vnet
 * header, little-endian, so that each frame read or written carries its
 * struct virtio_net_hdr and checksum and segmentation offloads pass
 * straight through.  The kernel's offloads toward us start off
 * (TUNSETOFFLOAD 0: full checksums, no GSO); set_offloads turns on what
 * the guest negotiated.  The fd is non-blocking and watched on the I/O
 * thread; reads stop while the device cannot take frames (can_receive),
 * and frames wait in the tap's queue meanwhile.
 *
 * A tap deleted under us (reads and writes fail with EBADFD, poll reports
 * an error) takes the link down for good, with one log line; the VM keeps
 * running.  A tap that is only down (`ip link set NAME down`: writes fail
 * with EIO) drops what the guest sends, logged once per outage, and
 * carries on when it is up again.
 *
 * Elsewhere `tap:` is a configuration error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_backend.h"

#if defined(__linux__)
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net_tap.h"

#define NETTAP_RX_BURST 64u /* frames per input callback before yielding */
#define NETTAP_DEV "/dev/net/tun"

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct netbe_tap_sys sys_real = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.read = read,
	.write = write,
	.close = close,
	.if_index = if_nametoindex,
};

const struct netbe_tap_sys *netbe_tap_sys = &sys_real;

struct nettap {
	struct netbe be;
	const struct netbe_tap_sys *sys;
	int fd;
	char name[IFNAMSIZ];
	bool up;
	unsigned events; /* what the watch asks for now; 0: no watch */
	bool rx_paused;
	bool tx_waiting;  /* a write said EAGAIN: call cb->writable once there is room */
	bool if_down;     /* writes fail with EIO (logged once) */

	/* One byte past the largest frame: a longer one shows as too long. */
	uint8_t rx[NETBE_VNET_HDR_LEN + NETBE_FRAME_MAX + 1];
};

static void nettap_io(void *opaque, int fd, unsigned revents);

/* Make the watch ask for `events`; none once the link is down. */
static void nettap_set_events(struct nettap *t, unsigned events)
{
	netbe_watch(&t->be, t->fd, &t->events, t->up ? events : 0, nettap_io, t);
}

static void nettap_update(struct nettap *t)
{
	nettap_set_events(t, (t->rx_paused ? 0 : AVMM_IO_IN) | (t->tx_waiting ? AVMM_IO_OUT : 0));
}

static void nettap_down(struct nettap *t, const char *why)
{
	if (!t->up)
		return;
	nettap_set_events(t, 0);
	t->up = false;
	t->tx_waiting = false;
	t->be.host->log(t->be.dev, AVMM_LOG_WARN, "virtio-net: tap %s %s: link down", t->name,
			why);
	t->be.cb->link(t->be.opaque, false);
}

/* The device behind the fd went away (deleted), or the fd is unusable. */
static bool tap_gone(int e)
{
	return e == EBADFD || e == ENODEV || e == ENXIO || e == EPIPE || e == EBADF;
}

static const char *gone_why(int e)
{
	return e == EBADFD || e == ENODEV || e == ENXIO ? "was deleted" : strerror(e);
}

static void nettap_rx(struct nettap *t)
{
	for (unsigned i = 0; i < NETTAP_RX_BURST && t->up; i++) {
		if (!t->be.cb->can_receive(t->be.opaque)) {
			t->rx_paused = true;
			break;
		}
		ssize_t n = t->sys->read(t->fd, t->rx, sizeof(t->rx));
		if (n < 0) {
			int e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
				break;
			/* Nothing else is expected of a tap but its deletion (EBADFD). */
			nettap_down(t, gone_why(e));
			break;
		}
		if (n == 0) {
			/* A tap never reads as end-of-file; whatever stands in for it closed. */
			nettap_down(t, "closed");
			break;
		}
		/* Past the buffer (or exactly filling it): too long, dropped by the device. */
		size_t len = (size_t)n < sizeof(t->rx) ? (size_t)n : sizeof(t->rx);
		t->be.cb->receive(t->be.opaque, t->rx, len);
	}
	/* Past the burst: the watch is level-triggered, poll brings us back. */
}

static void nettap_io(void *opaque, int fd, unsigned revents)
{
	struct nettap *t = opaque;
	(void)fd;

	/*
	 * A tap whose device was deleted polls as an error: the read says
	 * why (EBADFD), and takes the link down.
	 */
	if (revents & (AVMM_IO_IN | AVMM_IO_ERR))
		nettap_rx(t);
	if (t->up && (revents & AVMM_IO_OUT) && t->tx_waiting) {
		t->tx_waiting = false;
		t->be.cb->writable(t->be.opaque);
	}
	/*
	 * An error that reading did not explain (input paused, or nothing to
	 * read): it stays reported, so waiting for it to pass would spin.  A
	 * deleted tap's fd also fails TUNGETIFF with EBADFD, which asks it why
	 * without taking a frame the device has no room for.
	 */
	if (t->up && (revents & AVMM_IO_ERR)) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		nettap_down(t, t->sys->ioctl(t->fd, TUNGETIFF, &ifr) < 0 ? gone_why(errno)
									 : "reported an error");
	}
	nettap_update(t);
}

static int nettap_send(struct netbe *be, const void *frame, size_t len)
{
	struct nettap *t = (struct nettap *)be;

	if (!t->up)
		return -ENOTCONN;
	if (len < NETBE_VNET_HDR_LEN || len > NETBE_VNET_HDR_LEN + NETBE_FRAME_MAX)
		return -EMSGSIZE;
	ssize_t n;
	do
		n = t->sys->write(t->fd, frame, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		if (t->if_down) {
			t->if_down = false;
			t->be.host->log(t->be.dev, AVMM_LOG_INFO,
					"virtio-net: tap %s is up again", t->name);
		}
		return 0;
	}
	int e = errno;
	if (e == EAGAIN || e == EWOULDBLOCK) {
		t->tx_waiting = true;
		nettap_update(t);
		return -EAGAIN;
	}
	if (e == EIO) {
		/* The interface is down (not deleted): drop until it is up. */
		if (!t->if_down)
			t->be.host->log(t->be.dev, AVMM_LOG_WARN,
					"virtio-net: tap %s is down: frames from the guest are "
					"dropped until `ip link set %s up`", t->name, t->name);
		t->if_down = true;
		return -ENETDOWN;
	}
	if (tap_gone(e)) {
		nettap_down(t, gone_why(e));
		return -ENOTCONN;
	}
	return -e; /* EINVAL: the kernel refused this frame's header */
}

static void nettap_rx_resume(struct netbe *be)
{
	struct nettap *t = (struct nettap *)be;

	if (!t->rx_paused)
		return;
	t->rx_paused = false;
	nettap_update(t);
}

static bool nettap_link_up(struct netbe *be)
{
	return ((struct nettap *)be)->up;
}

/* NETBE_OFFLOAD_* to the TUN_F_* flags of TUNSETOFFLOAD. */
static unsigned long tun_offload_flags(unsigned offloads)
{
	unsigned long f = 0;

	if (offloads & NETBE_OFFLOAD_CSUM)
		f |= TUN_F_CSUM;
	if (offloads & NETBE_OFFLOAD_TSO4)
		f |= TUN_F_TSO4;
	if (offloads & NETBE_OFFLOAD_TSO6)
		f |= TUN_F_TSO6;
	if (offloads & NETBE_OFFLOAD_ECN)
		f |= TUN_F_TSO_ECN;
	return f;
}

static int nettap_set_offloads(struct netbe *be, unsigned offloads)
{
	struct nettap *t = (struct nettap *)be;

	/* The kernel takes TSO only with CSUM, ECN only with TSO (EINVAL otherwise). */
	if (!(offloads & NETBE_OFFLOAD_CSUM))
		offloads = 0;
	if (!(offloads & (NETBE_OFFLOAD_TSO4 | NETBE_OFFLOAD_TSO6)))
		offloads &= ~NETBE_OFFLOAD_ECN;
	unsigned long f = tun_offload_flags(offloads);
	if (t->sys->ioctl(t->fd, TUNSETOFFLOAD, (void *)(uintptr_t)f) < 0) {
		int e = errno;
		/* A deleted tap: the link is going down anyway. */
		if (t->up)
			t->be.host->log(t->be.dev, AVMM_LOG_WARN,
					"virtio-net: tap %s: TUNSETOFFLOAD 0x%lx: %s", t->name, f,
					strerror(e));
		return -e;
	}
	return 0;
}

static void nettap_close(struct netbe *be)
{
	struct nettap *t = (struct nettap *)be;

	if (t->events)
		t->be.host->io_unwatch(t->be.dev, t->fd);
	if (t->fd >= 0)
		t->sys->close(t->fd);
	free(t);
}

static const struct netbe_ops nettap_ops = {
	.send = nettap_send,
	.rx_resume = nettap_rx_resume,
	.link_up = nettap_link_up,
	.close = nettap_close,
	.set_offloads = nettap_set_offloads,
};

static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);
	if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* TUNSETIFF's refusal, said as what to do. */
static int attach_error(struct nettap *t, const char *key, const char *spec, int e)
{
	const struct avmm_host *host = t->be.host;
	struct avmm_dev *dev = t->be.dev;
	const char *n = t->name;

	switch (e) {
	case EPERM:
	case EACCES:
		return host->cfg_error(dev, key,
				       "'%s': not allowed to attach to tap %s: make it yours "
				       "(ip tuntap add dev %s mode tap user $USER) or run with "
				       "CAP_NET_ADMIN", spec, n, n);
	case EBUSY:
		return host->cfg_error(dev, key, "'%s': tap %s is in use by another program", spec,
				       n);
	case EINVAL:
		return host->cfg_error(dev, key,
				       "'%s': %s is not a single-queue tap device (a tun, a "
				       "multi-queue tap or another kind of interface): make one "
				       "with ip tuntap add dev NAME mode tap", spec, n);
	default:
		return host->cfg_error(dev, key, "'%s': cannot attach to tap %s: %s", spec, n,
				       strerror(e));
	}
}

int netbe_tap_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		   const char *spec, const struct netbe_cb *cb, void *opaque,
		   struct netbe **out, char *err, size_t errlen)
{
	if (strncmp(spec, "tap:", 4))
		return -ENOENT;
	const char *name = spec + 4;
	if (!valid_ifname(name))
		return host->cfg_error(dev, key,
				       "'%s': '%s' is not an interface name (1 to %u characters, "
				       "no '/', ':' or blanks)", spec, name, IFNAMSIZ - 1);

	const struct netbe_tap_sys *sys = netbe_tap_sys;
	/* Never create one: TUNSETIFF would, for a name that does not exist. */
	if (!sys->if_index(name))
		return host->cfg_error(dev, key,
				       "'%s': there is no network interface %s: create the tap "
				       "first, e.g. ip tuntap add dev %s mode tap user $USER",
				       spec, name, name);

	struct nettap *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->be = (struct netbe){.ops = &nettap_ops, .host = host, .dev = dev, .cb = cb,
			       .opaque = opaque, .vnet_hdr = true};
	t->sys = sys;
	memcpy(t->name, name, strlen(name) + 1);
	t->fd = sys->open(NETTAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		nettap_close(&t->be);
		return host->cfg_error(dev, key, "'%s': cannot open %s: %s%s", spec, NETTAP_DEV,
				       strerror(e),
				       e == ENOENT || e == ENODEV ? " (load the tun module: "
								    "modprobe tun)"
								  : "");
	}

	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (sys->ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		int rc = attach_error(t, key, spec, e);
		nettap_close(&t->be);
		return rc;
	}
	/*
	 * Had NAME gone between the look-up and TUNSETIFF, this made a new
	 * device: one not persistent (ip tuntap and tunctl make persistent
	 * ones).  Closing the fd removes it again.
	 */
	memset(&ifr, 0, sizeof(ifr));
	if (sys->ioctl(t->fd, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_PERSIST)) {
		nettap_close(&t->be);
		return host->cfg_error(dev, key,
				       "'%s': tap %s went away while attaching: create it again "
				       "(ip tuntap add dev %s mode tap user $USER)", spec, name,
				       name);
	}

	int hdr = NETBE_VNET_HDR_LEN;
	if (sys->ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ %d: %s", name, hdr, strerror(e));
		nettap_close(&t->be);
		return -e;
	}
	/* virtio 1 headers are little-endian; the tap's default is the host's order. */
	int le = 1;
#if defined(TUNSETVNETLE)
	if (sys->ioctl(t->fd, TUNSETVNETLE, &le) < 0) {
		int e = errno;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
		snprintf(err, errlen, "tap %s: TUNSETVNETLE: %s", name, strerror(e));
		nettap_close(&t->be);
		return -e;
#else
		(void)e; /* the host's order is little-endian already */
#endif
	}
#else
	(void)le;
#endif
	/* Nothing partial or GSO toward the guest until it negotiated it. */
	if (sys->ioctl(t->fd, TUNSETOFFLOAD, (void *)(uintptr_t)0) < 0) {
		int e = errno;
		snprintf(err, errlen, "tap %s: TUNSETOFFLOAD 0: %s", name, strerror(e));
		nettap_close(&t->be);
		return -e;
	}

	t->up = true;
	nettap_update(t);
	if (!t->events) {
		snprintf(err, errlen, "cannot watch tap %s on the I/O thread", name);
		nettap_close(&t->be);
		return -ENOSPC;
	}
	*out = &t->be;
	return 0;
}

#else /* !__linux__ */

int netbe_tap_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		   const char *spec, const struct netbe_cb *cb, void *opaque,
		   struct netbe **out, char *err, size_t errlen)
{
	(void)cb, (void)opaque, (void)out, (void)err, (void)errlen;
	if (strncmp(spec, "tap:", 4))
		return -ENOENT;
	return host->cfg_error(dev, key,
			       "'%s': tap devices are Linux-only: use user, unixgram:PATH or "
			       "unixstream:PATH", spec);
}

#endif
