/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over a real tap (`net = tap:`), needing root: exits 77
 * (ctest's skip) without /dev/net/tun or the privilege to make taps.  It
 * first moves into a network namespace of its own, so the interfaces it
 * makes never appear on the host and vanish with it: two taps on a bridge,
 * avt0-PID for the device and avt1-PID for the test (opened with vnet
 * headers, kernel offloads off).  Through the kernel's bridge:
 *  - a UDP frame the guest sends with NEEDS_CSUM (only the pseudo-header
 *    sum in the checksum field) comes out of avt1-PID with a correct
 *    checksum;
 *  - a 8000-byte TSO4 frame the guest sends comes out as 1000-byte TCP
 *    segments with correct checksums;
 *  - a TSO4 frame the test injects at avt1-PID reaches a guest that
 *    negotiated GUEST_TSO4 whole, with its GSO header, and a guest that
 *    did not as segments with full checksums (TUNSETOFFLOAD);
 *  - `ip link del avt0-PID` under the running device takes the link down.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <avmm/avmm.h>

#include "fakehost.h"
#include "net.h"
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
#define NRX 48
#define RXSZ 2048

static struct avmm_dev dev;
static void *inst;
static struct vdrv drv;
static int t1 = -1; /* avt1-PID, the test's end */
static char tap0[IFNAMSIZ], tap1[IFNAMSIZ], br[IFNAMSIZ];

static const uint8_t gmac[6] = {2, 0, 0, 0, 0, 7};    /* the guest */
static const uint8_t pmac[6] = {2, 0, 0, 0, 0, 9};    /* the peer behind avt1-PID */
static const uint8_t gip[4] = {10, 213, 7, 2}, pip[4] = {10, 213, 7, 1};

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint32_t s = sum16(ip + 12, 8, 0);
	return s + proto + (uint32_t)l4len;
}

/* Ethernet + IPv4 header for `l4len` bytes of `proto`; returns the IP header. */
static uint8_t *eth_ip(uint8_t *f, const uint8_t *dst, const uint8_t *src, const uint8_t *sip,
		       const uint8_t *dip, uint8_t proto, size_t l4len)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08, f[13] = 0;
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4len) >> 8), ip[3] = (uint8_t)(20 + l4len);
	ip[6] = 0x40; /* DF */
	ip[8] = 64, ip[9] = proto;
	memcpy(ip + 12, sip, 4);
	memcpy(ip + 16, dip, 4);
	uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	return ip;
}

/* A TCP segment of `plen` payload bytes (seeded), the checksum left partial. */
static size_t tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, const uint8_t *sip,
			const uint8_t *dip, size_t plen)
{
	uint8_t *ip = eth_ip(f, dst, src, sip, dip, 6, 20 + plen), *th = ip + 20;
	memset(th, 0, 20);
	th[0] = 0x9c, th[1] = 0x40, th[2] = 0x00, th[3] = 0x16; /* 40000 -> 22 */
	th[7] = 1;           /* seq 1 */
	th[12] = 5 << 4;
	th[13] = 0x18;       /* PSH ACK */
	th[14] = 0xff, th[15] = 0xff;
	for (size_t i = 0; i < plen; i++)
		th[20 + i] = (uint8_t)(i * 13 + 5);
	uint16_t c = fold(pseudo(ip, 6, 20 + plen)); /* as a driver leaves it for offload */
	th[16] = (uint8_t)(c >> 8), th[17] = (uint8_t)c;
	return 14 + 20 + 20 + plen;
}

static bool l4_csum_ok(const uint8_t *ip)
{
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	return fold(sum16(ip + 20, tot - 20, pseudo(ip, ip[9], tot - 20))) == 0xffff;
}

