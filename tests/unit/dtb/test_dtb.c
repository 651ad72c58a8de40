/* SPDX-License-Identifier: MIT */
/* core/dtb.c: the machine-level device tree, read back through libfdt. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "dtb.h"

static const uint64_t mpidr1[] = { 0 };
/* Two clusters of two: Aff1 differs, as on a big.LITTLE host. */
static const uint64_t mpidr4[] = { 0x000, 0x001, 0x100, 0x101 };

static struct dtb_machine base_machine(void)
{
	struct dtb_machine m = {
		.ncpus = 1,
		.mpidr = mpidr1,
		.ram_base = 0x40000000,
		.ram_size = 0x20000000,
		.psci_method = "hvc",
	};
	return m;
}

/* Create and finish, failing the test with libfdt's words if anything breaks. */
static void *build(const struct dtb_machine *m, size_t *size)
{
	char err[256] = "";
	void *fdt = NULL;
	int r;

	r = dtb_create(m, &fdt, err, sizeof(err));
	ck_assert_msg(r == 0, "dtb_create: %d %s", r, err);
	ck_assert_ptr_nonnull(fdt);
	r = dtb_finish(fdt, size, err, sizeof(err));
	ck_assert_msg(r == 0, "dtb_finish: %d %s", r, err);
	ck_assert_int_eq(fdt_check_full(fdt, *size), 0);
	return fdt;
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path), len = -1;
	const fdt32_t *p;

	ck_assert_msg(node >= 0, "no node %s", path);
	p = fdt_getprop(fdt, node, name, &len);
	ck_assert_msg(p && len == 4, "%s:%s: len %d", path, name, len);
	return fdt32_to_cpu(*p);
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path), len = -1;
	const void *p;

	ck_assert_msg(node >= 0, "no node %s", path);
	p = fdt_getprop(fdt, node, name, &len);
	ck_assert_msg(p && len == 8, "%s:%s: len %d", path, name, len);
	return fdt64_ld(p); /* properties are only 4-byte aligned */
}

static const char *prop_str(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path), len = -1;
	const char *p;

	ck_assert_msg(node >= 0, "no node %s", path);
	p = fdt_getprop(fdt, node, name, &len);
	ck_assert_msg(p && len > 0 && p[len - 1] == '\0', "%s:%s: not a string", path, name);
	return p;
}

static bool has_prop(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path);

	ck_assert_msg(node >= 0, "no node %s", path);
	return fdt_getprop(fdt, node, name, NULL) != NULL;
}

START_TEST(test_root_and_one_cpu)
{
	struct dtb_machine m = base_machine();
	size_t size = 0;
	void *fdt = build(&m, &size);
	int cpus, n = 0, node;

	ck_assert_uint_le(size, DTB_MAX_SIZE);
	ck_assert_uint_eq(size, fdt_totalsize(fdt));
	ck_assert_uint_lt(size, 4096); /* packed, not the 2 MiB work buffer */
	ck_assert_str_eq(prop_str(fdt, "/", "compatible"), "linux,dummy-virt");
	ck_assert_str_eq(prop_str(fdt, "/", "model"), "avmm");
	ck_assert_uint_eq(prop_u32(fdt, "/", "#address-cells"), 2);
	ck_assert_uint_eq(prop_u32(fdt, "/", "#size-cells"), 2);
	ck_assert(!has_prop(fdt, "/", "interrupt-parent"));

	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#address-cells"), 1);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#size-cells"), 0);
	ck_assert_str_eq(prop_str(fdt, "/cpus/cpu@0", "device_type"), "cpu");
	ck_assert_str_eq(prop_str(fdt, "/cpus/cpu@0", "compatible"), "arm,armv8");
	ck_assert_str_eq(prop_str(fdt, "/cpus/cpu@0", "enable-method"), "psci");
	ck_assert_uint_eq(prop_u32(fdt, "/cpus/cpu@0", "reg"), 0);

	cpus = fdt_path_offset(fdt, "/cpus");
	fdt_for_each_subnode(node, fdt, cpus)
		n++;
	ck_assert_int_eq(n, 1);
	free(fdt);
}
END_TEST

