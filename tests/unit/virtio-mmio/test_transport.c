/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport tests: a tiny device type (two queues, eight bytes
 * of config space, a few feature bits with a dependency table) behind the
 * transport, driven through the fake host's MMIO dispatch and doorbells the
 * way a guest driver would.  Register offsets and values are spelled out
 * here from virtio 1.2 section 4.2.2, independently of transport.h.  One
 * test per register, one per robustness rule, then the whole driver
 * initialisation sequence and the doorbell's two paths.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "fakehost.h"
#include "transport.h"

#define BASE 0x0a000000ull
#define IRQ 16u
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define BUF (RAM_BASE + 0x10000)

/* The spec's offsets (4.2.2), not transport.h's. */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024,
	R_QSEL = 0x030, R_QNUM_MAX = 0x034, R_QNUM = 0x038, R_QREADY = 0x044,
	R_QNOTIFY = 0x050, R_ISR = 0x060, R_IACK = 0x064, R_STATUS = 0x070,
	R_QDESC_LO = 0x080, R_QDESC_HI = 0x084, R_QDRV_LO = 0x090, R_QDRV_HI = 0x094,
	R_QDEV_LO = 0x0a0, R_QDEV_HI = 0x0a4, R_SHM_SEL = 0x0ac, R_SHM_LEN_LO = 0x0b0,
	R_SHM_LEN_HI = 0x0b4, R_CFG_GEN = 0x0fc, R_CONFIG = 0x100,
};
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u

/* The test type's features: F_NEEDY needs F_ABSENT, never offered. */
#define F_A (1ull << 0)
#define F_NEEDY (1ull << 1)
#define F_ABSENT (1ull << 2)
#define F_REFUSABLE (1ull << 3)
#define F_DEP (1ull << 4) /* needs F_A */
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define TEST_DEVICE_ID 42u

static struct avmm_dev dev;

static struct {
	unsigned notify[2], driver_ok, reset, features_ok_calls;
	uint64_t features_seen;
	bool refuse;
	uint8_t config[8];
	unsigned worker_runs, worker_live[2];
	unsigned stops[2];
	bool live_in_reset, vq_ready_in_reset, live_in_stop, vq_ready_in_stop;
	bool complete_in_reset; /* a worker's late completion and error, during reset */
} vt;

static struct vtrans *t;

static const uint16_t qmax[2] = {256, 16};
static const struct vtype_feature_dep deps[] = {
	{F_NEEDY, F_ABSENT},
	{F_DEP, F_A},
};

static int tt_config_read(void *o, uint32_t off, unsigned size, uint32_t *v)
{
	(void)o;
	*v = 0;
	memcpy(v, vt.config + off, size); /* little-endian host */
	return 0;
}

static int tt_config_write(void *o, uint32_t off, unsigned size, uint32_t v)
{
	(void)o;
	memcpy(vt.config + off, &v, size);
	return 0;
}

static int tt_features_ok(void *o, uint64_t f)
{
	(void)o;
	vt.features_ok_calls++;
	vt.features_seen = f;
	return vt.refuse && (f & F_REFUSABLE) ? -EINVAL : 0;
}

static void tt_driver_ok(void *o)
{
	(void)o;
	vt.driver_ok++;
}

static void tt_notify(void *o, unsigned q)
{
	(void)o;
	ck_assert_uint_lt(q, 2);
	vt.notify[q]++;
}

static void tt_reset(void *o)
{
	(void)o;
	vt.reset++;
	if (t) {
		vt.live_in_reset = vtrans_queue_live(t, 0);
		vt.vq_ready_in_reset = vtrans_vq(t, 0)->ready;
		if (vt.complete_in_reset) {
			vtrans_notify_used(t, 0);
			vtrans_needs_reset(t);
		}
	}
}

static void tt_queue_stop(void *o, unsigned q)
{
	(void)o;
	ck_assert_uint_lt(q, 2);
	vt.stops[q]++;
	vt.live_in_stop = vtrans_queue_live(t, q);
	vt.vq_ready_in_stop = vtrans_vq(t, q)->ready;
}

static struct vtype_ops tt_ops = {
	.device_id = TEST_DEVICE_ID,
	.features = F_A | F_NEEDY | F_REFUSABLE | F_DEP | F_EVENT_IDX,
	.deps = deps,
	.ndeps = 2,
	.nr_queues = 2,
	.queue_num_max = qmax,
	.config_size = sizeof(vt.config),
	.config_read = tt_config_read,
	.config_write = tt_config_write,
	.features_ok = tt_features_ok,
	.driver_ok = tt_driver_ok,
	.notify = tt_notify,
	.reset = tt_reset,
	.queue_stop = tt_queue_stop,
};

static int create(const struct vtype_ops *ops, struct avmm_worker *worker)
{
	struct vtrans_config cfg = {.ops = ops, .opaque = NULL, .worker = worker};
	char err[128] = "";

	return vtrans_create(&dev, &fakehost, &cfg, &t, err, sizeof(err));
}

