/* SPDX-License-Identifier: MIT */
/*
 * Hypervisor.framework backend (macOS on Apple Silicon).
 *
 * HVF gives us a bare vCPU: no interrupt controller, no PSCI, no MMIO
 * emulation.  So this file owns the exit loop's arm64 side: data aborts become
 * MMIO exits (with an instruction decoder when the syndrome is not valid),
 * trapped system registers go through the table in arm64.c, HVC/SMC reach the
 * userspace PSCI in psci.c, WFI sleeps on a condition variable, and the
 * virtual timer's output is relayed to the timer plugin.  Every hv_vcpu_*
 * call except hv_vcpus_exit happens on the vCPU's own thread, as HVF demands.
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
#include <time.h>

#include <Hypervisor/Hypervisor.h>
#include <mach/mach_time.h>

#include "accel.h"
#include "arm64.h"
#include "log.h"
#include "psci.h"
#include "ram.h"
#include "vcpu.h"
#include "vm.h"

#define HVF_NO_TICKS UINT64_MAX

struct hvf_vm {
	struct vm *vm;
	uint64_t vtimer_offset; /* the same on every vCPU: one guest count */
	uint64_t cntfrq;        /* counter frequency (Hz) */
	uint32_t tb_numer, tb_denom; /* mach ticks -> ns */

	/*
	 * The physical timer is emulated (CNTP_* trap), so nothing in HVF fires
	 * it while the guest runs: a helper thread kicks the vCPU at its deadline.
	 */
	pthread_mutex_t ptimer_lock;
	pthread_cond_t ptimer_cond;
	pthread_t ptimer_thread;
	bool ptimer_started;
	bool ptimer_stop;
};

/* The MMIO access the core is completing, or the next of a pair. */
struct hvf_mmio {
	bool active;
	bool decoded; /* ISV=0, from arm64_ldst_decode */
	bool write;
	unsigned len;
	unsigned rt;
	bool sign, sf;
	uint64_t va;  /* FAR of this access, for an injected abort */
	/* decoded only */
	struct arm64_ldst ls;
	unsigned idx;
	uint64_t va0, ipa0, new_base;
};

struct hvf_vcpu {
	hv_vcpu_t id;
	hv_vcpu_exit_t *exit;
	pthread_t thread;
	atomic_bool irq;

	/* WFI sleep: woken by vcpu_set_irq and vcpu_kick. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kicked;

	bool vtimer_masked; /* HVF masked it when it fired; level reported high */
	bool ptimer_level;
	uint64_t ptimer_deadline; /* host ticks; under hvf_vm.ptimer_lock */
	uint64_t ptimer_published;

	struct arm64_sysreg_state sr;
	struct hvf_mmio mmio;
	struct log_ratelimit rl;
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

static uint64_t hvf_get(struct hvf_vcpu *h, hv_reg_t reg)
{
	uint64_t v = 0;

	hv_vcpu_get_reg(h->id, reg, &v);
	return v;
}

static void hvf_set(struct hvf_vcpu *h, hv_reg_t reg, uint64_t v)
{
	hv_vcpu_set_reg(h->id, reg, v);
}

static uint64_t hvf_get_sys(struct hvf_vcpu *h, hv_sys_reg_t reg)
{
	uint64_t v = 0;

	hv_vcpu_get_sys_reg(h->id, reg, &v);
	return v;
}

static void hvf_set_sys(struct hvf_vcpu *h, hv_sys_reg_t reg, uint64_t v)
{
	hv_vcpu_set_sys_reg(h->id, reg, v);
}

/* Xn for n < 31; 31 is XZR in every use here. */
static uint64_t hvf_get_x(struct hvf_vcpu *h, unsigned n)
{
	return n >= 31 ? 0 : hvf_get(h, (hv_reg_t)(HV_REG_X0 + n));
}

static void hvf_set_x(struct hvf_vcpu *h, unsigned n, uint64_t v)
{
	if (n < 31)
		hvf_set(h, (hv_reg_t)(HV_REG_X0 + n), v);
}

/* The SP in use: SP_EL1 at EL1h, else SP_EL0. */
static hv_sys_reg_t hvf_sp_reg(struct hvf_vcpu *h)
{
	uint64_t m = hvf_get(h, HV_REG_CPSR) & ARM64_PSTATE_M_MASK;

	return m == ARM64_PSTATE_M_EL1H ? HV_SYS_REG_SP_EL1 : HV_SYS_REG_SP_EL0;
}

static void hvf_advance_pc(struct hvf_vcpu *h)
{
	hvf_set(h, HV_REG_PC, hvf_get(h, HV_REG_PC) + 4);
}

static uint64_t hvf_ticks_to_ns(const struct hvf_vm *hv, uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * hv->tb_numer / hv->tb_denom);
}

