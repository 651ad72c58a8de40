/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "cputimer.h"
#include "device.h"
#include "emul.h"
#include "iothread.h"
#include "irqroute.h"
#include "log.h"
#include "power.h"


struct vcpu_env {
	struct vm *vm;
	struct vcpu *vcpus;
	unsigned n;
	struct power *power;
	struct irqroute *irq;
	struct cputimer *timers;
	const struct boot_layout *boot;
	const struct accel_ops *accel; /* set before any thread starts */
	bool brk_exit;                 /* likewise */

	/* Thread lifetime: how many left their loop; whether to tear down. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned started, stopped;
	bool teardown;
};

uint64_t vcpu_mpidr_for(unsigned index)
{
	/* Bit 31 is RES1. */
	return (1ull << 31) | ((uint64_t)(index / 16) << 8) | (index % 16);
}

int vcpu_env_create(struct vcpu_env **out, struct vm *vm, struct vcpu *vcpus, unsigned n,
		    struct power *power, struct irqroute *irq, struct cputimer *timers,
		    const struct boot_layout *boot)
{
	struct vcpu_env *env = calloc(1, sizeof(*env));

	if (!env)
		return -ENOMEM;
	*env = (struct vcpu_env){.vm = vm, .vcpus = vcpus, .n = n, .power = power, .irq = irq,
				 .timers = timers, .boot = boot};
	pthread_mutex_init(&env->lock, NULL);
	pthread_cond_init(&env->cond, NULL);
	for (unsigned i = 0; i < n; i++) {
		vcpus[i].vm = vm;
		vcpus[i].env = env;
		vcpus[i].power = power;
		vcpus[i].index = i;
		vcpus[i].mpidr = vcpu_mpidr_for(i);
		atomic_init(&vcpus[i].created, false);
	}
	*out = env;
	return 0;
}

void vcpu_env_set_brk_exit(struct vcpu_env *env, bool on)
{
	env->brk_exit = on;
}

bool vcpu_brk_exit(struct vcpu *v)
{
	return v->env->brk_exit;
}

void vcpu_env_destroy(struct vcpu_env *env)
{
	if (!env)
		return;
	pthread_mutex_destroy(&env->lock);
	pthread_cond_destroy(&env->cond);
	free(env);
}

/* Any thread.  Before the backend state exists the vCPU checks for itself. */
static void vcpu_kick(struct vcpu *v)
{
	if (atomic_load(&v->created))
		v->env->accel->vcpu_kick(v);
}

void vcpu_kick_all(void *opaque)
{
	struct vcpu_env *env = opaque;

	for (unsigned i = 0; i < env->n; i++)
		vcpu_kick(&env->vcpus[i]);
}

void vcpu_irq_sink(void *opaque, unsigned cpu, bool level)
{
	struct vcpu_env *env = opaque;
	struct vcpu *v = &env->vcpus[cpu];

	/* Not created yet: the level is applied when the vCPU powers up. */
	if (cpu < env->n && atomic_load(&v->created))
		env->accel->vcpu_set_irq(v, level);
}

bool vcpu_irq_level(struct vcpu *v)
{
	return irqroute_cpu_level(v->env->irq, v->index);
}

void vcpu_timer_update(struct vcpu *v, enum avmm_cpu_timer timer, bool level)
{
	cputimer_update(v->env->timers, v->index, timer, level);
}

uint64_t vcpu_pc(struct vcpu *v)
{
	struct accel_regs r;

	if (!v)
		return 0;
	if (v->exit.pc)
		return v->exit.pc;
	if (!v->env || !v->env->accel || !atomic_load(&v->created) ||
	    v->env->accel->vcpu_get_regs(v, &r))
		return 0;
	return r.pc;
}

static void dump_regs(struct vcpu *v, const struct accel_exit *e)
{
	struct accel_regs r;
	char buf[2048];
	size_t n = 0;

	if (v->env->accel->vcpu_get_regs(v, &r)) {
		log_error("vcpu%u: cannot read registers", v->index);
		return;
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "avmm: vcpu%u stopped at BRK #0x%" PRIx64
			      ", pc 0x%" PRIx64 "\r\n",
			      v->index, e->esr & 0xffff, r.pc);
	for (int i = 0; i < 31 && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "  x%-2d = 0x%016" PRIx64 " (%" PRIu64 ")\r\n", i, r.x[i],
				      r.x[i]);
	if (n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n,
			 "  sp  = 0x%016" PRIx64 "\r\n  pc  = 0x%016" PRIx64
			 "\r\n  pstate = 0x%08" PRIx64 "\r\n",
			 r.sp, r.pc, r.pstate);
	fputs(buf, stderr);
}