static void setup_dev(void)
{
	memset(&vt, 0, sizeof(vt));
	memcpy(vt.config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	fake_init(&dev, "vio0", 1);
	fake_ram(&dev, RAM_BASE, RAM_SIZE);
	fake_set(&dev, "base", "0x0a000000");
	fake_set(&dev, "irq", "16");
	t = NULL;
}

static void setup(void)
{
	setup_dev();
	ck_assert_int_eq(create(&tt_ops, NULL), 0);
}

static void teardown(void)
{
	vtrans_destroy(t);
	fake_fini(&dev);
}

static uint32_t rd(uint64_t off)
{
	return fake_rd32(&dev, 0, BASE + off);
}

static void wr(uint64_t off, uint32_t v)
{
	fake_wr32(&dev, 0, BASE + off, v);
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns Status read back. */
static uint32_t negotiate(uint64_t features)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)features);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, (uint32_t)(features >> 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return rd(R_STATUS);
}

static void queue_layout(unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
			 uint64_t used)
{
	wr(R_QSEL, q);
	wr(R_QNUM, num);
	wr(R_QDESC_LO, (uint32_t)desc);
	wr(R_QDESC_HI, (uint32_t)(desc >> 32));
	wr(R_QDRV_LO, (uint32_t)avail);
	wr(R_QDRV_HI, (uint32_t)(avail >> 32));
	wr(R_QDEV_LO, (uint32_t)used);
	wr(R_QDEV_HI, (uint32_t)(used >> 32));
}

static void queue_up(unsigned q, uint32_t num)
{
	queue_layout(q, num, DESC + q * 0x10000, AVAIL + q * 0x10000, USED + q * 0x10000);
	wr(R_QREADY, 1);
}

/* Everything up to DRIVER_OK with queue 0 ready. */
static void bring_up(void)
{
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_A), S_ACK | S_DRIVER | S_FEATURES_OK);
	queue_up(0, 8);
	ck_assert_uint_eq(rd(R_QREADY), 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* ---- one test per register ------------------------------------------------ */

START_TEST(reg_identity)
{
	ck_assert_uint_eq(rd(R_MAGIC), 0x74726976);
	ck_assert_uint_eq(rd(R_VERSION), 2);
	ck_assert_uint_eq(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	ck_assert_uint_eq(rd(R_VENDOR_ID), 0x4d4d5641); /* "AVMM" */
	/* Read-only: writes are ignored and logged. */
	unsigned ge = dev.guest_errors;
	wr(R_MAGIC, 0);
	wr(R_VERSION, 1);
	wr(R_DEVICE_ID, 7);
	ck_assert_uint_eq(rd(R_MAGIC), 0x74726976);
	ck_assert_uint_eq(rd(R_VERSION), 2);
	ck_assert_uint_eq(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	ck_assert_uint_eq(dev.guest_errors, ge + 3);
}
END_TEST

START_TEST(reg_device_features)
{
	wr(R_DEV_FEAT_SEL, 0);
	ck_assert_uint_eq(rd(R_DEV_FEAT), (uint32_t)(F_A | F_REFUSABLE | F_DEP | F_EVENT_IDX));
	wr(R_DEV_FEAT_SEL, 1);
	ck_assert_uint_eq(rd(R_DEV_FEAT), 1); /* VERSION_1, bit 32 */
	wr(R_DEV_FEAT_SEL, 2);
	ck_assert_uint_eq(rd(R_DEV_FEAT), 0);
	wr(R_DEV_FEAT_SEL, 0xffffffff);
	ck_assert_uint_eq(rd(R_DEV_FEAT), 0);
}
END_TEST

START_TEST(reg_driver_features)
{
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_A | F_EVENT_IDX) & S_FEATURES_OK,
			  S_FEATURES_OK);
	ck_assert_uint_eq(vtrans_features(t), F_VERSION_1 | F_A | F_EVENT_IDX);
	ck_assert_uint_eq(vt.features_seen, F_VERSION_1 | F_A | F_EVENT_IDX);
	/* Frozen once FEATURES_OK is set. */
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 0);
	ck_assert_uint_eq(vtrans_features(t), F_VERSION_1 | F_A | F_EVENT_IDX);
	/* The negotiated ring features reach the queue. */
	queue_up(0, 8);
	ck_assert_uint_eq(vtrans_vq(t, 0)->features, F_EVENT_IDX);
}
END_TEST

START_TEST(reg_driver_features_high_word)
{
	/* Asking for a bit past 63 (none is offered) refuses FEATURES_OK. */
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1);
	wr(R_DRV_FEAT_SEL, 2);
	wr(R_DRV_FEAT, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
}
END_TEST