static void hdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hl, uint16_t gs, uint16_t cs,
		uint16_t co)
{
	memset(h, 0, HDR);
	h[0] = flags, h[1] = gso;
	h[2] = (uint8_t)hl, h[3] = (uint8_t)(hl >> 8);
	h[4] = (uint8_t)gs, h[5] = (uint8_t)(gs >> 8);
	h[6] = (uint8_t)cs, h[7] = (uint8_t)(cs >> 8);
	h[8] = (uint8_t)co, h[9] = (uint8_t)(co >> 8);
}

static void guest_tx(const uint8_t *h, const uint8_t *f, size_t len)
{
	static uint8_t chain[HDR + 65550];
	memcpy(chain, h, HDR);
	memcpy(chain + HDR, f, len);
	vdrv_mem_write(&drv, BUF + 0x100000, chain, HDR + len);
	struct vdrv_buf b = {BUF + 0x100000, (uint32_t)(HDR + len), false};
	vdrv_add(&drv, TXQ, &b, 1);
	vdrv_kick(&drv, TXQ);
	uint32_t id, ulen;
	ck_assert(vdrv_used(&drv, TXQ, &id, &ulen));
}

/* The next IPv4 frame from the guest's address out of avt1-PID (others skipped), or 0. */
static size_t t1_read(uint8_t *buf, size_t cap, int ms)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {t1, POLLIN, 0};
		poll(&p, 1, 20);
		ssize_t n = read(t1, buf, cap);
		if (n > HDR + 34 && buf[HDR + 12] == 0x08 && buf[HDR + 13] == 0 &&
		    !memcmp(buf + HDR + 14 + 12, gip, 4))
			return (size_t)n;
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return 0;
	}
}

static void post_rx(void)
{
	for (unsigned i = 0; i < NRX; i++)
		vdrv_add(&drv, RXQ, &(struct vdrv_buf){BUF + (uint64_t)RXSZ * i, RXSZ, true}, 1);
	vdrv_kick(&drv, RXQ);
}

/*
 * The frames the guest got (its TCP ones from the peer only), merged per
 * num_buffers, until `want` payload bytes or a timeout: the count.
 */
static unsigned guest_rx(uint8_t (*hdrs)[HDR], size_t *lens, uint8_t *data, size_t want)
{
	unsigned frames = 0, slot = 0;
	size_t got = 0;
	for (int round = 0; round < 100 && got < want; round++) {
		vdrv_poll(&drv);
		uint32_t id, len;
		while (vdrv_used(&drv, RXQ, &id, &len)) {
			static uint8_t fr[70000];
			uint8_t h[HDR];
			vdrv_mem_read(&drv, BUF + (uint64_t)RXSZ * slot, fr, len);
			memcpy(h, fr, HDR);
			size_t flen = len - HDR;
			memmove(fr, fr + HDR, flen);
			unsigned nb = h[10] | h[11] << 8;
			for (unsigned i = 1; i < nb; i++) {
				slot++;
				ck_assert(vdrv_used(&drv, RXQ, &id, &len));
				vdrv_mem_read(&drv, BUF + (uint64_t)RXSZ * slot, fr + flen, len);
				flen += len;
			}
			slot++;
			if (flen > 54 && fr[23] == 6 && !memcmp(fr + 26, pip, 4)) {
				memcpy(hdrs[frames], h, HDR);
				lens[frames] = flen;
				memcpy(data + got, fr + 54, flen - 54);
				got += flen - 54;
				ck_assert(l4_csum_ok(fr + 14) || (h[0] & 1));
				frames++;
			}
		}
		usleep(10000);
	}
	return frames;
}

