/* SPDX-License-Identifier: MIT */
/*
 * A guest that never stops on its own, for avmm's timeout handling.  Raw
 * binary loaded and entered at 0x40080000, EL1, MMU off.
 * Expected: spins at 0x40080000 until avmm's timeout ends the VM.
 */
	.text
	.globl	_start
_start:
	b	.