START_TEST(reg_queue_num_max)
{
	wr(R_QSEL, 0);
	ck_assert_uint_eq(rd(R_QNUM_MAX), 256);
	wr(R_QSEL, 1);
	ck_assert_uint_eq(rd(R_QNUM_MAX), 16);
	unsigned ge = dev.guest_errors;
	wr(R_QNUM_MAX, 4); /* read-only */
	ck_assert_uint_eq(rd(R_QNUM_MAX), 16);
	ck_assert_uint_eq(dev.guest_errors, ge + 1);
}
END_TEST

START_TEST(reg_queue_layout_and_ready)
{
	negotiate(F_VERSION_1);
	wr(R_QSEL, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	queue_layout(1, 16, DESC, AVAIL, USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 1);
	struct vq *vq = vtrans_vq(t, 1);
	ck_assert(vq->ready);
	ck_assert_uint_eq(vq->size, 16);
	ck_assert_uint_eq(vq->desc, DESC);
	ck_assert_uint_eq(vq->avail, AVAIL);
	ck_assert_uint_eq(vq->used, USED);
	/* Queue 0 untouched. */
	wr(R_QSEL, 0);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	ck_assert(!vtrans_vq(t, 0)->ready);
	/* QueueReady = 0 stops the queue. */
	wr(R_QSEL, 1);
	wr(R_QREADY, 0);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	ck_assert(!vq->ready);
}
END_TEST

START_TEST(reg_queue_high_address)
{
	/* A ring above 4 GiB (no RAM there) uses the high halves: refused. */
	negotiate(F_VERSION_1);
	queue_layout(0, 8, DESC | (1ull << 32), AVAIL, USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	queue_layout(0, 8, DESC, AVAIL, USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 1);
}
END_TEST

START_TEST(reg_interrupt_status_ack)
{
	bring_up();
	ck_assert_uint_eq(rd(R_ISR), 0);
	vtrans_config_changed(t);
	ck_assert_uint_eq(rd(R_ISR), 2);
	ck_assert(dev.line_level[IRQ]);
	wr(R_ISR, 0); /* read-only */
	ck_assert_uint_eq(rd(R_ISR), 2);
	wr(R_IACK, 1); /* a bit that is not set */
	ck_assert_uint_eq(rd(R_ISR), 2);
	wr(R_IACK, 2);
	ck_assert_uint_eq(rd(R_ISR), 0);
	ck_assert(!dev.line_level[IRQ]);
}
END_TEST

START_TEST(reg_status)
{
	ck_assert_uint_eq(rd(R_STATUS), 0);
	wr(R_STATUS, S_ACK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	/* The driver cannot set DEVICE_NEEDS_RESET. */
	wr(R_STATUS, S_ACK | S_DRIVER | S_NEEDS_RESET);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	/* DRIVER_OK without FEATURES_OK is refused. */
	wr(R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	ck_assert_uint_eq(vt.driver_ok, 0);
}
END_TEST

START_TEST(reg_shm)
{
	wr(R_SHM_SEL, 0);
	ck_assert_uint_eq(rd(R_SHM_LEN_LO), 0xffffffff);
	ck_assert_uint_eq(rd(R_SHM_LEN_HI), 0xffffffff);
	wr(R_SHM_SEL, 5);
	ck_assert_uint_eq(rd(R_SHM_LEN_LO), 0xffffffff);
	ck_assert_uint_eq(rd(R_SHM_LEN_HI), 0xffffffff);
}
END_TEST

START_TEST(reg_config_generation)
{
	uint32_t g = rd(R_CFG_GEN);

	ck_assert_uint_eq(rd(R_CFG_GEN), g);
	vtrans_config_changed(t);
	ck_assert_uint_ne(rd(R_CFG_GEN), g);
	/* Before DRIVER_OK a change raises no interrupt. */
	ck_assert_uint_eq(rd(R_ISR), 0);
	unsigned ge = dev.guest_errors;
	wr(R_CFG_GEN, 0); /* read-only */
	ck_assert_uint_eq(dev.guest_errors, ge + 1);
}
END_TEST

START_TEST(reg_config_space)
{
	uint64_t v;

	ck_assert_int_eq(fake_read(&dev, 0, BASE + R_CONFIG, 1, &v), 0);
	ck_assert_uint_eq(v, 0x11);
	ck_assert_int_eq(fake_read(&dev, 0, BASE + R_CONFIG + 2, 2, &v), 0);
	ck_assert_uint_eq(v, 0x4433);
	ck_assert_uint_eq(rd(R_CONFIG + 4), 0x88776655);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + R_CONFIG + 1, 1, 0xab), 0);
	ck_assert_uint_eq(vt.config[1], 0xab);
	/* Past the device's eight bytes: RAZ/WI, a guest error. */
	unsigned ge = dev.guest_errors;
	ck_assert_uint_eq(rd(R_CONFIG + 8), 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + R_CONFIG + 8, 4, 1), 0);
	ck_assert_int_eq(fake_read(&dev, 0, BASE + 0x1fc, 4, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(dev.guest_errors, ge + 3);
}
END_TEST

START_TEST(reg_reserved_and_write_only)
{
	unsigned ge = dev.guest_errors;

	ck_assert_uint_eq(rd(0x0f0), 0);    /* reserved */
	wr(0x0f0, 1);
	ck_assert_uint_eq(rd(R_QSEL), 0);   /* write-only */
	wr(R_QSEL, 1);
	ck_assert_uint_eq(rd(R_QSEL), 0);
	ck_assert_uint_eq(rd(R_QNOTIFY + 4), 0);
	ck_assert_uint_eq(dev.guest_errors, ge + 5);
}
END_TEST

/* ---- one test per rule ---------------------------------------------------- */

START_TEST(rule_control_32bit_only)
{
	uint64_t v = 1;
	unsigned ge = dev.guest_errors;

	ck_assert_int_eq(fake_read(&dev, 0, BASE + R_MAGIC, 1, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(fake_read(&dev, 0, BASE + R_MAGIC, 2, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + R_STATUS, 1, S_ACK), 0);
	ck_assert_int_eq(fake_write(&dev, 0, BASE + R_STATUS, 2, S_ACK), 0);
	ck_assert_uint_eq(rd(R_STATUS), 0);
	ck_assert_uint_ge(dev.guest_errors, ge + 4);
	ck_assert_str_ne(dev.last_log, ""); /* logged by the transport */
}
END_TEST

START_TEST(rule_queue_num_checked)
{
	negotiate(F_VERSION_1);
	static const uint32_t bad[] = {0, 3, 12, 512};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned ge = dev.guest_errors;

		queue_layout(0, bad[i], DESC, AVAIL, USED);
		wr(R_QREADY, 1);
		ck_assert_msg(rd(R_QREADY) == 0, "QueueNum %u made ready", bad[i]);
		ck_assert(!vtrans_vq(t, 0)->ready);
		ck_assert_uint_eq(dev.guest_errors, ge + 1);
	}
	/* Queue 1's maximum is 16. */
	queue_layout(1, 32, DESC, AVAIL, USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	queue_layout(1, 16, DESC, AVAIL, USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 1);
}
END_TEST

START_TEST(rule_queue_sel_out_of_range)
{
	negotiate(F_VERSION_1);
	queue_layout(0, 8, DESC, AVAIL, USED);
	for (uint32_t sel = 2; sel; sel = sel == 2 ? 0xffffffffu : 0) {
		wr(R_QSEL, sel);
		ck_assert_uint_eq(rd(R_QNUM_MAX), 0);
		ck_assert_uint_eq(rd(R_QREADY), 0);
		unsigned ge = dev.guest_errors;
		wr(R_QNUM, 4);
		wr(R_QDESC_LO, 0x1234);
		wr(R_QREADY, 1);
		ck_assert_uint_eq(rd(R_QREADY), 0);
		ck_assert_uint_eq(dev.guest_errors, ge + 3);
	}
	/* Nothing leaked into a real queue. */
	wr(R_QSEL, 0);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(vtrans_vq(t, 0)->size, 8);
	ck_assert_uint_eq(vtrans_vq(t, 0)->desc, DESC);
	ck_assert(!vtrans_vq(t, 1)->ready);
}
END_TEST

START_TEST(rule_queue_ready_needs_features_ok)
{
	/* The ring features are not known before FEATURES_OK (3.1.1 step 7). */
	wr(R_STATUS, S_ACK | S_DRIVER);
	queue_layout(0, 8, DESC, AVAIL, USED);
	unsigned ge = dev.guest_errors;
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	ck_assert(!vtrans_vq(t, 0)->ready);
	ck_assert_uint_eq(dev.guest_errors, ge + 1);
}
END_TEST

START_TEST(rule_layout_frozen_while_ready)
{
	negotiate(F_VERSION_1);
	queue_up(0, 8);
	unsigned ge = dev.guest_errors;
	queue_layout(0, 4, DESC + 0x100, AVAIL + 0x100, USED + 0x100);
	ck_assert_uint_eq(dev.guest_errors, ge + 7);
	struct vq *vq = vtrans_vq(t, 0);
	ck_assert(vq->ready);
	ck_assert_uint_eq(vq->size, 8);
	ck_assert_uint_eq(vq->desc, DESC);
	/* Not stored for later either: after QueueReady 0/1 the old layout holds. */
	wr(R_QREADY, 0);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(vq->size, 8);
	ck_assert_uint_eq(vq->avail, AVAIL);
	ck_assert_uint_eq(vq->used, USED);
}
END_TEST

START_TEST(rule_notify_needs_driver_ok)
{
	negotiate(F_VERSION_1);
	queue_up(0, 8);
	wr(R_QNOTIFY, 0);
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 0);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	wr(R_QNOTIFY, 0);
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 1);
}
END_TEST

START_TEST(rule_notify_needs_queue_ready)
{
	bring_up();
	/* Queue 1 never made ready; queue 0 stopped. */
	wr(R_QSEL, 0);
	wr(R_QREADY, 0);
	wr(R_QNOTIFY, 0);
	wr(R_QNOTIFY, 1);
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 0);
	ck_assert_uint_eq(vt.notify[1], 0);
	ck_assert(!vtrans_queue_live(t, 0));
	ck_assert(!vtrans_queue_live(t, 1));
	ck_assert(!vtrans_queue_live(t, 2));
}
END_TEST

START_TEST(rule_dependency_never_offered)
{
	ck_assert_uint_eq(vtrans_offered(t) & F_NEEDY, 0);
	ck_assert_uint_eq(vtrans_offered(t) & (F_A | F_DEP | F_VERSION_1),
			  F_A | F_DEP | F_VERSION_1);
	wr(R_DEV_FEAT_SEL, 0);
	ck_assert_uint_eq(rd(R_DEV_FEAT) & F_NEEDY, 0);
}
END_TEST

START_TEST(rule_dependency_chain_dropped)
{
	/* F_DEP needs F_A; with F_A absent, F_DEP goes too. */
	static struct vtype_ops ops;
	vtrans_destroy(t);
	fake_fini(&dev);
	setup_dev();
	ops = tt_ops;
	ops.features = F_DEP | F_EVENT_IDX;
	ck_assert_int_eq(create(&ops, NULL), 0);
	ck_assert_uint_eq(vtrans_offered(t), F_EVENT_IDX | F_VERSION_1);
}
END_TEST

START_TEST(rule_features_ok_unoffered)
{
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_NEEDY | F_ABSENT) & S_FEATURES_OK, 0);
	ck_assert_uint_eq(negotiate(F_VERSION_1 | (1ull << 40)) & S_FEATURES_OK, 0);
	ck_assert_uint_eq(vt.features_ok_calls, 0);
	ck_assert_uint_eq(vtrans_features(t), 0);
	/* The driver's next try with an offered subset works. */
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_A) & S_FEATURES_OK, S_FEATURES_OK);
}
END_TEST

