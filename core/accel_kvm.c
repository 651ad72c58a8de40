/* SPDX-License-Identifier: MIT */
/*
 * KVM backend for arm64 Linux hosts, with the interrupt controller in
 * userspace: no in-kernel vGIC, the vCPU IRQ line driven with KVM_IRQ_LINE,
 * timer output levels read from kvm_run (KVM_CAP_ARM_USER_IRQ).  PSCI is left
 * to the kernel; what KVM hands to userspace of a guest's accesses (ISV=0
 * loads/stores, aborts) goes through the shared arm64 code in emul.c, as on
 * HVF.
 *
 * KVM_IRQ_LINE is only ever issued by the vCPU's own thread, before KVM_RUN:
 * it sets HCR_EL2.VI with an atomic bitop, but the vCPU thread rewrites
 * hcr_el2 non-atomically on every vcpu_load (WFx trap toggling, Linux 6.1 at
 * least), so a line raised from another thread can be lost: the vCPU then
 * spins in WFI (its timer pending) without ever taking the interrupt.  With
 * 2 vCPUs that hung 3 of 80 Linux boots; issued here, 0 of 80.  Other
 * threads only change the level (vcpu_irq_level()) and kick.
 */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "emul.h"
#include "iothread.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define KICK_SIGNAL SIGUSR1

struct kvm_state {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct kvm_vcpu_init init;
};

struct kvm_vcpu_state {
	int fd;
	struct kvm_run *run;
	pthread_t self;
	atomic_bool ready;
	bool irq_applied;   /* the VI level KVM has, as last set by this thread */
	bool mmio_pending;  /* last exit was KVM_EXIT_MMIO: complete it on re-entry */
	struct emul_mmio nisv; /* an ISV=0 access emulated here (KVM_EXIT_ARM_NISV) */
	uint64_t irq_level_seen; /* device_irq_level at the last exit */
};

#define CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

static int kvm_get_reg(int fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)val};

	return ioctl(fd, KVM_GET_ONE_REG, &r) ? -errno : 0;
}

static int kvm_set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)&val};

	return ioctl(fd, KVM_SET_ONE_REG, &r) ? -errno : 0;
}

/* The shared register vocabulary (accel.h) as KVM_{GET,SET}_ONE_REG ids. */
static const uint64_t kvm_regs_id[ACCEL_NR_REGS] = {
	[ACCEL_REG_PC] = CORE_REG(regs.pc),
	[ACCEL_REG_PSTATE] = CORE_REG(regs.pstate),
	[ACCEL_REG_SP_EL0] = CORE_REG(regs.sp),
	[ACCEL_REG_SP_EL1] = CORE_REG(sp_el1),
	[ACCEL_REG_ELR_EL1] = CORE_REG(elr_el1),
	[ACCEL_REG_SPSR_EL1] = CORE_REG(spsr[KVM_SPSR_EL1]),
	[ACCEL_REG_ESR_EL1] = ARM64_SYS_REG(3, 0, 5, 2, 0),
	[ACCEL_REG_FAR_EL1] = ARM64_SYS_REG(3, 0, 6, 0, 0),
	[ACCEL_REG_VBAR_EL1] = ARM64_SYS_REG(3, 0, 12, 0, 0),
	[ACCEL_REG_SCTLR_EL1] = ARM64_SYS_REG(3, 0, 1, 0, 0),
	[ACCEL_REG_TCR_EL1] = ARM64_SYS_REG(3, 0, 2, 0, 2),
	[ACCEL_REG_TTBR0_EL1] = ARM64_SYS_REG(3, 0, 2, 0, 0),
	[ACCEL_REG_TTBR1_EL1] = ARM64_SYS_REG(3, 0, 2, 0, 1),
	[ACCEL_REG_CNTV_CTL_EL0] = KVM_REG_ARM_TIMER_CTL,
	[ACCEL_REG_CNTV_CVAL_EL0] = KVM_REG_ARM_TIMER_CVAL,
};

static uint64_t kvm_reg_id(enum accel_reg reg)
{
	if (reg < ACCEL_REG_PC)
		return CORE_REG(regs.regs[0]) + (uint64_t)reg * (sizeof(__u64) / sizeof(__u32));
	return kvm_regs_id[reg];
}

static int kvm_reg_get(struct vcpu *v, enum accel_reg reg, uint64_t *val)
{
	struct kvm_vcpu_state *s = v->accel;

	if ((unsigned)reg >= ACCEL_NR_REGS)
		return -EINVAL;
	return kvm_get_reg(s->fd, kvm_reg_id(reg), val);
}

