/* SPDX-License-Identifier: MIT */
/*
 * virtio-net through the plugin's real descriptor (`type = net`) on the fake
 * host, driven by the test driver, with the test as the backend's peer: a
 * datagram socket bound at a temporary path (unixgram:) or a listening
 * stream socket (unixstream:).  Checked: identity, offered features and
 * each config field, the default MAC and the keys' errors; transmit (the
 * header stripped, backpressure, malformed chains dropped and counted);
 * receive (the header written with num_buffers, mergeable buffers, no
 * buffers posted: input pauses and resumes after a refill, frames too big
 * dropped and counted); the stream framing both ways with partial reads; a
 * peer that goes away taking the link down with a config interrupt.
 *
 * Layouts and bit numbers are spelled out from virtio 1.2 section 5.1 here,
 * not taken from the plugin.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <avmm/avmm.h>

#include "fakehost.h"
#include "net.h"
#include "vdev.h"
#include "vdriver.h"
#include "vnet_spec.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define BASE 0x0a000000ull
#define IRQ 17
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define BUF (RAM_BASE + VDRV_DATA)
#define RXQ 0
#define TXQ 1
#define QSIZE 16
#define HDR 12 /* struct virtio_net_hdr with num_buffers (5.1.6) */

static struct avmm_dev dev;
static void *inst;
static struct vdrv drv;
static char dir[64];
static char peer_path[128];
static int lfd = -1; /* the stream listener */
static int peer = -1;

static const struct vnet_stats *stats(void)
{
	return vnet_stats(vdev_state(inst));
}

/*
 * One directory for the run, made and removed by the parent: a failing case
 * (a forked child) skips its teardown, and would leave its socket behind.
 */
static void set_peer_path(void)
{
	snprintf(peer_path, sizeof(peer_path), "%s/peer-%ld.sock", dir, (long)getpid());
}

static void rm_run_dir(void)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[sizeof(dir) + 300];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
				unlink(p);
			}
		closedir(d);
	}
	rmdir(dir);
}

static int bind_peer(int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, peer_path);
	int fd = socket(AF_UNIX, type, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

/* Configure net0 with the keys given (NULL-terminated pairs); the create()'s code. */
static int create(const char *name, const char *const *kv)
{
	char err[200] = "";
	fake_init(&dev, name, 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "net");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "17");
	for (; kv && kv[0]; kv += 2)
		fake_set(&dev, kv[0], kv[1]);
	int rc = avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err));
	if (rc == 0) {
		ck_assert_uint_eq(fake_unused_keys(&dev), 0);
		vdrv_init(&drv, &dev, BASE);
	}
	return rc;
}

static char spec[160];
/* The "dgram-event-idx" case runs the datagram tests again with EVENT_IDX. */
static uint64_t up_extra;

static void setup_dgram(void)
{
	set_peer_path();
	peer = bind_peer(SOCK_DGRAM);
	snprintf(spec, sizeof(spec), "unixgram:%s", peer_path);
	const char *kv[] = {"net", spec, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	/* vfkit's handshake comes first, before any frame */
	uint8_t m[8];
	ck_assert_int_eq(recv(peer, m, sizeof(m), MSG_DONTWAIT), 4);
	ck_assert_mem_eq(m, "VFKT", 4);
}

static void setup_stream(void)
{
	set_peer_path();
	lfd = bind_peer(SOCK_STREAM);
	snprintf(spec, sizeof(spec), "unixstream:%s", peer_path);
	const char *kv[] = {"net", spec, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	peer = accept(lfd, NULL, NULL);
	ck_assert_int_ge(peer, 0);
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	inst = NULL;
	/* Every watch went with the device. */
	ck_assert_uint_eq(dev.nwatches, 0);
	fake_fini(&dev);
	if (peer >= 0)
		close(peer);
	if (lfd >= 0)
		close(lfd);
	peer = lfd = -1;
	unlink(peer_path);
	up_extra = 0;
}

static void setup_dgram_event_idx(void)
{
	setup_dgram();
	up_extra = VDRV_F_EVENT_IDX;
}

static void up(uint64_t features)
{
	vdrv_up(&drv, VDRV_F_VERSION_1 | features | up_extra, 2, QSIZE);
}

/* A transmit chain: the header (zero) and the frame, in `nparts` pieces; kicked. */
static uint16_t tx_send(const uint8_t *frame, size_t len, unsigned nparts)
{
	static uint8_t chain[HDR + 70000];
	size_t total = HDR + len;
	ck_assert_uint_le(total, sizeof(chain));
	memset(chain, 0, HDR);
	memcpy(chain + HDR, frame, len);
	struct vdrv_buf b[4];
	size_t off = 0;
	uint64_t gpa = BUF + 0x200000;
	for (unsigned i = 0; i < nparts; i++) {
		size_t piece = i + 1 < nparts ? total / nparts : total - off;
		vdrv_mem_write(&drv, gpa + off, chain + off, piece);
		b[i] = (struct vdrv_buf){gpa + off, (uint32_t)piece, false};
		off += piece;
	}
	uint16_t head = vdrv_add(&drv, TXQ, b, nparts);
	vdrv_kick(&drv, TXQ);
	return head;
}

static uint16_t rx_post(uint64_t gpa, uint32_t len)
{
	struct vdrv_buf b = {gpa, len, true};
	return vdrv_add(&drv, RXQ, &b, 1);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* The datagram waiting at the peer, `want` bytes long, and where it came from. */
static socklen_t peer_recvfrom(uint8_t *buf, size_t len, size_t want, struct sockaddr_un *from)
{
	socklen_t fl = sizeof(*from);
	ck_assert_int_eq(recvfrom(peer, buf, len, MSG_DONTWAIT, (struct sockaddr *)from, &fl),
			 want);
	return fl;
}

/* Datagram: learn the device's own address from a frame it sends, and answer there. */
static void peer_connect_back(void)
{
	uint8_t f[60], got[100];
	fill(f, sizeof(f), 1);
	tx_send(f, sizeof(f), 1);
	struct sockaddr_un from;
	socklen_t fl = peer_recvfrom(got, sizeof(got), sizeof(f), &from);
	ck_assert_int_eq(connect(peer, (struct sockaddr *)&from, fl), 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	vdrv_wr(&drv, VDRV_IACK, vdrv_rd(&drv, VDRV_ISR)); /* the line low again */
}

static uint32_t cfg8(unsigned off)
{
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + off, 1, &v), 0);
	return (uint32_t)v;
}

static uint32_t cfg16(unsigned off)
{
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + off, 2, &v), 0);
	return (uint32_t)v;
}

/* ---- identity, config, keys ---------------------------------------------- */