START_TEST(rule_features_ok_needs_version_1)
{
	ck_assert_uint_eq(negotiate(F_A), S_ACK | S_DRIVER);
	ck_assert_uint_eq(negotiate(0), S_ACK | S_DRIVER);
}
END_TEST

START_TEST(rule_features_ok_dependency)
{
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_DEP) & S_FEATURES_OK, 0);
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_DEP | F_A) & S_FEATURES_OK, S_FEATURES_OK);
}
END_TEST

START_TEST(rule_features_ok_device_refuses)
{
	vt.refuse = true;
	ck_assert_uint_eq(negotiate(F_VERSION_1 | F_REFUSABLE) & S_FEATURES_OK, 0);
	ck_assert_uint_eq(vt.features_seen, F_VERSION_1 | F_REFUSABLE);
	ck_assert_uint_eq(negotiate(F_VERSION_1) & S_FEATURES_OK, S_FEATURES_OK);
}
END_TEST

START_TEST(rule_status_bits_only_cleared_by_reset)
{
	wr(R_STATUS, S_ACK | S_DRIVER);
	unsigned ge = dev.guest_errors;
	wr(R_STATUS, S_ACK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	wr(R_STATUS, S_DRIVER | 128); /* clears ACK while setting FAILED */
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	ck_assert_uint_eq(dev.guest_errors, ge + 2);
	ck_assert_uint_eq(vt.reset, 0);
}
END_TEST

START_TEST(rule_reset)
{
	bring_up();
	wr(R_QSEL, 1);
	wr(R_QNUM, 16);
	vtrans_config_changed(t);
	ck_assert(dev.line_level[IRQ]);
	unsigned resets = vt.reset;
	wr(R_STATUS, 0);
	ck_assert_uint_eq(vt.reset, resets + 1);
	ck_assert_uint_eq(rd(R_STATUS), 0);
	ck_assert_uint_eq(rd(R_ISR), 0);
	ck_assert(!dev.line_level[IRQ]);
	wr(R_QSEL, 0);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	ck_assert(!vtrans_vq(t, 0)->ready);
	ck_assert_uint_eq(vtrans_features(t), 0);
	/* Features are cleared: FEATURES_OK without writing them again is refused. */
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER);
	/* QueueNum and the ring addresses are cleared too: each alone is not enough. */
	negotiate(F_VERSION_1);
	queue_layout(1, 16, DESC, AVAIL, USED);
	wr(R_STATUS, 0);
	negotiate(F_VERSION_1);
	wr(R_QSEL, 1);
	wr(R_QNUM, 16);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	queue_layout(1, 16, DESC, AVAIL, USED);
	negotiate(F_VERSION_1);
	wr(R_QSEL, 1);
	wr(R_QDESC_LO, (uint32_t)DESC);
	wr(R_QDRV_LO, (uint32_t)AVAIL);
	wr(R_QDEV_LO, (uint32_t)USED);
	wr(R_QREADY, 1);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	/* vtrans_reset (guest SYSTEM_RESET) is the same reset. */
	bring_up();
	resets = vt.reset;
	vtrans_reset(t);
	ck_assert_uint_eq(vt.reset, resets + 1);
	ck_assert_uint_eq(rd(R_STATUS), 0);
	wr(R_QSEL, 0);
	ck_assert_uint_eq(rd(R_QREADY), 0);
	ck_assert(!vtrans_vq(t, 0)->ready);
}
END_TEST

