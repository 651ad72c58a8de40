/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over `net = tap:NAME` without root: net_tap.c's system calls
 * (net_tap.h) are replaced by a fake that hands out one end of a
 * SOCK_SEQPACKET pair for /dev/net/tun and records the ioctls; the test
 * holds the other end and plays the kernel's side (each message one
 * virtio_net_hdr plus a frame).  Checked: the attach sequence (TUNSETIFF
 * flags, TUNSETVNETHDRSZ 12, TUNSETVNETLE, offloads off) and its errors,
 * a missing device never opened; the offload features offered only here,
 * their dependencies (5.1.3.1); TUNSETOFFLOAD after DRIVER_OK with what the
 * guest took of GUEST_*, and 0 after reset; transmit and receive header
 * validation, one rule at a time; a 64 KiB GSO frame through mergeable
 * buffers; the tap deleted (EBADFD) or down (EIO).
 *
 * Bits and layouts are spelled out from virtio 1.2 section 5.1 and
 * <linux/if_tun.h> here, not taken from the plugin.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <avmm/avmm.h>

#include "fakehost.h"
#include "net.h"
#include "net_tap.h"
#include "vdev.h"
#include "vdriver.h"
#include "vnet_spec.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define BASE 0x0a000000ull
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define BUF (RAM_BASE + VDRV_DATA)
#define RXQ 0
#define TXQ 1
#define QSIZE 64
#define HDR 12

/* ---- the fake kernel ------------------------------------------------------ */

static struct {
	int peer;           /* our end of the pair */
	int dev_fd;         /* the end handed out */
	unsigned opens;
	int open_flags;
	int open_errno;     /* open fails with it */
	int setiff_errno;   /* TUNSETIFF fails with it */
	bool transient;     /* TUNGETIFF: not IFF_PERSIST */
	short setiff_flags;
	char setiff_name[IFNAMSIZ];
	int hdrsz;
	int vnetle;
	unsigned offload_calls;
	unsigned long offload;
	int getiff_errno;   /* TUNGETIFF fails with it */
	int read_errno;     /* reads fail with it */
	int write_errno;    /* writes fail with it */
	bool closed;
} k;

static int f_open(const char *path, int flags)
{
	k.opens++;
	k.open_flags = flags;
	ck_assert_str_eq(path, "/dev/net/tun");
	if (k.open_errno) {
		errno = k.open_errno;
		return -1;
	}
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	k.dev_fd = sv[0];
	k.peer = sv[1];
	return sv[0];
}

static int f_ioctl(int fd, unsigned long req, void *arg)
{
	ck_assert_int_eq(fd, k.dev_fd);
	struct ifreq *ifr = arg;
	switch (req) {
	case TUNSETIFF:
		k.setiff_flags = ifr->ifr_flags;
		memcpy(k.setiff_name, ifr->ifr_name, IFNAMSIZ);
		if (k.setiff_errno) {
			errno = k.setiff_errno;
			return -1;
		}
		return 0;
	case TUNGETIFF:
		if (k.getiff_errno) {
			errno = k.getiff_errno;
			return -1;
		}
		ifr->ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
					 (k.transient ? 0 : IFF_PERSIST));
		return 0;
	case TUNSETVNETHDRSZ:
		k.hdrsz = *(int *)arg;
		return 0;
	case TUNSETVNETLE:
		k.vnetle = *(int *)arg;
		return 0;
	case TUNSETOFFLOAD:
		k.offload_calls++;
		k.offload = (unsigned long)(uintptr_t)arg;
		return 0;
	}
	ck_abort_msg("unexpected ioctl 0x%lx", req);
	return -1;
}

