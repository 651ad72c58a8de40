/* SPDX-License-Identifier: MIT */
/*
 * core/emul.c through a fake register file: exception entry by register
 * writes (FnV, re-delivered debug exceptions), the debug policy, ISV=0
 * emulation without a FAR (KVM's NISV exit: the access is found by
 * translation), and undoing a host kernel's retirement of an aborted access.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "arm64.h"
#include "core_stubs.h"
#include "emul.h"
#include "vcpu.h"
#include "vm.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define CODE (RAM_BASE + 0x1000)
#define VBAR (RAM_BASE + 0x80000)

static uint64_t regs[ACCEL_NR_REGS];
static unsigned nsets;
static struct vm vm;
static struct vcpu vcpu;
static uint8_t *ram;

static int fake_get(struct vcpu *v, enum accel_reg r, uint64_t *val)
{
	ck_assert_ptr_eq(v, &vcpu);
	ck_assert_uint_lt(r, ACCEL_NR_REGS);
	*val = regs[r];
	return 0;
}

static int fake_set(struct vcpu *v, enum accel_reg r, uint64_t val)
{
	ck_assert_ptr_eq(v, &vcpu);
	ck_assert_uint_lt(r, ACCEL_NR_REGS);
	regs[r] = val;
	nsets++;
	return 0;
}

static const struct accel_ops fake = {
	.name = "fake",
	.reg_get = fake_get,
	.reg_set = fake_set,
};
#define A (&fake)

static void setup(void)
{
	stub_reset();
	memset(regs, 0, sizeof(regs));
	nsets = 0;
	if (!ram)
		ram = calloc(1, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&vm, 0, sizeof(vm));
	memset(&vcpu, 0, sizeof(vcpu));
	vm.ram = (struct guest_ram){ .base = RAM_BASE, .size = RAM_SIZE, .host = ram };
	vcpu.vm = &vm;
	regs[ACCEL_REG_PC] = CODE;
	regs[ACCEL_REG_PSTATE] = ARM64_PSTATE_RESET; /* EL1h */
	regs[ACCEL_REG_VBAR_EL1] = VBAR;
	regs[ACCEL_REG_SCTLR_EL1] = ARM64_SCTLR_RESET; /* MMU off */
}

static void put_insn(uint64_t gpa, uint32_t insn)
{
	memcpy(ram + (gpa - RAM_BASE), &insn, 4);
}

START_TEST(debug_policy)
{
	/* Only a BRK, and only with brk-exit, stops the machine. */
	ck_assert(emul_debug_stops(true, 0xf2000800ull));   /* brk #0x800 (WARN) */
	ck_assert(!emul_debug_stops(false, 0xf2000800ull));
	ck_assert(!emul_debug_stops(true, 0xc2000000ull));  /* breakpoint, lower EL */
	ck_assert(!emul_debug_stops(true, 0xca000022ull));  /* software step */
	ck_assert(!emul_debug_stops(true, 0xd2000040ull));  /* watchpoint */
}
END_TEST

START_TEST(debug_redelivered_at_el1)
{
	/* A watchpoint trapped from EL1: EC 0x34 -> 0x35, FAR = the address. */
	regs[ACCEL_REG_FAR_EL1] = 0x1111;
	ck_assert_int_eq(emul_inject_debug(A, &vcpu, 0xd2000040ull, 0x09000008), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0xd6000040ull);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0x09000008);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE);
	ck_assert_uint_eq(regs[ACCEL_REG_SPSR_EL1], ARM64_PSTATE_RESET);
	ck_assert_uint_eq(regs[ACCEL_REG_PC], VBAR + 0x200);

	/* A BRK from EL0: one class for all ELs, the lower-EL vector, FAR untouched. */
	setup();
	regs[ACCEL_REG_PSTATE] = ARM64_PSTATE_M_EL0T;
	regs[ACCEL_REG_FAR_EL1] = 0x2222;
	ck_assert_int_eq(emul_inject_debug(A, &vcpu, 0xf2000800ull, 0), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0xf2000800ull);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0x2222);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE); /* BRK returns to itself */
	ck_assert_uint_eq(regs[ACCEL_REG_PC], VBAR + 0x400);

	/* A software step from EL0 stays a lower-EL class. */
	setup();
	regs[ACCEL_REG_PSTATE] = ARM64_PSTATE_M_EL0T;
	ck_assert_int_eq(emul_inject_debug(A, &vcpu, 0xca000022ull, 0), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0xca000022ull);

	/* Not a debug class: refused, nothing written. */
	setup();
	ck_assert_int_eq(emul_inject_debug(A, &vcpu, 0x96000010ull, 0), -EINVAL);
	ck_assert_uint_eq(nsets, 0);
}
END_TEST

START_TEST(dabt_without_far_sets_fnv)
{
	ck_assert_int_eq(emul_inject_dabt(A, &vcpu, 0x1234, false, true), 0);
	/* EC 0x25 | IL | FnV | WnR | DFSC 0x10; FAR 0 (UNKNOWN). */
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000450ull);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE);
}
END_TEST