START_TEST(rule_reset_quiesces_first)
{
	/* The device type sees the queues not live, but not yet reset. */
	bring_up();
	wr(R_STATUS, 0);
	ck_assert(!vt.live_in_reset);
	ck_assert(vt.vq_ready_in_reset);
	ck_assert(!vtrans_vq(t, 0)->ready);
}
END_TEST

START_TEST(rule_reset_ignores_late_completion)
{
	/* What a worker finishing while the device type waits it out reports. */
	bring_up();
	vt.complete_in_reset = true;
	wr(R_STATUS, 0);
	ck_assert_uint_eq(rd(R_ISR), 0);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(rd(R_STATUS), 0);
}
END_TEST

START_TEST(rule_queue_stop)
{
	bring_up();
	wr(R_QSEL, 1);
	wr(R_QREADY, 0); /* not ready: nothing to stop */
	ck_assert_uint_eq(vt.stops[1], 0);
	wr(R_QSEL, 0);
	wr(R_QREADY, 0);
	ck_assert_uint_eq(vt.stops[0], 1);
	ck_assert(!vt.live_in_stop);
	ck_assert(vt.vq_ready_in_stop);
	ck_assert(!vtrans_vq(t, 0)->ready);
	wr(R_QREADY, 0);
	ck_assert_uint_eq(vt.stops[0], 1);
}
END_TEST

