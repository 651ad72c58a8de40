/* SPDX-License-Identifier: MIT */
/*
 * The in-guest benchmark tools' clock (blkbench.c, netbench.c): each is one
 * static program built on its own, so these are static inline.
 */
#ifndef AVMM_BENCH_CLOCK_H
#define AVMM_BENCH_CLOCK_H

#include <errno.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep s seconds, whatever signals arrive meanwhile. */
static inline void sleep_secs(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
