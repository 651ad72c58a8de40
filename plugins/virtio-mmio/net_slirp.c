/* SPDX-License-Identifier: MIT */
/*
 * The `net = user` backend of virtio-net (net_backend.h): libslirp, a
 * user-space TCP/IP stack, as QEMU's -netdev user.  The guest gets a
 * private subnet (key `subnet`, default 10.0.2.0/24) with the gateway at
 * .2, a DNS forwarder at .3 and DHCP leases from .15; its connections go
 * out through ordinary host sockets, so nothing needs root.  Keys:
 *  - `restrict` (bool, default false): the guest reaches nothing outside
 *    but the forwarded ports;
 *  - `hostfwd`: forwarded ports, one key holding a space- or comma-
 *    separated list (the config format has no repeated keys), each
 *    [tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT.  An empty
 *    HOSTADDR is 127.0.0.1 (unlike QEMU's any-address: reaching a guest
 *    from the network must be asked for), an empty GUESTADDR is the first
 *    DHCP address.
 *
 * libslirp wants a poll loop; the I/O thread is ours only through watches
 * and timers.  So after everything that can change slirp's sockets (a
 * frame from the guest, a watch firing, a timer) this module asks slirp
 * for its descriptors again (slirp_pollfds_fill) and brings the watches in
 * line with them; a watch that fires hands its events to
 * slirp_pollfds_poll; slirp's own timers and its poll timeout are host
 * timers.  Frames from slirp reach the guest when the device can take
 * them and are dropped (counted) otherwise: slirp keeps no queue for us,
 * and TCP retransmits.
 *
 * Built only when libslirp is found (AVMM_HAVE_SLIRP); else `net = user`
 * is refused with what to install.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_backend.h"

#if !defined(AVMM_HAVE_SLIRP)

int netbe_slirp_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		     const char *spec, unsigned mtu, const struct netbe_cb *cb, void *opaque,
		     struct netbe **out, char *err, size_t errlen)
{
	(void)mtu, (void)cb, (void)opaque, (void)out, (void)err, (void)errlen;
	if (strcmp(spec, "user"))
		return -ENOENT;
	return host->cfg_error(dev, key,
			       "net = user needs libslirp, which this avmm was built without: "
			       "install libslirp-dev (Homebrew: libslirp) and rebuild");
}

#else

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <libslirp.h>

#define NETSLIRP_MAX_FDS 256u /* sockets slirp may have watched at once */
#define NETSLIRP_MAX_TIMERS 8u

struct netslirp;

struct netslirp_fd {
	int fd;
	unsigned events;  /* AVMM_IO_* asked for in the last fill; 0: unused slot */
	unsigned watched; /* AVMM_IO_* the watch asks for now; 0: no watch */
	unsigned revents; /* SLIRP_POLL_* seen by the watch, for get_revents */
	bool seen;        /* present in the fill being made */
};

struct netslirp_timer {
	struct netslirp *s;
	struct avmm_timer *t;
	SlirpTimerCb cb;
	void *cb_opaque;
};

struct netslirp {
	struct netbe be;
	Slirp *slirp;
	struct avmm_timer *poll_timer;
	bool in_poll; /* inside slirp_pollfds_poll: no nested polls */
	uint64_t dropped;
	struct netslirp_fd fds[NETSLIRP_MAX_FDS];
	unsigned nfds;
	bool fds_full_logged;
};

static void netslirp_io(void *opaque, int fd, unsigned revents);
static void netslirp_sync(struct netslirp *s);