START_TEST(rule_needs_reset)
{
	/* Before DRIVER_OK: the bit, no interrupt. */
	negotiate(F_VERSION_1);
	vtrans_needs_reset(t);
	ck_assert_uint_eq(rd(R_STATUS) & S_NEEDS_RESET, S_NEEDS_RESET);
	ck_assert_uint_eq(rd(R_ISR), 0);
	ck_assert(!dev.line_level[IRQ]);
	/* The driver may keep setting bits; NEEDS_RESET stays. */
	queue_up(0, 8);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	ck_assert_uint_eq(rd(R_STATUS) & (S_NEEDS_RESET | S_DRIVER_OK),
			  S_NEEDS_RESET | S_DRIVER_OK);
	/* After DRIVER_OK: a configuration-change interrupt. */
	vtrans_needs_reset(t);
	ck_assert_uint_eq(rd(R_ISR), 2);
	ck_assert(dev.line_level[IRQ]);
	wr(R_STATUS, 0);
	ck_assert_uint_eq(rd(R_STATUS), 0);
}
END_TEST

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(dev.ram + (gpa - RAM_BASE), &v, 2);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint8_t *d = dev.ram + (DESC - RAM_BASE) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memset(d + 14, 0, 2);
}

/* One device-writable buffer posted on queue 0; the device completes it. */
static void complete_one(uint16_t avail_flags)
{
	struct vq_seg seg[4];
	struct vq_chain ch = {.seg = seg, .max_seg = 4};
	struct vq *vq = vtrans_vq(t, 0);

	put_desc(0, BUF, 64, 2 /* WRITE */);
	put16(AVAIL, avail_flags);
	put16(AVAIL + 4, 0);
	put16(AVAIL + 2, 1);
	ck_assert_int_eq(vq_pop(vq, &ch), 1);
	ck_assert_int_eq(vq_push(vq, ch.head, 64), 0);
	vtrans_notify_used(t, 0);
}

START_TEST(rule_used_interrupt)
{
	bring_up();
	complete_one(0);
	ck_assert_uint_eq(rd(R_ISR), 1);
	ck_assert(dev.line_level[IRQ]);
	wr(R_IACK, 1);
	ck_assert(!dev.line_level[IRQ]);
}
END_TEST

START_TEST(rule_used_interrupt_suppressed)
{
	bring_up();
	complete_one(1 /* VIRTQ_AVAIL_F_NO_INTERRUPT */);
	ck_assert_uint_eq(rd(R_ISR), 0);
	ck_assert(!dev.line_level[IRQ]);
}
END_TEST

