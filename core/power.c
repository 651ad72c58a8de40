/* SPDX-License-Identifier: MIT */
#include "power.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "psci.h"

enum power_state {
	POWER_OFF = 0,
	POWER_ON_PENDING, /* CPU_ON accepted, not yet running */
	POWER_ON,
};

struct power_cpu {
	uint64_t mpidr;
	enum power_state state;
	uint64_t entry, context;
};

struct power {
	unsigned ncpus;
	struct power_hooks hooks;
	/* One lock and one condition for every wait below: none is hot. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;
	atomic_int exit_status;
	atomic_bool reset_pending;
	/* The reset's two barriers: parked (then reset), re-initialised (then run). */
	unsigned reset_parked, reset_rejoined;
	unsigned reset_generation, rejoin_generation;
	unsigned brought_up; /* vCPUs 0 .. brought_up - 1 are up */
	struct power_cpu cpu[];
};

int power_create(struct power **out, unsigned ncpus, const uint64_t *mpidr)
{
	struct power *p = calloc(1, sizeof(*p) + ncpus * sizeof(p->cpu[0]));

	if (!p)
		return -ENOMEM;
	p->ncpus = ncpus;
	for (unsigned i = 0; i < ncpus; i++)
		p->cpu[i].mpidr = mpidr[i];
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	*out = p;
	return 0;
}

