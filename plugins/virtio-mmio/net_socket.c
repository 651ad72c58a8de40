/* SPDX-License-Identifier: MIT */
/*
 * Socket backends of virtio-net (net_backend.h): raw Ethernet frames over a
 * connected AF_UNIX socket.
 *  - `unixgram:PATH`: SOCK_DGRAM, one frame per datagram (the framing of
 *    vfkit, vmnet-helper and gvproxy --listen-vfkit).
 *  - `unixstream:PATH`: SOCK_STREAM, each frame preceded by its length as
 *    a 4-byte big-endian number (QEMU's -netdev stream, passt).
 * A datagram socket is bound to an address of its own first, or the peer
 * could not answer: key `local = PATH` names it (for a peer that sends to a
 * fixed address, e.g. QEMU's -netdev dgram remote.path), else on Linux an
 * autobound abstract one, elsewhere PATH.avmm-PID next to the peer's, as
 * vfkit does.  A path we bound is removed again on close.  Without `local`,
 * the first datagram is vfkit's 4-byte "VFKT", which tells a server that
 * learns its client from the first datagram (gvproxy --listen-vfkit; older
 * releases require it) where to send; vmnet-helper drops it.
 * With `local`, the datagram socket is not connected: it sends to PATH and
 * takes datagrams from PATH only, so the two ends may start in any order
 * and the peer may restart, as with QEMU's -netdev dgram (two avmm guests,
 * each with the other's `local` as its PATH, make a pair).  While nothing is
 * bound at PATH frames are dropped, with one log line per absence.
 * With `listen = on` (unixstream only, QEMU's server=on) avmm binds PATH and
 * listens: the link is down until a peer connects, one peer at a time (a
 * second is closed at once, logged once per connection), and down again,
 * with one log line, when it goes, until the next connects.
 * Otherwise both connect to a peer already listening at PATH, and never block: a
 * stream frame is reassembled across partial reads, and a frame the socket
 * took only part of is finished from the output watch before the next one
 * is taken.  A peer that goes away (EOF, reset, refused) takes the link
 * down for good (listening: until the next connects), with one log line;
 * the VM keeps running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "net_backend.h"

#define NETSOCK_RX_BURST 64u /* frames per input callback before yielding */

/* No SIGPIPE from a peer that went away: MSG_NOSIGNAL, else SO_NOSIGPIPE (macOS). */
#ifdef MSG_NOSIGNAL
#define NETSOCK_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
#else
#define NETSOCK_SEND_FLAGS MSG_DONTWAIT
#endif
#define NETSOCK_LEN_BYTES 4u

struct netsock {
	struct netbe be;
	int fd; /* the connection; -1 while a listener waits for one */
	int lfd; /* `listen = on`: the listening socket, else -1 */
	unsigned levents; /* what lfd's watch asks for */
	bool refused_logged; /* a second peer was turned away (this connection) */
	bool stream;
	bool up;
	unsigned events; /* what the watch asks for now; 0: no watch */
	bool rx_paused;

	/* stream input: the length prefix, then the frame (or skipped bytes) */
	uint8_t len_buf[NETSOCK_LEN_BYTES];
	size_t len_got;
	uint32_t frame_len;
	size_t frame_got;
	bool skipping; /* a length past NETBE_FRAME_MAX: read and discard */

	/* stream output the socket has not taken yet */
	size_t out_len, out_off;
	bool tx_waiting; /* a send said -EAGAIN: call cb->writable once there is room */

	char *bound; /* the path we bound (not Linux), unlinked on close */

	/* `local`: unconnected, to and from this address only */
	bool unconnected;
	bool peer_absent; /* the last send found no socket at PATH (logged once) */
	struct sockaddr_un peer;

	uint8_t rx[NETBE_FRAME_MAX];
	uint8_t out[NETSOCK_LEN_BYTES + NETBE_FRAME_MAX];
};

static void netsock_io(void *opaque, int fd, unsigned revents);