static uint64_t origin_pc(const void *ctx)
{
	return vcpu_pc((struct vcpu *)ctx);
}

static void handle_mmio(struct vcpu *v, struct accel_exit *e)
{
	const struct mmio_origin from = {v->index, origin_pc, v};

	v->mmio_exits++;
	e->mmio.fault = false;
	if (mmio_dispatch(v->vm, &from, e->mmio.addr, e->mmio.len, e->mmio.write,
			  &e->mmio.data) == -EFAULT) {
		/* Nothing there: an external abort, as on hardware. */
		log_guest(&v->rl_guest, NULL, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			  "vcpu%u: %u-byte %s of unmapped address 0x%" PRIx64
			  " at pc 0x%" PRIx64 "; injecting an external abort",
			  v->index, e->mmio.len, e->mmio.write ? "write" : "read", e->mmio.addr,
			  vcpu_pc(v));
		e->mmio.fault = true;
	}
}

/*
 * A trapped debug exception.  Only a BRK on a machine with brk-exit stops
 * it; anything else (a breakpoint, watchpoint or step the guest armed for
 * itself, which the host's trap caught on the way) goes back to the guest
 * as the exception it would have taken.
 */
static void handle_debug(struct vcpu *v, struct accel_exit *e)
{
	if (emul_debug_stops(v->env->brk_exit, e->esr)) {
		dump_regs(v, e);
		power_request_stop(v->power, (int)(e->esr & 0xff));
		return;
	}
	if (emul_inject_debug(v->env->accel, v, e->esr, e->far))
		power_request_stop(v->power, 1);
}

/* Userspace PSCI: park a powered-off vCPU until CPU_ON or the VM stops. */
static int wait_power_on(struct vcpu *v)
{
	uint64_t entry, context;
	int rc = power_cpu_wait_on(v->power, v->index, &entry, &context);

	return rc ? rc : v->env->accel->vcpu_reset(v, entry, context);
}

/* Bring the vCPU to where the boot protocol wants it. */
static int vcpu_power_up(struct vcpu *v)
{
	struct vcpu_env *env = v->env;
	const struct accel_ops *accel = env->accel;

	if (irqroute_cpu_level(env->irq, v->index))
		accel->vcpu_set_irq(v, true);
	if (v->index == 0) {
		power_cpu_set_on(v->power, 0);
		return accel->vcpu_reset(v, env->boot->entry, env->boot->dtb_addr);
	}
	/* Secondaries: the kernel's PSCI (KVM) or ours starts them with CPU_ON. */
	return accel->kernel_psci ? 0 : wait_power_on(v);
}

/* Run until the VM stops (-ECANCELED or an error) or resets (-EAGAIN). */
static int vcpu_loop(struct vcpu *v)
{
	struct power *power = v->power;
	const struct accel_ops *accel = v->env->accel;
	struct accel_exit *e = &v->exit;
	int rc = vcpu_power_up(v);

	while (!rc) {
		if (power_stopping(power))
			return -ECANCELED;
		if (power_reset_pending(power))
			return -EAGAIN;
		rc = accel->vcpu_run(v, e);
		if (rc) {
			log_error("vcpu%u: run failed: %s", v->index, strerror(-rc));
			power_request_stop(power, 1);
			break;
		}
		v->exits++;
		switch (e->kind) {
		case ACCEL_EXIT_NONE:
			break;
		case ACCEL_EXIT_MMIO:
			handle_mmio(v, e);
			break;
		case ACCEL_EXIT_SHUTDOWN:
			log_msg(AVMM_LOG_INFO, "guest powered off");
			power_request_stop(power, 0);
			break;
		case ACCEL_EXIT_RESET:
			power_request_reset(power);
			break;
		case ACCEL_EXIT_CPU_OFF:
			power_cpu_set_off(power, v->index);
			rc = wait_power_on(v);
			break;
		case ACCEL_EXIT_DEBUG:
			handle_debug(v, e);
			break;
		case ACCEL_EXIT_ERROR:
		default:
			power_request_stop(power, 1);
			rc = -EIO;
			break;
		}
	}
	return rc;
}

