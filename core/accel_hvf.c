/* SPDX-License-Identifier: MIT */
/*
 * Hypervisor.framework backend (macOS on Apple Silicon).
 *
 * HVF gives us a bare vCPU: no interrupt controller, no PSCI, no MMIO
 * emulation, no physical timer.  This file is the hv_* plumbing: it maps
 * exits to the shared arm64 handling (emul.c: MMIO, exception entry, system
 * registers, PSCI) and to idle.c (WFI sleeps, the emulated physical timer),
 * and relays the virtual timer, which HVF masks when it fires, to the timer
 * plugin.  Every hv_vcpu_* call except hv_vcpus_exit happens on the vCPU's
 * own thread, as HVF demands.
 *
 * Compiled only with AVMM_HAVE_HVF; on Linux the unit tests build it against
 * tests/hvf-fake.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Hypervisor/Hypervisor.h>
#include <mach/mach_time.h>

#include "accel.h"
#include "arm64.h"
#include "emul.h"
#include "idle.h"
#include "log.h"
#include "psci.h"
#include "ram.h"
#include "vcpu.h"
#include "vm.h"

struct hvf_vm {
	struct vm *vm;
	uint64_t vtimer_offset; /* the same on every vCPU: one guest count */
	uint64_t cntfrq;        /* counter frequency (Hz) */
	/* The physical timer is emulated (CNTP_* trap): nothing in HVF fires it. */
	struct idle_watchdog *ptimer;
};

struct hvf_vcpu {
	hv_vcpu_t id;
	hv_vcpu_exit_t *exit;
	pthread_t thread;
	struct idle_cpu idle; /* WFI sleep; the IRQ input */
	bool vtimer_masked; /* HVF masked it when it fired; level reported high */
	bool ptimer_level;

	struct arm64_sysreg_state sr;
	struct emul_mmio mmio;
};

/* vcpu_run's internal verdict: keep running the guest. */
#define HVF_CONTINUE (-1)

/* ---- small helpers --------------------------------------------------------- */

static struct hvf_vcpu *hvf_of(struct vcpu *vcpu)
{
	return __atomic_load_n((struct hvf_vcpu **)&vcpu->accel, __ATOMIC_ACQUIRE);
}

static struct hvf_vm *hvf_vm_of(struct vcpu *vcpu)
{
	return vcpu->vm->accel_state;
}

/* The shared register vocabulary (accel.h) in HVF's names. */
static const struct {
	bool sys;
	uint16_t id;
} hvf_regs[ACCEL_NR_REGS] = {
	[ACCEL_REG_PC] = { false, HV_REG_PC },
	[ACCEL_REG_PSTATE] = { false, HV_REG_CPSR },
	[ACCEL_REG_SP_EL0] = { true, HV_SYS_REG_SP_EL0 },
	[ACCEL_REG_SP_EL1] = { true, HV_SYS_REG_SP_EL1 },
	[ACCEL_REG_ELR_EL1] = { true, HV_SYS_REG_ELR_EL1 },
	[ACCEL_REG_SPSR_EL1] = { true, HV_SYS_REG_SPSR_EL1 },
	[ACCEL_REG_ESR_EL1] = { true, HV_SYS_REG_ESR_EL1 },
	[ACCEL_REG_FAR_EL1] = { true, HV_SYS_REG_FAR_EL1 },
	[ACCEL_REG_VBAR_EL1] = { true, HV_SYS_REG_VBAR_EL1 },
	[ACCEL_REG_SCTLR_EL1] = { true, HV_SYS_REG_SCTLR_EL1 },
	[ACCEL_REG_TCR_EL1] = { true, HV_SYS_REG_TCR_EL1 },
	[ACCEL_REG_TTBR0_EL1] = { true, HV_SYS_REG_TTBR0_EL1 },
	[ACCEL_REG_TTBR1_EL1] = { true, HV_SYS_REG_TTBR1_EL1 },
	[ACCEL_REG_CNTV_CTL_EL0] = { true, HV_SYS_REG_CNTV_CTL_EL0 },
	[ACCEL_REG_CNTV_CVAL_EL0] = { true, HV_SYS_REG_CNTV_CVAL_EL0 },
};