void power_destroy(struct power *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

void power_set_hooks(struct power *p, const struct power_hooks *hooks)
{
	p->hooks = *hooks;
}

static void power_wake_all(struct power *p)
{
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void power_request_stop(struct power *p, int status)
{
	bool expected = false;

	/* The first reason to stop is the one the user sees. */
	if (!atomic_compare_exchange_strong(&p->stopping, &expected, true))
		return;
	atomic_store(&p->exit_status, status);
	power_wake_all(p);
	if (p->hooks.kick_all)
		p->hooks.kick_all(p->hooks.opaque);
}

bool power_stopping(struct power *p)
{
	return atomic_load(&p->stopping);
}

int power_exit_status(struct power *p)
{
	return atomic_load(&p->exit_status);
}

void power_request_reset(struct power *p)
{
	if (atomic_exchange(&p->reset_pending, true))
		return;
	/* Wake parked secondaries (userspace PSCI) and interrupt running vCPUs. */
	power_wake_all(p);
	if (p->hooks.kick_all)
		p->hooks.kick_all(p->hooks.opaque);
}

bool power_reset_pending(struct power *p)
{
	return atomic_load(&p->reset_pending);
}

/*
 * Wait under p->lock until every vCPU has arrived (*count reaches ncpus) or
 * the machine stops.  The last to arrive returns true with the lock held and
 * the others still waiting; it lets them go with barrier_release().
 */
static bool barrier_arrive(struct power *p, unsigned *count, const unsigned *gen)
{
	unsigned mine = *gen;

	if (++*count == p->ncpus)
		return true;
	while (*gen == mine && !atomic_load(&p->stopping))
		pthread_cond_wait(&p->cond, &p->lock);
	return false;
}

static void barrier_release(struct power *p, unsigned *count, unsigned *gen)
{
	*count = 0;
	++*gen;
	pthread_cond_broadcast(&p->cond);
}

int power_park_for_reset(struct power *p, unsigned cpu)
{
	int rc = 0;

	(void)cpu;
	pthread_mutex_lock(&p->lock);
	if (barrier_arrive(p, &p->reset_parked, &p->reset_generation)) {
		/* The others wait for the generation to change: reset unlocked. */
		pthread_mutex_unlock(&p->lock);
		log_msg(AVMM_LOG_INFO, "guest requested a system reset: restarting");
		rc = p->hooks.reset ? p->hooks.reset(p->hooks.opaque) : 0;
		pthread_mutex_lock(&p->lock);
		for (unsigned i = 0; i < p->ncpus; i++)
			p->cpu[i].state = POWER_OFF;
		atomic_store(&p->reset_pending, false);
		barrier_release(p, &p->reset_parked, &p->reset_generation);
	}
	pthread_mutex_unlock(&p->lock);
	if (rc) {
		power_request_stop(p, 1);
		return -ECANCELED;
	}
	return atomic_load(&p->stopping) ? -ECANCELED : 0;
}

int power_reset_rejoin(struct power *p, unsigned cpu)
{
	(void)cpu;
	pthread_mutex_lock(&p->lock);
	if (barrier_arrive(p, &p->reset_rejoined, &p->rejoin_generation))
		barrier_release(p, &p->reset_rejoined, &p->rejoin_generation);
	pthread_mutex_unlock(&p->lock);
	return atomic_load(&p->stopping) ? -ECANCELED : 0;
}

int power_wait_bringup_turn(struct power *p, unsigned cpu)
{
	pthread_mutex_lock(&p->lock);
	while (p->brought_up != cpu && !atomic_load(&p->stopping))
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return atomic_load(&p->stopping) ? -ECANCELED : 0;
}

void power_bringup_done(struct power *p, unsigned cpu)
{
	pthread_mutex_lock(&p->lock);
	if (p->brought_up == cpu)
		p->brought_up++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void power_cpu_set(struct power *p, unsigned cpu, enum power_state state)
{
	pthread_mutex_lock(&p->lock);
	p->cpu[cpu].state = state;
	pthread_mutex_unlock(&p->lock);
}

void power_cpu_set_on(struct power *p, unsigned cpu)
{
	power_cpu_set(p, cpu, POWER_ON);
}

void power_cpu_set_off(struct power *p, unsigned cpu)
{
	power_cpu_set(p, cpu, POWER_OFF);
}

int power_cpu_wait_on(struct power *p, unsigned cpu, uint64_t *entry, uint64_t *context)
{
	struct power_cpu *c = &p->cpu[cpu];
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while (c->state != POWER_ON_PENDING && !atomic_load(&p->stopping) &&
	       !atomic_load(&p->reset_pending))
		pthread_cond_wait(&p->cond, &p->lock);
	if (atomic_load(&p->stopping)) {
		rc = -ECANCELED;
	} else if (atomic_load(&p->reset_pending)) {
		rc = -EAGAIN;
	} else {
		c->state = POWER_ON;
		*entry = c->entry;
		*context = c->context;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static struct power_cpu *power_by_mpidr(struct power *p, uint64_t mpidr)
{
	/* Only the affinity fields identify a CPU. */
	mpidr &= 0xff00ffffffull;
	for (unsigned i = 0; i < p->ncpus; i++)
		if ((p->cpu[i].mpidr & 0xff00ffffffull) == mpidr)
			return &p->cpu[i];
	return NULL;
}

int power_cpu_on(struct power *p, uint64_t mpidr, uint64_t entry, uint64_t context)
{
	struct power_cpu *c = power_by_mpidr(p, mpidr);
	int rc = PSCI_RET_SUCCESS;

	if (!c)
		return PSCI_RET_INVALID_PARAMS;
	pthread_mutex_lock(&p->lock);
	if (c->state == POWER_ON) {
		rc = PSCI_RET_ALREADY_ON;
	} else if (c->state == POWER_ON_PENDING) {
		rc = PSCI_RET_ON_PENDING;
	} else {
		c->state = POWER_ON_PENDING;
		c->entry = entry;
		c->context = context;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int power_affinity_info(struct power *p, uint64_t mpidr)
{
	struct power_cpu *c = power_by_mpidr(p, mpidr);
	int state;

	if (!c)
		return PSCI_RET_INVALID_PARAMS;
	pthread_mutex_lock(&p->lock);
	state = c->state == POWER_ON ? PSCI_AFFINITY_ON
		: c->state == POWER_ON_PENDING ? PSCI_AFFINITY_ON_PENDING
					       : PSCI_AFFINITY_OFF;
	pthread_mutex_unlock(&p->lock);
	return state;
}
