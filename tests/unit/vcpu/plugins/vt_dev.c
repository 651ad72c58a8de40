/* SPDX-License-Identifier: MIT */
/*
 * A device that keeps the I/O thread busy raising interrupts: its timer
 * toggles its line every `period-us`, and every chunk of input arriving on its
 * character backend (`chardev`) toggles it too.  With `stop-after-ms` its timer
 * asks the VM to stop (status 7) from the I/O thread.
 */
#include <errno.h>
#include <stdlib.h>

#include <avmm/avmm.h>

#include "vt_hooks.h"

struct vt_dev {
	struct avmm_dev *dev;
	const struct avmm_host *host;
	struct avmm_timer *timer;
	struct avmm_chr *chr;
	unsigned line;
	bool level;
	uint64_t period_ns;
	uint64_t stop_after_ns; /* 0: never */
	uint64_t stop_at;       /* set on the first tick: the I/O thread runs */
};

static void dev_toggle(struct vt_dev *d)
{
	d->level = !d->level;
	d->host->irq_set(d->dev, d->line, d->level);
}

static void dev_tick(void *o)
{
	struct vt_dev *d = o;
	uint64_t now = d->host->clock_ns();

	dev_toggle(d);
	if (d->stop_after_ns && !d->stop_at)
		d->stop_at = now + d->stop_after_ns;
	if (d->stop_at && now >= d->stop_at) {
		d->stop_after_ns = 0;
		d->stop_at = 0;
		d->host->vm_request_exit(d->dev, 7);
	}
	d->host->timer_mod(d->timer, now + d->period_ns);
}

static size_t dev_can_receive(void *o)
{
	(void)o;
	return 64;
}

static void dev_receive(void *o, const uint8_t *buf, size_t len)
{
	(void)buf, (void)len;
	dev_toggle(o);
}

static const struct avmm_chr_handlers dev_chr = {
	.struct_size = sizeof(dev_chr), .can_receive = dev_can_receive, .receive = dev_receive,
};

static int dev_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		      char *err, size_t errlen)
{
	struct vt_dev *d = calloc(1, sizeof(*d));
	uint64_t us = 100, ms = 0;
	int rc;

	(void)err, (void)errlen;
	if (!d)
		return -ENOMEM;
	d->dev = dev;
	d->host = host;
	host->cfg_u64(dev, "period-us", &us);
	host->cfg_u64(dev, "stop-after-ms", &ms);
	d->period_ns = us * 1000;
	rc = host->irq_claim(dev, "irq", &d->line);
	if (!rc)
		rc = host->chr_open(dev, "chardev", "null", &d->chr);
	if (!rc)
		rc = host->chr_set_handlers(d->chr, &dev_chr, d);
	if (!rc)
		rc = host->timer_new(dev, dev_tick, d, &d->timer);
	if (rc) {
		free(d);
		return rc;
	}
	d->stop_after_ns = ms * 1000000;
	host->timer_mod(d->timer, host->clock_ns() + d->period_ns);
	*instance = d;
	return 0;
}

static void dev_destroy(void *instance)
{
	struct vt_dev *d = instance;

	vt_device_destroyed(d->host->dev_name(d->dev));
	d->host->timer_free(d->timer);
	free(d);
}

static void dev_reset(void *instance)
{
	struct vt_dev *d = instance;

	d->level = false;
	d->host->irq_set(d->dev, d->line, false);
	vt_device_reset(d->host->dev_name(d->dev));
}

AVMM_PLUGIN_DEFINE(.name = "vt_dev", .summary = "vCPU loop test interrupt source",
		   .create = dev_create, .destroy = dev_destroy, .reset = dev_reset);