static ssize_t f_read(int fd, void *buf, size_t len)
{
	if (k.read_errno) {
		errno = k.read_errno;
		return -1;
	}
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static ssize_t f_write(int fd, const void *buf, size_t len)
{
	if (k.write_errno) {
		errno = k.write_errno;
		return -1;
	}
	return send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int f_close(int fd)
{
	if (fd == k.dev_fd)
		k.closed = true;
	return close(fd);
}

static unsigned f_if_index(const char *name)
{
	return strncmp(name, "missing", 7) ? 7 : 0;
}

static const struct netbe_tap_sys fake_sys = {
	.open = f_open,
	.ioctl = f_ioctl,
	.read = f_read,
	.write = f_write,
	.close = f_close,
	.if_index = f_if_index,
};

/* ---- device and driver --------------------------------------------------- */

static struct avmm_dev dev;
static void *inst;
static struct vdrv drv;

static const struct vnet_stats *stats(void)
{
	return vnet_stats(vdev_state(inst));
}

static int create(const char *spec)
{
	char err[200] = "";
	fake_init(&dev, "net0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "net");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "17");
	fake_set(&dev, "net", spec);
	int rc = avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err));
	if (rc == 0)
		vdrv_init(&drv, &dev, BASE);
	else
		inst = NULL;
	return rc;
}

static void setup(void)
{
	memset(&k, 0, sizeof(k));
	k.peer = k.dev_fd = -1;
	netbe_tap_sys = &fake_sys;
	ck_assert_int_eq(create("tap:avt0"), 0);
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	inst = NULL;
	ck_assert_uint_eq(dev.nwatches, 0);
	fake_fini(&dev);
	if (k.peer >= 0)
		close(k.peer);
	k.peer = -1;
}

static void up(uint64_t features)
{
	vdrv_up(&drv, VDRV_F_VERSION_1 | features, 2, QSIZE);
}

static void mkhdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		  uint16_t csum_start, uint16_t csum_offset)
{
	h[0] = flags, h[1] = gso;
	h[2] = (uint8_t)hdr_len, h[3] = (uint8_t)(hdr_len >> 8);
	h[4] = (uint8_t)gso_size, h[5] = (uint8_t)(gso_size >> 8);
	h[6] = (uint8_t)csum_start, h[7] = (uint8_t)(csum_start >> 8);
	h[8] = (uint8_t)csum_offset, h[9] = (uint8_t)(csum_offset >> 8);
	h[10] = 0x55, h[11] = 0x55; /* num_buffers: the device sets it */
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ---- attach -------------------------------------------------------------- */

START_TEST(attach_sequence)
{
	ck_assert_uint_eq(k.opens, 1);
	ck_assert_int_eq(k.open_flags & O_ACCMODE, O_RDWR);
	ck_assert(k.open_flags & O_NONBLOCK);
	ck_assert_int_eq(k.setiff_flags, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	ck_assert_str_eq(k.setiff_name, "avt0");
	ck_assert_int_eq(k.hdrsz, 12);
	ck_assert_int_eq(k.vnetle, 1);
	ck_assert_uint_eq(k.offload_calls, 1);
	ck_assert_uint_eq(k.offload, 0);
	ck_assert_uint_eq(dev.nwatches, 1);
	uint64_t v = 0;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 6, 2, &v), 0);
	ck_assert_uint_eq(v, 1); /* LINK_UP */
}
END_TEST

static void expect_error(const char *spec, const char *needle)
{
	ck_assert_int_eq(create(spec), -EINVAL);
	ck_assert_msg(dev.cfg_errors == 1, "%s: %u cfg errors", spec, dev.cfg_errors);
	ck_assert_msg(strstr(dev.last_log, needle), "%s: '%s' lacks '%s'", spec, dev.last_log,
		      needle);
	fake_fini(&dev);
}

START_TEST(attach_errors)
{
	avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	close(k.peer);
	k.peer = -1;
	k.opens = 0;
	/* A missing device: never opened, so never created; the message says how. */
	expect_error("tap:missing0", "ip tuntap add dev missing0 mode tap user $USER");
	ck_assert_uint_eq(k.opens, 0);
	expect_error("tap:", "not an interface name");
	expect_error("tap:a/b", "not an interface name");
	expect_error("tap:0123456789abcdef", "not an interface name"); /* 16 > IFNAMSIZ - 1 */
	ck_assert_uint_eq(k.opens, 0);

	k.open_errno = ENOENT;
	expect_error("tap:avt0", "modprobe tun");
	k.open_errno = 0;
	static const struct {
		int e;
		const char *needle;
	} refusals[] = {{EPERM, "user $USER"}, {EBUSY, "in use"}, {EINVAL, "not a single-queue tap"}};
	for (unsigned i = 0; i < 3; i++) {
		k.setiff_errno = refusals[i].e;
		k.closed = false;
		expect_error("tap:avt0", refusals[i].needle);
		ck_assert(k.closed);
		close(k.peer);
		k.peer = -1;
	}
	k.setiff_errno = 0;
	/* It vanished between the look-up and TUNSETIFF, which made a new one: let go. */
	k.transient = true;
	k.closed = false;
	expect_error("tap:avt0", "went away");
	ck_assert(k.closed);
	close(k.peer);
	k.peer = -1;
	k.transient = false;
	ck_assert_int_eq(create("tap:avt0"), 0);
}
END_TEST

