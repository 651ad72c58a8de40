/* SPDX-License-Identifier: MIT */
/*
 * Interrupt routing.  This module owns the machine's interrupt controller
 * registration (the irqchip's ops, its lock and DT phandle), which device owns
 * each of its lines, and the per-CPU IRQ sink: the level the irqchip last
 * drove into each vCPU's IRQ input.  It sits below the device layer (which
 * turns plugin calls into these) and below vcpu.c; a changed CPU level goes
 * up through the sink callback vm.c registers at build time.
 */
#ifndef AVMM_CORE_IRQROUTE_H
#define AVMM_CORE_IRQROUTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <avmm/avmm.h>

struct irqroute;

/* A vCPU's IRQ input changed; any thread, never with an irqroute lock held. */
typedef void (*irqroute_sink_fn)(void *opaque, unsigned cpu, bool level);

int irqroute_create(struct irqroute **out, unsigned ncpus);
void irqroute_destroy(struct irqroute *rt);
void irqroute_set_sink(struct irqroute *rt, irqroute_sink_fn fn, void *opaque);

/*
 * Make `chip` the machine's interrupt controller; `lock` serialises every call
 * into its ops.  `ops` is a full-size copy (the device layer pads an older
 * plugin's struct) that outlives the registration.  -EEXIST if there is one already, -EINVAL for incomplete ops.
 */
int irqroute_register_chip(struct irqroute *rt, struct avmm_dev *chip,
			   const struct avmm_irqchip_ops *ops, void *opaque,
			   pthread_mutex_t *lock, uint32_t phandle);
/* NULL / 0 until an interrupt controller registered. */
struct avmm_dev *irqroute_chip(const struct irqroute *rt);
unsigned irqroute_nr_lines(const struct irqroute *rt);
unsigned irqroute_interrupt_cells(const struct irqroute *rt);
uint32_t irqroute_phandle(const struct irqroute *rt);

/* -ENODEV without a controller, -ERANGE past its lines, -EBUSY when taken. */
int irqroute_claim(struct irqroute *rt, struct avmm_dev *dev, unsigned line);
struct avmm_dev *irqroute_line_owner(const struct irqroute *rt, unsigned line);
/*
 * Drive a line `dev` claimed; -EPERM for anyone else's (a plugin bug).  Any
 * thread, with or without `dev`'s lock: it serialises on the irqchip's lock
 * alone (line ownership is fixed once the machine is built), which is what
 * makes irq_set safe from a device's worker threads.
 */
int irqroute_set_line(struct irqroute *rt, struct avmm_dev *dev, unsigned line, bool level);
void irqroute_set_ppi(struct irqroute *rt, unsigned cpu, unsigned ppi, bool level);
/* The controller's DT specifier cells for `spec` (-ENODEV without one). */
int irqroute_fdt_cells(const struct irqroute *rt, const struct avmm_irq_spec *spec,
		       uint32_t *cells);

/* From the controller only (`from`): vCPU `cpu`'s IRQ input is `level`. */
void irqroute_cpu_set(struct irqroute *rt, struct avmm_dev *from, unsigned cpu, bool level);
/* The level last driven into `cpu`'s input (false before any). */
bool irqroute_cpu_level(const struct irqroute *rt, unsigned cpu);

#endif
