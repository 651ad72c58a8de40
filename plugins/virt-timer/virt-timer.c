/* SPDX-License-Identifier: MIT */
/*
 * virt-timer: the Arm generic timer's device-tree node and interrupt wiring.
 *
 * The timers themselves live in the vCPU (the accelerator runs them); this
 * plugin only describes them to the guest ("arm,armv8-timer", see the Linux
 * binding timer/arm,arch_timer.yaml) and turns the output levels the
 * accelerator reports into PPIs on the machine's interrupt controller.
 *
 * Config keys: `always-on` (bool, default false) adds the binding's
 * "always-on" property, telling Linux the timer keeps its context in idle
 * states so it needs no broadcast timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <avmm/avmm.h>

/* PPI numbers (INTID - 16) fixed by the Arm Server Base System Architecture. */
#define TIMER_PPI_HYP 10       /* INTID 26: EL2 physical timer */
#define TIMER_PPI_VIRT 11      /* INTID 27: EL1 virtual timer (CNTV) */
#define TIMER_PPI_SEC_PHYS 13  /* INTID 29: secure EL1 physical timer */
#define TIMER_PPI_PHYS 14      /* INTID 30: non-secure EL1 physical timer (CNTP) */

struct vtimer {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	unsigned ncpus;
	bool always_on;
	bool warned; /* a bad event from the accelerator was logged once */
};

/* The PPI a vCPU timer drives, or 0 for a timer this plugin does not know. */
static unsigned vtimer_ppi(enum avmm_cpu_timer timer)
{
	switch (timer) {
	case AVMM_CPU_TIMER_VIRT:
		return TIMER_PPI_VIRT;
	case AVMM_CPU_TIMER_PHYS:
		return TIMER_PPI_PHYS;
	}
	return 0;
}

/* Called by the core for every timer output level change of any vCPU. */
static void vtimer_event(void *opaque, unsigned cpu, enum avmm_cpu_timer timer, bool level)
{
	struct vtimer *s = opaque;
	unsigned ppi = vtimer_ppi(timer);

	if (ppi && cpu < s->ncpus) {
		s->host->ppi_set(s->dev, cpu, ppi, level);
		return;
	}
	/*
	 * Neither an unknown timer nor a vCPU past the count can come from the
	 * guest: it is an accelerator bug.  Drop the event rather than drive a
	 * wrong PPI, and say so once (this path can fire at timer rate).
	 */
	if (!s->warned) {
		s->warned = true;
		s->host->log(s->dev, AVMM_LOG_WARN,
			     "ignoring event of timer %d on vcpu %u (of %u): accelerator bug",
			     (int)timer, cpu, s->ncpus);
	}
}

static int vtimer_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
			 char *err, size_t errlen)
{
	struct vtimer *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->dev = dev;
	s->host = host;
	s->ncpus = host->cpu_count(dev);

	rc = host->cfg_bool(dev, "always-on", &s->always_on);
	if (rc && rc != -ENOENT)
		goto fail; /* already reported with file:line */

	rc = host->cpu_timer_subscribe(dev, vtimer_event, s);
	if (rc == -ENODEV) {
		rc = host->cfg_error(dev, NULL, "no interrupt controller: add a [device] section "
				     "with plugin = gicv2");
		goto fail;
	}
	if (rc) {
		snprintf(err, errlen, "cannot subscribe to the vCPU timers: %s", strerror(-rc));
		goto fail;
	}
	*instance = s;
	return 0;

fail:
	free(s);
	return rc;
}

static void vtimer_destroy(void *instance)
{
	free(instance);
}

static int vtimer_fdt_err(int fdt_rc)
{
	return fdt_rc == -FDT_ERR_NOSPACE ? -ENOSPC
	       : fdt_rc == -FDT_ERR_EXISTS ? -EEXIST
					  : -EINVAL;
}

static int vtimer_fdt_populate(void *instance, void *fdt)
{
	struct vtimer *s = instance;
	/*
	 * The binding's order: secure phys, non-secure phys, virt, hyp.  All are
	 * level-sensitive; the irqchip adds its CPU mask for PPIs.  The guest
	 * cannot use the secure and hyp timers, but Linux indexes the list by
	 * position, so all four must be present.
	 */
	static const struct avmm_irq_spec specs[] = {
		{AVMM_IRQ_PPI, TIMER_PPI_SEC_PHYS, AVMM_IRQ_LEVEL_HIGH},
		{AVMM_IRQ_PPI, TIMER_PPI_PHYS, AVMM_IRQ_LEVEL_HIGH},
		{AVMM_IRQ_PPI, TIMER_PPI_VIRT, AVMM_IRQ_LEVEL_HIGH},
		{AVMM_IRQ_PPI, TIMER_PPI_HYP, AVMM_IRQ_LEVEL_HIGH},
	};
	int node, rc;

	node = fdt_add_subnode(fdt, 0, "timer");
	if (node < 0)
		return vtimer_fdt_err(node);
	rc = fdt_setprop_string(fdt, node, "compatible", "arm,armv8-timer");
	if (rc)
		return vtimer_fdt_err(rc);
	rc = s->host->fdt_set_interrupts(s->dev, fdt, node, specs,
					 sizeof(specs) / sizeof(specs[0]));
	if (rc)
		return rc;
	/*
	 * No clock-frequency: the binding discourages it, and the accelerator
	 * gives the guest a correct CNTFRQ_EL0.
	 */
	if (s->always_on) {
		rc = fdt_setprop_empty(fdt, node, "always-on");
		if (rc)
			return vtimer_fdt_err(rc);
	}
	return 0;
}

AVMM_PLUGIN_DEFINE(.name = "virt-timer",
		   .summary = "Arm generic timer: DT node and PPI wiring of the vCPU timers",
		   .create = vtimer_create,
		   .destroy = vtimer_destroy,
		   .fdt_populate = vtimer_fdt_populate);
