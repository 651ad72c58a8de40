/* SPDX-License-Identifier: MIT */
/*
 * Native cost of avmm's MMIO dispatch (bus lookup, width checks, device
 * lock, handler call) — the part of an MMIO exit avmm adds on top of the
 * accelerator.  Runs on any host; no VM needed.
 *   dispatch-bench [ITERATIONS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "memmap.h"
#include "vm.h"

static uint64_t reg;

static int rd(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	(void)o, (void)cpu, (void)off, (void)size;
	*v = reg;
	return 0;
}

static int wr(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	(void)o, (void)cpu, (void)off, (void)size;
	reg = v;
	return 0;
}

static const struct avmm_mmio_ops ops = {
	.struct_size = sizeof(ops), .valid_sizes = AVMM_SIZE_4 | AVMM_SIZE_8, .read = rd, .write = wr,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(unsigned nregions, long iters)
{
	static struct vm vm;
	static struct avmm_dev devs[64];
	uint64_t data = 0, sum = 0;
	pthread_mutexattr_t attr;
	double t0, t1, t2;

	memset(&vm, 0, sizeof(vm));
	memmap_init(&vm.map);
	for (unsigned i = 0; i < nregions; i++) {
		struct mmio_region r = {.base = 0x08000000ull + i * 0x10000ull, .size = 0x1000,
					.ops = &ops, .dev = &devs[i]};

		devs[i].name = "bench";
		/* As device_create makes it: recursive, so callbacks may call back in. */
		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&devs[i].lock, &attr);
		pthread_mutexattr_destroy(&attr);
		memmap_add(&vm.map, &r, NULL);
	}
	/* Spread accesses over the regions, as a guest touching several devices. */
	t0 = now();
	for (long i = 0; i < iters; i++)
		sum += (uintptr_t)memmap_find(&vm.map, 0x08000008ull + (uint64_t)(i % nregions) * 0x10000);
	t1 = now();
	for (long i = 0; i < iters; i++) {
		data = (uint64_t)i;
		mmio_dispatch(&vm, NULL, 0x08000008ull + (uint64_t)(i % nregions) * 0x10000, 4,
			      i & 1, &data);
	}
	t2 = now();
	printf("regions %2u: memmap_find %5.1f ns, mmio_dispatch (lookup+lock+call) %5.1f ns%s\n",
	       nregions, (t1 - t0) * 1e9 / (double)iters, (t2 - t1) * 1e9 / (double)iters,
	       sum ? "" : " ");
	memmap_free(&vm.map);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000000;

	run(4, iters);
	run(16, iters);
	run(64, iters);
	return 0;
}
