/* SPDX-License-Identifier: MIT */
/* arm64 architecture helpers shared by the backends; see arm64.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "arm64.h"

static inline uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
	return (v >> lo) & ((UINT64_C(2) << (hi - lo)) - 1);
}

static inline int64_t sext(uint64_t v, unsigned width)
{
	uint64_t m = UINT64_C(1) << (width - 1);

	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

void arm64_dabt_decode(uint64_t esr, struct arm64_dabt *d)
{
	d->isv = bits(esr, 24, 24);
	d->sas = (unsigned)bits(esr, 23, 22);
	d->sse = bits(esr, 21, 21);
	d->srt = (unsigned)bits(esr, 20, 16);
	d->sf = bits(esr, 15, 15);
	d->ar = bits(esr, 14, 14);
	d->fnv = bits(esr, 10, 10);
	d->ea = bits(esr, 9, 9);
	d->cm = bits(esr, 8, 8);
	d->s1ptw = bits(esr, 7, 7);
	d->wnr = bits(esr, 6, 6);
	d->dfsc = (unsigned)bits(esr, 5, 0);
}

/* ---- MMIO register transfer ---------------------------------------------- */

uint64_t arm64_store_value(uint64_t reg, unsigned len)
{
	return len >= 8 ? reg : reg & ((UINT64_C(1) << (len * 8)) - 1);
}

uint64_t arm64_load_extend(uint64_t data, unsigned len, bool sign, bool sf)
{
	uint64_t v = arm64_store_value(data, len);

	if (sign && len < 8)
		v = (uint64_t)sext(v, len * 8);
	/* A W-register destination: bits [63:32] become zero. */
	if (!sf)
		v &= UINT64_C(0xffffffff);
	return v;
}

/* ---- ISV=0 load/store decoder -------------------------------------------- */

/*
 * Size/opc of the single-register forms (C4.1.94 "Load/store register"):
 * opc 00 STR, 01 LDR, 10 LDRS to X, 11 LDRS to W.  The few that are not GPR
 * data accesses (PRFM, unallocated) are refused.
 */
static int ldst_size_opc(unsigned size, unsigned opc, struct arm64_ldst *d)
{
	d->size = 1u << size;
	switch (opc) {
	case 0:
		d->load = false;
		return 0;
	case 1:
		d->load = true;
		d->sf = size == 3;
		return 0;
	case 2:
		if (size == 3)
			return -ENOTSUP; /* PRFM / PRFUM */
		d->load = true;
		d->sign = true;
		d->sf = true;
		return 0;
	default:
		if (size >= 2)
			return -ENOTSUP; /* unallocated */
		d->load = true;
		d->sign = true;
		d->sf = false;
		return 0;
	}
}

static int ldst_decode_single(uint32_t insn, struct arm64_ldst *d)
{
	unsigned size = (unsigned)bits(insn, 31, 30);
	unsigned opc = (unsigned)bits(insn, 23, 22);
	int ret;

	d->nregs = 1;
	d->rt = (unsigned)bits(insn, 4, 0);
	d->rn = (unsigned)bits(insn, 9, 5);
	ret = ldst_size_opc(size, opc, d);
	if (ret)
		return ret;

	if (bits(insn, 24, 24)) {
		/* Unsigned immediate offset, scaled by the access size. */
		d->mode = ARM64_ADDR_OFFSET;
		d->imm = (int64_t)(bits(insn, 21, 10) << size);
		return 0;
	}
	if (bits(insn, 21, 21)) {
		unsigned option = (unsigned)bits(insn, 15, 13);

		/* bits[11:10] = 10: register offset; the rest are atomics and LDRA*. */
		if (bits(insn, 11, 10) != 2 || !(option & 2))
			return -ENOTSUP;
		d->mode = ARM64_ADDR_OFFSET;
		d->reg_offset = true;
		d->rm = (unsigned)bits(insn, 20, 16);
		d->extend = option;
		d->shift = bits(insn, 12, 12) ? size : 0;
		return 0;
	}
	d->imm = sext(bits(insn, 20, 12), 9);
	switch (bits(insn, 11, 10)) {
	case 0:
		d->mode = ARM64_ADDR_OFFSET; /* LDUR/STUR */
		return 0;
	case 1:
		d->mode = ARM64_ADDR_POST;
		return 0;
	case 3:
		d->mode = ARM64_ADDR_PRE;
		return 0;
	default:
		return -ENOTSUP; /* LDTR/STTR: unprivileged */
	}
}