/* ---- features ------------------------------------------------------------ */

START_TEST(offloads_offered)
{
	uint64_t f = vdrv_device_features(&drv);
	ck_assert_uint_eq(f & F_OFFLOADS, F_OFFLOADS);
	ck_assert_uint_eq(f & (F_GUEST_UFO | F_HOST_UFO), 0);
	ck_assert(f & F_MRG_RXBUF);
}
END_TEST

static bool accepted(uint64_t f)
{
	return vdrv_negotiate(&drv, VDRV_F_VERSION_1 | f) & VDRV_S_FEATURES_OK;
}

START_TEST(feature_dependencies)
{
	ck_assert(!accepted(F_GUEST_TSO4));
	ck_assert(!accepted(F_GUEST_TSO6));
	ck_assert(!accepted(F_GUEST_CSUM | F_GUEST_ECN)); /* ECN needs TSO4 or TSO6 */
	ck_assert(!accepted(F_HOST_TSO4));
	ck_assert(!accepted(F_HOST_TSO6));
	ck_assert(!accepted(F_CSUM | F_HOST_ECN));
	ck_assert(accepted(F_GUEST_CSUM | F_GUEST_TSO6 | F_GUEST_ECN));
	ck_assert(accepted(F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_ECN));
	ck_assert(accepted(F_CSUM | F_HOST_TSO4 | F_HOST_ECN));
	ck_assert(accepted(F_CSUM | F_HOST_TSO6 | F_HOST_ECN));
	ck_assert(accepted(F_CSUM | F_GUEST_CSUM));
	ck_assert(accepted(F_OFFLOADS | F_MRG_RXBUF));
}
END_TEST

START_TEST(tunsetoffload_mapping)
{
	static const struct {
		uint64_t f;
		unsigned long tun;
	} c[] = {
		{0, 0},
		{F_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN, 0}, /* the other way */
		{F_GUEST_CSUM, TUN_F_CSUM},
		{F_GUEST_CSUM | F_GUEST_TSO4, TUN_F_CSUM | TUN_F_TSO4},
		{F_GUEST_CSUM | F_GUEST_TSO6, TUN_F_CSUM | TUN_F_TSO6},
		{F_GUEST_CSUM | F_GUEST_TSO6 | F_GUEST_ECN, TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN},
		{F_OFFLOADS, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN},
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned calls = k.offload_calls;
		up(c[i].f);
		ck_assert_uint_gt(k.offload_calls, calls);
		ck_assert_msg(k.offload == c[i].tun, "case %u: 0x%lx, want 0x%lx", i, k.offload,
			      c[i].tun);
		/* Reset: the next driver starts from plain frames. */
		k.offload = 0xdead;
		vdrv_wr(&drv, VDRV_STATUS, 0);
		ck_assert_uint_eq(k.offload, 0);
	}
}
END_TEST

/* ---- transmit ------------------------------------------------------------ */

static uint8_t chain[HDR + 65550];

/* Send header h and a `len`-byte frame; true when the tap got them (checked). */
static bool tx(const uint8_t *h, size_t len)
{
	memcpy(chain, h, HDR);
	fill(chain + HDR, len, 3);
	vdrv_mem_write(&drv, BUF, chain, HDR + len);
	struct vdrv_buf b = {BUF, (uint32_t)(HDR + len), false};
	uint16_t head = vdrv_add(&drv, TXQ, &b, 1);
	vdrv_kick(&drv, TXQ);
	uint32_t id, ulen;
	ck_assert(vdrv_used(&drv, TXQ, &id, &ulen));
	ck_assert_uint_eq(id, head);
	static uint8_t got[HDR + 65550 + 1];
	ssize_t n = recv(k.peer, got, sizeof(got), MSG_DONTWAIT);
	if (n < 0)
		return false;
	ck_assert_uint_eq((size_t)n, HDR + len);
	ck_assert_mem_eq(got, h, 10);
	ck_assert_uint_eq(got[10], 0); /* num_buffers 0 to the tap */
	ck_assert_uint_eq(got[11], 0);
	ck_assert_mem_eq(got + HDR, chain + HDR, len);
	return true;
}

