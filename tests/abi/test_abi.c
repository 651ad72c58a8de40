/* SPDX-License-Identifier: MIT */
/*
 * ABI forward compatibility.  plugin_v1_0.c is compiled only against the
 * frozen 1.0 headers; this test loads it with the current core's loader and
 * runs it in the current host table: MMIO, an interrupt line, a timer.  After
 * any later minor bump the test keeps running unchanged, and then it is what
 * proves that 1.0 plugins still load (ops structs smaller than the core's,
 * members past their struct_size treated as absent).
 */
#include <check.h>
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corevm.h"

#define OLD_BASE 0x9000000ull
#define MS 1000000ull

static bool line_level[32];
static unsigned line_calls;

static void chip_set_line(void *o, unsigned line, bool level)
{
	(void)o;
	ck_assert_uint_lt(line, 32);
	line_level[line] = level;
	line_calls++;
}

static void chip_set_ppi(void *o, unsigned cpu, unsigned ppi, bool level)
{
	(void)o, (void)cpu, (void)ppi, (void)level;
}

static int chip_cells(void *o, const struct avmm_irq_spec *s, uint32_t *c)
{
	(void)o;
	c[0] = s->kind;
	c[1] = s->num;
	c[2] = s->flags;
	return 0;
}

static const struct avmm_irqchip_ops chip_ops = {
	.struct_size = sizeof(chip_ops), .nr_lines = 32, .interrupt_cells = 3,
	.set_line = chip_set_line, .set_ppi = chip_set_ppi, .fdt_cells = chip_cells,
};

static int chip_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		       char *err, size_t errlen)
{
	const char *v;
	uint32_t ph;

	(void)err, (void)errlen;
	host->cfg_str(dev, "plugin", &v);
	*instance = dev;
	return host->irqchip_register(dev, &chip_ops, NULL, &ph);
}

static void chip_destroy(void *instance)
{
	(void)instance;
}

static const struct avmm_plugin_desc chip_desc = {
	.struct_size = sizeof(chip_desc), .abi_major = AVMM_ABI_MAJOR, .abi_minor = AVMM_ABI_MINOR,
	.name = "chip", .flags = AVMM_PLUGIN_IRQCHIP, .create = chip_create,
	.destroy = chip_destroy,
};
static struct plugin chip_plugin = {.desc = &chip_desc};

static struct corevm cv;
static struct plugin old;

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0xdeadbeef;

	ck_assert_int_eq(corevm_mmio(&cv, 0, OLD_BASE + off, 4, false, &v), 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
	uint64_t x = v;

	ck_assert_int_eq(corevm_mmio(&cv, 1, OLD_BASE + off, 4, true, &x), 0);
}