static int ldst_decode_pair(uint32_t insn, struct arm64_ldst *d)
{
	unsigned opc = (unsigned)bits(insn, 31, 30);
	unsigned mode = (unsigned)bits(insn, 24, 23);

	d->nregs = 2;
	d->load = bits(insn, 22, 22);
	d->rt = (unsigned)bits(insn, 4, 0);
	d->rn = (unsigned)bits(insn, 9, 5);
	d->rt2 = (unsigned)bits(insn, 14, 10);
	switch (opc) {
	case 0:
		d->size = 4;
		break;
	case 1:
		/* LDPSW (not the no-allocate form); with L=0 this is STGP (MTE). */
		if (!d->load || mode == 0)
			return -ENOTSUP;
		d->size = 4;
		d->sign = true;
		d->sf = true;
		break;
	case 2:
		d->size = 8;
		d->sf = true;
		break;
	default:
		return -ENOTSUP;
	}
	d->imm = sext(bits(insn, 21, 15), 7) * (int64_t)d->size;
	switch (mode) {
	case 1:
		d->mode = ARM64_ADDR_POST;
		break;
	case 3:
		d->mode = ARM64_ADDR_PRE;
		break;
	default:
		d->mode = ARM64_ADDR_OFFSET; /* signed offset, or LDNP/STNP */
		break;
	}
	/* Both loads into one register: CONSTRAINED UNPREDICTABLE. */
	if (d->load && d->rt == d->rt2)
		return -ENOTSUP;
	return 0;
}

int arm64_ldst_decode(uint32_t insn, struct arm64_ldst *d)
{
	int ret;

	*d = (struct arm64_ldst){ 0 };
	/* V (bit 26) = 0 throughout: SIMD/FP registers are not emulated. */
	if ((insn & 0x3e000000u) == 0x38000000u)
		ret = ldst_decode_single(insn, d); /* bits[29:25] = 11100 */
	else if ((insn & 0x3e000000u) == 0x28000000u)
		ret = ldst_decode_pair(insn, d); /* bits[29:25] = 10100 */
	else
		ret = -ENOTSUP;
	if (ret)
		return ret;

	/* Writeback into a transfer register: CONSTRAINED UNPREDICTABLE. */
	if (d->mode != ARM64_ADDR_OFFSET && d->rn != 31 &&
	    (d->rn == d->rt || (d->nregs == 2 && d->rn == d->rt2)))
		return -ENOTSUP;
	return 0;
}

uint64_t arm64_ldst_address(const struct arm64_ldst *d, uint64_t base, uint64_t rm_val,
			    uint64_t *new_base)
{
	uint64_t off, ea;

	if (d->reg_offset) {
		switch (d->extend) {
		case 2: /* UXTW */
			off = (uint32_t)rm_val;
			break;
		case 6: /* SXTW */
			off = (uint64_t)(int64_t)(int32_t)(uint32_t)rm_val;
			break;
		default: /* LSL (UXTX), SXTX */
			off = rm_val;
			break;
		}
		off <<= d->shift;
	} else {
		off = (uint64_t)d->imm;
	}
	ea = d->mode == ARM64_ADDR_POST ? base : base + off;
	if (new_base)
		*new_base = d->mode == ARM64_ADDR_OFFSET ? base : base + off;
	return ea;
}

/* ---- stage-1 translation ------------------------------------------------- */

#define ARM64_OA_MASK UINT64_C(0x0000ffffffffffff)

/*
 * Largest TxSZ per granule (AArch64.MaxTxSZ with FEAT_TTST): the last level
 * must still index at least one VA bit.  A larger value is CONSTRAINED
 * UNPREDICTABLE; we take the permitted translation fault, so a hostile TCR
 * can neither shift by a negative amount nor start a walk past level 3.
 */
static unsigned translate_max_txsz(unsigned gbits)
{
	return gbits == 16 ? 47 : 48;
}

