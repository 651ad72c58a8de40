/* SPDX-License-Identifier: MIT */
/*
 * The machine: built from the config, run, torn down.  This module is the
 * top of the core and the one owner of every lifetime: it creates the
 * modules below (power, interrupt routing, CPU timers, devices, the I/O
 * thread, the vCPUs and the accelerator), wires their upward notifications
 * as callbacks, and tears everything down in one order (join every vCPU,
 * stop the I/O thread, destroy the accelerator's vCPU state, the devices,
 * the accelerator VM, RAM).  Only main.c is above it.
 */
#ifndef AVMM_CORE_VM_H
#define AVMM_CORE_VM_H

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

#include "boot.h"
#include "config.h"
#include "memmap.h"
#include "plugin.h"
#include "ram.h"

struct accel_ops;
struct cputimer;
struct iothread;
struct irqroute;
struct power;
struct vcpu;
struct vcpu_env;

#define VM_MAX_CPUS 8 /* GICv2 */

/*
 * The machine.  vm.c alone owns every lifetime here, in one order: build
 * (power, irqroute, cputimer, vCPU set, I/O thread, devices, guest), run
 * (accelerator VM, I/O thread, vCPU threads), then join every vCPU, stop the
 * I/O thread, destroy the accelerator's vCPU state, destroy devices, the
 * accelerator VM, RAM.
 */
struct vm {
	struct config *cfg;
	unsigned ncpus;
	struct guest_ram ram;
	struct memmap map;

	struct plugin_path plugin_path;
	struct plugin **plugins; /* one per distinct plugin file; devices point in */
	size_t nplugins;
	struct avmm_dev **devs; /* in creation order */
	size_t ndevs;

	/* The modules below the device layer, each with its own state. */
	struct power *power;
	struct irqroute *irq;
	struct cputimer *timers;

	struct iothread *io;
	const struct accel_ops *accel;
	void *accel_state;
	struct vcpu *vcpus;
	struct vcpu_env *cpus;

	struct boot_params bootp;
	bool brk_exit; /* [boot] brk-exit: see vcpu_env_set_brk_exit */
	struct boot_layout boot;
	char *cmdline;
	void *fdt;
	size_t fdt_size;
	uint32_t next_phandle;

	bool running; /* vCPUs started: the memory map is frozen */
	unsigned timeout_s; /* 0: none */
};

struct vm_options {
	const char *const *overrides; /* "section.key=value" */
	size_t noverrides;
	const char *builtin_plugin_dir;
	unsigned timeout_s;        /* stop the guest with status 124 after this */
};

/*
 * Parse, load plugins, create devices, lay out memory, load the guest and
 * build the DTB.  Returns 0, or -EINVAL for a configuration error (already
 * reported with file:line), or another negative errno for a host failure.
 */
int vm_build(struct vm *vm, struct config *cfg, const struct vm_options *opt);
/*
 * The plugin search path of a machine: [machine] plugin-path (relative to the
 * config file), $AVMM_PLUGIN_PATH, then `builtin` (may be NULL).
 */
int vm_plugin_path(struct plugin_path *pp, struct config *cfg, const char *builtin);
/* Start the accelerator and vCPUs; returns the guest's exit status. */
int vm_run(struct vm *vm);
/* vm_run with a given accelerator (tests bring a fake one). */
int vm_run_accel(struct vm *vm, const struct accel_ops *accel);
void vm_destroy(struct vm *vm);

/* Stop every vCPU; the first status requested wins. */
void vm_request_stop(struct vm *vm, int status);
/* With every vCPU parked: devices to power-on state, guest image reloaded. */
int vm_reset(struct vm *vm);

/* Print the memory map and IRQ assignment (--check). */
void vm_print_map(const struct vm *vm, FILE *out);

#endif
