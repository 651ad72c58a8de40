/* SPDX-License-Identifier: MIT */
/* A recording, scriptable fake of the Hypervisor.framework subset avmm uses. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mach/mach_time.h>

#include "hvf_fake.h"

struct fake_vcpu {
	int created;
	pthread_t owner;
	hv_vcpu_exit_t exit;
	uint64_t regs[35];
	uint64_t *sys; /* 65536 entries, indexed by hv_sys_reg_t */
	int pending_irq;
	int vtimer_masked;
	uint64_t vtimer_offset;
	atomic_int exit_latch;
	struct hvf_fake_step steps[HVF_FAKE_MAX_STEPS];
	size_t nsteps, next;
	unsigned overruns;
};

struct hv_vm_config_s {
	uint32_t ipa_bits;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_vcpu vcpus[HVF_FAKE_MAX_VCPUS];
static unsigned nvcpus;
static struct hvf_fake_event events[HVF_FAKE_MAX_EVENTS];
static size_t nevents;
static atomic_ulong ncalls;
static atomic_uint wrong_thread;
static _Atomic int64_t clock_skew;

static hv_return_t vm_create_result;
static int vm_exists;
static unsigned vm_creates;
static uint32_t vm_ipa_bits;
static int config_available = 1;
static uint32_t config_default_ipa = 36, config_max_ipa = 40;
static unsigned configs_live;
static unsigned nmaps;
static struct hvf_fake_map last_map;

static void record(enum hvf_fake_ev_type type, unsigned vcpu, uint32_t reg, uint64_t value)
{
	pthread_mutex_lock(&fake_lock);
	if (nevents < HVF_FAKE_MAX_EVENTS)
		events[nevents++] = (struct hvf_fake_event){ type, vcpu, reg, value };
	pthread_mutex_unlock(&fake_lock);
}

/* The vCPU for a per-thread call; counts calls from the wrong thread. */
static struct fake_vcpu *own(hv_vcpu_t id)
{
	atomic_fetch_add(&ncalls, 1);
	if (id >= HVF_FAKE_MAX_VCPUS || !vcpus[id].created)
		return NULL;
	if (!pthread_equal(pthread_self(), vcpus[id].owner))
		atomic_fetch_add(&wrong_thread, 1);
	return &vcpus[id];
}

void hvf_fake_reset(void)
{
	for (unsigned i = 0; i < HVF_FAKE_MAX_VCPUS; i++) {
		free(vcpus[i].sys);
		memset(&vcpus[i], 0, sizeof(vcpus[i]));
	}
	nvcpus = 0;
	nevents = 0;
	atomic_store(&ncalls, 0);
	atomic_store(&wrong_thread, 0);
	atomic_store(&clock_skew, 0);
	vm_create_result = HV_SUCCESS;
	vm_exists = 0;
	vm_creates = 0;
	vm_ipa_bits = 0;
	config_available = 1;
	config_default_ipa = 36;
	config_max_ipa = 40;
	configs_live = 0;
	nmaps = 0;
	memset(&last_map, 0, sizeof(last_map));
}

void hvf_fake_script(unsigned vcpu, const struct hvf_fake_step *steps, size_t n)
{
	struct fake_vcpu *v = &vcpus[vcpu];

	if (n > HVF_FAKE_MAX_STEPS)
		n = HVF_FAKE_MAX_STEPS;
	memcpy(v->steps, steps, n * sizeof(*steps));
	v->nsteps = n;
	v->next = 0;
	v->overruns = 0;
}

size_t hvf_fake_steps_done(unsigned vcpu)
{
	return vcpus[vcpu].next;
}

unsigned hvf_fake_overruns(unsigned vcpu)
{
	return vcpus[vcpu].overruns;
}

void hvf_fake_set_vm_create_result(hv_return_t r)
{
	vm_create_result = r;
}

void hvf_fake_set_vm_config(int available, uint32_t default_ipa, uint32_t max_ipa)
{
	config_available = available;
	config_default_ipa = default_ipa;
	config_max_ipa = max_ipa;
}

uint32_t hvf_fake_vm_ipa_bits(void)
{
	return vm_ipa_bits;
}

int hvf_fake_vm_exists(void)
{
	return vm_exists;
}

unsigned hvf_fake_vm_creates(void)
{
	return vm_creates;
}

unsigned hvf_fake_configs_live(void)
{
	return configs_live;
}

unsigned hvf_fake_maps(struct hvf_fake_map *last)
{
	if (last)
		*last = last_map;
	return nmaps;
}

uint64_t hvf_fake_reg(unsigned vcpu, hv_reg_t reg)
{
	return vcpus[vcpu].regs[reg];
}

void hvf_fake_set_reg(unsigned vcpu, hv_reg_t reg, uint64_t v)
{
	vcpus[vcpu].regs[reg] = v;
}

uint64_t hvf_fake_sys_reg(unsigned vcpu, uint16_t reg)
{
	return vcpus[vcpu].sys ? vcpus[vcpu].sys[reg] : 0;
}

void hvf_fake_set_sys_reg(unsigned vcpu, uint16_t reg, uint64_t v)
{
	if (vcpus[vcpu].sys)
		vcpus[vcpu].sys[reg] = v;
}

int hvf_fake_vtimer_masked(unsigned vcpu)
{
	return vcpus[vcpu].vtimer_masked;
}

uint64_t hvf_fake_vtimer_offset(unsigned vcpu)
{
	return vcpus[vcpu].vtimer_offset;
}

unsigned hvf_fake_vcpus_created(void)
{
	return nvcpus;
}

size_t hvf_fake_events(struct hvf_fake_event *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&fake_lock);
	n = nevents < max ? nevents : max;
	memcpy(out, events, n * sizeof(*out));
	pthread_mutex_unlock(&fake_lock);
	return n;
}

