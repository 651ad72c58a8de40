/* SPDX-License-Identifier: MIT */
/*
 * core/accel_hvf.c driven on Linux through the fake Hypervisor.framework in
 * tests/hvf-fake: every exit class, the completion rules, WFI sleeping and
 * waking, the timers, PSCI, and the error messages.  The test thread is the
 * vCPU thread (HVF's rule; the fake counts violations).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mach/mach_time.h>

#include "accel.h"
#include "arm64.h"
#include "core_stubs.h"
#include "hvf_fake.h"
#include "psci.h"
#include "vcpu.h"
#include "vm.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define CODE (RAM_BASE + 0x1000)
#define VBAR (RAM_BASE + 0x80000)

static const struct accel_ops *ops = &accel_hvf_ops;
static struct vm vm;
static struct vcpu vcpus[2];
static uint8_t *ram;
static char err[512];
static struct hvf_fake_event ev[HVF_FAKE_MAX_EVENTS];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Only compared, never used: the stubs stand in for the power module. */
static struct power *const fake_power = (struct power *)0x2000;

static void vm_init(void)
{
	memset(&vm, 0, sizeof(vm));
	memset(vcpus, 0, sizeof(vcpus));
	if (!ram)
		ram = aligned_alloc(RAM_ALIGN, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	vm.ram = (struct guest_ram){ .base = RAM_BASE, .size = RAM_SIZE, .host = ram };
	vm.ncpus = 1;
	vm.vcpus = vcpus;
	for (unsigned i = 0; i < 2; i++) {
		vcpus[i].vm = &vm;
		vcpus[i].power = fake_power;
		vcpus[i].index = i;
		vcpus[i].mpidr = 0x80000000u | i;
	}
}

static void setup(void)
{
	hvf_fake_reset();
	stub_reset();
	vm_init();
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), 0);
	ck_assert_int_eq(ops->vcpu_create(&vcpus[0]), 0);
	ck_assert_int_eq(ops->vcpu_reset(&vcpus[0], CODE, 0x48000000), 0);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_VBAR_EL1, VBAR);
}

static void teardown(void)
{
	ops->vcpu_destroy(&vcpus[0]);
	ops->vm_destroy(&vm);
	/* Every per-vCPU call came from the vCPU's own thread. */
	ck_assert_uint_eq(hvf_fake_wrong_thread(), 0);
	ck_assert(!hvf_fake_vm_exists());
}

static uint64_t reg(hv_reg_t r)
{
	return hvf_fake_reg(0, r);
}

static uint64_t x(unsigned n)
{
	return hvf_fake_reg(0, (hv_reg_t)(HV_REG_X0 + n));
}

static void set_x(unsigned n, uint64_t v)
{
	hvf_fake_set_reg(0, (hv_reg_t)(HV_REG_X0 + n), v);
}

static uint64_t sysreg(uint16_t r)
{
	return hvf_fake_sys_reg(0, r);
}

static void script1(uint64_t esr, uint64_t va, uint64_t pa)
{
	struct hvf_fake_step s = { .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = esr,
				   .va = va, .pa = pa };

	hvf_fake_script(0, &s, 1);
}

static int run(struct accel_exit *e)
{
	return ops->vcpu_run(&vcpus[0], e);
}

static void put_insn(uint64_t gpa, uint32_t insn)
{
	memcpy(ram + (gpa - RAM_BASE), &insn, 4);
}

/* MSR/MRS syndrome: EC 0x18, IL, Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10],
 * Rt [9:5], CRm [4:1], Direction [0]. */
static uint64_t sys_esr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
			unsigned rt, bool read)
{
	return 0x62000000ull | (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) |
	       (crm << 1) | (read ? 1 : 0);
}

/* The guest count as the backend defines it. */
static uint64_t guest_count(void)
{
	return mach_absolute_time() - hvf_fake_vtimer_offset(0);
}

/* ---- MMIO with a valid syndrome ---------------------------------------------- */

START_TEST(mmio_load_sign_extend)
{
	struct accel_exit e = { 0 };

	/* ldrsh x2, [x0]: SAS=1, SSE, SRT=2, SF. */
	script1(0x93628007, 0x09000010, 0x09000010);
	ck_assert_int_eq(run(&e), 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_MMIO);
	ck_assert_uint_eq(e.mmio.addr, 0x09000010);
	ck_assert_uint_eq(e.mmio.len, 2);
	ck_assert(!e.mmio.write);
	ck_assert_uint_eq(e.pc, CODE);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE); /* completion waits for the data */

	e.mmio.data = 0xabcd8001; /* bytes above the access size are ignored */
	ck_assert_int_eq(run(&e), 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE); /* script done: CANCELED */
	ck_assert_uint_eq(x(2), 0xffffffffffff8001ull);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

START_TEST(mmio_load_w_truncation_and_zero_extend)
{
	struct accel_exit e = { 0 };

	/* ldr w1, [x0]: 4 bytes into W1: the upper half of X1 becomes 0. */
	set_x(1, ~0ull);
	script1(0x93810007, 0x09000000, 0x09000000);
	run(&e);
	e.mmio.data = 0x1122334455667788ull;
	run(&e);
	ck_assert_uint_eq(x(1), 0x55667788);

	/* ldrb w3, [x0]: zero-extended, no SSE. */
	set_x(3, ~0ull);
	script1(0x93030007, 0x09000000, 0x09000000);
	run(&e);
	ck_assert_uint_eq(e.mmio.len, 1);
	e.mmio.data = 0xff;
	run(&e);
	ck_assert_uint_eq(x(3), 0xff);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 8);
}
END_TEST