/* The guest's counter (CNTVCT = CNTPCT: avmm gives guests CNTVOFF = 0). */
static uint64_t hvf_guest_count(const struct hvf_vm *hv)
{
	return mach_absolute_time() - hv->vtimer_offset;
}

static uint64_t hvf_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hvf_cond_init(pthread_cond_t *cond)
{
#ifdef __APPLE__
	pthread_cond_init(cond, NULL); /* waits are relative: see hvf_cond_wait_until */
#else
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
#endif
}

/* Wait until woken or CLOCK_MONOTONIC reaches end_ns; ETIMEDOUT after it. */
static int hvf_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t end_ns)
{
	uint64_t now = hvf_mono_ns();
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

static void *hvf_ptimer_main(void *arg);

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
	ret = hvf_create(vm, err, errlen);
	if (ret) {
		free(hv);
		return ret;
	}
	hv->vm = vm;
	hv->tb_numer = tb.numer;
	hv->tb_denom = tb.denom;
	/* CNTFRQ_EL0 as the guest reads it: the host counter's rate (24 MHz). */
	hv->cntfrq = (uint64_t)1000000000u * tb.denom / tb.numer;
	/* Guest count starts near 0 at VM creation. */
	hv->vtimer_offset = mach_absolute_time();
	pthread_mutex_init(&hv->ptimer_lock, NULL);
	hvf_cond_init(&hv->ptimer_cond);
	vm->accel_state = hv;
	return 0;
}