static int kvm_reg_set(struct vcpu *v, enum accel_reg reg, uint64_t val)
{
	struct kvm_vcpu_state *s = v->accel;

	if ((unsigned)reg >= ACCEL_NR_REGS)
		return -EINVAL;
	return kvm_set_reg(s->fd, kvm_reg_id(reg), val);
}

#define KVM (&accel_kvm_ops)

static int kvm_probe(char *err, size_t errlen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "/dev/kvm: %s%s", strerror(e),
			 e == EACCES ? " (add yourself to the 'kvm' group)"
			 : e == ENOENT ? " (no KVM: is the kernel built with CONFIG_KVM and booted at EL2?)"
				       : "");
		return -e;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: unexpected KVM API version");
		rc = -ENOTSUP;
	} else if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_USER_IRQ) <= 0) {
		snprintf(err, errlen,
			 "this kernel's KVM lacks KVM_CAP_ARM_USER_IRQ, which avmm's userspace "
			 "interrupt controller needs (Linux 4.15 or later)");
		rc = -ENOTSUP;
	}
	close(fd);
	return rc;
}

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return EINTR */
}

static int kvm_vm_create(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_state *ks = calloc(1, sizeof(*ks));
	struct kvm_enable_cap nisv = {.cap = KVM_CAP_ARM_NISV_TO_USER};
	struct sigaction sa = {.sa_handler = kick_handler};
	int n;

	if (!ks)
		return -ENOMEM;
	ks->vm_fd = -1;
	ks->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (ks->kvm_fd < 0)
		goto fail_errno;
	/* Type 0: the default 40-bit IPA space, which our RAM limit fits. */
	ks->vm_fd = ioctl(ks->kvm_fd, KVM_CREATE_VM, 0);
	if (ks->vm_fd < 0)
		goto fail_errno;
	n = ioctl(ks->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0)
		goto fail_errno;
	ks->run_size = (size_t)n;
	if (ioctl(ks->vm_fd, KVM_ARM_PREFERRED_TARGET, &ks->init))
		goto fail_errno;
	/* ISV=0 aborts (LDP/STP, writeback forms) come to us instead of failing KVM_RUN. */
	if (ioctl(ks->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0 &&
	    ioctl(ks->vm_fd, KVM_ENABLE_CAP, &nisv))
		log_warn("kvm: cannot enable KVM_CAP_ARM_NISV_TO_USER: %s", strerror(errno));

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
	vm->accel_state = ks;
	return 0;

fail_errno:
	n = errno;
	snprintf(err, errlen, "creating the VM: %s", strerror(n));
	if (ks->vm_fd >= 0)
		close(ks->vm_fd);
	if (ks->kvm_fd >= 0)
		close(ks->kvm_fd);
	free(ks);
	return -n;
}

static void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_state *ks = vm->accel_state;

	close(ks->vm_fd);
	close(ks->kvm_fd);
	free(ks);
	vm->accel_state = NULL;
}