START_TEST(mmio_load_to_xzr)
{
	struct accel_exit e = { 0 };

	/* ldr xzr-form load (SRT=31): discarded; register 31 is not PC. */
	script1(0x939f8007, 0x09000000, 0x09000000);
	run(&e);
	ck_assert_uint_eq(e.mmio.len, 4);
	e.mmio.data = 0xdeadbeef;
	run(&e);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
	ck_assert_uint_eq(hvf_fake_count_reg(HVF_EV_SET_REG, 0, HV_REG_PC), 2); /* reset, step */
}
END_TEST

START_TEST(mmio_store_xzr_and_w)
{
	struct accel_exit e = { 0 };

	/* strb wzr, [x1]: stores 0. */
	set_x(31 - 1, 0x5555); /* X30, to make sure XZR is not read from a register */
	script1(0x931f0047, 0x09000001, 0x09000001);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_MMIO);
	ck_assert(e.mmio.write);
	ck_assert_uint_eq(e.mmio.len, 1);
	ck_assert_uint_eq(e.mmio.data, 0);
	run(&e);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);

	/* str w5, [x0]: the low 4 bytes of X5. */
	set_x(5, 0x1122334455667788ull);
	script1(0x93850047, 0x09000004, 0x09000004);
	run(&e);
	ck_assert(e.mmio.write);
	ck_assert_uint_eq(e.mmio.len, 4);
	ck_assert_uint_eq(e.mmio.data, 0x55667788);
	ck_assert_uint_eq(e.mmio.addr, 0x09000004);
	run(&e);
	ck_assert_uint_eq(x(5), 0x1122334455667788ull);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 8);
}
END_TEST

START_TEST(mmio_uses_ipa_not_far)
{
	struct accel_exit e = { 0 };

	/* With the MMU on, FAR is a kernel VA; the MMIO address is the IPA. */
	script1(0x93810007, 0xffff800008000010ull, 0x09000010);
	run(&e);
	ck_assert_uint_eq(e.mmio.addr, 0x09000010);
}
END_TEST

/* ---- ISV=0 --------------------------------------------------------------------- */

START_TEST(isv0_ldp_two_accesses)
{
	struct accel_exit e = { 0 };

	put_insn(CODE, 0xa9400861); /* ldp x1, x2, [x3] */
	set_x(3, 0x09000000);
	script1(0x92000007, 0x09000000, 0x09000000);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_MMIO);
	ck_assert_uint_eq(e.mmio.addr, 0x09000000);
	ck_assert_uint_eq(e.mmio.len, 8);
	ck_assert(!e.mmio.write);
	e.mmio.data = 0x1111;
	run(&e);
	/* The second access comes without running the guest. */
	ck_assert_int_eq(e.kind, ACCEL_EXIT_MMIO);
	ck_assert_uint_eq(e.mmio.addr, 0x09000008);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_RUN, 0), 1);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE);
	e.mmio.data = 0x2222;
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_eq(x(1), 0x1111);
	ck_assert_uint_eq(x(2), 0x2222);
	ck_assert_uint_eq(x(3), 0x09000000);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

START_TEST(isv0_str_post_index)
{
	struct accel_exit e = { 0 };

	put_insn(CODE, 0xb8004483); /* str w3, [x4], #4 */
	set_x(3, 0xaabbccdd11223344ull);
	set_x(4, 0x09000100);
	script1(0x92000047, 0x09000100, 0x09000100);
	run(&e);
	ck_assert(e.mmio.write);
	ck_assert_uint_eq(e.mmio.len, 4);
	ck_assert_uint_eq(e.mmio.addr, 0x09000100);
	ck_assert_uint_eq(e.mmio.data, 0x11223344);
	ck_assert_uint_eq(x(4), 0x09000100); /* writeback only once it completed */
	run(&e);
	ck_assert_uint_eq(x(4), 0x09000104);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

START_TEST(isv0_stp_pre_index_sp)
{
	struct accel_exit e = { 0 };

	put_insn(CODE, 0xa9bf0be1); /* stp x1, x2, [sp, #-16]! */
	set_x(1, 0x1010);
	set_x(2, 0x2020);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_SP_EL1, 0x09001010); /* EL1h uses SP_EL1 */
	/* FAR names the second doubleword: the backend still starts at the first. */
	script1(0x92000047, 0x09001008, 0x09001008);
	run(&e);
	ck_assert_uint_eq(e.mmio.addr, 0x09001000);
	ck_assert_uint_eq(e.mmio.data, 0x1010);
	run(&e);
	ck_assert_uint_eq(e.mmio.addr, 0x09001008);
	ck_assert_uint_eq(e.mmio.data, 0x2020);
	run(&e);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SP_EL1), 0x09001000);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SP_EL0), 0);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

static void check_abort_injected(uint64_t pc, uint64_t far, bool write)
{
	/* From EL1h: EC 0x25 | IL | (WnR) | DFSC 0x10, vector VBAR + 0x200. */
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ESR_EL1), write ? 0x96000050 : 0x96000010);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_FAR_EL1), far);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ELR_EL1), pc);
	ck_assert_uint_eq(reg(HV_REG_PC), VBAR + 0x200);
}

START_TEST(isv0_cannot_decode_injects_abort)
{
	struct accel_exit e = { 0 };

	put_insn(CODE, 0x3dc00020); /* ldr q0, [x1]: SIMD, not emulated */
	set_x(1, 0x09000000);
	script1(0x92000007, 0x09000000, 0x09000000);
	ck_assert_int_eq(run(&e), 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE); /* never reaches the core */
	check_abort_injected(CODE, 0x09000000, false);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SPSR_EL1), ARM64_PSTATE_RESET);
	ck_assert_uint_eq(reg(HV_REG_CPSR), ARM64_PSTATE_RESET); /* SPAN=1 at reset: no PAN */
	ck_assert_uint_eq(stub_log_count("instruction not emulated"), 1);
	ck_assert(stub.log_flags[0] & AVMM_LOG_GUEST_ERROR);
}
END_TEST

