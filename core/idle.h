/* SPDX-License-Identifier: MIT */
/*
 * Waiting on the guest's timers where no kernel does it (the HVF backend):
 * a vCPU's WFI sleep, woken by its IRQ input, a kick or the earliest timer
 * deadline; and the emulated EL1 physical timer's watchdog, a thread that
 * kicks a running vCPU when its CNTP deadline passes (nothing in the host
 * would).  Host-independent: CLOCK_MONOTONIC and condition variables.  A
 * struct idle_cpu belongs to one vCPU's backend state; the watchdog to the
 * backend's VM state, which destroys it after every vCPU disarmed.
 */
#ifndef AVMM_CORE_IDLE_H
#define AVMM_CORE_IDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arm64.h"

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t idle_now_ns(void);

struct idle_cpu {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kicked;
	atomic_bool irq; /* the vCPU's IRQ input */
};

void idle_cpu_init(struct idle_cpu *c);
void idle_cpu_destroy(struct idle_cpu *c);
/* The vCPU thread, entering vcpu_run: kicks before this were for the last run. */
void idle_cpu_rearm(struct idle_cpu *c);
/* Any thread: end a sleep now and make the next idle_cpu_wait return at once. */
void idle_cpu_kick(struct idle_cpu *c);
/* Any thread: the IRQ input changed?  A rising level ends a sleep. */
bool idle_cpu_set_irq(struct idle_cpu *c, bool level);
bool idle_cpu_irq(struct idle_cpu *c);
/*
 * Sleep until the IRQ input is high, a kick, or `ns` nanoseconds from now
 * (ARM64_NO_DEADLINE: no deadline).  True when kicked.
 */
bool idle_cpu_wait(struct idle_cpu *c, uint64_t ns);

/*
 * How long a WFI may sleep at guest count `now` (counting at `freq` Hz):
 * until the earlier of the virtual timer (ignored while `vmasked`: its
 * interrupt is already pending) and the physical timer, ARM64_NO_DEADLINE
 * for neither; 0 when the virtual timer's condition already holds but the
 * host has not reported it yet (it will as soon as the guest runs).
 */
uint64_t idle_wfi_ns(uint64_t vctl, uint64_t vcval, bool vmasked, uint64_t pctl,
		     uint64_t pcval, uint64_t now, uint64_t freq);

#define IDLE_NEVER UINT64_MAX

struct idle_watchdog;

/*
 * A watchdog for `ncpus` emulated physical timers.  `count` reads the guest
 * counter (CNTPCT), which runs at `freq` Hz; `kick(opaque, cpu)` is called on
 * the watchdog thread, with its lock held, once per armed deadline that
 * passed.  The thread starts at the first deadline.
 */
int idle_watchdog_create(struct idle_watchdog **out, unsigned ncpus,
			 uint64_t (*count)(void *opaque), uint64_t freq,
			 void (*kick)(void *opaque, unsigned cpu), void *opaque);
void idle_watchdog_destroy(struct idle_watchdog *w);
/*
 * On `cpu`'s thread, after each exit: the level of its emulated timer at
 * guest count `now` (ENABLE && !IMASK && CVAL <= now), and the deadline armed
 * accordingly (only while enabled, unmasked and not yet fired; it re-arms
 * once the guest saw the level).
 */
bool idle_watchdog_sync(struct idle_watchdog *w, unsigned cpu, uint64_t ctl, uint64_t cval,
			uint64_t now);
/* Disarm `cpu`: once this returns, kick() is never called for it again. */
void idle_watchdog_disarm(struct idle_watchdog *w, unsigned cpu);

#endif