START_TEST(identity)
{
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_DEVICE_ID), 1); /* 5.1.1 */
	uint64_t f = vdrv_device_features(&drv);
	ck_assert(f & F_MAC);
	ck_assert(f & F_MTU);
	ck_assert(f & F_STATUS);
	ck_assert(f & F_MRG_RXBUF);
	ck_assert(f & VDRV_F_VERSION_1);
	ck_assert(f & VDRV_F_INDIRECT);
	ck_assert(f & VDRV_F_EVENT_IDX);
	/* No offloads over a socket (no vnet headers), no control queue, no multiqueue. */
	ck_assert_uint_eq(f & (F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN |
			       F_GUEST_UFO | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN | F_HOST_UFO |
			       F_CTRL_VQ | F_MQ),
			  0);
	/* receiveq and transmitq only (5.1.2). */
	vdrv_wr(&drv, VDRV_QSEL, 0);
	ck_assert_uint_gt(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	vdrv_wr(&drv, VDRV_QSEL, 1);
	ck_assert_uint_gt(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	vdrv_wr(&drv, VDRV_QSEL, 2);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
}
END_TEST

START_TEST(config_fields)
{
	/* Re-create with explicit keys. */
	avmm_plugin.destroy(inst);
	fake_fini(&dev);
	const char *kv[] = {"net", spec, "mac", "02:1a:2B:3c:4d:5e", "mtu", "9000", NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	static const uint8_t mac[6] = {0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(cfg8(i), mac[i]);
	ck_assert_uint_eq(cfg16(6), 1);   /* status: VIRTIO_NET_S_LINK_UP */
	ck_assert_uint_eq(cfg16(8), 1);   /* max_virtqueue_pairs */
	ck_assert_uint_eq(cfg16(10), 9000); /* mtu */
	/* A 32-bit read of mac[4..5], status: little-endian bytes in order. */
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_CONFIG + 4), 0x00015e4du);
	/* The mac is read-only in VERSION_1: a write changes nothing. */
	fake_write(&dev, 0, BASE + VDRV_CONFIG, 1, 0x44);
	ck_assert_uint_eq(cfg8(0), 0x02);
	/* Past the 12 bytes: RAZ and a guest error, no crash. */
	dev.guest_errors = 0;
	ck_assert_uint_eq(cfg16(12), 0);
	ck_assert_uint_eq(dev.guest_errors, 1);
	dev.guest_errors = 0;
}
END_TEST

START_TEST(mtu_default)
{
	ck_assert_uint_eq(cfg16(10), 1500);
}
END_TEST

static void read_mac(uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)cfg8(i);
}

START_TEST(mac_default_stable)
{
	uint8_t a[6], b[6], c[6];
	read_mac(a);
	/* Locally administered (bit 1), unicast (bit 0 clear) of the first byte. */
	ck_assert_uint_eq(a[0] & 3, 2);
	static const uint8_t zero[5];
	ck_assert(memcmp(a + 1, zero, 5) != 0);
	avmm_plugin.destroy(inst);
	fake_fini(&dev);

	const char *kv[] = {"net", spec, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	read_mac(b);
	ck_assert_mem_eq(a, b, 6); /* same name, same address */
	avmm_plugin.destroy(inst);
	fake_fini(&dev);

	ck_assert_int_eq(create("net1", kv), 0);
	read_mac(c);
	ck_assert(memcmp(a, c, 6) != 0); /* another name, another address */
	ck_assert_uint_eq(c[0] & 3, 2);
}
END_TEST

static void expect_key_error(const char *key, const char *value)
{
	const char *kv[] = {"net", spec, key, value, NULL};
	if (!strcmp(key, "net"))
		kv[2] = NULL, kv[1] = value;
	ck_assert_int_eq(create("net0", kv), -EINVAL);
	ck_assert_msg(dev.cfg_errors == 1, "%s = %s: %u cfg errors", key, value, dev.cfg_errors);
	inst = NULL;
	fake_fini(&dev);
}

START_TEST(key_errors)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	expect_key_error("mac", "zz:00:00:00:00:01");
	expect_key_error("mac", "02:00:00:00:00");
	expect_key_error("mac", "02:00:00:00:00:01:02");
	expect_key_error("mac", "03:00:00:00:00:01"); /* multicast */
	expect_key_error("mac", "00:00:00:00:00:00");
	expect_key_error("mtu", "67");
	expect_key_error("mtu", "65536");
	expect_key_error("net", "tap0");
	expect_key_error("net", "tap:");
#if !defined(__linux__)
	expect_key_error("net", "tap:tap0"); /* Linux-only */
#endif
	expect_key_error("net", "unixgram:");
	char missing[200];
	snprintf(missing, sizeof(missing), "unixstream:%s/nobody.sock", dir);
	expect_key_error("net", missing);
	/* `net` absent altogether. */
	ck_assert_int_eq(create("net0", NULL), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	fake_fini(&dev);
	/* User networking's keys on another backend: named, and fine when empty. */
	const char *user_keys[] = {"hostfwd", "tcp::2222-:22", "restrict", "on",
				   "subnet", "10.0.2.0/24"};
	for (unsigned i = 0; i < 6; i += 2) {
		expect_key_error(user_keys[i], user_keys[i + 1]);
		const char *kv[] = {"net", spec, user_keys[i], user_keys[i + 1], NULL};
		ck_assert_int_eq(create("net0", kv), -EINVAL);
		char want[64];
		snprintf(want, sizeof(want), "%s: only net = user reads this key", user_keys[i]);
		ck_assert_msg(!strncmp(dev.last_log, want, strlen(want)), "%s", dev.last_log);
		inst = NULL;
		fake_fini(&dev);
		const char *empty[] = {"net", spec, user_keys[i], "", NULL};
		ck_assert_int_eq(create("net0", empty), 0);
		avmm_plugin.destroy(inst);
		inst = NULL;
		fake_fini(&dev);
	}
	/* Leave a device for teardown. */
	const char *kv[] = {"net", spec, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
}
END_TEST

/* ---- transmit ------------------------------------------------------------ */

START_TEST(tx_header_stripped)
{
	up(0);
	uint8_t f[200], got[300];
	for (unsigned parts = 1; parts <= 3; parts++) {
		fill(f, sizeof(f), (uint8_t)parts);
		unsigned edges = dev.line_edges[IRQ];
		uint16_t head = tx_send(f, sizeof(f), parts);
		ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), sizeof(f));
		ck_assert_mem_eq(got, f, sizeof(f));
		uint32_t id, len;
		ck_assert(vdrv_used(&drv, TXQ, &id, &len));
		ck_assert_uint_eq(id, head);
		ck_assert_uint_eq(len, 0);
		ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
		vdrv_wr(&drv, VDRV_IACK, vdrv_rd(&drv, VDRV_ISR));
	}
	ck_assert_uint_eq(stats()->tx_frames, 3);
}
END_TEST

START_TEST(tx_malformed_dropped)
{
	up(0);
	uint8_t got[100];
	/* Shorter than the header. */
	uint8_t shortc[8] = {0};
	vdrv_mem_write(&drv, BUF, shortc, sizeof(shortc));
	struct vdrv_buf b = {BUF, sizeof(shortc), false};
	uint16_t head = vdrv_add(&drv, TXQ, &b, 1);
	vdrv_kick(&drv, TXQ);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(stats()->tx_malformed, 1);
	/* One byte past header + 65550. */
	static uint8_t big[65551];
	tx_send(big, sizeof(big), 2);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_malformed, 2);
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), -1);
	/* The largest one allowed still goes. */
	tx_send(big, sizeof(big) - 1, 2);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_malformed, 2);
	ck_assert_int_eq(recv(peer, big, sizeof(big), MSG_DONTWAIT | MSG_TRUNC), 65550);
	dev.guest_errors = 0; /* the malformed chain was logged as one */
}
END_TEST