START_TEST(isv0_pc_outside_ram_injects_abort)
{
	struct accel_exit e = { 0 };

	hvf_fake_set_reg(0, HV_REG_PC, 0x1000); /* not RAM: cannot fetch */
	script1(0x92000047, 0x09000000, 0x09000000);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	check_abort_injected(0x1000, 0x09000000, true);
	ck_assert_uint_eq(stub_log_count("cannot fetch"), 1);
}
END_TEST

START_TEST(core_requested_fault)
{
	struct accel_exit e = { 0 };

	hvf_fake_set_reg(0, HV_REG_CPSR, 0x600003c5); /* Z, C set */
	set_x(7, 0x77);
	/* str x7, [x0] (SAS=3, SRT=7, SF, WnR) to a kernel VA mapping an unclaimed IPA. */
	script1(0x93c78047, 0xffff000009000010ull, 0x0a000010);
	run(&e);
	ck_assert(e.mmio.write);
	ck_assert_uint_eq(e.mmio.data, 0x77);
	e.mmio.fault = true; /* nothing there */
	run(&e);
	check_abort_injected(CODE, 0xffff000009000010ull, true);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SPSR_EL1), 0x600003c5);
	ck_assert_uint_eq(reg(HV_REG_CPSR), 0x600003c5);
	ck_assert_uint_eq(x(7), 0x77);
}
END_TEST

/* ---- system registers ---------------------------------------------------------- */

struct sr_case {
	unsigned op0, op1, crn, crm, op2;
	uint64_t write, expect; /* value read back after writing `write` */
};

START_TEST(sysreg_table_entries)
{
	static const struct sr_case cases[] = {
		{ 2, 0, 1, 3, 4, 3, 1 },             /* OSDLR_EL1: DLK only */
		{ 2, 0, 0, 2, 2, 0x8000, 0x8000 },   /* MDSCR_EL1 */
		{ 2, 0, 0, 2, 0, 0x5, 0x5 },         /* MDCCINT_EL1 */
		{ 2, 0, 0, 6, 2, 0x9, 0x9 },         /* OSECCR_EL1 */
		{ 2, 0, 0, 0, 4, 0x1234, 0 },        /* DBGBVR0_EL1 */
		{ 2, 0, 0, 5, 7, 0x1234, 0 },        /* DBGWCR5_EL1 */
		{ 3, 3, 9, 12, 0, 0x41, 0 },         /* PMCR_EL0 */
		{ 3, 3, 9, 13, 0, 0x41, 0 },         /* PMCCNTR_EL0 */
		{ 3, 3, 9, 14, 0, 0x1, 0 },          /* PMUSERENR_EL0 */
		{ 3, 0, 9, 14, 1, 0x1, 0 },          /* PMINTENSET_EL1 */
		{ 3, 3, 14, 15, 7, 0x1, 0 },         /* PMCCFILTR_EL0 */
		{ 3, 3, 14, 2, 2, ~0ull, ~0ull },    /* CNTP_CVAL_EL0 (far future) */
		{ 3, 3, 14, 2, 1, 3, 3 },            /* CNTP_CTL_EL0: ENABLE|IMASK, not yet */
	};
	struct hvf_fake_step steps[2 * sizeof(cases) / sizeof(cases[0])];
	struct accel_exit e = { 0 };
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct sr_case *c = &cases[i];

		steps[2 * i] = (struct hvf_fake_step){
			.reason = HV_EXIT_REASON_EXCEPTION,
			.syndrome = sys_esr(c->op0, c->op1, c->crn, c->crm, c->op2, 4, false) };
		steps[2 * i + 1] = (struct hvf_fake_step){
			.reason = HV_EXIT_REASON_EXCEPTION,
			.syndrome = sys_esr(c->op0, c->op1, c->crn, c->crm, c->op2, 5, true) };
	}
	for (size_t i = 0; i < n; i++) {
		hvf_fake_script(0, &steps[2 * i], 2);
		set_x(4, cases[i].write);
		set_x(5, 0xbad);
		ck_assert_int_eq(run(&e), 0);
		ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
		ck_assert_msg(x(5) == cases[i].expect, "case %zu: read %llx", i,
			      (unsigned long long)x(5));
		ck_assert_uint_eq(reg(HV_REG_PC), CODE + 8 * (i + 1));
	}
	ck_assert_uint_eq(stub.nlog, 0);
}
END_TEST

START_TEST(sysreg_os_lock_and_counter)
{
	struct hvf_fake_step steps[] = {
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(2, 0, 1, 0, 4, 31, false) }, /* OSLAR = xzr */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(2, 0, 1, 1, 4, 3, true) },   /* x3 = OSLSR */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(2, 0, 1, 0, 4, 6, false) },  /* OSLAR = x6 */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(2, 0, 1, 1, 4, 7, true) },   /* x7 = OSLSR */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(3, 3, 14, 0, 1, 8, true) },  /* x8 = CNTPCT */
	};
	struct accel_exit e = { 0 };
	uint64_t before, after;

	set_x(6, 1);
	hvf_fake_script(0, steps, 5);
	before = guest_count();
	run(&e);
	after = guest_count();
	ck_assert_uint_eq(x(3), 0x8);
	ck_assert_uint_eq(x(7), 0xa);
	ck_assert_uint_ge(x(8), before);
	ck_assert_uint_le(x(8), after);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 20);
}
END_TEST

