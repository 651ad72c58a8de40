/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio plugin (transport, virtqueues and a device type) driven
 * through the fake host as a hostile driver would: any register access,
 * arbitrary bytes in guest RAM (rings, descriptors, requests), doorbell and
 * worker runs, console input, resets.  The first byte picks the device type
 * (rng, console, net over unixgram, net over unixstream; the harness holds
 * the socket's peer end, in a private temporary directory).  Operations,
 * each an opcode byte:
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
 *     len % 256 input bytes, so the length-prefix framing is fuzzed too
 *  10 peer drains what the device transmitted
 *  11 peer closes its end (link down) or, when closed, opens it again
 *  12 advance the fake clock(ns u32) (the transmit retry timer)
 *  13 kick(queue u8) and acknowledge the interrupt
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
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakehost.h"
#include "fuzz.h"
#include "net.h"
#include "net_backend.h"
#include "vdev.h"

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
	uint16_t d[4];
	uint64_t addr[4];
	uint32_t len[4];
	uint32_t wlen;
};

static struct netstate {
	bool on, stream;
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
}

static void net_drain(void)
{
	static uint8_t buf[0x20000];

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

/* Post a chain of n segments on queue q (descriptors the harness picks). */
static void net_post(unsigned q, unsigned n, const uint64_t *addr, const uint32_t *len, bool wr)
{
	struct chain c = {.live = true, .n = n};
	unsigned got = 0;

	if (!net.qsize || net.tainted)
		return;
	for (unsigned i = 0; i < net.qsize && got < n; i++)
		if (!net.busy[q][i])
			c.d[got++] = (uint16_t)i;
	if (got < n)
		return; /* the ring is full */
	for (unsigned i = 0; i < n; i++) {
		uint64_t d = win(q) + 16ull * c.d[i];
		uint64_t a = wr ? RX_DATA + (uint64_t)RX_SEG_MAX * c.d[i] : addr[i];

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
	net.ch[q][c.d[0]] = c;
	put16(win(q) + 0x1000 + 4 + 2ull * (net.avail[q] % net.qsize), c.d[0]);
	net.avail[q]++;
	put16(win(q) + 0x1000 + 2, net.avail[q]);
}

static void net_post_rx(struct fuzz_in *in)
{
	unsigned n = fuzz_u8(in) % 4 + 1;
	uint32_t len[4];

	for (unsigned i = 0; i < n; i++)
		len[i] = fuzz_u16(in) % (RX_SEG_MAX + 1);
	net_post(0, n, NULL, len, true);
	if (fuzz_u8(in) & 1)
		wr(0x050, 0);
}

static void net_post_tx(struct fuzz_in *in)
{
	unsigned n = fuzz_u8(in) % 4 + 1;
	uint32_t total = fuzz_u32(in) % (TX_MAX + 1), len[4];
	uint64_t addr[4];

	for (unsigned i = 0; i < n; i++) {
		addr[i] = TX_DATA + (uint64_t)total / n * i;
		len[i] = i + 1 < n ? total / n : total - total / n * (n - 1);
	}
	if (!net.tainted && net.qsize && total > HDR && total - HDR > net.tx_max)
		net.tx_max = total - HDR;
	net_post(1, n, addr, len, false);
	if (fuzz_u8(in) & 1)
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
static uint16_t net_num_buffers(const struct chain *c)
{
	uint8_t h[HDR] = {0};
	unsigned k = 0;

	for (unsigned i = 0; i < c->n && k < HDR; i++)
		for (uint32_t j = 0; j < c->len[i] && k < HDR; j++)
			h[k++] = dev.ram[c->addr[i] + j];
	return (uint16_t)(h[10] | h[11] << 8);
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
			} else {
				unsigned nb = net_num_buffers(c);
				FUZZ_CHECKF(nb >= 1 && nb <= (net.mrg ? RX_HELD_BOUND : 1),
					    "num_buffers %u (mrg %d)", nb, net.mrg);
				net.frame_left = nb - 1;
			}
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
		   s->rx_no_queue >= net.st.rx_no_queue && s->rx_paused >= net.st.rx_paused);
	net.st = *s;
	if (net.qsize && !net.tainted) {
		net_check_used(0);
		net_check_used(1);
	}
}

static void bring_up(uint64_t features, unsigned size)
{
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
	if (net.on)
		net_rings_reset(size, features);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = {4, 1, 2, 8};
	static const struct {
		const char *type;
		uint32_t id;
	} types[] = {{"rng", 4}, {"console", 3}, {"net", 1}, {"net", 1}};
	struct fuzz_in in = {data, size};
	void *inst = NULL;
	char err[256] = "";
	unsigned t = fuzz_u8(&in) % (sizeof(types) / sizeof(types[0]));

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
	if (t >= 2) {
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
	FUZZ_CHECKF(rc == 0, "create: %d %s", rc, err);
	FUZZ_CHECK(fake_unused_keys(&dev) == 0);
	if (net.on) {
		net_peer_attach();
		net_peer_unlink();
	}

	while (fuzz_more(&in)) {
		switch (fuzz_u8(&in) % 14) {
		case 0: {
			uint64_t off = fuzz_u16(&in) % 0x200;
			unsigned sz = sizes[fuzz_u8(&in) % 4];

			fake_write(&dev, 0, BASE + off, sz, fuzz_u32(&in));
			net.tainted = true;
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
			fuzz_plugin_virtio_mmio.reset(inst);
			net.tainted = true;
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
				net_post_tx(&in);
			break;
		case 9:
			if (net.on)
				net_send(&in);
			break;
		case 10:
			net_drain();
			break;
		case 11:
			if (!net.on)
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
				"runt %llu no_queue %llu paused %llu; used seen rx %u tx %u; tainted %d\n",
				(unsigned long long)net.st.tx_frames, (unsigned long long)net.st.rx_frames,
				(unsigned long long)net.st.tx_malformed,
				(unsigned long long)net.st.tx_dropped,
				(unsigned long long)net.st.rx_oversized, (unsigned long long)net.st.rx_runt,
				(unsigned long long)net.st.rx_no_queue, (unsigned long long)net.st.rx_paused,
				net.seen[0], net.seen[1], net.tainted);
	}
	fuzz_plugin_virtio_mmio.destroy(inst);
	net_peer_close();
	/* Guest errors are expected here; plugin bugs are not (fake_fini traps). */
	dev.guest_errors = 0;
	fake_fini(&dev);
	return 0;
}
