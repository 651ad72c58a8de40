/* SPDX-License-Identifier: MIT */
/*
 * arm64.c and psci.c: syndromes worked out field by field from the Arm ARM
 * (D24.2.x ESR_EL2), instruction words from aarch64-linux-gnu-as, and the
 * PSCI/SMCCC function-id rules.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arm64.h"
#include "core_stubs.h"
#include "psci.h"
#include "vcpu.h"

/* ---- ESR decoding ---------------------------------------------------------- */

START_TEST(esr_dabt_ldr_w)
{
	/* ldr w1, [x0] to an unmapped IPA: EC 0x24 (0x90000000) | IL (0x02000000) |
	 * ISV (0x01000000) | SAS=2 (0x00800000) | SRT=1 (0x00010000) | DFSC 0x07
	 * (translation fault, level 3). */
	uint64_t esr = 0x93810007;
	struct arm64_dabt d;

	ck_assert_uint_eq(arm64_esr_ec(esr), 0x24);
	ck_assert(arm64_esr_il(esr));
	ck_assert_uint_eq(arm64_esr_iss(esr), 0x1810007);
	arm64_dabt_decode(esr, &d);
	ck_assert(d.isv);
	ck_assert_uint_eq(d.sas, 2);
	ck_assert(!d.sse);
	ck_assert_uint_eq(d.srt, 1);
	ck_assert(!d.sf);
	ck_assert(!d.ar);
	ck_assert(!d.wnr);
	ck_assert(!d.s1ptw);
	ck_assert(!d.cm);
	ck_assert(!d.fnv);
	ck_assert_uint_eq(d.dfsc, 0x07);
}
END_TEST

START_TEST(esr_dabt_strb_xzr)
{
	/* strb wzr, [x1]: ISV, SAS=0, SRT=31 (0x001f0000), WnR (0x40), DFSC 7. */
	struct arm64_dabt d;

	arm64_dabt_decode(0x931f0047, &d);
	ck_assert(d.isv);
	ck_assert_uint_eq(d.sas, 0);
	ck_assert_uint_eq(d.srt, 31);
	ck_assert(d.wnr);
	ck_assert_uint_eq(d.dfsc, 7);
}
END_TEST

START_TEST(esr_dabt_ldrsh_x)
{
	/* ldrsh x2, [x0]: SAS=1 (0x400000), SSE (0x200000), SRT=2 (0x20000), SF (0x8000). */
	struct arm64_dabt d;

	arm64_dabt_decode(0x93628007, &d);
	ck_assert_uint_eq(d.sas, 1);
	ck_assert(d.sse);
	ck_assert_uint_eq(d.srt, 2);
	ck_assert(d.sf);
	ck_assert(!d.wnr);
}
END_TEST

START_TEST(esr_dabt_ldar_and_flags)
{
	struct arm64_dabt d;

	/* ldar w0, [x1]: ISV, SAS=2, AR (0x4000), DFSC 6 (translation, level 2). */
	arm64_dabt_decode(0x93804006, &d);
	ck_assert(d.isv);
	ck_assert(d.ar);
	ck_assert_uint_eq(d.srt, 0);
	ck_assert_uint_eq(d.dfsc, 6);

	/* ISV=0 with FnV (0x400), EA (0x200), CM (0x100), S1PTW (0x80), WnR (0x40),
	 * DFSC 0x10 (synchronous external abort). */
	arm64_dabt_decode(0x920007d0, &d);
	ck_assert(!d.isv);
	ck_assert(d.fnv);
	ck_assert(d.ea);
	ck_assert(d.cm);
	ck_assert(d.s1ptw);
	ck_assert(d.wnr);
	ck_assert_uint_eq(d.dfsc, 0x10);
}
END_TEST

START_TEST(esr_other_classes)
{
	/* WFI: EC 0x01 (0x04000000) | IL, TI=0; WFE TI=1. */
	ck_assert_uint_eq(arm64_esr_ec(0x06000000), ARM64_EC_WFX);
	ck_assert(arm64_esr_wfx_is_wfi(0x06000000));
	ck_assert(!arm64_esr_wfx_is_wfi(0x06000001));
	/* HVC #0: EC 0x16; SMC #0: EC 0x17; BRK #0x3e8: EC 0x3c, ISS = comment. */
	ck_assert_uint_eq(arm64_esr_ec(0x5a000000), ARM64_EC_HVC64);
	ck_assert_uint_eq(arm64_esr_ec(0x5e000000), ARM64_EC_SMC64);
	ck_assert_uint_eq(arm64_esr_ec(0xf20003e8), ARM64_EC_BRK64);
	ck_assert_uint_eq(arm64_esr_iss(0xf20003e8), 0x3e8);
	/* A 16-bit instruction (IL=0) is only possible from AArch32. */
	ck_assert(!arm64_esr_il(0x04000000));
}
END_TEST

START_TEST(esr_sysreg)
{
	struct arm64_sysreg_access a;

	/* mrs x0, oslsr_el1 (S2_0_C1_C1_4): EC 0x18 (0x60000000) | IL | Op0=2 (0x200000)
	 * | Op2=4 (0x80000) | CRn=1 (0x400) | CRm=1 (0x2) | Direction=1 (read). */
	arm64_sysreg_decode(0x62280403, &a);
	ck_assert_uint_eq(a.op0, 2);
	ck_assert_uint_eq(a.op1, 0);
	ck_assert_uint_eq(a.crn, 1);
	ck_assert_uint_eq(a.crm, 1);
	ck_assert_uint_eq(a.op2, 4);
	ck_assert_uint_eq(a.rt, 0);
	ck_assert(a.read);

	/* msr cntp_ctl_el0, x5 (S3_3_C14_C2_1): Op0=3 (0x300000) | Op2=1 (0x20000) |
	 * Op1=3 (0xc000) | CRn=14 (0x3800) | Rt=5 (0xa0) | CRm=2 (0x4), write. */
	arm64_sysreg_decode(0x6232f8a4, &a);
	ck_assert_uint_eq(a.op0, 3);
	ck_assert_uint_eq(a.op1, 3);
	ck_assert_uint_eq(a.crn, 14);
	ck_assert_uint_eq(a.crm, 2);
	ck_assert_uint_eq(a.op2, 1);
	ck_assert_uint_eq(a.rt, 5);
	ck_assert(!a.read);
	ck_assert_uint_eq(a.enc, ARM64_SYSREG(3, 3, 14, 2, 1));

	/* The packing is HVF's hv_sys_reg_t numbering (Apple's header values). */
	ck_assert_uint_eq(ARM64_SYSREG(2, 0, 0, 2, 2), 0x8012);  /* MDSCR_EL1 */
	ck_assert_uint_eq(ARM64_SYSREG(3, 0, 0, 0, 5), 0xc005);  /* MPIDR_EL1 */
	ck_assert_uint_eq(ARM64_SYSREG(3, 3, 14, 3, 1), 0xdf19); /* CNTV_CTL_EL0 */
	ck_assert_uint_eq(ARM64_SYSREG(3, 4, 4, 1, 0), 0xe208);  /* SP_EL1 */
}
END_TEST