START_TEST(sysreg_unknown_undef_logged_once)
{
	struct hvf_fake_step steps[] = {
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(3, 0, 12, 12, 5, 0, true) }, /* ICC_SRE_EL1 */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(3, 0, 12, 12, 5, 0, true) },
	};
	struct accel_exit e = { 0 };

	hvf_fake_set_sys_reg(0, HV_SYS_REG_FAR_EL1, 0x4242);
	hvf_fake_script(0, steps, 2);
	run(&e);
	/* UNDEF: EC 0, IL; PC unchanged in ELR; FAR untouched. */
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ESR_EL1), 0x02000000);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ELR_EL1), VBAR + 0x200); /* second one: from the vector */
	ck_assert_uint_eq(sysreg(HV_SYS_REG_FAR_EL1), 0x4242);
	ck_assert_uint_eq(reg(HV_REG_PC), VBAR + 0x200);
	ck_assert_uint_eq(stub_log_count("S3_0_C12_C12_5"), 1);
	ck_assert(stub.log_flags[0] & AVMM_LOG_UNIMP);
}
END_TEST

START_TEST(sysreg_undef_keeps_pc)
{
	struct accel_exit e = { 0 };

	script1(sys_esr(3, 7, 15, 2, 0, 0, false), 0, 0); /* IMPDEF S3_7_C15_C2_0 */
	run(&e);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ELR_EL1), CODE);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ESR_EL1), 0x02000000);
	ck_assert_uint_eq(reg(HV_REG_PC), VBAR + 0x200);
}
END_TEST

/* ---- HVC / SMC: PSCI ------------------------------------------------------------- */

#define HVC_ESR 0x5a000000ull
#define SMC_ESR 0x5e000000ull

static struct accel_exit call(uint64_t esr, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
	struct accel_exit e = { 0 };

	set_x(0, x0);
	set_x(1, x1);
	set_x(2, x2);
	set_x(3, x3);
	script1(esr, 0, 0);
	ck_assert_int_eq(run(&e), 0);
	return e;
}

START_TEST(hvc_vs_smc_pc)
{
	/* HVC: HVF already advanced PC. */
	call(HVC_ESR, PSCI_FN_VERSION, 0, 0, 0);
	ck_assert_uint_eq(x(0), PSCI_VERSION_1_0);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE);
	/* SMC: PC += 4. */
	call(SMC_ESR, PSCI_FN_VERSION, 0, 0, 0);
	ck_assert_uint_eq(x(0), PSCI_VERSION_1_0);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

START_TEST(psci_cpu_on_reaches_core)
{
	call(HVC_ESR, PSCI_FN64_CPU_ON, 1, RAM_BASE + 0x2000, 0x5555aaaa5555aaaaull);
	ck_assert_uint_eq(stub.ncpu_on, 1);
	ck_assert_ptr_eq(stub.cpu_on[0].power, fake_power);
	ck_assert_uint_eq(stub.cpu_on[0].mpidr, 1);
	ck_assert_uint_eq(stub.cpu_on[0].entry, RAM_BASE + 0x2000);
	ck_assert_uint_eq(stub.cpu_on[0].context, 0x5555aaaa5555aaaaull);
	ck_assert_uint_eq(x(0), 0);

	stub.cpu_on_result = PSCI_RET_INVALID_PARAMS;
	call(SMC_ESR, PSCI_FN_CPU_ON, 7, RAM_BASE, 0);
	ck_assert_uint_eq(x(0), (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS);

	stub.affinity_result = PSCI_AFFINITY_ON_PENDING;
	call(HVC_ESR, PSCI_FN64_AFFINITY_INFO, 1, 0, 0);
	ck_assert_uint_eq(x(0), PSCI_AFFINITY_ON_PENDING);
}
END_TEST

START_TEST(psci_power_exits)
{
	struct accel_exit e;

	e = call(HVC_ESR, PSCI_FN_SYSTEM_OFF, 0, 0, 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_SHUTDOWN);
	e = call(SMC_ESR, PSCI_FN_SYSTEM_RESET, 0, 0, 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_RESET);
	e = call(HVC_ESR, PSCI_FN_CPU_OFF, 0, 0, 0);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_CPU_OFF);
}
END_TEST

START_TEST(psci_features_unknown_migrate)
{
	call(HVC_ESR, PSCI_FN_FEATURES, PSCI_FN64_CPU_ON, 0, 0);
	ck_assert_uint_eq(x(0), 0);
	call(HVC_ESR, PSCI_FN_FEATURES, 0x84000012, 0, 0);
	ck_assert_uint_eq(x(0), ~0ull); /* NOT_SUPPORTED, sign-extended */
	call(HVC_ESR, 0x8400001f, 0, 0, 0);
	ck_assert_uint_eq(x(0), ~0ull);
	call(HVC_ESR, PSCI_FN_MIGRATE_INFO_TYPE, 0, 0, 0);
	ck_assert_uint_eq(x(0), 2);
}
END_TEST

START_TEST(psci_cpu_suspend_returns_with_irq)
{
	ops->vcpu_set_irq(&vcpus[0], true); /* pending: standby ends at once */
	call(HVC_ESR, PSCI_FN64_CPU_SUSPEND, 0, 0, 0);
	ck_assert_uint_eq(x(0), 0);
}
END_TEST

/* ---- WFI ------------------------------------------------------------------------- */

#define WFI_ESR 0x06000000ull

START_TEST(wfi_with_pending_irq_returns_at_once)
{
	struct accel_exit e = { 0 };
	uint64_t t0;

	ops->vcpu_set_irq(&vcpus[0], true);
	/* On the vCPU's own thread: no self-exit needed, it is applied before run. */
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 0), 0);
	script1(WFI_ESR, 0, 0);
	t0 = now_ns();
	run(&e);
	ck_assert_uint_lt(now_ns() - t0, 50000000u);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
	/* Both runs (the WFI, then the CANCELED at script end) had the IRQ pending. */
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_RUN, 0), 2);
	{
		size_t n = hvf_fake_events(ev, HVF_FAKE_MAX_EVENTS);
		unsigned runs = 0;

		for (size_t i = 0; i < n; i++)
			if (ev[i].type == HVF_EV_RUN) {
				ck_assert_uint_eq(ev[i].value, 1);
				runs++;
			}
		ck_assert_uint_eq(runs, 2);
	}
}
END_TEST

