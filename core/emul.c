/* SPDX-License-Identifier: MIT */
/* The arm64 side of a vCPU exit, shared by the backends; see emul.h. */
#include "emul.h"

#include <errno.h>
#include <time.h>

#include "log.h"
#include "psci.h"
#include "ram.h"
#include "vcpu.h"
#include "vm.h"

uint64_t emul_get(const struct accel_ops *a, struct vcpu *v, enum accel_reg r)
{
	uint64_t val = 0;

	if (!a->reg_get || a->reg_get(v, r, &val))
		return 0;
	return val;
}

void emul_set(const struct accel_ops *a, struct vcpu *v, enum accel_reg r, uint64_t val)
{
	if (!a->reg_set || a->reg_set(v, r, val))
		log_error("vcpu%u: %s: cannot write register %d", v->index, a->name, (int)r);
}

uint64_t emul_get_x(const struct accel_ops *a, struct vcpu *v, unsigned n)
{
	return n >= 31 ? 0 : emul_get(a, v, (enum accel_reg)(ACCEL_REG_X0 + n));
}

void emul_set_x(const struct accel_ops *a, struct vcpu *v, unsigned n, uint64_t val)
{
	if (n < 31)
		emul_set(a, v, (enum accel_reg)(ACCEL_REG_X0 + n), val);
}

void emul_advance_pc(const struct accel_ops *a, struct vcpu *v)
{
	emul_set(a, v, ACCEL_REG_PC, emul_get(a, v, ACCEL_REG_PC) + 4);
}

/* The SP in use: SP_EL1 at EL1h, else SP_EL0. */
static enum accel_reg sp_reg(const struct accel_ops *a, struct vcpu *v)
{
	uint64_t m = emul_get(a, v, ACCEL_REG_PSTATE) & ARM64_PSTATE_M_MASK;

	return m == ARM64_PSTATE_M_EL1H ? ACCEL_REG_SP_EL1 : ACCEL_REG_SP_EL0;
}

/* ---- exception entry ----------------------------------------------------- */

enum exc_kind { EXC_DABT, EXC_IABT, EXC_UNDEF, EXC_DEBUG };

static int inject(const struct accel_ops *a, struct vcpu *v, enum exc_kind kind, uint64_t esr,
		  uint64_t far, bool far_valid, bool write)
{
	struct arm64_exc_in in = {
		.pc = emul_get(a, v, ACCEL_REG_PC),
		.pstate = emul_get(a, v, ACCEL_REG_PSTATE),
		.vbar = emul_get(a, v, ACCEL_REG_VBAR_EL1),
		.sctlr = emul_get(a, v, ACCEL_REG_SCTLR_EL1),
	};
	struct arm64_exc_out out;
	int ret;

	if (!a->reg_get || !a->reg_set) {
		log_error("vcpu%u: %s cannot deliver exceptions to the guest", v->index, a->name);
		return -ENOSYS;
	}
	switch (kind) {
	case EXC_DABT:
		ret = arm64_inject_data_abort(&in, far_valid ? far : 0, write, &out);
		if (!far_valid)
			out.esr |= ARM64_ESR_DABT_FNV;
		break;
	case EXC_IABT:
		ret = arm64_inject_insn_abort(&in, far, &out);
		break;
	case EXC_UNDEF:
		ret = arm64_inject_undef(&in, emul_get(a, v, ACCEL_REG_FAR_EL1), &out);
		break;
	default:
		ret = arm64_inject_debug(&in, esr, far, emul_get(a, v, ACCEL_REG_FAR_EL1), &out);
		break;
	}
	if (ret) {
		/* Only reachable if the guest ran above EL1 (or a bad class): nothing sane to do. */
		log_error("vcpu%u: cannot deliver an exception (ESR %#llx) in PSTATE %#llx",
			  v->index, (unsigned long long)esr, (unsigned long long)in.pstate);
		return ret;
	}
	emul_set(a, v, ACCEL_REG_ESR_EL1, out.esr);
	emul_set(a, v, ACCEL_REG_FAR_EL1, out.far);
	emul_set(a, v, ACCEL_REG_ELR_EL1, out.elr);
	emul_set(a, v, ACCEL_REG_SPSR_EL1, out.spsr);
	emul_set(a, v, ACCEL_REG_PC, out.pc);
	emul_set(a, v, ACCEL_REG_PSTATE, out.pstate);
	return 0;
}

int emul_inject_dabt(const struct accel_ops *a, struct vcpu *v, uint64_t far, bool far_valid,
		     bool write)
{
	return inject(a, v, EXC_DABT, 0, far, far_valid, write);
}

