/* SPDX-License-Identifier: MIT */
/*
 * arm64 architecture helpers shared by the accelerator backends: syndrome
 * (ESR) decoding, MMIO register-transfer rules, a decoder for loads/stores
 * the hardware gives no syndrome for (ISV=0), the trapped system register
 * table, timer deadline arithmetic and exception-entry computation.
 *
 * Everything here is pure (no hypervisor calls, no allocation, no logging) so
 * it can be unit-tested and used from both KVM and HVF.  References are to the
 * Arm Architecture Reference Manual for A-profile (DDI 0487).
 */
#ifndef AVMM_CORE_ARM64_H
#define AVMM_CORE_ARM64_H

#include <stdbool.h>
#include <stdint.h>

/* ---- ESR_ELx ------------------------------------------------------------ */

#define ARM64_ESR_EC_SHIFT 26
#define ARM64_ESR_IL (UINT64_C(1) << 25)
#define ARM64_ESR_ISS_MASK UINT64_C(0x1ffffff)

/* Exception classes (ESR_ELx.EC) used by the backends. */
#define ARM64_EC_UNKNOWN 0x00
#define ARM64_EC_WFX 0x01
#define ARM64_EC_HVC64 0x16
#define ARM64_EC_SMC64 0x17
#define ARM64_EC_SYS64 0x18
#define ARM64_EC_IABT_LOW 0x20
#define ARM64_EC_IABT_CUR 0x21
#define ARM64_EC_DABT_LOW 0x24
#define ARM64_EC_DABT_CUR 0x25
#define ARM64_EC_BREAKPT_LOW 0x30
#define ARM64_EC_BREAKPT_CUR 0x31
#define ARM64_EC_SOFTSTP_LOW 0x32
#define ARM64_EC_SOFTSTP_CUR 0x33
#define ARM64_EC_WATCHPT_LOW 0x34
#define ARM64_EC_WATCHPT_CUR 0x35
#define ARM64_EC_BRK64 0x3c

static inline unsigned arm64_esr_ec(uint64_t esr)
{
	return (unsigned)(esr >> ARM64_ESR_EC_SHIFT) & 0x3f;
}

/* IL: 1 = the trapped instruction was 32 bits (always, for AArch64 state). */
static inline bool arm64_esr_il(uint64_t esr)
{
	return (esr & ARM64_ESR_IL) != 0;
}

static inline uint32_t arm64_esr_iss(uint64_t esr)
{
	return (uint32_t)(esr & ARM64_ESR_ISS_MASK);
}

/* WFx ISS: TI[1:0] = 0 WFI, 1 WFE, 2 WFIT, 3 WFET. */
static inline bool arm64_esr_wfx_is_wfi(uint64_t esr)
{
	return (arm64_esr_iss(esr) & 1u) == 0;
}

/* Data abort ISS (ESR_ELx.EC = 0x24/0x25), field by field. */
struct arm64_dabt {
	bool isv;       /* [24] the fields below SAS..AR are valid */
	unsigned sas;   /* [23:22] access size: 1 << sas bytes */
	bool sse;       /* [21] sign-extend the loaded value */
	unsigned srt;   /* [20:16] transfer register; 31 = XZR */
	bool sf;        /* [15] 64-bit register (else W: 32 bits) */
	bool ar;        /* [14] acquire/release semantics */
	bool fnv;       /* [10] FAR is not valid */
	bool ea;        /* [9] external abort type */
	bool cm;        /* [8] cache maintenance / address translation instruction */
	bool s1ptw;     /* [7] stage-2 fault on a stage-1 translation table walk */
	bool wnr;       /* [6] write (1) or read (0) */
	unsigned dfsc;  /* [5:0] data fault status code */
};

void arm64_dabt_decode(uint64_t esr, struct arm64_dabt *d);

#define ARM64_ESR_DABT_FNV (UINT64_C(1) << 10) /* FAR not valid */
#define ARM64_ESR_DABT_WNR (UINT64_C(1) << 6)