struct later {
	int what; /* 0 kick, 1 irq */
	unsigned delay_ms;
};

static void *later_main(void *arg)
{
	struct later *l = arg;

	usleep(l->delay_ms * 1000);
	if (l->what == 0)
		ops->vcpu_kick(&vcpus[0]);
	else
		ops->vcpu_set_irq(&vcpus[0], true);
	return NULL;
}

START_TEST(wfi_sleeps_until_kick)
{
	struct accel_exit e = { 0 };
	struct later l = { 0, 100 };
	pthread_t t;
	unsigned long calls;
	uint64_t t0, dt, cpu0, cpu;

	script1(WFI_ESR, 0, 0); /* timer disabled: no deadline */
	pthread_create(&t, NULL, later_main, &l);
	calls = hvf_fake_calls();
	t0 = now_ns();
	cpu0 = thread_cpu_ns();
	run(&e);
	cpu = thread_cpu_ns() - cpu0;
	dt = now_ns() - t0;
	pthread_join(t, NULL);
	/* An idle vCPU thread costs (almost) no host CPU. */
	ck_assert_msg(cpu < 5000000u, "%llu ns of CPU in a 100 ms WFI", (unsigned long long)cpu);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_ge(dt, 90000000u);
	ck_assert_uint_lt(dt, 2000000000u);
	/* Asleep, not polling: a handful of hv calls for 100 ms. */
	ck_assert_uint_lt(hvf_fake_calls() - calls, 40);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 0), 1);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);
}
END_TEST

START_TEST(wfi_wakes_on_irq_from_another_thread)
{
	struct accel_exit e = { 0 };
	struct later l = { 1, 80 };
	pthread_t t;
	uint64_t t0, dt;
	size_t n;

	script1(WFI_ESR, 0, 0);
	pthread_create(&t, NULL, later_main, &l);
	t0 = now_ns();
	run(&e);
	dt = now_ns() - t0;
	pthread_join(t, NULL);
	ck_assert_uint_ge(dt, 70000000u);
	ck_assert_uint_lt(dt, 2000000000u);
	/* set_irq from another thread forces an exit... */
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 0), 1);
	/* ...and the run after the wake has the IRQ pending. */
	n = hvf_fake_events(ev, HVF_FAKE_MAX_EVENTS);
	for (size_t i = n; i-- > 0;)
		if (ev[i].type == HVF_EV_RUN) {
			ck_assert_uint_eq(ev[i].value, 1);
			break;
		}
}
END_TEST

static void guest_arm_vtimer(hv_vcpu_t id, void *arg)
{
	uint64_t ticks = *(uint64_t *)arg;

	hvf_fake_set_sys_reg((unsigned)id, HV_SYS_REG_CNTV_CVAL_EL0, guest_count() + ticks);
	hvf_fake_set_sys_reg((unsigned)id, HV_SYS_REG_CNTV_CTL_EL0, ARM64_CNT_CTL_ENABLE);
}

START_TEST(wfi_wakes_at_vtimer_deadline)
{
	static uint64_t ticks = 24000 * 60; /* 60 ms at 24 MHz */
	struct hvf_fake_step s = { .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = WFI_ESR,
				   .guest = guest_arm_vtimer, .arg = &ticks };
	struct accel_exit e = { 0 };
	unsigned long calls;
	uint64_t t0, dt;

	hvf_fake_script(0, &s, 1);
	calls = hvf_fake_calls();
	t0 = now_ns();
	run(&e);
	dt = now_ns() - t0;
	ck_assert_uint_ge(dt, 59000000u);
	ck_assert_uint_lt(dt, 1000000000u);
	ck_assert_uint_lt(hvf_fake_calls() - calls, 40);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
}
END_TEST

START_TEST(wfi_masked_or_fired_timer_no_deadline)
{
	struct accel_exit e = { 0 };
	struct later l = { 0, 60 };
	pthread_t t;
	uint64_t t0, dt;

	/* Due in 1 ms but masked: only the kick at 60 ms ends the sleep. */
	hvf_fake_set_sys_reg(0, HV_SYS_REG_CNTV_CVAL_EL0, guest_count() + 24000);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_CNTV_CTL_EL0, ARM64_CNT_CTL_ENABLE | ARM64_CNT_CTL_IMASK);
	script1(WFI_ESR, 0, 0);
	pthread_create(&t, NULL, later_main, &l);
	t0 = now_ns();
	run(&e);
	dt = now_ns() - t0;
	pthread_join(t, NULL);
	ck_assert_uint_ge(dt, 50000000u);

	/* Enabled, unmasked and already due, not yet reported by HVF: do not sleep. */
	hvf_fake_set_sys_reg(0, HV_SYS_REG_CNTV_CVAL_EL0, 0);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_CNTV_CTL_EL0, ARM64_CNT_CTL_ENABLE);
	script1(WFI_ESR, 0, 0);
	t0 = now_ns();
	run(&e); /* the latched kick returns first */
	run(&e);
	ck_assert_uint_lt(now_ns() - t0, 50000000u);
}
END_TEST

/* ---- timers ---------------------------------------------------------------------- */

static void guest_vtimer_fired(hv_vcpu_t id, void *arg)
{
	hvf_fake_set_sys_reg((unsigned)id, HV_SYS_REG_CNTV_CTL_EL0,
			     ARM64_CNT_CTL_ENABLE | ARM64_CNT_CTL_ISTATUS);
}

static void guest_vtimer_acked(hv_vcpu_t id, void *arg)
{
	/* The guest's handler masked the timer. */
	hvf_fake_set_sys_reg((unsigned)id, HV_SYS_REG_CNTV_CTL_EL0,
			     ARM64_CNT_CTL_ENABLE | ARM64_CNT_CTL_IMASK | ARM64_CNT_CTL_ISTATUS);
}