int emul_inject_iabt(const struct accel_ops *a, struct vcpu *v, uint64_t far)
{
	return inject(a, v, EXC_IABT, 0, far, true, false);
}

int emul_inject_undef(const struct accel_ops *a, struct vcpu *v)
{
	return inject(a, v, EXC_UNDEF, 0, 0, false, false);
}

int emul_inject_debug(const struct accel_ops *a, struct vcpu *v, uint64_t esr, uint64_t far)
{
	return inject(a, v, EXC_DEBUG, esr, far, true, false);
}

bool emul_debug_stops(bool brk_exit, uint64_t esr)
{
	return brk_exit && arm64_esr_ec(esr) == ARM64_EC_BRK64;
}

void emul_other_exception(const struct accel_ops *a, struct vcpu *v, uint64_t esr,
			  uint64_t far, uint64_t ipa)
{
	unsigned long long pc = emul_get(a, v, ACCEL_REG_PC);
	unsigned ec = arm64_esr_ec(esr);

	if (ec == ARM64_EC_IABT_LOW) {
		log_guest(&v->rl_guest, NULL, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
			"vcpu%u: instruction fetch from IPA %#llx outside RAM (pc %#llx); "
			"injecting an external abort",
			v->index, (unsigned long long)ipa, pc);
		emul_inject_iabt(a, v, far);
		return;
	}
	log_guest(&v->rl_guest, NULL, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
		"vcpu%u: unexpected exception class %#x (ESR %#llx) at pc %#llx; "
		"injecting UNDEF",
		v->index, ec, (unsigned long long)esr, pc);
	emul_inject_undef(a, v);
}

/* ---- instruction fetch ----------------------------------------------------- */

static int read_ram64(void *opaque, uint64_t ipa, uint64_t *val)
{
	struct vm *vm = opaque;

	return ram_read(&vm->ram, ipa, val, sizeof(*val));
}

static int translate(const struct accel_ops *a, struct vcpu *v, uint64_t va, uint64_t *ipa)
{
	struct arm64_mmu_regs mmu = {
		.sctlr = emul_get(a, v, ACCEL_REG_SCTLR_EL1),
		.tcr = emul_get(a, v, ACCEL_REG_TCR_EL1),
		.ttbr0 = emul_get(a, v, ACCEL_REG_TTBR0_EL1),
		.ttbr1 = emul_get(a, v, ACCEL_REG_TTBR1_EL1),
	};

	return arm64_translate(&mmu, va, read_ram64, v->vm, ipa);
}

int emul_fetch_insn(const struct accel_ops *a, struct vcpu *v, uint64_t pc, uint32_t *insn)
{
	uint64_t ipa;

	if (translate(a, v, pc, &ipa) || ram_read(&v->vm->ram, ipa, insn, sizeof(*insn)))
		return -EFAULT;
	return 0;
}

/* ---- data aborts ------------------------------------------------------------ */

/* Describe access m->idx of a decoded instruction to the core. */
static void mmio_issue(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
		       struct accel_exit *exit)
{
	uint64_t off = (uint64_t)m->idx * m->ls.size;

	m->far = m->va0 + off;
	m->far_valid = true;
	exit->kind = ACCEL_EXIT_MMIO;
	exit->mmio.addr = m->ipa0 + off;
	exit->mmio.len = m->ls.size;
	exit->mmio.write = !m->ls.load;
	exit->mmio.fault = false;
	exit->mmio.data = m->ls.load ? 0 :
		arm64_store_value(emul_get_x(a, v, m->idx ? m->ls.rt2 : m->ls.rt), m->ls.size);
}

/*
 * ISV=0: decode the instruction at PC and find the IPA of its first access,
 * from FAR when the host gave it, else by translating the computed address.
 * NULL with the first access in *exit, or why it cannot be emulated.
 */
static const char *dabt_decode(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
			       uint64_t ipa, uint64_t far, bool far_valid,
			       struct accel_exit *exit, uint32_t *insn)
{
	uint64_t base, rm_val, total, delta;

	if (emul_fetch_insn(a, v, exit->pc, insn))
		return "cannot fetch the instruction";
	*m = (struct emul_mmio){ 0 };
	if (arm64_ldst_decode(*insn, &m->ls))
		return "instruction not emulated";
	base = m->ls.rn == 31 ? emul_get(a, v, sp_reg(a, v)) : emul_get_x(a, v, m->ls.rn);
	rm_val = m->ls.reg_offset ? emul_get_x(a, v, m->ls.rm) : 0;
	m->va0 = arm64_ldst_address(&m->ls, base, rm_val, &m->new_base);