unsigned hvf_fake_count(enum hvf_fake_ev_type type, int vcpu)
{
	unsigned n = 0;

	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == type && (vcpu < 0 || events[i].vcpu == (unsigned)vcpu))
			n++;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

unsigned hvf_fake_count_reg(enum hvf_fake_ev_type type, unsigned vcpu, uint32_t reg)
{
	unsigned n = 0;

	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == type && events[i].vcpu == vcpu && events[i].reg == reg)
			n++;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

unsigned long hvf_fake_calls(void)
{
	return atomic_load(&ncalls);
}

unsigned hvf_fake_wrong_thread(void)
{
	return atomic_load(&wrong_thread);
}

void hvf_fake_clock_skew(int64_t ticks)
{
	atomic_store(&clock_skew, ticks);
}

/* ---- <mach/mach_time.h> -------------------------------------------------- */

/* Apple Silicon's timebase: 125/3 ns per tick, a 24 MHz counter. */
int mach_timebase_info(mach_timebase_info_t info)
{
	info->numer = 125;
	info->denom = 3;
	return 0;
}

uint64_t mach_absolute_time(void)
{
	struct timespec ts;
	uint64_t ns;

	atomic_fetch_add(&ncalls, 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return ns * 3 / 125 + (uint64_t)atomic_load(&clock_skew);
}

void os_release(void *object)
{
	atomic_fetch_add(&ncalls, 1);
	if (object) {
		free(object);
		configs_live--;
	}
}

/* ---- VM ------------------------------------------------------------------ */

hv_vm_config_t hv_vm_config_create(void)
{
	hv_vm_config_t cfg;

	atomic_fetch_add(&ncalls, 1);
	if (!config_available)
		return NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg) {
		cfg->ipa_bits = config_default_ipa;
		configs_live++;
	}
	return cfg;
}

hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *ipa_bit_length)
{
	atomic_fetch_add(&ncalls, 1);
	*ipa_bit_length = config_max_ipa;
	return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *ipa_bit_length)
{
	atomic_fetch_add(&ncalls, 1);
	*ipa_bit_length = config_default_ipa;
	return HV_SUCCESS;
}

hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t config, uint32_t ipa_bit_length)
{
	atomic_fetch_add(&ncalls, 1);
	if (!config || ipa_bit_length > config_max_ipa)
		return HV_BAD_ARGUMENT;
	config->ipa_bits = ipa_bit_length;
	return HV_SUCCESS;
}

hv_return_t hv_vm_create(hv_vm_config_t config)
{
	atomic_fetch_add(&ncalls, 1);
	if (vm_create_result != HV_SUCCESS)
		return vm_create_result;
	if (vm_exists)
		return HV_BUSY; /* one VM per process */
	vm_exists = 1;
	vm_creates++;
	vm_ipa_bits = config ? config->ipa_bits : 0;
	return HV_SUCCESS;
}

hv_return_t hv_vm_destroy(void)
{
	atomic_fetch_add(&ncalls, 1);
	if (!vm_exists)
		return HV_BAD_ARGUMENT;
	vm_exists = 0;
	return HV_SUCCESS;
}

hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)
{
	atomic_fetch_add(&ncalls, 1);
	if (!vm_exists)
		return HV_BAD_ARGUMENT;
	/* The real call insists on 16 KiB alignment too. */
	if (((uintptr_t)addr | ipa | size) & 0x3fff)
		return HV_BAD_ARGUMENT;
	nmaps++;
	last_map = (struct hvf_fake_map){ addr, ipa, size, flags };
	return HV_SUCCESS;
}