static bool tx_ok(const uint8_t *h, size_t len)
{
	uint64_t bad = stats()->tx_bad_hdr;
	bool sent = tx(h, len);
	ck_assert_uint_eq(stats()->tx_bad_hdr, bad + !sent);
	return sent;
}

START_TEST(tx_header_rules)
{
	uint8_t h[HDR];
	up(F_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN);
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(tx_ok(h, 60));
	/* Partial checksum: the field ends exactly at the end of the frame, or one past. */
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 34, 6);
	ck_assert(tx_ok(h, 60));
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 52, 6);
	ck_assert(tx_ok(h, 60));
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 53, 6);
	ck_assert(!tx_ok(h, 60));
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff); /* no 16-bit wrap */
	ck_assert(!tx_ok(h, 60));
	/* Flags the driver may not set. */
	mkhdr(h, H_DATA_VALID, 0, 0, 0, 0, 0);
	ck_assert(!tx_ok(h, 60));
	mkhdr(h, 8, 0, 0, 0, 0, 0);
	ck_assert(!tx_ok(h, 60));
	/* GSO: the good ones, up to 64 KiB. */
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(tx_ok(h, 65550));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6 | H_GSO_ECN, 74, 1428, 54, 16);
	ck_assert(tx_ok(h, 20000));
	/* Unknown or unoffered types, ECN without GSO. */
	mkhdr(h, H_NEEDS_CSUM, H_GSO_UDP, 42, 1472, 34, 6);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, 2, 54, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, 5, 54, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, 0, H_GSO_ECN, 0, 0, 0, 0);
	ck_assert(!tx_ok(h, 60));
	/* Nonsense GSO fields. */
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 0, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 0, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 5001, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, 0, H_GSO_TCPV4, 54, 1448, 0, 0);
	ck_assert(!tx_ok(h, 5000));
	ck_assert_uint_eq(stats()->tx_frames, 5);
	dev.guest_errors = 0; /* the first bad header was logged as one */
}
END_TEST

START_TEST(tx_header_not_negotiated)
{
	uint8_t h[HDR];
	up(F_CSUM | F_HOST_TSO4); /* no TSO6, no ECN */
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6, 74, 1428, 54, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4 | H_GSO_ECN, 54, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	vdrv_wr(&drv, VDRV_STATUS, 0);
	up(F_CSUM | F_HOST_TSO6); /* no TSO4 */
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6, 74, 1428, 54, 16);
	ck_assert(tx_ok(h, 5000));
	vdrv_wr(&drv, VDRV_STATUS, 0);
	up(0); /* nothing: not even a partial checksum */
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 34, 6);
	ck_assert(!tx_ok(h, 60));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(!tx_ok(h, 5000));
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(tx_ok(h, 60));
	dev.guest_errors = 0;
}
END_TEST

/* ---- receive ------------------------------------------------------------- */

static uint8_t msg[HDR + 65550 + 8];

static void tap_send(const uint8_t *h, size_t len)
{
	memcpy(msg, h, HDR);
	fill(msg + HDR, len, 11);
	ck_assert_int_eq(send(k.peer, msg, HDR + len, 0), (ssize_t)(HDR + len));
	vdrv_poll(&drv);
}

/* The tap sends h and a frame: true when delivered, with the header kept. */
static bool rx(const uint8_t *h, size_t len, uint8_t want_flags)
{
	uint64_t bad = stats()->rx_bad_hdr;
	uint16_t head = (uint16_t)vdrv_add(&drv, RXQ, &(struct vdrv_buf){BUF, 8192, true}, 1);
	vdrv_kick(&drv, RXQ);
	tap_send(h, len);
	uint32_t id, ulen;
	if (!vdrv_used(&drv, RXQ, &id, &ulen)) {
		ck_assert_uint_eq(stats()->rx_bad_hdr, bad + 1);
		/* The buffer is still held: give it a plain frame to finish with. */
		uint8_t plain[HDR] = {0};
		tap_send(plain, 60);
		ck_assert(vdrv_used(&drv, RXQ, &id, &ulen));
		ck_assert_uint_eq(ulen, HDR + 60);
		return false;
	}
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(ulen, HDR + len);
	uint8_t got[HDR];
	vdrv_mem_read(&drv, BUF, got, HDR);
	ck_assert_uint_eq(got[0], want_flags);
	ck_assert_mem_eq(got + 1, h + 1, 9);
	ck_assert_uint_eq(got[10], 1);
	ck_assert_uint_eq(got[11], 0);
	ck_assert_uint_eq(stats()->rx_bad_hdr, bad);
	return true;
}