int arm64_translate(const struct arm64_mmu_regs *mmu, uint64_t va, arm64_read64_fn read,
		    void *opaque, uint64_t *ipa)
{
	bool upper = bits(va, 55, 55);
	unsigned tsz, tg, gbits, stride, inputsize, tbi_hi;
	uint64_t table, top;
	int level;

	if (!(mmu->sctlr & ARM64_SCTLR_M)) {
		*ipa = va;
		return 0;
	}
	if (upper) {
		if (bits(mmu->tcr, 23, 23)) /* EPD1 */
			return -EFAULT;
		tsz = (unsigned)bits(mmu->tcr, 21, 16);
		tg = (unsigned)bits(mmu->tcr, 31, 30);
		gbits = tg == 1 ? 14 : tg == 3 ? 16 : 12;
		table = mmu->ttbr1;
	} else {
		if (bits(mmu->tcr, 7, 7)) /* EPD0 */
			return -EFAULT;
		tsz = (unsigned)bits(mmu->tcr, 5, 0);
		tg = (unsigned)bits(mmu->tcr, 15, 14);
		gbits = tg == 2 ? 14 : tg == 1 ? 16 : 12;
		table = mmu->ttbr0;
	}
	/* 16: 48-bit VAs (52-bit FEAT_LVA/LPA2 ranges are not supported). */
	if (tsz < 16 || tsz > translate_max_txsz(gbits))
		return -EFAULT;
	inputsize = 64 - tsz;

	/* The bits above the input size must all equal bit 55 (up to bit 55 with TBI). */
	tbi_hi = bits(mmu->tcr, upper ? 38 : 37, upper ? 38 : 37) ? 55 : 63;
	top = bits(va, tbi_hi, inputsize);
	if (top != (upper ? bits(UINT64_MAX, tbi_hi, inputsize) : 0))
		return -EFAULT;

	/* inputsize > gbits here, so the start level is 0..3 (0 needs 4K/16K). */
	stride = gbits - 3;
	level = 4 - (int)((inputsize - gbits + stride - 1) / stride);
	if (level < 0 || level > 3)
		return -EFAULT;
	/*
	 * BADDR bits below the start table's size (at least 64 bytes) are RES0:
	 * ignore them, so a descriptor is never read misaligned.  Bit 0 is CnP.
	 */
	{
		unsigned shift = gbits + stride * (unsigned)(3 - level);
		unsigned idxbits = inputsize - shift < stride ? inputsize - shift : stride;
		unsigned align = idxbits + 3 > 6 ? idxbits + 3 : 6;

		table &= ARM64_OA_MASK & ~((UINT64_C(1) << align) - 1);
	}

	/* At most four descriptor reads, whatever the tables contain. */
	for (; level <= 3; level++) {
		unsigned shift = gbits + stride * (unsigned)(3 - level);
		unsigned idxbits = shift + stride > inputsize ? inputsize - shift : stride;
		uint64_t idx = (va >> shift) & ((UINT64_C(1) << idxbits) - 1);
		uint64_t desc, oa;

		if (read(opaque, table + idx * 8, &desc))
			return -EFAULT;
		if (!(desc & 1))
			return -EFAULT;
		oa = desc & ARM64_OA_MASK;
		if (level == 3) {
			if (!(desc & 2))
				return -EFAULT; /* reserved at level 3 */
			*ipa = (oa & ~((UINT64_C(1) << gbits) - 1)) | (va & ((UINT64_C(1) << gbits) - 1));
			return 0;
		}
		if (!(desc & 2)) {
			/* Blocks: 4K at levels 1-2, 16K/64K at level 2 only (no FEAT_LPA/LPA2). */
			if (level == 0 || (level == 1 && gbits != 12))
				return -EFAULT;
			*ipa = (oa & ~((UINT64_C(1) << shift) - 1)) | (va & ((UINT64_C(1) << shift) - 1));
			return 0;
		}
		table = oa & ~((UINT64_C(1) << gbits) - 1);
	}
	return -EFAULT;
}

/* ---- trapped MSR/MRS ----------------------------------------------------- */

void arm64_sysreg_decode(uint64_t esr, struct arm64_sysreg_access *a)
{
	a->op0 = (unsigned)bits(esr, 21, 20);
	a->op2 = (unsigned)bits(esr, 19, 17);
	a->op1 = (unsigned)bits(esr, 16, 14);
	a->crn = (unsigned)bits(esr, 13, 10);
	a->rt = (unsigned)bits(esr, 9, 5);
	a->crm = (unsigned)bits(esr, 4, 1);
	a->read = bits(esr, 0, 0);
	a->enc = ARM64_SYSREG(a->op0, a->op1, a->crn, a->crm, a->op2);
}

void arm64_sysreg_reset(struct arm64_sysreg_state *s)
{
	*s = (struct arm64_sysreg_state){ 0 };
	/* OS lock implemented and unlocked, as KVM resets it: guests see the same. */
	s->oslsr = ARM64_OSLSR_OSLM_IMPL;
}

