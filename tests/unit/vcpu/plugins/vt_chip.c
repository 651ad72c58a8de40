/* SPDX-License-Identifier: MIT */
/*
 * A minimal interrupt controller for the vCPU loop test: line L is routed to
 * CPU L % ncpus, and a software-generated interrupt register lets one vCPU
 * raise another's IRQ input, as a GIC's GICD_SGIR does.
 *   offset 0 (write): SGIR, a mask of target CPUs
 *   offset 4 (write): acknowledge this CPU's SGI
 */
#include <errno.h>
#include <stdlib.h>

#include <avmm/avmm.h>

#include "vt_hooks.h"

#define VT_LINES 16
#define VT_MAX_CPUS 8

struct vt_chip {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	unsigned ncpus;
	bool line[VT_LINES];
	bool sgi[VT_MAX_CPUS];
	bool out[VT_MAX_CPUS];
};

static void chip_update(struct vt_chip *c)
{
	for (unsigned cpu = 0; cpu < c->ncpus; cpu++) {
		bool level = c->sgi[cpu];

		for (unsigned l = cpu; l < VT_LINES; l += c->ncpus)
			level |= c->line[l];
		if (level != c->out[cpu]) {
			c->out[cpu] = level;
			c->host->cpu_irq_set(c->dev, cpu, level);
		}
	}
}

static void chip_set_line(void *o, unsigned line, bool level)
{
	struct vt_chip *c = o;

	if (line < VT_LINES) {
		c->line[line] = level;
		chip_update(c);
	}
}

static void chip_set_ppi(void *o, unsigned cpu, unsigned ppi, bool level)
{
	(void)o, (void)cpu, (void)ppi, (void)level;
}

static int chip_cells(void *o, const struct avmm_irq_spec *s, uint32_t *cells)
{
	(void)o;
	cells[0] = s->kind;
	cells[1] = s->num;
	cells[2] = s->flags;
	return 0;
}

/* The chip subscribes to the CPU timers itself, like virt-timer does. */
static void chip_timer(void *o, unsigned cpu, enum avmm_cpu_timer timer, bool level)
{
	(void)o;
	vt_cpu_timer(cpu, timer, level);
}

static const struct avmm_irqchip_ops chip_ops = {
	.struct_size = sizeof(chip_ops), .nr_lines = VT_LINES, .interrupt_cells = 3,
	.set_line = chip_set_line, .set_ppi = chip_set_ppi, .fdt_cells = chip_cells,
};

static int chip_read(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t *v)
{
	struct vt_chip *c = o;

	(void)size;
	*v = off == 8 && cpu < c->ncpus ? c->sgi[cpu] : 0;
	return 0;
}

static int chip_write(void *o, unsigned cpu, uint64_t off, unsigned size, uint64_t v)
{
	struct vt_chip *c = o;

	(void)size;
	if (off == 0) {
		for (unsigned t = 0; t < c->ncpus; t++)
			if (v & (1u << t))
				c->sgi[t] = true;
	} else if (off == 4 && cpu < c->ncpus) {
		c->sgi[cpu] = false;
	}
	chip_update(c);
	return 0;
}

static const struct avmm_mmio_ops chip_mmio = {
	.struct_size = sizeof(chip_mmio), .valid_sizes = AVMM_SIZE_4,
	.read = chip_read, .write = chip_write,
};

static int chip_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		       char *err, size_t errlen)
{
	struct vt_chip *c = calloc(1, sizeof(*c));
	uint32_t phandle;
	int rc;

	(void)err, (void)errlen;
	if (!c)
		return -ENOMEM;
	c->dev = dev;
	c->host = host;
	c->ncpus = host->cpu_count(dev);
	rc = host->irqchip_register(dev, &chip_ops, c, &phandle);
	if (!rc)
		rc = host->mmio_register(dev, NULL, 0x08000000, 0x1000, &chip_mmio, c);
	if (!rc)
		rc = host->cpu_timer_subscribe(dev, chip_timer, c);
	if (rc || c->ncpus > VT_MAX_CPUS) {
		free(c);
		return rc ? rc : -EINVAL;
	}
	*instance = c;
	return 0;
}

static void chip_destroy(void *instance)
{
	struct vt_chip *c = instance;

	vt_device_destroyed(c->host->dev_name(c->dev));
	free(c);
}

static void chip_reset(void *instance)
{
	struct vt_chip *c = instance;

	for (unsigned l = 0; l < VT_LINES; l++)
		c->line[l] = false;
	for (unsigned cpu = 0; cpu < c->ncpus; cpu++)
		c->sgi[cpu] = false;
	chip_update(c);
	vt_device_reset(c->host->dev_name(c->dev));
}

AVMM_PLUGIN_DEFINE(.name = "vt_chip", .summary = "vCPU loop test interrupt controller",
		   .flags = AVMM_PLUGIN_IRQCHIP, .create = chip_create, .destroy = chip_destroy,
		   .reset = chip_reset);