START_TEST(vtimer_activated_and_unmask)
{
	struct hvf_fake_step fire[] = {
		{ .reason = HV_EXIT_REASON_VTIMER_ACTIVATED, .syndrome = 0, .guest = guest_vtimer_fired, .arg = NULL },
		{ .reason = HV_EXIT_REASON_CANCELED },
	};
	struct hvf_fake_step ack[] = {
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = HVC_ESR, .guest = guest_vtimer_acked, .arg = NULL },
	};
	struct accel_exit e = { 0 };

	hvf_fake_script(0, fire, 2);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_VIRT, true), 1);
	ck_assert_uint_eq(stub.timer[0].cpu, 0);
	/* Still asserted: stays masked (HVF masked it), no unmask yet. */
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_VIRT, false), 0);
	ck_assert(hvf_fake_vtimer_masked(0));
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VTIMER_MASK, 0), 0);

	/* Any later exit after the guest masked it: line low, timer unmasked. */
	set_x(0, PSCI_FN_VERSION);
	hvf_fake_script(0, ack, 1);
	run(&e);
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_VIRT, false), 1);
	ck_assert(!hvf_fake_vtimer_masked(0));
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VTIMER_MASK, 0), 1);
}
END_TEST

START_TEST(wfi_after_vtimer_rearm)
{
	static uint64_t ticks = 24000 * 50; /* 50 ms */
	struct hvf_fake_step steps[] = {
		{ .reason = HV_EXIT_REASON_VTIMER_ACTIVATED, .guest = guest_vtimer_fired },
		/* The handler set a new CVAL (no exit for that), then WFI. */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = WFI_ESR, .guest = guest_arm_vtimer,
		  .arg = &ticks },
	};
	struct accel_exit e = { 0 };
	uint64_t t0, dt;

	hvf_fake_script(0, steps, 2);
	t0 = now_ns();
	run(&e);
	dt = now_ns() - t0;
	/* The timer was unmasked and its new deadline ended the sleep. */
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_VIRT, true), 1);
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_VIRT, false), 1);
	ck_assert(!hvf_fake_vtimer_masked(0));
	ck_assert_uint_ge(dt, 49000000u);
	ck_assert_uint_lt(dt, 1000000000u);
}
END_TEST

START_TEST(ptimer_fires_through_watchdog)
{
	struct hvf_fake_step steps[] = {
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(3, 3, 14, 2, 0, 1, false) }, /* TVAL = x1 */
		{ .reason = HV_EXIT_REASON_EXCEPTION, .syndrome = sys_esr(3, 3, 14, 2, 1, 2, false) }, /* CTL = x2 */
	};
	struct accel_exit e = { 0 };
	uint64_t t0 = now_ns();

	set_x(1, 24000 * 40); /* 40 ms */
	set_x(2, ARM64_CNT_CTL_ENABLE);
	hvf_fake_script(0, steps, 2);
	run(&e);
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_PHYS, true), 0);
	/* The watchdog thread exits the vCPU at the deadline. */
	while (!hvf_fake_count(HVF_EV_VCPUS_EXIT, 0) && now_ns() - t0 < 2000000000u)
		usleep(1000);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 0), 1);
	ck_assert_uint_ge(now_ns() - t0, 39000000u);
	run(&e); /* CANCELED by the watchdog; the level is sampled after it */
	ck_assert_uint_eq(stub_timer_count(AVMM_CPU_TIMER_PHYS, true), 1);
}
END_TEST

/* ---- other exits ----------------------------------------------------------------- */

START_TEST(canceled_and_kick)
{
	struct hvf_fake_step s = { .reason = HV_EXIT_REASON_CANCELED };
	struct accel_exit e = { 0 };

	hvf_fake_script(0, &s, 1);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_eq(hvf_fake_steps_done(0), 1);

	/* A kick before run: the next run returns at once, script untouched. */
	script1(HVC_ESR, 0, 0);
	ops->vcpu_kick(&vcpus[0]);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_NONE);
	ck_assert_uint_eq(hvf_fake_steps_done(0), 0);
}
END_TEST

/* The value of the last hv_vcpu_set_trap_debug_exceptions on vCPU 0; -1 if none. */
static int trap_debug_value(void)
{
	size_t n = hvf_fake_events(ev, HVF_FAKE_MAX_EVENTS);
	int v = -1;

	for (size_t i = 0; i < n; i++)
		if (ev[i].type == HVF_EV_TRAP_DEBUG && ev[i].vcpu == 0)
			v = (int)ev[i].value;
	return v;
}

/* vCPU 0 again, created under the current stub.brk_exit. */
static void recreate_vcpu0(void)
{
	ops->vcpu_destroy(&vcpus[0]);
	ops->vm_destroy(&vm);
	hvf_fake_reset();
	vm_init();
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), 0);
	ck_assert_int_eq(ops->vcpu_create(&vcpus[0]), 0);
	ck_assert_int_eq(ops->vcpu_reset(&vcpus[0], CODE, 0x48000000), 0);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_VBAR_EL1, VBAR);
}

START_TEST(debug_not_trapped_by_default)
{
	/* A machine without brk-exit (every Linux guest): the guest's own BRK
	 * (WARN, BUG, a debugger) and other debug exceptions stay in the guest. */
	ck_assert_int_eq(trap_debug_value(), 0);
}
END_TEST

START_TEST(brk_debug_exit)
{
	struct accel_exit e = { 0 };

	stub.brk_exit = true;
	recreate_vcpu0();
	ck_assert_int_eq(trap_debug_value(), 1);
	hvf_fake_set_reg(0, HV_REG_PC, CODE + 0x40);
	script1(0xf20003e8, 0, 0); /* brk #0x3e8 */
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_DEBUG);
	ck_assert_uint_eq(e.esr, 0xf20003e8);
	ck_assert_uint_eq(e.pc, CODE + 0x40);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 0x40);

	/* A watchpoint caught by the same trap reaches the core with its address. */
	script1(0xd2000040, 0x09000010, 0x09000010);
	run(&e);
	ck_assert_int_eq(e.kind, ACCEL_EXIT_DEBUG);
	ck_assert_uint_eq(e.esr, 0xd2000040);
	ck_assert_uint_eq(e.far, 0x09000010);
}
END_TEST