/* Make the watch ask for `events`; none once the link is down. */
static void netsock_set_events(struct netsock *s, unsigned events)
{
	netbe_watch(&s->be, s->fd, &s->events, s->up ? events : 0, netsock_io, s);
}

static void netsock_update(struct netsock *s)
{
	bool out = s->out_len || s->tx_waiting;
	netsock_set_events(s, (s->rx_paused ? 0 : AVMM_IO_IN) | (out ? AVMM_IO_OUT : 0));
}

static void netsock_down(struct netsock *s, const char *why)
{
	if (!s->up)
		return;
	netsock_set_events(s, 0);
	s->up = false;
	s->out_len = s->out_off = 0;
	s->tx_waiting = false;
	s->be.host->log(s->be.dev, AVMM_LOG_WARN, "virtio-net: %s peer %s: link down%s",
			s->stream ? "unixstream" : "unixgram", why,
			s->lfd >= 0 ? " until the next one connects" : "");
	if (s->lfd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	s->be.cb->link(s->be.opaque, false);
}

static bool peer_gone(int e)
{
	return e == ECONNRESET || e == ECONNREFUSED || e == ENOTCONN || e == EPIPE;
}

static bool netsock_from_peer(const struct netsock *s, const struct sockaddr_un *from,
			      socklen_t len)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (len <= off || from->sun_family != AF_UNIX)
		return false;
	size_t n = strnlen(from->sun_path, len - off);
	return n == strlen(s->peer.sun_path) && !memcmp(from->sun_path, s->peer.sun_path, n);
}

/* One datagram: 1 handed over (or dropped: the device's choice, or not the
 * peer's), 0 nothing there. */
static int netsock_rx_dgram(struct netsock *s)
{
	struct sockaddr_un from;
	struct iovec iov = {.iov_base = s->rx, .iov_len = sizeof(s->rx)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (s->unconnected) {
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
	}
	ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		/* Unconnected, a refusal is an old send's, not the end of the link. */
		if (s->unconnected && peer_gone(errno))
			return 1;
		netsock_down(s, peer_gone(errno) ? "went away" : strerror(errno));
		return 0;
	}
	/* Anyone may send to a bound path: only the peer's datagrams count. */
	if (s->unconnected && !netsock_from_peer(s, &from, msg.msg_namelen))
		return 1;
	/* Longer than the buffer (cut short): a length past it, so the device drops it. */
	if (msg.msg_flags & MSG_TRUNC)
		n = (ssize_t)sizeof(s->rx) + 1;
	s->be.cb->receive(s->be.opaque, s->rx, (size_t)n);
	return 1;
}

/* Read what there is of the next stream frame: 1 a frame completed, 0 not yet. */
static int netsock_rx_stream(struct netsock *s)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		if (s->len_got < NETSOCK_LEN_BYTES) {
			dst = s->len_buf + s->len_got;
			want = NETSOCK_LEN_BYTES - s->len_got;
		} else {
			size_t left = s->frame_len - s->frame_got;
			if (!left)
				break;
			/* Skipped bytes all land at the start of rx: only counted. */
			dst = s->skipping ? s->rx : s->rx + s->frame_got;
			want = s->skipping && left > sizeof(s->rx) ? sizeof(s->rx) : left;
		}
		ssize_t n = recv(s->fd, dst, want, MSG_DONTWAIT);
		if (n == 0) {
			netsock_down(s, "closed the connection");
			return 0;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			netsock_down(s, peer_gone(errno) ? "went away" : strerror(errno));
			return 0;
		}
		if (s->len_got < NETSOCK_LEN_BYTES) {
			s->len_got += (size_t)n;
			if (s->len_got == NETSOCK_LEN_BYTES) {
				s->frame_len = (uint32_t)s->len_buf[0] << 24 |
					       (uint32_t)s->len_buf[1] << 16 |
					       (uint32_t)s->len_buf[2] << 8 | s->len_buf[3];
				s->frame_got = 0;
				s->skipping = s->frame_len > NETBE_FRAME_MAX;
			}
		} else {
			s->frame_got += (size_t)n;
		}
	}
	uint32_t len = s->frame_len;
	s->len_got = 0;
	s->skipping = false;
	/*
	 * A skipped frame is still reported, by its length (past
	 * NETBE_FRAME_MAX, so only the length is looked at), so it is counted.
	 */
	s->be.cb->receive(s->be.opaque, s->rx, len);
	return 1;
}