static void setup(void)
{
	char err[200] = "";
	fake_init(&dev, "net0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "net");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "17");
	static char spec[32];
	snprintf(spec, sizeof(spec), "tap:%s", tap0);
	fake_set(&dev, "net", spec);
	fake_set(&dev, "mac", "02:00:00:00:00:07");
	ck_assert_msg(avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err)) == 0, "%s: %s",
		      err, dev.last_log);
	vdrv_init(&drv, &dev, BASE);

	t1 = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	ck_assert_int_ge(t1, 0);
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	strcpy(ifr.ifr_name, tap1);
	ck_assert_int_eq(ioctl(t1, TUNSETIFF, &ifr), 0);
	int sz = HDR;
	ck_assert_int_eq(ioctl(t1, TUNSETVNETHDRSZ, &sz), 0);
	ck_assert_int_eq(ioctl(t1, TUNSETOFFLOAD, 0ul), 0); /* plain frames to the test */
	/* Carriers come on at attach; the bridge forwards once linkwatch saw them. */
	usleep(300000);
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
	close(t1);
}

START_TEST(tx_csum_and_tso_through_bridge)
{
	vdrv_up(&drv, VDRV_F_VERSION_1 | F_CSUM | F_HOST_TSO4, 2, QSIZE);
	/* UDP with NEEDS_CSUM: the field holds only the pseudo-header sum. */
	uint8_t f[200], h[HDR];
	static uint8_t buf[HDR + 70000];
	uint8_t *ip = eth_ip(f, pmac, gmac, gip, pip, 17, 8 + 32), *uh = ip + 20;
	uh[0] = 0x11, uh[1] = 0x5c, uh[2] = 0x15, uh[3] = 0xb3, uh[4] = 0, uh[5] = 40;
	for (int i = 0; i < 32; i++)
		uh[8 + i] = (uint8_t)(i + 1);
	uint16_t c = fold(pseudo(ip, 17, 40));
	uh[6] = (uint8_t)(c >> 8), uh[7] = (uint8_t)c;
	hdr(h, 1, 0, 0, 0, 34, 6);
	size_t n = 0;
	for (int tries = 0; tries < 20 && !n; tries++) {
		guest_tx(h, f, 14 + 20 + 40);
		n = t1_read(buf, sizeof(buf), 200);
	}
	ck_assert_msg(n, "the guest's UDP frame never came out of avt1-PID");
	ck_assert_uint_eq(n, HDR + 74);
	ck_assert_msg(l4_csum_ok(buf + HDR + 14), "UDP checksum not completed");
	ck_assert_mem_eq(buf + HDR + 14 + 28, uh + 8, 32);

	/* 8000 bytes of TSO4 at an MSS of 1000: eight segments, each checksummed. */
	static uint8_t big[9000];
	size_t blen = tcp_frame(big, pmac, gmac, gip, pip, 8000);
	hdr(h, 1, 1, 54, 1000, 34, 16);
	guest_tx(h, big, blen);
	static uint8_t payload[8000];
	size_t got = 0;
	unsigned segs = 0;
	while (got < 8000 && (n = t1_read(buf, sizeof(buf), 1000))) {
		const uint8_t *sip = buf + HDR + 14;
		if (sip[9] != 6)
			continue;
		ck_assert_uint_eq(n, HDR + 54 + 1000);
		ck_assert_msg(l4_csum_ok(sip), "segment %u: bad TCP checksum", segs);
		memcpy(payload + got, sip + 40, 1000);
		got += 1000;
		segs++;
	}
	ck_assert_uint_eq(segs, 8);
	ck_assert_mem_eq(payload, big + 54, 8000);
	ck_assert_uint_eq(vnet_stats(vdev_state(inst))->tx_bad_hdr, 0);
}
END_TEST

/* A TSO4 frame from the peer, injected at avt1-PID with its vnet header. */
static void peer_tso(void)
{
	static uint8_t m[HDR + 9000];
	hdr(m, 1, 1, 54, 1000, 34, 16);
	size_t len = tcp_frame(m + HDR, gmac, pmac, pip, gip, 8000);
	ck_assert_int_eq(write(t1, m, HDR + len), (ssize_t)(HDR + len));
}