static int hvf_reg(struct vcpu *vcpu, enum accel_reg reg, uint64_t *val, bool set)
{
	hv_vcpu_t id = ((struct hvf_vcpu *)vcpu->accel)->id;
	hv_return_t r;

	if ((unsigned)reg >= ACCEL_NR_REGS)
		return -EINVAL;
	if (reg < ACCEL_REG_PC)
		r = set ? hv_vcpu_set_reg(id, (hv_reg_t)(HV_REG_X0 + reg), *val) :
			  hv_vcpu_get_reg(id, (hv_reg_t)(HV_REG_X0 + reg), val);
	else if (hvf_regs[reg].sys)
		r = set ? hv_vcpu_set_sys_reg(id, (hv_sys_reg_t)hvf_regs[reg].id, *val) :
			  hv_vcpu_get_sys_reg(id, (hv_sys_reg_t)hvf_regs[reg].id, val);
	else
		r = set ? hv_vcpu_set_reg(id, (hv_reg_t)hvf_regs[reg].id, *val) :
			  hv_vcpu_get_reg(id, (hv_reg_t)hvf_regs[reg].id, val);
	return r == HV_SUCCESS ? 0 : -EIO;
}

static int hvf_reg_get(struct vcpu *vcpu, enum accel_reg reg, uint64_t *val)
{
	return hvf_reg(vcpu, reg, val, false);
}

static int hvf_reg_set(struct vcpu *vcpu, enum accel_reg reg, uint64_t val)
{
	return hvf_reg(vcpu, reg, &val, true);
}

#define HVF (&accel_hvf_ops)

/* The guest's counter (CNTVCT = CNTPCT: avmm gives guests CNTVOFF = 0). */
static uint64_t hvf_guest_count(const struct hvf_vm *hv)
{
	return mach_absolute_time() - hv->vtimer_offset;
}

static const char *hvf_strerror(hv_return_t r)
{
	switch (r) {
	case HV_ERROR: return "HV_ERROR";
	case HV_BUSY: return "HV_BUSY";
	case HV_BAD_ARGUMENT: return "HV_BAD_ARGUMENT";
	case HV_NO_RESOURCES: return "HV_NO_RESOURCES";
	case HV_NO_DEVICE: return "HV_NO_DEVICE";
	case HV_DENIED: return "HV_DENIED";
	case HV_UNSUPPORTED: return "HV_UNSUPPORTED";
	default: return "unknown error";
	}
}

static int hvf_errno(hv_return_t r)
{
	switch (r) {
	case HV_BUSY: return -EBUSY;
	case HV_BAD_ARGUMENT: return -EINVAL;
	case HV_NO_RESOURCES: return -ENOMEM;
	case HV_DENIED: return -EPERM;
	case HV_UNSUPPORTED: return -ENOTSUP;
	default: return -EIO;
	}
}

/* A sentence for the user about a failed hv_vm_create; returns -errno. */
static int hvf_explain(hv_return_t r, char *err, size_t errlen)
{
	switch (r) {
	case HV_DENIED:
		snprintf(err, errlen,
			 "Hypervisor.framework denied access (HV_DENIED): this avmm binary is not "
			 "signed with the com.apple.security.hypervisor entitlement; sign it with "
			 "`codesign --entitlements entitlements.plist --force -s - avmm` (the CMake "
			 "build does this after every link)");
		break;
	case HV_UNSUPPORTED:
		snprintf(err, errlen,
			 "Hypervisor.framework is not supported here (HV_UNSUPPORTED): avmm needs an "
			 "Apple Silicon Mac; Intel Macs are not supported, and inside a virtual "
			 "machine the hypervisor must offer nested virtualization");
		break;
	case HV_BUSY:
		snprintf(err, errlen,
			 "Hypervisor.framework: a virtual machine already exists in this process "
			 "(HV_BUSY)");
		break;
	default:
		snprintf(err, errlen, "hv_vm_create failed: %s (%#x)", hvf_strerror(r),
			 (unsigned)r);
		break;
	}
	return hvf_errno(r);
}

/* ---- VM ---------------------------------------------------------------- */

static int hvf_probe(char *err, size_t errlen)
{
	hv_return_t r = hv_vm_create(NULL);

	if (r != HV_SUCCESS)
		return hvf_explain(r, err, errlen);
	hv_vm_destroy();
	return 0;
}

