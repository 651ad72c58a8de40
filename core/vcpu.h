/* SPDX-License-Identifier: MIT */
/*
 * The vCPUs: one thread and one exit loop each.  This module owns the vCPU
 * threads and, on them, the accelerator's per-vCPU state, from creation (in
 * index order) to destruction (only once vm.c says every other thread is
 * done with it).  It sits above the power, irqroute, cputimer and device
 * modules and calls down into them and into the accelerator; vm.c, above it,
 * decides when threads start, when they are done and when their state goes.
 */
#ifndef AVMM_CORE_VCPU_H
#define AVMM_CORE_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <avmm/avmm.h>

#include "accel.h"
#include "log.h"

struct boot_layout;
struct cputimer;
struct irqroute;
struct power;
struct vm;
struct vcpu_env;

struct vcpu {
	struct vm *vm;          /* the machine, for the accelerator backend */
	struct vcpu_env *env;   /* the set this vCPU belongs to */
	struct power *power;    /* the machine's power state (userspace PSCI) */
	unsigned index;
	uint64_t mpidr;
	pthread_t thread;
	bool thread_started;
	void *accel; /* backend state */
	/* Backend state exists: kicks and IRQ changes may reach the backend. */
	atomic_bool created;

	struct log_ratelimit rl_guest; /* this vCPU's guest-error messages */
	struct accel_exit exit; /* the exit being handled */

	/* Statistics, read after the thread ends. */
	uint64_t exits;
	uint64_t mmio_exits;
};

/* MPIDR_EL1 affinity for vCPU i: Aff0 = i % 16, Aff1 = i / 16 (GICv2 limits). */
uint64_t vcpu_mpidr_for(unsigned index);

/*
 * The set of `n` vCPUs of machine `vm`, wired to the modules below; fills in
 * each vcpus[i]'s identity.  `boot` is read when vCPU 0 (re)starts.
 */
int vcpu_env_create(struct vcpu_env **out, struct vm *vm, struct vcpu *vcpus, unsigned n,
		    struct power *power, struct irqroute *irq, struct cputimer *timers,
		    const struct boot_layout *boot);
void vcpu_env_destroy(struct vcpu_env *env);
/*
 * The machine's debug policy, set once before the vCPUs start ([boot]
 * brk-exit): a guest BRK stops the machine (its immediate is the exit
 * status) and the backends trap debug exceptions for it; off, the guest
 * takes every debug exception itself.
 */
void vcpu_env_set_brk_exit(struct vcpu_env *env, bool on);

/* Hooks for the modules below (registered by vm.c): kick everyone; IRQ sink. */
void vcpu_kick_all(void *env);
void vcpu_irq_sink(void *env, unsigned cpu, bool level);

/*
 * Lifetime, driven by vm.c: start every thread on `accel`; wait until every
 * thread has left its exit loop (it then calls nothing in the core and only
 * waits to be released); release them to destroy their accelerator state on
 * their own thread (HVF demands it) and join them.
 */
int vcpus_start(struct vcpu_env *env, const struct accel_ops *accel);
void vcpus_wait_stopped(struct vcpu_env *env);
void vcpus_destroy(struct vcpu_env *env);

/* The vCPU's PC for messages (slow: may read registers); 0 if unknown. */
uint64_t vcpu_pc(struct vcpu *vcpu);

/* From a backend: whether to trap the guest's debug exceptions (see above). */
bool vcpu_brk_exit(struct vcpu *vcpu);

/* From a backend: the IRQ input level the irqchip drives into this vCPU. */
bool vcpu_irq_level(struct vcpu *vcpu);

/* From a backend: a timer output changed level (deduplicated in cputimer.c). */
void vcpu_timer_update(struct vcpu *vcpu, enum avmm_cpu_timer timer, bool level);

#endif