#define SR_OSDTRRX_EL1 ARM64_SYSREG(2, 0, 0, 0, 2)
#define SR_MDCCINT_EL1 ARM64_SYSREG(2, 0, 0, 2, 0)
#define SR_MDSCR_EL1 ARM64_SYSREG(2, 0, 0, 2, 2)
#define SR_OSDTRTX_EL1 ARM64_SYSREG(2, 0, 0, 3, 2)
#define SR_OSECCR_EL1 ARM64_SYSREG(2, 0, 0, 6, 2)
#define SR_OSLAR_EL1 ARM64_SYSREG(2, 0, 1, 0, 4)
#define SR_OSLSR_EL1 ARM64_SYSREG(2, 0, 1, 1, 4)
#define SR_OSDLR_EL1 ARM64_SYSREG(2, 0, 1, 3, 4)
#define SR_DBGPRCR_EL1 ARM64_SYSREG(2, 0, 1, 4, 4)
#define SR_DBGCLAIMSET_EL1 ARM64_SYSREG(2, 0, 7, 8, 6)
#define SR_DBGCLAIMCLR_EL1 ARM64_SYSREG(2, 0, 7, 9, 6)
#define SR_DBGAUTHSTATUS_EL1 ARM64_SYSREG(2, 0, 7, 14, 6)
#define SR_MDCCSR_EL0 ARM64_SYSREG(2, 3, 0, 1, 0)
#define SR_PMINTENSET_EL1 ARM64_SYSREG(3, 0, 9, 14, 1)
#define SR_PMINTENCLR_EL1 ARM64_SYSREG(3, 0, 9, 14, 2)
#define SR_CNTPCT_EL0 ARM64_SYSREG(3, 3, 14, 0, 1)
#define SR_CNTP_TVAL_EL0 ARM64_SYSREG(3, 3, 14, 2, 0)
#define SR_CNTP_CTL_EL0 ARM64_SYSREG(3, 3, 14, 2, 1)
#define SR_CNTP_CVAL_EL0 ARM64_SYSREG(3, 3, 14, 2, 2)

/*
 * Registers read as zero, writes ignored: the PMU (no counters: PMCR_EL0.N
 * reads 0, so Linux's perf probes find nothing) and the self-hosted debug
 * breakpoint/watchpoint banks (ID_AA64DFR0_EL1 decides how many a guest uses).
 */
static bool sysreg_raz_wi(const struct arm64_sysreg_access *a)
{
	/* PMCR_EL0 .. PMOVSSET_EL0: op0=3 op1=3 CRn=9 CRm=12..14 */
	if (a->op0 == 3 && a->op1 == 3 && a->crn == 9 && a->crm >= 12)
		return true;
	/* PMEVCNTR<n>_EL0, PMEVTYPER<n>_EL0, PMCCFILTR_EL0: CRn=14 CRm=8..15 */
	if (a->op0 == 3 && a->op1 == 3 && a->crn == 14 && a->crm >= 8)
		return true;
	if (a->enc == SR_PMINTENSET_EL1 || a->enc == SR_PMINTENCLR_EL1)
		return true;
	/* DBGB{V,C}R<n>_EL1, DBGW{V,C}R<n>_EL1: op0=2 op1=0 CRn=0 op2=4..7 */
	if (a->op0 == 2 && a->op1 == 0 && a->crn == 0 && a->op2 >= 4)
		return true;
	switch (a->enc) {
	case SR_OSDTRRX_EL1:
	case SR_OSDTRTX_EL1:
	case SR_DBGPRCR_EL1:
	case SR_DBGCLAIMSET_EL1:
	case SR_DBGCLAIMCLR_EL1:
		return true;
	default:
		return false;
	}
}

bool arm64_timer_line(uint64_t ctl, uint64_t cval, uint64_t now)
{
	return (ctl & ARM64_CNT_CTL_ENABLE) && !(ctl & ARM64_CNT_CTL_IMASK) && cval <= now;
}