/*
 * Each vCPU is created on its own thread (HVF requires it), but in index
 * order: KVM numbers vCPUs by creation order, and KVM_IRQ_LINE addresses them
 * by that number.  Created out of order, vCPU 0 and 1 swap interrupt lines
 * (seen as a 2-vCPU Linux hanging in about one boot in ten).
 */
static int create_in_order(struct vcpu *v)
{
	int rc = power_wait_bringup_turn(v->power, v->index);

	if (!rc)
		rc = v->env->accel->vcpu_create(v);
	/* Published before the next vCPU may start: kicks and IRQs now reach it. */
	if (!rc)
		atomic_store(&v->created, true);
	power_bringup_done(v->power, v->index);
	return rc;
}

static void run_until_stopped(struct vcpu *v)
{
	const struct accel_ops *accel = v->env->accel;
	int rc;

	while (vcpu_loop(v) == -EAGAIN) {
		if (power_park_for_reset(v->power, v->index))
			break;
		/*
		 * A reset vCPU's timers are off: lower what was raised, or the
		 * interrupt controller (which keeps input levels across its own
		 * reset, they belong to the sources) holds the PPI into the next boot.
		 */
		cputimer_reset(v->env->timers, v->index);
		memset(&v->exit, 0, sizeof(v->exit));
		rc = accel->vcpu_reinit ? accel->vcpu_reinit(v) : 0;
		if (rc) {
			log_error("vcpu%u: reset failed: %s", v->index, strerror(-rc));
			power_request_stop(v->power, 1);
			break;
		}
		if (power_reset_rejoin(v->power, v->index))
			break;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vcpu_env *env = v->env;
	int rc;

	memset(&v->exit, 0, sizeof(v->exit));
	rc = create_in_order(v);
	if (rc && rc != -ECANCELED) {
		log_error("vcpu%u: cannot create: %s", v->index, strerror(-rc));
		power_request_stop(v->power, 1);
	}
	if (!rc)
		run_until_stopped(v);

	/*
	 * Out of the loop for good.  Other threads may still kick this vCPU or
	 * change its IRQ input (the stop request, I/O-thread timers, UART input,
	 * another vCPU's SGIR write) until vm.c has joined every vCPU and stopped
	 * the I/O thread: only then does the backend state go.
	 */
	pthread_mutex_lock(&env->lock);
	env->stopped++;
	pthread_cond_broadcast(&env->cond);
	while (!env->teardown)
		pthread_cond_wait(&env->cond, &env->lock);
	pthread_mutex_unlock(&env->lock);
	/*
	 * `created` stays set: clearing it first would only narrow a race that
	 * the order above rules out, and would hide a broken order from tests.
	 */
	if (atomic_load(&v->created))
		env->accel->vcpu_destroy(v);
	return NULL;
}

int vcpus_start(struct vcpu_env *env, const struct accel_ops *accel)
{
	int rc = 0;

	env->accel = accel;
	for (unsigned i = 0; i < env->n; i++) {
		struct vcpu *v = &env->vcpus[i];

		rc = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (rc) {
			power_request_stop(env->power, 1);
			break;
		}
		v->thread_started = true;
		pthread_mutex_lock(&env->lock);
		env->started++;
		pthread_mutex_unlock(&env->lock);
	}
	return rc;
}

void vcpus_wait_stopped(struct vcpu_env *env)
{
	pthread_mutex_lock(&env->lock);
	while (env->stopped < env->started)
		pthread_cond_wait(&env->cond, &env->lock);
	pthread_mutex_unlock(&env->lock);
}

void vcpus_destroy(struct vcpu_env *env)
{
	pthread_mutex_lock(&env->lock);
	env->teardown = true;
	pthread_cond_broadcast(&env->cond);
	pthread_mutex_unlock(&env->lock);
	for (unsigned i = 0; i < env->n; i++) {
		struct vcpu *v = &env->vcpus[i];

		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		v->thread_started = false;
		log_msg(AVMM_LOG_INFO, "vcpu%u: %" PRIu64 " exits, %" PRIu64 " of them MMIO", i,
			v->exits, v->mmio_exits);
	}
}
