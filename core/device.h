/* SPDX-License-Identifier: MIT */
/*
 * Devices.  This module owns each device instance (its plugin instance, its
 * lock, which serialises every call into it, its MMIO ops copies, timers,
 * fd watches and log limiters), the host services table plugins call, and
 * MMIO dispatch.  It sits above the interrupt-routing, CPU-timer and power
 * modules and the services (I/O thread, character backends, RAM, memory map,
 * config), and below vcpu.c (which dispatches MMIO exits here) and vm.c
 * (which creates and destroys devices).
 */
#ifndef AVMM_CORE_DEVICE_H
#define AVMM_CORE_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <avmm/avmm.h>

#include "log.h"

struct vm;
struct cfg_section;
struct plugin;

struct avmm_dev {
	struct vm *vm;
	const char *name; /* points into the config section */
	struct cfg_section *sec;
	struct plugin *plugin;
	void *instance;
	/*
	 * Serialises every call into the instance (see <avmm/avmm.h>).
	 * Recursive: a callback's call into the host may lead back into this
	 * very device (an irqchip driving its own line) on the same thread.
	 */
	pthread_mutex_t lock;
	struct log_ratelimit rl_guest;
	struct log_ratelimit rl_unimp;
	struct avmm_chr *chr[4];
	unsigned nchr;
	/* Live timers (timer_free releases the slot); freed with the device. */
	struct avmm_timer *timers[16];
	unsigned ntimers;
	/* Live workers (worker_free releases the slot); joined with the device. */
	struct avmm_worker *workers[8];
	unsigned nworkers;
	/*
	 * Doorbells: fixed once create() returns (read by the MMIO path on any
	 * vCPU without a lock), freed with the device.
	 */
	struct avmm_doorbell *doorbells[8];
	unsigned ndoorbells;
	/* fds this device watches: only it may unwatch them. */
	int watch_fd[8];
	unsigned nwatch;
	/*
	 * Core-owned copies of the plugin's ops structs, zero-filled past the
	 * plugin's struct_size, so the core never reads beyond what an older
	 * plugin provided.  Memory-map regions and vm->irqchip_ops point here.
	 */
	struct avmm_mmio_ops mmio_ops[8];
	unsigned nmmio;
	struct avmm_irqchip_ops irqchip_ops;
};

extern const struct avmm_host device_host;

int device_create(struct vm *vm, struct cfg_section *sec, struct plugin *plugin,
		  struct avmm_dev **out);
void device_destroy(struct avmm_dev *dev);
/*
 * The accelerator VM exists and no vCPU runs yet: hand the device's doorbells
 * to the accelerator where it completes such writes in the kernel.  Where it
 * cannot, mmio_dispatch rings them; either way the plugin sees no difference.
 */
void device_start(struct avmm_dev *dev);

/*
 * The MMIO hot path: find the region, enforce its valid sizes and alignment
 * (RAZ/WI and a guest error otherwise), call it under the device lock.
 * Returns -EFAULT when nothing is mapped at addr (the caller injects an
 * abort).  No allocation.  `from` may be NULL (tests): the access is then
 * made as CPU 0.
 */
struct mmio_origin {
	unsigned cpu;
	/* The accessing PC, for a guest-error message only (it may be costly). */
	uint64_t (*pc)(const void *ctx);
	const void *ctx;
};
int mmio_dispatch(struct vm *vm, const struct mmio_origin *from, uint64_t addr, unsigned len,
		  bool write, uint64_t *data);

#endif