/* ---- MMIO register transfer ------------------------------------------------ */

START_TEST(load_extend_rules)
{
	/* ldrsb x: sign-extend to 64; ldrsb w: to 32, upper half zero. */
	ck_assert_uint_eq(arm64_load_extend(0x80, 1, true, true), 0xffffffffffffff80ull);
	ck_assert_uint_eq(arm64_load_extend(0x80, 1, true, false), 0xffffff80ull);
	/* ldrh: zero-extend. */
	ck_assert_uint_eq(arm64_load_extend(0x8000, 2, false, false), 0x8000);
	/* Bytes past the access size are not the guest's. */
	ck_assert_uint_eq(arm64_load_extend(0xdeadbeefcafef00dull, 4, false, false), 0xcafef00d);
	ck_assert_uint_eq(arm64_load_extend(0xdeadbeefcafef00dull, 1, false, true), 0x0d);
	/* ldrsw x. */
	ck_assert_uint_eq(arm64_load_extend(0x80000000, 4, true, true), 0xffffffff80000000ull);
	/* ldr w of a positive value with SSE: no change. */
	ck_assert_uint_eq(arm64_load_extend(0x7fff, 2, true, true), 0x7fff);
	ck_assert_uint_eq(arm64_load_extend(0x1122334455667788ull, 8, true, true),
			  0x1122334455667788ull);
	/* A 64-bit value through a W register is cut to 32 bits. */
	ck_assert_uint_eq(arm64_load_extend(0x1122334455667788ull, 8, false, false), 0x55667788);

	ck_assert_uint_eq(arm64_store_value(0x1122334455667788ull, 2), 0x7788);
	ck_assert_uint_eq(arm64_store_value(0x1122334455667788ull, 8), 0x1122334455667788ull);
}
END_TEST

/* ---- ISV=0 decoder --------------------------------------------------------- */

struct ldst_case {
	uint32_t insn;
	const char *text;
	bool load, sign, sf;
	unsigned size, nregs, rt, rt2, rn;
	enum arm64_addr_mode mode;
	int64_t imm;
	bool reg_offset;
	unsigned rm, extend, shift;
};