START_TEST(tx_plain_header_only)
{
	up(0);
	/* Without vnet headers the header must be plain: flags 0, GSO_NONE. */
	static const uint8_t bad[3][HDR] = {
		{1, 0, 0, 0, 0, 0, 34, 0, 6, 0}, /* NEEDS_CSUM */
		{0, 1, 54, 0, 0xa8, 5},          /* GSO_TCPV4 */
		{0, 0x80},                       /* ECN */
	};
	uint8_t chain[HDR + 60], got[100];
	fill(chain + HDR, 60, 4);
	uint32_t id, len;
	for (unsigned i = 0; i < 3; i++) {
		memcpy(chain, bad[i], HDR);
		vdrv_mem_write(&drv, BUF, chain, sizeof(chain));
		struct vdrv_buf b = {BUF, sizeof(chain), false};
		vdrv_add(&drv, TXQ, &b, 1);
		vdrv_kick(&drv, TXQ);
		ck_assert(vdrv_used(&drv, TXQ, &id, &len));
		ck_assert_uint_eq(stats()->tx_bad_hdr, i + 1);
		ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), -1);
	}
	/* The other fields do not matter without flags or GSO. */
	memset(chain, 0, HDR);
	chain[2] = 0x77, chain[10] = 3;
	vdrv_mem_write(&drv, BUF, chain, sizeof(chain));
	struct vdrv_buf b = {BUF, sizeof(chain), false};
	vdrv_add(&drv, TXQ, &b, 1);
	vdrv_kick(&drv, TXQ);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), 60);
	ck_assert_mem_eq(got, chain + HDR, 60);
	ck_assert_uint_eq(stats()->tx_bad_hdr, 3);
	dev.guest_errors = 0;
}
END_TEST

START_TEST(tx_backpressure)
{
	up(0);
	/* The peer reads nothing: its queue fills (max_dgram_qlen), the rest waits. */
	enum { N = 14 };
	uint8_t f[N][64];
	for (unsigned i = 0; i < N; i++) {
		fill(f[i], sizeof(f[i]), (uint8_t)(i * 3));
		uint64_t gpa = BUF + 0x1000ull * i;
		uint8_t chain[HDR + 64] = {0};
		memcpy(chain + HDR, f[i], 64);
		vdrv_mem_write(&drv, gpa, chain, sizeof(chain));
		struct vdrv_buf b = {gpa, sizeof(chain), false};
		vdrv_add(&drv, TXQ, &b, 1);
	}
	vdrv_kick(&drv, TXQ);
	unsigned used = 0;
	uint32_t id, len;
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_lt(used, N); /* the socket was full: a chain waits */
	ck_assert_uint_gt(used, 0);
	ck_assert_uint_eq(stats()->tx_dropped, 0);
	/* Drain the peer: the device is told it may write, and finishes. */
	uint8_t got[128];
	unsigned recvd = 0;
	for (int round = 0; round < 10 && recvd < N; round++) {
		ssize_t n;
		while ((n = recv(peer, got, sizeof(got), MSG_DONTWAIT)) > 0) {
			ck_assert_int_eq(n, 64);
			ck_assert_mem_eq(got, f[recvd], 64);
			recvd++;
		}
		vdrv_poll(&drv);
	}
	ck_assert_uint_eq(recvd, N);
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_eq(used, N);
	ck_assert_uint_eq(stats()->tx_frames, N);
}
END_TEST

/*
 * The driver (polite: it kicks only when asked) gets no kick request while
 * the device drains or waits for the backend, and one once the queue is
 * empty: asked too often costs an exit per frame, asked too rarely stalls.
 */
START_TEST(tx_kicks_only_when_idle)
{
	up(0);
	uint8_t f[64], got[128];
	fill(f, sizeof(f), 9);
	tx_send(f, sizeof(f), 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), 64);
	/* Drained and idle: the next chain must be kicked. */
	uint8_t chain[HDR + 64] = {0};
	memcpy(chain + HDR, f, 64);
	vdrv_mem_write(&drv, BUF, chain, sizeof(chain));
	struct vdrv_buf b = {BUF, sizeof(chain), false};
	vdrv_add(&drv, TXQ, &b, 1);
	ck_assert(vdrv_wants_kick(&drv, TXQ));
	vdrv_kick(&drv, TXQ);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), 64);
	/* The peer reads nothing: a chain waits for room, and more come behind it. */
	enum { N = 14 };
	for (unsigned i = 0; i < N; i++) {
		b.gpa = BUF + 0x1000ull * (i + 1);
		vdrv_mem_write(&drv, b.gpa, chain, sizeof(chain));
		vdrv_add(&drv, TXQ, &b, 1);
	}
	vdrv_kick(&drv, TXQ);
	unsigned used = 0;
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_lt(used, N);
	b.gpa = BUF + 0x1000ull * (N + 1);
	vdrv_mem_write(&drv, b.gpa, chain, sizeof(chain));
	vdrv_add(&drv, TXQ, &b, 1);
	ck_assert(!vdrv_wants_kick(&drv, TXQ)); /* writable resumes, not a kick */
	unsigned kicks = drv.q[TXQ].kicks;
	vdrv_kick(&drv, TXQ);
	ck_assert_uint_eq(drv.q[TXQ].kicks, kicks);
	/* Room again: all of them go, without another kick. */
	unsigned recvd = 0;
	for (int round = 0; round < 10 && recvd < N + 1; round++) {
		while (recv(peer, got, sizeof(got), MSG_DONTWAIT) == 64)
			recvd++;
		vdrv_poll(&drv);
	}
	ck_assert_uint_eq(recvd, N + 1);
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_eq(used, N + 1);
	/* Idle again: kicks are wanted. */
	vdrv_add(&drv, TXQ, &b, 1);
	ck_assert(vdrv_wants_kick(&drv, TXQ));
}
END_TEST

/* ---- receive ------------------------------------------------------------- */

/* Refills are not kicked while the device has buffers; once it waits, they are. */
START_TEST(rx_kicks_only_when_waiting)
{
	up(0);
	peer_connect_back();
	for (unsigned i = 0; i < 4; i++)
		rx_post(BUF + 0x1000ull * i, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t f[80], data[80];
	fill(f, sizeof(f), 50);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	unsigned got = 0;
	while (vdrv_used(&drv, RXQ, &id, &len))
		got++;
	ck_assert_uint_eq(got, 2);
	/* Two buffers left: a refill needs no kick. */
	rx_post(BUF + 0x4000, 2048);
	ck_assert(!vdrv_wants_kick(&drv, RXQ));
	vdrv_kick(&drv, RXQ);
	ck_assert_uint_gt(drv.q[RXQ].kicks_saved, 0);
	/* Four frames for three buffers: the fourth waits, and the refill must kick. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	while (vdrv_used(&drv, RXQ, &id, &len))
		got++;
	ck_assert_uint_eq(got, 5);
	ck_assert_uint_eq(stats()->rx_paused, 1);
	uint16_t head = rx_post(BUF + 0x5000, 2048);
	ck_assert(vdrv_wants_kick(&drv, RXQ));
	vdrv_kick(&drv, RXQ);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	vdrv_mem_read(&drv, BUF + 0x5000 + HDR, data, sizeof(data));
	ck_assert_mem_eq(data, f, sizeof(f));
	ck_assert_uint_eq(stats()->rx_frames, 6);
}
END_TEST

static void check_hdr(uint64_t gpa, uint16_t num_buffers)
{
	uint8_t h[HDR], want[HDR] = {0};
	vdrv_mem_read(&drv, gpa, h, HDR);
	want[10] = (uint8_t)num_buffers; /* le16 num_buffers at 10 */
	want[11] = (uint8_t)(num_buffers >> 8);
	ck_assert_mem_eq(h, want, HDR);
}

START_TEST(rx_into_posted_buffer)
{
	up(0);
	peer_connect_back();
	uint16_t head = rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t f[100], got[100];
	fill(f, sizeof(f), 9);
	unsigned edges = dev.line_edges[IRQ];
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, HDR + sizeof(f));
	check_hdr(BUF, 1);
	vdrv_mem_read(&drv, BUF + HDR, got, sizeof(got));
	ck_assert_mem_eq(got, f, sizeof(f));
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 1);
	ck_assert_uint_eq(stats()->rx_frames, 1);
}
END_TEST