/* ---- vCPU ---------------------------------------------------------------- */

hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config)
{
	struct fake_vcpu *v;
	unsigned id;

	atomic_fetch_add(&ncalls, 1);
	if (!vm_exists)
		return HV_BAD_ARGUMENT;
	pthread_mutex_lock(&fake_lock);
	if (nvcpus >= HVF_FAKE_MAX_VCPUS) {
		pthread_mutex_unlock(&fake_lock);
		return HV_NO_RESOURCES;
	}
	id = nvcpus++;
	pthread_mutex_unlock(&fake_lock);
	v = &vcpus[id];
	/* Keep a script installed before creation. */
	v->sys = calloc(1u << 16, sizeof(uint64_t));
	if (!v->sys)
		return HV_NO_RESOURCES;
	v->sys[HV_SYS_REG_ID_AA64PFR0_EL1] = HVF_FAKE_ID_AA64PFR0;
	v->owner = pthread_self();
	v->created = 1;
	*vcpu = id;
	*exit = &v->exit;
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	v->created = 0;
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_run(hv_vcpu_t vcpu)
{
	struct fake_vcpu *v = own(vcpu);
	const struct hvf_fake_step *s;

	if (!v)
		return HV_BAD_ARGUMENT;
	record(HVF_EV_RUN, (unsigned)vcpu, 0, (uint64_t)v->pending_irq);
	v->pending_irq = 0; /* HVF clears it whenever run returns */
	memset(&v->exit, 0, sizeof(v->exit));
	if (atomic_exchange(&v->exit_latch, 0)) {
		v->exit.reason = HV_EXIT_REASON_CANCELED;
		return HV_SUCCESS;
	}
	if (v->next >= v->nsteps) {
		v->overruns++;
		v->exit.reason = HV_EXIT_REASON_CANCELED;
		return HV_SUCCESS;
	}
	s = &v->steps[v->next++];
	if (s->guest)
		s->guest(vcpu, s->arg);
	v->exit.reason = s->reason;
	v->exit.exception.syndrome = s->syndrome;
	v->exit.exception.virtual_address = s->va;
	v->exit.exception.physical_address = s->pa;
	if (s->reason == HV_EXIT_REASON_VTIMER_ACTIVATED)
		v->vtimer_masked = 1;
	return HV_SUCCESS;
}

hv_return_t hv_vcpus_exit(hv_vcpu_t *ids, uint32_t count)
{
	atomic_fetch_add(&ncalls, 1);
	for (uint32_t i = 0; i < count; i++) {
		if (ids[i] >= HVF_FAKE_MAX_VCPUS)
			return HV_BAD_ARGUMENT;
		/* Not running in the fake: the next run returns at once. */
		atomic_store(&vcpus[ids[i]].exit_latch, 1);
		record(HVF_EV_VCPUS_EXIT, (unsigned)ids[i], 0, 0);
	}
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v || (unsigned)reg > HV_REG_CPSR)
		return HV_BAD_ARGUMENT;
	*value = v->regs[reg];
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v || (unsigned)reg > HV_REG_CPSR)
		return HV_BAD_ARGUMENT;
	v->regs[reg] = value;
	record(HVF_EV_SET_REG, (unsigned)vcpu, (uint32_t)reg, value);
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	*value = v->sys[(uint16_t)reg];
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	v->sys[(uint16_t)reg] = value;
	record(HVF_EV_SET_SYS_REG, (unsigned)vcpu, (uint32_t)reg, value);
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v || type != HV_INTERRUPT_TYPE_IRQ)
		return HV_BAD_ARGUMENT;
	v->pending_irq = pending;
	record(HVF_EV_PENDING_IRQ, (unsigned)vcpu, 0, pending);
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	v->vtimer_masked = vtimer_is_masked;
	record(HVF_EV_VTIMER_MASK, (unsigned)vcpu, 0, vtimer_is_masked);
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	v->vtimer_offset = vtimer_offset;
	record(HVF_EV_VTIMER_OFFSET, (unsigned)vcpu, 0, vtimer_offset);
	return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_trap_debug_exceptions(hv_vcpu_t vcpu, bool value)
{
	struct fake_vcpu *v = own(vcpu);

	if (!v)
		return HV_BAD_ARGUMENT;
	record(HVF_EV_TRAP_DEBUG, (unsigned)vcpu, 0, value);
	return HV_SUCCESS;
}
