/* SPDX-License-Identifier: MIT */
/*
 * Machine power state.  This module owns whether the machine is stopping (and
 * the exit status the first stop request chose), the system-reset rendezvous
 * (every vCPU parks, the last one to arrive resets the machine, each
 * re-initialises its own state, and none runs again before all have),
 * each vCPU's PSCI power state for userspace PSCI (CPU_ON, CPU_OFF,
 * AFFINITY_INFO) and the order in which vCPUs are brought up.  It sits below
 * vcpu.c, psci.c and the device layer and calls nothing above it: interrupting
 * running vCPUs and resetting the machine are hooks vm.c registers at build
 * time.
 */
#ifndef AVMM_CORE_POWER_H
#define AVMM_CORE_POWER_H

#include <stdbool.h>
#include <stdint.h>

struct power;

struct power_hooks {
	/* Make every running vCPU return to its loop (any thread). */
	void (*kick_all)(void *opaque);
	/* With every vCPU parked: reset the machine; 0 or -errno. */
	int (*reset)(void *opaque);
	void *opaque;
};

/* `mpidr[i]` is vCPU i's MPIDR_EL1, for CPU_ON and AFFINITY_INFO. */
int power_create(struct power **out, unsigned ncpus, const uint64_t *mpidr);
void power_destroy(struct power *p);
void power_set_hooks(struct power *p, const struct power_hooks *hooks);

/* Stop every vCPU; the first status requested wins. */
void power_request_stop(struct power *p, int status);
bool power_stopping(struct power *p);
int power_exit_status(struct power *p);

/* Guest asked for a system reset: every vCPU leaves its loop and parks. */
void power_request_reset(struct power *p);
bool power_reset_pending(struct power *p);
/*
 * Park vCPU `cpu` for the reset; the last to arrive runs the reset hook and
 * powers every vCPU off.  0: start again from power-on; -ECANCELED: the
 * machine stops instead (also when the reset failed).
 */
int power_park_for_reset(struct power *p, unsigned cpu);
/*
 * vCPU `cpu` has re-initialised its accelerator state after the reset: wait
 * for the others.  Without this, a vCPU already running the new boot could
 * power on a secondary (KVM's in-kernel PSCI CPU_ON) that has yet to re-init,
 * and the re-init (KVM_ARM_VCPU_INIT with POWER_OFF) would switch it off
 * again.  0: run; -ECANCELED: the machine stops instead.
 */
int power_reset_rejoin(struct power *p, unsigned cpu);

/* vCPUs come up in index order: wait for `cpu`'s turn (-ECANCELED: stopping). */
int power_wait_bringup_turn(struct power *p, unsigned cpu);
/* `cpu` is up (or failed to come up): the next may go. */
void power_bringup_done(struct power *p, unsigned cpu);

/* vCPU `cpu` runs from now on (the boot CPU) or went off (PSCI CPU_OFF). */
void power_cpu_set_on(struct power *p, unsigned cpu);
void power_cpu_set_off(struct power *p, unsigned cpu);
/*
 * A powered-off vCPU waits for CPU_ON: 0 with its entry point and context,
 * -ECANCELED when the machine stops, -EAGAIN when it resets.
 */
int power_cpu_wait_on(struct power *p, unsigned cpu, uint64_t *entry, uint64_t *context);

/*
 * PSCI, for userspace implementations.  CPU_ON returns SUCCESS,
 * INVALID_PARAMS (no such MPIDR), ALREADY_ON or ON_PENDING; AFFINITY_INFO
 * returns PSCI_AFFINITY_* or INVALID_PARAMS.
 */
int power_cpu_on(struct power *p, uint64_t mpidr, uint64_t entry, uint64_t context);
int power_affinity_info(struct power *p, uint64_t mpidr);

#endif