START_TEST(rx_mergeable_spans_buffers)
{
	up(F_MRG_RXBUF);
	peer_connect_back();
	uint16_t h[4];
	for (unsigned i = 0; i < 4; i++)
		h[i] = rx_post(BUF + 0x1000ull * i, 512);
	vdrv_kick(&drv, RXQ);
	uint8_t f[1200], got[1200];
	fill(f, sizeof(f), 33);
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	/* 12 + 1200 = 1212 bytes: 512 + 512 + 188 in the first three buffers. */
	static const uint32_t want_len[3] = {512, 512, 188};
	for (unsigned i = 0; i < 3; i++) {
		uint32_t id, len;
		ck_assert(vdrv_used(&drv, RXQ, &id, &len));
		ck_assert_uint_eq(id, h[i]);
		ck_assert_uint_eq(len, want_len[i]);
	}
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	check_hdr(BUF, 3);
	vdrv_mem_read(&drv, BUF + HDR, got, 500);
	vdrv_mem_read(&drv, BUF + 0x1000, got + 500, 512);
	vdrv_mem_read(&drv, BUF + 0x2000, got + 1012, 188);
	ck_assert_mem_eq(got, f, sizeof(f));
	/* The fourth buffer is still held for the next frame. */
	ck_assert_int_eq(send(peer, f, 60, 0), 60);
	vdrv_poll(&drv);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h[3]);
	ck_assert_uint_eq(len, HDR + 60);
	check_hdr(BUF + 0x3000, 1);
}
END_TEST

START_TEST(rx_mergeable_too_big_for_queue)
{
	up(F_MRG_RXBUF);
	peer_connect_back();
	/* The whole queue holds 16 * 256 bytes: a 5000-byte frame can never fit. */
	uint16_t h[QSIZE];
	for (unsigned i = 0; i < QSIZE; i++)
		h[i] = rx_post(BUF + 0x1000ull * i, 256);
	vdrv_kick(&drv, RXQ);
	static uint8_t f[5000];
	fill(f, sizeof(f), 8);
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	ck_assert_int_eq(send(peer, f, 100, 0), 100);
	ck_assert_int_eq(send(peer, f, 100, 0), 100);
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_oversized, 1);
	/* The buffers it had gathered serve the next frames, in order. */
	for (unsigned i = 0; i < 2; i++) {
		uint32_t id, len;
		ck_assert(vdrv_used(&drv, RXQ, &id, &len));
		ck_assert_uint_eq(id, h[i]);
		ck_assert_uint_eq(len, HDR + 100);
		check_hdr(BUF + 0x1000ull * i, 1);
	}
	ck_assert_uint_eq(stats()->rx_frames, 2);
}
END_TEST

START_TEST(rx_too_big_for_buffer)
{
	up(0); /* without MRG_RXBUF one chain holds a whole frame */
	peer_connect_back();
	uint16_t head = rx_post(BUF, 256);
	vdrv_kick(&drv, RXQ);
	uint8_t f[1000];
	fill(f, sizeof(f), 5);
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	ck_assert_int_eq(send(peer, f, 200, 0), 200);
	vdrv_poll(&drv);
	/* The big one is dropped and counted; the buffer takes the next. */
	ck_assert_uint_eq(stats()->rx_oversized, 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, HDR + 200);
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
}
END_TEST

START_TEST(rx_oversized_and_runt)
{
	up(F_MRG_RXBUF);
	peer_connect_back();
	for (unsigned i = 0; i < 4; i++)
		rx_post(BUF + 0x1000ull * i, 2048);
	vdrv_kick(&drv, RXQ);
	static uint8_t huge[65551];
	ck_assert_int_eq(send(peer, huge, sizeof(huge), 0), sizeof(huge));
	ck_assert_int_eq(send(peer, huge, 13, 0), 13); /* shorter than an Ethernet header */
	ck_assert_int_eq(send(peer, huge, 64, 0), 64);
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_oversized, 1);
	ck_assert_uint_eq(stats()->rx_runt, 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(len, HDR + 64);
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
}
END_TEST

START_TEST(rx_no_buffers_pauses_then_resumes)
{
	up(0);
	peer_connect_back();
	enum { N = 6 };
	uint8_t f[N][80];
	for (unsigned i = 0; i < N; i++) {
		fill(f[i], 80, (uint8_t)(40 + i));
		ck_assert_int_eq(send(peer, f[i], 80, 0), 80);
	}
	for (int i = 0; i < 5; i++)
		vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	/* Input is paused: no watch for input, nothing dropped. */
	ck_assert_uint_eq(stats()->rx_paused, 1);
	ck_assert_uint_eq(dev.nwatches, 0);
	ck_assert_uint_eq(stats()->rx_oversized + stats()->rx_no_queue, 0);
	/* Two buffers: two frames, still paused after them. */
	rx_post(BUF, 2048);
	rx_post(BUF + 0x1000, 2048);
	vdrv_kick(&drv, RXQ);
	unsigned got = 0;
	uint8_t data[80];
	while (vdrv_used(&drv, RXQ, &id, &len)) {
		ck_assert_uint_eq(len, HDR + 80);
		vdrv_mem_read(&drv, BUF + 0x1000ull * got + HDR, data, 80);
		ck_assert_mem_eq(data, f[got], 80);
		got++;
	}
	ck_assert_uint_eq(got, 2);
	/* The rest, in order, after a refill. */
	for (unsigned i = 0; i < N; i++)
		rx_post(BUF + 0x10000 + 0x1000ull * i, 2048);
	vdrv_kick(&drv, RXQ);
	vdrv_poll(&drv);
	unsigned more = 0;
	while (vdrv_used(&drv, RXQ, &id, &len)) {
		vdrv_mem_read(&drv, BUF + 0x10000 + 0x1000ull * more + HDR, data, 80);
		ck_assert_mem_eq(data, f[2 + more], 80);
		more++;
	}
	ck_assert_uint_eq(more, N - 2);
	ck_assert_uint_eq(stats()->rx_frames, N);
	ck_assert_uint_eq(dev.nwatches, 1); /* input watched again */
}
END_TEST

START_TEST(rx_reset_drops_staged)
{
	up(0);
	peer_connect_back();
	uint8_t old[80], f[80], got[80];
	fill(old, sizeof(old), 1);
	fill(f, sizeof(f), 99);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(send(peer, old, sizeof(old), 0), sizeof(old));
	vdrv_poll(&drv);
	ck_assert_uint_eq(dev.nwatches, 0); /* paused on a staged frame */
	/* Device reset: the staged frame was the old driver's; input flows (and drops). */
	vdrv_wr(&drv, VDRV_STATUS, 0);
	ck_assert_uint_eq(dev.nwatches, 1);
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_no_queue, 2);
	up(0);
	uint16_t head = rx_post(BUF + 0x8000, 2048);
	vdrv_kick(&drv, RXQ);
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	vdrv_mem_read(&drv, BUF + 0x8000 + HDR, got, sizeof(got));
	ck_assert_mem_eq(got, f, sizeof(f));
}
END_TEST