START_TEST(test_four_cpus_in_order)
{
	struct dtb_machine m = base_machine();
	static const char *const names[] = { "cpu@0", "cpu@1", "cpu@100", "cpu@101" };
	size_t size;
	void *fdt;
	int cpus, node, i = 0;

	m.ncpus = 4;
	m.mpidr = mpidr4;
	fdt = build(&m, &size);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#address-cells"), 1);
	cpus = fdt_path_offset(fdt, "/cpus");
	/* Linux numbers logical CPUs in node order: it must follow mpidr[]. */
	fdt_for_each_subnode(node, fdt, cpus) {
		const fdt32_t *reg;
		int len;

		ck_assert_int_lt(i, 4);
		ck_assert_str_eq(fdt_get_name(fdt, node, NULL), names[i]);
		reg = fdt_getprop(fdt, node, "reg", &len);
		ck_assert_int_eq(len, 4);
		ck_assert_uint_eq(fdt32_to_cpu(*reg), mpidr4[i]);
		ck_assert_str_eq(fdt_getprop(fdt, node, "enable-method", NULL), "psci");
		ck_assert_str_eq(fdt_getprop(fdt, node, "device_type", NULL), "cpu");
		i++;
	}
	ck_assert_int_eq(i, 4);
	free(fdt);
}
END_TEST

START_TEST(test_aff3_needs_two_cells)
{
	/* MPIDR RES1 bit 31 and MT bit 24 are not affinity: they must not leak. */
	static const uint64_t mp[] = { 0x80000000ull, 0x0100000001ull | 0x81000000ull };
	struct dtb_machine m = base_machine();
	size_t size;
	void *fdt;

	m.ncpus = 2;
	m.mpidr = mp;
	fdt = build(&m, &size);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#address-cells"), 2);
	ck_assert_uint_eq(prop_u64(fdt, "/cpus/cpu@0", "reg"), 0);
	ck_assert_uint_eq(prop_u64(fdt, "/cpus/cpu@100000001", "reg"), 0x100000001ull);
	free(fdt);
}
END_TEST

