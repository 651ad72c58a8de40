/* SPDX-License-Identifier: MIT */
/*
 * log_ratelimit shared between threads, as a device's guest-error limiter is
 * shared by every vCPU that touches the device: no message is lost from the
 * count, none beyond the burst gets through, and (in the TSan build) no data
 * race on the way.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "testutil.h"

#define NTHREADS 4
#define CALLS 5000
#define BURST 10
#define SEC 1000000000ull

static struct log_ratelimit shared_rl;
static _Atomic uint64_t fake_now;
static pthread_barrier_t start;

struct worker {
	bool advance; /* each call moves the shared clock on by 1 ms */
	unsigned ok;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start);
	for (int i = 0; i < CALLS; i++) {
		uint64_t now = w->advance ? atomic_fetch_add(&fake_now, 1000000) : 5 * SEC;

		w->ok += log_ratelimit_ok(&shared_rl, now, BURST);
	}
	return NULL;
}

static unsigned run_workers(bool advance)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	unsigned ok = 0;

	memset(&shared_rl, 0, sizeof(shared_rl));
	atomic_store(&fake_now, 5 * SEC);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .advance = advance };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	pthread_barrier_destroy(&start);
	return ok;
}

/* All at one instant: exactly the burst passes, every other call is counted. */
START_TEST(shared_burst_is_exact)
{
	unsigned ok = run_workers(false);

	ck_assert_uint_eq(ok, BURST);
	ck_assert_uint_eq(log_ratelimit_take_suppressed(&shared_rl), NTHREADS * CALLS - BURST);
	ck_assert_uint_eq(log_ratelimit_take_suppressed(&shared_rl), 0);
}
END_TEST

/* With time running: at most the burst plus one a second, nothing lost from the count. */
START_TEST(shared_refill_is_bounded)
{
	const unsigned total = NTHREADS * CALLS;
	const unsigned seconds = total / 1000; /* 1 ms per call */
	unsigned ok = run_workers(true);

	ck_assert_uint_ge(ok, BURST);
	ck_assert_uint_le(ok, BURST + seconds);
	ck_assert_uint_eq(log_ratelimit_take_suppressed(&shared_rl), total - ok);
}
END_TEST

/* ---- through the host services table, as plugins on several vCPUs log ---- */

static struct avmm_dev logdev = { .name = "d" };

static void *guest_errors(void *arg)
{
	pthread_barrier_wait(&start);
	for (int i = 0; i < CALLS / 10; i++)
		device_host.log(&logdev, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR, "bad access");
	return NULL;
}

START_TEST(device_log_counts_every_message)
{
	const unsigned total = NTHREADS * (CALLS / 10);
	unsigned printed = 0, reported = 0;
	pthread_t t[NTHREADS];
	const char *err, *p;

	pthread_barrier_init(&start, NULL, NTHREADS);
	capture_stderr_begin();
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, guest_errors, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	err = capture_stderr_end();
	pthread_barrier_destroy(&start);

	for (p = err; (p = strstr(p, "avmm: d: guest error: bad access\r\n")); p++)
		printed++;
	for (p = err; (p = strstr(p, "avmm: d: warning: ")); p++) {
		unsigned n;

		ck_assert_int_eq(sscanf(p, "avmm: d: warning: %u similar messages suppressed", &n), 1);
		reported += n;
	}
	/* The burst, plus one a second if the run straddled a refill. */
	ck_assert_uint_ge(printed, BURST);
	ck_assert_msg(printed <= BURST + 5, "%u printed:\n%.3000s", printed, err);
	/* Every call was either printed or is in a suppressed count. */
	ck_assert_uint_eq(printed + reported + log_ratelimit_take_suppressed(&logdev.rl_guest),
			  total);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_test(tc, shared_burst_is_exact);
	tcase_add_test(tc, shared_refill_is_bounded);
	tcase_add_test(tc, device_log_counts_every_message);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