START_TEST(rx_queue_stop_drops_held)
{
	up(F_MRG_RXBUF);
	peer_connect_back();
	/* Two 256-byte buffers cannot take 12 + 1000: both held, the frame staged. */
	rx_post(BUF, 256);
	rx_post(BUF + 0x1000, 256);
	vdrv_kick(&drv, RXQ);
	uint8_t f[1000], got[1000];
	fill(f, sizeof(f), 21);
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	/* The driver takes the receiveq back and sets it up anew. */
	vdrv_wr(&drv, VDRV_QSEL, RXQ);
	vdrv_wr(&drv, VDRV_QREADY, 0);
	vdrv_queue(&drv, RXQ, QSIZE);
	uint16_t h0 = rx_post(BUF + 0x20000, 512);
	uint16_t h1 = rx_post(BUF + 0x21000, 512);
	vdrv_kick(&drv, RXQ);
	/* The staged frame lands in the new buffers only: 512 + 500. */
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h0);
	ck_assert_uint_eq(len, 512);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, h1);
	ck_assert_uint_eq(len, 500);
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	check_hdr(BUF + 0x20000, 2);
	vdrv_mem_read(&drv, BUF + 0x20000 + HDR, got, 500);
	vdrv_mem_read(&drv, BUF + 0x21000, got + 500, 500);
	ck_assert_mem_eq(got, f, sizeof(f));
}
END_TEST

START_TEST(rx_before_driver_ok_dropped)
{
	/* No driver: frames are read and dropped (counted), not left to pile up. */
	uint8_t f[60];
	fill(f, sizeof(f), 1);
	/* The peer learns the address from a transmitted frame, then the driver goes. */
	up(0);
	peer_connect_back();
	vdrv_wr(&drv, VDRV_STATUS, 0); /* device reset */
	ck_assert_int_eq(send(peer, f, sizeof(f), 0), sizeof(f));
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_no_queue, 1);
	ck_assert_uint_eq(dev.nwatches, 1);
}
END_TEST

/* ---- link ---------------------------------------------------------------- */

START_TEST(dgram_peer_gone_link_down)
{
	up(0);
	peer_connect_back();
	ck_assert_uint_eq(cfg16(6), 1);
	unsigned gen = vdrv_rd(&drv, VDRV_CFG_GEN);
	close(peer);
	peer = -1;
	/* A datagram peer's departure shows at the next send. */
	uint8_t f[60] = {0};
	tx_send(f, sizeof(f), 1);
	ck_assert_uint_eq(cfg16(6), 0);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2); /* configuration change */
	ck_assert_uint_ne(vdrv_rd(&drv, VDRV_CFG_GEN), gen);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len)); /* given back once, not held */
	ck_assert(!vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_dropped, 1);
	/* Further frames are dropped and counted, with no more log lines. */
	dev.last_log[0] = 0;
	tx_send(f, sizeof(f), 1);
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_dropped, 2);
	ck_assert_str_eq(dev.last_log, "");
}
END_TEST

/* ---- stream framing ------------------------------------------------------ */

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

START_TEST(stream_tx_length_prefix)
{
	up(0);
	uint8_t f[300], got[400];
	fill(f, sizeof(f), 77);
	tx_send(f, sizeof(f), 2);
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), 4 + sizeof(f));
	uint8_t want[4];
	be32(want, sizeof(f));
	ck_assert_mem_eq(got, want, 4);
	ck_assert_mem_eq(got + 4, f, sizeof(f));
}
END_TEST

START_TEST(stream_tx_backpressure)
{
	up(0);
	/* More than the socket buffers hold: a frame goes out in parts, the rest waits. */
	enum { N = 12, LEN = 40000 };
	static uint8_t chain[HDR + LEN];
	for (unsigned i = 0; i < N; i++) {
		memset(chain, 0, HDR);
		fill(chain + HDR, LEN, (uint8_t)(i * 11));
		uint64_t gpa = BUF + 0x10000ull * i;
		vdrv_mem_write(&drv, gpa, chain, sizeof(chain));
		struct vdrv_buf b = {gpa, sizeof(chain), false};
		vdrv_add(&drv, TXQ, &b, 1);
	}
	vdrv_kick(&drv, TXQ);
	unsigned used = 0;
	uint32_t id, len;
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_lt(used, N);
	/* Read the byte stream back and split it by the length prefixes. */
	static uint8_t got[4 + LEN], want[LEN];
	size_t have = 0;
	unsigned frames = 0;
	for (int round = 0; round < 2000 && frames < N; round++) {
		ssize_t n = recv(peer, got + have, sizeof(got) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		if (have == sizeof(got)) {
			uint8_t pre[4];
			be32(pre, LEN);
			ck_assert_mem_eq(got, pre, 4);
			fill(want, LEN, (uint8_t)(frames * 11));
			ck_assert_mem_eq(got + 4, want, LEN);
			frames++;
			have = 0;
		}
		vdrv_poll(&drv);
	}
	ck_assert_uint_eq(frames, N);
	ck_assert_int_eq(recv(peer, got, 1, MSG_DONTWAIT), -1); /* nothing more */
	while (vdrv_used(&drv, TXQ, &id, &len))
		used++;
	ck_assert_uint_eq(used, N);
	ck_assert_uint_eq(stats()->tx_frames, N);
	ck_assert_uint_eq(stats()->tx_dropped, 0);
}
END_TEST

START_TEST(stream_rx_partial_reads)
{
	up(0);
	uint16_t head = rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t msg[4 + 150], got[150];
	be32(msg, 150);
	fill(msg + 4, 150, 12);
	/* In three pieces, one inside the length prefix, polled between. */
	ck_assert_int_eq(send(peer, msg, 2, 0), 2);
	vdrv_poll(&drv);
	ck_assert_int_eq(send(peer, msg + 2, 50, 0), 50);
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_int_eq(send(peer, msg + 52, sizeof(msg) - 52, 0), sizeof(msg) - 52);
	vdrv_poll(&drv);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, HDR + 150);
	check_hdr(BUF, 1);
	vdrv_mem_read(&drv, BUF + HDR, got, 150);
	ck_assert_mem_eq(got, msg + 4, 150);
}
END_TEST

START_TEST(stream_rx_oversized_skipped)
{
	up(0);
	rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	/* A 70000-byte frame is skipped whole; the next one still lands. */
	static uint8_t big[4 + 70000];
	be32(big, 70000);
	size_t off = 0;
	while (off < sizeof(big)) {
		ssize_t n = send(peer, big + off, sizeof(big) - off, MSG_DONTWAIT);
		if (n > 0)
			off += (size_t)n;
		vdrv_poll(&drv);
	}
	uint8_t msg[4 + 64];
	be32(msg, 64);
	fill(msg + 4, 64, 3);
	ck_assert_int_eq(send(peer, msg, sizeof(msg), 0), sizeof(msg));
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_oversized, 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(len, HDR + 64);
	uint8_t got[64];
	vdrv_mem_read(&drv, BUF + HDR, got, 64);
	ck_assert_mem_eq(got, msg + 4, 64);
}
END_TEST

START_TEST(stream_peer_closed_link_down)
{
	up(0);
	ck_assert_uint_eq(cfg16(6), 1);
	unsigned edges = dev.line_edges[IRQ];
	close(peer);
	peer = -1;
	vdrv_poll(&drv);
	ck_assert_uint_eq(cfg16(6), 0);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2);
	ck_assert_uint_eq(dev.line_edges[IRQ], edges + 1);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
	/* Transmit still completes (dropped), the VM goes on. */
	uint8_t f[60] = {0};
	tx_send(f, sizeof(f), 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_dropped, 1);
}
END_TEST

/* ---- unixstream `listen = on`: avmm is the server ------------------------- */

static void setup_listen(void)
{
	set_peer_path();
	snprintf(spec, sizeof(spec), "unixstream:%s", peer_path);
	const char *kv[] = {"net", spec, "listen", "on", NULL};
	ck_assert_int_eq(create("net0", kv), 0);
}

/* Connect to the device's socket; the I/O poll accepts. */
static int listen_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, peer_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	vdrv_poll(&drv);
	return fd;
}

