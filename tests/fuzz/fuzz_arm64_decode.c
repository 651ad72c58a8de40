/* SPDX-License-Identifier: MIT */
/*
 * The syndrome-driven decoders in arm64.c: data-abort ESR decode, the ISV=0
 * load/store decoder and its address/extension helpers, the trapped system
 * register table, timer deadlines and exception entry.  Everything here is
 * computed from guest-controlled values (ESR, the faulting instruction,
 * register contents).
 *
 * Invariants: decoded fields re-encode to the ESR bits they came from; a
 * decoded load/store has architecturally possible fields and never refers to
 * a writeback register it also transfers; loads extend as their width and
 * signedness say; a refused sysreg access changes nothing; CNTP_TVAL/CTL
 * obey the timer equations; a deadline is neither early nor late by more
 * than a nanosecond; exception entry lands on a vector of VBAR_EL1.
 */
#include <errno.h>

#include "arm64.h"
#include "fuzz.h"

static void check_dabt(uint64_t esr)
{
	struct arm64_dabt d;
	uint64_t back;

	arm64_dabt_decode(esr, &d);
	back = (uint64_t)d.isv << 24 | (uint64_t)d.sas << 22 | (uint64_t)d.sse << 21 |
	       (uint64_t)d.srt << 16 | (uint64_t)d.sf << 15 | (uint64_t)d.ar << 14 |
	       (uint64_t)d.fnv << 10 | (uint64_t)d.ea << 9 | (uint64_t)d.cm << 8 |
	       (uint64_t)d.s1ptw << 7 | (uint64_t)d.wnr << 6 | d.dfsc;
	FUZZ_CHECK(back == (esr & 0x1ffc7ffu));
	FUZZ_CHECK(arm64_esr_ec(esr) == ((esr >> 26) & 0x3f));
}

static void check_extend(uint64_t v, unsigned len, bool sign, bool sf)
{
	uint64_t r = arm64_load_extend(v, len, sign, sf), low = arm64_store_value(v, len);
	unsigned bitsz = len * 8;

	if (len < 8)
		FUZZ_CHECK(low < (UINT64_C(1) << bitsz));
	else
		FUZZ_CHECK(low == v);
	if (!sf)
		FUZZ_CHECK(r <= UINT32_MAX);
	/* The low `len` bytes always come through (cut to 32 bits for a W register). */
	if (len < 8)
		FUZZ_CHECK((r & ((UINT64_C(1) << bitsz) - 1) & (sf ? UINT64_MAX : UINT32_MAX)) ==
			   (low & (sf ? UINT64_MAX : UINT32_MAX)));
	if (len < 8 && (sf || len < 4)) {
		uint64_t upper = r >> bitsz;
		unsigned width = (sf ? 64 : 32) - bitsz;
		uint64_t ones = width == 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
		bool neg = (low >> (bitsz - 1)) & 1;

		FUZZ_CHECK(upper == (sign && neg ? ones : 0));
	}
}

static void check_ldst(uint32_t insn, uint64_t base, uint64_t rm)
{
	struct arm64_ldst d;
	uint64_t nb, ea;

	if (arm64_ldst_decode(insn, &d)) {
		return;
	}
	FUZZ_CHECK(d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8);
	FUZZ_CHECK(d.nregs == 1 || d.nregs == 2);
	FUZZ_CHECK(d.rt < 32 && d.rt2 < 32 && d.rn < 32 && d.rm < 32);
	/* V = 0: only general-purpose register forms are emulated. */
	FUZZ_CHECK(!((insn >> 26) & 1));
	if (d.nregs == 2) {
		FUZZ_CHECK(d.size == 4 || d.size == 8);
		FUZZ_CHECK(!d.reg_offset);
		if (d.load)
			FUZZ_CHECK(d.rt != d.rt2);
	}
	if (d.sign)
		FUZZ_CHECK(d.load && d.size < 8);
	if (!d.load)
		FUZZ_CHECK(!d.sign);
	if (d.load && d.size == 8)
		FUZZ_CHECK(d.sf);
	if (d.mode != ARM64_ADDR_OFFSET && d.rn != 31)
		FUZZ_CHECK(d.rn != d.rt && (d.nregs == 1 || d.rn != d.rt2));
	if (d.reg_offset)
		FUZZ_CHECK(d.mode == ARM64_ADDR_OFFSET && (d.shift == 0 || (1u << d.shift) == d.size));

	ea = arm64_ldst_address(&d, base, rm, &nb);
	switch (d.mode) {
	case ARM64_ADDR_OFFSET:
		FUZZ_CHECK(nb == base);
		if (!d.reg_offset)
			FUZZ_CHECK(ea == base + (uint64_t)d.imm);
		break;
	case ARM64_ADDR_PRE:
		FUZZ_CHECK(nb == ea && ea == base + (uint64_t)d.imm);
		break;
	case ARM64_ADDR_POST:
		FUZZ_CHECK(ea == base && nb == base + (uint64_t)d.imm);
		break;
	}
	check_extend(rm, d.size, d.sign, d.sf);
}

