/* SPDX-License-Identifier: MIT */
/*
 * PSCI 1.0 constants (Arm DEN0022) and the userspace implementation, for
 * backends whose kernel has none (HVF): decoding a call and answering it,
 * with CPU_ON, CPU_OFF and AFFINITY_INFO handed to the power module below.
 */
#ifndef AVMM_CORE_PSCI_H
#define AVMM_CORE_PSCI_H

#include <stdbool.h>
#include <stdint.h>

#define PSCI_0_2_FN_BASE 0x84000000u
#define PSCI_0_2_FN64_BASE 0xc4000000u
#define PSCI_FN_VERSION 0x84000000u
#define PSCI_FN_CPU_SUSPEND 0x84000001u
#define PSCI_FN_CPU_OFF 0x84000002u
#define PSCI_FN_CPU_ON 0x84000003u
#define PSCI_FN_AFFINITY_INFO 0x84000004u
#define PSCI_FN_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_FN_SYSTEM_OFF 0x84000008u
#define PSCI_FN_SYSTEM_RESET 0x84000009u
#define PSCI_FN_FEATURES 0x8400000au
#define PSCI_FN64_CPU_SUSPEND 0xc4000001u
#define PSCI_FN64_CPU_ON 0xc4000003u
#define PSCI_FN64_AFFINITY_INFO 0xc4000004u

#define PSCI_RET_SUCCESS 0
#define PSCI_RET_NOT_SUPPORTED (-1)
#define PSCI_RET_INVALID_PARAMS (-2)
#define PSCI_RET_DENIED (-3)
#define PSCI_RET_ALREADY_ON (-4)
#define PSCI_RET_ON_PENDING (-5)
#define PSCI_RET_INTERNAL_FAILURE (-6)

#define PSCI_AFFINITY_ON 0
#define PSCI_AFFINITY_OFF 1
#define PSCI_AFFINITY_ON_PENDING 2

#define PSCI_MIGRATE_NOT_REQUIRED 2 /* MIGRATE_INFO_TYPE: no Trusted OS */

/* ---- the userspace implementation (psci.c) ---- */

#define PSCI_FN_MIGRATE 0x84000005u
#define PSCI_FN_MIGRATE_INFO_UP_CPU 0x84000007u
#define PSCI_FN64_MIGRATE 0xc4000005u
#define PSCI_FN64_MIGRATE_INFO_UP_CPU 0xc4000007u
#define PSCI_FN_SMC64 0x40000000u /* function id bit 30: SMC64 calling convention */

#define PSCI_VERSION_1_0 0x00010000u /* major [30:16], minor [15:0] */

struct vcpu;

/* What the backend does after psci_call(). */
enum psci_action {
	PSCI_ACT_RETURN = 0,   /* write *ret to X0, continue the guest */
	PSCI_ACT_SUSPEND,      /* CPU_SUSPEND: wait like WFI, then write *ret to X0 */
	PSCI_ACT_CPU_OFF,      /* power this vCPU down (ACCEL_EXIT_CPU_OFF) */
	PSCI_ACT_SYSTEM_OFF,   /* ACCEL_EXIT_SHUTDOWN */
	PSCI_ACT_SYSTEM_RESET, /* ACCEL_EXIT_RESET */
};

/*
 * Handle an SMCCC call with X0..X3 = args[0..3] from `vcpu` (HVC or SMC
 * conduit).  The function id is W0 (the upper half of X0 is ignored, as
 * SMCCC says); SMC64 ids are refused (NOT_SUPPORTED) when the caller is in
 * AArch32 state, and SMC32 calls see only the low 32 bits of X1..X3.
 * *ret is the X0 result (PSCI codes sign-extended to 64 bits).
 */
enum psci_action psci_call(struct vcpu *vcpu, const uint64_t args[4], bool caller_aarch32,
			   uint64_t *ret);

/* PSCI_FEATURES for `fid` as seen by a caller in AArch64 (or AArch32) state. */
int32_t psci_features(uint32_t fid, bool caller_aarch32);

#endif
