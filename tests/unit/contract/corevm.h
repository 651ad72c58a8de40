/* SPDX-License-Identifier: MIT */
/*
 * A hand-built machine around the real host table, for tests that drive
 * plugins the way a VM does without an accelerator: a config, RAM, the
 * memory map, devices made by device_create(), a running I/O thread, MMIO
 * through mmio_dispatch().  Everything the core logs is captured and echoed
 * to stderr at corevm_fini().  Uses Check assertions.
 */
#ifndef AVMM_TESTS_COREVM_H
#define AVMM_TESTS_COREVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "device.h"
#include "iothread.h"
#include "plugin.h"
#include "vcpu.h"
#include "vm.h"

#define COREVM_MAX_DEVS 8

struct corevm {
	struct config cfg;
	struct vm vm;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct avmm_dev *devs[COREVM_MAX_DEVS];
	unsigned ndevs;

	FILE *log;
	int saved_stderr;
	struct {
		char name[32];
		unsigned seen;
	} counted[COREVM_MAX_DEVS];

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool sentinel_fired;
};

void corevm_init(struct corevm *cv, const char *ini, unsigned ncpus, uint64_t ram_base,
		 uint64_t ram_size);
/* The same, as if the config text had been read from `path` (for cfg_path). */
void corevm_init_at(struct corevm *cv, const char *path, const char *ini, unsigned ncpus,
		    uint64_t ram_base, uint64_t ram_size);
/* device_create() for [device name]; asserts success. */
struct avmm_dev *corevm_device(struct corevm *cv, const char *name, struct plugin *plugin);
void corevm_start(struct corevm *cv);
int corevm_mmio(struct corevm *cv, unsigned cpu, uint64_t addr, unsigned size, bool write,
		uint64_t *val);
/* Let ns pass; returns once the I/O thread has run everything due by then. */
void corevm_run(struct corevm *cv, uint64_t ns);
/* Log lines of device `name` containing `what` since the last call. */
unsigned corevm_count_log(struct corevm *cv, const char *name, const char *what);
void corevm_fini(struct corevm *cv);

#endif