START_TEST(rule_irq_line_level)
{
	bring_up();
	complete_one(0);
	vtrans_config_changed(t);
	ck_assert_uint_eq(rd(R_ISR), 3);
	unsigned edges = dev.line_edges[IRQ];
	wr(R_IACK, 1);
	ck_assert(dev.line_level[IRQ]);
	wr(R_IACK, 2);
	ck_assert(!dev.line_level[IRQ]);
	ck_assert_uint_eq(dev.line_edges[IRQ], edges);
}
END_TEST

/* ---- doorbell ----------------------------------------------------------- */

START_TEST(doorbell_registered_and_async)
{
	ck_assert_uint_eq(dev.ndoorbells, 1);
	ck_assert_uint_eq(dev.doorbells[0].d.gpa, BASE + R_QNOTIFY);
	ck_assert_uint_eq(dev.doorbells[0].d.len, 4);
	ck_assert(!(dev.doorbells[0].d.flags & AVMM_DOORBELL_DATAMATCH));
	bring_up();
	queue_up(1, 16);
	/* The write returns without reaching the device type... */
	wr(R_QNOTIFY, 1);
	wr(R_QNOTIFY, 1);
	ck_assert_uint_eq(dev.doorbells[0].rings, 2);
	ck_assert_uint_eq(vt.notify[0] + vt.notify[1], 0);
	/* ...the I/O thread fires it once, for every ready queue. */
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 1);
	ck_assert_uint_eq(vt.notify[1], 1);
}
END_TEST

START_TEST(doorbell_narrow_write_ignored)
{
	bring_up();
	unsigned ge = dev.guest_errors;
	ck_assert_int_eq(fake_write(&dev, 0, BASE + R_QNOTIFY, 2, 0), 0);
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 0);
	ck_assert_uint_eq(dev.guest_errors, ge + 1);
}
END_TEST

static struct avmm_worker *worker;

static void tt_worker(void *opaque)
{
	(void)opaque;
	vt.worker_runs++;
	for (unsigned q = 0; q < 2; q++)
		vt.worker_live[q] += vtrans_queue_live(t, q);
}

START_TEST(doorbell_kicks_worker)
{
	vtrans_destroy(t);
	fake_fini(&dev);
	setup_dev();
	ck_assert_int_eq(fakehost.worker_new(&dev, tt_worker, NULL, &worker), 0);
	ck_assert_int_eq(create(&tt_ops, worker), 0);
	ck_assert(dev.doorbells[0].d.worker == worker);
	ck_assert(dev.doorbells[0].d.fn == NULL);
	bring_up();
	wr(R_QNOTIFY, 0);
	fake_io_poll(&dev); /* fires the doorbell: kicks the worker */
	fake_io_poll(&dev); /* runs it */
	ck_assert_uint_eq(vt.worker_runs, 1);
	ck_assert_uint_eq(vt.worker_live[0], 1);
	ck_assert_uint_eq(vt.worker_live[1], 0);
	ck_assert_uint_eq(vt.notify[0], 0); /* not the I/O-thread path */
}
END_TEST

/* ---- creation, device tree, the whole sequence ----------------------------- */

START_TEST(create_refuses_bad_types)
{
	static struct vtype_ops ops;
	static const uint16_t zero[2] = {0, 8}, big[2] = {8, 65535};

	vtrans_destroy(t);
	t = NULL;
	ops = tt_ops;
	ops.queue_num_max = zero;
	ck_assert_int_eq(create(&ops, NULL), -EINVAL);
	ops.queue_num_max = big;
	ck_assert_int_eq(create(&ops, NULL), -EINVAL);
	ops = tt_ops;
	ops.features |= 1ull << 34; /* RING_PACKED: not implemented */
	ck_assert_int_eq(create(&ops, NULL), -EINVAL);
	ops = tt_ops;
	ops.nr_queues = 0;
	ck_assert_int_eq(create(&ops, NULL), -EINVAL);
	ops = tt_ops;
	ops.config_size = 0x101;
	ck_assert_int_eq(create(&ops, NULL), -EINVAL);
	ck_assert_uint_eq(dev.nregions, 1); /* only the fixture's */
}
END_TEST

START_TEST(create_needs_aligned_base)
{
	vtrans_destroy(t);
	fake_fini(&dev);
	setup_dev();
	fake_set(&dev, "base", "0x0a000100");
	ck_assert_int_eq(create(&tt_ops, NULL), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	t = NULL;
}
END_TEST

START_TEST(fdt_node)
{
	static uint8_t fdt[4096];
	const fdt32_t *p;
	int node, len;

	ck_assert_int_eq(fdt_create_empty_tree(fdt, sizeof(fdt)), 0);
	ck_assert_int_eq(vtrans_fdt_populate(t, fdt), 0);
	node = fdt_path_offset(fdt, "/virtio_mmio@a000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(fdt, node, "virtio,mmio"), 0);
	p = fdt_getprop(fdt, node, "reg", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(p[1]), 0x0a000000);
	ck_assert_uint_eq(fdt32_to_cpu(p[2]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(p[3]), 0x200);
	p = fdt_getprop(fdt, node, "interrupts", &len);
	ck_assert_int_eq(len, 12);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), AVMM_IRQ_SPI);
	ck_assert_uint_eq(fdt32_to_cpu(p[1]), IRQ);
	ck_assert_uint_eq(fdt32_to_cpu(p[2]), 4 /* level high */);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, node, "dma-coherent", &len));
}
END_TEST