START_TEST(rx_tso_whole_or_segmented)
{
	static uint8_t hdrs[64][HDR], data[70000];
	size_t lens[64];
	vdrv_up(&drv, VDRV_F_VERSION_1 | F_MRG_RXBUF | F_GUEST_CSUM | F_GUEST_TSO4, 2, QSIZE);
	post_rx();
	peer_tso();
	unsigned n = guest_rx(hdrs, lens, data, 8000);
	ck_assert_uint_eq(n, 1); /* whole */
	ck_assert_uint_eq(lens[0], 54 + 8000);
	ck_assert_uint_eq(hdrs[0][1], 1);                       /* GSO_TCPV4 */
	ck_assert_uint_eq(hdrs[0][4] | hdrs[0][5] << 8, 1000); /* gso_size */
	ck_assert_uint_eq(hdrs[0][0] & 1, 1);                   /* NEEDS_CSUM */

	/* A guest without GUEST_TSO4 (nor GUEST_CSUM): segments, fully checksummed. */
	vdrv_wr(&drv, VDRV_STATUS, 0);
	vdrv_up(&drv, VDRV_F_VERSION_1 | F_MRG_RXBUF, 2, QSIZE);
	post_rx();
	peer_tso();
	n = guest_rx(hdrs, lens, data, 8000);
	ck_assert_uint_eq(n, 8);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(lens[i], 54 + 1000);
		ck_assert_uint_eq(hdrs[i][0], 0);
		ck_assert_uint_eq(hdrs[i][1], 0);
	}
	ck_assert_uint_eq(vnet_stats(vdev_state(inst))->rx_bad_hdr, 0);
}
END_TEST

START_TEST(tap_deleted_link_down)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 2, QSIZE);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "ip link del %s", tap0);
	ck_assert_int_eq(system(cmd), 0);
	for (int i = 0; i < 50 && !strstr(dev.last_log, "link down"); i++) {
		vdrv_poll(&drv);
		usleep(10000);
	}
	ck_assert_msg(strstr(dev.last_log, "link down"), "last log: %s", dev.last_log);
	uint64_t v = 0xdead;
	ck_assert_int_eq(fake_read(&dev, 0, BASE + VDRV_CONFIG + 6, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(dev.nwatches, 0);
}
END_TEST

static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "for i in %s %s %s; do ip link del $i 2>/dev/null; done; true",
		 br, tap0, tap1);
	int rc = system(cmd);
	(void)rc;
}

int main(void)
{
	/* Without the namespace (no CAP_SYS_ADMIN) the names with the pid
	 * keep parallel runs apart and cleanup() removes them. */
	if (unshare(CLONE_NEWNET) != 0)
		printf("note: unshare(CLONE_NEWNET): %s; using the host's namespace\n", strerror(errno));
	int fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		printf("SKIP: /dev/net/tun: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	snprintf(tap0, sizeof(tap0), "avt0-%d", (int)getpid());
	snprintf(tap1, sizeof(tap1), "avt1-%d", (int)getpid());
	snprintf(br, sizeof(br), "avbr-%d", (int)getpid());
	char cmd[600];
	snprintf(cmd, sizeof(cmd),
		 "set -e; ip tuntap add dev %s mode tap; ip tuntap add dev %s mode tap;"
		 " ip link add %s type bridge; ip link set %s master %s; ip link set %s master %s;"
		 " for i in %s %s %s; do echo 1 > /proc/sys/net/ipv6/conf/$i/disable_ipv6;"
		 " ip link set $i up; done 2>/dev/null",
		 tap0, tap1, br, tap0, br, tap1, br, tap0, tap1, br);
	if (system(cmd)) {
		cleanup();
		printf("SKIP: cannot make taps and a bridge (needs CAP_NET_ADMIN and ip(8))\n");
		return 77;
	}
	Suite *s = suite_create("virtio-net-tap-real");
	TCase *tc = tcase_create("real");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tx_csum_and_tso_through_bridge);
	tcase_add_test(tc, rx_tso_whole_or_segmented);
	tcase_add_test(tc, tap_deleted_link_down); /* last: it deletes avt0-PID */
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup();
	return failed ? 1 : 0;
}