START_TEST(rx_header_without_offloads)
{
	uint8_t h[HDR];
	up(0);
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(rx(h, 100, 0));
	/* Known good: the news is dropped, the frame is not. */
	mkhdr(h, H_DATA_VALID, 0, 0, 0, 0, 0);
	ck_assert(rx(h, 100, 0));
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 34, 6);
	ck_assert(!rx(h, 100, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(!rx(h, 5000, 0));
}
END_TEST

START_TEST(rx_header_rules)
{
	uint8_t h[HDR];
	up(F_GUEST_CSUM | F_GUEST_TSO4);
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 34, 6);
	ck_assert(rx(h, 100, H_NEEDS_CSUM));
	mkhdr(h, H_DATA_VALID, 0, 0, 0, 0, 0);
	ck_assert(rx(h, 100, H_DATA_VALID));
	mkhdr(h, H_NEEDS_CSUM, 0, 0, 0, 95, 4);
	ck_assert(!rx(h, 100, 0));
	mkhdr(h, 4, 0, 0, 0, 0, 0); /* RSC_INFO: not negotiated */
	ck_assert(!rx(h, 100, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(rx(h, 5000, H_NEEDS_CSUM));
	mkhdr(h, H_DATA_VALID, H_GSO_TCPV4, 54, 1448, 0, 0); /* forwarded GRO: no partial csum */
	ck_assert(rx(h, 5000, H_DATA_VALID));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6, 74, 1428, 54, 16);
	ck_assert(!rx(h, 5000, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4 | H_GSO_ECN, 54, 1448, 34, 16);
	ck_assert(!rx(h, 5000, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_UDP, 42, 1472, 34, 6);
	ck_assert(!rx(h, 5000, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 0, 34, 16);
	ck_assert(!rx(h, 5000, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 5001, 1448, 34, 16);
	ck_assert(!rx(h, 5000, 0));
	/* TSO6 only: TSO4 is not negotiated. */
	vdrv_wr(&drv, VDRV_STATUS, 0);
	up(F_GUEST_CSUM | F_GUEST_TSO6);
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV4, 54, 1448, 34, 16);
	ck_assert(!rx(h, 5000, 0));
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6, 74, 1428, 54, 16);
	ck_assert(rx(h, 5000, H_NEEDS_CSUM));
	/* Shorter than a header at all. */
	uint64_t bad = stats()->rx_bad_hdr;
	ck_assert_int_eq(send(k.peer, h, 6, 0), 6);
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_bad_hdr, bad + 1);
}
END_TEST

START_TEST(rx_gso_64k_mergeable)
{
	up(F_MRG_RXBUF | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6);
	/* 12 + 65550 bytes into 1100-byte buffers: 59 full ones and 662 bytes. */
	enum { N = 60, SZ = 1100 };
	uint16_t head[N];
	for (unsigned i = 0; i < N; i++)
		head[i] = (uint16_t)vdrv_add(
			&drv, RXQ, &(struct vdrv_buf){BUF + 0x800ull * i, SZ, true}, 1);
	vdrv_kick(&drv, RXQ);
	uint8_t h[HDR];
	mkhdr(h, H_NEEDS_CSUM, H_GSO_TCPV6, 86, 1428, 54, 16);
	tap_send(h, 65550);
	static uint8_t got[HDR + 65550];
	size_t off = 0;
	for (unsigned i = 0; i < N; i++) {
		uint32_t id, len;
		ck_assert_msg(vdrv_used(&drv, RXQ, &id, &len), "buffer %u not used", i);
		ck_assert_uint_eq(id, head[i]);
		ck_assert_uint_eq(len, i + 1 < N ? SZ : HDR + 65550 - (N - 1) * SZ);
		vdrv_mem_read(&drv, BUF + 0x800ull * i, got + off, len);
		off += len;
	}
	ck_assert_uint_eq(off, HDR + 65550);
	ck_assert_mem_eq(got, h, 10);
	ck_assert_uint_eq(got[10] | got[11] << 8, N); /* num_buffers */
	ck_assert_mem_eq(got + HDR, msg + HDR, 65550);
	ck_assert_uint_eq(stats()->rx_frames, 1);
	/* One byte more: too long, dropped and counted. */
	tap_send(h, 65551);
	ck_assert_uint_eq(stats()->rx_oversized, 1);
}
END_TEST

/* ---- the tap goes away -------------------------------------------------- */

START_TEST(tap_deleted_link_down)
{
	up(0);
	unsigned gen = vdrv_rd(&drv, VDRV_CFG_GEN);
	/* Deleted: the fd polls readable or in error, reads fail with EBADFD. */
	k.read_errno = EBADFD;
	uint8_t h[HDR] = {0};
	ck_assert_int_eq(send(k.peer, h, HDR, 0), HDR);
	vdrv_poll(&drv);
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 6, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2);
	ck_assert_uint_ne(vdrv_rd(&drv, VDRV_CFG_GEN), gen);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "avt0 was deleted: link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
	/* Transmit completes, dropped and counted, without another log line. */
	dev.last_log[0] = 0;
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(!tx(h, 60));
	ck_assert_uint_eq(stats()->tx_dropped, 1);
	ck_assert_str_eq(dev.last_log, "");
}
END_TEST

/*
 * Deleted right behind a frame the device has no buffers for: the poll
 * reports input and the error together, the frame is read and staged,
 * input pauses before the read that would say why, and TUNGETIFF says it.
 */
START_TEST(tap_deleted_while_paused)
{
	up(0);
	uint8_t h[HDR] = {0};
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	memcpy(msg, h, HDR);
	fill(msg + HDR, 60, 11);
	ck_assert_int_eq(send(k.peer, msg, HDR + 60, 0), HDR + 60);
	k.getiff_errno = EBADFD;
	close(k.peer); /* the fd now polls as hung up */
	k.peer = -1;
	vdrv_poll(&drv);
	ck_assert_uint_eq(stats()->rx_paused, 1);
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 6, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "avt0 was deleted: link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
}
END_TEST

START_TEST(tap_write_gone_link_down)
{
	up(0);
	k.write_errno = EBADFD;
	uint8_t h[HDR];
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(!tx(h, 60));
	ck_assert_uint_eq(stats()->tx_dropped, 1);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
}
END_TEST

START_TEST(tap_down_drops_then_recovers)
{
	up(0);
	k.write_errno = EIO; /* ip link set avt0 down */
	uint8_t h[HDR];
	mkhdr(h, 0, 0, 0, 0, 0, 0);
	ck_assert(!tx(h, 60));
	ck_assert_ptr_nonnull(strstr(dev.last_log, "is down"));
	dev.last_log[0] = 0;
	ck_assert(!tx(h, 60));
	ck_assert_str_eq(dev.last_log, ""); /* once per outage */
	ck_assert_uint_eq(stats()->tx_dropped, 2);
	uint64_t v = 0;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 6, 2, &v), 0);
	ck_assert_uint_eq(v, 1); /* not gone: the link stays */
	k.write_errno = 0;
	ck_assert(tx(h, 60));
	ck_assert_ptr_nonnull(strstr(dev.last_log, "up again"));
	ck_assert_uint_eq(dev.nwatches, 1);
}
END_TEST

START_TEST(tap_closed_link_down)
{
	up(0);
	close(k.peer); /* end of file on our side: the stand-in's deletion */
	k.peer = -1;
	vdrv_poll(&drv);
	ck_assert_ptr_nonnull(strstr(dev.last_log, "link down"));
	ck_assert_uint_eq(dev.nwatches, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-net-tap");
	TCase *tc = tcase_create("tap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, attach_sequence);
	tcase_add_test(tc, attach_errors);
	tcase_add_test(tc, offloads_offered);
	tcase_add_test(tc, feature_dependencies);
	tcase_add_test(tc, tunsetoffload_mapping);
	tcase_add_test(tc, tx_header_rules);
	tcase_add_test(tc, tx_header_not_negotiated);
	tcase_add_test(tc, rx_header_without_offloads);
	tcase_add_test(tc, rx_header_rules);
	tcase_add_test(tc, rx_gso_64k_mergeable);
	tcase_add_test(tc, tap_deleted_link_down);
	tcase_add_test(tc, tap_deleted_while_paused);
	tcase_add_test(tc, tap_write_gone_link_down);
	tcase_add_test(tc, tap_down_drops_then_recovers);
	tcase_add_test(tc, tap_closed_link_down);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
