/* SPDX-License-Identifier: MIT */
/*
 * Userspace PSCI (psci_call, the HVF path): any X0..X3 from a caller in
 * AArch64 or AArch32 state.  The core's vm_cpu_on/vm_cpu_affinity_info are
 * the recording stand-ins of tests/unit/arm64, returning what the input says.
 *
 * Per call: aarch32 byte, X0..X3 (u64 each), stub result byte.  Invariants
 * against the spec (DEN0022 PSCI 1.0, DEN0028 SMCCC): the function id is
 * W0; a call PSCI_FEATURES calls unsupported returns NOT_SUPPORTED and
 * vice versa; SMC64 ids from AArch32 are unsupported; CPU_ON reaches the
 * core only with an MPIDR inside the affinity fields and 32-bit arguments
 * for SMC32; every result is a sign-extended 32-bit code unless it is a
 * success value; only CPU_SUSPEND/OFF/SYSTEM_* change the vCPU's course.
 */
#include "arm64.h"
#include "core_stubs.h"
#include "fuzz.h"
#include "psci.h"
#include "vcpu.h"

static struct vcpu vcpu;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	vcpu.vm = (struct vm *)&vcpu; /* any non-NULL token: the stubs only record it */
	while (fuzz_more(&in)) {
		bool a32 = fuzz_u8(&in) & 1;
		uint64_t args[4] = { fuzz_u64(&in), fuzz_u64(&in), fuzz_u64(&in), fuzz_u64(&in) };
		int8_t res = (int8_t)fuzz_u8(&in);
		uint32_t fid = (uint32_t)args[0];
		bool smc64 = fid & 0x40000000u;
		int32_t feat = psci_features(fid, a32);
		uint64_t ret = 0;
		enum psci_action act;

		/* Bias towards PSCI ids: keep the function number, force the PSCI range. */
		if (args[0] >> 32 == 0xffffffffu) {
			fid = (fid & 0x4000001fu) | 0x84000000u;
			args[0] = fid;
			smc64 = fid & 0x40000000u;
			feat = psci_features(fid, a32);
		}
		stub_reset();
		/* What vm_cpu_on / vm_cpu_affinity_info can answer. */
		stub.cpu_on_result = (int[]){ PSCI_RET_SUCCESS, PSCI_RET_INVALID_PARAMS,
					      PSCI_RET_ALREADY_ON, PSCI_RET_ON_PENDING,
					      PSCI_RET_INTERNAL_FAILURE }[(uint8_t)res % 5];
		stub.affinity_result = (int[]){ PSCI_AFFINITY_ON, PSCI_AFFINITY_OFF,
						PSCI_AFFINITY_ON_PENDING,
						PSCI_RET_INVALID_PARAMS }[(uint8_t)res % 4];
		act = psci_call(&vcpu, args, a32, &ret);

		FUZZ_CHECK(act >= PSCI_ACT_RETURN && act <= PSCI_ACT_SYSTEM_RESET);
		if (feat == PSCI_RET_NOT_SUPPORTED) {
			FUZZ_CHECK(act == PSCI_ACT_RETURN);
			FUZZ_CHECK(ret == (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED);
			FUZZ_CHECK(stub.ncpu_on == 0 && stub.naffinity == 0);
			continue;
		}
		FUZZ_CHECK(feat == PSCI_RET_SUCCESS);
		FUZZ_CHECK(!(smc64 && a32));
		/* A supported call that returns never answers NOT_SUPPORTED. */
		if (act == PSCI_ACT_RETURN || act == PSCI_ACT_SUSPEND)
			FUZZ_CHECK(ret != (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED ||
				   (fid & ~0x40000000u) == PSCI_FN_FEATURES);
		/* Results are 32-bit codes, sign-extended (DEN0028: W0 for SMC32). */
		FUZZ_CHECK(ret == (uint64_t)(int64_t)(int32_t)ret);

		switch (fid & ~0x40000000u) {
		case PSCI_FN_CPU_ON:
			FUZZ_CHECK(act == PSCI_ACT_RETURN);
			FUZZ_CHECK(stub.ncpu_on <= 1);
			if (stub.ncpu_on) {
				FUZZ_CHECK(!(stub.cpu_on[0].mpidr & ~ARM64_MPIDR_AFF_MASK));
				FUZZ_CHECK(stub.cpu_on[0].mpidr == (smc64 ? args[1] : (uint32_t)args[1]));
				FUZZ_CHECK(stub.cpu_on[0].entry == (smc64 ? args[2] : (uint32_t)args[2]));
				FUZZ_CHECK(stub.cpu_on[0].context ==
					   (smc64 ? args[3] : (uint32_t)args[3]));
				FUZZ_CHECK(ret == (uint64_t)(int64_t)stub.cpu_on_result);
			} else {
				FUZZ_CHECK(ret == (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS);
			}
			break;
		case PSCI_FN_AFFINITY_INFO:
			FUZZ_CHECK(act == PSCI_ACT_RETURN && stub.naffinity <= 1);
			if (stub.naffinity)
				FUZZ_CHECK(!(stub.affinity_mpidr & ~ARM64_MPIDR_AFF_MASK));
			else
				FUZZ_CHECK(ret == (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS);
			break;
		case PSCI_FN_CPU_SUSPEND:
			FUZZ_CHECK(act == PSCI_ACT_SUSPEND);
			break;
		case PSCI_FN_CPU_OFF:
			FUZZ_CHECK(act == PSCI_ACT_CPU_OFF);
			break;
		case PSCI_FN_SYSTEM_OFF:
			FUZZ_CHECK(act == PSCI_ACT_SYSTEM_OFF);
			break;
		case PSCI_FN_SYSTEM_RESET:
			FUZZ_CHECK(act == PSCI_ACT_SYSTEM_RESET);
			break;
		case PSCI_FN_VERSION:
			FUZZ_CHECK(act == PSCI_ACT_RETURN && ret == PSCI_VERSION_1_0);
			break;
		default:
			FUZZ_CHECK(act == PSCI_ACT_RETURN);
			FUZZ_CHECK(stub.ncpu_on == 0 && stub.naffinity == 0);
			break;
		}
	}
	return 0;
}
