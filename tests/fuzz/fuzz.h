/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: a reader that turns the fuzzer's bytes
 * into typed values (zeros once they run out, so every input is a complete
 * run), and FUZZ_CHECK, which turns a broken invariant into a crash the
 * fuzzer reports and minimises (on fd 2: a harness may point `stderr`
 * elsewhere to capture the product's messages).  Only the harness aborts;
 * the code under test must not.
 */
#ifndef AVMM_FUZZ_H
#define AVMM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                               \
	do {                                                                           \
		if (!(cond)) {                                                         \
			dprintf(2, "%s:%d: invariant violated: %s\n", __FILE__,        \
				__LINE__, #cond);                                      \
			__builtin_trap();                                              \
		}                                                                      \
	} while (0)

/* The same, printing context (an error message, a value) first. */
#define FUZZ_CHECKF(cond, ...)                                                         \
	do {                                                                           \
		if (!(cond)) {                                                         \
			dprintf(2, __VA_ARGS__);                                       \
			dprintf(2, "\n");                                              \
		}                                                                      \
		FUZZ_CHECK(cond);                                                      \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool fuzz_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline uint64_t fuzz_bytes(struct fuzz_in *in, unsigned count)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < count && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)fuzz_bytes(in, 1);
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)fuzz_bytes(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)fuzz_bytes(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	return fuzz_bytes(in, 8);
}

#endif
