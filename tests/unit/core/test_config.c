/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static const char *load_err(struct config *cfg, const char *text, int *rc)
{
	capture_stderr_begin();
	*rc = config_load_string(cfg, "m.ini", text);
	return capture_stderr_end();
}

START_TEST(parse_u64_forms)
{
	static const struct {
		const char *text;
		uint64_t value;
	} ok[] = {
		{"0", 0},
		{"42", 42},
		{"0x2a", 42},
		{"0X2A", 42},
		{"0b101010", 42},
		{"512M", 512ull << 20},
		{"512MiB", 512ull << 20},
		{"2G", 2ull << 30},
		{"1g", 1ull << 30},
		{"4K", 4096},
		{"16KB", 16384},
		{"1T", 1ull << 40},
		{"0x4000_0000", 0x40000000},
		{" 7 ", 7},
		{"18446744073709551615", UINT64_MAX},
		{"0xffffffffffffffff", UINT64_MAX},
	};
	static const char *const bad[] = {"", "x", "0x", "12abc", "1.5G", "-1", "0b102",
					   "1 2", "K", "0xg", "5Q", "_1"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(config_parse_u64(ok[i].text, &v) == 0, "%s", ok[i].text);
		ck_assert_msg(v == ok[i].value, "%s gave %llu", ok[i].text, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_u64(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
	ck_assert_int_eq(config_parse_u64("18446744073709551616", &v), -ERANGE);
	ck_assert_int_eq(config_parse_u64("0x10000000000000000", &v), -ERANGE);
	ck_assert_int_eq(config_parse_u64("17179869184G", &v), -ERANGE);
}
END_TEST

START_TEST(parse_bool_forms)
{
	bool b;

	ck_assert_int_eq(config_parse_bool("true", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(config_parse_bool("Off", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(config_parse_bool("yes", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(config_parse_bool("0", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(config_parse_bool("maybe", &b), -EINVAL);
	ck_assert_int_eq(config_parse_bool("", &b), -EINVAL);
}
END_TEST

START_TEST(sections_keys_and_lines)
{
	struct config cfg;
	struct cfg_section *s;
	struct cfg_key *k;
	int rc;
	const char *err = load_err(&cfg,
				   "; comment\n"
				   "[machine]\n"
				   "cpus = 2\n"
				   "\n"
				   "[device uart0]\n"
				   "plugin = pl011 ; inline comment\n"
				   "base=0x9000000\n",
				   &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(cfg.nsections, 2);
	s = config_section(&cfg, "machine");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 2);
	k = config_key(s, "cpus");
	ck_assert_int_eq(k->line, 3);
	ck_assert_str_eq(k->value, "2");
	s = config_section(&cfg, "uart0");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->name, "device uart0");
	ck_assert_int_eq(s->line, 5);
	ck_assert_str_eq(config_key(s, "plugin")->value, "pl011");
	ck_assert_int_eq(config_key(s, "base")->line, 7);
	/* "device uart0" is found by its device name, never by the raw name. */
	ck_assert_ptr_null(config_section(&cfg, "device uart0"));
	config_free(&cfg);
}
END_TEST

/*
 * Section headers as inih reads them (fuzz_config): blanks inside the
 * brackets, a UTF-8 BOM before the first one, and names longer than inih's
 * 50-byte buffer used to put the keys into a second, differently named
 * section created at the first key's line.  Our reader is the authority on
 * sections now: the keys stay in the section whose header precedes them.
 */
START_TEST(section_header_forms)
{
	struct config cfg;
	struct cfg_section *s;
	const char *err;
	char text[256];
	int rc;

	err = load_err(&cfg, "[ machine ]\ncpus = 2\n[device  uart0 ]\nplugin = pl011\n", &rc);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(cfg.nsections, 2);
	s = config_section(&cfg, "machine");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 1);
	ck_assert_ptr_nonnull(config_key(s, "cpus"));
	s = config_section(&cfg, "uart0");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 3);
	ck_assert_ptr_nonnull(config_key(s, "plugin"));
	config_free(&cfg);

	err = load_err(&cfg, "\xef\xbb\xbf[machine]\ncpus = 2\n", &rc);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(cfg.nsections, 1);
	s = config_section(&cfg, "machine");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 1);
	ck_assert_ptr_nonnull(config_key(s, "cpus"));
	config_free(&cfg);

	/* 53 characters inside the brackets: inih sees only the first 49. */
	snprintf(text, sizeof(text), "[machine]\n[device %s]\nplugin = pl011\n",
		 "a123456789b123456789c123456789d123456789e12345");
	err = load_err(&cfg, text, &rc);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(cfg.nsections, 2);
	s = config_section(&cfg, "a123456789b123456789c123456789d123456789e12345");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 2);
	ck_assert_ptr_nonnull(config_key(s, "plugin"));
	config_free(&cfg);

	/*
	 * A continuation line after a 50+ character key came back as another key
	 * with the name cut to 49 characters; indented lines are refused now.
	 */
	snprintf(text, sizeof(text), "[boot]\n%s = a\n  more\n",
		 "k123456789b123456789c123456789d123456789e123456789");
	err = load_err(&cfg, text, &rc);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(err, "m.ini:3:") && strstr(err, "indented line"), "%s", err);
	config_free(&cfg);
}
END_TEST

START_TEST(duplicate_key)
{
	struct config cfg;
	int rc;
	const char *err = load_err(&cfg, "[machine]\ncpus = 1\nmemory = 1G\ncpus = 2\n", &rc);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "m.ini:4: [machine] cpus: duplicate key (first at line 2)\n");
	config_free(&cfg);
}
END_TEST

START_TEST(duplicate_section)
{
	struct config cfg;
	int rc;
	const char *err = load_err(&cfg, "[boot]\nkernel = a\n\n[boot]\ninitrd = b\n", &rc);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "m.ini:4: duplicate section [boot] (first at line 1)\n");
	config_free(&cfg);
}
END_TEST

START_TEST(syntax_error_line)
{
	struct config cfg;
	int rc;
	const char *err = load_err(&cfg, "[machine]\ncpus = 1\nthis line has no equals\n", &rc);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err,
			 "m.ini:3: syntax error: expected '[section]' or 'key = value'\n");
	config_free(&cfg);
}
END_TEST

START_TEST(key_outside_section)
{
	struct config cfg;
	int rc;
	const char *err = load_err(&cfg, "cpus = 1\n[machine]\n", &rc);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "m.ini:1: 'cpus' is outside any [section]\n");
	config_free(&cfg);
}
END_TEST

/* Lines beyond inih's fixed line buffer (200 bytes in distro builds). */
START_TEST(long_lines_accepted)
{
	static char cmdline[5001], text[32768], huge[70000];
	struct cfg_section *b;
	struct config cfg;
	const char *err;
	size_t i;
	int rc;

	/* Words and blanks, as a kernel command line has them. */
	for (i = 0; i < sizeof(cmdline) - 1; i++)
		cmdline[i] = i % 10 == 9 ? ' ' : (char)('a' + i % 26);
	cmdline[sizeof(cmdline) - 2] = 'z';
	snprintf(text, sizeof(text),
		 "[boot]\n"
		 "cmdline = %s   ; beyond the first 200 bytes, a comment\n" /* 2 */
		 "# %s\n"						  /* 3 */
		 "initrd =%300s/i.gz\n"					  /* 4 */
		 "dtb = a ;%300s\n"					  /* 5 */
		 "kernel = x\n",					  /* 6 */
		 cmdline, cmdline, "", "b");
	err = load_err(&cfg, text, &rc);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(err, "");
	b = config_section(&cfg, "boot");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->nkeys, 4);
	ck_assert_str_eq(config_key(b, "cmdline")->value, cmdline);
	ck_assert_int_eq(config_key(b, "cmdline")->line, 2);
	ck_assert_str_eq(config_key(b, "initrd")->value, "/i.gz");
	ck_assert_int_eq(config_key(b, "initrd")->line, 4);
	ck_assert_str_eq(config_key(b, "dtb")->value, "a");
	ck_assert_str_eq(config_key(b, "kernel")->value, "x");
	ck_assert_int_eq(config_key(b, "kernel")->line, 6);
	config_free(&cfg);

	/* A bound remains, for files that are not machine descriptions at all. */
	memset(huge, 'x', sizeof(huge) - 1);
	memcpy(huge, "[boot]\ncmdline = ", 17);
	memcpy(huge + sizeof(huge) - 12, "\nkernel = x", 12);
	err = load_err(&cfg, huge, &rc);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err, "m.ini:2: line longer than 65536 characters\n");
	config_free(&cfg);
}
END_TEST