static void hvf_vm_destroy(struct vm *vm)
{
	struct hvf_vm *hv = vm->accel_state;

	if (!hv)
		return;
	pthread_mutex_lock(&hv->ptimer_lock);
	hv->ptimer_stop = true;
	pthread_cond_broadcast(&hv->ptimer_cond);
	pthread_mutex_unlock(&hv->ptimer_lock);
	if (hv->ptimer_started)
		pthread_join(hv->ptimer_thread, NULL);
	hv_vm_destroy();
	pthread_cond_destroy(&hv->ptimer_cond);
	pthread_mutex_destroy(&hv->ptimer_lock);
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

/* ---- physical timer watchdog --------------------------------------------- */

static void *hvf_ptimer_main(void *arg)
{
	struct hvf_vm *hv = arg;
	struct vm *vm = hv->vm;

	pthread_mutex_lock(&hv->ptimer_lock);
	while (!hv->ptimer_stop) {
		uint64_t now = mach_absolute_time(), next = HVF_NO_TICKS;

		for (unsigned i = 0; i < vm->ncpus; i++) {
			struct hvf_vcpu *h = hvf_of(&vm->vcpus[i]);

			if (!h || h->ptimer_deadline == HVF_NO_TICKS)
				continue;
			if (h->ptimer_deadline <= now) {
				/* Once: the vCPU re-arms after it has seen the level. */
				h->ptimer_deadline = HVF_NO_TICKS;
				hv_vcpus_exit(&h->id, 1);
			} else if (h->ptimer_deadline < next) {
				next = h->ptimer_deadline;
			}
		}
		if (next == HVF_NO_TICKS)
			pthread_cond_wait(&hv->ptimer_cond, &hv->ptimer_lock);
		else
			hvf_cond_wait_until(&hv->ptimer_cond, &hv->ptimer_lock,
					    hvf_mono_ns() + hvf_ticks_to_ns(hv, next - now));
	}
	pthread_mutex_unlock(&hv->ptimer_lock);
	return NULL;
}

/* Tell the watchdog when this vCPU's physical timer next fires (or never). */
static void hvf_ptimer_arm(struct hvf_vm *hv, struct hvf_vcpu *h, uint64_t host_ticks)
{
	if (h->ptimer_published == host_ticks)
		return;
	h->ptimer_published = host_ticks;
	pthread_mutex_lock(&hv->ptimer_lock);
	h->ptimer_deadline = host_ticks;
	if (host_ticks != HVF_NO_TICKS && !hv->ptimer_started && !hv->ptimer_stop) {
		if (pthread_create(&hv->ptimer_thread, NULL, hvf_ptimer_main, hv) == 0)
			hv->ptimer_started = true;
		else
			log_warn("hvf: cannot start the physical timer thread; CNTP interrupts "
				 "arrive only at the next exit");
	}
	pthread_cond_signal(&hv->ptimer_cond);
	pthread_mutex_unlock(&hv->ptimer_lock);
}

/*
 * After every exit: relay timer output levels.  The virtual timer is masked
 * by HVF when it fires; unmask once the guest has dealt with it.
 */
static void hvf_sync_timers(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	struct hvf_vm *hv = hvf_vm_of(vcpu);
	uint64_t now, ctl;
	bool level;

	if (h->vtimer_masked) {
		ctl = hvf_get_sys(h, HV_SYS_REG_CNTV_CTL_EL0);
		if (!((ctl & ARM64_CNT_CTL_ENABLE) && (ctl & ARM64_CNT_CTL_ISTATUS) &&
		      !(ctl & ARM64_CNT_CTL_IMASK))) {
			vcpu_timer_update(vcpu, AVMM_CPU_TIMER_VIRT, false);
			hv_vcpu_set_vtimer_mask(h->id, false);
			h->vtimer_masked = false;
		}
	}

	now = hvf_guest_count(hv);
	level = arm64_timer_line(h->sr.cntp_ctl, h->sr.cntp_cval, now);
	if (level != h->ptimer_level) {
		h->ptimer_level = level;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_PHYS, level);
	}
	if ((h->sr.cntp_ctl & ARM64_CNT_CTL_ENABLE) && !(h->sr.cntp_ctl & ARM64_CNT_CTL_IMASK) &&
	    !level)
		hvf_ptimer_arm(hv, h, h->sr.cntp_cval + hv->vtimer_offset);
	else
		hvf_ptimer_arm(hv, h, HVF_NO_TICKS);
}

/* ---- vCPU lifecycle ---------------------------------------------------- */

static void hvf_vcpu_reset_state(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	arm64_sysreg_reset(&h->sr);
	h->mmio.active = false;
	/* A stale timer must not fire into the new boot. */
	hvf_set_sys(h, HV_SYS_REG_CNTV_CTL_EL0, 0);
	if (h->vtimer_masked) {
		hv_vcpu_set_vtimer_mask(h->id, false);
		h->vtimer_masked = false;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_VIRT, false);
	}
	if (h->ptimer_level) {
		h->ptimer_level = false;
		vcpu_timer_update(vcpu, AVMM_CPU_TIMER_PHYS, false);
	}
	hvf_set(h, HV_REG_CPSR, ARM64_PSTATE_RESET);
	hvf_set_sys(h, HV_SYS_REG_SCTLR_EL1, ARM64_SCTLR_RESET);
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
	atomic_init(&h->irq, false);
	pthread_mutex_init(&h->lock, NULL);
	hvf_cond_init(&h->cond);
	h->ptimer_deadline = HVF_NO_TICKS;
	h->ptimer_published = HVF_NO_TICKS;

	hvf_set_sys(h, HV_SYS_REG_MPIDR_EL1, vcpu->mpidr);
	/* The guest's GIC is avmm's GICv2: no GICv3 CPU interface, as on KVM. */
	pfr0 = hvf_get_sys(h, HV_SYS_REG_ID_AA64PFR0_EL1);
	if (pfr0 & HVF_ID_AA64PFR0_GIC)
		hvf_set_sys(h, HV_SYS_REG_ID_AA64PFR0_EL1, pfr0 & ~HVF_ID_AA64PFR0_GIC);
	hv_vcpu_set_vtimer_offset(h->id, hv->vtimer_offset);
	/* BRK exits to us: bare-metal test guests stop that way. */
	hv_vcpu_set_trap_debug_exceptions(h->id, true);
	hvf_vcpu_reset_state(vcpu, h);
	__atomic_store_n((struct hvf_vcpu **)&vcpu->accel, h, __ATOMIC_RELEASE);
	return 0;
}