/* Address bits the guest's memory map needs (RAM and every MMIO region). */
static uint32_t hvf_needed_ipa_bits(const struct vm *vm)
{
	uint64_t top = vm->ram.size ? vm->ram.base + vm->ram.size - 1 : 0;
	uint32_t bits = 32;

	if (vm->map.count) {
		const struct mmio_region *r = &vm->map.regions[vm->map.count - 1];

		if (r->base + r->size - 1 > top)
			top = r->base + r->size - 1;
	}
	while (bits < 64 && (top >> bits))
		bits++;
	return bits;
}

#ifdef __APPLE__
#define HVF_HAVE_VM_CONFIG() __builtin_available(macOS 13, *)
#else
#define HVF_HAVE_VM_CONFIG() 1
#endif

static int hvf_create(struct vm *vm, char *err, size_t errlen)
{
	hv_vm_config_t cfg = NULL;
	uint32_t need = hvf_needed_ipa_bits(vm);
	hv_return_t r;

	if (HVF_HAVE_VM_CONFIG()) {
		uint32_t max = 0, def = 0, bits;

		cfg = hv_vm_config_create();
		if (cfg && hv_vm_config_get_max_ipa_size(&max) == HV_SUCCESS &&
		    hv_vm_config_get_default_ipa_size(&def) == HV_SUCCESS) {
			bits = need > def ? need : def;
			if (bits > max) {
				os_release(cfg);
				snprintf(err, errlen,
					 "the guest memory map needs %u-bit guest physical addresses; "
					 "this Mac supports %u",
					 need, max);
				return -ERANGE;
			}
			if (hv_vm_config_set_ipa_size(cfg, bits) != HV_SUCCESS) {
				os_release(cfg);
				cfg = NULL;
			}
		} else if (cfg) {
			os_release(cfg);
			cfg = NULL;
		}
	}
	r = hv_vm_create(cfg);
	if (cfg)
		os_release(cfg);
	if (r != HV_SUCCESS)
		return hvf_explain(r, err, errlen);
	return 0;
}

static uint64_t hvf_count(void *opaque)
{
	return hvf_guest_count(opaque);
}

/* On the watchdog's thread, under its lock: the vCPU exists (disarmed before it goes). */
static void hvf_ptimer_kick(void *opaque, unsigned cpu)
{
	struct hvf_vm *hv = opaque;
	struct hvf_vcpu *h = hvf_of(&hv->vm->vcpus[cpu]);

	if (h)
		hv_vcpus_exit(&h->id, 1);
}

static int hvf_vm_create(struct vm *vm, char *err, size_t errlen)
{
	struct hvf_vm *hv = calloc(1, sizeof(*hv));
	mach_timebase_info_data_t tb;
	int ret;

	if (!hv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (mach_timebase_info(&tb) != 0 || tb.numer == 0 || tb.denom == 0) {
		free(hv);
		snprintf(err, errlen, "mach_timebase_info failed");
		return -EIO;
	}
	hv->vm = vm;
	/* CNTFRQ_EL0 as the guest reads it: the host counter's rate (24 MHz). */
	hv->cntfrq = (uint64_t)1000000000u * tb.denom / tb.numer;
	ret = idle_watchdog_create(&hv->ptimer, vm->ncpus, hvf_count, hv->cntfrq, hvf_ptimer_kick,
				   hv);
	if (!ret)
		ret = hvf_create(vm, err, errlen);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		idle_watchdog_destroy(hv->ptimer);
		free(hv);
		return ret;
	}
	/* Guest count starts near 0 at VM creation. */
	hv->vtimer_offset = mach_absolute_time();
	vm->accel_state = hv;
	return 0;
}

static void hvf_vm_destroy(struct vm *vm)
{
	struct hvf_vm *hv = vm->accel_state;

	if (!hv)
		return;
	idle_watchdog_destroy(hv->ptimer);
	hv_vm_destroy();
	free(hv);
	vm->accel_state = NULL;
}