static const struct ldst_case ldst_cases[] = {
	/* insn, assembly, load, sign, sf, size, nregs, rt, rt2, rn, mode, imm, reg_offset, rm,
	 * extend, shift */
	{ 0xf9400441, "ldr x1, [x2, #8]",
	  true, false, true, 8, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 8, false, 0, 0, 0 },
	{ 0xb9400441, "ldr w1, [x2, #4]",
	  true, false, false, 4, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 4, false, 0, 0, 0 },
	{ 0x39400483, "ldrb w3, [x4, #1]",
	  true, false, false, 1, 1, 3, 0, 4, ARM64_ADDR_OFFSET, 1, false, 0, 0, 0 },
	{ 0x39800083, "ldrsb x3, [x4]",
	  true, true, true, 1, 1, 3, 0, 4, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
	{ 0x79c004c5, "ldrsh w5, [x6, #2]",
	  true, true, false, 2, 1, 5, 0, 6, ARM64_ADDR_OFFSET, 2, false, 0, 0, 0 },
	{ 0xb9800507, "ldrsw x7, [x8, #4]",
	  true, true, true, 4, 1, 7, 0, 8, ARM64_ADDR_OFFSET, 4, false, 0, 0, 0 },
	{ 0xf9000841, "str x1, [x2, #16]",
	  false, false, false, 8, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 16, false, 0, 0, 0 },
	{ 0x79000149, "strh w9, [x10]",
	  false, false, false, 2, 1, 9, 0, 10, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
	{ 0xb85fc041, "ldur w1, [x2, #-4]",
	  true, false, false, 4, 1, 1, 0, 2, ARM64_ADDR_OFFSET, -4, false, 0, 0, 0 },
	{ 0xf81f83e3, "stur x3, [sp, #-8]",
	  false, false, false, 8, 1, 3, 0, 31, ARM64_ADDR_OFFSET, -8, false, 0, 0, 0 },
	{ 0xf8408c41, "ldr x1, [x2, #8]!",
	  true, false, true, 8, 1, 1, 0, 2, ARM64_ADDR_PRE, 8, false, 0, 0, 0 },
	{ 0xf85f8441, "ldr x1, [x2], #-8",
	  true, false, true, 8, 1, 1, 0, 2, ARM64_ADDR_POST, -8, false, 0, 0, 0 },
	{ 0xb8004483, "str w3, [x4], #4",
	  false, false, false, 4, 1, 3, 0, 4, ARM64_ADDR_POST, 4, false, 0, 0, 0 },
	{ 0x789fec41, "ldrsh x1, [x2, #-2]!",
	  true, true, true, 2, 1, 1, 0, 2, ARM64_ADDR_PRE, -2, false, 0, 0, 0 },
	{ 0xf84107e0, "ldr x0, [sp], #16",
	  true, false, true, 8, 1, 0, 0, 31, ARM64_ADDR_POST, 16, false, 0, 0, 0 },
	{ 0xf900003f, "str xzr, [x1]",
	  false, false, false, 8, 1, 31, 0, 1, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
	{ 0xb8636841, "ldr w1, [x2, x3]",
	  true, false, false, 4, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 0, true, 3, 3, 0 },
	{ 0xf8637841, "ldr x1, [x2, x3, lsl #3]",
	  true, false, true, 8, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 0, true, 3, 3, 3 },
	{ 0xb863d841, "ldr w1, [x2, w3, sxtw #2]",
	  true, false, false, 4, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 0, true, 3, 6, 2 },
	{ 0x38634841, "ldrb w1, [x2, w3, uxtw]",
	  true, false, false, 1, 1, 1, 0, 2, ARM64_ADDR_OFFSET, 0, true, 3, 2, 0 },
	{ 0xa9400861, "ldp x1, x2, [x3]",
	  true, false, true, 8, 2, 1, 2, 3, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
	{ 0x29410861, "ldp w1, w2, [x3, #8]",
	  true, false, false, 4, 2, 1, 2, 3, ARM64_ADDR_OFFSET, 8, false, 0, 0, 0 },
	{ 0xa9bf0be1, "stp x1, x2, [sp, #-16]!",
	  false, false, true, 8, 2, 1, 2, 31, ARM64_ADDR_PRE, -16, false, 0, 0, 0 },
	{ 0xa8c10861, "ldp x1, x2, [x3], #16",
	  true, false, true, 8, 2, 1, 2, 3, ARM64_ADDR_POST, 16, false, 0, 0, 0 },
	{ 0x69400861, "ldpsw x1, x2, [x3]",
	  true, true, true, 4, 2, 1, 2, 3, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
	{ 0xa8000861, "stnp x1, x2, [x3]",
	  false, false, true, 8, 2, 1, 2, 3, ARM64_ADDR_OFFSET, 0, false, 0, 0, 0 },
};

START_TEST(ldst_decode_forms)
{
	const struct ldst_case *c = &ldst_cases[_i];
	struct arm64_ldst d;

	ck_assert_msg(arm64_ldst_decode(c->insn, &d) == 0, "%s", c->text);
	ck_assert_msg(d.load == c->load, "%s: load", c->text);
	ck_assert_msg(d.sign == c->sign, "%s: sign", c->text);
	if (c->load)
		ck_assert_msg(d.sf == c->sf, "%s: sf", c->text);
	ck_assert_msg(d.size == c->size, "%s: size %u", c->text, d.size);
	ck_assert_msg(d.nregs == c->nregs, "%s: nregs", c->text);
	ck_assert_msg(d.rt == c->rt, "%s: rt", c->text);
	if (c->nregs == 2)
		ck_assert_msg(d.rt2 == c->rt2, "%s: rt2", c->text);
	ck_assert_msg(d.rn == c->rn, "%s: rn", c->text);
	ck_assert_msg(d.mode == c->mode, "%s: mode", c->text);
	ck_assert_msg(d.reg_offset == c->reg_offset, "%s: reg_offset", c->text);
	if (c->reg_offset) {
		ck_assert_msg(d.rm == c->rm, "%s: rm", c->text);
		ck_assert_msg(d.extend == c->extend, "%s: extend", c->text);
		ck_assert_msg(d.shift == c->shift, "%s: shift", c->text);
	} else {
		ck_assert_msg(d.imm == c->imm, "%s: imm %lld", c->text, (long long)d.imm);
	}
}
END_TEST

START_TEST(ldst_decode_refused)
{
	static const struct {
		uint32_t insn;
		const char *text;
	} bad[] = {
		{ 0x3dc00020, "ldr q0, [x1]" },        /* SIMD&FP register */
		{ 0xc85f7c20, "ldxr x0, [x1]" },       /* exclusive */
		{ 0xb8200041, "ldadd w0, w1, [x2]" },  /* atomic */
		{ 0xf9800020, "prfm pldl1keep, [x1]" },
		{ 0xf8400820, "ldtr x0, [x1]" },       /* unprivileged */
		{ 0xf8408c21, "ldr x1, [x1, #8]!" },   /* writeback into Rt: unpredictable */
		{ 0xa9400441, "ldp x1, x1, [x2]" },    /* same register twice: unpredictable */
		{ 0xd503201f, "nop" },
	};
	struct arm64_ldst d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(arm64_ldst_decode(bad[i].insn, &d) == -ENOTSUP, "%s", bad[i].text);
}
END_TEST

START_TEST(ldst_addresses)
{
	struct arm64_ldst d;
	uint64_t nb;

	/* ldr x1, [x2, #8]!: access at x2 + 8, x2 becomes x2 + 8. */
	ck_assert_int_eq(arm64_ldst_decode(0xf8408c41, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 0, &nb), 0x1008);
	ck_assert_uint_eq(nb, 0x1008);
	/* ldr x1, [x2], #-8: access at x2, then x2 - 8. */
	ck_assert_int_eq(arm64_ldst_decode(0xf85f8441, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 0, &nb), 0x1000);
	ck_assert_uint_eq(nb, 0xff8);
	/* ldur w1, [x2, #-4]: no writeback. */
	ck_assert_int_eq(arm64_ldst_decode(0xb85fc041, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 0, &nb), 0xffc);
	ck_assert_uint_eq(nb, 0x1000);
	/* ldr w1, [x2, w3, sxtw #2] with w3 = -1 (upper half of x3 ignored). */
	ck_assert_int_eq(arm64_ldst_decode(0xb863d841, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 0x12345678ffffffffull, NULL), 0xffc);
	/* ldrb w1, [x2, w3, uxtw]: zero-extended W. */
	ck_assert_int_eq(arm64_ldst_decode(0x38634841, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 0x12345678ffffffffull, NULL),
			  0x1000 + 0xffffffffull);
	/* ldr x1, [x2, x3, lsl #3]. */
	ck_assert_int_eq(arm64_ldst_decode(0xf8637841, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x1000, 3, NULL), 0x1018);
	/* stp x1, x2, [sp, #-16]!. */
	ck_assert_int_eq(arm64_ldst_decode(0xa9bf0be1, &d), 0);
	ck_assert_uint_eq(arm64_ldst_address(&d, 0x8000, 0, &nb), 0x7ff0);
	ck_assert_uint_eq(nb, 0x7ff0);
}
END_TEST

/* ---- stage-1 translation --------------------------------------------------- */

static uint8_t pt_mem[0x10000];

static int pt_read(void *opaque, uint64_t ipa, uint64_t *val)
{
	if (ipa + 8 > sizeof(pt_mem))
		return -EFAULT;
	memcpy(val, pt_mem + ipa, 8);
	return 0;
}

static void pt_set(uint64_t table, unsigned idx, uint64_t desc)
{
	memcpy(pt_mem + table + idx * 8, &desc, 8);
}

START_TEST(translate_4k)
{
	/* 4K granule, T0SZ = 25 (39-bit VA): the walk starts at level 1. */
	struct arm64_mmu_regs mmu = { .sctlr = ARM64_SCTLR_M, .tcr = 25, .ttbr0 = 0x1000 };
	uint64_t ipa;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_set(0x1000, 1, 0x2000 | 3);            /* L1[1] -> table at 0x2000 */
	pt_set(0x2000, 1, 0x3000 | 3);            /* L2[1] -> table at 0x3000 */
	pt_set(0x3000, 1, 0x80005000ull | 0x403); /* L3[1] -> page 0x80005000 (AF) */
	pt_set(0x2000, 2, 0x90000000ull | 0x401); /* L2[2] -> 2 MiB block */

	/* VA 0x40201abc: L1 idx 1, L2 idx 1, L3 idx 1, offset 0xabc. */
	ck_assert_int_eq(arm64_translate(&mmu, 0x40201abc, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x80005abc);
	/* VA 0x40401234: L2 idx 2 is a block. */
	ck_assert_int_eq(arm64_translate(&mmu, 0x40401234, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x90001234);
	/* Invalid L3 entry. */
	ck_assert_int_eq(arm64_translate(&mmu, 0x40202000, pt_read, NULL, &ipa), -EFAULT);
	/* Beyond the 39-bit range of TTBR0. */
	ck_assert_int_eq(arm64_translate(&mmu, 0x8040201abcull, pt_read, NULL, &ipa), -EFAULT);
	/* TTBR1 half disabled by EPD1. */
	mmu.tcr |= 1u << 23;
	ck_assert_int_eq(arm64_translate(&mmu, 0xffffffc040201abcull, pt_read, NULL, &ipa),
			 -EFAULT);
	/* MMU off: identity. */
	mmu.sctlr = 0;
	ck_assert_int_eq(arm64_translate(&mmu, 0x40201abc, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x40201abc);
}
END_TEST

START_TEST(translate_ttbr1_16k)
{
	/* TTBR1, 16K granule (TG1 = 01), T1SZ = 28: a 36-bit VA region walked from
	 * level 2 (VA[35:25]) to level 3 (VA[24:14]). */
	struct arm64_mmu_regs mmu = {
		.sctlr = ARM64_SCTLR_M,
		.tcr = (28ull << 16) | (1ull << 30) | (1u << 7) /* EPD0 */,
		.ttbr1 = 0x8000,
	};
	uint64_t ipa, va = 0xfffffff000000000ull | (3ull << 25) | (5ull << 14) | 0x123;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_set(0x8000, 3, 0x4000 | 3);              /* L2[3] -> table at 0x4000 */
	pt_set(0x4000, 5, 0x12344000ull | 0x403);   /* L3[5] -> 16K page */
	ck_assert_int_eq(arm64_translate(&mmu, va, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x12344123);
	/* Upper bits not all ones for a TTBR1 address. */
	ck_assert_int_eq(arm64_translate(&mmu, va & ~(1ull << 40), pt_read, NULL, &ipa), -EFAULT);
	/* TTBR0 walks are disabled by EPD0. */
	ck_assert_int_eq(arm64_translate(&mmu, 0x1000, pt_read, NULL, &ipa), -EFAULT);
}
END_TEST

/* A reader over pt_mem that counts and caps descriptor reads, so a runaway
 * walk fails the test instead of hanging it. */
static unsigned pt_reads;

static int pt_read_counted(void *opaque, uint64_t ipa, uint64_t *val)
{
	if (++pt_reads > 64)
		return -EFAULT;
	return pt_read(opaque, ipa, val);
}

/* Every entry of the table at 0 points back at itself: a walk through it
 * only ends at the architectural last level. */
static void pt_self_loop(void)
{
	for (unsigned i = 0; i < 0x10000 / 8; i++)
		pt_set(0, i, 3);
}

START_TEST(translate_txsz_out_of_range)
{
	/* Largest TxSZ per granule with FEAT_TTST (DDI 0487 AArch64.MaxTxSZ): 48
	 * for 4K and 16K, 47 for 64K, whose level-3 table then still indexes one
	 * bit.  One more leaves no bit to index: a translation fault before any
	 * read (it used to start at "level 4" and walk ~2^32 levels). */
	static const struct {
		unsigned tg0, max;
	} g[] = { { 0, 48 }, { 2, 48 }, { 1, 47 } };
	uint64_t ipa;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_self_loop();
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned tsz = g[i].max + 1; tsz < 64; tsz++) {
			struct arm64_mmu_regs mmu = {
				.sctlr = ARM64_SCTLR_M,
				.tcr = tsz | ((uint64_t)g[i].tg0 << 14),
			};

			pt_reads = 0;
			ck_assert_int_eq(arm64_translate(&mmu, 0, pt_read_counted, NULL, &ipa),
					 -EFAULT);
			ck_assert_uint_eq(pt_reads, 0);
		}
		/* Below the 48-bit minimum (52-bit VAs are not supported). */
		for (unsigned tsz = 0; tsz < 16; tsz++) {
			struct arm64_mmu_regs mmu = {
				.sctlr = ARM64_SCTLR_M,
				.tcr = tsz | ((uint64_t)g[i].tg0 << 14),
			};

			pt_reads = 0;
			ck_assert_int_eq(arm64_translate(&mmu, 0, pt_read_counted, NULL, &ipa),
					 -EFAULT);
			ck_assert_uint_eq(pt_reads, 0);
		}
	}
}
END_TEST

START_TEST(translate_walk_is_bounded)
{
	/* Through a self-referencing table, every valid TxSZ and granule (both
	 * halves) walks at most four levels and ends in a page at level 3. */
	static const unsigned tg0[] = { 0, 2, 1 }, tg1[] = { 2, 1, 3 }, max[] = { 48, 48, 47 };
	uint64_t ipa;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_self_loop();
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned tsz = 16; tsz <= max[i]; tsz++) {
			struct arm64_mmu_regs mmu = {
				.sctlr = ARM64_SCTLR_M,
				.tcr = tsz | ((uint64_t)tg0[i] << 14) | ((uint64_t)tsz << 16) |
				       ((uint64_t)tg1[i] << 30),
			};

			pt_reads = 0;
			ck_assert_int_eq(arm64_translate(&mmu, 0, pt_read_counted, NULL, &ipa), 0);
			ck_assert_uint_le(pt_reads, 4);
			ck_assert_uint_ge(pt_reads, 1);
			ck_assert_uint_eq(ipa, 0);
			pt_reads = 0;
			ck_assert_int_eq(arm64_translate(&mmu, UINT64_MAX << (64 - tsz),
							 pt_read_counted, NULL, &ipa), 0);
			ck_assert_uint_le(pt_reads, 4);
		}
	}
}
END_TEST

START_TEST(translate_misaligned_ttbr)
{
	/* TTBR0 BADDR bits below the table's size are RES0 and ignored: a walk
	 * never reads a descriptor at a misaligned address (fuzz_arm64_translate
	 * found reads at TTBR + 2).  4K granule, T0SZ = 25: a 4 KiB level-1 table
	 * at 0x1000, whatever bits [11:1] say. */
	struct arm64_mmu_regs mmu = { .sctlr = ARM64_SCTLR_M, .tcr = 25, .ttbr0 = 0x1ffe };
	uint64_t ipa;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_set(0x1000, 1, 0x40000000ull | 0x401); /* L1[1]: 1 GiB block */
	ck_assert_int_eq(arm64_translate(&mmu, 0x40001234, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x40001234);

	/* 4K, T0SZ = 48: a 16-entry level-3 table, aligned to 128 bytes. */
	mmu.tcr = 48;
	mmu.ttbr0 = 0x2000 | 0x7e;
	pt_set(0x2000, 0xa, 0x5000 | 0x403);
	ck_assert_int_eq(arm64_translate(&mmu, 0xabcd, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x5bcd);
}
END_TEST

START_TEST(translate_smallest_regions)
{
	/* 4K granule, T0SZ = 48: a 16-bit VA space, one level-3 table indexed by
	 * VA[15:12]. */
	struct arm64_mmu_regs mmu = { .sctlr = ARM64_SCTLR_M, .tcr = 48, .ttbr0 = 0x1000 };
	uint64_t ipa;

	memset(pt_mem, 0, sizeof(pt_mem));
	pt_set(0x1000, 0xa, 0x5000 | 0x403);
	ck_assert_int_eq(arm64_translate(&mmu, 0xabcd, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x5bcd);
	ck_assert_int_eq(arm64_translate(&mmu, 0x1abcd, pt_read, NULL, &ipa), -EFAULT);

	/* 64K granule (TG0 = 01), T0SZ = 47: a 17-bit VA space, a two-entry
	 * level-3 table indexed by VA[16]. */
	mmu.tcr = 47 | (1u << 14);
	mmu.ttbr0 = 0x2000;
	pt_set(0x2000, 1, 0x70000 | 0x403);
	ck_assert_int_eq(arm64_translate(&mmu, 0x1abcd, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x7abcd);

	/* 64K granule, T0SZ = 16: the walk starts at level 1 (VA[47:42]), where a
	 * block descriptor is reserved without FEAT_LPA; at level 2 (VA[41:29])
	 * it maps 512 MiB. */
	mmu.tcr = 16 | (1u << 14);
	mmu.ttbr0 = 0x4000;
	pt_set(0x4000, 0, 0x40000000ull | 0x401);
	ck_assert_int_eq(arm64_translate(&mmu, 0x1234, pt_read, NULL, &ipa), -EFAULT);
	pt_set(0x4000, 0, 0x0 | 3); /* next-level tables are 64K aligned */
	pt_set(0x0, 1, 0x40000000ull | 0x401);
	ck_assert_int_eq(arm64_translate(&mmu, 0x20001234, pt_read, NULL, &ipa), 0);
	ck_assert_uint_eq(ipa, 0x40001234);
}
END_TEST

/* ---- system register table ------------------------------------------------- */

static enum arm64_sysreg_result sr(struct arm64_sysreg_state *s, unsigned op0, unsigned op1,
				   unsigned crn, unsigned crm, unsigned op2, bool read,
				   uint64_t now, uint64_t *val)
{
	struct arm64_sysreg_access a = {
		.enc = ARM64_SYSREG(op0, op1, crn, crm, op2),
		.op0 = op0, .op1 = op1, .crn = crn, .crm = crm, .op2 = op2, .read = read,
	};

	return arm64_sysreg_access(s, &a, now, val);
}

START_TEST(sysreg_os_lock_and_debug)
{
	struct arm64_sysreg_state s;
	uint64_t v;

	arm64_sysreg_reset(&s);
	/* OSLSR_EL1: OSLM = 0b10 (bit 3), unlocked. */
	ck_assert_int_eq(sr(&s, 2, 0, 1, 1, 4, true, 0, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(v, 0x8);
	/* OSLAR_EL1 = 1 locks (OSLK, bit 1), 0 unlocks. */
	v = 1;
	ck_assert_int_eq(sr(&s, 2, 0, 1, 0, 4, false, 0, &v), ARM64_SYSREG_OK);
	sr(&s, 2, 0, 1, 1, 4, true, 0, &v);
	ck_assert_uint_eq(v, 0xa);
	v = 0;
	sr(&s, 2, 0, 1, 0, 4, false, 0, &v);
	sr(&s, 2, 0, 1, 1, 4, true, 0, &v);
	ck_assert_uint_eq(v, 0x8);
	/* OSLAR is write-only, OSLSR read-only. */
	ck_assert_int_eq(sr(&s, 2, 0, 1, 0, 4, true, 0, &v), ARM64_SYSREG_UNDEF);
	ck_assert_int_eq(sr(&s, 2, 0, 1, 1, 4, false, 0, &v), ARM64_SYSREG_UNDEF);
	/* OSDLR_EL1 keeps DLK only. */
	v = 3;
	ck_assert_int_eq(sr(&s, 2, 0, 1, 3, 4, false, 0, &v), ARM64_SYSREG_OK);
	sr(&s, 2, 0, 1, 3, 4, true, 0, &v);
	ck_assert_uint_eq(v, 1);
	/* MDSCR_EL1, MDCCINT_EL1, OSECCR_EL1 store what is written. */
	v = 0x8001;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 2, 2, false, 0, &v), ARM64_SYSREG_OK);
	v = 0;
	sr(&s, 2, 0, 0, 2, 2, true, 0, &v);
	ck_assert_uint_eq(v, 0x8001);
	v = 0x5;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 2, 0, false, 0, &v), ARM64_SYSREG_OK);
	sr(&s, 2, 0, 0, 2, 0, true, 0, &v);
	ck_assert_uint_eq(v, 0x5);
	v = 0x77;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 6, 2, false, 0, &v), ARM64_SYSREG_OK);
	sr(&s, 2, 0, 0, 6, 2, true, 0, &v);
	ck_assert_uint_eq(v, 0x77);
	/* DBGBCR0_EL1, DBGWVR3_EL1: RAZ/WI. */
	v = 0xffff;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 0, 5, false, 0, &v), ARM64_SYSREG_OK);
	v = 1;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 0, 5, true, 0, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(v, 0);
	v = 1;
	ck_assert_int_eq(sr(&s, 2, 0, 0, 3, 6, true, 0, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(v, 0);
	/* MDCCSR_EL0 reads 0; it has no write form. */
	v = 1;
	ck_assert_int_eq(sr(&s, 2, 3, 0, 1, 0, true, 0, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(sr(&s, 2, 3, 0, 1, 0, false, 0, &v), ARM64_SYSREG_UNDEF);
}
END_TEST

START_TEST(sysreg_pmu_raz_wi)
{
	static const unsigned regs[][5] = {
		{ 3, 3, 9, 12, 0 },  /* PMCR_EL0 */
		{ 3, 3, 9, 12, 1 },  /* PMCNTENSET_EL0 */
		{ 3, 3, 9, 12, 6 },  /* PMCEID0_EL0 */
		{ 3, 3, 9, 13, 0 },  /* PMCCNTR_EL0 */
		{ 3, 3, 9, 14, 0 },  /* PMUSERENR_EL0 */
		{ 3, 3, 9, 14, 3 },  /* PMOVSSET_EL0 */
		{ 3, 0, 9, 14, 1 },  /* PMINTENSET_EL1 */
		{ 3, 0, 9, 14, 2 },  /* PMINTENCLR_EL1 */
		{ 3, 3, 14, 8, 0 },  /* PMEVCNTR0_EL0 */
		{ 3, 3, 14, 12, 3 }, /* PMEVTYPER3_EL0 */
		{ 3, 3, 14, 15, 7 }, /* PMCCFILTR_EL0 */
	};
	struct arm64_sysreg_state s;
	uint64_t v;

	arm64_sysreg_reset(&s);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		const unsigned *r = regs[i];

		v = ~0ull;
		ck_assert_int_eq(sr(&s, r[0], r[1], r[2], r[3], r[4], false, 0, &v),
				 ARM64_SYSREG_OK);
		v = 0x1234;
		ck_assert_int_eq(sr(&s, r[0], r[1], r[2], r[3], r[4], true, 0, &v),
				 ARM64_SYSREG_OK);
		ck_assert_msg(v == 0, "PMU register %zu reads %llx", i, (unsigned long long)v);
	}
}
END_TEST

START_TEST(sysreg_physical_timer)
{
	struct arm64_sysreg_state s;
	uint64_t v;

	arm64_sysreg_reset(&s);
	/* CNTPCT_EL0 is the guest count; it cannot be written. */
	ck_assert_int_eq(sr(&s, 3, 3, 14, 0, 1, true, 123456, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(v, 123456);
	ck_assert_int_eq(sr(&s, 3, 3, 14, 0, 1, false, 0, &v), ARM64_SYSREG_UNDEF);

	/* CVAL = 1000, enable. */
	v = 1000;
	ck_assert_int_eq(sr(&s, 3, 3, 14, 2, 2, false, 0, &v), ARM64_SYSREG_OK);
	v = 0xffff; /* only ENABLE and IMASK are writable */
	ck_assert_int_eq(sr(&s, 3, 3, 14, 2, 1, false, 0, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(s.cntp_ctl, 3);
	v = 1;
	sr(&s, 3, 3, 14, 2, 1, false, 0, &v);
	sr(&s, 3, 3, 14, 2, 1, true, 999, &v);
	ck_assert_uint_eq(v, 1); /* not yet */
	sr(&s, 3, 3, 14, 2, 1, true, 1000, &v);
	ck_assert_uint_eq(v, 5); /* ENABLE | ISTATUS */
	ck_assert(arm64_timer_line(s.cntp_ctl, s.cntp_cval, 1000));
	v = 3;
	sr(&s, 3, 3, 14, 2, 1, false, 0, &v);
	sr(&s, 3, 3, 14, 2, 1, true, 1000, &v);
	ck_assert_uint_eq(v, 7); /* masked: ISTATUS still set, line low */
	ck_assert(!arm64_timer_line(s.cntp_ctl, s.cntp_cval, 1000));
	sr(&s, 3, 3, 14, 2, 2, true, 0, &v);
	ck_assert_uint_eq(v, 1000);

	/* TVAL: write sets CVAL = now + sext(value); read gives CVAL - now (32 bits). */
	v = 500;
	ck_assert_int_eq(sr(&s, 3, 3, 14, 2, 0, false, 1000, &v), ARM64_SYSREG_OK);
	ck_assert_uint_eq(s.cntp_cval, 1500);
	sr(&s, 3, 3, 14, 2, 0, true, 1200, &v);
	ck_assert_uint_eq(v, 300);
	v = 0xffffffffffffff9cull; /* -100 */
	sr(&s, 3, 3, 14, 2, 0, false, 1000, &v);
	ck_assert_uint_eq(s.cntp_cval, 900);
	sr(&s, 3, 3, 14, 2, 0, true, 1000, &v);
	ck_assert_uint_eq(v, 0xffffff9c);
}
END_TEST

START_TEST(sysreg_unknown_undef_once)
{
	struct arm64_sysreg_state s;
	uint64_t v = 0;

	arm64_sysreg_reset(&s);
	/* ICC_SRE_EL1 (GICv3 only) and an IMPDEF register: not in the table. */
	ck_assert_int_eq(sr(&s, 3, 0, 12, 12, 5, true, 0, &v), ARM64_SYSREG_UNDEF);
	ck_assert_int_eq(sr(&s, 3, 7, 15, 0, 0, false, 0, &v), ARM64_SYSREG_UNDEF);
	ck_assert(arm64_sysreg_first_seen(ARM64_SYSREG(3, 0, 12, 12, 5)));
	ck_assert(!arm64_sysreg_first_seen(ARM64_SYSREG(3, 0, 12, 12, 5)));
	ck_assert(arm64_sysreg_first_seen(ARM64_SYSREG(3, 0, 12, 12, 4)));
	ck_assert(arm64_sysreg_first_seen(ARM64_SYSREG(3, 7, 15, 0, 0)));
}
END_TEST

/* ---- timer deadline -------------------------------------------------------- */

START_TEST(timer_deadline_edges)
{
	const uint64_t f = 24000000; /* Apple Silicon's counter */

	/* Disabled, masked, already fired, due now, no frequency: no deadline. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(0, 2000, 1000, f), ARM64_NO_DEADLINE);
	ck_assert_uint_eq(arm64_timer_deadline_ns(3, 2000, 1000, f), ARM64_NO_DEADLINE);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 999, 1000, f), ARM64_NO_DEADLINE);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 1000, 1000, f), ARM64_NO_DEADLINE);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 2000, 1000, 0), ARM64_NO_DEADLINE);
	/* ISTATUS as written by hardware does not matter: CVAL and the count do. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(5, 1024, 1000, f), 1000);
	/* 24 ticks = 1 us; one tick = 41.67 ns rounded up so we never wake early. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 1024, 1000, f), 1000);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 1001, 1000, f), 42);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 1000 + f, 1000, f), 1000000000);
	/* 2^40 ticks: ceil(2^40 * 1e9 / 24e6), no 64-bit overflow in between. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, (1ull << 40) + 5, 5, f), 45812984490667ull);
	/* 1 GHz counter, 2^63 ticks: exact. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, 1ull << 63, 0, 1000000000),
			  9223372036854775808ull);
	/* Saturates below NO_DEADLINE. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, UINT64_MAX, 0, f), ARM64_NO_DEADLINE - 1);
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, UINT64_MAX, 0, 1), ARM64_NO_DEADLINE - 1);
	/* A count near wrap-around still measures the distance. */
	ck_assert_uint_eq(arm64_timer_deadline_ns(1, UINT64_MAX, UINT64_MAX - 24, f), 1000);
}
END_TEST

/* ---- exception entry ------------------------------------------------------- */

START_TEST(inject_dabt_from_el1h)
{
	struct arm64_exc_in in = {
		.pc = 0xffff800010001234ull,
		.pstate = 0x600003c5, /* Z, C, DAIF, EL1h */
		.vbar = 0xffff800010010000ull,
		.sctlr = ARM64_SCTLR_SPAN,
	};
	struct arm64_exc_out out;

	ck_assert_int_eq(arm64_inject_data_abort(&in, 0xffff000000001000ull, true, &out), 0);
	/* EC 0x25 (same EL) | IL | WnR | DFSC 0x10 */
	ck_assert_uint_eq(out.esr, 0x96000050);
	ck_assert_uint_eq(out.far, 0xffff000000001000ull);
	ck_assert_uint_eq(out.elr, 0xffff800010001234ull);
	ck_assert_uint_eq(out.spsr, 0x600003c5);
	ck_assert_uint_eq(out.pc, 0xffff800010010200ull); /* current EL, SP_ELx */
	ck_assert_uint_eq(out.pstate, 0x600003c5);        /* flags kept; SPAN=1: no PAN */
}
END_TEST

START_TEST(inject_dabt_from_el0_and_el1t)
{
	struct arm64_exc_in in = { .pc = 0x400080, .pstate = 0x80000000, .vbar = 0x40000800 };
	struct arm64_exc_out out;

	/* EL0t, read: EC 0x24 (lower EL) | IL | DFSC 0x10; vector +0x400; SPAN=0 sets PAN. */
	ck_assert_int_eq(arm64_inject_data_abort(&in, 0x9000, false, &out), 0);
	ck_assert_uint_eq(out.esr, 0x92000010);
	ck_assert_uint_eq(out.pc, 0x40000c00);
	ck_assert_uint_eq(out.spsr, 0x80000000);
	ck_assert_uint_eq(out.pstate, 0x804003c5);

	/* EL1t (SP_EL0): vector +0x000; SS and IL are cleared, DSSBS gives SSBS. */
	in.pstate = 0x4 | ARM64_PSTATE_SS | ARM64_PSTATE_IL;
	in.sctlr = ARM64_SCTLR_SPAN | ARM64_SCTLR_DSSBS;
	ck_assert_int_eq(arm64_inject_data_abort(&in, 0x9000, false, &out), 0);
	ck_assert_uint_eq(out.esr, 0x96000010);
	ck_assert_uint_eq(out.pc, 0x40000800);
	ck_assert_uint_eq(out.pstate, 0x3c5 | ARM64_PSTATE_SSBS);

	/* AArch32 EL0 (M = 0x10): vector +0x600. */
	in.pstate = 0x10;
	ck_assert_int_eq(arm64_inject_undef(&in, 0x55, &out), 0);
	ck_assert_uint_eq(out.pc, 0x40000e00);
	ck_assert_uint_eq(out.esr, 0x02000000); /* EC 0, IL */
	ck_assert_uint_eq(out.far, 0x55);       /* UNDEF does not touch FAR */

	/* EL2h: never a guest state here. */
	in.pstate = 0x9;
	ck_assert_int_eq(arm64_inject_undef(&in, 0, &out), -EINVAL);
}
END_TEST

START_TEST(inject_iabt)
{
	struct arm64_exc_in in = { .pc = 0x10000000, .pstate = 0x3c5, .vbar = 0x80000000 };
	struct arm64_exc_out out;

	/* EC 0x21 (same EL) | IL | IFSC 0x10. */
	ck_assert_int_eq(arm64_inject_insn_abort(&in, 0x10000000, &out), 0);
	ck_assert_uint_eq(out.esr, 0x86000010);
	ck_assert_uint_eq(out.pc, 0x80000200);
	ck_assert_uint_eq(out.far, 0x10000000);
}
END_TEST

/* ---- PSCI function ids ----------------------------------------------------- */

static struct power *fake_power = (struct power *)0x1000;

static uint64_t call(bool aarch32, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3,
		     enum psci_action *act)
{
	struct vcpu v = { .power = fake_power };
	uint64_t args[4] = { x0, x1, x2, x3 }, ret = 0xdead;
	enum psci_action a = psci_call(&v, args, aarch32, &ret);

	if (act)
		*act = a;
	return ret;
}

START_TEST(psci_version_and_upper_bits)
{
	enum psci_action a;

	ck_assert_uint_eq(call(false, PSCI_FN_VERSION, 0, 0, 0, &a), 0x10000);
	ck_assert_int_eq(a, PSCI_ACT_RETURN);
	/* SMCCC: the function id is W0; the upper half of X0 is ignored. */
	ck_assert_uint_eq(call(false, 0xffffffff84000000ull, 0, 0, 0, &a), 0x10000);
	ck_assert_uint_eq(call(false, PSCI_FN_MIGRATE_INFO_TYPE, 0, 0, 0, &a), 2);
}
END_TEST

START_TEST(psci_cpu_on_32_and_64)
{
	enum psci_action a;

	stub_reset();
	/* SMC32: X1..X3 are read as W registers. */
	ck_assert_uint_eq(call(false, PSCI_FN_CPU_ON, 0xffffffff00000001ull,
			       0x1234000080000000ull, 0xaaaabbbbccccddddull, &a), 0);
	ck_assert_int_eq(a, PSCI_ACT_RETURN);
	ck_assert_uint_eq(stub.ncpu_on, 1);
	ck_assert_ptr_eq(stub.cpu_on[0].power, fake_power);
	ck_assert_uint_eq(stub.cpu_on[0].mpidr, 1);
	ck_assert_uint_eq(stub.cpu_on[0].entry, 0x80000000);
	ck_assert_uint_eq(stub.cpu_on[0].context, 0xccccdddd);

	/* SMC64: full 64-bit entry and context; Aff3 allowed. */
	ck_assert_uint_eq(call(false, PSCI_FN64_CPU_ON, 0x0100000002ull, 0xffff800010000000ull,
			       0xaaaabbbbccccddddull, &a), 0);
	ck_assert_uint_eq(stub.ncpu_on, 2);
	ck_assert_uint_eq(stub.cpu_on[1].mpidr, 0x0100000002ull);
	ck_assert_uint_eq(stub.cpu_on[1].entry, 0xffff800010000000ull);
	ck_assert_uint_eq(stub.cpu_on[1].context, 0xaaaabbbbccccddddull);

	/* The core's answer comes back sign-extended. */
	stub.cpu_on_result = PSCI_RET_ALREADY_ON;
	ck_assert_uint_eq(call(false, PSCI_FN64_CPU_ON, 1, 0x80000000, 0, &a),
			  0xfffffffffffffffcull);
	/* Bits outside the affinity fields: INVALID_PARAMS, core not asked. */
	ck_assert_uint_eq(call(false, PSCI_FN64_CPU_ON, 1ull << 24, 0x80000000, 0, &a),
			  (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS);
	ck_assert_uint_eq(stub.ncpu_on, 3);
}
END_TEST

START_TEST(psci_smc64_ids_only_for_aarch64)
{
	enum psci_action a;

	stub_reset();
	ck_assert_uint_eq(call(true, PSCI_FN64_CPU_ON, 1, 0x80000000, 0, &a),
			  (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED);
	ck_assert_uint_eq(stub.ncpu_on, 0);
	/* The 32-bit form works from AArch32. */
	ck_assert_uint_eq(call(true, PSCI_FN_CPU_ON, 1, 0x80000000, 0, &a), 0);
	ck_assert_uint_eq(stub.ncpu_on, 1);
	/* 64-bit ids of calls that have no SMC64 form. */
	ck_assert_uint_eq(call(false, 0xc4000000, 0, 0, 0, &a),
			  (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED);
	ck_assert_uint_eq(call(false, 0xc4000008, 0, 0, 0, &a),
			  (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED);
	ck_assert_int_eq(a, PSCI_ACT_RETURN); /* not a SYSTEM_OFF */
}
END_TEST

START_TEST(psci_affinity_info)
{
	enum psci_action a;

	stub_reset();
	stub.affinity_result = PSCI_AFFINITY_OFF;
	ck_assert_uint_eq(call(false, PSCI_FN64_AFFINITY_INFO, 3, 0, 0, &a), 1);
	ck_assert_uint_eq(stub.affinity_mpidr, 3);
	/* Level above 0: INVALID_PARAMS. */
	ck_assert_uint_eq(call(false, PSCI_FN64_AFFINITY_INFO, 3, 1, 0, &a),
			  (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS);
	/* SMC32: upper bits of X2 ignored, so this is level 0. */
	ck_assert_uint_eq(call(false, PSCI_FN_AFFINITY_INFO, 2, 1ull << 32, 0, &a), 1);
	ck_assert_uint_eq(stub.naffinity, 2);
}
END_TEST

START_TEST(psci_power_actions)
{
	enum psci_action a;

	call(false, PSCI_FN_SYSTEM_OFF, 0, 0, 0, &a);
	ck_assert_int_eq(a, PSCI_ACT_SYSTEM_OFF);
	call(false, PSCI_FN_SYSTEM_RESET, 0, 0, 0, &a);
	ck_assert_int_eq(a, PSCI_ACT_SYSTEM_RESET);
	call(false, PSCI_FN_CPU_OFF, 0, 0, 0, &a);
	ck_assert_int_eq(a, PSCI_ACT_CPU_OFF);
	ck_assert_uint_eq(call(false, PSCI_FN64_CPU_SUSPEND, 0x10000, 0x80000000, 0, &a), 0);
	ck_assert_int_eq(a, PSCI_ACT_SUSPEND);
	ck_assert_uint_eq(call(false, PSCI_FN_CPU_SUSPEND, 0, 0, 0, &a), 0);
	ck_assert_int_eq(a, PSCI_ACT_SUSPEND);
}
END_TEST

START_TEST(psci_features_and_unknown)
{
	enum psci_action a;
	const uint64_t ns = (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED;

	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, PSCI_FN64_CPU_ON, 0, 0, &a), 0);
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, PSCI_FN_SYSTEM_RESET, 0, 0, &a), 0);
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, PSCI_FN_FEATURES, 0, 0, &a), 0);
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, PSCI_FN_CPU_SUSPEND, 0, 0, &a), 0);
	/* Upper bits of the queried id (an SMC32 argument) are ignored. */
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, 0x1c4000003ull, 0, 0, &a), 0);
	ck_assert_uint_eq(call(true, PSCI_FN_FEATURES, PSCI_FN64_CPU_ON, 0, 0, &a), ns);
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, PSCI_FN_MIGRATE, 0, 0, &a), ns);
	ck_assert_uint_eq(call(false, PSCI_FN_FEATURES, 0x80000000, 0, 0, &a), ns);
	/* Unknown ids, PSCI or not. */
	ck_assert_uint_eq(call(false, PSCI_FN_MIGRATE, 0, 0, 0, &a), ns);
	ck_assert_uint_eq(call(false, 0x8400001f, 0, 0, 0, &a), ns);
	ck_assert_uint_eq(call(false, 0x80000000, 0, 0, 0, &a), ns); /* SMCCC_VERSION */
	ck_assert_uint_eq(call(false, 0x82000000, 0, 0, 0, &a), ns); /* SiP */
	ck_assert_int_eq(a, PSCI_ACT_RETURN);
}
END_TEST

static Suite *arm64_suite(void)
{
	Suite *s = suite_create("arm64");
	TCase *tc;

	tc = tcase_create("esr");
	tcase_add_test(tc, esr_dabt_ldr_w);
	tcase_add_test(tc, esr_dabt_strb_xzr);
	tcase_add_test(tc, esr_dabt_ldrsh_x);
	tcase_add_test(tc, esr_dabt_ldar_and_flags);
	tcase_add_test(tc, esr_other_classes);
	tcase_add_test(tc, esr_sysreg);
	tcase_add_test(tc, load_extend_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("ldst");
	tcase_add_loop_test(tc, ldst_decode_forms, 0, sizeof(ldst_cases) / sizeof(ldst_cases[0]));
	tcase_add_test(tc, ldst_decode_refused);
	tcase_add_test(tc, ldst_addresses);
	tcase_add_test(tc, translate_4k);
	tcase_add_test(tc, translate_ttbr1_16k);
	tcase_add_test(tc, translate_txsz_out_of_range);
	tcase_add_test(tc, translate_walk_is_bounded);
	tcase_add_test(tc, translate_smallest_regions);
	tcase_add_test(tc, translate_misaligned_ttbr);
	suite_add_tcase(s, tc);

	tc = tcase_create("sysreg");
	tcase_add_test(tc, sysreg_os_lock_and_debug);
	tcase_add_test(tc, sysreg_pmu_raz_wi);
	tcase_add_test(tc, sysreg_physical_timer);
	tcase_add_test(tc, sysreg_unknown_undef_once);
	tcase_add_test(tc, timer_deadline_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("exception");
	tcase_add_test(tc, inject_dabt_from_el1h);
	tcase_add_test(tc, inject_dabt_from_el0_and_el1t);
	tcase_add_test(tc, inject_iabt);
	suite_add_tcase(s, tc);

	tc = tcase_create("psci");
	tcase_add_test(tc, psci_version_and_upper_bits);
	tcase_add_test(tc, psci_cpu_on_32_and_64);
	tcase_add_test(tc, psci_smc64_ids_only_for_aarch64);
	tcase_add_test(tc, psci_affinity_info);
	tcase_add_test(tc, psci_power_actions);
	tcase_add_test(tc, psci_features_and_unknown);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(arm64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
