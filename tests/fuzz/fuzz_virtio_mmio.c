/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio plugin (transport, virtqueues and a device type) driven
 * through the fake host as a hostile driver would: any register access,
 * arbitrary bytes in guest RAM (rings, descriptors, requests), doorbell and
 * worker runs, console input, resets.  The first byte picks the device type
 * (rng, console, net over unixgram, net over unixstream; the harness holds
 * the socket's peer end, in a private temporary directory; type 4 is net
 * over `tap:fz0` with vnet headers, net_tap.c's system calls (net_tap.h)
 * replaced by a fake kernel: /dev/net/tun is one end of a socket pair, the
 * harness the other, SOCK_SEQPACKET or, when bit 0 of first byte / 5 is
 * set, SOCK_DGRAM; first byte / 10 % 10 makes the attach fail: 1 open
 * ENOENT, 2..4 TUNSETIFF EPERM, EBUSY, EINVAL, 5 TUNGETIFF without
 * IFF_PERSIST, 6 TUNSETVNETHDRSZ, 7 TUNSETVNETLE (harmless on a
 * little-endian host), 8 TUNSETOFFLOAD, 9 no such interface; create must
 * then fail with its fd closed and no watch left).  Operations, each an
 * opcode byte:
 *   0 write(offset u16, size index u8, value u32)   1 read(offset, size index)
 *   2 poke RAM(offset u16, n u8, n bytes)            3 poll (doorbells, workers)
 *   4 console input(n u8, n bytes)                   5 device reset
 *   6 bring-up(features u64, queue size u8): a well-formed driver start with
 *     every queue at a fixed place, so runs reach DRIVER_OK quickly
 * Net only (the harness keeps its own descriptors, so it knows each chain's
 * writable length):
 *   7 post RX chain(nseg u8, nseg x len u16, kick u8)
 *   8 post TX chain(nseg u8, total len u32, kick u8)
 *   9 peer sends(mode u8, len u32): a frame of len % 0x10400 bytes (runts,
 *     past 64 KiB); on a stream, mode bit 0 sends instead a raw run of
 *     len % 256 input bytes, so the length-prefix framing is fuzzed too.
 *     Tap: the frame comes after a 12-byte vnet header (12 input bytes
 *     after len; up to 64 KiB GSO frames and past), mode bit 0 sends a raw
 *     message of len % 256 input bytes (shorter than a header, say)
 *  10 peer drains what the device transmitted
 *  11 peer closes its end (link down) or, when closed, opens it again.
 *     Tap (mode u8 % 5): 0 writes fail with EIO (down) or work again,
 *     1 with EAGAIN (full) or not, 2 with EINVAL (header refused) or not,
 *     3 deleted (reads and writes fail with EBADFD), 4 the stand-in closes
 *     its end (the device reads end-of-file)
 *  12 advance the fake clock(ns u32) (the transmit retry timer)
 *  13 kick(queue u8) and acknowledge the interrupt
 *  14 post TX chain with a header(nseg u8, total u32, kick u8, 12 header
 *     bytes): the header in a descriptor of its own (a 16-byte slot per head
 *     descriptor at HDR_SLOTS), the rest of total split as in 8
 *  15 bring-up(features u32, queue size u8) as 6, the features masked to
 *     what the device offers unless bit 31 is set (then bits 0..30 as they
 *     are, so refused sets are reached too)
 *
 * Invariants after every operation: Magic, Version and the device id read
 * back unchanged; the interrupt line is high exactly when InterruptStatus is
 * not zero; only a queue that exists (QueueNumMax not 0) reads ready.  For
 * net, while the rings are the harness's own (no raw register write or ring
 * poke since the last bring-up): every used entry names a chain in flight
 * and its length is at most that chain's writable length; each received
 * frame's num_buffers is 1..VNET_RX_HELD (1 without MRG_RXBUF).  Always:
 * the device's counters never go down, and a frame the peer receives is no
 * longer than the longest TX chain the guest posted, less the header (no
 * longer than NETBE_FRAME_MAX once raw pokes ran).  The fake host counts plugin bugs (a refused host call)
 * and fake_fini traps on any; ASan catches a guest-memory access that
 * escaped the bounds-checked accessors.
 *
 * Net, the virtio_net_hdr (virtio 1.2 5.1.6; the rules restated here from
 * the spec and net.c's header comment, not from its code: ECN without a
 * GSO type and a driver's GSO frame with hdr_len 0 are refused by its
 * contract, beyond the spec's MUSTs): the offload features are offered over
 * the tap only; after a bring-up FEATURES_OK reads back exactly when the
 * set is offered and meets 5.1.3.1's dependencies.  While the negotiated
 * features are known (no raw write to the feature or status registers
 * since the last bring-up or reset; else what is offered stands in): each
 * frame the tap receives starts with a 12-byte header using only flags and
 * gso_type the driver's features allow (CSUM, HOST_TSO4/6, HOST_ECN), its
 * checksum within the frame, a GSO frame with NEEDS_CSUM, hdr_len and
 * gso_size, num_buffers 0; the header each received frame carries to the
 * guest obeys the same rules for GUEST_CSUM (and DATA_VALID), GUEST_TSO4/6
 * and GUEST_ECN (without offloads: flags and gso_type 0); the last
 * TUNSETOFFLOAD is what the GUEST_* features map to once DRIVER_OK is set,
 * 0 before.  Over the tap and unixgram, with the harness's own rings, the
 * peer never gets more frames than the TX chains posted whose header those
 * rules accept (a bad header never reaches the peer).  The fake tap checks
 * the attach sequence (TUNSETIFF flags and name, a 12-byte little-endian
 * header, only TUN_F_CSUM/TSO4/TSO6/TSO_ECN offloads, no other ioctl) and
 * that destroy closes the device's fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakehost.h"
#include "fuzz.h"
#include "net.h"
#include "net_backend.h"
#include "net_tap.h"
#include "vdev.h"
#include "vnet_spec.h" /* virtio-net feature bits and header fields */

extern const struct avmm_plugin_desc fuzz_plugin_virtio_mmio;

#define BASE 0x0a000000ull
#define IRQ 16
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x130000ull
#define POKE_SIZE 0x10000ull /* what op 2 reaches: the ring windows and more */
#define RINGS_END 0x8000ull
#define RX_DATA 0x10000ull /* a 4 KiB slot per RX descriptor */
#define RX_SEG_MAX 0x1000u
#define TX_DATA 0x110000ull /* every TX chain reads from here */
#define TX_MAX 0x11100u    /* past header + NETBE_FRAME_MAX */
#define HDR 12u
#define RX_HELD_BOUND 64u /* net.c's VNET_RX_HELD */
#define HDR_SLOTS 0x8000ull /* op 14's headers: 16 bytes per head descriptor */
#define HDR_SLOTS_END (HDR_SLOTS + 16ull * 256)

#define F_VERSION_1 (1ull << 32)
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u

static struct avmm_dev dev;

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;

	FUZZ_CHECK(fake_read(&dev, 0, BASE + off, 4, &v) == 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
	FUZZ_CHECK(fake_write(&dev, 0, BASE + off, 4, v) == 0);
}

static void check(uint32_t id)
{
	FUZZ_CHECK(rd(0x000) == 0x74726976);
	FUZZ_CHECK(rd(0x004) == 2);
	FUZZ_CHECK(rd(0x008) == id);
	FUZZ_CHECK(dev.line_level[IRQ] == (rd(0x060) != 0));
	uint32_t sel = rd(0x030);
	/* Only existing queues can be ready (QueueNum is write-only: not checked here). */
	for (uint32_t q = 0; q < 3; q++) {
		wr(0x030, q);
		if (rd(0x044))
			FUZZ_CHECK(rd(0x034) != 0);
	}
	wr(0x030, sel);
}


/* ---- net: the harness's own rings and the socket peer -------------------- */

struct chain {
	bool live;
	unsigned n;
	uint16_t d[5];
	uint64_t addr[5];
	uint32_t len[5];
	uint32_t wlen;
};

static struct netstate {
	bool on, stream, tap;
	unsigned qsize;
	bool mrg;
	bool tainted; /* the rings are not (only) the harness's any more */
	bool raw;     /* a raw poke ran: TX frames bounded by NETBE_FRAME_MAX only */
	uint16_t avail[2], seen[2];
	bool busy[2][256];
	struct chain ch[2][256];
	unsigned frame_left; /* RX used entries still to come for this frame */
	uint64_t tx_max;     /* longest frame (header stripped) the guest posted */
	struct vnet_stats st;
	/* what the device offers; the negotiated features, while known */
	uint64_t offered, feat;
	bool feat_known;
	/* the received frame whose used entries are still coming: its header, its length */
	uint8_t rxh[HDR];
	uint64_t rx_acc;
	/* frames the peer got, TX chains posted with a header the rules accept */
	uint64_t got, tx_ok;
	bool txcount_off; /* not countable since the last bring-up */
	/* the peer */
	int lfd, fd;
	struct sockaddr_un devaddr;
	socklen_t devaddr_len;
	/* stream reassembly of what the device sent */
	uint8_t lenb[4];
	unsigned len_got;
	uint64_t left;
	/* the private directory of the socket, while the device connects */
	char dir[64], path[128];
} net;

/*
 * The socket lives in a fresh private directory only while the device
 * connects to it: both are removed as soon as it has (net_peer_unlink), so
 * a crashing input leaves nothing behind.
 */
static void net_peer_unlink(void)
{
	if (!net.dir[0])
		return;
	unlink(net.path);
	rmdir(net.dir);
	net.dir[0] = 0;
}

static void net_peer_open(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(net.dir, sizeof(net.dir), "/tmp/avmm-fuzznet-XXXXXX");
	FUZZ_CHECK(mkdtemp(net.dir) != NULL);
	snprintf(net.path, sizeof(net.path), "%s/peer.sock", net.dir);
	strcpy(sa.sun_path, net.path);
	int fd = socket(AF_UNIX, (net.stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	if (net.stream) {
		FUZZ_CHECK(listen(fd, 1) == 0);
		net.lfd = fd;
		net.fd = -1;
	} else {
		net.lfd = -1;
		net.fd = fd;
		/* Answer the device's own (autobound) address: its socket is the watched fd. */
		if (net.devaddr_len)
			connect(fd, (struct sockaddr *)&net.devaddr, net.devaddr_len);
	}
}

static void net_peer_close(void)
{
	if (net.fd >= 0)
		close(net.fd);
	if (net.lfd >= 0)
		close(net.lfd);
	net.fd = net.lfd = -1;
	net.len_got = 0;
	net.left = 0;
}

/* After create: accept the device's connection, or learn its datagram address. */
static void net_peer_attach(void)
{
	if (net.stream) {
		net.fd = accept4(net.lfd, NULL, NULL, SOCK_NONBLOCK);
		return;
	}
	for (unsigned i = 0; i < dev.nwatches; i++) {
		net.devaddr_len = sizeof(net.devaddr);
		if (getsockname(dev.watches[i].fd, (struct sockaddr *)&net.devaddr,
				&net.devaddr_len) == 0 &&
		    net.devaddr.sun_family == AF_UNIX) {
			connect(net.fd, (struct sockaddr *)&net.devaddr, net.devaddr_len);
			/* vfkit's handshake comes first, before any frame */
			uint8_t m[8];
			FUZZ_CHECK(recv(net.fd, m, sizeof(m), MSG_DONTWAIT) == 4);
			FUZZ_CHECK(!memcmp(m, "VFKT", 4));
			return;
		}
	}
	net.devaddr_len = 0;
}

static void net_frame_seen(uint64_t len)
{
	uint64_t bound = net.raw ? NETBE_FRAME_MAX : net.tx_max;

	FUZZ_CHECKF(len <= bound, "peer got a %llu-byte frame; bound %llu",
		    (unsigned long long)len, (unsigned long long)bound);
	/* A stream's frame may still be leaving the backend after a bring-up: not counted. */
	net.got++;
	if (!net.stream && !net.txcount_off && !net.tainted)
		FUZZ_CHECKF(net.got <= net.tx_ok,
			    "peer got %llu frames; only %llu chains with a good header were posted",
			    (unsigned long long)net.got, (unsigned long long)net.tx_ok);
}

/* ---- the virtio_net_hdr rules (5.1.6.2 from the driver, 5.1.6.4 to it) ---- */

/* The features the header rules go by: the negotiated ones, or all that is offered. */
static uint64_t net_features(void)
{
	return net.feat_known ? net.feat : net.offered;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Whether header h may come with a frame of len bytes (header not counted)
 * under features f, from the driver (tx) or to it: NULL when it may, else why not.
 */
static const char *hdr_bad(const uint8_t *h, uint64_t len, uint64_t f, bool tx)
{
	bool csum = f & (tx ? F_CSUM : F_GUEST_CSUM);
	bool tso4 = f & (tx ? F_HOST_TSO4 : F_GUEST_TSO4);
	bool tso6 = f & (tx ? F_HOST_TSO6 : F_GUEST_TSO6);
	bool ecn = f & (tx ? F_HOST_ECN : F_GUEST_ECN);
	unsigned flags = h[0], type = h[1] & ~H_GSO_ECN;
	uint64_t hdr_len = le16(h + 2), gso_size = le16(h + 4);
	uint64_t csum_start = le16(h + 6), csum_offset = le16(h + 8);
	/* DATA_VALID goes only to the driver; RSC_INFO is not offered. */
	unsigned may = csum ? H_NEEDS_CSUM | (tx ? 0 : H_DATA_VALID) : 0;

	if (flags & ~may)
		return "flags past the features";
	if ((flags & H_NEEDS_CSUM) && csum_start + csum_offset + 2 > len)
		return "the checksum field past the frame";
	if (type == 0)
		return h[1] & H_GSO_ECN ? "ECN without a GSO type" : NULL;
	if (!(type == H_GSO_TCPV4 && tso4) && !(type == H_GSO_TCPV6 && tso6))
		return "a gso_type past the features";
	if ((h[1] & H_GSO_ECN) && !ecn)
		return "ECN past the features";
	if (!gso_size || hdr_len > len)
		return "gso_size 0 or hdr_len past the frame";
	if (tx && (!(flags & H_NEEDS_CSUM) || !hdr_len))
		return "a GSO frame without NEEDS_CSUM or hdr_len";
	return NULL;
}

/* 5.1.3.1: what FEATURES_OK must be refused for (as well as what is not offered). */
static bool features_acceptable(uint64_t f)
{
	if (f & ~net.offered)
		return false;
	if ((f & (F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN | F_GUEST_UFO)) && !(f & F_GUEST_CSUM))
		return false;
	if ((f & (F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN | F_HOST_UFO)) && !(f & F_CSUM))
		return false;
	if ((f & F_GUEST_ECN) && !(f & (F_GUEST_TSO4 | F_GUEST_TSO6)))
		return false;
	if ((f & F_HOST_ECN) && !(f & (F_HOST_TSO4 | F_HOST_TSO6)))
		return false;
	return true;
}

/* ---- tap: the fake kernel behind net_tap.h -------------------------------- */

static struct tapk {
	bool dgram;
	int peer, dev_fd;
	int read_errno, write_errno;
	bool gone; /* deleted: TUNSETOFFLOAD fails too */
	unsigned long offload;
	/* attach faults */
	unsigned attach, opens;
} tk = {.peer = -1, .dev_fd = -1};

enum { TK_OK, TK_OPEN, TK_SETIFF_PERM, TK_SETIFF_BUSY, TK_SETIFF_INVAL, TK_TRANSIENT, TK_HDRSZ,
       TK_VNETLE, TK_OFFLOAD, TK_MISSING, TK_NFAULTS };

static int tk_fail(int e)
{
	errno = e;
	return -1;
}

static int tk_open(const char *path, int flags)
{
	int sv[2];

	FUZZ_CHECK(!strcmp(path, "/dev/net/tun") && (flags & O_NONBLOCK));
	FUZZ_CHECK(tk.dev_fd < 0 && tk.attach != TK_MISSING);
	tk.opens++;
	if (tk.attach == TK_OPEN)
		return tk_fail(ENOENT);
	FUZZ_CHECK(socketpair(AF_UNIX, (tk.dgram ? SOCK_DGRAM : SOCK_SEQPACKET) | SOCK_NONBLOCK |
					       SOCK_CLOEXEC, 0, sv) == 0);
	tk.dev_fd = sv[0];
	tk.peer = sv[1];
	return sv[0];
}

static int tk_ioctl(int fd, unsigned long req, void *arg)
{
	struct ifreq *ifr = arg;

	FUZZ_CHECK(fd == tk.dev_fd);
	switch (req) {
	case TUNSETIFF:
		FUZZ_CHECK(ifr->ifr_flags == (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
		FUZZ_CHECK(!strcmp(ifr->ifr_name, "fz0"));
		if (tk.attach >= TK_SETIFF_PERM && tk.attach <= TK_SETIFF_INVAL)
			return tk_fail((int[]){EPERM, EBUSY, EINVAL}[tk.attach - TK_SETIFF_PERM]);
		return 0;
	case TUNGETIFF:
		ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (tk.attach != TK_TRANSIENT)
			ifr->ifr_flags |= IFF_PERSIST;
		return 0;
	case TUNSETVNETHDRSZ:
		FUZZ_CHECK(*(int *)arg == (int)HDR);
		return tk.attach == TK_HDRSZ ? tk_fail(EINVAL) : 0;
	case TUNSETVNETLE:
		FUZZ_CHECK(*(int *)arg == 1);
		return tk.attach == TK_VNETLE ? tk_fail(EINVAL) : 0;
	case TUNSETOFFLOAD:
		if (tk.gone)
			return tk_fail(EBADFD);
		if (tk.attach == TK_OFFLOAD)
			return tk_fail(EINVAL);
		tk.offload = (unsigned long)(uintptr_t)arg;
		FUZZ_CHECKF(!(tk.offload & ~(unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
							     TUN_F_TSO_ECN)),
			    "TUNSETOFFLOAD 0x%lx", tk.offload);
		return 0;
	}
	FUZZ_CHECKF(0, "unexpected ioctl 0x%lx on the tap", req);
	return -1;
}

static ssize_t tk_read(int fd, void *buf, size_t len)
{
	if (tk.read_errno) {
		errno = tk.read_errno;
		return -1;
	}
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static ssize_t tk_write(int fd, const void *buf, size_t len)
{
	if (tk.write_errno) {
		errno = tk.write_errno;
		return -1;
	}
	return send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int tk_close(int fd)
{
	if (fd == tk.dev_fd)
		tk.dev_fd = -1;
	return close(fd);
}

static unsigned tk_if_index(const char *name)
{
	return strcmp(name, "fz0") || tk.attach == TK_MISSING ? 0 : 3;
}

static const struct netbe_tap_sys tk_sys = {
	.open = tk_open,
	.ioctl = tk_ioctl,
	.read = tk_read,
	.write = tk_write,
	.close = tk_close,
	.if_index = tk_if_index,
};

/* What the tap got from the device: each message a header and a frame. */
static void tap_drain(void)
{
	static uint8_t buf[0x20000];

	if (tk.peer < 0)
		return;
	for (;;) {
		ssize_t r = recv(tk.peer, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			return;
		/* SOCK_DGRAM reads a zero-length message as 0 too: the device sends none. */
		FUZZ_CHECKF(r >= (ssize_t)HDR && (size_t)r <= sizeof(buf),
			    "the tap got a %zd-byte message", r);
		uint64_t len = (uint64_t)r - HDR;
		const char *bad = hdr_bad(buf, len, net_features(), true);
		FUZZ_CHECKF(!bad, "the tap got a header with %s: %02x %02x %u %u %u %u, "
			    "%llu-byte frame, features 0x%llx%s", bad, buf[0], buf[1], le16(buf + 2),
			    le16(buf + 4), le16(buf + 6), le16(buf + 8), (unsigned long long)len,
			    (unsigned long long)net_features(), net.feat_known ? "" : " (offered)");
		FUZZ_CHECKF(le16(buf + 10) == 0, "num_buffers %u to the tap", le16(buf + 10));
		net_frame_seen(len);
	}
}

static void tap_send(struct fuzz_in *in)
{
	static uint8_t buf[HDR + 0x10400];
	uint8_t mode = fuzz_u8(in);
	uint32_t len = fuzz_u32(in);

	if (mode & 1) {
		unsigned n = len % 256;
		for (unsigned i = 0; i < n; i++)
			buf[i] = fuzz_u8(in);
		if (tk.peer >= 0)
			send(tk.peer, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	for (unsigned i = 0; i < HDR; i++)
		buf[i] = fuzz_u8(in);
	len %= 0x10400;
	for (uint32_t i = 0; i < len; i++)
		buf[HDR + i] = (uint8_t)(mode + i * 7);
	if (tk.peer >= 0)
		send(tk.peer, buf, HDR + len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void tap_fault(uint8_t m)
{
	static const int toggles[] = {EIO, EAGAIN, EINVAL};

	switch (m % 5) {
	case 0:
	case 1:
	case 2:
		if (!tk.gone)
			tk.write_errno = tk.write_errno == toggles[m % 5] ? 0 : toggles[m % 5];
		break;
	case 3:
		tk.gone = true;
		tk.read_errno = tk.write_errno = EBADFD;
		break;
	case 4:
		if (tk.peer >= 0)
			close(tk.peer);
		tk.peer = -1;
		break;
	}
}

static void net_drain(void)
{
	static uint8_t buf[0x20000];

	if (net.tap)
		tap_drain();
	if (net.fd < 0)
		return;
	for (;;) {
		ssize_t r = recv(net.fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (r <= 0)
			return;
		if (!net.stream) {
			net_frame_seen((uint64_t)r);
			continue;
		}
		for (ssize_t i = 0; i < r;) {
			if (net.len_got < 4) {
				net.lenb[net.len_got++] = buf[i++];
				if (net.len_got == 4) {
					net.left = (uint64_t)net.lenb[0] << 24 | net.lenb[1] << 16 |
						   net.lenb[2] << 8 | net.lenb[3];
					net_frame_seen(net.left);
					if (!net.left)
						net.len_got = 0;
				}
				continue;
			}
			uint64_t take = (uint64_t)(r - i) < net.left ? (uint64_t)(r - i) : net.left;
			i += (ssize_t)take;
			net.left -= take;
			if (!net.left)
				net.len_got = 0;
		}
	}
}

static void net_send(struct fuzz_in *in)
{
	static uint8_t buf[4 + 0x10400];
	uint8_t mode = fuzz_u8(in);
	uint32_t len = fuzz_u32(in);

	if (net.fd < 0)
		return;
	if (net.stream && (mode & 1)) {
		unsigned n = len % 256;
		for (unsigned i = 0; i < n; i++)
			buf[i] = fuzz_u8(in);
		send(net.fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	len %= 0x10400;
	uint8_t *f = buf + (net.stream ? 4 : 0);
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(mode + i * 7);
	if (net.stream) {
		buf[0] = (uint8_t)(len >> 24);
		buf[1] = (uint8_t)(len >> 16);
		buf[2] = (uint8_t)(len >> 8);
		buf[3] = (uint8_t)len;
	}
	send(net.fd, buf, len + (net.stream ? 4 : 0), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static uint64_t win(unsigned q)
{
	return 0x4000ull * q;
}

static void put16(uint64_t off, uint16_t v)
{
	dev.ram[off] = (uint8_t)v;
	dev.ram[off + 1] = (uint8_t)(v >> 8);
}

static uint32_t get32(uint64_t off)
{
	return (uint32_t)dev.ram[off] | (uint32_t)dev.ram[off + 1] << 8 |
	       (uint32_t)dev.ram[off + 2] << 16 | (uint32_t)dev.ram[off + 3] << 24;
}

/*
 * Post a chain of n segments on queue q (descriptors the harness picks);
 * a TX chain with a header `h` has it in a first segment of its own, in
 * the head descriptor's slot.  False when not posted.
 */
static bool net_post(unsigned q, unsigned n, const uint64_t *addr, const uint32_t *len, bool wr,
		     const uint8_t *h)
{
	struct chain c = {.live = true, .n = n};
	unsigned got = 0;

	if (!net.qsize || net.tainted)
		return false;
	for (unsigned i = 0; i < net.qsize && got < n; i++)
		if (!net.busy[q][i])
			c.d[got++] = (uint16_t)i;
	if (got < n)
		return false; /* the ring is full */
	for (unsigned i = 0; i < n; i++) {
		uint64_t d = win(q) + 16ull * c.d[i];
		uint64_t a = wr ? RX_DATA + (uint64_t)RX_SEG_MAX * c.d[i]
			  : h && i == 0 ? HDR_SLOTS + 16ull * c.d[0]
					: addr[i];

		net.busy[q][c.d[i]] = true;
		c.addr[i] = a;
		c.len[i] = len[i];
		if (wr)
			c.wlen += len[i];
		for (unsigned b = 0; b < 8; b++)
			dev.ram[d + b] = (uint8_t)((RAM_BASE + a) >> (8 * b));
		for (unsigned b = 0; b < 4; b++)
			dev.ram[d + 8 + b] = (uint8_t)(len[i] >> (8 * b));
		put16(d + 12, (uint16_t)((wr ? 2 : 0) | (i + 1 < n ? 1 : 0)));
		put16(d + 14, i + 1 < n ? c.d[i + 1] : 0);
	}
	if (h)
		memcpy(dev.ram + HDR_SLOTS + 16ull * c.d[0], h, HDR);
	net.ch[q][c.d[0]] = c;
	put16(win(q) + 0x1000 + 4 + 2ull * (net.avail[q] % net.qsize), c.d[0]);
	net.avail[q]++;
	put16(win(q) + 0x1000 + 2, net.avail[q]);
	return true;
}

static void net_post_rx(struct fuzz_in *in)
{
	unsigned n = fuzz_u8(in) % 4 + 1;
	uint32_t len[4];

	for (unsigned i = 0; i < n; i++)
		len[i] = fuzz_u16(in) % (RX_SEG_MAX + 1);
	net_post(0, n, NULL, len, true, NULL);
	if (fuzz_u8(in) & 1)
		wr(0x050, 0);
}

/*
 * Op 8 (with_hdr false: the chain's header is the zeros at TX_DATA) and
 * op 14 (the header from the input, in a segment of its own).
 */
static void net_post_tx(struct fuzz_in *in, bool with_hdr)
{
	unsigned n = fuzz_u8(in) % 4 + 1;
	uint32_t total = fuzz_u32(in) % (TX_MAX + 1), len[5];
	uint64_t addr[5];
	uint8_t kick = fuzz_u8(in), h[HDR] = {0};

	if (with_hdr)
		for (unsigned i = 0; i < HDR; i++)
			h[i] = fuzz_u8(in);
	/* Op 14: the header segment (up to 12 bytes), then n over the rest, if any. */
	uint32_t hseg = with_hdr ? (total < HDR ? total : HDR) : 0, rest = total - hseg;
	unsigned first = with_hdr ? 1 : 0;
	if (with_hdr && !rest)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		addr[first + i] = TX_DATA + (uint64_t)rest / n * i;
		len[first + i] = i + 1 < n ? rest / n : rest - rest / n * (n - 1);
	}
	if (with_hdr)
		len[0] = hseg;
	if (!net.tainted && net.qsize && total > HDR && total - HDR > net.tx_max)
		net.tx_max = total - HDR;
	if (net_post(1, first + n, addr, len, false, with_hdr ? h : NULL) && total >= HDR &&
	    total - HDR <= NETBE_FRAME_MAX && !hdr_bad(h, total - HDR, net_features(), true))
		net.tx_ok++;
	if (kick & 1)
		wr(0x050, 1);
}

static void net_rings_reset(unsigned qsize, uint64_t features)
{
	memset(net.avail, 0, sizeof(net.avail));
	memset(net.seen, 0, sizeof(net.seen));
	memset(net.busy, 0, sizeof(net.busy));
	memset(net.ch, 0, sizeof(net.ch));
	net.frame_left = 0;
	net.qsize = qsize;
	net.mrg = features & (1ull << 15);
	net.tainted = false;
}

/* The 12-byte header at the start of an RX chain, across its segments. */
static void net_rx_hdr(const struct chain *c, uint8_t h[HDR])
{
	unsigned k = 0;

	memset(h, 0, HDR);
	for (unsigned i = 0; i < c->n && k < HDR; i++)
		for (uint32_t j = 0; j < c->len[i] && k < HDR; j++)
			h[k++] = dev.ram[c->addr[i] + j];
}

/* A received frame's last used entry came: its header, against the guest's features. */
static void net_rx_frame_done(void)
{
	const uint8_t *h = net.rxh;

	FUZZ_CHECK(net.rx_acc >= HDR);
	const char *bad = hdr_bad(h, net.rx_acc - HDR, net.feat, false);
	FUZZ_CHECKF(!bad, "the guest got a header with %s: %02x %02x %u %u %u %u, %llu-byte "
		    "frame, features 0x%llx", bad, h[0], h[1], le16(h + 2), le16(h + 4),
		    le16(h + 6), le16(h + 8), (unsigned long long)(net.rx_acc - HDR),
		    (unsigned long long)net.feat);
}

static void net_check_used(unsigned q)
{
	uint64_t used = win(q) + 0x2000;
	uint16_t idx = (uint16_t)(dev.ram[used + 2] | dev.ram[used + 3] << 8);

	FUZZ_CHECKF((uint16_t)(idx - net.seen[q]) <= net.qsize,
		    "queue %u: used idx %u, %u seen, size %u", q, idx, net.seen[q], net.qsize);
	for (; net.seen[q] != idx; net.seen[q]++) {
		uint64_t e = used + 4 + 8ull * (net.seen[q] % net.qsize);
		uint32_t id = get32(e), len = get32(e + 4);

		FUZZ_CHECKF(id < net.qsize && net.ch[q][id].live,
			    "queue %u: used id %u is no chain in flight", q, id);
		struct chain *c = &net.ch[q][id];
		FUZZ_CHECKF(len <= c->wlen, "queue %u: used len %u past the chain's writable %u",
			    q, len, c->wlen);
		if (q == 0 && len) {
			if (net.frame_left) {
				net.frame_left--;
				net.rx_acc += len;
			} else {
				net_rx_hdr(c, net.rxh);
				unsigned nb = le16(net.rxh + 10);
				FUZZ_CHECKF(nb >= 1 && nb <= (net.mrg ? RX_HELD_BOUND : 1),
					    "num_buffers %u (mrg %d)", nb, net.mrg);
				net.frame_left = nb - 1;
				net.rx_acc = len;
			}
			/* Untainted rings: the features are the bring-up's. */
			if (!net.frame_left)
				net_rx_frame_done();
		}
		for (unsigned i = 0; i < c->n; i++)
			net.busy[q][c->d[i]] = false;
		c->live = false;
	}
}

static void net_check(void *inst)
{
	const struct vnet_stats *s = vnet_stats(vdev_state(inst));

	FUZZ_CHECK(s->tx_frames >= net.st.tx_frames && s->rx_frames >= net.st.rx_frames &&
		   s->tx_malformed >= net.st.tx_malformed && s->tx_dropped >= net.st.tx_dropped &&
		   s->rx_oversized >= net.st.rx_oversized && s->rx_runt >= net.st.rx_runt &&
		   s->rx_no_queue >= net.st.rx_no_queue && s->rx_paused >= net.st.rx_paused &&
		   s->tx_bad_hdr >= net.st.tx_bad_hdr && s->rx_bad_hdr >= net.st.rx_bad_hdr);
	net.st = *s;
	if (net.tap && net.feat_known && !tk.gone) {
		uint64_t f = net.feat;
		unsigned long want = (f & F_GUEST_CSUM ? TUN_F_CSUM : 0) |
				     (f & F_GUEST_TSO4 ? TUN_F_TSO4 : 0) |
				     (f & F_GUEST_TSO6 ? TUN_F_TSO6 : 0) |
				     (f & F_GUEST_ECN ? TUN_F_TSO_ECN : 0);
		if (!(rd(0x070) & S_DRIVER_OK))
			want = 0;
		FUZZ_CHECKF(tk.offload == want, "TUNSETOFFLOAD 0x%lx, features 0x%llx: want 0x%lx",
			    tk.offload, (unsigned long long)f, want);
	}
	if (net.qsize && !net.tainted) {
		net_check_used(0);
		net_check_used(1);
	}
}

static void bring_up(uint64_t features, unsigned size)
{
	/* What the device sent went out under the features before. */
	if (net.on)
		net_drain();
	wr(0x070, 0);
	wr(0x070, 1);
	wr(0x070, 3);
	wr(0x024, 0);
	wr(0x020, (uint32_t)features);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(features >> 32) | 1); /* VERSION_1 */
	wr(0x070, 11);
	for (unsigned q = 0; q < 2; q++) {
		uint64_t win = RAM_BASE + 0x4000ull * q;

		/* Empty rings: what was there belonged to the run before. */
		if (net.on)
			memset(dev.ram + 0x4000ull * q, 0, 0x3000);
		wr(0x030, q);
		wr(0x038, size);
		wr(0x080, (uint32_t)win);
		wr(0x084, 0);
		wr(0x090, (uint32_t)(win + 0x1000));
		wr(0x094, 0);
		wr(0x0a0, (uint32_t)(win + 0x2000));
		wr(0x0a4, 0);
		wr(0x044, 1);
	}
	wr(0x070, 15);
	if (net.on) {
		uint64_t f = features | F_VERSION_1;
		bool ok = rd(0x070) & S_FEATURES_OK;

		FUZZ_CHECKF(ok == features_acceptable(f), "features 0x%llx (offered 0x%llx): %s",
			    (unsigned long long)f, (unsigned long long)net.offered,
			    ok ? "accepted" : "refused");
		net.feat = ok ? f : 0;
		net.feat_known = true;
		net.got = net.tx_ok = 0;
		net.txcount_off = false;
		net_rings_reset(size, features);
	}
}

static uint64_t offered(void)
{
	wr(0x014, 0);
	uint64_t f = rd(0x010);
	wr(0x014, 1);
	return f | (uint64_t)rd(0x010) << 32;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = {4, 1, 2, 8};
	static const struct {
		const char *type;
		uint32_t id;
	} types[] = {{"rng", 4}, {"console", 3}, {"net", 1}, {"net", 1}, {"net", 1}};
	struct fuzz_in in = {data, size};
	void *inst = NULL;
	char err[256] = "";
	uint8_t t0 = fuzz_u8(&in);
	unsigned t = t0 % (sizeof(types) / sizeof(types[0]));

	fake_init(&dev, "vio0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", types[t].type);
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "16");
	if (t == 1)
		fake_set(&dev, "chardev", "stdio");
	char spec[160];
	memset(&net, 0, sizeof(net));
	net.fd = net.lfd = -1;
	tk = (struct tapk){.dgram = (t0 / 5) & 1, .peer = -1, .dev_fd = -1,
			   .attach = t == 4 ? t0 / 10u % TK_NFAULTS : TK_OK};
	if (t == 4) {
		net.on = net.tap = true;
		netbe_tap_sys = &tk_sys;
		fake_set(&dev, "net", "tap:fz0");
	} else if (t >= 2) {
		net.on = true;
		net.stream = t == 3;
		net_peer_open();
		snprintf(spec, sizeof(spec), "%s:%s", net.stream ? "unixstream" : "unixgram",
			 net.path);
		fake_set(&dev, "net", spec);
	}
	int rc = fuzz_plugin_virtio_mmio.create(&dev, &fakehost, &inst, err, sizeof(err));
	if (rc)
		net_peer_unlink();
	if (tk.attach != TK_OK && tk.attach != TK_VNETLE) {
		/* Refused, with nothing left open or watched. */
		FUZZ_CHECKF(rc < 0, "tap attach fault %u: create %d", tk.attach, rc);
		FUZZ_CHECK(tk.dev_fd < 0 && dev.nwatches == 0);
		FUZZ_CHECK(tk.opens == (tk.attach == TK_MISSING ? 0u : 1u));
		if (tk.peer >= 0)
			close(tk.peer);
		tk.peer = -1;
		fake_fini(&dev);
		return 0;
	}
	FUZZ_CHECKF(rc == 0, "create: %d %s", rc, err);
	FUZZ_CHECK(fake_unused_keys(&dev) == 0);
	if (net.on && !net.tap) {
		net_peer_attach();
		net_peer_unlink();
	}
	if (net.on) {
		/* The offloads only where the frames carry a header; never UFO. */
		net.offered = offered();
		uint64_t o = net.offered & (F_OFFLOADS | F_GUEST_UFO | F_HOST_UFO);
		FUZZ_CHECKF(o == (net.tap ? F_OFFLOADS : 0), "offered 0x%llx (tap %d)",
			    (unsigned long long)net.offered, net.tap);
		FUZZ_CHECK(!net.tap || tk.offload == 0); /* nothing partial before DRIVER_OK */
		net.feat_known = true;
	}

	while (fuzz_more(&in)) {
		switch (fuzz_u8(&in) % 16) {
		case 0: {
			uint64_t off = fuzz_u16(&in) % 0x200;
			unsigned sz = sizes[fuzz_u8(&in) % 4];
			/* DriverFeatures(Sel) or Status: the features are the driver's own now. */
			bool feat = (off < 0x028 && off + sz > 0x020) || (off < 0x074 && off + sz > 0x070);

			if (net.on && feat)
				net_drain();
			fake_write(&dev, 0, BASE + off, sz, fuzz_u32(&in));
			net.tainted = true;
			if (feat)
				net.feat_known = false;
			break;
		}
		case 1: {
			uint64_t off = fuzz_u16(&in) % 0x200, v;

			fake_read(&dev, 0, BASE + off, sizes[fuzz_u8(&in) % 4], &v);
			break;
		}
		case 2: {
			uint64_t off = fuzz_u16(&in) % POKE_SIZE;
			unsigned n = fuzz_u8(&in);

			for (unsigned i = 0; i < n && off + i < POKE_SIZE; i++)
				dev.ram[off + i] = fuzz_u8(&in);
			if (n && off < RINGS_END)
				net.tainted = net.raw = true;
			if (n && off + n > TX_DATA)
				net.raw = true;
			if (n && off < HDR_SLOTS_END && off + n > HDR_SLOTS)
				net.txcount_off = true;
			break;
		}
		case 3:
			fake_io_poll(&dev);
			break;
		case 4: {
			uint8_t buf[256];
			unsigned n = fuzz_u8(&in);

			for (unsigned i = 0; i < n; i++)
				buf[i] = fuzz_u8(&in);
			if (t == 1)
				fake_chr_input(&dev, buf, n);
			break;
		}
		case 5:
			if (net.on)
				net_drain();
			fuzz_plugin_virtio_mmio.reset(inst);
			net.tainted = true;
			net.feat = 0;
			net.feat_known = true;
			break;
		case 6: {
			uint64_t f = fuzz_u64(&in);

			bring_up(f, 1u << (fuzz_u8(&in) % 9));
			break;
		}
		case 7:
			if (net.on)
				net_post_rx(&in);
			break;
		case 8:
			if (net.on)
				net_post_tx(&in, false);
			break;
		case 9:
			if (net.tap)
				tap_send(&in);
			else if (net.on)
				net_send(&in);
			break;
		case 10:
			net_drain();
			break;
		case 11:
			if (net.tap)
				tap_fault(fuzz_u8(&in));
			if (!net.on || net.tap)
				break;
			if (net.fd >= 0 || net.lfd >= 0)
				net_peer_close();
			else {
				net_peer_open();
				net_peer_unlink(); /* the device does not come back (link down for good) */
			}
			break;
		case 12:
			fake_advance(&dev, fuzz_u32(&in));
			break;
		case 13: {
			uint8_t q = fuzz_u8(&in);

			wr(0x050, q % 3u);
			wr(0x064, rd(0x060));
			break;
		}
		case 14:
			if (net.on)
				net_post_tx(&in, true);
			break;
		case 15: {
			uint32_t f = fuzz_u32(&in);

			f = f & (1u << 31) ? f & ~(1u << 31) : f & (uint32_t)net.offered;
			bring_up(f, 1u << (fuzz_u8(&in) % 9));
			break;
		}
		}
		check(types[t].id);
		if (net.on)
			net_check(inst);
	}
	if (net.on) {
		/* Whatever the device still had queued for the peer. */
		fake_io_poll(&dev);
		net_drain();
		net_check(inst);
		if (getenv("FUZZ_NET_TRACE"))
			dprintf(2, "net: tx %llu rx %llu malformed %llu dropped %llu oversized %llu "
				"runt %llu no_queue %llu paused %llu tx_bad_hdr %llu rx_bad_hdr %llu; "
				"peer got %llu; used seen rx %u tx %u; tainted %d\n",
				(unsigned long long)net.st.tx_frames, (unsigned long long)net.st.rx_frames,
				(unsigned long long)net.st.tx_malformed,
				(unsigned long long)net.st.tx_dropped,
				(unsigned long long)net.st.rx_oversized, (unsigned long long)net.st.rx_runt,
				(unsigned long long)net.st.rx_no_queue, (unsigned long long)net.st.rx_paused,
				(unsigned long long)net.st.tx_bad_hdr,
				(unsigned long long)net.st.rx_bad_hdr, (unsigned long long)net.got,
				net.seen[0], net.seen[1], net.tainted);
	}
	fuzz_plugin_virtio_mmio.destroy(inst);
	net_peer_close();
	FUZZ_CHECK(tk.dev_fd < 0); /* the device closed its tap */
	if (tk.peer >= 0)
		close(tk.peer);
	tk.peer = -1;
	/* Guest errors are expected here; plugin bugs are not (fake_fini traps). */
	dev.guest_errors = 0;
	fake_fini(&dev);
	return 0;
}
