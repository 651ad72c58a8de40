/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng through the plugin's real descriptor (`type = rng`) on the fake
 * host, driven by the test driver: identity, no config space, buffers filled
 * with bytes that are not all the same, the per-request bound, a reset, and
 * a broken ring setting DEVICE_NEEDS_RESET.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <avmm/avmm.h>

#include "fakehost.h"
#include "vdriver.h"

extern const struct avmm_plugin_desc avmm_plugin;

#define BASE 0x0a000000ull
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define BUF (RAM_BASE + VDRV_DATA)

static struct avmm_dev dev;
static void *inst;
static struct vdrv drv;

static void setup(void)
{
	char err[160] = "";
	fake_init(&dev, "rng0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "type", "rng");
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "17");
	ck_assert_msg(avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
	vdrv_init(&drv, &dev, BASE);
}

static void teardown(void)
{
	avmm_plugin.destroy(inst);
	fake_fini(&dev);
}

START_TEST(identity)
{
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_MAGIC), 0x74726976);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_VERSION), 2);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_DEVICE_ID), 4); /* 5.4.1 */
	/* No device-type features (5.4.3): only ring and transport bits. */
	uint64_t f = vdrv_device_features(&drv);
	ck_assert_uint_eq(f & 0xffffffull, 0);
	ck_assert(f & VDRV_F_VERSION_1);
	vdrv_wr(&drv, VDRV_QSEL, 0);
	ck_assert_uint_gt(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	vdrv_wr(&drv, VDRV_QSEL, 1); /* one queue only (5.4.2) */
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_QNUM_MAX), 0);
	/* No config space: reads as zero. */
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_CONFIG), 0);
}
END_TEST

static int distinct_bytes(const uint8_t *p, size_t n)
{
	bool seen[256] = {false};
	int k = 0;
	for (size_t i = 0; i < n; i++)
		if (!seen[p[i]]) {
			seen[p[i]] = true;
			k++;
		}
	return k;
}

START_TEST(fills_buffer)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	struct vdrv_buf b = {BUF, 512, true};
	uint16_t head = vdrv_add(&drv, 0, &b, 1);
	unsigned edges = dev.line_edges[17];
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, 0, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 512);
	uint8_t data[512];
	vdrv_mem_read(&drv, BUF, data, sizeof(data));
	/* 512 random bytes cover well over 100 of the 256 values (all-zero RAM covers 1). */
	ck_assert_int_gt(distinct_bytes(data, sizeof(data)), 100);
	ck_assert_uint_eq(dev.line_edges[17], edges + 1);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 1);
	ck_assert(!vdrv_used(&drv, 0, &id, &len));
}
END_TEST

START_TEST(two_segments_and_readable_ignored)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	/* A device-readable buffer is neither filled nor counted. */
	uint8_t marker[64];
	memset(marker, 0xa5, sizeof(marker));
	vdrv_mem_write(&drv, BUF, marker, sizeof(marker));
	struct vdrv_buf b[3] = {{BUF, 64, false}, {BUF + 0x1000, 100, true}, {BUF + 0x2000, 28, true}};
	vdrv_add(&drv, 0, b, 3);
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, 0, &id, &len));
	ck_assert_uint_eq(len, 128);
	uint8_t back[64];
	vdrv_mem_read(&drv, BUF, back, sizeof(back));
	ck_assert_mem_eq(back, marker, sizeof(marker));
}
END_TEST

START_TEST(bounded_per_request)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	struct vdrv_buf b = {BUF, 64 * 1024, true};
	vdrv_add(&drv, 0, &b, 1);
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, 0, &id, &len));
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, 4096);
}
END_TEST

START_TEST(many_requests_one_kick)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	for (int i = 0; i < 16; i++) {
		struct vdrv_buf b = {BUF + 0x100ull * i, 16, true};
		vdrv_add(&drv, 0, &b, 1);
	}
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	for (int i = 0; i < 16; i++) {
		ck_assert(vdrv_used(&drv, 0, &id, &len));
		ck_assert_uint_eq(len, 16);
	}
	ck_assert(!vdrv_used(&drv, 0, &id, &len));
}
END_TEST

START_TEST(not_before_driver_ok)
{
	ck_assert_uint_eq(vdrv_negotiate(&drv, VDRV_F_VERSION_1),
			  VDRV_S_ACK | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	vdrv_queue(&drv, 0, 16);
	struct vdrv_buf b = {BUF, 16, true};
	vdrv_add(&drv, 0, &b, 1);
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	ck_assert(!vdrv_used(&drv, 0, &id, &len));
	/* Once DRIVER_OK is set the buffer made available before is served. */
	vdrv_driver_ok(&drv);
	vdrv_kick(&drv, 0);
	ck_assert(vdrv_used(&drv, 0, &id, &len));
	ck_assert_uint_eq(len, 16);
}
END_TEST

START_TEST(broken_ring_needs_reset)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	/* A descriptor pointing outside guest RAM. */
	struct vdrv_buf b = {RAM_BASE + RAM_SIZE - 8, 64, true};
	vdrv_add(&drv, 0, &b, 1);
	unsigned edges = dev.line_edges[17];
	vdrv_kick(&drv, 0);
	ck_assert(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET);
	ck_assert(vdrv_rd(&drv, VDRV_ISR) & 2); /* configuration change */
	ck_assert_uint_eq(dev.line_edges[17], edges + 1);
	dev.guest_errors = 0;
	/* A reset brings it back. */
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	ck_assert(!(vdrv_rd(&drv, VDRV_STATUS) & VDRV_S_NEEDS_RESET));
	b = (struct vdrv_buf){BUF, 32, true};
	vdrv_add(&drv, 0, &b, 1);
	vdrv_kick(&drv, 0);
	uint32_t id, len;
	ck_assert(vdrv_used(&drv, 0, &id, &len));
	ck_assert_uint_eq(len, 32);
}
END_TEST

START_TEST(system_reset)
{
	vdrv_up(&drv, VDRV_F_VERSION_1, 1, 16);
	avmm_plugin.reset(inst);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_STATUS), 0);
	vdrv_wr(&drv, VDRV_QSEL, 0);
	ck_assert_uint_eq(vdrv_rd(&drv, VDRV_QREADY), 0);
}
END_TEST

START_TEST(bad_type_key)
{
	struct avmm_dev d2;
	void *i2 = NULL;
	char err[160] = "";
	fake_init(&d2, "x", 1);
	fake_set(&d2, "type", "floppy");
	fake_set(&d2, "base", "0x0a000200");
	fake_set(&d2, "irq", "18");
	ck_assert_int_eq(avmm_plugin.create(&d2, &fakehost, &i2, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(d2.cfg_errors, 1);
	ck_assert_ptr_nonnull(strstr(d2.last_log, "floppy"));
	fake_fini(&d2);
	fake_init(&d2, "y", 1);
	ck_assert_int_eq(avmm_plugin.create(&d2, &fakehost, &i2, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(d2.cfg_errors, 1);
	fake_fini(&d2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-rng");
	TCase *tc = tcase_create("rng");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity);
	tcase_add_test(tc, fills_buffer);
	tcase_add_test(tc, two_segments_and_readable_ignored);
	tcase_add_test(tc, bounded_per_request);
	tcase_add_test(tc, many_requests_one_kick);
	tcase_add_test(tc, not_before_driver_ok);
	tcase_add_test(tc, broken_ring_needs_reset);
	tcase_add_test(tc, system_reset);
	tcase_add_test(tc, bad_type_key);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