START_TEST(test_psci)
{
	static const char want[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
	struct dtb_machine m = base_machine();
	const char *methods[] = { "hvc", "smc" };
	unsigned i;

	for (i = 0; i < 2; i++) {
		size_t size;
		void *fdt;
		const void *c;
		int len;

		m.psci_method = methods[i];
		fdt = build(&m, &size);
		c = fdt_getprop(fdt, fdt_path_offset(fdt, "/psci"), "compatible", &len);
		ck_assert_int_eq(len, sizeof(want));
		ck_assert_mem_eq(c, want, sizeof(want));
		ck_assert_str_eq(prop_str(fdt, "/psci", "method"), methods[i]);
		/* PSCI 0.1 function IDs, the SMC64 calls where they exist. */
		ck_assert_uint_eq(prop_u32(fdt, "/psci", "cpu_on"), 0xc4000003u);
		ck_assert_uint_eq(prop_u32(fdt, "/psci", "cpu_off"), 0x84000002u);
		ck_assert_uint_eq(prop_u32(fdt, "/psci", "cpu_suspend"), 0xc4000001u);
		free(fdt);
	}
}
END_TEST

START_TEST(test_memory_64bit)
{
	struct dtb_machine m = base_machine();
	const fdt32_t *reg;
	size_t size;
	void *fdt;
	int len;

	m.ram_base = 0x800000000ull;
	m.ram_size = 0x120000000ull; /* 4.5 GiB: needs the high size cell */
	fdt = build(&m, &size);
	ck_assert_str_eq(prop_str(fdt, "/memory@800000000", "device_type"), "memory");
	reg = fdt_getprop(fdt, fdt_path_offset(fdt, "/memory@800000000"), "reg", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(reg[0]), 0x8);
	ck_assert_uint_eq(fdt32_to_cpu(reg[1]), 0x0);
	ck_assert_uint_eq(fdt32_to_cpu(reg[2]), 0x1);
	ck_assert_uint_eq(fdt32_to_cpu(reg[3]), 0x20000000);
	free(fdt);
}
END_TEST

START_TEST(test_chosen)
{
	static const uint8_t seed[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33,
					0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb };
	struct dtb_machine m = base_machine();
	const void *p;
	size_t size;
	void *fdt;
	int len;

	m.bootargs = "console=ttyAMA0 earlycon root=/dev/vda1";
	m.initrd_start = 0x5fc00000;
	m.initrd_end = 0x5fd23457;
	m.rng_seed = seed;
	m.rng_seed_len = sizeof(seed);
	fdt = build(&m, &size);
	ck_assert_str_eq(prop_str(fdt, "/chosen", "bootargs"), m.bootargs);
	ck_assert_uint_eq(prop_u64(fdt, "/chosen", "linux,initrd-start"), 0x5fc00000);
	ck_assert_uint_eq(prop_u64(fdt, "/chosen", "linux,initrd-end"), 0x5fd23457);
	p = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &len);
	ck_assert_int_eq(len, sizeof(seed));
	ck_assert_mem_eq(p, seed, sizeof(seed));
	/* The console plugin owns stdout-path. */
	ck_assert(!has_prop(fdt, "/chosen", "stdout-path"));
	free(fdt);

	m = base_machine();
	fdt = build(&m, &size);
	ck_assert_int_ge(fdt_path_offset(fdt, "/chosen"), 0);
	ck_assert(!has_prop(fdt, "/chosen", "bootargs"));
	ck_assert(!has_prop(fdt, "/chosen", "linux,initrd-start"));
	ck_assert(!has_prop(fdt, "/chosen", "linux,initrd-end"));
	ck_assert(!has_prop(fdt, "/chosen", "rng-seed"));
	free(fdt);
}
END_TEST

START_TEST(test_refresh_chosen_for_reset)
{
	static const uint8_t seed1[16] = {1, 2, 3}, seed2[16] = {9, 8, 7, 6};
	struct dtb_machine m = base_machine();
	const void *p;
	size_t size;
	void *fdt;
	int len;

	m.initrd_start = 0x48000000;
	m.initrd_end = 0x48001000;
	m.rng_seed = seed1;
	m.rng_seed_len = sizeof(seed1);
	fdt = build(&m, &size);
	/* A reloaded, larger initrd placed elsewhere; a new seed. */
	ck_assert_int_eq(dtb_refresh_chosen(fdt, 0x47ff0000, 0x48003000, seed2, sizeof(seed2)), 0);
	ck_assert_uint_eq(prop_u64(fdt, "/chosen", "linux,initrd-start"), 0x47ff0000);
	ck_assert_uint_eq(prop_u64(fdt, "/chosen", "linux,initrd-end"), 0x48003000);
	p = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &len);
	ck_assert_int_eq(len, sizeof(seed2));
	ck_assert_mem_eq(p, seed2, sizeof(seed2));
	/* In place: the packed tree did not grow. */
	ck_assert_uint_eq(fdt_totalsize(fdt), size);
	free(fdt);

	/* Built without an initrd: none is fine, one cannot be described. */
	m = base_machine();
	fdt = build(&m, &size);
	ck_assert_int_eq(dtb_refresh_chosen(fdt, 0, 0, seed2, sizeof(seed2)), 0);
	ck_assert(!has_prop(fdt, "/chosen", "rng-seed"));
	ck_assert_int_eq(dtb_refresh_chosen(fdt, 0x48000000, 0x48001000, NULL, 0), -ENOENT);
	free(fdt);
}
END_TEST

