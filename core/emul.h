/* SPDX-License-Identifier: MIT */
/*
 * The arm64 side of a vCPU exit, shared by both backends: exception entry
 * (external aborts, UNDEF, re-delivered debug exceptions), MMIO data aborts
 * (the syndrome's transfer, loads/stores without one decoded by arm64.c,
 * pairs as two accesses), trapped system registers and PSCI calls.  It owns
 * nothing but the per-access state the backend keeps for it (struct
 * emul_mmio), and reaches the vCPU only through the backend's register
 * vocabulary (accel_ops.reg_get/reg_set, on the vCPU's own thread).  The
 * backends keep the host plumbing: what an exit is, how to resume.
 */
#ifndef AVMM_CORE_EMUL_H
#define AVMM_CORE_EMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "accel.h"
#include "arm64.h"

struct vcpu;

/* One register through the backend, 0 when it cannot be read. */
uint64_t emul_get(const struct accel_ops *a, struct vcpu *v, enum accel_reg r);
void emul_set(const struct accel_ops *a, struct vcpu *v, enum accel_reg r, uint64_t val);
/* Xn, with 31 as XZR (reads 0, writes ignored). */
uint64_t emul_get_x(const struct accel_ops *a, struct vcpu *v, unsigned n);
void emul_set_x(const struct accel_ops *a, struct vcpu *v, unsigned n, uint64_t val);
void emul_advance_pc(const struct accel_ops *a, struct vcpu *v);

/*
 * Exception entry at the guest's EL1, by register writes (ESR, FAR, ELR,
 * SPSR, PC, PSTATE), so it works the same on every host and kernel.  A
 * synchronous external data abort on the instruction at PC, with FAR = `far`
 * (or FnV set when !far_valid); an instruction abort; UNDEF; a trapped debug
 * exception (ESR_EL2 `esr`, watchpoint address `far`).  0, or -EINVAL (vCPU
 * not at EL0/EL1, or not a debug class), logged.
 */
int emul_inject_dabt(const struct accel_ops *a, struct vcpu *v, uint64_t far, bool far_valid,
		     bool write);
int emul_inject_iabt(const struct accel_ops *a, struct vcpu *v, uint64_t far);
int emul_inject_undef(const struct accel_ops *a, struct vcpu *v);
int emul_inject_debug(const struct accel_ops *a, struct vcpu *v, uint64_t esr, uint64_t far);

/*
 * The debug policy: true when a trapped debug exception (ESR_EL2 `esr`)
 * stops the machine, which only a BRK does and only with brk-exit; every
 * other one goes back to the guest (emul_inject_debug).
 */
bool emul_debug_stops(bool brk_exit, uint64_t esr);

/*
 * Any other trapped synchronous exception (ESR_EL2 `esr`, FAR `far`, IPA
 * `ipa`): an instruction abort outside RAM becomes an external instruction
 * abort, anything else UNDEF, each with a rate-limited guest error.
 */
void emul_other_exception(const struct accel_ops *a, struct vcpu *v, uint64_t esr,
			  uint64_t far, uint64_t ipa);

/* The access being emulated for the core (or the next of a pair). */
struct emul_mmio {
	bool active;
	bool decoded; /* from the instruction: ISV=0 */
	bool write;
	unsigned len, rt;
	bool sign, sf;
	uint64_t far;    /* VA of this access, for an injected abort */
	bool far_valid;
	/* decoded only */
	struct arm64_ldst ls;
	unsigned idx;
	uint64_t va0, ipa0, new_base;
};

enum emul_result {
	EMUL_CONTINUE = 0, /* handled here (or an abort injected): resume the guest */
	EMUL_MMIO,         /* *exit describes an MMIO access for the core */
};

/*
 * A stage-2 data abort (ESR_EL2 `esr`) at IPA `ipa`, with FAR = `far` when
 * far_valid (HVF gives it; KVM's ISV=0 exit does not).  ISV=1: the syndrome's
 * access; ISV=0: the instruction at PC, fetched and decoded; anything that
 * cannot be emulated gets an external abort (rate-limited guest error).
 */
enum emul_result emul_dabt(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
			   uint64_t esr, uint64_t ipa, uint64_t far, bool far_valid,
			   struct accel_exit *exit);

/*
 * Finish the access the core just handled (*exit as it left it): the load's
 * register, writeback, PC; or, if exit->mmio.fault, an external abort.  True
 * when another access of the same instruction was put in *exit instead.
 */
bool emul_mmio_complete(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
			struct accel_exit *exit);

/*
 * An MMIO access a host kernel decoded and will retire itself (KVM, ISV=1)
 * that must abort instead: emul_abort_prepare reads what the retirement
 * destroys (PC, the load's register) and the fault address; the backend
 * retires the access; emul_abort_finish restores them and takes the abort.
 */
struct emul_abort {
	uint64_t pc, far, rt_val;
	unsigned rt;
	bool far_valid, write, restore_rt;
};
void emul_abort_prepare(const struct accel_ops *a, struct vcpu *v, uint64_t ipa, bool write,
			struct emul_abort *ab);
int emul_abort_finish(const struct accel_ops *a, struct vcpu *v, const struct emul_abort *ab);

/*
 * Fetch the 32-bit instruction at guest VA `pc` (translated with the vCPU's
 * EL1&0 regime).  0 or -EFAULT.
 */
int emul_fetch_insn(const struct accel_ops *a, struct vcpu *v, uint64_t pc, uint32_t *insn);

/* A trapped MSR/MRS (EC 0x18): emulated through `sr` at guest count `now`, or UNDEF. */
void emul_sysreg(const struct accel_ops *a, struct vcpu *v, struct arm64_sysreg_state *sr,
		 uint64_t esr, uint64_t now);

/*
 * An HVC/SMC with PC already past it: psci_call on X0..X3, X0 = result.
 * Returns psci_call's enum psci_action (an int here: psci.h's constants
 * clash with <linux/psci.h>, which the KVM backend sees).
 */
int emul_psci(const struct accel_ops *a, struct vcpu *v);
/*
 * emul_psci as the exit the core must see: ACCEL_EXIT_NONE to resume (with
 * *suspend set for CPU_SUSPEND: wait like WFI first), or a power exit.
 */
enum accel_exit_kind emul_psci_exit(const struct accel_ops *a, struct vcpu *v, bool *suspend);

/* X0..X30, the SP in use, PC and PSTATE, for register dumps. */
int emul_get_regs(const struct accel_ops *a, struct vcpu *v, struct accel_regs *regs);

#endif
