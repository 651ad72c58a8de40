/* SPDX-License-Identifier: MIT */
/*
 * Recording stand-ins for the core functions arm64.c, psci.c and accel_hvf.c
 * call (power_cpu_on, vcpu_timer_update, log_msg, ram_read...), so these tests
 * do not depend on the rest of the core.
 */
#ifndef AVMM_TEST_CORE_STUBS_H
#define AVMM_TEST_CORE_STUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

struct power;

struct stub_cpu_on {
	struct power *power;
	uint64_t mpidr, entry, context;
};

struct stub_timer_event {
	unsigned cpu;
	enum avmm_cpu_timer timer;
	bool level;
};

#define STUB_MAX_RECORDS 64
#define STUB_MSG_LEN 512

struct stub_state {
	/* power_cpu_on / power_affinity_info */
	int cpu_on_result;
	unsigned ncpu_on;
	struct stub_cpu_on cpu_on[STUB_MAX_RECORDS];
	int affinity_result;
	unsigned naffinity;
	uint64_t affinity_mpidr;
	/* vcpu_timer_update */
	unsigned ntimer;
	struct stub_timer_event timer[STUB_MAX_RECORDS];
	/* vcpu_brk_exit */
	bool brk_exit;
	/* log_msg / log_vmsg */
	unsigned nlog;
	unsigned log_flags[STUB_MAX_RECORDS];
	char log[STUB_MAX_RECORDS][STUB_MSG_LEN];
};

extern struct stub_state stub;

void stub_reset(void);
/* Messages whose text contains `needle`. */
unsigned stub_log_count(const char *needle);
unsigned stub_timer_count(enum avmm_cpu_timer timer, bool level);

#endif