START_TEST(driver_init_sequence)
{
	/* 3.1.1, as Linux's virtio_mmio does it. */
	ck_assert_uint_eq(rd(R_MAGIC), 0x74726976);
	ck_assert_uint_eq(rd(R_VERSION), 2);
	ck_assert_uint_ne(rd(R_DEVICE_ID), 0);
	wr(R_STATUS, 0);
	ck_assert_uint_eq(rd(R_STATUS), 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DEV_FEAT_SEL, 1);
	uint64_t f = (uint64_t)rd(R_DEV_FEAT) << 32;
	wr(R_DEV_FEAT_SEL, 0);
	f |= rd(R_DEV_FEAT);
	f &= F_VERSION_1 | F_A | F_EVENT_IDX; /* what this driver knows */
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, (uint32_t)(f >> 32));
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)f);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	ck_assert_uint_eq(rd(R_STATUS) & S_FEATURES_OK, S_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		wr(R_QSEL, q);
		ck_assert_uint_eq(rd(R_QREADY), 0);
		uint32_t max = rd(R_QNUM_MAX);
		if (!max) {
			ck_assert_uint_eq(q, 2);
			break;
		}
		queue_layout(q, max < 8 ? max : 8, DESC + q * 0x10000, AVAIL + q * 0x10000,
			     USED + q * 0x10000);
		wr(R_QREADY, 1);
		ck_assert_uint_eq(rd(R_QREADY), 1);
	}
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	ck_assert_uint_eq(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	ck_assert_uint_eq(vt.driver_ok, 1);
	ck_assert_uint_eq(vtrans_features(t), F_VERSION_1 | F_A | F_EVENT_IDX);
	wr(R_QNOTIFY, 0);
	fake_io_poll(&dev);
	ck_assert_uint_eq(vt.notify[0], 1);
	ck_assert_uint_eq(dev.guest_errors, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio-mmio transport");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reg_identity);
	tcase_add_test(tc, reg_device_features);
	tcase_add_test(tc, reg_driver_features);
	tcase_add_test(tc, reg_driver_features_high_word);
	tcase_add_test(tc, reg_queue_num_max);
	tcase_add_test(tc, reg_queue_layout_and_ready);
	tcase_add_test(tc, reg_queue_high_address);
	tcase_add_test(tc, reg_interrupt_status_ack);
	tcase_add_test(tc, reg_status);
	tcase_add_test(tc, reg_shm);
	tcase_add_test(tc, reg_config_generation);
	tcase_add_test(tc, reg_config_space);
	tcase_add_test(tc, reg_reserved_and_write_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rule_control_32bit_only);
	tcase_add_test(tc, rule_queue_num_checked);
	tcase_add_test(tc, rule_queue_sel_out_of_range);
	tcase_add_test(tc, rule_queue_ready_needs_features_ok);
	tcase_add_test(tc, rule_layout_frozen_while_ready);
	tcase_add_test(tc, rule_notify_needs_driver_ok);
	tcase_add_test(tc, rule_notify_needs_queue_ready);
	tcase_add_test(tc, rule_dependency_never_offered);
	tcase_add_test(tc, rule_dependency_chain_dropped);
	tcase_add_test(tc, rule_features_ok_unoffered);
	tcase_add_test(tc, rule_features_ok_needs_version_1);
	tcase_add_test(tc, rule_features_ok_dependency);
	tcase_add_test(tc, rule_features_ok_device_refuses);
	tcase_add_test(tc, rule_status_bits_only_cleared_by_reset);
	tcase_add_test(tc, rule_reset);
	tcase_add_test(tc, rule_reset_quiesces_first);
	tcase_add_test(tc, rule_queue_stop);
	tcase_add_test(tc, rule_needs_reset);
	tcase_add_test(tc, rule_used_interrupt);
	tcase_add_test(tc, rule_used_interrupt_suppressed);
	tcase_add_test(tc, rule_irq_line_level);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, doorbell_registered_and_async);
	tcase_add_test(tc, doorbell_narrow_write_ignored);
	tcase_add_test(tc, doorbell_kicks_worker);
	tcase_add_test(tc, create_refuses_bad_types);
	tcase_add_test(tc, create_needs_aligned_base);
	tcase_add_test(tc, fdt_node);
	tcase_add_test(tc, rule_reset_ignores_late_completion);
	tcase_add_test(tc, driver_init_sequence);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
