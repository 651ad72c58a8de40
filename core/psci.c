/* SPDX-License-Identifier: MIT */
/*
 * PSCI 1.0 in userspace, for accelerators that trap the guest's HVC/SMC
 * calls to the VMM (HVF).  KVM implements PSCI in the kernel.
 */
#include "arm64.h"
#include "power.h"
#include "psci.h"
#include "vcpu.h"

/* SMC32 function number of a PSCI id: the SMC64 bit cleared. */
static uint32_t psci_fn32(uint32_t fid)
{
	return fid & ~PSCI_FN_SMC64;
}

/* The ids this implementation answers, in their 32-bit form. */
static bool psci_known(uint32_t fid)
{
	if (fid & PSCI_FN_SMC64) {
		/* Only the calls with an address or MPIDR argument have an SMC64 form. */
		switch (fid) {
		case PSCI_FN64_CPU_SUSPEND:
		case PSCI_FN64_CPU_ON:
		case PSCI_FN64_AFFINITY_INFO:
			return true;
		default:
			return false;
		}
	}
	switch (fid) {
	case PSCI_FN_VERSION:
	case PSCI_FN_CPU_SUSPEND:
	case PSCI_FN_CPU_OFF:
	case PSCI_FN_CPU_ON:
	case PSCI_FN_AFFINITY_INFO:
	case PSCI_FN_MIGRATE_INFO_TYPE:
	case PSCI_FN_SYSTEM_OFF:
	case PSCI_FN_SYSTEM_RESET:
	case PSCI_FN_FEATURES:
		return true;
	default:
		return false;
	}
}

int32_t psci_features(uint32_t fid, bool caller_aarch32)
{
	if ((fid & PSCI_FN_SMC64) && caller_aarch32)
		return PSCI_RET_NOT_SUPPORTED;
	if (!psci_known(fid))
		return PSCI_RET_NOT_SUPPORTED;
	/* CPU_SUSPEND: original power_state format, platform-coordinated mode
	 * only; every other supported call: 0. */
	return PSCI_RET_SUCCESS;
}

/* MPIDR-format arguments must have nothing outside the affinity fields. */
static bool psci_valid_mpidr(uint64_t mpidr)
{
	return (mpidr & ~ARM64_MPIDR_AFF_MASK) == 0;
}

static uint64_t psci_ret(int32_t code)
{
	return (uint64_t)(int64_t)code;
}

enum psci_action psci_call(struct vcpu *vcpu, const uint64_t args[4], bool caller_aarch32,
			   uint64_t *ret)
{
	uint32_t fid = (uint32_t)args[0];
	uint64_t a1 = args[1], a2 = args[2], a3 = args[3];

	*ret = psci_ret(PSCI_RET_NOT_SUPPORTED);
	if (!psci_known(fid) || ((fid & PSCI_FN_SMC64) && caller_aarch32))
		return PSCI_ACT_RETURN;
	if (!(fid & PSCI_FN_SMC64)) {
		/* SMC32: arguments are W registers. */
		a1 = (uint32_t)a1;
		a2 = (uint32_t)a2;
		a3 = (uint32_t)a3;
	}

	switch (psci_fn32(fid)) {
	case PSCI_FN_VERSION:
		*ret = PSCI_VERSION_1_0;
		return PSCI_ACT_RETURN;
	case PSCI_FN_FEATURES:
		*ret = psci_ret(psci_features((uint32_t)a1, caller_aarch32));
		return PSCI_ACT_RETURN;
	case PSCI_FN_CPU_SUSPEND:
		/* Every power state is treated as standby: wake on an interrupt, and
		 * return SUCCESS (allowed for powerdown requests too). */
		*ret = psci_ret(PSCI_RET_SUCCESS);
		return PSCI_ACT_SUSPEND;
	case PSCI_FN_CPU_OFF:
		return PSCI_ACT_CPU_OFF;
	case PSCI_FN_CPU_ON:
		if (!psci_valid_mpidr(a1)) {
			*ret = psci_ret(PSCI_RET_INVALID_PARAMS);
			return PSCI_ACT_RETURN;
		}
		*ret = psci_ret(power_cpu_on(vcpu->power, a1, a2, a3));
		return PSCI_ACT_RETURN;
	case PSCI_FN_AFFINITY_INFO:
		/* Only level 0 is supported (allowed since PSCI 1.0). */
		if (!psci_valid_mpidr(a1) || a2 != 0) {
			*ret = psci_ret(PSCI_RET_INVALID_PARAMS);
			return PSCI_ACT_RETURN;
		}
		*ret = psci_ret(power_affinity_info(vcpu->power, a1));
		return PSCI_ACT_RETURN;
	case PSCI_FN_MIGRATE_INFO_TYPE:
		*ret = PSCI_MIGRATE_NOT_REQUIRED;
		return PSCI_ACT_RETURN;
	case PSCI_FN_SYSTEM_OFF:
		return PSCI_ACT_SYSTEM_OFF;
	case PSCI_FN_SYSTEM_RESET:
		return PSCI_ACT_SYSTEM_RESET;
	default:
		return PSCI_ACT_RETURN;
	}
}