/* KVM's ISV=0 exit: no FAR, only the faulting IPA (here that of the second word). */
START_TEST(nisv_ldp_found_by_translation)
{
	struct emul_mmio m = { 0 };
	struct accel_exit e = { .pc = CODE };

	put_insn(CODE, 0xa9400861); /* ldp x1, x2, [x3] */
	regs[ACCEL_REG_X0 + 3] = 0x09000000;
	ck_assert_int_eq(emul_dabt(A, &vcpu, &m, 0x92000007ull, 0x09000008, 0, false, &e),
			 EMUL_MMIO);
	ck_assert_uint_eq(e.mmio.addr, 0x09000000);
	ck_assert_uint_eq(e.mmio.len, 8);
	e.mmio.data = 0xaaaa;
	ck_assert(emul_mmio_complete(A, &vcpu, &m, &e));
	ck_assert_uint_eq(e.mmio.addr, 0x09000008);
	e.mmio.data = 0xbbbb;
	ck_assert(!emul_mmio_complete(A, &vcpu, &m, &e));
	ck_assert_uint_eq(regs[ACCEL_REG_X0 + 1], 0xaaaa);
	ck_assert_uint_eq(regs[ACCEL_REG_X0 + 2], 0xbbbb);
	ck_assert_uint_eq(regs[ACCEL_REG_PC], CODE + 4);
}
END_TEST

START_TEST(nisv_mismatch_and_fault)
{
	struct emul_mmio m = { 0 };
	struct accel_exit e = { .pc = CODE };

	/* The instruction's access is not where the fault was: abort, FnV. */
	put_insn(CODE, 0xa9400861); /* ldp x1, x2, [x3] */
	regs[ACCEL_REG_X0 + 3] = 0x09000000;
	ck_assert_int_eq(emul_dabt(A, &vcpu, &m, 0x92000007ull, 0x0a000000, 0, false, &e),
			 EMUL_CONTINUE);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000410ull);
	ck_assert_uint_eq(regs[ACCEL_REG_PC], VBAR + 0x200);
	ck_assert_uint_eq(stub_log_count("does not match"), 1);

	/* The second access of a pair faults: the abort names its address. */
	setup();
	put_insn(CODE, 0xa9000861); /* stp x1, x2, [x3] */
	regs[ACCEL_REG_X0 + 3] = 0x09000ff0;
	e = (struct accel_exit){ .pc = CODE };
	ck_assert_int_eq(emul_dabt(A, &vcpu, &m, 0x92000047ull, 0x09000ff0, 0, false, &e),
			 EMUL_MMIO);
	ck_assert(emul_mmio_complete(A, &vcpu, &m, &e));
	e.mmio.fault = true;
	ck_assert(!emul_mmio_complete(A, &vcpu, &m, &e));
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000050ull);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0x09000ff8);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE);
}
END_TEST

/* What a host kernel does when it retires an MMIO load: Rt = data, PC += 4. */
static void retire(unsigned rt, uint64_t data)
{
	regs[ACCEL_REG_X0 + rt] = data;
	regs[ACCEL_REG_PC] += 4;
}

START_TEST(abort_undoes_retirement)
{
	struct emul_abort ab;

	/* ldr w5, [x6, #8], with X5's upper half set: restored whole. */
	put_insn(CODE, 0xb94008c5);
	regs[ACCEL_REG_X0 + 5] = 0x1234567887654321ull;
	regs[ACCEL_REG_X0 + 6] = 0x0f000000;
	emul_abort_prepare(A, &vcpu, 0x0f000008, false, &ab);
	retire(5, 0);
	ck_assert_int_eq(emul_abort_finish(A, &vcpu, &ab), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_X0 + 5], 0x1234567887654321ull);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0x0f000008);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000010ull);
	ck_assert_uint_eq(regs[ACCEL_REG_PC], VBAR + 0x200);

	/* ldar x1, [x2]: not decoded, so FnV; X1 still restored from bits [4:0]. */
	setup();
	put_insn(CODE, 0xc8dffc41);
	regs[ACCEL_REG_X0 + 1] = 77;
	regs[ACCEL_REG_X0 + 2] = 0x0f000000;
	emul_abort_prepare(A, &vcpu, 0x0f000000, false, &ab);
	retire(1, 0);
	ck_assert_int_eq(emul_abort_finish(A, &vcpu, &ab), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_X0 + 1], 77);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000410ull);

	/* A store: registers untouched, WnR. */
	setup();
	put_insn(CODE, 0xf9000041); /* str x1, [x2] */
	regs[ACCEL_REG_X0 + 2] = 0x0f000010;
	emul_abort_prepare(A, &vcpu, 0x0f000010, true, &ab);
	regs[ACCEL_REG_PC] += 4;
	ck_assert_int_eq(emul_abort_finish(A, &vcpu, &ab), 0);
	ck_assert_uint_eq(regs[ACCEL_REG_ESR_EL1], 0x96000050ull);
	ck_assert_uint_eq(regs[ACCEL_REG_FAR_EL1], 0x0f000010);
	ck_assert_uint_eq(regs[ACCEL_REG_ELR_EL1], CODE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("emul");
	TCase *tc = tcase_create("emul");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, debug_policy);
	tcase_add_test(tc, debug_redelivered_at_el1);
	tcase_add_test(tc, dabt_without_far_sets_fnv);
	tcase_add_test(tc, nisv_ldp_found_by_translation);
	tcase_add_test(tc, nisv_mismatch_and_fault);
	tcase_add_test(tc, abort_undoes_retirement);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
