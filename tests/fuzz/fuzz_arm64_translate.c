/* SPDX-License-Identifier: MIT */
/*
 * Stage-1 translation (arm64_translate) with hostile TCR/TTBR/SCTLR values
 * and page tables: the guest controls all of them, and the walk runs on the
 * vCPU thread, which cannot be kicked meanwhile.
 *
 * Input: SCTLR bit, TCR, TTBR0, TTBR1, VA, then the fake RAM's contents
 * (repeated to fill it).  Invariants: at most four descriptor reads, each
 * 8-byte aligned; TxSZ outside the architectural range of its granule faults
 * before any read; MMU off is the identity; a translation keeps the page
 * offset and stays inside the 48-bit output range.
 */
#include <errno.h>

#include "arm64.h"
#include "fuzz.h"

#define RAM_SIZE 0x10000u /* descriptors are read from [0, RAM_SIZE) */

static uint8_t ram[RAM_SIZE];
static unsigned nreads;

static int read_desc(void *opaque, uint64_t ipa, uint64_t *val)
{
	(void)opaque;
	nreads++;
	FUZZ_CHECK(nreads <= 4);
	FUZZ_CHECK(ipa % 8 == 0);
	if (ipa >= RAM_SIZE)
		return -EFAULT; /* what the backends' RAM accessor answers */
	memcpy(val, ram + ipa, 8);
	return 0;
}

/* TxSZ and granule size (log2) of the half `va` selects, as DDI 0487 reads TCR_EL1. */
static void half_params(uint64_t tcr, uint64_t va, unsigned *tsz, unsigned *gbits, bool *epd)
{
	if ((va >> 55) & 1) {
		unsigned tg1 = (unsigned)(tcr >> 30) & 3;

		*tsz = (unsigned)(tcr >> 16) & 0x3f;
		*gbits = tg1 == 1 ? 14 : tg1 == 3 ? 16 : 12; /* 2: 4K; 0 reserved */
		*epd = (tcr >> 23) & 1;
	} else {
		unsigned tg0 = (unsigned)(tcr >> 14) & 3;

		*tsz = (unsigned)tcr & 0x3f;
		*gbits = tg0 == 2 ? 14 : tg0 == 1 ? 16 : 12; /* 0: 4K; 3 reserved */
		*epd = (tcr >> 7) & 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct arm64_mmu_regs mmu;
	uint64_t va, ipa = 0;
	unsigned tsz, gbits;
	bool epd;
	int rc;

	mmu.sctlr = fuzz_u8(&in) & 1 ? ARM64_SCTLR_M : 0;
	mmu.tcr = fuzz_u64(&in);
	mmu.ttbr0 = fuzz_u64(&in);
	mmu.ttbr1 = fuzz_u64(&in);
	va = fuzz_u64(&in);
	/* Keep table bases mostly inside the fake RAM so walks go deep. */
	if (mmu.ttbr0 & 1)
		mmu.ttbr0 &= RAM_SIZE - 1;
	if (mmu.ttbr1 & 1)
		mmu.ttbr1 &= RAM_SIZE - 1;
	memset(ram, 0, sizeof(ram));
	for (size_t off = 0; in.n && off < sizeof(ram); off += in.n) {
		size_t n = in.n < sizeof(ram) - off ? in.n : sizeof(ram) - off;

		memcpy(ram + off, in.p, n);
	}

	nreads = 0;
	rc = arm64_translate(&mmu, va, read_desc, NULL, &ipa);
	FUZZ_CHECK(rc == 0 || rc == -EFAULT);
	if (!mmu.sctlr) {
		FUZZ_CHECK(rc == 0 && ipa == va && nreads == 0);
		return 0;
	}
	half_params(mmu.tcr, va, &tsz, &gbits, &epd);
	/* Architectural TxSZ range (FEAT_TTST, no FEAT_LVA/LPA2): 16 .. 48, 47 for 64K. */
	if (epd || tsz < 16 || tsz > (gbits == 16 ? 47u : 48u))
		FUZZ_CHECK(rc == -EFAULT && nreads == 0);
	if (rc == 0) {
		FUZZ_CHECK(nreads >= 1);
		FUZZ_CHECK(ipa < (UINT64_C(1) << 48));
		FUZZ_CHECK(((ipa ^ va) & ((UINT64_C(1) << gbits) - 1)) == 0);
	}
	return 0;
}