START_TEST(wfe_and_insn_abort)
{
	struct accel_exit e = { 0 };

	script1(0x06000001, 0, 0); /* WFE: step over, no sleep */
	run(&e);
	ck_assert_uint_eq(reg(HV_REG_PC), CODE + 4);

	/* Instruction fetch from an unmapped IPA: EC 0x20 -> external instruction abort. */
	hvf_fake_set_reg(0, HV_REG_PC, 0x0a000000);
	script1(0x82000007, 0x0a000000, 0x0a000000);
	run(&e);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ESR_EL1), 0x86000010);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ELR_EL1), 0x0a000000);
	ck_assert_uint_eq(reg(HV_REG_PC), VBAR + 0x200);
}
END_TEST

/* ---- lifecycle ------------------------------------------------------------------- */

START_TEST(vcpu_create_and_reset_state)
{
	struct accel_regs r;

	ck_assert_uint_eq(sysreg(HV_SYS_REG_MPIDR_EL1), 0x80000000u);
	/* A GICv2 machine: the GICv3 CPU interface (PFR0.GIC, bits 27:24) hidden,
	 * every other field as the host has it. */
	ck_assert_uint_eq(sysreg(HV_SYS_REG_ID_AA64PFR0_EL1),
			  HVF_FAKE_ID_AA64PFR0 & ~(UINT64_C(0xf) << 24));
	ck_assert_uint_eq(reg(HV_REG_PC), CODE);
	ck_assert_uint_eq(x(0), 0x48000000);
	ck_assert_uint_eq(reg(HV_REG_CPSR), 0x3c5);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SCTLR_EL1) & ARM64_SCTLR_M, 0);

	/* CPU_ON'd again later: registers cleared, x0 = context. */
	set_x(5, 55);
	hvf_fake_set_reg(0, HV_REG_CPSR, 0x80000004);
	hvf_fake_set_sys_reg(0, HV_SYS_REG_SCTLR_EL1, 0x30d0180d);
	ck_assert_int_eq(ops->vcpu_reset(&vcpus[0], RAM_BASE + 0x3000, 0x99), 0);
	ck_assert_uint_eq(x(5), 0);
	ck_assert_uint_eq(x(0), 0x99);
	ck_assert_uint_eq(reg(HV_REG_CPSR), 0x3c5);
	ck_assert_uint_eq(sysreg(HV_SYS_REG_SCTLR_EL1), ARM64_SCTLR_RESET);

	hvf_fake_set_sys_reg(0, HV_SYS_REG_SP_EL1, 0x4000f000);
	ck_assert_int_eq(ops->vcpu_get_regs(&vcpus[0], &r), 0);
	ck_assert_uint_eq(r.pc, RAM_BASE + 0x3000);
	ck_assert_uint_eq(r.x[0], 0x99);
	ck_assert_uint_eq(r.sp, 0x4000f000);
	ck_assert_uint_eq(r.pstate, 0x3c5);
}
END_TEST

static void *second_vcpu(void *arg)
{
	/* vcpu_create runs on its own thread, as the core does. */
	return (void *)(intptr_t)ops->vcpu_create(&vcpus[1]);
}

static void *second_vcpu_destroy(void *arg)
{
	ops->vcpu_destroy(&vcpus[1]);
	return NULL;
}

START_TEST(same_vtimer_offset_everywhere)
{
	pthread_t t;
	void *rc;

	vm.ncpus = 2;
	pthread_create(&t, NULL, second_vcpu, NULL);
	pthread_join(t, &rc);
	ck_assert_int_eq((intptr_t)rc, 0);
	ck_assert_uint_eq(hvf_fake_vcpus_created(), 2);
	ck_assert_uint_ne(hvf_fake_vtimer_offset(0), 0);
	ck_assert_uint_eq(hvf_fake_vtimer_offset(0), hvf_fake_vtimer_offset(1));
	ck_assert_uint_eq(hvf_fake_sys_reg(1, HV_SYS_REG_MPIDR_EL1), 0x80000001u);

	/* set_irq from a non-vCPU thread exits that vCPU, and only that one. */
	ops->vcpu_set_irq(&vcpus[1], true);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 1), 1);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 0), 0);
	ops->vcpu_set_irq(&vcpus[1], true); /* no change: nothing to do */
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 1), 1);
	ops->vcpu_set_irq(&vcpus[1], false);
	ck_assert_uint_eq(hvf_fake_count(HVF_EV_VCPUS_EXIT, 1), 2);

	pthread_create(&t, NULL, second_vcpu_destroy, NULL);
	pthread_join(t, NULL);
}
END_TEST