/* Data fault status codes used by the backends. */
#define ARM64_DFSC_SYNC_EXTERNAL 0x10

/* ---- MMIO register transfer ---------------------------------------------- */

#define ARM64_XZR 31

/*
 * The value a load of `len` bytes (1, 2, 4, 8) puts in its destination:
 * sign-extended if `sign`, then cut to 32 bits (zero-extended to 64, as a
 * write to a W register does) unless `sf`.
 */
uint64_t arm64_load_extend(uint64_t data, unsigned len, bool sign, bool sf);

/* The low `len` bytes of a store's source register value. */
uint64_t arm64_store_value(uint64_t reg, unsigned len);

/* ---- ISV=0 load/store decoder -------------------------------------------- */

enum arm64_addr_mode {
	ARM64_ADDR_OFFSET = 0, /* [Xn, #imm] / [Xn, Xm]: no writeback */
	ARM64_ADDR_PRE,        /* [Xn, #imm]!: address = Xn + imm, Xn updated */
	ARM64_ADDR_POST,       /* [Xn], #imm: address = Xn, then Xn += imm */
};

/*
 * One general-purpose-register load or store (LDR/STR/LDUR/STUR of any
 * width, sign-extending loads, register offset forms) or a pair (LDP/STP/
 * LDPSW/LDNP/STNP), done as `nregs` accesses of `size` bytes at consecutive
 * addresses.
 */
struct arm64_ldst {
	bool load;
	bool sign;    /* sign-extend loads */
	bool sf;      /* loads: 64-bit destination (else W) */
	unsigned size; /* bytes per access: 1, 2, 4 or 8 */
	unsigned nregs; /* 1 or 2 */
	unsigned rt, rt2; /* 31 = XZR */
	unsigned rn;  /* base; 31 = SP */
	enum arm64_addr_mode mode;
	int64_t imm;  /* byte offset for the immediate forms */
	bool reg_offset; /* address = Xn + extend(Xm) << shift */
	unsigned rm;  /* 31 = XZR */
	unsigned extend; /* option field: 2 UXTW, 3 LSL, 6 SXTW, 7 SXTX */
	unsigned shift;
};

/*
 * Decode `insn` into *d.  Returns 0, or -ENOTSUP for anything this decoder
 * cannot emulate (SIMD/FP registers, exclusives, atomics, prefetches,
 * unprivileged forms, unallocated or CONSTRAINED UNPREDICTABLE encodings): the
 * caller then injects an external abort.
 */
int arm64_ldst_decode(uint32_t insn, struct arm64_ldst *d);

/*
 * The address of the first access given Xn (SP if rn is 31) and Xm (0 for
 * XZR); *new_base receives Xn's value after writeback (unchanged without).
 */
uint64_t arm64_ldst_address(const struct arm64_ldst *d, uint64_t base, uint64_t rm_val,
			    uint64_t *new_base);

/* ---- stage-1 translation (for fetching the faulting instruction) ------- */

/* Read a 64-bit little-endian translation table descriptor at IPA `ipa`. */
typedef int (*arm64_read64_fn)(void *opaque, uint64_t ipa, uint64_t *val);

struct arm64_mmu_regs {
	uint64_t sctlr; /* SCTLR_EL1 */
	uint64_t tcr;   /* TCR_EL1 */
	uint64_t ttbr0; /* TTBR0_EL1 */
	uint64_t ttbr1; /* TTBR1_EL1 */
};

/*
 * Translate EL1&0 virtual address `va` to an IPA (identity when the MMU is
 * off).  Handles 4K/16K/64K granules, blocks and 48-bit output addresses;
 * 0 or -EFAULT (translation fault, unsupported configuration, read failure).
 * Permissions are not checked: the hardware already did when it trapped.
 */
int arm64_translate(const struct arm64_mmu_regs *mmu, uint64_t va, arm64_read64_fn read,
		    void *opaque, uint64_t *ipa);