/* ---- slirp's callbacks -------------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct netslirp *s = opaque;
	if (s->be.cb->can_receive(s->be.opaque))
		s->be.cb->receive(s->be.opaque, buf, len);
	else
		s->dropped++;
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct netslirp *s = opaque;
	s->be.host->log(s->be.dev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR, "virtio-net user: %s",
			msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct netslirp *s = opaque;
	return (int64_t)s->be.host->clock_ns();
}

static void netslirp_timer_fire(void *opaque)
{
	struct netslirp_timer *t = opaque;
	t->cb(t->cb_opaque);
	netslirp_sync(t->s);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct netslirp *s = opaque;
	struct netslirp_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct netslirp_timer){.s = s, .cb = cb, .cb_opaque = cb_opaque};
	if (s->be.host->timer_new(s->be.dev, netslirp_timer_fire, t, &t->t)) {
		free(t);
		return NULL;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct netslirp *s = opaque;
	struct netslirp_timer *t = timer;
	if (!t)
		return;
	s->be.host->timer_free(t->t);
	free(t);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct netslirp *s = opaque;
	struct netslirp_timer *t = timer;
	if (t)
		s->be.host->timer_mod(t->t, expire_ms < 0 ? 0 : (uint64_t)expire_ms * 1000000u);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque; /* the next fill sees it */
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct netslirp *s = opaque;
	/* slirp closes it next: no watch may poll a closed (or reused) fd. */
	for (unsigned i = 0; i < s->nfds; i++) {
		struct netslirp_fd *f = &s->fds[i];
		if (f->fd != fd || (!f->watched && !f->seen))
			continue;
		if (f->watched)
			s->be.host->io_unwatch(s->be.dev, fd);
		*f = (struct netslirp_fd){.fd = -1};
	}
}

static void cb_notify(void *opaque)
{
	struct netslirp *s = opaque;
	/* Buffers freed up inside slirp: look again right after this call. */
	s->be.host->timer_mod(s->poll_timer, s->be.host->clock_ns());
}

static const SlirpCb netslirp_cb = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* ---- the poll loop on watches ------------------------------------------ */

static unsigned to_io(int slirp_events)
{
	return (slirp_events & (SLIRP_POLL_IN | SLIRP_POLL_PRI) ? AVMM_IO_IN : 0) |
	       (slirp_events & SLIRP_POLL_OUT ? AVMM_IO_OUT : 0);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct netslirp *s = opaque;
	unsigned i;
	for (i = 0; i < s->nfds; i++)
		if (s->fds[i].fd == fd)
			break;
	if (i == s->nfds) {
		for (i = 0; i < s->nfds; i++)
			if (!s->fds[i].events && !s->fds[i].watched && !s->fds[i].seen)
				break;
		if (i == s->nfds) {
			if (s->nfds == NETSLIRP_MAX_FDS) {
				if (!s->fds_full_logged)
					s->be.host->log(s->be.dev, AVMM_LOG_WARN,
							"virtio-net user: more than %u sockets: "
							"the rest wait", NETSLIRP_MAX_FDS);
				s->fds_full_logged = true;
				return -1;
			}
			s->nfds++;
		}
		s->fds[i] = (struct netslirp_fd){.fd = fd};
	}
	s->fds[i].events |= to_io(events);
	s->fds[i].seen = true;
	return (int)i;
}

static int get_revents(int idx, void *opaque)
{
	struct netslirp *s = opaque;
	if (idx < 0 || (unsigned)idx >= s->nfds)
		return 0;
	return (int)s->fds[idx].revents;
}

/* Ask slirp for its descriptors and timeout; make the watches match. */
static void netslirp_sync(struct netslirp *s)
{
	const struct avmm_host *host = s->be.host;
	uint32_t timeout = UINT32_MAX;

	for (unsigned i = 0; i < s->nfds; i++) {
		s->fds[i].events = 0;
		s->fds[i].seen = false;
		s->fds[i].revents = 0;
	}
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	for (unsigned i = 0; i < s->nfds; i++) {
		struct netslirp_fd *f = &s->fds[i];
		if (f->watched == f->events)
			continue;
		if (f->watched)
			host->io_unwatch(s->be.dev, f->fd);
		f->watched = 0;
		if (f->events && host->io_watch(s->be.dev, f->fd, f->events, netslirp_io, s) == 0)
			f->watched = f->events;
	}
	while (s->nfds && !s->fds[s->nfds - 1].watched && !s->fds[s->nfds - 1].seen)
		s->nfds--;
	if (timeout != UINT32_MAX)
		host->timer_mod(s->poll_timer, host->clock_ns() + (uint64_t)timeout * 1000000u);
}

static void netslirp_poll(struct netslirp *s)
{
	if (s->in_poll)
		return;
	s->in_poll = true;
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	s->in_poll = false;
	netslirp_sync(s);
}