START_TEST(ram_map_alignment)
{
	struct hvf_fake_map m;

	ck_assert_int_eq(ops->ram_map(&vm, RAM_BASE + 0x1000, ram, RAM_SIZE), -EINVAL);
	ck_assert_int_eq(ops->ram_map(&vm, RAM_BASE, ram + 0x1000, RAM_SIZE - 0x4000), -EINVAL);
	ck_assert_int_eq(ops->ram_map(&vm, RAM_BASE, ram, RAM_SIZE - 0x1000), -EINVAL);
	ck_assert_uint_eq(hvf_fake_maps(NULL), 0);
	ck_assert_uint_eq(stub_log_count("16 KiB"), 3);
	ck_assert_int_eq(ops->ram_map(&vm, RAM_BASE, ram, RAM_SIZE), 0);
	ck_assert_uint_eq(hvf_fake_maps(&m), 1);
	ck_assert_ptr_eq(m.addr, ram);
	ck_assert_uint_eq(m.ipa, RAM_BASE);
	ck_assert_uint_eq(m.size, RAM_SIZE);
	ck_assert_uint_eq(m.flags, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
}
END_TEST

/* ---- VM creation, no fixture ------------------------------------------------------ */

START_TEST(hv_denied_message)
{
	hvf_fake_reset();
	vm_init();
	hvf_fake_set_vm_create_result(HV_DENIED);
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "HV_DENIED"));
	ck_assert_ptr_nonnull(strstr(err, "com.apple.security.hypervisor"));
	ck_assert_ptr_nonnull(strstr(err, "codesign --entitlements entitlements.plist --force -s - avmm"));
	ck_assert_ptr_null(vm.accel_state);
	ck_assert_uint_eq(hvf_fake_configs_live(), 0);

	err[0] = 0;
	ck_assert_int_eq(ops->probe(err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "codesign"));
}
END_TEST

START_TEST(hv_unsupported_message)
{
	hvf_fake_reset();
	vm_init();
	hvf_fake_set_vm_create_result(HV_UNSUPPORTED);
	ck_assert_int_eq(ops->probe(err, sizeof(err)), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err, "HV_UNSUPPORTED"));
	ck_assert_ptr_nonnull(strstr(err, "nested virtualization"));
	ck_assert_ptr_nonnull(strstr(err, "Intel"));

	/* A working host: probe leaves no VM behind. */
	hvf_fake_set_vm_create_result(HV_SUCCESS);
	ck_assert_int_eq(ops->probe(err, sizeof(err)), 0);
	ck_assert(!hvf_fake_vm_exists());
}
END_TEST

START_TEST(ipa_size_config)
{
	hvf_fake_reset();
	vm_init();
	/* 1 MiB at 1 GiB: the default (36 bits) is plenty. */
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), 0);
	ck_assert_uint_eq(hvf_fake_vm_ipa_bits(), 36);
	ck_assert_uint_eq(hvf_fake_configs_live(), 0);
	ops->vm_destroy(&vm);

	/* RAM ending at 2^39 + 16 KiB needs 40 bits. */
	vm.ram.base = 1ull << 39;
	vm.ram.size = 0x4000;
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), 0);
	ck_assert_uint_eq(hvf_fake_vm_ipa_bits(), 40);
	ops->vm_destroy(&vm);

	/* More than the host's maximum: a clear error, no VM. */
	vm.ram.base = 1ull << 41;
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), -ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "42-bit"));
	ck_assert(!hvf_fake_vm_exists());
	ck_assert_uint_eq(hvf_fake_configs_live(), 0);

	/* No config API (macOS < 13): NULL config. */
	vm.ram.base = RAM_BASE;
	hvf_fake_set_vm_config(0, 36, 40);
	ck_assert_int_eq(ops->vm_create(&vm, err, sizeof(err)), 0);
	ck_assert(hvf_fake_vm_exists());
	ck_assert_uint_eq(hvf_fake_vm_ipa_bits(), 0);
	ops->vm_destroy(&vm);
}
END_TEST

static Suite *hvf_suite(void)
{
	Suite *s = suite_create("hvf");
	TCase *tc;

	tc = tcase_create("exits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, mmio_load_sign_extend);
	tcase_add_test(tc, mmio_load_w_truncation_and_zero_extend);
	tcase_add_test(tc, mmio_load_to_xzr);
	tcase_add_test(tc, mmio_store_xzr_and_w);
	tcase_add_test(tc, mmio_uses_ipa_not_far);
	tcase_add_test(tc, isv0_ldp_two_accesses);
	tcase_add_test(tc, isv0_str_post_index);
	tcase_add_test(tc, isv0_stp_pre_index_sp);
	tcase_add_test(tc, isv0_cannot_decode_injects_abort);
	tcase_add_test(tc, isv0_pc_outside_ram_injects_abort);
	tcase_add_test(tc, core_requested_fault);
	tcase_add_test(tc, sysreg_table_entries);
	tcase_add_test(tc, sysreg_os_lock_and_counter);
	tcase_add_test(tc, sysreg_unknown_undef_logged_once);
	tcase_add_test(tc, sysreg_undef_keeps_pc);
	tcase_add_test(tc, hvc_vs_smc_pc);
	tcase_add_test(tc, psci_cpu_on_reaches_core);
	tcase_add_test(tc, psci_power_exits);
	tcase_add_test(tc, psci_features_unknown_migrate);
	tcase_add_test(tc, psci_cpu_suspend_returns_with_irq);
	tcase_add_test(tc, wfi_with_pending_irq_returns_at_once);
	tcase_add_test(tc, wfi_sleeps_until_kick);
	tcase_add_test(tc, wfi_wakes_on_irq_from_another_thread);
	tcase_add_test(tc, wfi_wakes_at_vtimer_deadline);
	tcase_add_test(tc, wfi_masked_or_fired_timer_no_deadline);
	tcase_add_test(tc, vtimer_activated_and_unmask);
	tcase_add_test(tc, wfi_after_vtimer_rearm);
	tcase_add_test(tc, ptimer_fires_through_watchdog);
	tcase_add_test(tc, canceled_and_kick);
	tcase_add_test(tc, debug_not_trapped_by_default);
	tcase_add_test(tc, brk_debug_exit);
	tcase_add_test(tc, wfe_and_insn_abort);
	tcase_add_test(tc, vcpu_create_and_reset_state);
	tcase_add_test(tc, same_vtimer_offset_everywhere);
	tcase_add_test(tc, ram_map_alignment);
	suite_add_tcase(s, tc);

	tc = tcase_create("vm");
	tcase_add_test(tc, hv_denied_message);
	tcase_add_test(tc, hv_unsupported_message);
	tcase_add_test(tc, ipa_size_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hvf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