enum arm64_sysreg_result arm64_sysreg_access(struct arm64_sysreg_state *s,
					     const struct arm64_sysreg_access *a, uint64_t now,
					     uint64_t *val)
{
	uint64_t *store = NULL;

	switch (a->enc) {
	case SR_OSLAR_EL1: /* write-only */
		if (a->read)
			return ARM64_SYSREG_UNDEF;
		s->oslsr = ARM64_OSLSR_OSLM_IMPL | ((*val & 1) ? ARM64_OSLSR_OSLK : 0);
		return ARM64_SYSREG_OK;
	case SR_OSLSR_EL1: /* read-only */
		if (!a->read)
			return ARM64_SYSREG_UNDEF;
		*val = s->oslsr;
		return ARM64_SYSREG_OK;
	case SR_MDCCSR_EL0:
	case SR_DBGAUTHSTATUS_EL1: /* read-only, RAZ: no debug authentication */
		if (!a->read)
			return ARM64_SYSREG_UNDEF;
		*val = 0;
		return ARM64_SYSREG_OK;
	case SR_CNTPCT_EL0:
		if (!a->read)
			return ARM64_SYSREG_UNDEF;
		*val = now;
		return ARM64_SYSREG_OK;
	case SR_CNTP_CTL_EL0:
		if (a->read) {
			*val = s->cntp_ctl;
			if ((s->cntp_ctl & ARM64_CNT_CTL_ENABLE) && s->cntp_cval <= now)
				*val |= ARM64_CNT_CTL_ISTATUS;
		} else {
			s->cntp_ctl = *val & (ARM64_CNT_CTL_ENABLE | ARM64_CNT_CTL_IMASK);
		}
		return ARM64_SYSREG_OK;
	case SR_CNTP_TVAL_EL0:
		/* TimerValue: a signed 32-bit view of CVAL - count. */
		if (a->read)
			*val = (uint32_t)(s->cntp_cval - now);
		else
			s->cntp_cval = now + (uint64_t)(int64_t)(int32_t)(uint32_t)*val;
		return ARM64_SYSREG_OK;
	case SR_CNTP_CVAL_EL0:
		store = &s->cntp_cval;
		break;
	case SR_OSDLR_EL1:
		if (a->read)
			*val = s->osdlr;
		else
			s->osdlr = *val & 1; /* DLK */
		return ARM64_SYSREG_OK;
	case SR_MDSCR_EL1:
		store = &s->mdscr;
		break;
	case SR_MDCCINT_EL1:
		store = &s->mdccint;
		break;
	case SR_OSECCR_EL1:
		store = &s->oseccr;
		break;
	default:
		if (!sysreg_raz_wi(a))
			return ARM64_SYSREG_UNDEF;
		if (a->read)
			*val = 0;
		return ARM64_SYSREG_OK;
	}
	if (a->read)
		*val = *store;
	else
		*store = *val;
	return ARM64_SYSREG_OK;
}

/* One bit per op0:op1:CRn:CRm:op2 (16 bits). */
static _Atomic uint32_t sysreg_seen[(1u << 16) / 32];

bool arm64_sysreg_first_seen(uint32_t enc)
{
	uint32_t bit = UINT32_C(1) << (enc & 31);

	enc &= 0xffff;
	return !(atomic_fetch_or(&sysreg_seen[enc / 32], bit) & bit);
}

/* ---- generic timer ------------------------------------------------------- */

uint64_t arm64_timer_deadline_ns(uint64_t ctl, uint64_t cval, uint64_t now, uint64_t freq)
{
	unsigned __int128 ns;

	if (!(ctl & ARM64_CNT_CTL_ENABLE) || (ctl & ARM64_CNT_CTL_IMASK) || freq == 0)
		return ARM64_NO_DEADLINE;
	if (cval <= now)
		return ARM64_NO_DEADLINE;
	/* (cval - now) < 2^64 and 1e9 < 2^30: the product fits in 94 bits. */
	ns = ((unsigned __int128)(cval - now) * 1000000000u + freq - 1) / freq;
	if (ns >= ARM64_NO_DEADLINE)
		return ARM64_NO_DEADLINE - 1;
	return (uint64_t)ns;
}

/* ---- exception entry ----------------------------------------------------- */

#define ARM64_PSTATE_NZCV UINT64_C(0xf0000000)
#define ARM64_PSTATE_DIT (UINT64_C(1) << 24)

int arm64_take_sync_exception(const struct arm64_exc_in *in, uint64_t esr, uint64_t far,
			      struct arm64_exc_out *out)
{
	unsigned m = (unsigned)(in->pstate & ARM64_PSTATE_M_MASK);
	uint64_t offset, keep;