START_TEST(v1_0_layout_is_what_the_core_accepts)
{
	char err[512] = "";
	const uint32_t *sizes;

	ck_assert_msg(plugin_load(OLD_PLUGIN, "old_v1_0", &old, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(old.desc->abi_major, 1);
	ck_assert_uint_eq(old.desc->abi_minor, 0);
	sizes = dlsym(old.handle, "old_v1_0_sizes");
	ck_assert_ptr_nonnull(sizes);
	/* The core's 1.0 minimums are exactly the frozen 1.0 layout. */
	ck_assert_uint_eq(sizes[0], AVMM_MMIO_OPS_SIZE_V1_0);
	ck_assert_uint_eq(sizes[1], AVMM_IRQCHIP_OPS_SIZE_V1_0);
	ck_assert_uint_eq(sizes[2], AVMM_CHR_HANDLERS_SIZE_V1_0);
	ck_assert_uint_eq(sizes[3], AVMM_HOST_SIZE_V1_0);
	ck_assert_uint_eq(sizes[4], AVMM_PLUGIN_DESC_SIZE_V1_0);
	ck_assert_uint_eq(old.desc->struct_size, AVMM_PLUGIN_DESC_SIZE_V1_0);
	/* The host table a 1.0 plugin gets holds at least every 1.0 member. */
	ck_assert_uint_ge(device_host.struct_size, AVMM_HOST_SIZE_V1_0);
	/* 1.1 appended to the host table: the 1.0 part stayed where it was. */
	ck_assert_uint_gt(AVMM_HOST_SIZE_V1_1, AVMM_HOST_SIZE_V1_0);
	plugin_unload(&old);
}
END_TEST

START_TEST(v1_0_plugin_runs_in_this_core)
{
	char err[512] = "";
	unsigned i;

	ck_assert_msg(plugin_load(OLD_PLUGIN, "old_v1_0", &old, err, sizeof(err)) == 0, "%s", err);
	corevm_init(&cv,
		    "[device chip]\nplugin = chip\n"
		    "[device old]\nplugin = old_v1_0\nbase = 0x9000000\nirq = 4\n",
		    2, 0x40000000, 0x100000);
	corevm_device(&cv, "chip", &chip_plugin);
	/* Also the config check: "plugin" is the core's key, the rest the plugin's. */
	config_key(config_section(&cv.cfg, "old"), "plugin")->used = true;
	corevm_device(&cv, "old", &old);
	corevm_start(&cv);

	wr(0x0, 0x12345678);
	ck_assert_uint_eq(rd(0x0), 0x12345678);
	ck_assert_uint_eq(rd(0x100), 0); /* rejected by the plugin: RAZ */
	wr(0x4, 1);
	ck_assert(line_level[4]);
	wr(0x4, 0);
	ck_assert(!line_level[4]);
	ck_assert_uint_eq(line_calls, 2);

	wr(0x8, (uint32_t)MS);
	for (i = 0; i < 5000 && !rd(0xc); i++)
		corevm_run(&cv, MS);
	ck_assert_uint_eq(rd(0xc), 1);
	ck_assert(line_level[4]);
	/* A cancelled timer stays quiet. */
	wr(0x4, 0);
	wr(0x8, (uint32_t)MS);
	wr(0x8, 0);
	corevm_run(&cv, 20 * MS);
	ck_assert_uint_eq(rd(0xc), 1);
	ck_assert(!line_level[4]);

	corevm_fini(&cv);
	plugin_unload(&old);
}
END_TEST

static struct plugin v11;
static struct avmm_dev *chipdev;

/*
 * The worker raises the line from its own thread, under the irqchip's lock
 * only: read the chip's state under that lock too.  Seeing the line high
 * then also orders the guest-memory write the worker made before it.
 */
static bool line4(void)
{
	bool v;

	pthread_mutex_lock(&chipdev->lock);
	v = line_level[4];
	pthread_mutex_unlock(&chipdev->lock);
	return v;
}

/* The completion count the worker wrote to guest memory. */
static uint32_t done_word(void)
{
	uint32_t v = 0;

	ck_assert_int_eq(ram_read(&cv.vm.ram, 0x40000200, &v, sizeof(v)), 0);
	return v;
}

START_TEST(v1_1_plugin_uses_workers_doorbells_and_cfg_path)
{
	char err[512] = "";
	const uint32_t *sizes;
	unsigned i;

	ck_assert_msg(plugin_load(V1_1_PLUGIN, "plugin_v1_1", &v11, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_eq(v11.desc->abi_major, 1);
	ck_assert_uint_eq(v11.desc->abi_minor, 1);
	sizes = dlsym(v11.handle, "plugin_v1_1_sizes");
	ck_assert_ptr_nonnull(sizes);
	ck_assert_uint_eq(sizes[0], AVMM_HOST_SIZE_V1_1);
	ck_assert_uint_eq(sizes[1], AVMM_DOORBELL_DESC_SIZE_V1_1);
	ck_assert_uint_ge(device_host.struct_size, AVMM_HOST_SIZE_V1_1);

	memset(line_level, 0, sizeof(line_level));
	line_calls = 0;
	/* The config file "is" in /dev: disk = null resolves to /dev/null. */
	corevm_init_at(&cv, "/dev/abi.ini",
		       "[device chip]\nplugin = chip\n"
		       "[device new]\nplugin = plugin_v1_1\nbase = 0x9000000\nirq = 4\n"
		       "disk = null\ndone = 0x40000200\n",
		       2, 0x40000000, 0x100000);
	chipdev = corevm_device(&cv, "chip", &chip_plugin);
	config_key(config_section(&cv.cfg, "new"), "plugin")->used = true;
	corevm_device(&cv, "new", &v11);
	corevm_start(&cv);

	ck_assert_uint_eq(rd(0x8), strlen("/dev/null"));
	ck_assert_uint_eq(rd(0x0), 0);
	/* Rung: the write handler (which refuses 0x50) is not called... */
	wr(0x50, 0);
	for (i = 0; i < 5000 && !line4(); i++)
		corevm_run(&cv, MS);
	/* ...and the worker completed the "request" and raised the line. */
	ck_assert(line4());
	ck_assert_uint_eq(done_word(), 1);
	ck_assert_uint_eq(corevm_count_log(&cv, "new", "rejected"), 0);
	wr(0x4, 0);
	ck_assert(!line4());
	wr(0x50, 0);
	for (i = 0; i < 5000 && !line4(); i++)
		corevm_run(&cv, MS);
	ck_assert(line4());
	ck_assert_uint_eq(done_word(), 2);
	ck_assert_uint_eq(rd(0x0), 2);

	corevm_fini(&cv);
	plugin_unload(&v11);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("v1.0");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, v1_0_layout_is_what_the_core_accepts);
	tcase_add_test(tc, v1_0_plugin_runs_in_this_core);
	tcase_add_test(tc, v1_1_plugin_uses_workers_doorbells_and_cfg_path);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
