/* SPDX-License-Identifier: MIT */
#include "cputimer.h"

#include <errno.h>
#include <stdlib.h>

struct cputimer_sub {
	struct avmm_dev *dev;
	pthread_mutex_t *lock;
	avmm_cpu_timer_fn fn;
	void *opaque;
};

struct cputimer {
	unsigned ncpus;
	bool frozen;
	size_t nsubs;
	struct cputimer_sub subs[CPUTIMER_MAX_SUBS];
	/* Per vCPU, written only on its own thread. */
	bool level[][2];
};

int cputimer_create(struct cputimer **out, unsigned ncpus)
{
	struct cputimer *t = calloc(1, sizeof(*t) + ncpus * sizeof(t->level[0]));

	if (!t)
		return -ENOMEM;
	t->ncpus = ncpus;
	*out = t;
	return 0;
}

void cputimer_destroy(struct cputimer *t)
{
	free(t);
}

int cputimer_subscribe(struct cputimer *t, struct avmm_dev *dev, pthread_mutex_t *lock,
		       avmm_cpu_timer_fn fn, void *opaque)
{
	if (t->frozen)
		return -EBUSY;
	if (t->nsubs == CPUTIMER_MAX_SUBS)
		return -ENOSPC;
	t->subs[t->nsubs++] = (struct cputimer_sub){dev, lock, fn, opaque};
	return 0;
}

void cputimer_freeze(struct cputimer *t)
{
	t->frozen = true;
}

void cputimer_update(struct cputimer *t, unsigned cpu, enum avmm_cpu_timer timer, bool level)
{
	if (cpu >= t->ncpus || (unsigned)timer > AVMM_CPU_TIMER_PHYS ||
	    t->level[cpu][timer] == level)
		return;
	t->level[cpu][timer] = level;
	for (size_t i = 0; i < t->nsubs; i++) {
		struct cputimer_sub *s = &t->subs[i];

		pthread_mutex_lock(s->lock);
		s->fn(s->opaque, cpu, timer, level);
		pthread_mutex_unlock(s->lock);
	}
}

void cputimer_reset(struct cputimer *t, unsigned cpu)
{
	cputimer_update(t, cpu, AVMM_CPU_TIMER_VIRT, false);
	cputimer_update(t, cpu, AVMM_CPU_TIMER_PHYS, false);
}

size_t cputimer_count(const struct cputimer *t)
{
	return t->nsubs;
}

struct avmm_dev *cputimer_subscriber(const struct cputimer *t, size_t i)
{
	return i < t->nsubs ? t->subs[i].dev : NULL;
}
