/* SPDX-License-Identifier: MIT */
/*
 * CPU timer subscriptions.  This module owns the list of devices that receive
 * the accelerator's per-vCPU timer output levels (the timer plugin) and the
 * last level reported per vCPU and timer, so subscribers only see changes.
 * It sits below the device layer (subscriptions come through the host table)
 * and below vcpu.c (which forwards backend reports); it calls only into the
 * subscribers, under the lock each gave.
 */
#ifndef AVMM_CORE_CPUTIMER_H
#define AVMM_CORE_CPUTIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <avmm/avmm.h>

#define CPUTIMER_MAX_SUBS 4

struct cputimer;

int cputimer_create(struct cputimer **out, unsigned ncpus);
void cputimer_destroy(struct cputimer *t);

/* -EBUSY once frozen (the vCPUs run), -ENOSPC past CPUTIMER_MAX_SUBS. */
int cputimer_subscribe(struct cputimer *t, struct avmm_dev *dev, pthread_mutex_t *lock,
		       avmm_cpu_timer_fn fn, void *opaque);
/* No more subscriptions: from here on the list is read without a lock. */
void cputimer_freeze(struct cputimer *t);

/* On vCPU `cpu`'s thread: a timer output is `level` (changes reach subscribers). */
void cputimer_update(struct cputimer *t, unsigned cpu, enum avmm_cpu_timer timer, bool level);
/* On vCPU `cpu`'s thread, at a reset: its timer outputs drop (reported). */
void cputimer_reset(struct cputimer *t, unsigned cpu);

size_t cputimer_count(const struct cputimer *t);
struct avmm_dev *cputimer_subscriber(const struct cputimer *t, size_t i);

#endif
