/* SPDX-License-Identifier: MIT */
/*
 * virt-timer plugin: PPI routing of the accelerator's timer events and the
 * "arm,armv8-timer" device-tree node, driven through the real descriptor.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libfdt.h>

#include <avmm/avmm.h>

#include "fakehost.h"

extern const struct avmm_plugin_desc avmm_plugin;

/* Architectural PPI numbers (INTID - 16) of the generic timer. */
#define PPI_HYP 10
#define PPI_VIRT 11
#define PPI_SEC_PHYS 13
#define PPI_PHYS 14

static struct avmm_dev dev;
static void *inst;

static int create(unsigned ncpus, const char *always_on)
{
	char err[256] = "";

	fake_init(&dev, "timer", ncpus);
	if (always_on)
		fake_set(&dev, "always-on", always_on);
	inst = NULL;
	return avmm_plugin.create(&dev, &fakehost, &inst, err, sizeof(err));
}

static void teardown(void)
{
	if (inst)
		avmm_plugin.destroy(inst);
	inst = NULL;
	fake_fini(&dev);
}

/* Number of PPIs raised on any CPU. */
static unsigned ppis_raised(void)
{
	unsigned n = 0;

	for (unsigned c = 0; c < FAKE_MAX_CPUS; c++)
		for (unsigned p = 0; p < 32; p++)
			n += dev.ppi_level[c][p];
	return n;
}

START_TEST(test_descriptor)
{
	ck_assert_uint_eq(avmm_plugin.struct_size, sizeof(struct avmm_plugin_desc));
	ck_assert_uint_eq(avmm_plugin.abi_major, AVMM_ABI_MAJOR);
	ck_assert_str_eq(avmm_plugin.name, "virt-timer");
	ck_assert_ptr_nonnull(avmm_plugin.create);
	ck_assert_ptr_nonnull(avmm_plugin.destroy);
	ck_assert_ptr_nonnull(avmm_plugin.fdt_populate);
	/* The timer is not an interrupt controller. */
	ck_assert_uint_eq(avmm_plugin.flags & AVMM_PLUGIN_IRQCHIP, 0);
}
END_TEST

START_TEST(test_create_no_keys)
{
	ck_assert_int_eq(create(1, NULL), 0);
	ck_assert_ptr_nonnull(inst);
	ck_assert_ptr_nonnull(dev.timer_fn);
	ck_assert_uint_eq(dev.cfg_errors, 0);
	ck_assert_uint_eq(dev.errors, 0);
	teardown();
}
END_TEST

START_TEST(test_create_always_on_is_consumed)
{
	ck_assert_int_eq(create(1, "true"), 0);
	/* The core rejects keys the plugin never read. */
	ck_assert_uint_eq(fake_unused_keys(&dev), 0);
	teardown();
}
END_TEST

START_TEST(test_create_bad_always_on)
{
	ck_assert_int_eq(create(1, "maybe"), -EINVAL);
	ck_assert_uint_eq(dev.cfg_errors, 1);
	/* Failed create must not leave a subscription pointing at freed memory. */
	inst = NULL;
	teardown();
}
END_TEST

START_TEST(test_virt_routes_to_ppi11)
{
	ck_assert_int_eq(create(1, NULL), 0);
	fake_cpu_timer(&dev, 0, AVMM_CPU_TIMER_VIRT, true);
	ck_assert(dev.ppi_level[0][PPI_VIRT]);
	ck_assert_uint_eq(ppis_raised(), 1);
	fake_cpu_timer(&dev, 0, AVMM_CPU_TIMER_VIRT, false);
	ck_assert(!dev.ppi_level[0][PPI_VIRT]);
	ck_assert_uint_eq(ppis_raised(), 0);
	teardown();
}
END_TEST