/* ---- trapped MSR/MRS (ESR_ELx.EC = 0x18) -------------------------------- */

/* The five-part name op0:op1:CRn:CRm:op2 packed as in MRS (and HVF's hv_sys_reg_t). */
#define ARM64_SYSREG(op0, op1, crn, crm, op2) \
	((uint32_t)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))

struct arm64_sysreg_access {
	uint32_t enc; /* ARM64_SYSREG() of the register */
	unsigned op0, op1, crn, crm, op2;
	unsigned rt;  /* 31 = XZR */
	bool read;    /* MRS (1) or MSR (0) */
};

void arm64_sysreg_decode(uint64_t esr, struct arm64_sysreg_access *a);

#define ARM64_OSLSR_OSLM_IMPL (UINT64_C(1) << 3) /* OSLM = 0b10: OS lock implemented */
#define ARM64_OSLSR_OSLK (UINT64_C(1) << 1)

#define ARM64_CNT_CTL_ENABLE (UINT64_C(1) << 0)
#define ARM64_CNT_CTL_IMASK (UINT64_C(1) << 1)
#define ARM64_CNT_CTL_ISTATUS (UINT64_C(1) << 2)

/* Per-vCPU state behind the emulated registers. */
struct arm64_sysreg_state {
	uint64_t oslsr;
	uint64_t osdlr;
	uint64_t mdscr;
	uint64_t mdccint;
	uint64_t oseccr;
	uint64_t cntp_ctl; /* ENABLE and IMASK; ISTATUS is computed */
	uint64_t cntp_cval;
};

void arm64_sysreg_reset(struct arm64_sysreg_state *s);

enum arm64_sysreg_result {
	ARM64_SYSREG_OK = 0, /* emulated: write *val to Xt for a read; PC += 4 */
	ARM64_SYSREG_UNDEF,  /* not emulated: inject UNDEF, PC unchanged */
};

/*
 * Emulate one access.  `now` is the guest's physical count (CNTPCT_EL0,
 * equal to its virtual count: avmm gives guests CNTVOFF = 0).  For writes
 * *val is the value of Xt (0 for XZR); for reads it receives the result.
 */
enum arm64_sysreg_result arm64_sysreg_access(struct arm64_sysreg_state *s,
					     const struct arm64_sysreg_access *a, uint64_t now,
					     uint64_t *val);

/*
 * True the first time an encoding is seen in this process (atomic), so
 * unknown registers are logged once each.
 */
bool arm64_sysreg_first_seen(uint32_t enc);

/* ---- generic timer ------------------------------------------------------- */

#define ARM64_NO_DEADLINE UINT64_MAX

/* Output line of a timer: ENABLE && ISTATUS && !IMASK, ISTATUS from cval <= now. */
bool arm64_timer_line(uint64_t ctl, uint64_t cval, uint64_t now);

/*
 * Nanoseconds from `now` (ticks) until the timer condition is met at `cval`,
 * counting at `freq` Hz, rounded up and saturating below ARM64_NO_DEADLINE.
 * ARM64_NO_DEADLINE when the timer is disabled or masked (it cannot wake a
 * WFI), when it has already fired (its interrupt is already pending through
 * the interrupt controller), or when freq is 0.
 */
uint64_t arm64_timer_deadline_ns(uint64_t ctl, uint64_t cval, uint64_t now, uint64_t freq);

/* ---- exception entry ----------------------------------------------------- */