static void netslirp_io(void *opaque, int fd, unsigned revents)
{
	struct netslirp *s = opaque;
	for (unsigned i = 0; i < s->nfds; i++) {
		if (s->fds[i].fd != fd || !s->fds[i].watched)
			continue;
		s->fds[i].revents = (revents & AVMM_IO_IN ? SLIRP_POLL_IN : 0) |
				    (revents & AVMM_IO_OUT ? SLIRP_POLL_OUT : 0) |
				    (revents & AVMM_IO_ERR ? SLIRP_POLL_ERR | SLIRP_POLL_HUP : 0);
		break;
	}
	netslirp_poll(s);
}

static void netslirp_poll_timer(void *opaque)
{
	netslirp_poll(opaque);
}

/* ---- backend ops -------------------------------------------------------- */

static int netslirp_send(struct netbe *be, const void *frame, size_t len)
{
	struct netslirp *s = (struct netslirp *)be;
	if (len > NETBE_FRAME_MAX)
		return -EMSGSIZE;
	slirp_input(s->slirp, frame, (int)len);
	netslirp_sync(s);
	return 0;
}

static void netslirp_rx_resume(struct netbe *be)
{
	(void)be; /* nothing held back: frames meanwhile were dropped */
}

static bool netslirp_link_up(struct netbe *be)
{
	(void)be;
	return true;
}

static void netslirp_close(struct netbe *be)
{
	struct netslirp *s = (struct netslirp *)be;
	for (unsigned i = 0; i < s->nfds; i++)
		if (s->fds[i].watched)
			s->be.host->io_unwatch(s->be.dev, s->fds[i].fd);
	if (s->slirp)
		slirp_cleanup(s->slirp); /* frees its timers through cb_timer_free */
	if (s->poll_timer)
		s->be.host->timer_free(s->poll_timer);
	free(s);
}

static const struct netbe_ops netslirp_ops = {
	.send = netslirp_send,
	.rx_resume = netslirp_rx_resume,
	.link_up = netslirp_link_up,
	.close = netslirp_close,
};

/* ---- keys --------------------------------------------------------------- */

/* "A.B.C.D/N" with 8 <= N <= 27 (room for .15 and up) and no host bits. */
static int parse_subnet(const char *v, struct in_addr *net, struct in_addr *mask)
{
	char buf[32];
	const char *slash = strchr(v, '/');
	if (!slash || (size_t)(slash - v) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, (size_t)(slash - v));
	buf[slash - v] = 0;
	char *end;
	long n = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || n < 8 || n > 27 || inet_pton(AF_INET, buf, net) != 1)
		return -EINVAL;
	uint32_t m = ~0u << (32 - n);
	if (ntohl(net->s_addr) & ~m)
		return -EINVAL;
	mask->s_addr = htonl(m);
	return 0;
}

static struct in_addr host_in(struct in_addr net, uint32_t host)
{
	return (struct in_addr){.s_addr = htonl(ntohl(net.s_addr) | host)};
}

static int parse_port(const char *s, size_t len, int *port)
{
	char buf[8];
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	char *end;
	long p = strtol(buf, &end, 10);
	if (*end || p < 1 || p > 65535)
		return -EINVAL;
	*port = (int)p;
	return 0;
}

/* "ADDR:PORT" with ADDR possibly empty (then `def`). */
static int parse_addr_port(const char *s, size_t len, struct in_addr def, struct in_addr *addr,
			   int *port)
{
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return -EINVAL;
	size_t alen = (size_t)(colon - s);
	*addr = def;
	if (alen) {
		char buf[INET_ADDRSTRLEN];
		if (alen >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, alen);
		buf[alen] = 0;
		if (inet_pton(AF_INET, buf, addr) != 1)
			return -EINVAL;
	}
	return parse_port(colon + 1, len - alen - 1, port);
}