START_TEST(test_phys_routes_to_ppi14)
{
	ck_assert_int_eq(create(1, NULL), 0);
	fake_cpu_timer(&dev, 0, AVMM_CPU_TIMER_PHYS, true);
	ck_assert(dev.ppi_level[0][PPI_PHYS]);
	ck_assert_uint_eq(ppis_raised(), 1);
	fake_cpu_timer(&dev, 0, AVMM_CPU_TIMER_PHYS, false);
	ck_assert_uint_eq(ppis_raised(), 0);
	teardown();
}
END_TEST

START_TEST(test_per_cpu_routing)
{
	ck_assert_int_eq(create(4, NULL), 0);
	fake_cpu_timer(&dev, 3, AVMM_CPU_TIMER_VIRT, true);
	fake_cpu_timer(&dev, 1, AVMM_CPU_TIMER_PHYS, true);
	ck_assert(dev.ppi_level[3][PPI_VIRT]);
	ck_assert(dev.ppi_level[1][PPI_PHYS]);
	ck_assert(!dev.ppi_level[3][PPI_PHYS]);
	ck_assert(!dev.ppi_level[1][PPI_VIRT]);
	ck_assert(!dev.ppi_level[0][PPI_VIRT]);
	ck_assert_uint_eq(ppis_raised(), 2);

	/* Lowering one CPU's timer leaves the other CPU's line alone. */
	fake_cpu_timer(&dev, 3, AVMM_CPU_TIMER_VIRT, false);
	ck_assert(!dev.ppi_level[3][PPI_VIRT]);
	ck_assert(dev.ppi_level[1][PPI_PHYS]);
	ck_assert_uint_eq(ppis_raised(), 1);
	teardown();
}
END_TEST

START_TEST(test_unknown_timer_ignored)
{
	ck_assert_int_eq(create(2, NULL), 0);
	fake_cpu_timer(&dev, 0, (enum avmm_cpu_timer)2, true);
	fake_cpu_timer(&dev, 1, (enum avmm_cpu_timer)7, true);
	fake_cpu_timer(&dev, 0, (enum avmm_cpu_timer)-1, true);
	fake_cpu_timer(&dev, 0, (enum avmm_cpu_timer)INT_MAX, true);
	ck_assert_uint_eq(ppis_raised(), 0);
	ck_assert_uint_eq(dev.guest_errors, 0); /* not the guest's fault */
	ck_assert(strstr(dev.last_log, "timer") != NULL);

	/* A later valid event still works. */
	fake_cpu_timer(&dev, 1, AVMM_CPU_TIMER_VIRT, true);
	ck_assert(dev.ppi_level[1][PPI_VIRT]);
	ck_assert_uint_eq(ppis_raised(), 1);
	teardown();
}
END_TEST

START_TEST(test_cpu_out_of_range_ignored)
{
	/* A leak would be a plugin bug, which fails the test in teardown. */
	ck_assert_int_eq(create(2, NULL), 0);
	fake_cpu_timer(&dev, 2, AVMM_CPU_TIMER_VIRT, true);
	fake_cpu_timer(&dev, 5, AVMM_CPU_TIMER_PHYS, true);
	fake_cpu_timer(&dev, 100, AVMM_CPU_TIMER_VIRT, true);
	fake_cpu_timer(&dev, UINT_MAX, AVMM_CPU_TIMER_PHYS, true);
	ck_assert_uint_eq(ppis_raised(), 0);
	teardown();
}
END_TEST

/* ---- device tree ---- */

static void *new_tree(size_t size)
{
	void *fdt = malloc(size);

	ck_assert_ptr_nonnull(fdt);
	ck_assert_int_eq(fdt_create_empty_tree(fdt, (int)size), 0);
	return fdt;
}

/* Pack and check the tree as the core's dtb_finish does. */
static void check_tree(void *fdt)
{
	ck_assert_int_eq(fdt_pack(fdt), 0);
	ck_assert_int_eq(fdt_check_full(fdt, fdt_totalsize(fdt)), 0);
}

static void check_interrupts(const void *fdt, int node, const uint32_t *want, int ncells)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, "interrupts", &len);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, ncells * (int)sizeof(fdt32_t));
	for (int i = 0; i < ncells; i++)
		ck_assert_msg(fdt32_to_cpu(p[i]) == want[i], "cell %d: 0x%x, want 0x%x", i,
			      fdt32_to_cpu(p[i]), want[i]);
}