	/* VBAR_EL1 + 0x000: current EL, SP_EL0; 0x200: current EL, SP_ELx;
	 * 0x400: lower EL in AArch64; 0x600: lower EL in AArch32.  Synchronous
	 * exceptions use the first entry (+0) of each group. */
	if (m & ARM64_PSTATE_NRW)
		offset = 0x600; /* AArch32 can only be EL0 here */
	else if (m == ARM64_PSTATE_M_EL0T)
		offset = 0x400;
	else if (m == ARM64_PSTATE_M_EL1T)
		offset = 0x000;
	else if (m == ARM64_PSTATE_M_EL1H)
		offset = 0x200;
	else
		return -EINVAL;

	out->esr = esr;
	out->far = far;
	out->elr = in->pc;
	out->spsr = in->pstate;
	out->pc = (in->vbar & ~UINT64_C(0x7ff)) + offset;

	/* AArch64.TakeException: NZCV, PAN and DIT carry over; DAIF set; SS, IL,
	 * BTYPE, UAO cleared; PAN set unless SCTLR_EL1.SPAN; SSBS from DSSBS. */
	keep = ARM64_PSTATE_NZCV | ARM64_PSTATE_PAN;
	if (!(m & ARM64_PSTATE_NRW))
		keep |= ARM64_PSTATE_DIT;
	out->pstate = (in->pstate & keep) | ARM64_PSTATE_DAIF | ARM64_PSTATE_M_EL1H;
	if (!(in->sctlr & ARM64_SCTLR_SPAN))
		out->pstate |= ARM64_PSTATE_PAN;
	if (in->sctlr & ARM64_SCTLR_DSSBS)
		out->pstate |= ARM64_PSTATE_SSBS;
	return 0;
}

static bool pstate_is_el1(uint64_t pstate)
{
	unsigned m = (unsigned)(pstate & ARM64_PSTATE_M_MASK);

	return m == ARM64_PSTATE_M_EL1T || m == ARM64_PSTATE_M_EL1H;
}

/* Syndrome of an external abort: EC for the same or a lower EL, IL, FSC 0x10. */
static uint64_t abort_esr(unsigned ec_low, unsigned ec_cur, const struct arm64_exc_in *in)
{
	unsigned ec = pstate_is_el1(in->pstate) ? ec_cur : ec_low;

	return ((uint64_t)ec << ARM64_ESR_EC_SHIFT) | ARM64_ESR_IL | ARM64_DFSC_SYNC_EXTERNAL;
}

int arm64_inject_data_abort(const struct arm64_exc_in *in, uint64_t far, bool write,
			    struct arm64_exc_out *out)
{
	uint64_t esr = abort_esr(ARM64_EC_DABT_LOW, ARM64_EC_DABT_CUR, in);

	if (write)
		esr |= UINT64_C(1) << 6; /* WnR */
	return arm64_take_sync_exception(in, esr, far, out);
}

int arm64_inject_insn_abort(const struct arm64_exc_in *in, uint64_t far,
			    struct arm64_exc_out *out)
{
	return arm64_take_sync_exception(in, abort_esr(ARM64_EC_IABT_LOW, ARM64_EC_IABT_CUR, in),
					 far, out);
}

int arm64_inject_undef(const struct arm64_exc_in *in, uint64_t old_far,
		       struct arm64_exc_out *out)
{
	return arm64_take_sync_exception(
		in, ((uint64_t)ARM64_EC_UNKNOWN << ARM64_ESR_EC_SHIFT) | ARM64_ESR_IL, old_far,
		out);
}

int arm64_inject_debug(const struct arm64_exc_in *in, uint64_t esr, uint64_t far,
		       uint64_t old_far, struct arm64_exc_out *out)
{
	unsigned ec = arm64_esr_ec(esr);
	bool el1 = pstate_is_el1(in->pstate);

	switch (ec) {
	case ARM64_EC_BREAKPT_LOW:
	case ARM64_EC_SOFTSTP_LOW:
		far = old_far;
		break;
	case ARM64_EC_WATCHPT_LOW:
		break;
	case ARM64_EC_BRK64: /* one class for every EL; the ISS is the immediate */
		return arm64_take_sync_exception(in, esr, old_far, out);
	default:
		return -EINVAL;
	}
	/* Taken from EL1 to EL1: the _CUR class, which is the _LOW one plus one. */
	if (el1)
		esr = (esr & ~(UINT64_C(0x3f) << ARM64_ESR_EC_SHIFT)) |
		      ((uint64_t)(ec + 1) << ARM64_ESR_EC_SHIFT);
	return arm64_take_sync_exception(in, esr, far, out);
}