START_TEST(test_interrupt_parent_and_phandles)
{
	struct dtb_machine m = base_machine();
	char err[256] = "";
	uint32_t a, b, c, d;
	void *fdt;
	size_t size;
	int node, root_props = 0, off;

	m.irqchip_phandle = 1;
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), 0);
	ck_assert_uint_eq(prop_u32(fdt, "/", "interrupt-parent"), 1);

	/* Fresh on every call, even before any node carries the previous one. */
	a = dtb_alloc_phandle(fdt);
	b = dtb_alloc_phandle(fdt);
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_ne(a, 1); /* the irqchip's, whose node does not exist yet */
	ck_assert_uint_ne(b, 1);
	ck_assert_uint_ne(a, b);

	/* A phandle someone set by hand raises the floor. */
	node = fdt_add_subnode(fdt, 0, "intc");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_setprop_u32(fdt, node, "phandle", 1000), 0);
	c = dtb_alloc_phandle(fdt);
	ck_assert_uint_gt(c, 1000);
	d = dtb_alloc_phandle(fdt);
	ck_assert_uint_ne(c, d);
	ck_assert_uint_gt(d, 1000);

	ck_assert_int_eq(dtb_finish(fdt, &size, err, sizeof(err)), 0);
	ck_assert_uint_eq(prop_u32(fdt, "/", "interrupt-parent"), 1);
	/* Bookkeeping gone: the root has exactly its five properties. */
	fdt_for_each_property_offset(off, fdt, 0)
		root_props++;
	ck_assert_int_eq(root_props, 5);
	free(fdt);
}
END_TEST

START_TEST(test_fixed_clock_reuse)
{
	struct dtb_machine m = base_machine();
	uint32_t p24, p24b, p1, pmanual;
	char err[256];
	size_t size;
	void *fdt;
	int node, n24 = 0, other;

	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), 0);
	ck_assert_int_eq(dtb_fixed_clock(fdt, 24000000, &p24), 0);
	ck_assert_int_eq(dtb_fixed_clock(fdt, 24000000, &p24b), 0);
	ck_assert_uint_eq(p24, p24b);
	ck_assert_int_eq(dtb_fixed_clock(fdt, 1843200, &p1), 0);
	ck_assert_uint_ne(p1, p24);
	pmanual = dtb_alloc_phandle(fdt);
	ck_assert_uint_ne(pmanual, p1);
	ck_assert_uint_ne(pmanual, p24);
	ck_assert_int_eq(dtb_fixed_clock(fdt, 0, &p1), -EINVAL);
	ck_assert_int_eq(dtb_finish(fdt, &size, err, sizeof(err)), 0);

	fdt_for_each_subnode(node, fdt, 0) {
		const fdt32_t *f = fdt_getprop(fdt, node, "clock-frequency", NULL);

		if (f && fdt32_to_cpu(*f) == 24000000)
			n24++;
	}
	ck_assert_int_eq(n24, 1);
	node = fdt_node_offset_by_phandle(fdt, p24);
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_node_check_compatible(fdt, node, "fixed-clock"), 0);
	ck_assert_uint_eq(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(fdt, node, "#clock-cells", NULL)), 0);
	ck_assert_uint_eq(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(fdt, node, "clock-frequency", NULL)),
			  24000000);
	ck_assert_str_eq(fdt_getprop(fdt, node, "clock-output-names", NULL), "clk24mhz");
	other = fdt_node_offset_by_phandle(fdt, p1);
	ck_assert_int_ge(other, 0);
	ck_assert_int_ne(other, node);
	ck_assert_uint_eq(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(fdt, other, "clock-frequency", NULL)),
			  1843200);
	ck_assert_str_eq(fdt_getprop(fdt, other, "clock-output-names", NULL), "clk1843200hz");
	free(fdt);
}
END_TEST