START_TEST(test_fdt_node)
{
	void *fdt = new_tree(4096);
	int node, len;
	const char *compat;

	ck_assert_int_eq(create(1, NULL), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	check_tree(fdt);

	node = fdt_path_offset(fdt, "/timer");
	ck_assert_int_ge(node, 0);
	compat = fdt_getprop(fdt, node, "compatible", &len);
	ck_assert_ptr_nonnull(compat);
	ck_assert_int_eq(len, (int)sizeof("arm,armv8-timer"));
	ck_assert_str_eq(compat, "arm,armv8-timer");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, node, "arm,armv8-timer"), 0);

	/*
	 * Without an irqchip the fake host encodes <kind num flags>: PPI is 1,
	 * level-high 4; binding order secure phys, phys, virt, hyp.
	 */
	static const uint32_t want[] = {
		1, PPI_SEC_PHYS, 4, 1, PPI_PHYS, 4, 1, PPI_VIRT, 4, 1, PPI_HYP, 4,
	};
	check_interrupts(fdt, node, want, 12);

	ck_assert_ptr_null(fdt_getprop(fdt, node, "always-on", &len));
	/* Discouraged by the binding; CNTFRQ_EL0 is set correctly. */
	ck_assert_ptr_null(fdt_getprop(fdt, node, "clock-frequency", &len));
	free(fdt);
	teardown();
}
END_TEST

START_TEST(test_fdt_always_on)
{
	void *fdt = new_tree(4096);
	int node, len = -1;

	ck_assert_int_eq(create(1, "yes"), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	check_tree(fdt);
	node = fdt_path_offset(fdt, "/timer");
	ck_assert_int_ge(node, 0);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, node, "always-on", &len));
	ck_assert_int_eq(len, 0); /* a boolean property is empty */
	free(fdt);
	teardown();
}
END_TEST

START_TEST(test_fdt_always_on_false)
{
	void *fdt = new_tree(4096);
	int node, len;

	ck_assert_int_eq(create(1, "false"), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	node = fdt_path_offset(fdt, "/timer");
	ck_assert_int_ge(node, 0);
	ck_assert_ptr_null(fdt_getprop(fdt, node, "always-on", &len));
	free(fdt);
	teardown();
}
END_TEST

/* A stand-in GICv2 that records the specs it is asked to encode. */
static struct avmm_irq_spec seen[8];
static unsigned nseen;

static int gic_fdt_cells(void *opaque, const struct avmm_irq_spec *spec, uint32_t *cells)
{
	unsigned ncpus = *(unsigned *)opaque;

	if (nseen < 8)
		seen[nseen] = *spec;
	nseen++;
	cells[0] = spec->kind == AVMM_IRQ_PPI ? 1 : 0;
	cells[1] = spec->num;
	cells[2] = spec->flags;
	if (spec->kind == AVMM_IRQ_PPI)
		cells[2] |= ((1u << ncpus) - 1) << 8; /* GICv2 PPI CPU mask */
	return 0;
}

static void gic_set_line(void *opaque, unsigned line, bool level)
{
	(void)opaque, (void)line, (void)level;
}

static void gic_set_ppi(void *opaque, unsigned cpu, unsigned ppi, bool level)
{
	(void)opaque, (void)cpu, (void)ppi, (void)level;
}

START_TEST(test_fdt_through_irqchip)
{
	static unsigned ncpus = 4;
	/* Complete ops: the core refuses an irqchip without set_line/set_ppi. */
	static const struct avmm_irqchip_ops gic = {
		.struct_size = sizeof(struct avmm_irqchip_ops),
		.nr_lines = 64,
		.interrupt_cells = 3,
		.set_line = gic_set_line,
		.set_ppi = gic_set_ppi,
		.fdt_cells = gic_fdt_cells,
	};
	void *fdt = new_tree(4096);
	uint32_t phandle;
	int node;

	ck_assert_int_eq(create(ncpus, NULL), 0);
	/* Another device in a real VM; the fake host keeps one table per dev. */
	ck_assert_int_eq(fakehost.irqchip_register(&dev, &gic, &ncpus, &phandle), 0);
	nseen = 0;
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	check_tree(fdt);

	ck_assert_uint_eq(nseen, 4);
	static const unsigned order[] = {PPI_SEC_PHYS, PPI_PHYS, PPI_VIRT, PPI_HYP};
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(seen[i].kind, AVMM_IRQ_PPI);
		ck_assert_uint_eq(seen[i].num, order[i]);
		ck_assert_uint_eq(seen[i].flags, AVMM_IRQ_LEVEL_HIGH);
	}
	node = fdt_path_offset(fdt, "/timer");
	ck_assert_int_ge(node, 0);
	/* What QEMU's virt board shows for 4 CPUs: <1 13 0xf04> ... */
	static const uint32_t want[] = {
		1, 13, 0xf04, 1, 14, 0xf04, 1, 11, 0xf04, 1, 10, 0xf04,
	};
	check_interrupts(fdt, node, want, 12);
	free(fdt);
	teardown();
}
END_TEST