	/* The accesses stay in one 4K page, so one IPA offset covers them all. */
	total = (uint64_t)m->ls.size * m->ls.nregs;
	if ((m->va0 ^ (m->va0 + total - 1)) >> 12)
		return "access crosses a page";
	if (far_valid) {
		/* FAR may name any byte of the access; the IPA is for that byte. */
		delta = far - m->va0;
		if (delta >= total)
			return "access does not match the fault address";
		m->ipa0 = ipa - delta;
	} else {
		if (translate(a, v, m->va0, &m->ipa0))
			return "cannot translate the access";
		if (ipa - m->ipa0 >= total)
			return "access does not match the fault address";
	}
	m->active = true;
	m->decoded = true;
	mmio_issue(a, v, m, exit);
	return NULL;
}

enum emul_result emul_dabt(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
			   uint64_t esr, uint64_t ipa, uint64_t far, bool far_valid,
			   struct accel_exit *exit)
{
	struct arm64_dabt d;
	const char *why;
	uint32_t insn = 0;

	arm64_dabt_decode(esr, &d);
	if (d.cm) {
		/* DC/AT on a device address: nothing to maintain. */
		emul_advance_pc(a, v);
		return EMUL_CONTINUE;
	}
	if (d.s1ptw) {
		why = "stage-1 page table walk outside RAM";
		goto abort;
	}
	if (d.fnv)
		far_valid = false;
	if (d.isv) {
		*m = (struct emul_mmio){
			.active = true,
			.write = d.wnr,
			.len = 1u << d.sas,
			.rt = d.srt,
			.sign = d.sse,
			.sf = d.sf,
			.far = far,
			.far_valid = far_valid,
		};
		exit->kind = ACCEL_EXIT_MMIO;
		exit->mmio.addr = ipa;
		exit->mmio.len = m->len;
		exit->mmio.write = m->write;
		exit->mmio.fault = false;
		exit->mmio.data = m->write ? arm64_store_value(emul_get_x(a, v, d.srt), m->len) : 0;
		return EMUL_MMIO;
	}
	why = dabt_decode(a, v, m, ipa, far, far_valid, exit, &insn);
	if (!why)
		return EMUL_MMIO;
abort:
	m->active = false;
	log_guest(&v->rl_guest, NULL, AVMM_LOG_WARN | AVMM_LOG_GUEST_ERROR,
		"vcpu%u: data abort at IPA %#llx (pc %#llx, insn %#010x, ESR %#llx): %s; "
		"injecting an external abort",
		v->index, (unsigned long long)ipa, (unsigned long long)exit->pc, insn,
		(unsigned long long)esr, why);
	emul_inject_dabt(a, v, far, far_valid, d.wnr);
	return EMUL_CONTINUE;
}

bool emul_mmio_complete(const struct accel_ops *a, struct vcpu *v, struct emul_mmio *m,
			struct accel_exit *exit)
{
	if (!m->active)
		return false;
	if (exit->mmio.fault) {
		m->active = false;
		emul_inject_dabt(a, v, m->far, m->far_valid, exit->mmio.write);
		return false;
	}
	if (!m->decoded) {
		if (!m->write)
			emul_set_x(a, v, m->rt, arm64_load_extend(exit->mmio.data, m->len, m->sign,
								  m->sf));
		m->active = false;
		emul_advance_pc(a, v);
		return false;
	}
	if (m->ls.load)
		emul_set_x(a, v, m->idx ? m->ls.rt2 : m->ls.rt,
			   arm64_load_extend(exit->mmio.data, m->ls.size, m->ls.sign, m->ls.sf));
	if (++m->idx < m->ls.nregs) {
		mmio_issue(a, v, m, exit);
		return true;
	}
	if (m->ls.mode != ARM64_ADDR_OFFSET) {
		if (m->ls.rn == 31)
			emul_set(a, v, sp_reg(a, v), m->new_base);
		else
			emul_set_x(a, v, m->ls.rn, m->new_base);
	}
	m->active = false;
	emul_advance_pc(a, v);
	return false;
}

void emul_abort_prepare(const struct accel_ops *a, struct vcpu *v, uint64_t ipa, bool write,
			struct emul_abort *ab)
{
	struct arm64_ldst ls;
	uint32_t insn;

