/* SPDX-License-Identifier: MIT */
#ifndef AVMM_TESTS_TESTUTIL_H
#define AVMM_TESTS_TESTUTIL_H

#include <stddef.h>

#include <check.h>

/* Capture what the code under test prints to stderr. */
void capture_stderr_begin(void);
/* Returns a static buffer with everything printed since begin. */
const char *capture_stderr_end(void);

/* A fresh temporary directory (removed by the OS's tmp cleaning). */
const char *test_tmpdir(void);
/* Write text to dir/name; returns the malloc'ed path. */
char *write_text(const char *dir, const char *name, const char *text);

/* Run one suite the usual way; the process exit status for main(). */
int test_run_suite(Suite *s);

#endif