START_TEST(test_fdt_no_space)
{
	/* An empty tree takes 72 bytes: room for the timer node, not its compatible. */
	void *fdt = new_tree(96);

	ck_assert_int_eq(create(1, "on"), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), -ENOSPC);
	/* The tree stays a valid tree after the failure. */
	ck_assert_int_eq(fdt_check_full(fdt, fdt_totalsize(fdt)), 0);
	free(fdt);
	teardown();
}
END_TEST

START_TEST(test_fdt_every_size)
{
	/* Whatever the room, either a whole node or an error, never a bad tree. */
	ck_assert_int_eq(create(1, "on"), 0);
	for (size_t size = 64; size <= 512; size += 4) {
		void *fdt = malloc(size);
		int rc;

		ck_assert_ptr_nonnull(fdt);
		if (fdt_create_empty_tree(fdt, (int)size)) {
			free(fdt); /* too small for even an empty tree */
			continue;
		}
		rc = avmm_plugin.fdt_populate(inst, fdt);

		ck_assert_int_le(rc, 0);
		ck_assert_int_eq(fdt_check_full(fdt, fdt_totalsize(fdt)), 0);
		if (size == 512) /* ample: must succeed */
			ck_assert_int_eq(rc, 0);
		free(fdt);
	}
	teardown();
}
END_TEST

START_TEST(test_fdt_twice_fails)
{
	void *fdt = new_tree(4096);

	ck_assert_int_eq(create(1, NULL), 0);
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), 0);
	/* A second timer device would duplicate /timer: refuse, do not corrupt. */
	ck_assert_int_eq(avmm_plugin.fdt_populate(inst, fdt), -EEXIST);
	check_tree(fdt);
	free(fdt);
	teardown();
}
END_TEST

static Suite *virt_timer_suite(void)
{
	Suite *s = suite_create("virt-timer");
	TCase *tc = tcase_create("routing");

	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_create_no_keys);
	tcase_add_test(tc, test_create_always_on_is_consumed);
	tcase_add_test(tc, test_create_bad_always_on);
	tcase_add_test(tc, test_virt_routes_to_ppi11);
	tcase_add_test(tc, test_phys_routes_to_ppi14);
	tcase_add_test(tc, test_per_cpu_routing);
	tcase_add_test(tc, test_unknown_timer_ignored);
	tcase_add_test(tc, test_cpu_out_of_range_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdt");
	tcase_add_test(tc, test_fdt_node);
	tcase_add_test(tc, test_fdt_always_on);
	tcase_add_test(tc, test_fdt_always_on_false);
	tcase_add_test(tc, test_fdt_through_irqchip);
	tcase_add_test(tc, test_fdt_no_space);
	tcase_add_test(tc, test_fdt_every_size);
	tcase_add_test(tc, test_fdt_twice_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virt_timer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
