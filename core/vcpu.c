/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "iothread.h"
#include "log.h"
#include "psci.h"
#include "vm.h"

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_EC_BRK64 0x3c

uint64_t vcpu_mpidr_for(unsigned index)
{
	/* Bit 31 is RES1. */
	return (1ull << 31) | ((uint64_t)(index / 16) << 8) | (index % 16);
}

void vcpu_timer_update(struct vcpu *v, enum avmm_cpu_timer timer, bool level)
{
	struct vm *vm = v->vm;

	if ((unsigned)timer > AVMM_CPU_TIMER_PHYS || v->timer_level[timer] == level)
		return;
	v->timer_level[timer] = level;
	for (size_t i = 0; i < vm->ntimer_subs; i++) {
		struct vm_timer_sub *s = &vm->timer_subs[i];

		pthread_mutex_lock(&s->dev->lock);
		s->fn(s->opaque, v->index, timer, level);
		pthread_mutex_unlock(&s->dev->lock);
	}
}

static struct vcpu *vcpu_by_mpidr(struct vm *vm, uint64_t mpidr)
{
	/* Only the affinity fields identify a CPU. */
	mpidr &= 0xff00ffffffull;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if ((vm->vcpus[i].mpidr & 0xff00ffffffull) == mpidr)
			return &vm->vcpus[i];
	return NULL;
}

int vm_cpu_on(struct vm *vm, uint64_t mpidr, uint64_t entry, uint64_t context)
{
	struct vcpu *v = vcpu_by_mpidr(vm, mpidr);
	int rc = PSCI_RET_SUCCESS;

	if (!v)
		return PSCI_RET_INVALID_PARAMS;
	pthread_mutex_lock(&vm->power_lock);
	if (v->power == VCPU_ON) {
		rc = PSCI_RET_ALREADY_ON;
	} else if (v->power == VCPU_ON_PENDING) {
		rc = PSCI_RET_ON_PENDING;
	} else {
		v->power = VCPU_ON_PENDING;
		v->on_entry = entry;
		v->on_context = context;
		pthread_cond_broadcast(&vm->power_cond);
	}
	pthread_mutex_unlock(&vm->power_lock);
	return rc;
}

int vm_cpu_affinity_info(struct vm *vm, uint64_t mpidr)
{
	struct vcpu *v = vcpu_by_mpidr(vm, mpidr);
	int state;

	if (!v)
		return PSCI_RET_INVALID_PARAMS;
	pthread_mutex_lock(&vm->power_lock);
	state = v->power == VCPU_ON ? PSCI_AFFINITY_ON
		: v->power == VCPU_ON_PENDING ? PSCI_AFFINITY_ON_PENDING
					       : PSCI_AFFINITY_OFF;
	pthread_mutex_unlock(&vm->power_lock);
	return state;
}

/* Userspace PSCI: park a powered-off vCPU until CPU_ON or the VM stops. */
static int wait_power_on(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int rc;

	pthread_mutex_lock(&vm->power_lock);
	while (v->power != VCPU_ON_PENDING && !atomic_load(&vm->stopping) &&
	       !atomic_load(&vm->reset_pending))
		pthread_cond_wait(&vm->power_cond, &vm->power_lock);
	if (atomic_load(&vm->stopping) || atomic_load(&vm->reset_pending)) {
		pthread_mutex_unlock(&vm->power_lock);
		return atomic_load(&vm->stopping) ? -ECANCELED : -EAGAIN;
	}
	v->power = VCPU_ON;
	pthread_mutex_unlock(&vm->power_lock);
	rc = vm->accel->vcpu_reset(v, v->on_entry, v->on_context);
	return rc;
}

uint64_t vcpu_pc(struct vcpu *v)
{
	struct accel_regs r;

	if (!v)
		return 0;
	if (v->exit.pc)
		return v->exit.pc;
	if (!v->vm->accel || v->vm->accel->vcpu_get_regs(v, &r))
		return 0;
	return r.pc;
}