static int hvf_ram_map(struct vm *vm, uint64_t gpa, void *host, uint64_t size)
{
	hv_return_t r;

	/* HVF maps in host pages: 16 KiB on Apple Silicon. */
	if ((gpa | (uintptr_t)host | size) & (RAM_ALIGN - 1) || size == 0) {
		log_error("hvf: guest RAM at %#llx (%#llx bytes, host %p) is not 16 KiB aligned",
			  (unsigned long long)gpa, (unsigned long long)size, host);
		return -EINVAL;
	}
	r = hv_vm_map(host, gpa, (size_t)size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
	if (r != HV_SUCCESS) {
		log_error("hvf: hv_vm_map of %#llx bytes at %#llx failed: %s (%#x)",
			  (unsigned long long)size, (unsigned long long)gpa, hvf_strerror(r),
			  (unsigned)r);
		return hvf_errno(r);
	}
	return 0;
}

/*
 * After every exit: relay timer output levels.  The virtual timer is masked
 * by HVF when it fires; unmask once the guest has dealt with it.
 */
static void hvf_sync_timers(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	struct hvf_vm *hv = hvf_vm_of(vcpu);
	uint64_t ctl;
	bool level;

	if (h->vtimer_masked) {
		ctl = emul_get(HVF, vcpu, ACCEL_REG_CNTV_CTL_EL0);
		if (!((ctl & ARM64_CNT_CTL_ENABLE) && (ctl & ARM64_CNT_CTL_ISTATUS) &&
		      !(ctl & ARM64_CNT_CTL_IMASK))) {
			vcpu_timer_update(vcpu, AVMM_CPU_TIMER_VIRT, false);
			hv_vcpu_set_vtimer_mask(h->id, false);
			h->vtimer_masked = false;
		}
	}

	level = idle_watchdog_sync(hv->ptimer, vcpu->index, h->sr.cntp_ctl, h->sr.cntp_cval,
				   hvf_guest_count(hv));
	if (level != h->ptimer_level) {
		h->ptimer_level = level;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_PHYS, level);
	}
}

/* ---- vCPU lifecycle ---------------------------------------------------- */

static void hvf_vcpu_reset_state(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	arm64_sysreg_reset(&h->sr);
	h->mmio.active = false;
	/* A stale timer must not fire into the new boot. */
	emul_set(HVF, vcpu, ACCEL_REG_CNTV_CTL_EL0, 0);
	if (h->vtimer_masked) {
		hv_vcpu_set_vtimer_mask(h->id, false);
		h->vtimer_masked = false;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_VIRT, false);
	}
	if (h->ptimer_level) {
		h->ptimer_level = false;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_PHYS, false);
	}
	emul_set(HVF, vcpu, ACCEL_REG_PSTATE, ARM64_PSTATE_RESET);
	emul_set(HVF, vcpu, ACCEL_REG_SCTLR_EL1, ARM64_SCTLR_RESET);
}

#define HVF_ID_AA64PFR0_GIC (UINT64_C(0xf) << 24)

static int hvf_vcpu_create(struct vcpu *vcpu)
{
	struct hvf_vm *hv = hvf_vm_of(vcpu);
	struct hvf_vcpu *h = calloc(1, sizeof(*h));
	uint64_t pfr0;
	hv_return_t r;

	if (!h)
		return -ENOMEM;
	r = hv_vcpu_create(&h->id, &h->exit, NULL);
	if (r != HV_SUCCESS) {
		log_error("hvf: cpu%u: hv_vcpu_create failed: %s (%#x)", vcpu->index,
			  hvf_strerror(r), (unsigned)r);
		free(h);
		return hvf_errno(r);
	}
	h->thread = pthread_self();
	idle_cpu_init(&h->idle);
	/* Published now for the register accessors; nothing kicks it before `created`. */
	__atomic_store_n((struct hvf_vcpu **)&vcpu->accel, h, __ATOMIC_RELEASE);

	hv_vcpu_set_sys_reg(h->id, HV_SYS_REG_MPIDR_EL1, vcpu->mpidr);
	/* The guest's GIC is avmm's GICv2: no GICv3 CPU interface, as on KVM. */
	if (hv_vcpu_get_sys_reg(h->id, HV_SYS_REG_ID_AA64PFR0_EL1, &pfr0) == HV_SUCCESS &&
	    (pfr0 & HVF_ID_AA64PFR0_GIC))
		hv_vcpu_set_sys_reg(h->id, HV_SYS_REG_ID_AA64PFR0_EL1, pfr0 & ~HVF_ID_AA64PFR0_GIC);
	hv_vcpu_set_vtimer_offset(h->id, hv->vtimer_offset);
	/* Debug exceptions exit to us only where the machine stops on BRK. */
	hv_vcpu_set_trap_debug_exceptions(h->id, vcpu_brk_exit(vcpu));
	hvf_vcpu_reset_state(vcpu, h);
	return 0;
}