/* One forward, `len` bytes at `s`. */
static int add_hostfwd(struct netslirp *s, const char *key, const char *fwd, size_t len,
		       struct in_addr guest_def)
{
	const struct avmm_host *host = s->be.host;
	int udp = 0;
	if (len >= 4 && !strncmp(fwd, "tcp:", 4)) {
		fwd += 4, len -= 4;
	} else if (len >= 4 && !strncmp(fwd, "udp:", 4)) {
		udp = 1;
		fwd += 4, len -= 4;
	}
	const char *dash = memchr(fwd, '-', len);
	struct in_addr haddr, gaddr;
	int hport, gport;
	struct in_addr loopback = {.s_addr = htonl(INADDR_LOOPBACK)};
	if (!dash ||
	    parse_addr_port(fwd, (size_t)(dash - fwd), loopback, &haddr, &hport) ||
	    parse_addr_port(dash + 1, len - (size_t)(dash - fwd) - 1, guest_def, &gaddr, &gport))
		return host->cfg_error(s->be.dev, key,
				       "'%.*s' is not [tcp:|udp:][HOSTADDR]:HOSTPORT-"
				       "[GUESTADDR]:GUESTPORT (e.g. tcp:127.0.0.1:2222-:22)",
				       (int)len, fwd);
	if (slirp_add_hostfwd(s->slirp, udp, haddr, hport, gaddr, gport) < 0)
		return host->cfg_error(s->be.dev, key,
				       "cannot forward %s port %d: %s (in use?)",
				       udp ? "udp" : "tcp", hport, strerror(errno));
	return 0;
}

int netbe_slirp_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		     const char *spec, unsigned mtu, const struct netbe_cb *cb, void *opaque,
		     struct netbe **out, char *err, size_t errlen)
{
	if (strcmp(spec, "user"))
		return -ENOENT;

	bool restrict_ = false;
	int rc = host->cfg_bool(dev, "restrict", &restrict_);
	if (rc && rc != -ENOENT)
		return rc;
	struct in_addr net = {.s_addr = htonl(0x0a000200u)}; /* 10.0.2.0/24 */
	struct in_addr mask = {.s_addr = htonl(0xffffff00u)};
	const char *v;
	rc = host->cfg_str(dev, "subnet", &v);
	if (rc == 0 && parse_subnet(v, &net, &mask))
		return host->cfg_error(dev, "subnet",
				       "'%s' is not A.B.C.D/N with N from 8 to 27 and no host "
				       "bits set (e.g. 10.0.2.0/24)", v);
	if (rc && rc != -ENOENT)
		return rc;
	const char *fwds = NULL;
	rc = host->cfg_str(dev, "hostfwd", &fwds);
	if (rc && rc != -ENOENT)
		return rc;

	struct netslirp *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->be = (struct netbe){.ops = &netslirp_ops, .host = host, .dev = dev, .cb = cb,
			       .opaque = opaque};
	rc = host->timer_new(dev, netslirp_poll_timer, s, &s->poll_timer);
	if (rc) {
		snprintf(err, errlen, "cannot create the user network's timer: %s", strerror(-rc));
		free(s);
		return rc;
	}
	SlirpConfig cfg = {
		.version = 1,
		.restricted = restrict_,
		.in_enabled = true,
		.vnetwork = net,
		.vnetmask = mask,
		.vhost = host_in(net, 2),
		.vdhcp_start = host_in(net, 15),
		.vnameserver = host_in(net, 3),
		.if_mtu = mtu <= 65521 ? mtu : 0, /* IF_MTU_MAX: slirp's own limit */
		.if_mru = mtu <= 65521 ? mtu : 0,
	};
	s->slirp = slirp_new(&cfg, &netslirp_cb, s);
	if (!s->slirp) {
		snprintf(err, errlen, "libslirp refused the user network's settings");
		netslirp_close(&s->be);
		return -EINVAL;
	}
	for (const char *p = fwds; p && *p;) {
		size_t skip = strspn(p, " \t,");
		p += skip;
		size_t len = strcspn(p, " \t,");
		if (!len)
			break;
		rc = add_hostfwd(s, "hostfwd", p, len, cfg.vdhcp_start);
		if (rc) {
			netslirp_close(&s->be);
			return rc;
		}
		p += len;
	}
	netslirp_sync(s);
	*out = &s->be;
	return 0;
}

#endif