/* One frame each way over connection `fd`, length-prefixed. */
static void listen_exchange(int fd, uint8_t seed)
{
	uint8_t f[100], got[200], want[4];
	fill(f, sizeof(f), seed);
	tx_send(f, sizeof(f), 1);
	ck_assert_int_eq(recv(fd, got, sizeof(got), MSG_DONTWAIT), 4 + sizeof(f));
	be32(want, sizeof(f));
	ck_assert_mem_eq(got, want, 4);
	ck_assert_mem_eq(got + 4, f, sizeof(f));
	uint16_t head = rx_post(BUF + 0x8000, 2048);
	vdrv_kick(&drv, RXQ);
	fill(f, sizeof(f), (uint8_t)(seed + 1));
	memcpy(got, want, 4);
	memcpy(got + 4, f, sizeof(f));
	ck_assert_int_eq(send(fd, got, 4 + sizeof(f), 0), 4 + sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, HDR + sizeof(f));
	vdrv_mem_read(&drv, BUF + 0x8000 + HDR, got, sizeof(f));
	ck_assert_mem_eq(got, f, sizeof(f));
}

START_TEST(listen_link_follows_the_peer)
{
	struct stat st;
	ck_assert_int_eq(stat(peer_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	up(0);
	/* Nobody there yet: link down, transmit dropped, the VM goes on. */
	ck_assert_uint_eq(cfg16(6), 0);
	uint8_t f[60] = {0};
	tx_send(f, sizeof(f), 1);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, TXQ, &id, &len));
	ck_assert_uint_eq(stats()->tx_dropped, 1);
	/* A peer connects: link up, with a config-change interrupt. */
	unsigned edges = dev.line_edges[IRQ];
	vdrv_wr(&drv, VDRV_IACK, vdrv_rd(&drv, VDRV_ISR));
	peer = listen_connect();
	ck_assert_uint_eq(cfg16(6), 1);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2);
	ck_assert_uint_gt(dev.line_edges[IRQ], edges);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "connected"));
	listen_exchange(peer, 10);
	/* It goes, with a partial frame in flight: link down, one line. */
	ck_assert_int_eq(send(peer, "\0\0", 2, 0), 2);
	close(peer);
	peer = -1;
	vdrv_poll(&drv);
	ck_assert_uint_eq(cfg16(6), 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "until the next one connects"));
	/* The next one starts a fresh stream (the half length prefix is gone). */
	peer = listen_connect();
	ck_assert_uint_eq(cfg16(6), 1);
	listen_exchange(peer, 30);
	ck_assert_uint_eq(stats()->rx_frames, 2);
	ck_assert_uint_eq(stats()->rx_oversized + stats()->rx_runt, 0);
}
END_TEST

START_TEST(listen_one_peer_at_a_time)
{
	up(0);
	peer = listen_connect();
	ck_assert_uint_eq(cfg16(6), 1);
	/* A second is turned away (closed at once), logged once, the first unharmed. */
	for (int i = 0; i < 3; i++) {
		int other = listen_connect();
		char c;
		ck_assert_int_eq(recv(other, &c, 1, 0), 0); /* EOF */
		close(other);
		if (i == 0) {
			ck_assert_ptr_nonnull(strstr(dev.last_log, "turned away"));
			snprintf(dev.last_log, sizeof(dev.last_log), "-");
		}
	}
	ck_assert_str_eq(dev.last_log, "-");
	listen_exchange(peer, 50);
}
END_TEST

START_TEST(listen_socket_removed_with_device)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	struct stat st;
	ck_assert_int_eq(stat(peer_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* A stale socket file is replaced; anything else at the path is an error. */
	int fd = bind_peer(SOCK_STREAM);
	close(fd);
	fake_fini(&dev);
	setup_listen();
	peer = listen_connect();
	ck_assert_uint_eq(cfg16(6), 1);
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	close(peer);
	peer = -1;
	fd = open(peer_path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	const char *kv[] = {"net", spec, "listen", "on", NULL};
	ck_assert_int_ne(create("net0", kv), 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "cannot listen"));
	fake_fini(&dev);
	unlink(peer_path);
	ck_assert_int_eq(create("net0", kv), 0); /* for teardown */
}
END_TEST

START_TEST(listen_key_errors)
{
	/* unixgram has no listen; a bad boolean is the config's error. */
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	char gram[160];
	snprintf(gram, sizeof(gram), "unixgram:%s", peer_path);
	const char *g[] = {"net", gram, "listen", "on", NULL};
	ck_assert_int_ne(create("net0", g), 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "only unixstream: listens"));
	fake_fini(&dev);
	/* Empty is absent (-s net0.listen=): a unixgram device then opens. */
	int g_fd = bind_peer(SOCK_DGRAM);
	snprintf(gram, sizeof(gram), "unixgram:%s", peer_path);
	const char *ge[] = {"net", gram, "listen", "", NULL};
	ck_assert_int_eq(create("net0", ge), 0);
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	close(g_fd);
	unlink(peer_path);
	const char *b[] = {"net", spec, "listen", "maybe", NULL};
	ck_assert_int_ne(create("net0", b), 0);
	fake_fini(&dev);
	const char *off[] = {"net", spec, "listen", "off", NULL};
	int rc = create("net0", off); /* connects: nobody listens */
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "cannot connect"));
	fake_fini(&dev);
	setup_listen();
}
END_TEST

/* ---- unixgram `local`: a fixed address of our own -------------------------- */

/* The peer at peer_path; the device bound at dir/local-PID.sock. */
static char local_path[128];