static void hvf_vcpu_destroy(struct vcpu *vcpu)
{
	struct hvf_vcpu *h = vcpu->accel;
	struct hvf_vm *hv = hvf_vm_of(vcpu);

	if (!h)
		return;
	/* Out of the watchdog's sight before the memory goes. */
	pthread_mutex_lock(&hv->ptimer_lock);
	__atomic_store_n((struct hvf_vcpu **)&vcpu->accel, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&hv->ptimer_lock);
	hv_vcpu_destroy(h->id);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int hvf_vcpu_reset(struct vcpu *vcpu, uint64_t entry, uint64_t x0)
{
	struct hvf_vcpu *h = vcpu->accel;

	hvf_vcpu_reset_state(vcpu, h);
	for (unsigned i = 1; i < 31; i++)
		hvf_set_x(h, i, 0);
	hvf_set_x(h, 0, x0);
	hvf_set(h, HV_REG_PC, entry);
	return 0;
}

static int hvf_vcpu_get_regs(struct vcpu *vcpu, struct accel_regs *regs)
{
	struct hvf_vcpu *h = vcpu->accel;

	for (unsigned i = 0; i < 31; i++)
		regs->x[i] = hvf_get_x(h, i);
	regs->pc = hvf_get(h, HV_REG_PC);
	regs->pstate = hvf_get(h, HV_REG_CPSR);
	regs->sp = hvf_get_sys(h, hvf_sp_reg(h));
	return 0;
}

static void hvf_vcpu_kick(struct vcpu *vcpu)
{
	struct hvf_vcpu *h = hvf_of(vcpu);

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->kicked = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	hv_vcpus_exit(&h->id, 1);
}

static void hvf_vcpu_set_irq(struct vcpu *vcpu, bool level)
{
	struct hvf_vcpu *h = hvf_of(vcpu);

	if (!h || atomic_exchange(&h->irq, level) == level)
		return;
	if (level) {
		pthread_mutex_lock(&h->lock);
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
	}
	/* Applied before the next hv_vcpu_run; on our own thread that is soon enough. */
	if (!pthread_equal(pthread_self(), h->thread))
		hv_vcpus_exit(&h->id, 1);
}

/* ---- exception injection ----------------------------------------------- */

static void hvf_exc_in(struct hvf_vcpu *h, struct arm64_exc_in *in)
{
	in->pc = hvf_get(h, HV_REG_PC);
	in->pstate = hvf_get(h, HV_REG_CPSR);
	in->vbar = hvf_get_sys(h, HV_SYS_REG_VBAR_EL1);
	in->sctlr = hvf_get_sys(h, HV_SYS_REG_SCTLR_EL1);
}

static void hvf_exc_apply(struct hvf_vcpu *h, const struct arm64_exc_out *out)
{
	hvf_set_sys(h, HV_SYS_REG_ESR_EL1, out->esr);
	hvf_set_sys(h, HV_SYS_REG_FAR_EL1, out->far);
	hvf_set_sys(h, HV_SYS_REG_ELR_EL1, out->elr);
	hvf_set_sys(h, HV_SYS_REG_SPSR_EL1, out->spsr);
	hvf_set(h, HV_REG_PC, out->pc);
	hvf_set(h, HV_REG_CPSR, out->pstate);
}

enum hvf_inject { HVF_INJ_DABT, HVF_INJ_IABT, HVF_INJ_UNDEF };

static void hvf_inject(struct vcpu *vcpu, struct hvf_vcpu *h, enum hvf_inject kind, uint64_t far,
		       bool write)
{
	struct arm64_exc_in in;
	struct arm64_exc_out out;
	int ret;

	hvf_exc_in(h, &in);
	if (kind == HVF_INJ_DABT)
		ret = arm64_inject_data_abort(&in, far, write, &out);
	else if (kind == HVF_INJ_IABT)
		ret = arm64_inject_insn_abort(&in, far, &out);
	else
		ret = arm64_inject_undef(&in, hvf_get_sys(h, HV_SYS_REG_FAR_EL1), &out);
	if (ret) {
		/* Only reachable if HVF ran the guest above EL1: nothing sane to do. */
		log_error("hvf: cpu%u: cannot inject an exception in PSTATE %#llx", vcpu->index,
			  (unsigned long long)in.pstate);
		return;
	}
	hvf_exc_apply(h, &out);
}

static bool hvf_guest_log_ok(struct hvf_vcpu *h)
{
	return log_ratelimit_ok(&h->rl, hvf_mono_ns(), 10);
}

/* ---- data aborts --------------------------------------------------------- */

static int hvf_read_ram64(void *opaque, uint64_t ipa, uint64_t *val)
{
	struct vm *vm = opaque;

	return ram_read(&vm->ram, ipa, val, sizeof(*val));
}

/* Describe access m->idx of a decoded instruction to the core. */
static void hvf_mmio_issue(struct hvf_vcpu *h, struct accel_exit *exit)
{
	struct hvf_mmio *m = &h->mmio;
	uint64_t off = (uint64_t)m->idx * m->ls.size;

	m->va = m->va0 + off;
	exit->kind = ACCEL_EXIT_MMIO;
	exit->mmio.addr = m->ipa0 + off;
	exit->mmio.len = m->ls.size;
	exit->mmio.write = !m->ls.load;
	exit->mmio.fault = false;
	exit->mmio.data = m->ls.load ? 0 :
		arm64_store_value(hvf_get_x(h, m->idx ? m->ls.rt2 : m->ls.rt), m->ls.size);
}

/*
 * ISV=0: fetch and decode the instruction.  Returns 0 with exit filled, or a
 * reason string when it cannot be emulated.
 */
static const char *hvf_dabt_decode(struct vcpu *vcpu, struct hvf_vcpu *h, uint64_t va,
				   uint64_t ipa, struct accel_exit *exit, uint32_t *insn)
{
	struct arm64_mmu_regs mmu = {
		.sctlr = hvf_get_sys(h, HV_SYS_REG_SCTLR_EL1),
		.tcr = hvf_get_sys(h, HV_SYS_REG_TCR_EL1),
		.ttbr0 = hvf_get_sys(h, HV_SYS_REG_TTBR0_EL1),
		.ttbr1 = hvf_get_sys(h, HV_SYS_REG_TTBR1_EL1),
	};
	struct hvf_mmio *m = &h->mmio;
	uint64_t pc_ipa, base, rm_val, delta, total;

	if (arm64_translate(&mmu, exit->pc, hvf_read_ram64, vcpu->vm, &pc_ipa) ||
	    ram_read(&vcpu->vm->ram, pc_ipa, insn, sizeof(*insn)))
		return "cannot fetch the instruction";
	*m = (struct hvf_mmio){ 0 };
	if (arm64_ldst_decode(*insn, &m->ls))
		return "instruction not emulated";
	base = m->ls.rn == 31 ? hvf_get_sys(h, hvf_sp_reg(h)) : hvf_get_x(h, m->ls.rn);
	rm_val = m->ls.reg_offset ? hvf_get_x(h, m->ls.rm) : 0;
	m->va0 = arm64_ldst_address(&m->ls, base, rm_val, &m->new_base);

	/* FAR may name any byte of the access; the IPA is for that byte. */
	total = (uint64_t)m->ls.size * m->ls.nregs;
	delta = va - m->va0;
	if (delta >= total || ((m->va0 ^ (m->va0 + total - 1)) >> 12))
		return "access does not match the fault address";
	m->ipa0 = ipa - delta;
	m->active = true;
	m->decoded = true;
	hvf_mmio_issue(h, exit);
	return NULL;
}

static int hvf_handle_dabt(struct vcpu *vcpu, struct hvf_vcpu *h, uint64_t esr,
			   struct accel_exit *exit)
{
	uint64_t va = h->exit->exception.virtual_address;
	uint64_t ipa = h->exit->exception.physical_address;
	struct arm64_dabt d;
	const char *why;
	uint32_t insn = 0;

	arm64_dabt_decode(esr, &d);
	if (d.cm) {
		/* DC/AT on a device address: nothing to maintain. */
		hvf_advance_pc(h);
		return HVF_CONTINUE;
	}
	if (d.s1ptw) {
		why = "stage-1 page table walk outside RAM";
		goto abort;
	}
	if (d.isv) {
		struct hvf_mmio *m = &h->mmio;

		*m = (struct hvf_mmio){
			.active = true,
			.write = d.wnr,
			.len = 1u << d.sas,
			.rt = d.srt,
			.sign = d.sse,
			.sf = d.sf,
			.va = va,
		};
		exit->kind = ACCEL_EXIT_MMIO;
		exit->mmio.addr = ipa;
		exit->mmio.len = m->len;
		exit->mmio.write = m->write;
		exit->mmio.fault = false;
		exit->mmio.data = m->write ? arm64_store_value(hvf_get_x(h, d.srt), m->len) : 0;
		return ACCEL_EXIT_MMIO;
	}
	if (d.fnv) {
		why = "no fault address";
		goto abort;
	}
	why = hvf_dabt_decode(vcpu, h, va, ipa, exit, &insn);
	if (!why)
		return ACCEL_EXIT_MMIO;
abort:
	h->mmio.active = false;
	if (hvf_guest_log_ok(h))
		log_msg(AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			"cpu%u: data abort at IPA %#llx (pc %#llx, insn %#010x, ESR %#llx): %s; "
			"injecting an external abort",
			vcpu->index, (unsigned long long)ipa, (unsigned long long)exit->pc, insn,
			(unsigned long long)esr, why);
	hvf_inject(vcpu, h, HVF_INJ_DABT, va, d.wnr);
	return HVF_CONTINUE;
}

/*
 * Finish the MMIO access the core just handled.  True when another access of
 * the same instruction (the second of a pair) was put in *exit instead.
 */
static bool hvf_complete_mmio(struct vcpu *vcpu, struct hvf_vcpu *h, struct accel_exit *exit)
{
	struct hvf_mmio *m = &h->mmio;

	if (!m->active)
		return false;
	if (exit->mmio.fault) {
		m->active = false;
		hvf_inject(vcpu, h, HVF_INJ_DABT, m->va, exit->mmio.write);
		return false;
	}
	if (!m->decoded) {
		if (!m->write)
			hvf_set_x(h, m->rt, arm64_load_extend(exit->mmio.data, m->len, m->sign, m->sf));
		m->active = false;
		hvf_advance_pc(h);
		return false;
	}
	if (m->ls.load)
		hvf_set_x(h, m->idx ? m->ls.rt2 : m->ls.rt,
			  arm64_load_extend(exit->mmio.data, m->ls.size, m->ls.sign, m->ls.sf));
	if (++m->idx < m->ls.nregs) {
		hvf_mmio_issue(h, exit);
		return true;
	}
	if (m->ls.mode != ARM64_ADDR_OFFSET) {
		if (m->ls.rn == 31)
			hvf_set_sys(h, hvf_sp_reg(h), m->new_base);
		else
			hvf_set_x(h, m->ls.rn, m->new_base);
	}
	m->active = false;
	hvf_advance_pc(h);
	return false;
}

/* ---- WFI, system registers, PSCI ------------------------------------------ */

/*
 * Sleep until an IRQ is pending, a kick, or the earliest timer deadline.
 * Returns true if kicked (vcpu_run must return to the core).
 */
static bool hvf_wait_for_interrupt(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	struct hvf_vm *hv = hvf_vm_of(vcpu);
	uint64_t now, ns, pns, ctl, cval, end = 0;
	bool kicked;

	/* The guest may have re-armed a fired (masked) vtimer without an exit. */
	hvf_sync_timers(vcpu, h);
	now = hvf_guest_count(hv);
	ctl = hvf_get_sys(h, HV_SYS_REG_CNTV_CTL_EL0);
	cval = hvf_get_sys(h, HV_SYS_REG_CNTV_CVAL_EL0);

	/* A virtual timer HVF has not reported yet fires as soon as we run. */
	if (!h->vtimer_masked && arm64_timer_line(ctl, cval, now))
		return false;
	ns = h->vtimer_masked ? ARM64_NO_DEADLINE :
		arm64_timer_deadline_ns(ctl, cval, now, hv->cntfrq);
	pns = arm64_timer_deadline_ns(h->sr.cntp_ctl, h->sr.cntp_cval, now, hv->cntfrq);
	if (pns < ns)
		ns = pns;
	if (ns != ARM64_NO_DEADLINE)
		end = hvf_mono_ns() + ns;

	pthread_mutex_lock(&h->lock);
	while (!atomic_load(&h->irq) && !h->kicked) {
		if (ns == ARM64_NO_DEADLINE)
			pthread_cond_wait(&h->cond, &h->lock);
		else if (hvf_cond_wait_until(&h->cond, &h->lock, end) == ETIMEDOUT)
			break;
	}
	kicked = h->kicked;
	pthread_mutex_unlock(&h->lock);
	return kicked;
}

static int hvf_handle_sysreg(struct vcpu *vcpu, struct hvf_vcpu *h, uint64_t esr,
			     struct accel_exit *exit)
{
	struct arm64_sysreg_access a;
	uint64_t val;

	arm64_sysreg_decode(esr, &a);
	val = a.read ? 0 : hvf_get_x(h, a.rt);
	if (arm64_sysreg_access(&h->sr, &a, hvf_guest_count(hvf_vm_of(vcpu)), &val) ==
	    ARM64_SYSREG_OK) {
		if (a.read)
			hvf_set_x(h, a.rt, val);
		hvf_advance_pc(h);
		return HVF_CONTINUE;
	}
	if (arm64_sysreg_first_seen(a.enc))
		log_msg(AVMM_LOG_WARN | AVMM_LOG_UNIMP,
			"cpu%u: %s of unhandled system register S%u_%u_C%u_C%u_%u at pc %#llx: "
			"UNDEF (reported once)",
			vcpu->index, a.read ? "read" : "write", a.op0, a.op1, a.crn, a.crm, a.op2,
			(unsigned long long)exit->pc);
	hvf_inject(vcpu, h, HVF_INJ_UNDEF, 0, false);
	return HVF_CONTINUE;
}

static int hvf_handle_psci(struct vcpu *vcpu, struct hvf_vcpu *h)
{
	uint64_t args[4], ret;
	bool aarch32 = hvf_get(h, HV_REG_CPSR) & ARM64_PSTATE_NRW;

	for (unsigned i = 0; i < 4; i++)
		args[i] = hvf_get_x(h, i);
	switch (psci_call(vcpu, args, aarch32, &ret)) {
	case PSCI_ACT_RETURN:
		hvf_set_x(h, 0, ret);
		return HVF_CONTINUE;
	case PSCI_ACT_SUSPEND:
		hvf_set_x(h, 0, ret);
		return hvf_wait_for_interrupt(vcpu, h) ? ACCEL_EXIT_NONE : HVF_CONTINUE;
	case PSCI_ACT_CPU_OFF:
		return ACCEL_EXIT_CPU_OFF;
	case PSCI_ACT_SYSTEM_OFF:
		return ACCEL_EXIT_SHUTDOWN;
	case PSCI_ACT_SYSTEM_RESET:
		return ACCEL_EXIT_RESET;
	}
	return HVF_CONTINUE;
}

static int hvf_handle_exception(struct vcpu *vcpu, struct hvf_vcpu *h, struct accel_exit *exit)
{
	uint64_t esr = h->exit->exception.syndrome;
	unsigned ec = arm64_esr_ec(esr);

	exit->esr = esr;
	exit->pc = hvf_get(h, HV_REG_PC);
	switch (ec) {
	case ARM64_EC_DABT_LOW:
		return hvf_handle_dabt(vcpu, h, esr, exit);
	case ARM64_EC_SYS64:
		return hvf_handle_sysreg(vcpu, h, esr, exit);
	case ARM64_EC_HVC64:
		/* HVF reports HVC with PC already past it. */
		return hvf_handle_psci(vcpu, h);
	case ARM64_EC_SMC64:
		/* A trapped SMC returns to itself: step over it. */
		hvf_advance_pc(h);
		return hvf_handle_psci(vcpu, h);
	case ARM64_EC_WFX:
		hvf_advance_pc(h);
		if (!arm64_esr_wfx_is_wfi(esr))
			return HVF_CONTINUE; /* WFE: no event model; a spurious wake is allowed */
		return hvf_wait_for_interrupt(vcpu, h) ? ACCEL_EXIT_NONE : HVF_CONTINUE;
	case ARM64_EC_BRK64:
	case 0x30: /* hardware breakpoint, lower EL */
	case 0x32: /* software step, lower EL */
	case 0x34: /* watchpoint, lower EL */
		return ACCEL_EXIT_DEBUG;
	case ARM64_EC_IABT_LOW:
		if (hvf_guest_log_ok(h))
			log_msg(AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
				"cpu%u: instruction fetch from IPA %#llx outside RAM (pc %#llx); "
				"injecting an external abort",
				vcpu->index,
				(unsigned long long)h->exit->exception.physical_address,
				(unsigned long long)exit->pc);
		hvf_inject(vcpu, h, HVF_INJ_IABT, h->exit->exception.virtual_address, false);
		return HVF_CONTINUE;
	default:
		if (hvf_guest_log_ok(h))
			log_msg(AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
				"cpu%u: unexpected exception class %#x (ESR %#llx) at pc %#llx; "
				"injecting UNDEF",
				vcpu->index, ec, (unsigned long long)esr,
				(unsigned long long)exit->pc);
		hvf_inject(vcpu, h, HVF_INJ_UNDEF, 0, false);
		return HVF_CONTINUE;
	}
}

static int hvf_vcpu_run(struct vcpu *vcpu, struct accel_exit *exit)
{
	struct hvf_vcpu *h = vcpu->accel;

	/* Kicks before this point are latched by hv_vcpus_exit. */
	pthread_mutex_lock(&h->lock);
	h->kicked = false;
	pthread_mutex_unlock(&h->lock);

	if (hvf_complete_mmio(vcpu, h, exit)) {
		exit->kind = ACCEL_EXIT_MMIO;
		return 0;
	}
	for (;;) {
		hv_return_t r;
		int kind;

		/* HVF clears the pending state whenever hv_vcpu_run returns. */
		hv_vcpu_set_pending_interrupt(h->id, HV_INTERRUPT_TYPE_IRQ, atomic_load(&h->irq));
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
};