static void check_sysreg(struct fuzz_in *in)
{
	struct arm64_sysreg_state s, before;
	struct arm64_sysreg_access a;
	uint64_t esr = fuzz_u32(in), now = fuzz_u64(in), val = fuzz_u64(in), in_val = val;
	enum arm64_sysreg_result r;

	arm64_sysreg_reset(&s);
	/* Some state first, through the same interface. */
	for (unsigned i = fuzz_u8(in) % 4; i; i--) {
		uint64_t v = fuzz_u64(in);

		arm64_sysreg_decode(fuzz_u32(in) & ~UINT64_C(1), &a);
		(void)arm64_sysreg_access(&s, &a, now, &v);
	}
	arm64_sysreg_decode(esr, &a);
	FUZZ_CHECK(a.enc == ARM64_SYSREG(a.op0, a.op1, a.crn, a.crm, a.op2));
	FUZZ_CHECK(a.rt == ((esr >> 5) & 31) && a.read == (esr & 1));
	before = s;
	r = arm64_sysreg_access(&s, &a, now, &val);
	FUZZ_CHECK(r == ARM64_SYSREG_OK || r == ARM64_SYSREG_UNDEF);
	if (r == ARM64_SYSREG_UNDEF) {
		FUZZ_CHECK(!memcmp(&s, &before, sizeof(s)));
		FUZZ_CHECK(val == in_val);
		return;
	}
	if (!a.read)
		FUZZ_CHECK(val == in_val);
	/* CNTP_TVAL_EL0 write then read at the same count gives the value back. */
	if (a.enc == ARM64_SYSREG(3, 3, 14, 2, 0) && !a.read) {
		struct arm64_sysreg_access rd = a;
		uint64_t back = 0;

		FUZZ_CHECK(s.cntp_cval == now + (uint64_t)(int64_t)(int32_t)(uint32_t)in_val);
		rd.read = true;
		FUZZ_CHECK(arm64_sysreg_access(&s, &rd, now, &back) == ARM64_SYSREG_OK);
		FUZZ_CHECK(back == (uint32_t)in_val);
	}
	/* CNTP_CTL_EL0.ISTATUS: enabled and CVAL <= count, whatever IMASK says. */
	if (a.enc == ARM64_SYSREG(3, 3, 14, 2, 1) && a.read) {
		bool ist = (s.cntp_ctl & ARM64_CNT_CTL_ENABLE) && s.cntp_cval <= now;

		FUZZ_CHECK(((val & ARM64_CNT_CTL_ISTATUS) != 0) == ist);
		FUZZ_CHECK(arm64_timer_line(val, s.cntp_cval, now) ==
			   (ist && !(val & ARM64_CNT_CTL_IMASK)));
	}
}

static void check_deadline(uint64_t ctl, uint64_t cval, uint64_t now, uint64_t freq)
{
	uint64_t ns = arm64_timer_deadline_ns(ctl, cval, now, freq);
	bool armed = (ctl & ARM64_CNT_CTL_ENABLE) && !(ctl & ARM64_CNT_CTL_IMASK) && freq &&
		     cval > now;

	if (!armed) {
		FUZZ_CHECK(ns == ARM64_NO_DEADLINE);
		return;
	}
	FUZZ_CHECK(ns != ARM64_NO_DEADLINE);
	if (ns == ARM64_NO_DEADLINE - 1)
		return; /* saturated */
	/* ticks(ns) = floor(ns * freq / 1e9) reaches cval - now; one ns less does not. */
	FUZZ_CHECK((unsigned __int128)ns * freq >= (unsigned __int128)(cval - now) * 1000000000u);
	if (ns)
		FUZZ_CHECK((unsigned __int128)(ns - 1) * freq <
			   (unsigned __int128)(cval - now) * 1000000000u);
}

static void check_exception(struct fuzz_in *in)
{
	struct arm64_exc_in ei = {
		.pc = fuzz_u64(in), .pstate = fuzz_u32(in), .vbar = fuzz_u64(in),
		.sctlr = fuzz_u64(in),
	};
	struct arm64_exc_out out;
	unsigned m = ei.pstate & ARM64_PSTATE_M_MASK;
	bool ok = (m & ARM64_PSTATE_NRW) || m == ARM64_PSTATE_M_EL0T ||
		  m == ARM64_PSTATE_M_EL1T || m == ARM64_PSTATE_M_EL1H;
	uint64_t far = fuzz_u64(in), vec;
	int rc;

	switch (fuzz_u8(in) % 3) {
	case 0:
		rc = arm64_inject_data_abort(&ei, far, far & 1, &out);
		break;
	case 1:
		rc = arm64_inject_insn_abort(&ei, far, &out);
		break;
	default:
		rc = arm64_inject_undef(&ei, far, &out);
		break;
	}
	FUZZ_CHECK(ok ? rc == 0 : rc == -EINVAL);
	if (rc)
		return;
	vec = out.pc - (ei.vbar & ~UINT64_C(0x7ff));
	FUZZ_CHECK(vec == 0 || vec == 0x200 || vec == 0x400 || vec == 0x600);
	FUZZ_CHECK(out.elr == ei.pc && out.spsr == ei.pstate && out.far == far);
	FUZZ_CHECK((out.pstate & ARM64_PSTATE_M_MASK) == ARM64_PSTATE_M_EL1H);
	FUZZ_CHECK((out.pstate & ARM64_PSTATE_DAIF) == ARM64_PSTATE_DAIF);
	FUZZ_CHECK(!(out.pstate & (ARM64_PSTATE_SS | ARM64_PSTATE_IL | ARM64_PSTATE_BTYPE)));
	FUZZ_CHECK(arm64_esr_il(out.esr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	while (fuzz_more(&in)) {
		switch (fuzz_u8(&in) % 5) {
		case 0:
			check_dabt(fuzz_u64(&in));
			break;
		case 1: {
			uint32_t insn = fuzz_u32(&in);
			uint64_t base = fuzz_u64(&in);

			check_ldst(insn, base, fuzz_u64(&in));
			break;
		}
		case 2:
			check_sysreg(&in);
			break;
		case 3: {
			uint64_t ctl = fuzz_u8(&in), cval = fuzz_u64(&in), now = fuzz_u64(&in);

			check_deadline(ctl, cval, now, fuzz_u64(&in));
			break;
		}
		default:
			check_exception(&in);
			break;
		}
	}
	return 0;
}