	*ab = (struct emul_abort){ .pc = emul_get(a, v, ACCEL_REG_PC), .write = write };
	if (emul_fetch_insn(a, v, ab->pc, &insn))
		return; /* the load's register ends up 0 and FAR is reported not valid */
	/* Every A64 single-register load names its destination in bits [4:0]. */
	ab->rt = insn & 31;
	if (!write && ab->rt != 31) {
		ab->rt_val = emul_get_x(a, v, ab->rt);
		ab->restore_rt = true;
	}
	if (!arm64_ldst_decode(insn, &ls) && ls.nregs == 1 && ls.mode == ARM64_ADDR_OFFSET) {
		uint64_t base = ls.rn == 31 ? emul_get(a, v, sp_reg(a, v)) : emul_get_x(a, v, ls.rn);
		uint64_t far = arm64_ldst_address(&ls, base, ls.reg_offset ?
						   emul_get_x(a, v, ls.rm) : 0, NULL);

		/* A sanity check the page offset allows: VA and IPA share it. */
		if (((far ^ ipa) & 0xfff) == 0) {
			ab->far = far;
			ab->far_valid = true;
		}
	}
}

int emul_abort_finish(const struct accel_ops *a, struct vcpu *v, const struct emul_abort *ab)
{
	if (ab->restore_rt)
		emul_set_x(a, v, ab->rt, ab->rt_val);
	emul_set(a, v, ACCEL_REG_PC, ab->pc);
	return emul_inject_dabt(a, v, ab->far, ab->far_valid, ab->write);
}

/* ---- system registers, PSCI ------------------------------------------------- */

void emul_sysreg(const struct accel_ops *a, struct vcpu *v, struct arm64_sysreg_state *sr,
		 uint64_t esr, uint64_t now)
{
	struct arm64_sysreg_access acc;
	uint64_t val;

	arm64_sysreg_decode(esr, &acc);
	val = acc.read ? 0 : emul_get_x(a, v, acc.rt);
	if (arm64_sysreg_access(sr, &acc, now, &val) == ARM64_SYSREG_OK) {
		if (acc.read)
			emul_set_x(a, v, acc.rt, val);
		emul_advance_pc(a, v);
		return;
	}
	if (arm64_sysreg_first_seen(acc.enc))
		log_msg(AVMM_LOG_WARN | AVMM_LOG_UNIMP,
			"vcpu%u: %s of unhandled system register S%u_%u_C%u_C%u_%u at pc %#llx: "
			"UNDEF (reported once)",
			v->index, acc.read ? "read" : "write", acc.op0, acc.op1, acc.crn, acc.crm,
			acc.op2, (unsigned long long)emul_get(a, v, ACCEL_REG_PC));
	emul_inject_undef(a, v);
}

int emul_psci(const struct accel_ops *a, struct vcpu *v)
{
	uint64_t args[4], ret = 0;
	bool aarch32 = emul_get(a, v, ACCEL_REG_PSTATE) & ARM64_PSTATE_NRW;
	enum psci_action act;

	for (unsigned i = 0; i < 4; i++)
		args[i] = emul_get_x(a, v, i);
	act = psci_call(v, args, aarch32, &ret);
	if (act == PSCI_ACT_RETURN || act == PSCI_ACT_SUSPEND)
		emul_set_x(a, v, 0, ret);
	return act;
}

enum accel_exit_kind emul_psci_exit(const struct accel_ops *a, struct vcpu *v, bool *suspend)
{
	*suspend = false;
	switch (emul_psci(a, v)) {
	case PSCI_ACT_SUSPEND:
		*suspend = true;
		return ACCEL_EXIT_NONE;
	case PSCI_ACT_CPU_OFF:
		return ACCEL_EXIT_CPU_OFF;
	case PSCI_ACT_SYSTEM_OFF:
		return ACCEL_EXIT_SHUTDOWN;
	case PSCI_ACT_SYSTEM_RESET:
		return ACCEL_EXIT_RESET;
	default:
		return ACCEL_EXIT_NONE;
	}
}

int emul_get_regs(const struct accel_ops *a, struct vcpu *v, struct accel_regs *regs)
{
	int rc = 0;

	for (unsigned i = 0; i < 31 && !rc; i++)
		rc = a->reg_get(v, (enum accel_reg)(ACCEL_REG_X0 + i), &regs->x[i]);
	if (!rc)
		rc = a->reg_get(v, ACCEL_REG_PC, &regs->pc);
	if (!rc)
		rc = a->reg_get(v, ACCEL_REG_PSTATE, &regs->pstate);
	if (!rc)
		rc = a->reg_get(v, (regs->pstate & ARM64_PSTATE_M_MASK) == ARM64_PSTATE_M_EL1H ?
				       ACCEL_REG_SP_EL1 : ACCEL_REG_SP_EL0, &regs->sp);
	return rc;
}
