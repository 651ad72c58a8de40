/* SPDX-License-Identifier: MIT */
/* WFI sleeps and the emulated physical timer's watchdog; see idle.h. */
#include "idle.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

uint64_t idle_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cond_init(pthread_cond_t *cond)
{
#ifdef __APPLE__
	pthread_cond_init(cond, NULL); /* waits are relative: see cond_wait_until */
#else
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
#endif
}

/* Wait until woken or CLOCK_MONOTONIC reaches end_ns; ETIMEDOUT after it. */
static int cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t end_ns)
{
	uint64_t now = idle_now_ns();
	struct timespec ts;

	if (now >= end_ns)
		return ETIMEDOUT;
#ifdef __APPLE__
	ts.tv_sec = (time_t)((end_ns - now) / 1000000000u);
	ts.tv_nsec = (long)((end_ns - now) % 1000000000u);
	return pthread_cond_timedwait_relative_np(cond, lock, &ts);
#else
	ts.tv_sec = (time_t)(end_ns / 1000000000u);
	ts.tv_nsec = (long)(end_ns % 1000000000u);
	return pthread_cond_timedwait(cond, lock, &ts);
#endif
}

/* ---- WFI --------------------------------------------------------------------- */

void idle_cpu_init(struct idle_cpu *c)
{
	pthread_mutex_init(&c->lock, NULL);
	cond_init(&c->cond);
	c->kicked = false;
	atomic_init(&c->irq, false);
}

void idle_cpu_destroy(struct idle_cpu *c)
{
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

void idle_cpu_rearm(struct idle_cpu *c)
{
	pthread_mutex_lock(&c->lock);
	c->kicked = false;
	pthread_mutex_unlock(&c->lock);
}

void idle_cpu_kick(struct idle_cpu *c)
{
	pthread_mutex_lock(&c->lock);
	c->kicked = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

bool idle_cpu_set_irq(struct idle_cpu *c, bool level)
{
	if (atomic_exchange(&c->irq, level) == level)
		return false;
	if (level) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	return true;
}

bool idle_cpu_irq(struct idle_cpu *c)
{
	return atomic_load(&c->irq);
}

bool idle_cpu_wait(struct idle_cpu *c, uint64_t ns)
{
	uint64_t end = ns == ARM64_NO_DEADLINE ? 0 : idle_now_ns() + ns;
	bool kicked;

	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->irq) && !c->kicked) {
		if (ns == ARM64_NO_DEADLINE)
			pthread_cond_wait(&c->cond, &c->lock);
		else if (cond_wait_until(&c->cond, &c->lock, end) == ETIMEDOUT)
			break;
	}
	kicked = c->kicked;
	pthread_mutex_unlock(&c->lock);
	return kicked;
}

uint64_t idle_wfi_ns(uint64_t vctl, uint64_t vcval, bool vmasked, uint64_t pctl,
		     uint64_t pcval, uint64_t now, uint64_t freq)
{
	uint64_t ns, pns;

	if (!vmasked && arm64_timer_line(vctl, vcval, now))
		return 0;
	ns = vmasked ? ARM64_NO_DEADLINE : arm64_timer_deadline_ns(vctl, vcval, now, freq);
	pns = arm64_timer_deadline_ns(pctl, pcval, now, freq);
	return pns < ns ? pns : ns;
}

/* ---- the physical timer's watchdog ------------------------------------------- */

struct idle_watchdog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;
	unsigned ncpus;
	uint64_t (*count)(void *opaque);
	uint64_t freq;
	void (*kick)(void *opaque, unsigned cpu);
	void *opaque;
	struct {
		uint64_t deadline;  /* guest count; under lock */
		uint64_t published; /* the owner thread's last arm: skip repeats */
	} cpu[];
};

int idle_watchdog_create(struct idle_watchdog **out, unsigned ncpus,
			 uint64_t (*count)(void *opaque), uint64_t freq,
			 void (*kick)(void *opaque, unsigned cpu), void *opaque)
{
	struct idle_watchdog *w = calloc(1, sizeof(*w) + ncpus * sizeof(w->cpu[0]));

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	cond_init(&w->cond);
	w->ncpus = ncpus;
	w->count = count;
	w->freq = freq;
	w->kick = kick;
	w->opaque = opaque;
	for (unsigned i = 0; i < ncpus; i++)
		w->cpu[i].deadline = w->cpu[i].published = IDLE_NEVER;
	*out = w;
	return 0;
}

void idle_watchdog_destroy(struct idle_watchdog *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void *watchdog_main(void *arg)
{
	struct idle_watchdog *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		uint64_t now = w->count(w->opaque), next = IDLE_NEVER, ns;

		for (unsigned i = 0; i < w->ncpus; i++) {
			uint64_t d = w->cpu[i].deadline;

			if (d == IDLE_NEVER)
				continue;
			if (d <= now) {
				/* Once: the vCPU re-arms after it has seen the level. */
				w->cpu[i].deadline = IDLE_NEVER;
				w->kick(w->opaque, i);
			} else if (d < next) {
				next = d;
			}
		}
		ns = next == IDLE_NEVER ? ARM64_NO_DEADLINE :
			arm64_timer_deadline_ns(ARM64_CNT_CTL_ENABLE, next, now, w->freq);

		if (ns == ARM64_NO_DEADLINE)
			pthread_cond_wait(&w->cond, &w->lock);
		else
			cond_wait_until(&w->cond, &w->lock, idle_now_ns() + ns);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void watchdog_arm(struct idle_watchdog *w, unsigned cpu, uint64_t deadline)
{
	if (cpu >= w->ncpus || w->cpu[cpu].published == deadline)
		return;
	w->cpu[cpu].published = deadline;
	pthread_mutex_lock(&w->lock);
	w->cpu[cpu].deadline = deadline;
	if (deadline != IDLE_NEVER && !w->started && !w->stop) {
		if (pthread_create(&w->thread, NULL, watchdog_main, w) == 0)
			w->started = true;
		else
			log_warn("cannot start the physical timer thread; CNTP interrupts "
				 "arrive only at the next exit");
	}
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

bool idle_watchdog_sync(struct idle_watchdog *w, unsigned cpu, uint64_t ctl, uint64_t cval,
			uint64_t now)
{
	bool level = arm64_timer_line(ctl, cval, now);

	if ((ctl & ARM64_CNT_CTL_ENABLE) && !(ctl & ARM64_CNT_CTL_IMASK) && !level)
		watchdog_arm(w, cpu, cval);
	else
		watchdog_arm(w, cpu, IDLE_NEVER);
	return level;
}

void idle_watchdog_disarm(struct idle_watchdog *w, unsigned cpu)
{
	if (cpu >= w->ncpus)
		return;
	pthread_mutex_lock(&w->lock);
	w->cpu[cpu].deadline = IDLE_NEVER;
	w->cpu[cpu].published = IDLE_NEVER;
	pthread_mutex_unlock(&w->lock);
}