START_TEST(typed_errors_name_file_line_section_key)
{
	struct config cfg;
	struct cfg_section *m;
	uint64_t v;
	bool b;
	int rc;
	const char *err;

	load_err(&cfg, "[machine]\ncpus = two\nsmp = yes please\n", &rc);
	ck_assert_int_eq(rc, 0);
	m = config_section(&cfg, "machine");
	capture_stderr_begin();
	ck_assert_int_eq(config_u64(&cfg, m, "cpus", &v), -EINVAL);
	ck_assert_int_eq(config_bool(&cfg, m, "smp", &b), -EINVAL);
	ck_assert_int_eq(config_u64(&cfg, m, "memory", &v), -ENOENT);
	err = capture_stderr_end();
	ck_assert_str_eq(err, "m.ini:2: [machine] cpus: 'two' is not a number (use e.g. 42, 0x2a, "
			      "0b101010, 512M, 2G)\n"
			      "m.ini:3: [machine] smp: 'yes please' is not a boolean (use true or "
			      "false)\n");
	config_free(&cfg);
}
END_TEST

START_TEST(unused_keys_reported)
{
	struct config cfg;
	struct cfg_section *m;
	const char *s, *err;
	int rc;

	load_err(&cfg, "[machine]\ncpus = 1\ncpsu = 2\nmemroy = 1G\n", &rc);
	m = config_section(&cfg, "machine");
	config_str(&cfg, m, "cpus", &s);
	capture_stderr_begin();
	rc = config_check_unused(&cfg, m);
	err = capture_stderr_end();
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err,
			 "m.ini:3: [machine] cpsu: unknown key (misspelt, or not supported here)\n"
			 "m.ini:4: [machine] memroy: unknown key (misspelt, or not supported "
			 "here)\n");
	config_free(&cfg);
}
END_TEST