static void netsock_rx(struct netsock *s)
{
	for (unsigned i = 0; i < NETSOCK_RX_BURST && s->up; i++) {
		if (!s->be.cb->can_receive(s->be.opaque)) {
			s->rx_paused = true;
			break;
		}
		if ((s->stream ? netsock_rx_stream(s) : netsock_rx_dgram(s)) == 0)
			break;
	}
	/* Past the burst: the watch is level-triggered, poll brings us back. */
}

/* Push out the rest of a partly written stream frame: true when done. */
static bool netsock_flush(struct netsock *s)
{
	while (s->out_off < s->out_len) {
		ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off,
				 NETSOCK_SEND_FLAGS);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return false;
			netsock_down(s, peer_gone(errno) ? "went away" : strerror(errno));
			return false;
		}
		s->out_off += (size_t)n;
	}
	s->out_len = s->out_off = 0;
	return true;
}

static void netsock_io(void *opaque, int fd, unsigned revents)
{
	struct netsock *s = opaque;
	(void)fd;

	if (revents & AVMM_IO_IN)
		netsock_rx(s);
	if (s->up && (revents & AVMM_IO_OUT) && netsock_flush(s) && s->tx_waiting) {
		s->tx_waiting = false;
		s->be.cb->writable(s->be.opaque);
	}
	/* Hang-up or error with nothing left to read: the peer is gone. */
	if (s->up && (revents & AVMM_IO_ERR) && !(revents & AVMM_IO_IN))
		netsock_down(s, "hung up");
	netsock_update(s);
}

static int netsock_send(struct netbe *be, const void *frame, size_t len)
{
	struct netsock *s = (struct netsock *)be;

	if (!s->up)
		return -ENOTCONN;
	if (len > NETBE_FRAME_MAX)
		return -EMSGSIZE;
	if (!s->stream) {
		ssize_t n = s->unconnected
				    ? sendto(s->fd, frame, len, NETSOCK_SEND_FLAGS,
					     (const struct sockaddr *)&s->peer, sizeof(s->peer))
				    : send(s->fd, frame, len, NETSOCK_SEND_FLAGS);
		if (n >= 0) {
			if (s->peer_absent) {
				s->peer_absent = false;
				s->be.host->log(s->be.dev, AVMM_LOG_INFO,
						"virtio-net: unixgram peer %s is there again",
						s->peer.sun_path);
			}
			return 0;
		}
		int e = errno;
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR) {
			s->tx_waiting = true;
			netsock_update(s);
			return -EAGAIN;
		}
		if (s->unconnected && (e == ENOENT || e == ECONNREFUSED)) {
			if (!s->peer_absent)
				s->be.host->log(s->be.dev, AVMM_LOG_WARN,
						"virtio-net: unixgram peer %s is not there (%s): "
						"frames to it are dropped until it is",
						s->peer.sun_path, strerror(e));
			s->peer_absent = true;
			return -ENOTCONN;
		}
		if (peer_gone(e)) {
			netsock_down(s, "went away");
			return -ENOTCONN;
		}
		return -e;
	}
	if (s->out_len) {
		/* The previous frame is still going out. */
		s->tx_waiting = true;
		netsock_update(s);
		return -EAGAIN;
	}
	uint8_t *p = s->out;
	p[0] = (uint8_t)(len >> 24), p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	memcpy(p + NETSOCK_LEN_BYTES, frame, len);
	s->out_len = NETSOCK_LEN_BYTES + len;
	s->out_off = 0;
	/* Taken whole either way: what the socket does not take now goes from the watch. */
	netsock_flush(s);
	netsock_update(s);
	return s->up ? 0 : -ENOTCONN;
}

