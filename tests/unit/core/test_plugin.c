/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "testutil.h"

static char *tp(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/tp_%s%s", TP_DIR, name, PLUGIN_SUFFIX_STR);
	return path;
}

START_TEST(good_plugin_loads)
{
	struct plugin p;
	char err[512] = "";

	ck_assert_int_eq(plugin_load(tp("good"), "tp_good", &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p.desc->name, "tp_good");
	ck_assert_uint_eq(p.desc->abi_major, AVMM_ABI_MAJOR);
	ck_assert_ptr_nonnull(p.desc->create);
	plugin_unload(&p);
	ck_assert_ptr_null(p.handle);
}
END_TEST

START_TEST(missing_symbol)
{
	struct plugin p;
	char err[512] = "";

	ck_assert_int_eq(plugin_load(tp("nosym"), NULL, &p, err, sizeof(err)), -ENOEXEC);
	ck_assert_msg(strstr(err, "tp_nosym") && strstr(err, "no 'avmm_plugin' symbol"), "%s",
		      err);
}
END_TEST

START_TEST(major_mismatch)
{
	struct plugin p;
	char err[512] = "", want[256];

	ck_assert_int_eq(plugin_load(tp("major"), NULL, &p, err, sizeof(err)), -EPROTO);
	snprintf(want, sizeof(want), "tp_major%s: built for plugin ABI %d.%d, this avmm provides %d.%d",
		 PLUGIN_SUFFIX_STR, AVMM_ABI_MAJOR + 1, AVMM_ABI_MINOR, AVMM_ABI_MAJOR,
		 AVMM_ABI_MINOR);
	ck_assert_msg(strstr(err, want), "%s", err);
}
END_TEST

START_TEST(newer_minor)
{
	struct plugin p;
	char err[512] = "", want[256];

	ck_assert_int_eq(plugin_load(tp("newminor"), NULL, &p, err, sizeof(err)), -EPROTO);
	snprintf(want, sizeof(want), "built for plugin ABI %d.%d, this avmm provides %d.%d",
		 AVMM_ABI_MAJOR, AVMM_ABI_MINOR + 1, AVMM_ABI_MAJOR, AVMM_ABI_MINOR);
	ck_assert_msg(strstr(err, want), "%s", err);
}
END_TEST

START_TEST(small_descriptor)
{
	struct plugin p;
	char err[512] = "";

	ck_assert_int_eq(plugin_load(tp("smalldesc"), NULL, &p, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "descriptor is 8 bytes"), "%s", err);
}
END_TEST

START_TEST(name_must_match_file)
{
	struct plugin p;
	char err[512] = "";

	ck_assert_int_eq(plugin_load(tp("good"), "pl011", &p, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "plugin calls itself 'tp_good', expected 'pl011'"), "%s", err);
}
END_TEST

START_TEST(not_a_shared_object)
{
	struct plugin p;
	char err[512] = "";

	ck_assert_int_eq(plugin_load("/etc/hostname", NULL, &p, err, sizeof(err)), -ENOEXEC);
	ck_assert_msg(strstr(err, "/etc/hostname"), "%s", err);
}
END_TEST

/* An older minor stays loadable: only major and newer minors are refused. */
START_TEST(descriptor_checks)
{
	struct avmm_plugin_desc d = {
		.struct_size = sizeof(d), .abi_major = AVMM_ABI_MAJOR, .abi_minor = 0,
		.name = "x", .create = (void *)1, .destroy = (void *)1,
	};
	char err[256];

	ck_assert_int_eq(plugin_check_desc(&d, "x.so", err, sizeof(err)), 0);
	d.name = "";
	ck_assert_int_eq(plugin_check_desc(&d, "x.so", err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "x.so: descriptor lacks a name");
	d.name = "x";
	d.create = NULL;
	ck_assert_int_eq(plugin_check_desc(&d, "x.so", err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "x.so: descriptor lacks create()");
	d.create = (void *)1;
	d.destroy = NULL;
	ck_assert_int_eq(plugin_check_desc(&d, "x.so", err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "x.so: descriptor lacks destroy()");
}
END_TEST

START_TEST(search_path)
{
	struct plugin_path pp = {0};
	char err[1024] = "", *path = NULL;

	ck_assert_int_eq(plugin_path_add(&pp, "/nonexistent:" TP_DIR "::/also-not"), 0);
	ck_assert_uint_eq(pp.count, 3);
	ck_assert_int_eq(plugin_find(&pp, "tp_good", &path, err, sizeof(err)), 0);
	ck_assert_str_eq(path, tp("good"));
	free(path);
	ck_assert_int_eq(plugin_find(&pp, "nosuch", &path, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "no plugin 'nosuch' (nosuch" PLUGIN_SUFFIX_STR
				  ") in /nonexistent, " TP_DIR ", /also-not"),
		      "%s", err);
	/* A name with a slash is a path and bypasses the search. */
	ck_assert_int_eq(plugin_find(&pp, tp("major"), &path, err, sizeof(err)), 0);
	free(path);
	plugin_path_free(&pp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc = tcase_create("loader");

	tcase_add_test(tc, good_plugin_loads);
	tcase_add_test(tc, missing_symbol);
	tcase_add_test(tc, major_mismatch);
	tcase_add_test(tc, newer_minor);
	tcase_add_test(tc, small_descriptor);
	tcase_add_test(tc, name_must_match_file);
	tcase_add_test(tc, not_a_shared_object);
	tcase_add_test(tc, descriptor_checks);
	tcase_add_test(tc, search_path);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