#define ARM64_PSTATE_M_MASK 0x1fu
#define ARM64_PSTATE_M_EL0T 0x0u
#define ARM64_PSTATE_M_EL1T 0x4u
#define ARM64_PSTATE_M_EL1H 0x5u
#define ARM64_PSTATE_NRW (1u << 4) /* M[4]: AArch32 */
#define ARM64_PSTATE_F (1u << 6)
#define ARM64_PSTATE_I (1u << 7)
#define ARM64_PSTATE_A (1u << 8)
#define ARM64_PSTATE_D (1u << 9)
#define ARM64_PSTATE_DAIF (ARM64_PSTATE_D | ARM64_PSTATE_A | ARM64_PSTATE_I | ARM64_PSTATE_F)
#define ARM64_PSTATE_IL (UINT64_C(1) << 20)
#define ARM64_PSTATE_SS (UINT64_C(1) << 21)
#define ARM64_PSTATE_PAN (UINT64_C(1) << 22)
#define ARM64_PSTATE_SSBS (UINT64_C(1) << 12)
#define ARM64_PSTATE_BTYPE (UINT64_C(3) << 10)

/* Power-on state: EL1h, DAIF masked. */
#define ARM64_PSTATE_RESET (ARM64_PSTATE_DAIF | ARM64_PSTATE_M_EL1H) /* 0x3c5 */

#define ARM64_SCTLR_M (UINT64_C(1) << 0)
#define ARM64_SCTLR_SPAN (UINT64_C(1) << 23)
#define ARM64_SCTLR_DSSBS (UINT64_C(1) << 44)
/* RES1 bits of SCTLR_EL1 for ARMv8.0: MMU and caches off. */
#define ARM64_SCTLR_RESET UINT64_C(0x30d00800)

struct arm64_exc_in {
	uint64_t pc;
	uint64_t pstate; /* CPSR/SPSR format */
	uint64_t vbar;   /* VBAR_EL1 */
	uint64_t sctlr;  /* SCTLR_EL1 (SPAN, DSSBS) */
};

struct arm64_exc_out {
	uint64_t esr;  /* ESR_EL1 */
	uint64_t far;  /* FAR_EL1 (unchanged value for exceptions without one) */
	uint64_t elr;  /* ELR_EL1 */
	uint64_t spsr; /* SPSR_EL1 */
	uint64_t pc;
	uint64_t pstate;
};

/*
 * Register values for taking a synchronous exception to EL1 with syndrome
 * `esr` (EC chosen by the caller) and fault address `far`.  -EINVAL when the
 * vCPU is not at EL0 or EL1 (avmm never runs guests at EL2).
 */
int arm64_take_sync_exception(const struct arm64_exc_in *in, uint64_t esr, uint64_t far,
			      struct arm64_exc_out *out);

/*
 * A synchronous external data abort on an access by the instruction at
 * in->pc to virtual address `far`: EC 0x25 from EL1, 0x24 from EL0,
 * DFSC 0x10, WnR from `write`.
 */
int arm64_inject_data_abort(const struct arm64_exc_in *in, uint64_t far, bool write,
			    struct arm64_exc_out *out);

/* A synchronous external instruction abort fetching from `far` (= in->pc). */
int arm64_inject_insn_abort(const struct arm64_exc_in *in, uint64_t far,
			    struct arm64_exc_out *out);

/* UNDEF (EC 0x00, IL=1) for the instruction at in->pc; FAR left as it was. */
int arm64_inject_undef(const struct arm64_exc_in *in, uint64_t old_far,
		       struct arm64_exc_out *out);

/*
 * A debug exception the host trapped (breakpoint, software step, watchpoint
 * or BRK, ESR_EL2 syndrome `esr`) delivered to the guest's EL1 instead, as it
 * would have been without the trap: the lower-EL class becomes the current-EL
 * one when the vCPU was at EL1; `far` is the watchpoint address (FAR keeps
 * `old_far` for the others).  -EINVAL for anything but those classes.
 */
int arm64_inject_debug(const struct arm64_exc_in *in, uint64_t esr, uint64_t far,
		       uint64_t old_far, struct arm64_exc_out *out);

/* MPIDR_EL1 affinity fields Aff3 [39:32], Aff2..Aff0 [23:0]. */
#define ARM64_MPIDR_AFF_MASK UINT64_C(0xff00ffffff)

#endif