static void netsock_rx_resume(struct netbe *be)
{
	struct netsock *s = (struct netsock *)be;

	if (!s->rx_paused)
		return;
	s->rx_paused = false;
	netsock_update(s);
}

static bool netsock_link_up(struct netbe *be)
{
	return ((struct netsock *)be)->up;
}

static void netsock_close(struct netbe *be)
{
	struct netsock *s = (struct netsock *)be;

	if (s->events)
		s->be.host->io_unwatch(s->be.dev, s->fd);
	if (s->levents)
		s->be.host->io_unwatch(s->be.dev, s->lfd);
	if (s->fd >= 0)
		close(s->fd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->bound) {
		unlink(s->bound);
		free(s->bound);
	}
	free(s);
}

/* Bind socket `fd` to the file-system path `p` (removed again on close). */
static int netsock_bind_path(struct netsock *s, int fd, const char *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (strlen(p) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, p, strlen(p) + 1);
	/* A socket left by an earlier run; never remove anything else. */
	if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(p);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	s->bound = strdup(p);
	return s->bound ? 0 : -ENOMEM;
}

/* A datagram socket's own address, so that the peer can send to it. */
static int netsock_bind_local(struct netsock *s, const char *path, const char *local)
{
	if (local)
		return netsock_bind_path(s, s->fd, local);
#if defined(__linux__)
	(void)path;
	sa_family_t fam = AF_UNIX; /* address length of the family only: autobind */
	if (bind(s->fd, (struct sockaddr *)&fam, sizeof(fam)) < 0)
		return -errno;
	return 0;
#else
	char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(p, sizeof(p), "%s.avmm-%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(p))
		return -ENAMETOOLONG;
	return netsock_bind_path(s, s->fd, p);
#endif
}

/* Close-on-exec, no SIGPIPE, and (`nonblock`) non-blocking. */
static int netsock_fd_setup(int fd, bool nonblock)
{
	fcntl(fd, F_SETFD, FD_CLOEXEC); /* no SOCK_CLOEXEC on macOS */
#ifdef SO_NOSIGPIPE
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The listener is readable: take the connection, or turn it away while we have one. */
static void netsock_accept(void *opaque, int fd, unsigned revents)
{
	struct netsock *s = opaque;
	(void)revents;

	int c = accept(fd, NULL, NULL);
	if (c < 0)
		return; /* EAGAIN, or the peer gave up meanwhile: the watch stays */
	if (s->fd >= 0 || netsock_fd_setup(c, true)) {
		close(c);
		if (s->fd >= 0 && !s->refused_logged) {
			s->refused_logged = true;
			s->be.host->log(s->be.dev, AVMM_LOG_WARN,
					"virtio-net: unixstream %s already has its peer: "
					"another one was turned away", s->peer.sun_path);
		}
		return;
	}
	s->fd = c;
	s->refused_logged = false;
	s->len_got = s->frame_got = 0;
	s->frame_len = 0;
	s->skipping = false;
	s->up = true;
	s->be.host->log(s->be.dev, AVMM_LOG_INFO,
			"virtio-net: unixstream %s: a peer connected: link up", s->peer.sun_path);
	s->be.cb->link(s->be.opaque, true);
	netsock_update(s);
}

static const struct netbe_ops netsock_ops = {
	.send = netsock_send,
	.rx_resume = netsock_rx_resume,
	.link_up = netsock_link_up,
	.close = netsock_close,
};

int netbe_socket_open(struct avmm_dev *dev, const struct avmm_host *host, const char *key,
		      const char *spec, const struct netbe_cb *cb, void *opaque,
		      struct netbe **out, char *err, size_t errlen)
{
	bool stream;
	const char *path;

	if (!strncmp(spec, "unixgram:", 9)) {
		stream = false;
		path = spec + 9;
	} else if (!strncmp(spec, "unixstream:", 11)) {
		stream = true;
		path = spec + 11;
	} else {
		return -ENOENT;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!*path)
		return host->cfg_error(dev, key, "'%s': the socket path is empty", spec);
	if (strlen(path) >= sizeof(sa.sun_path))
		return host->cfg_error(dev, key, "'%s': the socket path is longer than %zu bytes",
				       spec, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	const char *local = NULL;
	bool listening = false;
	if (stream) {
		int rc = host->cfg_bool(dev, "listen", &listening);
		if (rc && rc != -ENOENT)
			return rc;
	} else {
		const char *v;
		int rc = host->cfg_str(dev, "listen", &v);
		if (rc && rc != -ENOENT)
			return rc;
		if (!rc && *v) /* empty counts as absent, as for the user keys */
			return host->cfg_error(dev, "listen",
					       "only unixstream: listens; a unixgram: socket "
					       "takes `local = PATH` for an address of its own");
	}
	if (!stream) {
		int rc = host->cfg_str(dev, "local", &local);
		if (rc && rc != -ENOENT)
			return rc;
		if (!rc && (!*local || strlen(local) >= sizeof(sa.sun_path)))
			return host->cfg_error(dev, "local",
					       "'%s': want a socket path of 1 to %zu bytes", local,
					       sizeof(sa.sun_path) - 1);
	}

	struct netsock *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->be = (struct netbe){.ops = &netsock_ops, .host = host, .dev = dev, .cb = cb,
			       .opaque = opaque};
	s->stream = stream;
	s->lfd = -1;
	s->peer = sa;
	s->fd = socket(AF_UNIX, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (s->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		free(s);
		return -e;
	}
	netsock_fd_setup(s->fd, false);
	if (listening) {
		/* The socket made above listens; connections come from accept. */
		s->lfd = s->fd;
		s->fd = -1;
		int e = netsock_bind_path(s, s->lfd, path);
		if (!e && (listen(s->lfd, 1) < 0 || netsock_fd_setup(s->lfd, true)))
			e = -errno;
		if (e) {
			netsock_close(&s->be);
			return host->cfg_error(dev, key, "cannot listen at %s: %s", path,
					       strerror(-e));
		}
		netbe_watch(&s->be, s->lfd, &s->levents, AVMM_IO_IN, netsock_accept, s);
		if (!s->levents) {
			snprintf(err, errlen, "cannot watch the socket on the I/O thread");
			netsock_close(&s->be);
			return -ENOSPC;
		}
		*out = &s->be;
		return 0;
	}
	if (!stream) {
		int e = netsock_bind_local(s, path, local);
		if (e) {
			netsock_close(&s->be);
			if (local)
				return host->cfg_error(dev, "local", "cannot bind %s: %s", local,
						       strerror(-e));
			snprintf(err, errlen, "cannot bind a local address for %s: %s", path,
				 strerror(-e));
			return e;
		}
	}
	s->unconnected = local != NULL;
	/* Connect while still blocking (a unix connect completes at once), then go non-blocking. */
	if (!s->unconnected && connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		netsock_close(&s->be);
		return host->cfg_error(dev, key,
				       "cannot connect to %s: %s (start the peer that listens "
				       "there first)", path, strerror(e));
	}
	if (!stream && !local && send(s->fd, "VFKT", 4, NETSOCK_SEND_FLAGS) != 4) {
		int e = errno;
		netsock_close(&s->be);
		return host->cfg_error(dev, key, "cannot send the vfkit handshake to %s: %s", path,
				       strerror(e));
	}
	int e = netsock_fd_setup(s->fd, true);
	if (e) {
		snprintf(err, errlen, "fcntl: %s", strerror(-e));
		netsock_close(&s->be);
		return e;
	}
	s->up = true;
	netsock_update(s);
	if (!s->events) {
		snprintf(err, errlen, "cannot watch the socket on the I/O thread");
		netsock_close(&s->be);
		return -ENOSPC;
	}
	*out = &s->be;
	return 0;
}