static void dump_regs(struct vcpu *v, const struct accel_exit *e)
{
	struct accel_regs r;
	char buf[2048];
	size_t n = 0;

	if (v->vm->accel->vcpu_get_regs(v, &r)) {
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

static void handle_mmio(struct vcpu *v, struct accel_exit *e)
{
	struct vm *vm = v->vm;

	v->mmio_exits++;
	e->mmio.fault = false;
	if (mmio_dispatch(vm, v, e->mmio.addr, e->mmio.len, e->mmio.write, &e->mmio.data) ==
	    -EFAULT) {
		/* Nothing there: an external abort, as on hardware. */
		if (log_ratelimit_ok(&v->rl_unmapped, clock_ns(), 10))
			log_msg(AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
				"vcpu%u: %u-byte %s of unmapped address 0x%" PRIx64
				" at pc 0x%" PRIx64 "; injecting an external abort",
				v->index, e->mmio.len, e->mmio.write ? "write" : "read",
				e->mmio.addr, vcpu_pc(v));
		e->mmio.fault = true;
	}
}

/*
 * System reset rendezvous.  Every vCPU parks here; the last to arrive resets
 * the machine while the others wait, then all start again from power-on.
 * Returns -ECANCELED when the VM stops instead.
 */
static int park_for_reset(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned gen;
	int rc = 0;

	pthread_mutex_lock(&vm->power_lock);
	gen = vm->reset_generation;
	if (++vm->reset_parked == vm->ncpus) {
		pthread_mutex_unlock(&vm->power_lock);
		log_msg(AVMM_LOG_INFO, "guest requested a system reset: restarting");
		rc = vm_reset(vm);
		pthread_mutex_lock(&vm->power_lock);
		for (unsigned i = 0; i < vm->ncpus; i++)
			vm->vcpus[i].power = VCPU_OFF;
		vm->reset_parked = 0;
		atomic_store(&vm->reset_pending, false);
		vm->reset_generation++;
		pthread_cond_broadcast(&vm->power_cond);
	} else {
		while (vm->reset_generation == gen && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->power_cond, &vm->power_lock);
	}
	pthread_mutex_unlock(&vm->power_lock);
	if (rc) {
		vm_request_stop(vm, 1);
		return -ECANCELED;
	}
	return atomic_load(&vm->stopping) ? -ECANCELED : 0;
}

/* Bring the vCPU to where the boot protocol wants it. */
static int vcpu_power_up(struct vcpu *v)
{
	struct vm *vm = v->vm;
	const struct accel_ops *accel = vm->accel;

	if (atomic_load(&v->irq_level))
		accel->vcpu_set_irq(v, true);
	if (v->index == 0) {
		pthread_mutex_lock(&vm->power_lock);
		v->power = VCPU_ON;
		pthread_mutex_unlock(&vm->power_lock);
		return accel->vcpu_reset(v, vm->boot.entry, vm->boot.dtb_addr);
	}
	/* Secondaries: the kernel's PSCI (KVM) or ours starts them with CPU_ON. */
	return accel->kernel_psci ? 0 : wait_power_on(v);
}

/* Run until the VM stops (-ECANCELED or an error) or resets (-EAGAIN). */
static int vcpu_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	const struct accel_ops *accel = vm->accel;
	struct accel_exit *e = &v->exit;
	int rc = vcpu_power_up(v);

	while (!rc) {
		if (atomic_load(&vm->stopping))
			return -ECANCELED;
		if (atomic_load(&vm->reset_pending))
			return -EAGAIN;
		rc = accel->vcpu_run(v, e);
		if (rc) {
			log_error("vcpu%u: run failed: %s", v->index, strerror(-rc));
			vm_request_stop(vm, 1);
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
			vm_request_stop(vm, 0);
			break;
		case ACCEL_EXIT_RESET:
			vm_request_reset(vm);
			break;
		case ACCEL_EXIT_CPU_OFF:
			pthread_mutex_lock(&vm->power_lock);
			v->power = VCPU_OFF;
			pthread_mutex_unlock(&vm->power_lock);
			rc = wait_power_on(v);
			break;
		case ACCEL_EXIT_DEBUG:
			if (ESR_EC(e->esr) == ESR_EC_BRK64) {
				dump_regs(v, e);
				vm_request_stop(vm, (int)(e->esr & 0xff));
			} else {
				log_error("vcpu%u: unexpected debug exit (ESR 0x%" PRIx64
					  ") at pc 0x%" PRIx64,
					  v->index, e->esr, vcpu_pc(v));
				vm_request_stop(vm, 1);
			}
			break;
		case ACCEL_EXIT_ERROR:
		default:
			vm_request_stop(vm, 1);
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
	struct vm *vm = v->vm;
	int rc;

	pthread_mutex_lock(&vm->power_lock);
	while (vm->vcpus_created != v->index && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->power_cond, &vm->power_lock);
	pthread_mutex_unlock(&vm->power_lock);
	if (atomic_load(&vm->stopping))
		return -ECANCELED;
	rc = vm->accel->vcpu_create(v);
	pthread_mutex_lock(&vm->power_lock);
	vm->vcpus_created++;
	pthread_cond_broadcast(&vm->power_cond);
	pthread_mutex_unlock(&vm->power_lock);
	return rc;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	const struct accel_ops *accel = vm->accel;
	int rc;

	memset(&v->exit, 0, sizeof(v->exit));
	rc = create_in_order(v);
	if (rc) {
		log_error("vcpu%u: cannot create: %s", v->index, strerror(-rc));
		vm_request_stop(vm, 1);
		return NULL;
	}
	while (vcpu_loop(v) == -EAGAIN) {
		if (park_for_reset(v))
			break;
		/* The levels the new boot's devices see start from scratch. */
		v->timer_level[AVMM_CPU_TIMER_VIRT] = false;
		v->timer_level[AVMM_CPU_TIMER_PHYS] = false;
		memset(&v->exit, 0, sizeof(v->exit));
		rc = accel->vcpu_reinit ? accel->vcpu_reinit(v) : 0;
		if (rc) {
			log_error("vcpu%u: reset failed: %s", v->index, strerror(-rc));
			vm_request_stop(vm, 1);
			break;
		}
	}
	accel->vcpu_destroy(v);
	return NULL;
}

int vcpu_run_all(struct vm *vm)
{
	int rc = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		rc = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (rc) {
			vm_request_stop(vm, 1);
			break;
		}
		v->thread_started = true;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		v->thread_started = false;
		log_msg(AVMM_LOG_INFO, "vcpu%u: %" PRIu64 " exits, %" PRIu64 " of them MMIO", i,
			v->exits, v->mmio_exits);
	}
	return rc;
}