static void hvf_vcpu_destroy(struct vcpu *vcpu)
{
	struct hvf_vcpu *h = vcpu->accel;
	struct hvf_vm *hv = hvf_vm_of(vcpu);

	if (!h)
		return;
	/* Out of the watchdog's sight before the memory goes. */
	idle_watchdog_disarm(hv->ptimer, vcpu->index);
	__atomic_store_n((struct hvf_vcpu **)&vcpu->accel, NULL, __ATOMIC_RELEASE);
	hv_vcpu_destroy(h->id);
	idle_cpu_destroy(&h->idle);
	free(h);
}

static int hvf_vcpu_reset(struct vcpu *vcpu, uint64_t entry, uint64_t x0)
{
	struct hvf_vcpu *h = vcpu->accel;

	hvf_vcpu_reset_state(vcpu, h);
	for (unsigned i = 1; i < 31; i++)
		emul_set_x(HVF, vcpu, i, 0);
	emul_set_x(HVF, vcpu, 0, x0);
	emul_set(HVF, vcpu, ACCEL_REG_PC, entry);
	return 0;
}

static int hvf_vcpu_get_regs(struct vcpu *vcpu, struct accel_regs *regs)
{
	return emul_get_regs(HVF, vcpu, regs);
}

static void hvf_vcpu_kick(struct vcpu *vcpu)
{
	struct hvf_vcpu *h = hvf_of(vcpu);

	if (!h)
		return;
	idle_cpu_kick(&h->idle);
	hv_vcpus_exit(&h->id, 1);
}

static void hvf_vcpu_set_irq(struct vcpu *vcpu, bool level)
{
	struct hvf_vcpu *h = hvf_of(vcpu);

	if (!h || !idle_cpu_set_irq(&h->idle, level))
		return;
	/* Applied before the next hv_vcpu_run; on our own thread that is soon enough. */
	if (!pthread_equal(pthread_self(), h->thread))
		hv_vcpus_exit(&h->id, 1);
}

/* ---- WFI, system registers, PSCI ------------------------------------------ */

/*
 * Sleep until an IRQ is pending, a kick, or the earliest timer deadline.
 * Returns true if kicked (vcpu_run must return to the core).
 */
static bool hvf_wait_for_interrupt(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	struct hvf_vm *hv = hvf_vm_of(vcpu);
	uint64_t ns;

	/* The guest may have re-armed a fired (masked) vtimer without an exit. */
	hvf_sync_timers(vcpu, h);
	ns = idle_wfi_ns(emul_get(HVF, vcpu, ACCEL_REG_CNTV_CTL_EL0),
			 emul_get(HVF, vcpu, ACCEL_REG_CNTV_CVAL_EL0), h->vtimer_masked,
			 h->sr.cntp_ctl, h->sr.cntp_cval, hvf_guest_count(hv), hv->cntfrq);
	return ns && idle_cpu_wait(&h->idle, ns);
}

static int hvf_handle_psci(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	bool suspend = false;
	int kind = emul_psci_exit(HVF, vcpu, &suspend);

	if (suspend)
		return hvf_wait_for_interrupt(vcpu, h) ? ACCEL_EXIT_NONE : HVF_CONTINUE;
	return kind == ACCEL_EXIT_NONE ? HVF_CONTINUE : kind;
}

