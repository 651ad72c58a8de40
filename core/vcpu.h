/* SPDX-License-Identifier: MIT */
/* One thread and one exit loop per vCPU; power state for userspace PSCI. */
#ifndef AVMM_CORE_VCPU_H
#define AVMM_CORE_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <avmm/avmm.h>

#include "accel.h"
#include "log.h"

struct vm;

enum vcpu_power {
	VCPU_OFF = 0,
	VCPU_ON_PENDING = 1, /* CPU_ON accepted, not yet running */
	VCPU_ON = 2,
};

struct vcpu {
	struct vm *vm;
	unsigned index;
	uint64_t mpidr;
	pthread_t thread;
	bool thread_started;
	void *accel; /* backend state */

	/* Userspace PSCI (HVF); guarded by vm->power_lock. */
	enum vcpu_power power;
	uint64_t on_entry;
	uint64_t on_context;

	/* Last timer output levels reported, for edge detection. */
	bool timer_level[2];
	/* IRQ input as the irqchip last drove it (applied at vCPU start too). */
	atomic_bool irq_level;

	struct log_ratelimit rl_unmapped;
	struct accel_exit exit; /* the exit being handled */

	/* Statistics, read after the thread ends. */
	uint64_t exits;
	uint64_t mmio_exits;
};

/* MPIDR_EL1 affinity for vCPU i: Aff0 = i % 16, Aff1 = i / 16 (GICv2 limits). */
uint64_t vcpu_mpidr_for(unsigned index);

/* Create the vCPU threads (vcpu 0 at the boot entry) and wait for them. */
int vcpu_run_all(struct vm *vm);

/* The vCPU's PC for messages (slow: may read registers); 0 if unknown. */
uint64_t vcpu_pc(struct vcpu *vcpu);

/* From a backend: a timer output changed level (deduplicated here). */
void vcpu_timer_update(struct vcpu *vcpu, enum avmm_cpu_timer timer, bool level);

/*
 * Userspace PSCI helpers (used by the HVF backend).  Return PSCI codes:
 * CPU_ON: SUCCESS, INVALID_PARAMS (no such MPIDR), ALREADY_ON, ON_PENDING.
 * AFFINITY_INFO: PSCI_AFFINITY_* or INVALID_PARAMS.
 */
int vm_cpu_on(struct vm *vm, uint64_t mpidr, uint64_t entry, uint64_t context);
int vm_cpu_affinity_info(struct vm *vm, uint64_t mpidr);

#endif