static int kvm_ram_map(struct vm *vm, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_state *ks = vm->accel_state;
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(ks->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* Power-on state; also KVM's documented way to reset a vCPU. */
static int kvm_init_vcpu(struct kvm_state *ks, unsigned index, int fd)
{
	struct kvm_vcpu_init init = ks->init;

	/* Secondaries start powered off; the kernel's PSCI CPU_ON wakes them. */
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (index)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	return ioctl(fd, KVM_ARM_VCPU_INIT, &init) ? -errno : 0;
}

/*
 * KVM on a GICv3 host (Linux 6.1 at least) tells the guest
 * ID_AA64PFR0_EL1.GIC = 1 even without an in-kernel vGIC, so a Linux guest
 * enables the GICv3 system-register interface and WARNs in gic_cpu_init
 * ("GICv3 system registers enabled, broken firmware!") next to avmm's GICv2.
 * Clear the field where KVM lets userspace write it (writable ID registers,
 * before the VM first runs); a kernel that refuses (6.1: -EINVAL) keeps its
 * value and the guest boots all the same.  Writable ID registers are
 * VM-wide, so a later vCPU reads the cleared value and skips the write.
 */
#define ID_AA64PFR0_EL1 ARM64_SYS_REG(3, 0, 0, 4, 0)
#define ID_AA64PFR0_GIC (UINT64_C(0xf) << 24)

static void kvm_hide_gicv3_cpuif(struct vcpu *v, int fd)
{
	uint64_t pfr0;
	int rc;

	rc = kvm_get_reg(fd, ID_AA64PFR0_EL1, &pfr0);
	if (rc || !(pfr0 & ID_AA64PFR0_GIC))
		return;
	rc = kvm_set_reg(fd, ID_AA64PFR0_EL1, pfr0 & ~ID_AA64PFR0_GIC);
	if (rc && v->index == 0)
		log_info("kvm: the host kernel keeps ID_AA64PFR0_EL1.GIC = %u (%s); a Linux guest "
			 "will warn that GICv3 system registers are enabled",
			 (unsigned)((pfr0 & ID_AA64PFR0_GIC) >> 24), strerror(-rc));
}

static int kvm_vcpu_create(struct vcpu *v)
{
	struct kvm_state *ks = v->vm->accel_state;
	struct kvm_vcpu_state *s = calloc(1, sizeof(*s));
	sigset_t set;
	int rc;

	if (!s)
		return -ENOMEM;
	s->fd = ioctl(ks->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
	if (s->fd < 0) {
		rc = -errno;
		free(s);
		return rc;
	}
	s->run = mmap(NULL, ks->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->run == MAP_FAILED) {
		rc = -errno;
		close(s->fd);
		free(s);
		return rc;
	}
	rc = kvm_init_vcpu(ks, v->index, s->fd);
	if (rc)
		goto fail;
	kvm_hide_gicv3_cpuif(v, s->fd);
	/*
	 * Only where the machine stops on BRK: guest debugging sets
	 * MDCR_EL2.TDE, which routes every debug exception (BRK, breakpoints,
	 * watchpoints, steps) to KVM and on to us, and KVM masks the guest's
	 * own single step meanwhile.  vcpu.c re-delivers all but BRK.
	 */
	if (vcpu_brk_exit(v)) {
		struct kvm_guest_debug dbg = {
			.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
		};

		if (ioctl(s->fd, KVM_SET_GUEST_DEBUG, &dbg))
			log_warn("vcpu%u: cannot trap BRK: %s", v->index, strerror(errno));
	}
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	s->self = pthread_self();
	v->accel = s;
	atomic_store(&s->ready, true);
	return 0;
fail:
	munmap(s->run, ks->run_size);
	close(s->fd);
	free(s);
	return rc;
}

static void kvm_vcpu_destroy(struct vcpu *v)
{
	struct kvm_state *ks = v->vm->accel_state;
	struct kvm_vcpu_state *s = v->accel;

	if (!s)
		return;
	atomic_store(&s->ready, false);
	munmap(s->run, ks->run_size);
	close(s->fd);
	free(s);
	v->accel = NULL;
}

static int kvm_vcpu_reinit(struct vcpu *v)
{
	struct kvm_vcpu_state *s = v->accel;

	s->mmio_pending = false;
	s->nisv.active = false;
	s->irq_level_seen = 0;
	s->irq_applied = false; /* KVM_ARM_VCPU_INIT clears VI */
	return kvm_init_vcpu(v->vm->accel_state, v->index, s->fd);
}

static int kvm_vcpu_reset(struct vcpu *v, uint64_t entry, uint64_t x0)
{
	struct kvm_vcpu_state *s = v->accel;
	int rc;

	/* KVM_ARM_VCPU_INIT left PSTATE at EL1h with DAIF masked, MMU off. */
	rc = kvm_set_reg(s->fd, CORE_REG(regs.pc), entry);
	if (!rc)
		rc = kvm_set_reg(s->fd, CORE_REG(regs.regs[0]), x0);
	for (int i = 1; i < 4 && !rc; i++)
		rc = kvm_set_reg(s->fd, CORE_REG(regs.regs[i]), 0);
	return rc;
}

static inline void report_timers(struct vcpu *v, struct kvm_vcpu_state *s, struct kvm_run *run)
{
	uint64_t lvl = run->s.regs.device_irq_level;

	/* Almost every exit leaves the levels alone: compare before calling out. */
	if (lvl == s->irq_level_seen)
		return;
	s->irq_level_seen = lvl;
	vcpu_timer_update(v, AVMM_CPU_TIMER_VIRT, lvl & KVM_ARM_DEV_EL1_VTIMER);
	vcpu_timer_update(v, AVMM_CPU_TIMER_PHYS, lvl & KVM_ARM_DEV_EL1_PTIMER);
}

/* On the vCPU's own thread: make KVM's IRQ line match the irqchip's output. */
static void kvm_sync_irq_line(struct vcpu *v, struct kvm_vcpu_state *s)
{
	struct kvm_state *ks = v->vm->accel_state;
	bool want = vcpu_irq_level(v);
	struct kvm_irq_level irq = {
		.irq = ((v->index >> 8) & 0xfu) << KVM_ARM_IRQ_VCPU2_SHIFT |
		       KVM_ARM_IRQ_TYPE_CPU << KVM_ARM_IRQ_TYPE_SHIFT |
		       (v->index & 0xffu) << KVM_ARM_IRQ_VCPU_SHIFT | KVM_ARM_IRQ_CPU_IRQ,
		.level = want,
	};

	if (want == s->irq_applied)
		return;
	if (ioctl(ks->vm_fd, KVM_IRQ_LINE, &irq))
		log_error("vcpu%u: KVM_IRQ_LINE: %s", v->index, strerror(errno));
	else
		s->irq_applied = want;
}

/* After KVM_RUN returns: later kicks must stay visible to the next entry. */
static void kvm_ack_kick(struct kvm_run *run)
{
	run->immediate_exit = 0;
	/* Pairs with the fence in kvm_vcpu_kick: see irq_level after clearing. */
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * The core found nothing at a KVM_EXIT_MMIO's address.  KVM retires the
 * instruction on the next KVM_RUN whatever we do, and an abort made pending
 * before that (KVM_SET_VCPU_EVENTS) hits a WARN_ON on every such access in
 * kernels without commit e735a5da6442 (6.12): a guest could flood the host
 * log, or panic a panic_on_warn host.  So KVM retires it first, without
 * running the guest (immediate_exit: the documented way to complete a
 * pending operation), and emul.c then undoes the retirement (PC, the load's
 * register) and takes the abort by register writes, as on HVF.
 */
static int kvm_abort_mmio(struct vcpu *v, struct kvm_vcpu_state *s, struct accel_exit *e)
{
	struct kvm_run *run = s->run;
	struct emul_abort ab;
	int rc, err;

	emul_abort_prepare(KVM, v, e->mmio.addr, e->mmio.write, &ab);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	run->immediate_exit = 1;
	rc = ioctl(s->fd, KVM_RUN, 0);
	err = errno;
	kvm_ack_kick(run);
	if (!rc || err != EINTR) {
		log_error("vcpu%u: completing an aborted MMIO access: KVM_RUN %s", v->index,
			  rc ? strerror(err) : "ran the guest");
		return rc ? -err : -EIO;
	}
	report_timers(v, s, run);
	e->kind = ACCEL_EXIT_NONE; /* back to the core: it sees a kick this run consumed */
	e->pc = 0;
	emul_abort_finish(KVM, v, &ab);
	return 0;
}

static int kvm_vcpu_run(struct vcpu *v, struct accel_exit *e)
{
	struct kvm_vcpu_state *s = v->accel;
	struct kvm_run *run = s->run;

	if (s->mmio_pending) {
		s->mmio_pending = false;
		if (e->mmio.fault)
			return kvm_abort_mmio(v, s, e);
		if (!e->mmio.write)
			memcpy(run->mmio.data, &e->mmio.data, run->mmio.len);
	} else if (emul_mmio_complete(KVM, v, &s->nisv, e)) {
		e->kind = ACCEL_EXIT_MMIO; /* the second access of a pair */
		return 0;
	}

	kvm_sync_irq_line(v, s);

	e->kind = ACCEL_EXIT_NONE;
	e->pc = 0; /* read lazily through vcpu_get_regs: an ioctl per exit costs */
	if (ioctl(s->fd, KVM_RUN, 0)) {
		int err = errno;

		kvm_ack_kick(run);
		if (err == EINTR || err == EAGAIN) {
			report_timers(v, s, run);
			return 0;
		}
		if (err == ENOSYS)
			log_error("vcpu%u: KVM_RUN: ENOSYS (an access KVM cannot decode and the "
				  "kernel lacks KVM_CAP_ARM_NISV_TO_USER)",
				  v->index);
		return -err;
	}
	kvm_ack_kick(run);
	report_timers(v, s, run);

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		s->mmio_pending = true;
		e->kind = ACCEL_EXIT_MMIO;
		e->mmio.addr = run->mmio.phys_addr;
		e->mmio.len = run->mmio.len;
		e->mmio.write = run->mmio.is_write;
		e->mmio.fault = false;
		e->mmio.data = 0;
		if (e->mmio.write)
			memcpy(&e->mmio.data, run->mmio.data,
			       run->mmio.len <= 8 ? run->mmio.len : 8);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			e->kind = ACCEL_EXIT_SHUTDOWN;
			return 0;
		case KVM_SYSTEM_EVENT_RESET:
			e->kind = ACCEL_EXIT_RESET;
			return 0;
		case KVM_SYSTEM_EVENT_CRASH:
			log_error("vcpu%u: the guest reported a crash (PSCI)", v->index);
			e->kind = ACCEL_EXIT_ERROR;
			return 0;
		default:
			log_warn("vcpu%u: unknown system event %u ignored", v->index,
				 run->system_event.type);
			return 0;
		}
	case KVM_EXIT_DEBUG:
		e->kind = ACCEL_EXIT_DEBUG;
		e->esr = run->debug.arch.hsr;
		e->far = run->debug.arch.far;
		return 0;
	case KVM_EXIT_ARM_NISV: {
		/* No syndrome (LDP/STP, writeback forms): decoded in emul.c, as on HVF. */
		uint64_t esr = ((uint64_t)ARM64_EC_DABT_LOW << ARM64_ESR_EC_SHIFT) | ARM64_ESR_IL |
			       run->arm_nisv.esr_iss;

		e->pc = emul_get(KVM, v, ACCEL_REG_PC);
		if (emul_dabt(KVM, v, &s->nisv, esr, run->arm_nisv.fault_ipa, 0, false, e) !=
		    EMUL_MMIO)
			e->kind = ACCEL_EXIT_NONE;
		return 0;
	}
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu%u: KVM entry failed, reason 0x%llx", v->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		e->kind = ACCEL_EXIT_ERROR;
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu%u: KVM internal error, suberror %u", v->index,
			  run->internal.suberror);
		e->kind = ACCEL_EXIT_ERROR;
		return 0;
	default:
		log_error("vcpu%u: unexpected KVM exit reason %u", v->index, run->exit_reason);
		e->kind = ACCEL_EXIT_ERROR;
		return 0;
	}
}

static void kvm_vcpu_kick(struct vcpu *v)
{
	struct kvm_vcpu_state *s = v->accel;

	if (!s || !atomic_load(&s->ready))
		return; /* not running yet: it checks for a stop before entering */
	/* Whatever the kicker changed before this is seen after kvm_ack_kick. */
	atomic_thread_fence(memory_order_seq_cst);
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	s->run->immediate_exit = 1;
	pthread_kill(s->self, KICK_SIGNAL);
}

/*
 * The irqchip changed this vCPU's line (vcpu->irq_level already holds it).
 * Its own thread applies it before the next KVM_RUN; from elsewhere, kick.
 */
static void kvm_vcpu_set_irq(struct vcpu *v, bool level)
{
	struct kvm_vcpu_state *s = v->accel;

	(void)level;
	if (s && atomic_load(&s->ready) && !pthread_equal(pthread_self(), s->self))
		kvm_vcpu_kick(v);
}

static int kvm_vcpu_get_regs(struct vcpu *v, struct accel_regs *r)
{
	return v->accel ? emul_get_regs(KVM, v, r) : -ENODEV;
}

/*
 * Doorbells: KVM_IOEVENTFD completes the write in the kernel and signals the
 * eventfd, so the vCPU goes straight back to the guest.  Without the
 * capability the core's MMIO path signals the same fd.
 */
static int kvm_ioeventfd(struct vm *vm, uint64_t gpa, unsigned len, bool datamatch,
			 uint64_t data, int fd, uint32_t flags)
{
	struct kvm_state *ks = vm->accel_state;
	struct kvm_ioeventfd io = {
		.datamatch = datamatch ? data : 0,
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = flags | (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
	};

	if (ioctl(ks->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return -ENOSYS;
	return ioctl(ks->vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

static int kvm_ioeventfd_add(struct vm *vm, uint64_t gpa, unsigned len, bool datamatch,
			     uint64_t data, int fd)
{
	return kvm_ioeventfd(vm, gpa, len, datamatch, data, fd, 0);
}

static int kvm_ioeventfd_del(struct vm *vm, uint64_t gpa, unsigned len, bool datamatch,
			     uint64_t data, int fd)
{
	return kvm_ioeventfd(vm, gpa, len, datamatch, data, fd, KVM_IOEVENTFD_FLAG_DEASSIGN);
}

const struct accel_ops accel_kvm_ops = {
	.name = "kvm",
	.kernel_psci = true,
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.ram_map = kvm_ram_map,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_reset = kvm_vcpu_reset,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.vcpu_set_irq = kvm_vcpu_set_irq,
	.vcpu_get_regs = kvm_vcpu_get_regs,
	.reg_get = kvm_reg_get,
	.reg_set = kvm_reg_set,
	.vcpu_reinit = kvm_vcpu_reinit,
	.ioeventfd_add = kvm_ioeventfd_add,
	.ioeventfd_del = kvm_ioeventfd_del,
};
