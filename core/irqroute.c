/* SPDX-License-Identifier: MIT */
#include "irqroute.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct irqroute {
	unsigned ncpus;
	/* The interrupt controller; set once, while the machine is built. */
	struct avmm_dev *chip;
	const struct avmm_irqchip_ops *ops;
	void *opaque;
	pthread_mutex_t *lock;
	uint32_t phandle;
	struct avmm_dev **line_owner; /* ops->nr_lines entries */
	/* The per-CPU sink: levels (any thread) and where changes go. */
	irqroute_sink_fn sink;
	void *sink_opaque;
	atomic_bool level[];
};

int irqroute_create(struct irqroute **out, unsigned ncpus)
{
	struct irqroute *rt = calloc(1, sizeof(*rt) + ncpus * sizeof(rt->level[0]));

	if (!rt)
		return -ENOMEM;
	rt->ncpus = ncpus;
	for (unsigned i = 0; i < ncpus; i++)
		atomic_init(&rt->level[i], false);
	*out = rt;
	return 0;
}

void irqroute_destroy(struct irqroute *rt)
{
	if (!rt)
		return;
	free(rt->line_owner);
	free(rt);
}

void irqroute_set_sink(struct irqroute *rt, irqroute_sink_fn fn, void *opaque)
{
	rt->sink = fn;
	rt->sink_opaque = opaque;
}

int irqroute_register_chip(struct irqroute *rt, struct avmm_dev *chip,
			   const struct avmm_irqchip_ops *ops, void *opaque,
			   pthread_mutex_t *lock, uint32_t phandle)
{
	if (rt->chip)
		return -EEXIST;
	/* nr_lines may be 0: a GIC without SPIs is architecturally valid. */
	if (!ops || !ops->set_line || !ops->set_ppi ||
	    !ops->fdt_cells || !ops->interrupt_cells || ops->interrupt_cells > 8)
		return -EINVAL;
	rt->line_owner = calloc(ops->nr_lines ? ops->nr_lines : 1, sizeof(*rt->line_owner));
	if (!rt->line_owner)
		return -ENOMEM;
	rt->chip = chip;
	rt->ops = ops;
	rt->opaque = opaque;
	rt->lock = lock;
	rt->phandle = phandle;
	return 0;
}

struct avmm_dev *irqroute_chip(const struct irqroute *rt)
{
	return rt->chip;
}

unsigned irqroute_nr_lines(const struct irqroute *rt)
{
	return rt->ops ? rt->ops->nr_lines : 0;
}

unsigned irqroute_interrupt_cells(const struct irqroute *rt)
{
	return rt->ops ? rt->ops->interrupt_cells : 0;
}

uint32_t irqroute_phandle(const struct irqroute *rt)
{
	return rt->phandle;
}

int irqroute_claim(struct irqroute *rt, struct avmm_dev *dev, unsigned line)
{
	if (!rt->chip)
		return -ENODEV;
	if (line >= rt->ops->nr_lines)
		return -ERANGE;
	if (rt->line_owner[line] && rt->line_owner[line] != dev)
		return -EBUSY;
	rt->line_owner[line] = dev;
	return 0;
}

struct avmm_dev *irqroute_line_owner(const struct irqroute *rt, unsigned line)
{
	return rt->chip && line < rt->ops->nr_lines ? rt->line_owner[line] : NULL;
}

int irqroute_set_line(struct irqroute *rt, struct avmm_dev *dev, unsigned line, bool level)
{
	/* Only the claimed line: a plugin bug must not reach another device's. */
	if (!dev || irqroute_line_owner(rt, line) != dev)
		return -EPERM;
	pthread_mutex_lock(rt->lock);
	rt->ops->set_line(rt->opaque, line, level);
	pthread_mutex_unlock(rt->lock);
	return 0;
}

void irqroute_set_ppi(struct irqroute *rt, unsigned cpu, unsigned ppi, bool level)
{
	if (!rt->chip || cpu >= rt->ncpus)
		return;
	pthread_mutex_lock(rt->lock);
	rt->ops->set_ppi(rt->opaque, cpu, ppi, level);
	pthread_mutex_unlock(rt->lock);
}

int irqroute_fdt_cells(const struct irqroute *rt, const struct avmm_irq_spec *spec,
		       uint32_t *cells)
{
	if (!rt->chip)
		return -ENODEV;
	return rt->ops->fdt_cells(rt->opaque, spec, cells);
}

void irqroute_cpu_set(struct irqroute *rt, struct avmm_dev *from, unsigned cpu, bool level)
{
	if (!from || from != rt->chip || cpu >= rt->ncpus)
		return;
	if (atomic_exchange(&rt->level[cpu], level) == level)
		return;
	if (rt->sink)
		rt->sink(rt->sink_opaque, cpu, level);
}

bool irqroute_cpu_level(const struct irqroute *rt, unsigned cpu)
{
	return cpu < rt->ncpus && atomic_load(&rt->level[cpu]);
}
