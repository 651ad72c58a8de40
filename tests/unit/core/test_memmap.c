/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memmap.h"
#include "testutil.h"
#include "ram.h"

static struct mmio_region region(uint64_t base, uint64_t size)
{
	return (struct mmio_region){.base = base, .size = size};
}

START_TEST(add_and_find)
{
	struct memmap m;
	struct mmio_region r;

	memmap_init(&m);
	r = region(0x9000000, 0x1000);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);
	r = region(0x8000000, 0x10000);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);
	r = region(0x8010000, 0x10000); /* adjacent: fine */
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_uint_eq(m.regions[0].base, 0x8000000); /* kept sorted */

	ck_assert_ptr_null(memmap_find(&m, 0));
	ck_assert_ptr_null(memmap_find(&m, 0x7ffffff));
	ck_assert_uint_eq(memmap_find(&m, 0x8000000)->base, 0x8000000);
	ck_assert_uint_eq(memmap_find(&m, 0x800ffff)->base, 0x8000000);
	ck_assert_uint_eq(memmap_find(&m, 0x8010000)->base, 0x8010000);
	ck_assert_uint_eq(memmap_find(&m, 0x801ffff)->base, 0x8010000);
	ck_assert_ptr_null(memmap_find(&m, 0x8020000));
	ck_assert_uint_eq(memmap_find(&m, 0x9000fff)->base, 0x9000000);
	ck_assert_ptr_null(memmap_find(&m, 0x9001000));
	ck_assert_ptr_null(memmap_find(&m, UINT64_MAX));
	memmap_free(&m);
}
END_TEST

START_TEST(overlaps_rejected_with_conflict)
{
	struct memmap m;
	struct mmio_region r;
	const struct mmio_region *c;

	memmap_init(&m);
	r = region(0x1000, 0x1000);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);
	r = region(0x3000, 0x1000);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);

	static const uint64_t cases[][3] = {
		/* base, size, conflicting base */
		{0x1000, 0x1000, 0x1000}, {0x1fff, 1, 0x1000},	 {0x0, 0x1001, 0x1000},
		{0x2fff, 2, 0x3000},	  {0x2000, 0x2000, 0x3000}, {0x0, 0x10000, 0x1000},
		{0x3800, 0x10, 0x3000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = region(cases[i][0], cases[i][1]);
		ck_assert_int_eq(memmap_add(&m, &r, &c), -EEXIST);
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_eq(c->base, cases[i][2]);
	}
	r = region(0x2000, 0x1000); /* exactly the hole */
	ck_assert_int_eq(memmap_add(&m, &r, &c), 0);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(m.count, 3);
	memmap_free(&m);
}
END_TEST

START_TEST(zero_and_wrapping_rejected)
{
	struct memmap m;
	struct mmio_region r;

	memmap_init(&m);
	r = region(0x1000, 0);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), -EINVAL);
	r = region(UINT64_MAX - 0xfff, 0x2000);
	ck_assert_int_eq(memmap_add(&m, &r, NULL), -ERANGE);
	r = region(UINT64_MAX - 0xfff, 0x1000); /* ends exactly at the top */
	ck_assert_int_eq(memmap_add(&m, &r, NULL), 0);
	ck_assert_ptr_nonnull(memmap_find(&m, UINT64_MAX));
	ck_assert_uint_eq(m.count, 1);
	memmap_free(&m);
}
END_TEST

/* Random regions against a linear reference model. */
START_TEST(random_against_reference)
{
	struct memmap m;
	struct mmio_region r, ref[512];
	size_t nref = 0;

	srand(1234);
	memmap_init(&m);
	for (int i = 0; i < 2000; i++) {
		uint64_t base = (uint64_t)(rand() % 4096) * 0x100;
		uint64_t size = (uint64_t)(rand() % 8 + 1) * 0x80;
		bool overlap = false;
		int rc;

		for (size_t j = 0; j < nref; j++)
			overlap |= base < ref[j].base + ref[j].size && ref[j].base < base + size;
		r = region(base, size);
		rc = memmap_add(&m, &r, NULL);
		ck_assert_int_eq(rc, overlap ? -EEXIST : 0);
		if (!rc && nref < 512)
			ref[nref++] = r;
		else if (!rc)
			ck_abort_msg("reference model full");
		if (nref == 512)
			break;
	}
	for (uint64_t a = 0; a < 4096 * 0x100 + 0x400; a += 0x40) {
		const struct mmio_region *f = memmap_find(&m, a);
		const struct mmio_region *want = NULL;

		for (size_t j = 0; j < nref; j++)
			if (a >= ref[j].base && a < ref[j].base + ref[j].size)
				want = &ref[j];
		if (!want)
			ck_assert_ptr_null(f);
		else
			ck_assert_msg(f && f->base == want->base, "addr 0x%llx",
				      (unsigned long long)a);
	}
	memmap_free(&m);
}
END_TEST

