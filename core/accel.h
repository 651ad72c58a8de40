/* SPDX-License-Identifier: MIT */
/*
 * The accelerator interface: one implementation per file (accel_kvm.c,
 * accel_hvf.c).  The core runs one thread per vCPU; every vcpu_* call except
 * vcpu_kick and vcpu_set_irq happens on that vCPU's own thread (HVF requires
 * it, KVM does not mind).  vcpu_kick and vcpu_set_irq only ever arrive
 * between that vCPU's vcpu_create and vcpu_destroy: the core destroys vCPU
 * state only after every vCPU thread has left its loop and the I/O thread has
 * stopped, so nothing can race with vcpu_destroy.
 */
#ifndef AVMM_CORE_ACCEL_H
#define AVMM_CORE_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

enum accel_exit_kind {
	ACCEL_EXIT_NONE = 0, /* nothing for the core: kicked, signal, handled inside */
	ACCEL_EXIT_MMIO,     /* the core dispatches exit->mmio */
	ACCEL_EXIT_SHUTDOWN, /* PSCI SYSTEM_OFF */
	ACCEL_EXIT_RESET,    /* PSCI SYSTEM_RESET */
	ACCEL_EXIT_CPU_OFF,  /* PSCI CPU_OFF handled in userspace: wait for CPU_ON */
	ACCEL_EXIT_DEBUG,    /* a trapped debug exception (only with vcpu_brk_exit()) */
	ACCEL_EXIT_ERROR,    /* unrecoverable; the backend logged why */
};

struct accel_mmio {
	uint64_t addr;  /* guest physical */
	uint64_t data;  /* write: value; read: filled in by the core */
	uint32_t len;   /* 1, 2, 4 or 8 */
	bool write;
	bool fault;     /* set by the core: inject an external abort instead */
};

struct accel_exit {
	enum accel_exit_kind kind;
	struct accel_mmio mmio;
	uint64_t pc;  /* where the exit happened, for messages */
	uint64_t esr; /* ESR_EL2 syndrome when known (debug, errors) */
	uint64_t far; /* debug: the watchpoint's address */
};

/*
 * The one register vocabulary of both backends: what the shared arm64 code
 * (emul.c) reads and writes through accel_ops.reg_get/reg_set.
 */
enum accel_reg {
	ACCEL_REG_X0 = 0, /* X0..X30 are ACCEL_REG_X0 + n */
	ACCEL_REG_PC = 31,
	ACCEL_REG_PSTATE, /* SPSR format */
	ACCEL_REG_SP_EL0,
	ACCEL_REG_SP_EL1,
	ACCEL_REG_ELR_EL1,
	ACCEL_REG_SPSR_EL1,
	ACCEL_REG_ESR_EL1,
	ACCEL_REG_FAR_EL1,
	ACCEL_REG_VBAR_EL1,
	ACCEL_REG_SCTLR_EL1,
	ACCEL_REG_TCR_EL1,
	ACCEL_REG_TTBR0_EL1,
	ACCEL_REG_TTBR1_EL1,
	ACCEL_REG_CNTV_CTL_EL0,
	ACCEL_REG_CNTV_CVAL_EL0,
	ACCEL_NR_REGS
};

struct accel_regs {
	uint64_t x[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
};

struct accel_ops {
	const char *name;
	/* PSCI handled in the host kernel (KVM): the core need not do CPU_ON. */
	bool kernel_psci;
	/* 0 if usable on this host, else -errno and a sentence in err. */
	int (*probe)(char *err, size_t errlen);
	int (*vm_create)(struct vm *vm, char *err, size_t errlen);
	void (*vm_destroy)(struct vm *vm);
	int (*ram_map)(struct vm *vm, uint64_t gpa, void *host, uint64_t size);
	/* Create the vCPU in its reset state (secondaries: powered off). */
	int (*vcpu_create)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Power-on state at `entry` with x0 = `x0`: EL1h, DAIF masked, MMU off. */
	int (*vcpu_reset)(struct vcpu *vcpu, uint64_t entry, uint64_t x0);
	/*
	 * Complete the previous exit (an MMIO read's data, the PC step, or an
	 * injected abort if mmio.fault), run, and describe the next exit.
	 * Timer level changes are reported through vcpu_timer_update().
	 */
	int (*vcpu_run)(struct vcpu *vcpu, struct accel_exit *exit);
	/* Any thread: make vcpu_run return soon with ACCEL_EXIT_NONE. */
	void (*vcpu_kick)(struct vcpu *vcpu);
	/*
	 * Any thread: the vCPU's IRQ input changed to `level` (already stored:
	 * vcpu_irq_level() returns it, for a backend to read instead).
	 */
	void (*vcpu_set_irq)(struct vcpu *vcpu, bool level);
	int (*vcpu_get_regs)(struct vcpu *vcpu, struct accel_regs *regs);
	/* On the vCPU's thread, between runs: one register of the vocabulary. */
	int (*reg_get)(struct vcpu *vcpu, enum accel_reg reg, uint64_t *val);
	int (*reg_set)(struct vcpu *vcpu, enum accel_reg reg, uint64_t val);
	/*
	 * Optional, for a system reset: return the vCPU to its power-on state
	 * (secondaries off) where vcpu_reset alone does not (KVM re-inits).
	 */
	int (*vcpu_reinit)(struct vcpu *vcpu);
	/*
	 * Optional (NULL or -ENOSYS: the core's MMIO path does it): complete
	 * a guest write of exactly `len` bytes to `gpa` (of the value `data`
	 * only, when `datamatch`) inside the host kernel by signalling the
	 * eventfd `fd`, without an exit to userspace.  Called after vm_create
	 * and before the vCPUs run; del undoes an add, before vm_destroy.
	 * The doorbells of <avmm/avmm.h> are built on it.
	 */
	int (*ioeventfd_add)(struct vm *vm, uint64_t gpa, unsigned len, bool datamatch,
			     uint64_t data, int fd);
	int (*ioeventfd_del)(struct vm *vm, uint64_t gpa, unsigned len, bool datamatch,
			     uint64_t data, int fd);
};

#ifdef AVMM_HAVE_KVM
extern const struct accel_ops accel_kvm_ops;
#endif
#ifdef AVMM_HAVE_HVF
extern const struct accel_ops accel_hvf_ops;
#endif

/* "kvm", "hvf" or "auto" (the first one whose probe succeeds). */
const struct accel_ops *accel_select(const char *name, char *err, size_t errlen);

#endif