static int hvf_handle_exception(struct vcpu *vcpu, struct hvf_vcpu *h, struct accel_exit *exit)
{
	uint64_t esr = h->exit->exception.syndrome;
	uint64_t va = h->exit->exception.virtual_address;
	uint64_t ipa = h->exit->exception.physical_address;
	unsigned ec = arm64_esr_ec(esr);

	exit->esr = esr;
	exit->pc = emul_get(HVF, vcpu, ACCEL_REG_PC);
	switch (ec) {
	case ARM64_EC_DABT_LOW:
		if (emul_dabt(HVF, vcpu, &h->mmio, esr, ipa, va, true, exit) == EMUL_MMIO)
			return ACCEL_EXIT_MMIO;
		return HVF_CONTINUE;
	case ARM64_EC_SYS64:
		emul_sysreg(HVF, vcpu, &h->sr, esr, hvf_guest_count(hvf_vm_of(vcpu)));
		return HVF_CONTINUE;
	case ARM64_EC_HVC64:
		/* HVF reports HVC with PC already past it. */
		return hvf_handle_psci(vcpu, h);
	case ARM64_EC_SMC64:
		/* A trapped SMC returns to itself: step over it. */
		emul_advance_pc(HVF, vcpu);
		return hvf_handle_psci(vcpu, h);
	case ARM64_EC_WFX:
		emul_advance_pc(HVF, vcpu);
		if (!arm64_esr_wfx_is_wfi(esr))
			return HVF_CONTINUE; /* WFE: no event model; a spurious wake is allowed */
		return hvf_wait_for_interrupt(vcpu, h) ? ACCEL_EXIT_NONE : HVF_CONTINUE;
	case ARM64_EC_BRK64:
	case ARM64_EC_BREAKPT_LOW:
	case ARM64_EC_SOFTSTP_LOW:
	case ARM64_EC_WATCHPT_LOW:
		/* Only trapped with brk-exit; vcpu.c stops or re-delivers. */
		exit->far = va;
		return ACCEL_EXIT_DEBUG;
	default:
		/* An instruction fetch outside RAM, or a class HVF should not trap. */
		emul_other_exception(HVF, vcpu, esr, va, ipa);
		return HVF_CONTINUE;
	}
}

static int hvf_vcpu_run(struct vcpu *vcpu, struct accel_exit *exit)
{
	struct hvf_vcpu *h = vcpu->accel;

	/* Kicks before this point are latched by hv_vcpus_exit. */
	idle_cpu_rearm(&h->idle);

	if (emul_mmio_complete(HVF, vcpu, &h->mmio, exit)) {
		exit->kind = ACCEL_EXIT_MMIO;
		return 0;
	}
	for (;;) {
		hv_return_t r;
		int kind;

		/* HVF clears the pending state whenever hv_vcpu_run returns. */
		hv_vcpu_set_pending_interrupt(h->id, HV_INTERRUPT_TYPE_IRQ, idle_cpu_irq(&h->idle));
		r = hv_vcpu_run(h->id);
		if (r != HV_SUCCESS) {
			log_error("hvf: cpu%u: hv_vcpu_run failed: %s (%#x)", vcpu->index,
				  hvf_strerror(r), (unsigned)r);
			exit->kind = ACCEL_EXIT_ERROR;
			return hvf_errno(r);
		}
		switch (h->exit->reason) {
		case HV_EXIT_REASON_CANCELED:
			kind = ACCEL_EXIT_NONE;
			break;
		case HV_EXIT_REASON_VTIMER_ACTIVATED:
			/* HVF masked the timer; unmasked in hvf_sync_timers once low. */
			h->vtimer_masked = true;
			vcpu_timer_update(vcpu, AVMM_CPU_TIMER_VIRT, true);
			kind = HVF_CONTINUE;
			break;
		case HV_EXIT_REASON_EXCEPTION:
			kind = hvf_handle_exception(vcpu, h, exit);
			break;
		default:
			log_error("hvf: cpu%u: unknown exit reason %u", vcpu->index,
				  (unsigned)h->exit->reason);
			exit->kind = ACCEL_EXIT_ERROR;
			return -EIO;
		}
		hvf_sync_timers(vcpu, h);
		if (kind != HVF_CONTINUE) {
			exit->kind = (enum accel_exit_kind)kind;
			return 0;
		}
	}
}

const struct accel_ops accel_hvf_ops = {
	.name = "hvf",
	.kernel_psci = false,
	.probe = hvf_probe,
	.vm_create = hvf_vm_create,
	.vm_destroy = hvf_vm_destroy,
	.ram_map = hvf_ram_map,
	.vcpu_create = hvf_vcpu_create,
	.vcpu_destroy = hvf_vcpu_destroy,
	.vcpu_reset = hvf_vcpu_reset,
	.vcpu_run = hvf_vcpu_run,
	.vcpu_kick = hvf_vcpu_kick,
	.vcpu_set_irq = hvf_vcpu_set_irq,
	.vcpu_get_regs = hvf_vcpu_get_regs,
	.reg_get = hvf_reg_get,
	.reg_set = hvf_reg_set,
};