START_TEST(test_overflow_is_an_error)
{
	struct dtb_machine m = base_machine();
	size_t big = DTB_MAX_SIZE + 4096;
	char *args = malloc(big), err[256] = "";
	void *fdt = (void *)1;
	int r;

	ck_assert_ptr_nonnull(args);
	memset(args, 'x', big - 1);
	args[big - 1] = '\0';
	m.bootargs = args;
	r = dtb_create(&m, &fdt, err, sizeof(err));
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_ptr_null(fdt);
	ck_assert_msg(strstr(err, "/chosen") && strstr(err, "FDT_ERR_NOSPACE"), "err: %s", err);
	free(args);
}
END_TEST

/*
 * Fill the tree to within `left` bytes, then ask for a clock: every failure
 * point inside dtb_fixed_clock must give -ENOSPC and leave no half node.
 */
START_TEST(test_clock_when_full)
{
	struct dtb_machine m = base_machine();
	int left, ok = 0, full = 0;

	for (left = 0; left <= 256; left += 4) {
		char err[256];
		uint32_t ph = 0;
		size_t size;
		void *fdt;
		int free_bytes, r, filler;

		ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), 0);
		free_bytes = (int)fdt_totalsize(fdt) - (int)fdt_off_dt_strings(fdt) -
			     (int)fdt_size_dt_strings(fdt);
		/* A property costs a 12-byte header plus its name in the strings. */
		filler = free_bytes - 12 - (int)sizeof("filler") - left;
		ck_assert_int_gt(filler, 0);
		ck_assert_int_eq(fdt_setprop_placeholder(fdt, 0, "filler", filler, &(void *){ NULL }), 0);

		r = dtb_fixed_clock(fdt, 24000000, &ph);
		if (r == 0) {
			ok++;
			ck_assert_int_ge(fdt_node_offset_by_phandle(fdt, ph), 0);
		} else {
			full++;
			ck_assert_int_eq(r, -ENOSPC);
			ck_assert_int_eq(fdt_subnode_offset(fdt, 0, "clock-24000000"),
					 -FDT_ERR_NOTFOUND);
		}
		ck_assert_int_eq(fdt_delprop(fdt, 0, "filler"), 0);
		ck_assert_int_eq(dtb_finish(fdt, &size, err, sizeof(err)), 0);
		free(fdt);
	}
	ck_assert_int_gt(full, 0);
	ck_assert_int_gt(ok, 0);
}
END_TEST

START_TEST(test_bad_input)
{
	static const uint64_t dup[] = { 1, 1 };
	struct dtb_machine m = base_machine();
	char err[256] = "";
	void *fdt = NULL;

	m.ncpus = 0;
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(fdt);

	m = base_machine();
	m.psci_method = "svc";
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "svc"));

	m = base_machine();
	m.initrd_start = 0x50000000;
	m.initrd_end = 0x40000000;
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), -EINVAL);

	m = base_machine();
	m.ncpus = 2;
	m.mpidr = dup;
	ck_assert_int_eq(dtb_create(&m, &fdt, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "/cpus"));
	ck_assert_ptr_null(fdt);
}
END_TEST

static Suite *dtb_suite(void)
{
	Suite *s = suite_create("dtb");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_root_and_one_cpu);
	tcase_add_test(tc, test_four_cpus_in_order);
	tcase_add_test(tc, test_aff3_needs_two_cells);
	tcase_add_test(tc, test_psci);
	tcase_add_test(tc, test_memory_64bit);
	tcase_add_test(tc, test_chosen);
	tcase_add_test(tc, test_refresh_chosen_for_reset);
	tcase_add_test(tc, test_interrupt_parent_and_phandles);
	tcase_add_test(tc, test_fixed_clock_reuse);
	tcase_add_test(tc, test_overflow_is_an_error);
	tcase_add_test(tc, test_clock_when_full);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dtb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