START_TEST(ram_accessor_bounds)
{
	struct guest_ram ram;
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	ck_assert_int_eq(ram_alloc(&ram, 0x40000000, 0), -EINVAL);
	ck_assert_int_eq(ram_alloc(&ram, 0x40000000, 0x1000), -EINVAL); /* not 16K */
	ck_assert_int_eq(ram_alloc(&ram, 0x40001000, 0x4000), -EINVAL);
	ck_assert_int_eq(ram_alloc(&ram, UINT64_MAX - 0x3fff, 0x8000), -EINVAL);
	ck_assert_int_eq(ram_alloc(&ram, 0x40000000, 0x10000), 0);

	ck_assert_ptr_eq(ram_ptr(&ram, 0x40000000, 1), ram.host);
	ck_assert_ptr_eq(ram_ptr(&ram, 0x4000ffff, 1), ram.host + 0xffff);
	ck_assert_ptr_eq(ram_ptr(&ram, 0x40000000, 0x10000), ram.host);
	ck_assert_ptr_null(ram_ptr(&ram, 0x40000000, 0x10001));
	ck_assert_ptr_null(ram_ptr(&ram, 0x4000ffff, 2));
	ck_assert_ptr_null(ram_ptr(&ram, 0x3fffffff, 1));
	ck_assert_ptr_null(ram_ptr(&ram, 0x40010000, 1));
	ck_assert_ptr_null(ram_ptr(&ram, 0x40000000, 0));
	/* Sums that would wrap must not pass. */
	ck_assert_ptr_null(ram_ptr(&ram, 0x40000008, UINT64_MAX));
	ck_assert_ptr_null(ram_ptr(&ram, UINT64_MAX, 2));

	ck_assert_int_eq(ram_write(&ram, 0x4000fff8, buf, 8), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(ram_read(&ram, 0x4000fff8, buf, 8), 0);
	ck_assert_uint_eq(buf[7], 8);
	ck_assert_int_eq(ram_write(&ram, 0x4000fff9, buf, 8), -EFAULT);
	ck_assert_int_eq(ram_read(&ram, 0x3ffffffc, buf, 8), -EFAULT);
	ram_free(&ram);
	ck_assert_ptr_null(ram_ptr(&ram, 0x40000000, 1));
}
END_TEST

/*
 * A later vhost-user backend maps guest RAM from ram_fd(): that mapping must
 * be the same pages, both ways, and 16K-aligned like RAM itself.
 */
START_TEST(ram_fd_maps_the_same_bytes)
{
	struct guest_ram ram;
	uint8_t v = 0x5a;
	uint8_t *alias;

	ck_assert_int_eq(ram_alloc(&ram, 0x40000000, 0x10000), 0);
	ck_assert_uint_eq((uintptr_t)ram.host % RAM_ALIGN, 0);
#ifdef __linux__
	ck_assert_int_ge(ram_fd(&ram), 0);
	ck_assert_int_ne(fcntl(ram_fd(&ram), F_GETFD) & FD_CLOEXEC, 0);
	alias = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd(&ram), 0);
	ck_assert_ptr_ne(alias, MAP_FAILED);
	ck_assert_int_eq(ram_write(&ram, 0x4000abcd, &v, 1), 0);
	ck_assert_uint_eq(alias[0xabcd], 0x5a);
	alias[0x10] = 0xa5;
	ck_assert_int_eq(ram_read(&ram, 0x40000010, &v, 1), 0);
	ck_assert_uint_eq(v, 0xa5);
	munmap(alias, 0x10000);
#else
	(void)v, (void)alias;
	ck_assert_int_eq(ram_fd(&ram), -1);
#endif
	ram_free(&ram);
	ck_assert_int_eq(ram_fd(&ram), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memmap");
	TCase *tc = tcase_create("memmap");

	tcase_add_test(tc, add_and_find);
	tcase_add_test(tc, overlaps_rejected_with_conflict);
	tcase_add_test(tc, zero_and_wrapping_rejected);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, ram_accessor_bounds);
	tcase_add_test(tc, ram_fd_maps_the_same_bytes);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