static void setup_local(void)
{
	set_peer_path();
	snprintf(local_path, sizeof(local_path), "%s/local-%ld.sock", dir, (long)getpid());
	peer = bind_peer(SOCK_DGRAM);
	snprintf(spec, sizeof(spec), "unixgram:%s", peer_path);
	const char *kv[] = {"net", spec, "local", local_path, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	/* no handshake: the peer knows where we are */
	uint8_t m[8];
	ck_assert_int_eq(recv(peer, m, sizeof(m), MSG_DONTWAIT), -1);
}

/* A peer that never heard from the device sends to `local`, as QEMU's -netdev dgram does. */
START_TEST(local_peer_sends_first)
{
	struct stat st;
	ck_assert_int_eq(lstat(local_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	up(0);
	uint16_t head = rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t f[80], got[80];
	fill(f, sizeof(f), 3);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, local_path);
	ck_assert_int_eq(sendto(peer, f, sizeof(f), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 sizeof(f));
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, HDR + sizeof(f));
	vdrv_mem_read(&drv, BUF + HDR, got, sizeof(got));
	ck_assert_mem_eq(got, f, sizeof(f));
	/* And what the device sends comes from that address. */
	tx_send(f, sizeof(f), 1);
	struct sockaddr_un from;
	peer_recvfrom(got, sizeof(got), sizeof(f), &from);
	ck_assert_str_eq(from.sun_path, local_path);
	/* The device removes the path it bound. */
	avmm_plugin.destroy(inst);
	inst = NULL;
	ck_assert_int_eq(lstat(local_path, &st), -1);
}
END_TEST

/* A stale socket at `local` is replaced; anything else there is an error, and stays. */
START_TEST(local_stale_socket_and_file)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	/* a socket left behind by a killed run */
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, local_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	const char *kv[] = {"net", spec, "local", local_path, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	/* a regular file: refused at the key, and not removed */
	int f = open(local_path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(f, 0);
	close(f);
	ck_assert_int_eq(create("net0", kv), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	ck_assert_msg(!strncmp(dev.last_log, "local: ", 7), "%s", dev.last_log);
	struct stat st;
	ck_assert_int_eq(lstat(local_path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(local_path);
	/* too long, and on a stream socket it is not a key */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	fake_fini(&dev);
	const char *kv2[] = {"net", spec, "local", longp, NULL};
	ck_assert_int_eq(create("net0", kv2), -EINVAL);
	ck_assert_msg(!strncmp(dev.last_log, "local: ", 7), "%s", dev.last_log);
}
END_TEST

/* Nothing at the peer's path yet: the device starts, drops what it sends
 * (one log line), and reaches the peer once it is there, as two guests
 * that start one after the other need. */
START_TEST(local_peer_absent_then_there)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	close(peer);
	unlink(peer_path);
	const char *kv[] = {"net", spec, "local", local_path, NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	up(0);
	ck_assert_uint_eq(cfg16(6), 1); /* the link is up: the peer may come */
	uint8_t f[64], got[64];
	fill(f, sizeof(f), 5);
	tx_send(f, sizeof(f), 1);
	ck_assert_msg(strstr(dev.last_log, "is not there"), "%s", dev.last_log);
	dev.last_log[0] = 0;
	tx_send(f, sizeof(f), 1); /* logged once per absence */
	ck_assert_str_eq(dev.last_log, "");
	ck_assert_uint_eq(stats()->tx_dropped, 2);
	ck_assert_uint_eq(stats()->tx_frames, 0);
	peer = bind_peer(SOCK_DGRAM);
	tx_send(f, sizeof(f), 1);
	ck_assert_int_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), sizeof(f));
	ck_assert_mem_eq(got, f, sizeof(f));
	ck_assert_uint_eq(stats()->tx_frames, 1);
	ck_assert_msg(strstr(dev.last_log, "there again"), "%s", dev.last_log);
	ck_assert_uint_eq(cfg16(6), 1);
	/* It goes away again (a restart): dropped, logged again, link still up. */
	close(peer);
	unlink(peer_path);
	peer = -1;
	tx_send(f, sizeof(f), 1);
	ck_assert_uint_eq(stats()->tx_dropped, 3);
	ck_assert_msg(strstr(dev.last_log, "is not there"), "%s", dev.last_log);
	ck_assert_uint_eq(cfg16(6), 1);
}
END_TEST

/* Anyone may send to the bound path; only the peer's datagrams reach the guest. */
START_TEST(local_only_from_peer)
{
	up(0);
	rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t f[80];
	fill(f, sizeof(f), 7);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, local_path);
	/* a stranger: unbound (autobound on Linux), then bound elsewhere */
	int x = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(sendto(x, f, sizeof(f), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 sizeof(f));
	close(x);
	x = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un xa = {.sun_family = AF_UNIX};
	snprintf(xa.sun_path, sizeof(xa.sun_path), "%s/x.sock", dir);
	ck_assert_int_eq(bind(x, (struct sockaddr *)&xa, sizeof(xa)), 0);
	ck_assert_int_eq(sendto(x, f, sizeof(f), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 sizeof(f));
	close(x);
	unlink(xa.sun_path);
	vdrv_poll(&drv);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(stats()->rx_frames, 0);
	/* the peer */
	ck_assert_int_eq(sendto(peer, f, sizeof(f), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 sizeof(f));
	vdrv_poll(&drv);
	ck_assert(vdrv_used(&drv, RXQ, &id, &len));
	ck_assert_uint_eq(len, HDR + sizeof(f));
	ck_assert_uint_eq(stats()->rx_frames, 1);
}
END_TEST

/* ---- net = user (libslirp) --------------------------------------------- */

#if defined(AVMM_HAVE_SLIRP)
#include <arpa/inet.h>
#include <netinet/in.h>

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int fwd_port;
static char fwd_spec[96];

static void setup_user(void)
{
	set_peer_path(); /* teardown unlinks it */
	fwd_port = free_port();
	snprintf(fwd_spec, sizeof(fwd_spec), "udp:127.0.0.1:%d-:5000, tcp::%d-:22", fwd_port,
		 fwd_port);
	const char *kv[] = {"net", "user", "subnet", "192.168.76.0/24", "hostfwd", fwd_spec,
			    "restrict", "true", "mac", "02:00:00:00:00:07", NULL};
	ck_assert_int_eq(create("net0", kv), 0);
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A DHCPDISCOVER (RFC 2131) from 02:00:00:00:00:07, broadcast. */
static size_t dhcp_discover(uint8_t *f)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 7};
	memset(f, 0, 400);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
	/* BOOTP: op, htype, hlen, xid, flags (broadcast), chaddr, the magic cookie. */
	b[0] = 1, b[1] = 1, b[2] = 6;
	b[4] = 0x12, b[5] = 0x34, b[6] = 0x56, b[7] = 0x78;
	b[10] = 0x80;
	memcpy(b + 28, mac, 6);
	uint8_t *o = b + 236;
	o[0] = 99, o[1] = 130, o[2] = 83, o[3] = 99;
	o[4] = 53, o[5] = 1, o[6] = 1; /* DHCP message type: DISCOVER */
	o[7] = 255;
	size_t blen = 236 + 8;
	size_t ulen = 8 + blen;
	udp[0] = 0, udp[1] = 68, udp[2] = 0, udp[3] = 67;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen; /* checksum 0: none */
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8), ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64, ip[9] = 17;
	memset(ip + 16, 0xff, 4); /* to 255.255.255.255 from 0.0.0.0 */
	uint16_t c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	return 14 + 20 + ulen;
}

START_TEST(user_dhcp_offer)
{
	up(0);
	uint16_t head = rx_post(BUF, 2048);
	vdrv_kick(&drv, RXQ);
	uint8_t f[400];
	size_t len = dhcp_discover(f);
	tx_send(f, len, 1);
	vdrv_poll(&drv);
	uint32_t id, ulen;
	ck_assert(vdrv_used(&drv, TXQ, &id, &ulen));
	ck_assert_msg(vdrv_used(&drv, RXQ, &id, &ulen), "no reply to DHCPDISCOVER");
	ck_assert_uint_eq(id, head);
	ck_assert_uint_gt(ulen, HDR + 14 + 20 + 8 + 240);
	check_hdr(BUF, 1);
	uint8_t r[2048];
	vdrv_mem_read(&drv, BUF + HDR, r, ulen - HDR);
	ck_assert_uint_eq(r[12], 0x08); /* IPv4 */
	ck_assert_uint_eq(r[13], 0x00);
	const uint8_t *ip = r + 14, *udp = ip + 20, *b = udp + 8;
	ck_assert_uint_eq(ip[9], 17);
	static const uint8_t gw[4] = {192, 168, 76, 2}, lease[4] = {192, 168, 76, 15};
	ck_assert_mem_eq(ip + 12, gw, 4); /* from the gateway of `subnet` */
	ck_assert_uint_eq(udp[1], 67);
	ck_assert_uint_eq(udp[3], 68);
	ck_assert_uint_eq(b[0], 2); /* BOOTREPLY */
	ck_assert_uint_eq(b[4], 0x12); /* our xid */
	ck_assert_uint_eq(b[7], 0x78);
	ck_assert_mem_eq(b + 16, lease, 4); /* yiaddr: the first lease */
	/* Options after the cookie: message type 2 (OFFER). */
	const uint8_t *o = b + 240, *end = r + (ulen - HDR);
	bool offer = false;
	while (o + 2 <= end && o[0] != 255) {
		if (o[0] == 0) {
			o++;
			continue;
		}
		if (o[0] == 53 && o[1] == 1 && o + 3 <= end)
			offer = o[2] == 2;
		o += 2 + o[1];
	}
	ck_assert(offer);
}
END_TEST

START_TEST(user_hostfwd_listens)
{
	/* The tcp forward listens on 127.0.0.1 (the empty host address). */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fwd_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	/* Each watched socket of slirp's is watched once. */
	ck_assert_uint_ge(dev.nwatches, 1);
	vdrv_poll(&drv);
}
END_TEST

/* A TCP SYN from 192.168.76.15:40000 to the gateway's port `port`. */
static size_t tcp_syn(uint8_t *f, int port)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 7};
	static const uint8_t gw_mac_unknown[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	memset(f, 0, 100);
	memcpy(f, gw_mac_unknown, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	uint8_t *ip = f + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64, ip[9] = 6;
	static const uint8_t src[4] = {192, 168, 76, 15}, dst[4] = {192, 168, 76, 2};
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	uint16_t c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	tcp[0] = 40000 >> 8, tcp[1] = 40000 & 0xff;
	tcp[2] = (uint8_t)(port >> 8), tcp[3] = (uint8_t)port;
	tcp[4] = 1; /* seq */
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	tcp[14] = 0xff, tcp[15] = 0xff;
	/* Checksum over the pseudo header and the segment. */
	uint8_t ph[12 + 20];
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0, ph[9] = 6, ph[10] = 0, ph[11] = 20;
	memcpy(ph + 12, tcp, 20);
	c = ip_csum(ph, sizeof(ph));
	tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
	return 14 + 40;
}

static int loopback_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Did slirp connect to the listener (within a few polls)? */
static bool outbound_connects(void)
{
	up(0);
	for (unsigned i = 0; i < 4; i++)
		rx_post(BUF + 0x1000ull * i, 2048);
	vdrv_kick(&drv, RXQ);
	int port, l = loopback_listener(&port);
	uint8_t f[100];
	tx_send(f, tcp_syn(f, port), 1);
	int c = -1;
	for (int i = 0; i < 50 && c < 0; i++) {
		vdrv_poll(&drv);
		struct pollfd p = {l, POLLIN, 0};
		if (poll(&p, 1, 10) > 0)
			c = accept(l, NULL, NULL);
	}
	if (c >= 0)
		close(c);
	close(l);
	return c >= 0;
}

START_TEST(user_restrict_blocks_outbound)
{
	/* The gateway stands for the host's loopback: restricted, no connection. */
	ck_assert(!outbound_connects());
}
END_TEST

START_TEST(user_outbound_reaches_loopback)
{
	avmm_plugin.destroy(inst);
	fake_fini(&dev);
	const char *kv[] = {"net", "user", "subnet", "192.168.76.0/24", NULL};
	ck_assert_int_eq(create("net0", kv), 0);
	ck_assert(outbound_connects());
}
END_TEST

static void expect_user_error(const char *key, const char *value)
{
	const char *kv[] = {"net", "user", key, value, NULL};
	ck_assert_int_eq(create("net0", kv), -EINVAL);
	ck_assert_msg(dev.cfg_errors == 1, "%s = %s: %u cfg errors", key, value, dev.cfg_errors);
	inst = NULL;
	fake_fini(&dev);
}

START_TEST(user_key_errors)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	expect_user_error("subnet", "10.0.2.0");
	expect_user_error("subnet", "10.0.2.1/24"); /* host bits */
	expect_user_error("subnet", "10.0.2.0/28"); /* no room for .15 */
	expect_user_error("subnet", "10.0.2.0/7");
	expect_user_error("hostfwd", "tcp:127.0.0.1:2222");
	expect_user_error("hostfwd", "tcp:127.0.0.1:0-:22");
	expect_user_error("hostfwd", "tcp:127.0.0.1:2222-:65536");
	expect_user_error("hostfwd", "tcp:1.2.3:2222-:22");
	expect_user_error("restrict", "maybe");
	const char *kv[] = {"net", "user", NULL};
	ck_assert_int_eq(create("net0", kv), 0);
}
END_TEST
#else
START_TEST(user_refused_without_slirp)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	const char *kv[] = {"net", "user", NULL};
	ck_assert_int_eq(create("net0", kv), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "libslirp"));
	fake_fini(&dev);
	const char *ok[] = {"net", spec, NULL};
	ck_assert_int_eq(create("net0", ok), 0);
}
END_TEST
#endif

/* The queue tests, in case "dgram" and again in "dgram-event-idx". */
static void add_queue_tests(TCase *tc)
{
	const TTest *const tests[] = {
		tx_header_stripped, tx_malformed_dropped, tx_backpressure,
		tx_kicks_only_when_idle, rx_into_posted_buffer, rx_mergeable_spans_buffers,
		rx_mergeable_too_big_for_queue, rx_too_big_for_buffer,
		rx_no_buffers_pauses_then_resumes, rx_kicks_only_when_waiting,
		rx_reset_drops_staged, rx_queue_stop_drops_held,
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
}

int main(void)
{
	strcpy(dir, "/tmp/avmm-test-net-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	Suite *s = suite_create("virtio-net");
	TCase *tc = tcase_create("dgram");
	tcase_add_checked_fixture(tc, setup_dgram, teardown);
	tcase_add_test(tc, identity);
	tcase_add_test(tc, config_fields);
	tcase_add_test(tc, mtu_default);
	tcase_add_test(tc, mac_default_stable);
	tcase_add_test(tc, key_errors);
	add_queue_tests(tc);
	tcase_add_test(tc, tx_plain_header_only);
	tcase_add_test(tc, rx_oversized_and_runt);
	tcase_add_test(tc, rx_before_driver_ok_dropped);
	tcase_add_test(tc, dgram_peer_gone_link_down);
	suite_add_tcase(s, tc);
	/* The queue tests again with EVENT_IDX: kick suppression by avail_event. */
	TCase *te = tcase_create("dgram-event-idx");
	tcase_add_checked_fixture(te, setup_dgram_event_idx, teardown);
	add_queue_tests(te);
	suite_add_tcase(s, te);
	TCase *ts = tcase_create("stream");
	tcase_add_checked_fixture(ts, setup_stream, teardown);
	tcase_add_test(ts, stream_tx_length_prefix);
	tcase_add_test(ts, stream_tx_backpressure);
	tcase_add_test(ts, stream_rx_partial_reads);
	tcase_add_test(ts, stream_rx_oversized_skipped);
	tcase_add_test(ts, stream_peer_closed_link_down);
	suite_add_tcase(s, ts);
	TCase *tn = tcase_create("listen");
	tcase_add_checked_fixture(tn, setup_listen, teardown);
	tcase_add_test(tn, listen_link_follows_the_peer);
	tcase_add_test(tn, listen_one_peer_at_a_time);
	tcase_add_test(tn, listen_socket_removed_with_device);
	tcase_add_test(tn, listen_key_errors);
	suite_add_tcase(s, tn);

	TCase *tl = tcase_create("local");
	tcase_add_checked_fixture(tl, setup_local, teardown);
	tcase_add_test(tl, local_peer_sends_first);
	tcase_add_test(tl, local_stale_socket_and_file);
	tcase_add_test(tl, local_peer_absent_then_there);
	tcase_add_test(tl, local_only_from_peer);
	suite_add_tcase(s, tl);
#if defined(AVMM_HAVE_SLIRP)
	TCase *tu = tcase_create("user");
	tcase_add_checked_fixture(tu, setup_user, teardown);
	tcase_add_test(tu, user_dhcp_offer);
	tcase_add_test(tu, user_hostfwd_listens);
	tcase_add_test(tu, user_key_errors);
	tcase_add_test(tu, user_restrict_blocks_outbound);
	tcase_add_test(tu, user_outbound_reaches_loopback);
	suite_add_tcase(s, tu);
#else
	tcase_add_test(tc, user_refused_without_slirp);
#endif
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_run_dir();
	return failed ? 1 : 0;
}