START_TEST(overrides)
{
	struct config cfg;
	struct cfg_section *s;
	const char *v, *err;
	int rc;

	load_err(&cfg, "[machine]\ncpus = 1\n[device uart0]\nplugin = pl011\n", &rc);
	ck_assert_int_eq(config_override(&cfg, "machine.cpus=4"), 0);
	ck_assert_int_eq(config_override(&cfg, "uart0.chardev=null"), 0);
	ck_assert_int_eq(config_override(&cfg, "boot.cmdline=console=ttyAMA0 a=b"), 0);
	s = config_section(&cfg, "machine");
	ck_assert_int_eq(config_str(&cfg, s, "cpus", &v), 0);
	ck_assert_str_eq(v, "4");
	ck_assert(config_key(s, "cpus")->override);
	ck_assert_int_eq(config_str(&cfg, config_section(&cfg, "uart0"), "chardev", &v), 0);
	ck_assert_str_eq(v, "null");
	/* The first '=' splits: the value may contain more. */
	ck_assert_int_eq(config_str(&cfg, config_section(&cfg, "boot"), "cmdline", &v), 0);
	ck_assert_str_eq(v, "console=ttyAMA0 a=b");

	capture_stderr_begin();
	ck_assert_int_eq(config_override(&cfg, "nodevice.x=1"), -EINVAL);
	ck_assert_int_eq(config_override(&cfg, "machinecpus=1"), -EINVAL);
	ck_assert_int_eq(config_override(&cfg, "machine.=1"), -EINVAL);
	err = capture_stderr_end();
	ck_assert_msg(strstr(err, "-s nodevice.x=1: no section [nodevice] or [device nodevice]"),
		      "%s", err);
	ck_assert_msg(strstr(err, "-s machinecpus=1: expected SECTION.KEY=VALUE"), "%s", err);

	/* Errors on an overridden value point at the command line, not the file. */
	s = config_section(&cfg, "machine");
	capture_stderr_begin();
	config_override(&cfg, "machine.memory=lots");
	uint64_t n;
	ck_assert_int_eq(config_u64(&cfg, s, "memory", &n), -EINVAL);
	err = capture_stderr_end();
	ck_assert_msg(strstr(err, "avmm: -s machine.memory=lots: 'lots' is not a number"), "%s",
		      err);
	config_free(&cfg);
}
END_TEST

START_TEST(paths_resolve_against_config_dir)
{
	const char *dir = test_tmpdir();
	char sub[256], *ini, *path = NULL;
	struct config cfg;
	const char *err;
	int rc;

	snprintf(sub, sizeof(sub), "%s/configs", dir);
	mkdir(sub, 0755);
	free(write_text(dir, "Image", "not really"));
	ini = write_text(sub, "m.ini", "[boot]\nkernel = ../Image\ninitrd = ../missing\n");
	ck_assert_int_eq(config_load(&cfg, ini), 0);
	ck_assert_int_eq(config_path(&cfg, config_section(&cfg, "boot"), "kernel", &path), 0);
	ck_assert_str_eq(path + strlen(path) - strlen("configs/../Image"), "configs/../Image");
	ck_assert_int_eq(access(path, R_OK), 0);
	free(path);
	capture_stderr_begin();
	rc = config_path(&cfg, config_section(&cfg, "boot"), "initrd", &path);
	err = capture_stderr_end();
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(err, "m.ini:3: [boot] initrd: cannot read '") &&
			      strstr(err, "configs/../missing': No such file or directory"),
		      "%s", err);
	config_free(&cfg);
	free(ini);
}
END_TEST

START_TEST(missing_file)
{
	struct config cfg;
	const char *err;
	int rc;

	capture_stderr_begin();
	rc = config_load(&cfg, "/nonexistent/m.ini");
	err = capture_stderr_end();
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/m.ini: cannot open machine description: No such file "
			      "or directory\n");
	config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, parse_u64_forms);
	tcase_add_test(tc, parse_bool_forms);
	tcase_add_test(tc, sections_keys_and_lines);
	tcase_add_test(tc, section_header_forms);
	tcase_add_test(tc, duplicate_key);
	tcase_add_test(tc, duplicate_section);
	tcase_add_test(tc, syntax_error_line);
	tcase_add_test(tc, key_outside_section);
	tcase_add_test(tc, long_lines_accepted);
	tcase_add_test(tc, typed_errors_name_file_line_section_key);
	tcase_add_test(tc, unused_keys_reported);
	tcase_add_test(tc, overrides);
	tcase_add_test(tc, paths_resolve_against_config_dir);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
